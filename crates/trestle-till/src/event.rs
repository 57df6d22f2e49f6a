//! The market day at the till: the events it may open (synced from the hub in the replica),
//! opening one with what the till holds and the counted float, cash in and out with reasons,
//! the stocktake (counted against expected, corrections with reasons under a manager), and the
//! close: the cash count, the Z report, and the unsold holding returned to the hub as one
//! transfer that reaches the hub at the next sync (so closing works offline).

use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use trestle_core::catalog::Qty;
use trestle_core::ids::VariantId;
use trestle_core::Money;
use trestle_replica::ids::{CountId, MarketEventId, TransferId};
use trestle_replica::{Holder, ShopReplica};
use uuid::Uuid;

use crate::catalog::resolve;
use crate::error::{Error, Result};
use crate::ledger::insert_movement;
use crate::report::{self, ZReport};
use crate::staff::{Actor, Approval, Granted};
use crate::stock::{write_correction, Correction};
use crate::till::Till;

/// An event this till may open, as the hub planned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventChoice {
    pub id: String,
    pub name: String,
    pub place: String,
    pub starts_ms: i64,
    pub ends_ms: i64,
    /// The hub's status: `planned`, `open` or `closed`.
    pub hub_status: String,
    /// This till's: `not_opened`, `open` or `closed`.
    pub till_status: String,
}

/// What this till holds of one tracked variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    pub variant_id: String,
    pub sku: Option<String>,
    pub title: String,
    pub free: i64,
    pub held: i64,
}

/// An event just opened: what the till holds (the allocation that arrived) and the float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Opened {
    pub event_id: String,
    pub name: String,
    pub float_minor: i64,
    pub holding: Vec<Holding>,
}

/// Cash put in the drawer or taken out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CashKind {
    In,
    Out,
}

/// One counted variant of the stocktake: what is physically there (free and reserved together).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountLine {
    /// SKU, barcode or variant id.
    pub item: String,
    pub counted: i64,
    /// Why it differs (required when it does).
    pub reason: Option<String>,
}

/// One variance the stocktake found and corrected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variance {
    pub variant_id: String,
    pub title: String,
    pub expected: i64,
    pub counted: i64,
    pub delta: i64,
    pub reason: Option<String>,
}

impl Till {
    /// The events the hub assigned this till, with their status here.
    pub fn events(&self) -> Result<Vec<EventChoice>> {
        let me = self.replica.holder();
        let mut out = Vec::new();
        for e in self.replica.replica.events()? {
            if !e.fields.tills.contains(&me) {
                continue;
            }
            let id = e.id.0.to_string();
            let till_status: Option<String> = self
                .db
                .conn()
                .query_row(
                    "SELECT status FROM till_events WHERE event_id = ?1",
                    [&id],
                    |r| r.get(0),
                )
                .optional()?;
            out.push(EventChoice {
                id,
                name: e.fields.name,
                place: e.fields.place,
                starts_ms: e.fields.starts,
                ends_ms: e.fields.ends,
                hub_status: e.status,
                till_status: till_status.unwrap_or_else(|| "not_opened".into()),
            });
        }
        out.sort_by_key(|e| (e.starts_ms, e.id.clone()));
        Ok(out)
    }

    /// The event a new sale belongs to: the one named (refused when closed here or at the hub),
    /// or else the event open on this till, or none.
    pub(crate) fn event_for_sale(&self, named: Option<&str>) -> Result<Option<String>> {
        let Some(name) = named else {
            return self.open_event_id();
        };
        let closed: Option<String> = self
            .db
            .conn()
            .query_row(
                "SELECT name FROM till_events WHERE event_id = ?1 AND status = 'closed'",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(n) = closed {
            return Err(Error::EventClosed(n));
        }
        if let Ok(id) = Uuid::parse_str(name) {
            if let Some(e) = self.replica.replica.event(MarketEventId(id))? {
                if e.status == "closed" {
                    return Err(Error::EventClosed(e.fields.name));
                }
            }
        }
        Ok(Some(name.to_string()))
    }

    /// What this till holds of every tracked variant, by title.
    pub fn holding(&mut self) -> Result<Vec<Holding>> {
        holding_of(self.db.conn(), &mut self.replica.replica)
    }

    /// Opens an event on this till with the counted opening float. The event must be one the hub
    /// assigned this till and not closed; only one event is open at a time.
    pub fn open_event(&mut self, event: &str, float: Money) -> Result<Opened> {
        let actor = self.actor()?;
        if float.is_negative() {
            return Err(Error::InvalidInput("the float cannot be negative".into()));
        }
        let choice = self
            .events()?
            .into_iter()
            .find(|e| e.id == event.trim() || e.name.eq_ignore_ascii_case(event.trim()))
            .ok_or_else(|| Error::UnknownEvent(event.to_string()))?;
        if let Some(open) = self.open_event_id()? {
            return Err(Error::EventAlreadyOpen(open));
        }
        if choice.till_status == "closed" || choice.hub_status == "closed" {
            return Err(Error::EventClosed(choice.name));
        }
        let holding = self.holding()?;
        let at = self.tick();
        let cash_id = self.new_uuid();
        self.forget_context();
        self.db.write(|tx| {
            tx.execute(
                "INSERT INTO till_events (event_id, name, status, opened_hlc, opened_by, float_minor)
                 VALUES (?1, ?2, 'open', ?3, ?4, ?5)",
                params![choice.id, choice.name, at.encode(), actor.stamp(), float.minor()],
            )?;
            insert_cash(tx, cash_id, &choice.id, "float", float.minor(), "opening float", &actor, at)?;
            snapshot_stock(tx, &choice.id, "open", &holding)?;
            crate::shop::save_hlc(tx, at)?;
            Ok(())
        })?;
        tracing::info!(event = %choice.id, "event opened");
        Ok(Opened {
            event_id: choice.id,
            name: choice.name,
            float_minor: float.minor(),
            holding,
        })
    }

    /// Cash put into the drawer (a float top-up) or taken out (paying a supplier), with a reason.
    pub fn cash_move(&mut self, kind: CashKind, amount: Money, reason: &str) -> Result<()> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::InvalidInput(
                "say why the cash goes in or out".into(),
            ));
        }
        if amount.is_zero() || amount.is_negative() {
            return Err(Error::InvalidInput(
                "the amount must be more than zero".into(),
            ));
        }
        let actor = self.actor()?;
        let event = self.open_event_id()?.ok_or(Error::NoEventOpen)?;
        let (id, at) = (self.new_uuid(), self.tick());
        let kind = match kind {
            CashKind::In => "in",
            CashKind::Out => "out",
        };
        self.db.write(|tx| {
            insert_cash(tx, id, &event, kind, amount.minor(), reason, &actor, at)?;
            crate::shop::save_hlc(tx, at)
        })
    }

    /// The stocktake of the open event: each counted variant against what the till expects
    /// (free + held); every difference is corrected on this till's own counter (a count
    /// correction, needing a manager and a reason) and recorded as a variance.
    pub fn stocktake(
        &mut self,
        counts: &[CountLine],
        approval: Option<&Approval>,
    ) -> Result<Vec<Variance>> {
        let actor = self.actor()?;
        let event = self.open_event_id()?.ok_or(Error::NoEventOpen)?;
        let holding = self.holding()?;
        let currency = self.shop.currency;
        let mut planned: Vec<(VariantId, Variance)> = Vec::new();
        for c in counts {
            if c.counted < 0 {
                return Err(Error::InvalidInput(format!(
                    "the count of {} cannot be negative",
                    c.item
                )));
            }
            let item = resolve(self.db.conn(), currency, &c.item)?;
            let id = item.variant_id.to_string();
            let Some(h) = holding.iter().find(|h| h.variant_id == id) else {
                return Err(Error::InvalidInput(format!(
                    "{} is not stock this till holds",
                    item.title
                )));
            };
            let delta = c.counted - (h.free + h.held);
            if delta != 0 && c.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Err(Error::InvalidInput(format!(
                    "say why the count of {} differs ({} expected, {} counted)",
                    h.title,
                    h.free + h.held,
                    c.counted
                )));
            }
            planned.push((
                item.variant_id,
                Variance {
                    variant_id: id,
                    title: h.title.clone(),
                    expected: h.free + h.held,
                    counted: c.counted,
                    delta,
                    reason: c.reason.as_ref().map(|r| r.trim().to_string()),
                },
            ));
        }
        let corrections = planned.iter().any(|(_, v)| v.delta != 0);
        let approver = if corrections {
            Some(self.approve(&actor, approval, "count corrections")?)
        } else {
            None
        };
        let ids: Vec<Uuid> = planned.iter().map(|_| self.new_uuid()).collect();
        let at = self.tick();
        self.write_with_replica(&format!("stocktake:{event}"), |tx, replica| {
            for ((variant, v), id) in planned.iter().zip(&ids) {
                if let (true, Some(approver)) = (v.delta != 0, &approver) {
                    let detail = format!(
                        "{}: {} expected, {} counted",
                        v.title, v.expected, v.counted
                    );
                    let c = Correction {
                        id: CountId(*id),
                        variant: *variant,
                        delta: v.delta,
                        reason: v.reason.as_deref().unwrap_or_default(),
                        detail: &detail,
                    };
                    let granted = Granted {
                        actor: &actor,
                        approver,
                        at,
                    };
                    write_correction(tx, replica, &c, &granted)?;
                }
                tx.execute(
                    "INSERT INTO stock_counts (id, event_id, variant_id, expected, counted, delta,
                                               reason, staff, approved_by, hlc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        id.to_string(),
                        event,
                        v.variant_id,
                        v.expected,
                        v.counted,
                        v.delta,
                        v.reason,
                        actor.stamp(),
                        approver.as_ref().and_then(|a| a.0.clone()),
                        at.encode()
                    ],
                )?;
            }
            crate::shop::save_hlc(tx, at)?;
            Ok(())
        })?;
        Ok(planned.into_iter().map(|(_, v)| v).collect())
    }

    /// An X report of the open event: the running totals, closing nothing.
    pub fn x_report(&mut self) -> Result<ZReport> {
        let event = self.open_event_id()?.ok_or(Error::NoEventOpen)?;
        let holding = self.holding()?;
        report::build(
            self.db.conn(),
            &self.shop,
            &self.replica.replica,
            &event,
            &holding,
            None,
        )
    }

    /// The Z report of an event closed on this till, as stored at its close.
    pub fn z_report(&self, event: &str) -> Result<ZReport> {
        let stored: Option<Option<String>> = self
            .db
            .conn()
            .query_row(
                "SELECT z_report FROM till_events WHERE event_id = ?1 OR lower(name) = lower(?1)",
                [event.trim()],
                |r| r.get(0),
            )
            .optional()?;
        match stored {
            None => Err(Error::UnknownEvent(event.to_string())),
            Some(None) => Err(Error::InvalidInput(format!(
                "the event {event} is still open; take an X report, or close it first"
            ))),
            Some(Some(json)) => serde_json::from_str(&json)
                .map_err(|e| Error::Corrupt(format!("a stored Z report is unreadable: {e}"))),
        }
    }

    /// Closes the open event: the counted cash against what is expected, the Z report, and the
    /// unsold free holding returned to the hub in one transfer (applied at the hub whenever the
    /// till next syncs). Reserved units still to be picked up stay with the till. Afterwards the
    /// event takes no new sales on this till.
    pub fn close_event(&mut self, counted_cash: Money) -> Result<ZReport> {
        if counted_cash.is_negative() {
            return Err(Error::InvalidInput(
                "the counted cash cannot be negative".into(),
            ));
        }
        let actor = self.actor()?;
        let event = self.open_event_id()?.ok_or(Error::NoEventOpen)?;
        let holding = self.holding()?;
        let transfer = TransferId(self.new_uuid());
        let at = self.tick();
        let shop = self.shop.clone();
        let returned: Vec<(VariantId, Qty)> = holding
            .iter()
            .filter(|h| h.free > 0)
            .filter_map(|h| {
                let v = VariantId::parse(&h.variant_id).ok()?;
                Some((v, Qty::new(u32::try_from(h.free).ok()?).ok()?))
            })
            .collect();
        self.forget_context();
        self.write_with_replica(&format!("close:{event}"), |tx, replica| {
            snapshot_stock(tx, &event, "close", &holding)?;
            if !returned.is_empty() {
                replica.transfer(transfer, Holder::Hub, &returned)?;
                let reference = transfer.0.to_string();
                for (v, q) in &returned {
                    insert_movement(tx, *v, -i64::from(q.get()), "return", &reference, at)?;
                }
            }
            let mut z = report::build(
                tx,
                &shop,
                replica,
                &event,
                &holding,
                Some(counted_cash.minor()),
            )?;
            z.closed_by = actor.stamp().or_else(|| Some("owner".into()));
            z.returned = returned
                .iter()
                .map(|(v, q)| (v.to_string(), i64::from(q.get())))
                .collect();
            let json = serde_json::to_string(&z)
                .map_err(|e| Error::Corrupt(format!("the Z report could not be encoded: {e}")))?;
            tx.execute(
                "UPDATE till_events SET status = 'closed', closed_hlc = ?2, closed_by = ?3,
                        expected_cash_minor = ?4, counted_cash_minor = ?5, return_transfer = ?6,
                        z_report = ?7
                 WHERE event_id = ?1",
                params![
                    event,
                    at.encode(),
                    actor.stamp(),
                    z.cash.expected_minor,
                    counted_cash.minor(),
                    (!returned.is_empty()).then(|| transfer.0.to_string()),
                    json
                ],
            )?;
            crate::shop::save_hlc(tx, at)?;
            Ok(z)
        })
    }
}

fn holding_of(conn: &rusqlite::Connection, replica: &mut ShopReplica) -> Result<Vec<Holding>> {
    let me = replica.holder();
    let mut st = conn.prepare(
        "SELECT id, sku, title FROM variants WHERE track_inventory = 1 ORDER BY title, id",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = Vec::new();
    for (id, sku, title) in rows {
        let v = VariantId::parse(&id)
            .map_err(|_| Error::Corrupt("a variant id is unreadable".into()))?;
        let level = replica
            .stock_of(v)
            .ok()
            .and_then(|ls| ls.into_iter().find(|l| l.holder == me));
        if let Some(l) = level {
            if l.free != 0 || l.held != 0 {
                out.push(Holding {
                    variant_id: id,
                    sku,
                    title,
                    free: l.free,
                    held: l.held,
                });
            }
        }
    }
    Ok(out)
}

fn snapshot_stock(
    tx: &Transaction<'_>,
    event: &str,
    phase: &str,
    holding: &[Holding],
) -> Result<()> {
    for h in holding {
        tx.prepare_cached(
            "INSERT INTO event_stock (event_id, phase, variant_id, free, held) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (event_id, phase, variant_id) DO UPDATE SET free = ?4, held = ?5",
        )?
        .execute(params![event, phase, h.variant_id, h.free, h.held])?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn insert_cash(
    tx: &Transaction<'_>,
    id: Uuid,
    event: &str,
    kind: &str,
    amount_minor: i64,
    reason: &str,
    actor: &Actor,
    at: trestle_core::clock::Hlc,
) -> Result<()> {
    tx.execute(
        "INSERT INTO cash_movements (id, event_id, kind, amount_minor, reason, staff, hlc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id.to_string(),
            event,
            kind,
            amount_minor,
            reason,
            actor.stamp(),
            at.encode()
        ],
    )?;
    Ok(())
}
