//! Refunds and voids: new records that point at a completed sale (which is never changed), each
//! written with its stock movements and outbox entry in one transaction.
//!
//! Refunded and voided units go back into this till's stock. Money goes back to the sale's
//! original tenders (the allocation rule is `trestle_core::refund`'s).

use trestle_core::catalog::Qty;
use trestle_core::clock::Hlc;
use trestle_core::ids::{EventId, RefundId, VariantId, VoidId};
use trestle_core::ledger::{LedgerEvent, Refund, Void};
use trestle_core::receipt::ReceiptNo;
use trestle_core::refund::{plan_refund, RefundRequest};
use trestle_core::sale::Sale;

use crate::catalog::resolve;
use crate::error::{Error, Result};
use crate::ledger::{insert_movement, insert_outbox, insert_refund, insert_void, load_sale};
use crate::shop::save_hlc;
use crate::staff::{record_approval, Approval, Granted};
use crate::till::Till;

/// What to refund: everything left, or some items (as scanned or typed) with quantities.
#[derive(Debug, Clone)]
pub enum RefundItems {
    All,
    Items(Vec<(String, Qty)>),
}

impl Till {
    /// Refunds all or some of a sale to its original tenders, restocking the units.
    pub fn refund(
        &mut self,
        receipt: &ReceiptNo,
        items: &RefundItems,
        reason: Option<String>,
    ) -> Result<Refund> {
        self.refund_approved(receipt, items, reason, None)
    }

    /// [`Till::refund`] by the person signed in; a refund above the till's threshold needs a
    /// manager (the acting one, or `approval`). A wrong manager PIN refuses it, writing nothing.
    pub fn refund_approved(
        &mut self,
        receipt: &ReceiptNo,
        items: &RefundItems,
        reason: Option<String>,
        approval: Option<&Approval>,
    ) -> Result<Refund> {
        let actor = self.actor()?;
        let threshold = self.refund_threshold()?.minor();
        // Checked up front (a wrong PIN counts even though the refund is refused).
        let approver = match approval {
            Some(a) => Some(self.approve(&actor, Some(a), "this refund")?),
            None if actor.is_manager() => Some(self.approve(&actor, None, "this refund")?),
            None => None,
        };
        let event = self.open_event_id()?;
        let approval_id = self.new_uuid();
        let at = self.tick();
        let id = RefundId(self.new_uuid());
        let event_id = EventId(id.0);
        let shop = self.shop.clone();
        self.write_with_replica(&format!("refund:{id}"), |tx, replica| {
            let (sale, prior, voided) = load_sale(tx, receipt, &shop.prefix)?
                .ok_or_else(|| Error::ReceiptNotFound(receipt.to_string()))?;
            if voided {
                return Err(Error::AlreadyVoided(receipt.to_string()));
            }
            let request = match items {
                RefundItems::All => RefundRequest::All,
                RefundItems::Items(list) => {
                    RefundRequest::Lines(lines_for_items(tx, shop.currency, &sale, &prior, list)?)
                }
            };
            let plans: Vec<_> = prior.iter().map(|r| r.plan.clone()).collect();
            let plan = plan_refund(&sale, &plans, &request)?;
            let refund = Refund {
                id,
                sale_id: sale.id,
                sale_receipt: sale.receipt.clone(),
                till_id: shop.till_id,
                at,
                reason,
                staff: actor.stamp(),
                restocked: true,
                plan,
            };
            let reference = refund.id.to_string();
            if refund.plan.total.minor() > threshold {
                let Some(approver) = &approver else {
                    return Err(Error::ApprovalRequired(format!(
                        "a refund of {} (more than {})",
                        refund.plan.total,
                        trestle_core::Money::from_minor(threshold, shop.currency)
                    )));
                };
                let g = Granted {
                    actor: &actor,
                    approver,
                    at,
                };
                let detail = format!("refund of {} on {}", refund.plan.total, receipt);
                record_approval(tx, &g, approval_id, "refund", &reference, &detail)?;
            }
            let units: Vec<_> = refund
                .plan
                .lines
                .iter()
                .map(|l| (l.variant_id, l.qty))
                .collect();
            replica.refund(id, &units)?;
            insert_refund(tx, &refund, event.as_deref())?;
            restock(tx, &units, "refund", &reference, at)?;
            insert_outbox(
                tx,
                event_id,
                shop.till_id,
                LedgerEvent::SaleRefunded(refund.clone()),
                &reference,
                at,
            )?;
            save_hlc(tx, at)?;
            Ok(refund)
        })
    }

    /// Voids a whole sale that has no refunds: every unit back in stock, every tender reversed.
    pub fn void(&mut self, receipt: &ReceiptNo, reason: &str) -> Result<Void> {
        self.void_approved(receipt, reason, None)
    }

    /// [`Till::void`] by the person signed in; a void always needs a manager (the acting one, or
    /// `approval`).
    pub fn void_approved(
        &mut self,
        receipt: &ReceiptNo,
        reason: &str,
        approval: Option<&Approval>,
    ) -> Result<Void> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::InvalidInput("say why the sale is voided".into()));
        }
        let actor = self.actor()?;
        let approver = self.approve(&actor, approval, "a void")?;
        let event = self.open_event_id()?;
        let approval_id = self.new_uuid();
        let at = self.tick();
        let id = VoidId(self.new_uuid());
        let event_id = EventId(id.0);
        let till_id = self.shop.till_id;
        let prefix = self.shop.prefix.clone();
        self.write_with_replica(&format!("void:{id}"), |tx, replica| {
            let (sale, prior, voided) = load_sale(tx, receipt, &prefix)?
                .ok_or_else(|| Error::ReceiptNotFound(receipt.to_string()))?;
            if voided {
                return Err(Error::AlreadyVoided(receipt.to_string()));
            }
            if !prior.is_empty() {
                return Err(Error::VoidAfterRefund(receipt.to_string()));
            }
            let void = Void {
                id,
                sale_id: sale.id,
                sale_receipt: sale.receipt.clone(),
                till_id,
                at,
                reason: reason.to_string(),
                staff: actor.stamp(),
            };
            let units: Vec<_> = sale.lines.iter().map(|l| (l.variant_id, l.qty)).collect();
            replica.void(id, &units)?;
            insert_void(tx, &void, event.as_deref())?;
            let reference = void.id.to_string();
            let detail = format!("void of {receipt}");
            let g = Granted {
                actor: &actor,
                approver: &approver,
                at,
            };
            record_approval(tx, &g, approval_id, "void", &reference, &detail)?;
            restock(tx, &units, "void", &reference, at)?;
            insert_outbox(
                tx,
                event_id,
                till_id,
                LedgerEvent::SaleVoided(void.clone()),
                &reference,
                at,
            )?;
            save_hlc(tx, at)?;
            Ok(void)
        })
    }
}

/// Records in this till's ledger the units of tracked variants put back by a refund or void.
fn restock(
    tx: &rusqlite::Transaction<'_>,
    units: &[(VariantId, Qty)],
    cause: &str,
    reference: &str,
    at: Hlc,
) -> Result<()> {
    for (variant, qty) in units {
        if is_tracked(tx, *variant)? {
            insert_movement(tx, *variant, i64::from(qty.get()), cause, reference, at)?;
        }
    }
    Ok(())
}

fn is_tracked(conn: &rusqlite::Connection, variant: VariantId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT track_inventory FROM variants WHERE id = ?1")?
        .query_row([variant.to_string()], |r| r.get::<_, bool>(0))?)
}

/// Maps "SKU=QTY" items to the sale's line numbers: each item's quantity is spread over the sale's
/// lines of that variant, filling the line with the most left to refund first.
fn lines_for_items(
    conn: &rusqlite::Connection,
    currency: trestle_core::Currency,
    sale: &Sale,
    prior: &[Refund],
    items: &[(String, Qty)],
) -> Result<Vec<(u32, Qty)>> {
    let refunded = |line_no: u32| -> u32 {
        prior
            .iter()
            .flat_map(|r| &r.plan.lines)
            .filter(|l| l.line_no == line_no)
            .map(|l| l.qty.get())
            .sum()
    };
    let mut out: Vec<(u32, u32)> = Vec::new();
    for (item, qty) in items {
        let key = item.trim().trim_start_matches('\'');
        // Prefer the sale's own lines by SKU (so a refund works even after the catalog changed),
        // then whatever the catalog resolves the input to.
        let mut matching: Vec<&trestle_core::cart::PricedLine> = sale
            .lines
            .iter()
            .filter(|l| {
                l.sku.as_ref().is_some_and(|s| s.as_str() == key) || l.variant_id.to_string() == key
            })
            .collect();
        if matching.is_empty() {
            if let Ok(found) = resolve(conn, currency, key) {
                matching = sale
                    .lines
                    .iter()
                    .filter(|l| l.variant_id == found.variant_id)
                    .collect();
            }
        }
        if matching.is_empty() {
            return Err(Error::NotOnSale {
                item: item.clone(),
                receipt: sale.receipt.to_string(),
            });
        }
        let mut left = qty.get();
        for (i, l) in matching.iter().enumerate() {
            let already: u32 = out
                .iter()
                .filter(|(n, _)| *n == l.line_no)
                .map(|(_, q)| q)
                .sum();
            let free = l.qty.get().saturating_sub(refunded(l.line_no) + already);
            // The last matching line takes whatever is left, so asking for too many is refused
            // by the refund rules with the line named.
            let take = if i + 1 == matching.len() {
                left
            } else {
                left.min(free)
            };
            if take > 0 {
                out.push((l.line_no, take));
                left -= take;
            }
            if left == 0 {
                break;
            }
        }
    }
    // Merge repeats of one line.
    let mut merged: Vec<(u32, u32)> = Vec::new();
    for (n, q) in out {
        match merged.iter_mut().find(|(m, _)| *m == n) {
            Some(e) => e.1 += q,
            None => merged.push((n, q)),
        }
    }
    merged
        .into_iter()
        .map(|(n, q)| Ok((n, Qty::new(q)?)))
        .collect()
}
