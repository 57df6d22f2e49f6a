//! Read-only views of the ledger for the CLI and the app: stock levels, sales with their state,
//! one sale by receipt number, and the outbox.

use rusqlite::OptionalExtension;
use serde::Serialize;
use trestle_core::catalog::Policy;
use trestle_core::clock::Hlc;
use trestle_core::ids::VariantId;
use trestle_core::ledger::Refund;
use trestle_core::receipt::ReceiptNo;
use trestle_core::sale::Sale;
use trestle_core::Money;

use crate::error::{Error, Result};
use crate::ledger::load_sale;
use crate::till::Till;

/// The stock of one tracked variant: every holder's counters, the total on hand, and what this
/// till may sell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockLevel {
    pub variant_id: VariantId,
    pub sku: Option<String>,
    pub title: String,
    pub policy: Policy,
    /// Σ free + Σ held over every holder.
    pub on_hand: i64,
    /// This till's own `free`: what it may sell now.
    pub available: i64,
    /// Each holder's counters (`hub`, `till:<id>`).
    pub holders: Vec<HolderStock>,
}

/// One holder's counters of a variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HolderStock {
    pub holder: String,
    pub free: i64,
    pub held: i64,
}

/// A sale in a list: its figures and what has happened to it since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaleSummary {
    pub receipt: String,
    pub at: Hlc,
    pub items: i64,
    pub total: Money,
    pub refunded: Money,
    pub voided: bool,
    pub tenders: Vec<String>,
}

/// A sale with its refunds and whether it was voided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaleDetail {
    pub sale: Sale,
    pub refunds: Vec<Refund>,
    pub voided: bool,
}

impl SaleDetail {
    /// Units of the sale's line `line_no` refunded so far.
    pub fn refunded_qty(&self, line_no: u32) -> u32 {
        self.refunds
            .iter()
            .flat_map(|r| &r.plan.lines)
            .filter(|l| l.line_no == line_no)
            .map(|l| l.qty.get())
            .sum()
    }

    /// Paid back over every refund of the sale.
    pub fn refunded(&self) -> Money {
        let zero = Money::zero(self.sale.currency);
        self.refunds
            .iter()
            .try_fold(zero, |sum, r| sum.checked_add(r.plan.total))
            .unwrap_or(zero)
    }
}

/// One outbox entry (the payload stays in the database; see `trestle outbox --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxItem {
    pub seq: i64,
    pub event_id: String,
    pub kind: String,
    pub reference: String,
    pub at: Hlc,
    pub acked: bool,
    pub payload: serde_json::Value,
}

impl Till {
    /// Stock levels of every tracked variant, from the replica.
    pub fn stock(&self) -> Result<Vec<StockLevel>> {
        let mine = self.replica.holder();
        let levels = self.replica().levels()?;
        let mut st = self.db.conn().prepare_cached(
            "SELECT sku, title, policy FROM variants WHERE id = ?1 AND track_inventory = 1",
        )?;
        let mut out = Vec::with_capacity(levels.len());
        for level in levels {
            let row = st
                .query_row([level.variant.to_string()], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .optional()?;
            let Some((sku, title, policy)) = row else {
                continue;
            };
            out.push(StockLevel {
                variant_id: level.variant,
                sku,
                title,
                policy: Policy::parse(&policy)
                    .map_err(|_| Error::Corrupt("a variant's policy is unreadable".into()))?,
                on_hand: level.on_hand,
                available: level
                    .holders
                    .iter()
                    .find(|h| h.holder == mine)
                    .map_or(0, |h| h.free),
                holders: level
                    .holders
                    .iter()
                    .map(|h| HolderStock {
                        holder: h.holder.to_string(),
                        free: h.free,
                        held: h.held,
                    })
                    .collect(),
            });
        }
        out.sort_by(|a, b| a.title.cmp(&b.title).then(a.variant_id.cmp(&b.variant_id)));
        Ok(out)
    }

    /// Sales at or after `since_ms` (all when `None`), oldest first.
    pub fn sales(&self, since_ms: Option<u64>) -> Result<Vec<SaleSummary>> {
        let since = Hlc {
            wall_ms: since_ms.unwrap_or(0),
            counter: 0,
        }
        .encode();
        let currency = self.shop.currency;
        let mut st = self.db.conn().prepare_cached(
            "SELECT s.receipt, s.hlc, s.total_minor,
                    (SELECT COALESCE(SUM(qty), 0) FROM sale_lines l WHERE l.sale_id = s.id),
                    (SELECT COALESCE(SUM(total_minor), 0) FROM refunds r WHERE r.sale_id = s.id),
                    EXISTS (SELECT 1 FROM voids v WHERE v.sale_id = s.id),
                    (SELECT group_concat(kind, '+') FROM
                        (SELECT kind FROM sale_tenders t WHERE t.sale_id = s.id ORDER BY idx))
             FROM sales s WHERE s.hlc >= ?1 ORDER BY s.receipt_seq",
        )?;
        let rows = st
            .query_map([since], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, bool>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(receipt, hlc, total, items, refunded, voided, tenders)| {
                Ok(SaleSummary {
                    receipt,
                    at: Hlc::decode(&hlc)
                        .ok_or_else(|| Error::Corrupt("a sale's time is unreadable".into()))?,
                    items,
                    total: Money::from_minor(total, currency),
                    refunded: Money::from_minor(refunded, currency),
                    voided,
                    tenders: tenders
                        .map(|t| t.split('+').map(str::to_string).collect())
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// One sale by its receipt number.
    pub fn sale(&self, receipt: &ReceiptNo) -> Result<SaleDetail> {
        let (sale, refunds, voided) = load_sale(self.db.conn(), receipt, &self.shop.prefix)?
            .ok_or_else(|| Error::ReceiptNotFound(receipt.to_string()))?;
        Ok(SaleDetail {
            sale,
            refunds,
            voided,
        })
    }

    /// The outbox in order; `pending_only` leaves out what the hub has acknowledged.
    pub fn outbox(&self, pending_only: bool) -> Result<Vec<OutboxItem>> {
        let mut st = self.db.conn().prepare_cached(
            "SELECT o.seq, o.event_id, o.kind, o.ref, o.hlc, o.acked_ms IS NOT NULL, p.payload
             FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq
             WHERE (?1 = 0 OR o.acked_ms IS NULL) ORDER BY o.seq",
        )?;
        let rows = st
            .query_map([pending_only], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, bool>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(seq, event_id, kind, reference, hlc, acked, payload)| {
                Ok(OutboxItem {
                    seq,
                    event_id,
                    kind,
                    reference,
                    at: Hlc::decode(&hlc)
                        .ok_or_else(|| Error::Corrupt("an outbox time is unreadable".into()))?,
                    acked,
                    payload: serde_json::from_str(&payload)
                        .map_err(|_| Error::Corrupt("an outbox entry is unreadable".into()))?,
                })
            })
            .collect()
    }
}
