//! The sale path: resolve what was scanned, price the cart, settle the tenders, take the units
//! from this till's counters in the replica (checked first), and write sale + lines + tenders +
//! stock movements + outbox entry + the replica's change bytes in one transaction.

use std::collections::BTreeMap;

use trestle_core::cart::{Cart, CartLine, Discount};
use trestle_core::catalog::Qty;
use trestle_core::ids::{EventId, SaleId, VariantId};
use trestle_core::ledger::LedgerEvent;
use trestle_core::sale::{complete, Sale};
use trestle_core::tender::Tender;

use crate::catalog::resolve;
use crate::error::Result;
use crate::ledger::{insert_movement, insert_outbox, insert_sale};
use crate::shop::new_sale_meta;
use crate::staff::{record_approval, Approval, Granted};
use crate::till::Till;

/// A line sold at another price than the catalog's (needs a manager).
#[derive(Debug, Clone)]
pub struct PriceOverride {
    /// The index of the line in `SellRequest::lines`.
    pub line: usize,
    pub unit_price: trestle_core::Money,
}

/// What a sale may do beyond the plain rules, each needing a manager (the acting one, or one
/// approving with their PIN).
#[derive(Debug, Clone, Default)]
pub struct SellOptions {
    pub price_overrides: Vec<PriceOverride>,
    /// Sell `deny` variants beyond this till's holding: recorded as an override; the counter goes
    /// below zero, which the audit and the hub's reconciliation report as a conflict.
    pub beyond_holding: bool,
    pub approval: Option<Approval>,
}

/// One line as asked for: what was scanned or typed, how many, and an optional line discount.
#[derive(Debug, Clone)]
pub struct LineRequest {
    pub item: String,
    pub qty: Qty,
    pub discount: Option<Discount>,
}

/// A sale as asked for by the cashier (already parsed into typed values).
#[derive(Debug, Clone, Default)]
pub struct SellRequest {
    pub lines: Vec<LineRequest>,
    pub tenders: Vec<Tender>,
    pub cart_discount: Option<Discount>,
    pub staff: Option<String>,
    pub event: Option<String>,
}

impl Till {
    /// Completes a sale durably. When this returns `Ok`, the sale is on disk (WAL fsynced) with its
    /// outbox entry; when it returns `Err`, nothing was written.
    pub fn sell(&mut self, req: &SellRequest) -> Result<Sale> {
        self.sell_with(req, &SellOptions::default())
    }

    /// [`Till::sell`] with price overrides or selling beyond the holding, under a manager's
    /// approval. Stamps who sold (the signed-in person) and the event open on this till.
    pub fn sell_with(&mut self, req: &SellRequest, opts: &SellOptions) -> Result<Sale> {
        if req.lines.is_empty() {
            return Err(trestle_core::Error::EmptyCart.into());
        }
        if let Some(o) = opts
            .price_overrides
            .iter()
            .find(|o| o.line >= req.lines.len())
        {
            return Err(crate::Error::InvalidInput(format!(
                "there is no line {} to change the price of",
                o.line + 1
            )));
        }
        let actor = self.actor()?;
        let event = self.event_for_sale(req.event.as_deref())?;
        let needs = if !opts.price_overrides.is_empty() {
            Some("a price change")
        } else if opts.beyond_holding {
            Some("selling beyond the stock this till holds")
        } else {
            None
        };
        let approver = match needs {
            Some(what) => Some(self.approve(&actor, opts.approval.as_ref(), what)?),
            None => None,
        };
        let staff = actor.stamp().or_else(|| req.staff.clone());
        let approval_ids: Vec<uuid::Uuid> = (0..=opts.price_overrides.len())
            .map(|_| self.new_uuid())
            .collect();
        let at = self.tick();
        let sale_id = SaleId(self.new_uuid());
        let event_id = EventId(sale_id.0);
        let shop = self.shop.clone();
        self.write_with_replica(&format!("sale:{sale_id}"), |tx, replica| {
            let mut cart = Cart {
                currency: shop.currency,
                tax_mode: shop.tax_mode,
                lines: Vec::with_capacity(req.lines.len()),
                discount: req.cart_discount.clone(),
            };
            // Units of tracked variants, for this till's ledger of its stock movements.
            let mut tracked: BTreeMap<VariantId, i64> = BTreeMap::new();
            for (i, l) in req.lines.iter().enumerate() {
                let mut item = resolve(tx, shop.currency, &l.item)?;
                if let Some(o) = opts.price_overrides.iter().rev().find(|o| o.line == i) {
                    item.price = o.unit_price;
                }
                if item.track_inventory {
                    *tracked.entry(item.variant_id).or_default() += i64::from(l.qty.get());
                }
                cart.lines.push(CartLine {
                    variant_id: item.variant_id,
                    sku: item
                        .sku
                        .as_deref()
                        .and_then(|s| trestle_core::catalog::Sku::parse(s).ok()),
                    title: item.title,
                    unit_price: item.price,
                    tax_rate: item.tax_rate,
                    qty: l.qty,
                    discount: l.discount.clone(),
                });
            }
            let meta = new_sale_meta(tx, &shop, sale_id, at, staff.clone(), event.clone())?;
            let sale = complete(&cart, req.tenders.clone(), meta)?;
            // This till's own holding, in the replica: a deny variant is checked before anything
            // is written and never goes below zero here (refused: `stock.insufficient`).
            let units: Vec<(VariantId, Qty)> =
                cart.lines.iter().map(|l| (l.variant_id, l.qty)).collect();
            if opts.beyond_holding {
                replica.sell_beyond(sale_id, &units)?;
            } else {
                replica.sell(sale_id, &units)?;
            }
            insert_sale(tx, &sale)?;
            let reference = sale.id.to_string();
            if let Some(approver) = &approver {
                let g = Granted {
                    actor: &actor,
                    approver,
                    at,
                };
                for (o, id) in opts.price_overrides.iter().zip(&approval_ids) {
                    let detail = format!("line {}: unit price {}", o.line + 1, o.unit_price);
                    record_approval(tx, &g, *id, "price_override", &reference, &detail)?;
                }
                if opts.beyond_holding {
                    let id = approval_ids[opts.price_overrides.len()];
                    let detail = "sold beyond the till's holding";
                    record_approval(tx, &g, id, "beyond_holding", &reference, detail)?;
                }
            }
            for (variant, qty) in &tracked {
                insert_movement(tx, *variant, -qty, "sale", &reference, at)?;
            }
            insert_outbox(
                tx,
                event_id,
                shop.till_id,
                LedgerEvent::SaleCompleted(sale.clone()),
                &reference,
                at,
            )?;
            Ok(sale)
        })
    }
}
