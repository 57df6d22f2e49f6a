//! The Stock screen's figures and its count correction: per tracked variant, this till's own
//! counters beside the event's (every holder of the event open here; the whole shop when none
//! is), and correcting this till's count to what is physically there, with a reason.

use serde::Serialize;
use trestle_core::ids::VariantId;
use trestle_replica::ids::{CountId, MarketEventId};
use trestle_replica::Holder;
use uuid::Uuid;

use crate::catalog::resolve;
use crate::error::{Error, Result};
use crate::event::CountLine;
use crate::ledger::insert_movement;
use crate::queries::StockLevel;
use crate::shop::save_hlc;
use crate::staff::{record_approval, Granted};
use crate::till::Till;

/// One tracked variant's stock as the Stock screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockRow {
    pub variant_id: VariantId,
    pub title: String,
    pub sku: Option<String>,
    pub till_free: i64,
    pub till_held: i64,
    /// Σ over the event's holders (the shop's when no event is open here).
    pub event_free: i64,
    pub event_held: i64,
    /// `event_free + event_held`.
    pub on_hand: i64,
    /// What this till may sell now: its own free.
    pub available: i64,
}

impl Till {
    /// The stock rows whose title or SKU contains `query` (any case; all when empty), by title.
    pub fn stock_rows(&self, query: &str) -> Result<Vec<StockRow>> {
        let q = query.trim().to_lowercase();
        let holders = self.event_holders()?;
        let me = self.replica.holder().to_string();
        Ok(self
            .stock()?
            .into_iter()
            .filter(|l| {
                q.is_empty()
                    || l.title.to_lowercase().contains(&q)
                    || l.sku
                        .as_deref()
                        .is_some_and(|s| s.to_lowercase().contains(&q))
            })
            .map(|l| row_of(&l, &me, holders.as_deref()))
            .collect())
    }

    /// Corrects this till's count of `item` (SKU, barcode or variant id) to `counted` units
    /// physically there, free and reserved together, with a reason. With an event open this is
    /// that event's stocktake of one variant (a variance on the Z report); with none it is a
    /// count correction on its own. Either needs a manager once staff exist (the owner before);
    /// a count equal to what the till expects changes nothing.
    pub fn correct_count(&mut self, item: &str, counted: i64, reason: &str) -> Result<StockRow> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 || reason.chars().any(char::is_control)
        {
            return Err(Error::InvalidInput(
                "say why the count is corrected (up to 200 characters)".into(),
            ));
        }
        if counted < 0 {
            return Err(Error::InvalidInput("a count cannot be negative".into()));
        }
        let found = resolve(self.db.conn(), self.shop.currency, item)?;
        if !found.track_inventory {
            return Err(Error::InvalidInput(format!(
                "{} is not counted: its stock is not tracked",
                found.title
            )));
        }
        let variant = found.variant_id;
        if self.open_event_id()?.is_some() {
            self.stocktake(
                &[CountLine {
                    item: variant.to_string(),
                    counted,
                    reason: Some(reason.to_string()),
                }],
                None,
            )?;
            return self.stock_row(variant);
        }
        let actor = self.actor()?;
        let me = self.replica.holder();
        let expected = self
            .replica()
            .stock_of(variant)?
            .into_iter()
            .find(|h| h.holder == me)
            .map_or(0, |h| h.free + h.held);
        let delta = counted - expected;
        if delta != 0 {
            let approver = self.approve(&actor, None, "a count correction")?;
            let id = CountId(self.new_uuid());
            let at = self.tick();
            let detail = format!("{}: {expected} expected, {counted} counted", found.title);
            self.write_with_replica(&format!("count:{id}"), |tx, replica| {
                let granted = Granted {
                    actor: &actor,
                    approver: &approver,
                    at,
                };
                let c = Correction {
                    id,
                    variant,
                    delta,
                    reason,
                    detail: &detail,
                };
                write_correction(tx, replica, &c, &granted)?;
                save_hlc(tx, at)
            })?;
            tracing::info!(variant = %variant, delta, "count corrected");
        }
        self.stock_row(variant)
    }

    fn stock_row(&self, variant: VariantId) -> Result<StockRow> {
        let holders = self.event_holders()?;
        let me = self.replica.holder().to_string();
        self.stock()?
            .iter()
            .find(|l| l.variant_id == variant)
            .map(|l| row_of(l, &me, holders.as_deref()))
            .ok_or_else(|| Error::UnknownItem(variant.to_string()))
    }

    /// The holders of the event open on this till (`None`: no event, count every holder).
    fn event_holders(&self) -> Result<Option<Vec<String>>> {
        let Some(id) = self.open_event_id()? else {
            return Ok(None);
        };
        let Ok(uuid) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        Ok(self
            .replica()
            .event(MarketEventId(uuid))?
            .map(|e| e.fields.tills.iter().map(Holder::to_string).collect()))
    }
}

/// One count correction on this till's own counter: what it changes and why, and the line the
/// approval records (`<title>: <expected> expected, <counted> counted`).
pub(crate) struct Correction<'a> {
    pub id: CountId,
    pub variant: VariantId,
    pub delta: i64,
    pub reason: &'a str,
    pub detail: &'a str,
}

/// Writes a count correction inside the caller's write: the replica's count on this till's own
/// counter, the stock movement, and the manager's approval — the same for a correction from
/// the Stock screen and for each variance of a stocktake.
pub(crate) fn write_correction(
    tx: &rusqlite::Transaction<'_>,
    replica: &mut trestle_replica::ShopReplica,
    c: &Correction<'_>,
    granted: &Granted<'_>,
) -> Result<()> {
    replica.count(c.id, c.variant, c.delta, c.reason)?;
    let reference = c.id.to_string();
    insert_movement(tx, c.variant, c.delta, "count", &reference, granted.at)?;
    record_approval(
        tx,
        granted,
        c.id.0,
        "count_correction",
        &reference,
        c.detail,
    )
}

fn row_of(l: &StockLevel, me: &str, event: Option<&[String]>) -> StockRow {
    let mine = l.holders.iter().find(|h| h.holder == me);
    let at_event = l
        .holders
        .iter()
        .filter(|h| event.is_none_or(|e| e.contains(&h.holder)));
    let (event_free, event_held) = at_event.fold((0, 0), |(f, h), x| (f + x.free, h + x.held));
    StockRow {
        variant_id: l.variant_id,
        title: l.title.clone(),
        sku: l.sku.clone(),
        till_free: mine.map_or(0, |h| h.free),
        till_held: mine.map_or(0, |h| h.held),
        event_free,
        event_held,
        on_hand: event_free + event_held,
        available: l.available,
    }
}
