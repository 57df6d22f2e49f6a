//! Between the wire types and trestle-till's: input parsed into typed values (here, at the
//! boundary, and nowhere else), and the till's answers reshaped for the window. No rules live
//! here; every figure comes from the till.

use trestle_core::cart::{Discount as CoreDiscount, Percent, PricedCart};
use trestle_core::clock::parse_utc;
use trestle_core::sale::Sale as CoreSale;
use trestle_core::tender::{Tender as CoreTender, TenderKind as CoreKind, MAX_REFERENCE};
use trestle_core::{Currency, Money};
use trestle_till::cart::CartDraft;
use trestle_till::pickups::Pickup;
use trestle_till::queries::SaleDetail;
use trestle_till::sync::agent::{Connectivity, SyncStatus as AgentStatus};
use trestle_till::sync::conflicts::ConflictItem;
use trestle_till::sync::words::resolution_label;
use trestle_till::Till;

use crate::error::CmdResult;
use crate::wire::*;

pub fn discount_in(d: &Discount, currency: Currency) -> CmdResult<CoreDiscount> {
    Ok(match d {
        Discount::Percent { bp } => CoreDiscount::Percent(Percent::from_bp(*bp)?),
        Discount::Amount { minor } => {
            if *minor <= 0 {
                return Err(AppError::invalid("a discount must be more than zero"));
            }
            CoreDiscount::Amount(Money::from_minor(*minor, currency))
        }
    })
}

pub fn discount_out(d: &CoreDiscount) -> Discount {
    match d {
        CoreDiscount::Percent(p) => Discount::Percent { bp: p.bp() },
        CoreDiscount::Amount(m) => Discount::Amount { minor: m.minor() },
    }
}

pub fn tenders_in(input: &[Tender], currency: Currency) -> CmdResult<Vec<CoreTender>> {
    input
        .iter()
        .map(|t| {
            let (amount, reference) = match t {
                Tender::Cash { amount } => (*amount, None),
                Tender::Card { amount, reference } => (*amount, reference.as_deref()),
            };
            if amount <= 0 {
                return Err(trestle_core::Error::ZeroTender.into());
            }
            let reference = reference.map(str::trim).filter(|r| !r.is_empty());
            if reference.is_some_and(|r| {
                r.chars().count() > MAX_REFERENCE || r.chars().any(char::is_control)
            }) {
                return Err(AppError::invalid(format!(
                    "a card reference is at most {MAX_REFERENCE} printable characters"
                )));
            }
            let money = Money::from_minor(amount, currency);
            Ok(match t {
                Tender::Cash { .. } => CoreTender::cash(money),
                Tender::Card { .. } => CoreTender::card(money, reference),
            })
        })
        .collect()
}

fn kind_out(k: CoreKind) -> TenderKind {
    match k {
        CoreKind::Cash => TenderKind::Cash,
        CoreKind::Card => TenderKind::Card,
        CoreKind::Other => TenderKind::Other,
    }
}

fn tender_out(t: &CoreTender) -> ReceiptTender {
    ReceiptTender {
        kind: kind_out(t.kind),
        amount: t.amount.minor(),
        reference: t.reference.clone(),
    }
}

pub fn item_out(i: trestle_till::catalog::CatalogItem) -> CatalogItem {
    CatalogItem {
        variant_id: i.variant_id.to_string(),
        title: i.title,
        sku: i.sku,
        barcode: i.barcode,
        price: i.price.minor(),
        track_inventory: i.track_inventory,
        available: i.available,
    }
}

pub fn cart_out(cart: &CartDraft, priced: Option<&PricedCart>, currency: Currency) -> Cart {
    let lines = cart
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let p = priced.and_then(|p| p.lines.get(i));
            let gross = p.map_or(0, |p| p.gross.minor());
            CartLine {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                variant_id: l.item.variant_id.to_string(),
                title: l.item.title.clone(),
                sku: l.item.sku.clone(),
                qty: l.qty.get(),
                unit_price: l.item.price.minor(),
                gross,
                discount: p.map_or(0, |p| p.line_discount.minor() + p.cart_discount.minor()),
                line_discount: l.discount.as_ref().map(discount_out),
                total: p.map_or(0, |p| p.total.minor()),
            }
        })
        .collect();
    let t = priced.map(|p| &p.totals);
    Cart {
        currency: currency.code().to_string(),
        lines,
        cart_discount: cart.discount.as_ref().map(discount_out),
        subtotal: t.map_or(0, |t| t.subtotal.minor()),
        discount: t.map_or(0, |t| t.discount.minor()),
        tax: t.map_or(0, |t| t.tax.minor()),
        total: t.map_or(0, |t| t.total.minor()),
    }
}

pub fn receipt_out(shop_name: &str, s: &CoreSale) -> Receipt {
    Receipt {
        receipt_no: s.receipt.to_string(),
        at_ms: s.at.wall_ms,
        shop_name: shop_name.to_string(),
        currency: s.currency.code().to_string(),
        lines: s
            .lines
            .iter()
            .map(|l| ReceiptLine {
                title: l.title.clone(),
                qty: l.qty.get(),
                unit_price: l.unit_price.minor(),
                discount: l.line_discount.minor() + l.cart_discount.minor(),
                total: l.total.minor(),
            })
            .collect(),
        subtotal: s.totals.subtotal.minor(),
        discount: s.totals.discount.minor(),
        tax: s.totals.tax.minor(),
        total: s.totals.total.minor(),
        tenders: s.tenders.iter().map(tender_out).collect(),
        change: s.change.minor(),
    }
}

pub fn sale_out(d: &SaleDetail) -> Sale {
    let s = &d.sale;
    Sale {
        receipt_no: s.receipt.to_string(),
        at_ms: s.at.wall_ms,
        currency: s.currency.code().to_string(),
        total: s.totals.total.minor(),
        refunded: d.refunded().minor(),
        voided: d.voided,
        lines: s
            .lines
            .iter()
            .map(|l| SaleLine {
                variant_id: l.variant_id.to_string(),
                title: l.title.clone(),
                qty: l.qty.get(),
                refundable: if d.voided {
                    0
                } else {
                    l.qty.get().saturating_sub(d.refunded_qty(l.line_no))
                },
                total: l.total.minor(),
            })
            .collect(),
        tenders: s.tenders.iter().map(tender_out).collect(),
    }
}

pub fn refund_out(r: &trestle_core::ledger::Refund) -> RefundResult {
    RefundResult {
        receipt_no: r.sale_receipt.to_string(),
        currency: r.plan.total.currency().code().to_string(),
        amount: r.plan.total.minor(),
        tenders: r
            .plan
            .tenders
            .iter()
            .map(|t| ReceiptTender {
                kind: kind_out(t.kind),
                amount: t.amount.minor(),
                reference: t.reference.clone(),
            })
            .collect(),
    }
}

/// A pickup's status as the till stores it (core's document form), for the window; a status
/// this build does not know shows as held, the state that still asks the cashier to act.
fn status_out(s: &str) -> ReservationStatus {
    use trestle_core::reservation::ReservationStatus as Core;
    match Core::parse(s) {
        Ok(Core::Held) | Err(_) => ReservationStatus::Held,
        Ok(Core::Ready) => ReservationStatus::Ready,
        Ok(Core::PartiallyCollected) => ReservationStatus::PartiallyCollected,
        Ok(Core::Collected) => ReservationStatus::Collected,
        Ok(Core::Cancelled) => ReservationStatus::Cancelled,
        Ok(Core::Expired) => ReservationStatus::Expired,
    }
}

fn payment_out(s: &str) -> PaymentState {
    match s {
        "paid" => PaymentState::Paid,
        "deposit" => PaymentState::Deposit,
        _ => PaymentState::PayOnPickup,
    }
}

pub fn summary_out(till: &Till, p: &Pickup) -> CmdResult<ReservationSummary> {
    Ok(ReservationSummary {
        code: p.code.clone(),
        customer_name: p.customer.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        status: status_out(&p.status),
        payment: payment_out(&p.payment_state),
        units_left: p.remaining(),
        remaining: till.pickup_due(p)?.minor(),
        pickup_day: till.pickup_day(p)?,
    })
}

pub fn reservation_out(till: &Till, p: &Pickup) -> CmdResult<Reservation> {
    let total = p
        .lines
        .iter()
        .map(|l| l.unit_price.minor().saturating_mul(l.qty))
        .sum();
    Ok(Reservation {
        summary: summary_out(till, p)?,
        currency: till.shop().currency.code().to_string(),
        lines: p
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| ReservationLine {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                variant_id: l.variant_id.to_string(),
                title: l.title.clone(),
                qty: l.qty,
                collected: l.collected + l.pending,
                unit_price: l.unit_price.minor(),
            })
            .collect(),
        total,
        paid: p.paid.minor(),
    })
}

pub fn stock_out(r: trestle_till::stock::StockRow) -> StockRow {
    StockRow {
        variant_id: r.variant_id.to_string(),
        title: r.title,
        sku: r.sku,
        till_free: r.till_free,
        till_held: r.till_held,
        event_free: r.event_free,
        event_held: r.event_held,
        on_hand: r.on_hand,
        available: r.available,
    }
}

fn ms(at: &str) -> u64 {
    parse_utc(at.split('.').next().unwrap_or(at)).unwrap_or(0)
}

pub fn conflict_out(c: &ConflictItem) -> Conflict {
    let r = &c.record;
    Conflict {
        id: r.id.to_string(),
        kind: r.kind.clone(),
        summary: c.summary(),
        facts: c
            .fact_list()
            .into_iter()
            .map(|(label, value)| Fact { label, value })
            .collect(),
        resolutions: r
            .resolutions
            .iter()
            .map(|id| Resolution {
                id: id.clone(),
                label: resolution_label(id),
            })
            .collect(),
        detected_ms: ms(&r.detected_at),
        resolved: r.resolution.as_ref().map(|res| Resolved {
            resolution: res.clone(),
            at_ms: r.resolved_at.as_deref().map_or(0, ms),
        }),
    }
}

/// The Sync screen's status: the loop's (when the till is paired) and the till's conflicts.
pub fn sync_out(agent: Option<&AgentStatus>, till: &Till) -> CmdResult<SyncStatus> {
    let conflicts = till.conflicts(true)?.iter().map(conflict_out).collect();
    let link = till.hub_link()?;
    Ok(match agent {
        Some(s) => SyncStatus {
            online: s.connectivity == Connectivity::Online,
            paired: true,
            hub_url: Some(s.hub_url.clone()),
            pending_events: s.pending,
            last_sync_ms: s.last_sync_ms,
            last_error: s.last_error.as_ref().map(|m| AppError {
                code: s
                    .last_error_code
                    .clone()
                    .unwrap_or_else(|| "sync.failed".into()),
                message: m.clone(),
            }),
            conflicts,
        },
        None => SyncStatus {
            online: false,
            paired: link.is_some(),
            hub_url: link.as_ref().map(|l| l.hub_url.clone()),
            pending_events: till.pending_outbox()?,
            last_sync_ms: link.and_then(|l| l.last_sync_ms),
            last_error: None,
            conflicts,
        },
    })
}
