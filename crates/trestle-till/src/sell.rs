//! The sale path: resolve what was scanned, price the cart, settle the tenders, check this till's
//! stock, and write sale + lines + tenders + stock movements + outbox entry in one transaction.

use std::collections::BTreeMap;

use trestle_core::cart::{Cart, CartLine, Discount};
use trestle_core::catalog::{Policy, Qty};
use trestle_core::ids::{EventId, SaleId, VariantId};
use trestle_core::ledger::LedgerEvent;
use trestle_core::receipt::ReceiptNo;
use trestle_core::sale::{complete, Sale, SaleMeta};
use trestle_core::tender::Tender;

use crate::catalog::resolve;
use crate::error::{Error, Result};
use crate::ledger::{insert_movement, insert_outbox, insert_sale};
use crate::shop::take_receipt_seq;
use crate::till::Till;

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
        if req.lines.is_empty() {
            return Err(trestle_core::Error::EmptyCart.into());
        }
        let at = self.tick();
        let sale_id = SaleId(self.new_uuid());
        let event_id = EventId(self.new_uuid());
        let shop = self.shop.clone();
        self.db.write(|tx| {
            let mut cart = Cart {
                currency: shop.currency,
                tax_mode: shop.tax_mode,
                lines: Vec::with_capacity(req.lines.len()),
                discount: req.cart_discount.clone(),
            };
            // Tracked variants: (units wanted, this till's stock, policy, title).
            let mut wanted: BTreeMap<VariantId, (i64, i64, Policy, String)> = BTreeMap::new();
            for l in &req.lines {
                let item = resolve(tx, shop.currency, &l.item)?;
                if let Some(on_hand) = item.on_hand {
                    let e = wanted.entry(item.variant_id).or_insert((
                        0,
                        on_hand,
                        item.policy,
                        item.title.clone(),
                    ));
                    e.0 += i64::from(l.qty.get());
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
            // This till's own holding: a deny variant never goes below zero here.
            for (qty, on_hand, policy, title) in wanted.values() {
                if *policy == Policy::Deny && qty > on_hand {
                    return Err(Error::OutOfStock {
                        title: title.clone(),
                        wanted: *qty,
                        available: (*on_hand).max(0),
                    });
                }
            }
            let seq = take_receipt_seq(tx, at)?;
            let meta = SaleMeta {
                id: sale_id,
                receipt: ReceiptNo {
                    prefix: shop.prefix.clone(),
                    seq,
                },
                till_id: shop.till_id,
                at,
                staff: req.staff.clone(),
                event: req.event.clone(),
            };
            let sale = complete(&cart, req.tenders.clone(), meta)?;
            insert_sale(tx, &sale)?;
            let reference = sale.id.to_string();
            for (variant, (qty, ..)) in &wanted {
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
