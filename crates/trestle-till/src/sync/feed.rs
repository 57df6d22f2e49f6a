//! Acting on the hub's feed for this till, each entry once: the entry's effect and its
//! `applied_ms` mark are written in ONE transaction, so an entry received or applied again
//! changes nothing. What the hub asks a holder to do — give units back, cancel a pickup it
//! holds — the till does here (only a holder changes its own counters and reservations); what
//! the hub tells it — allocations, reservations handed over, event and catalog changes — has
//! already arrived with the shop document, so those entries are only marked as seen.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trestle_core::catalog::Qty;
use trestle_core::ids::{uuid_v5, VariantId};
use trestle_replica::ids::{ReservationId, TransferId};
use trestle_replica::{Holder, ShopReplica};
use uuid::Uuid;

use crate::catalog::fill_from_replica;
use crate::error::{Error, Result};
use crate::ledger::insert_movement;
use crate::till::Till;

/// One stored feed entry and what the till did about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedItem {
    pub seq: i64,
    pub kind: String,
    pub at: String,
    pub body: Value,
    /// When the till acted on it (Unix ms); `None` while it waits.
    pub applied_ms: Option<i64>,
    /// What the till did, in a sentence.
    pub outcome: Option<String>,
}

#[derive(Deserialize)]
struct ReturnBody {
    id: Uuid,
    #[serde(default)]
    lines: Option<Vec<LineBody>>,
}

#[derive(Deserialize)]
struct LineBody {
    variant_id: Uuid,
    qty: u32,
}

#[derive(Deserialize)]
struct CancelBody {
    reservation_id: Uuid,
    #[serde(default)]
    code: Option<String>,
    /// Sent when a person resolved a collect/cancel race with `refund`: cancel what is left of
    /// a partly collected pickup. Without it a partly collected pickup is never cancelled.
    #[serde(default)]
    rest: bool,
}

/// What [`Till::apply_feed`] did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Applied {
    pub entries: usize,
    /// Entries that changed the replica (so there is something new to send to the hub).
    pub changed: usize,
}

impl Till {
    /// The feed entries received from the hub, oldest first (`pending`: only those not acted on).
    pub fn feed(&self, pending: bool) -> Result<Vec<FeedItem>> {
        let mut st = self.db.conn().prepare(
            "SELECT seq, kind, at, body, applied_ms, outcome FROM hub_feed
             WHERE (?1 = 0 OR applied_ms IS NULL) ORDER BY seq",
        )?;
        let rows = st
            .query_map([i64::from(pending)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .map(|(seq, kind, at, body, applied_ms, outcome)| FeedItem {
                seq,
                kind,
                at,
                body: serde_json::from_str(&body).unwrap_or(Value::Null),
                applied_ms,
                outcome,
            })
            .collect())
    }

    /// Acts on every stored entry not yet applied, in the hub's order, each in its own
    /// transaction together with its mark.
    pub(crate) fn apply_feed(&mut self) -> Result<Applied> {
        let mut done = Applied::default();
        self.refresh()?;
        for item in self.feed(true)? {
            match self.apply_one(&item) {
                Ok(changed) => {
                    done.entries += 1;
                    done.changed += usize::from(changed);
                }
                // The stock moved under the request (a sale a moment ago): it stays waiting and
                // is worked out afresh at the next pass.
                Err(e @ (Error::OutOfStock { .. } | Error::Replica(_))) => {
                    tracing::warn!(seq = item.seq, error = %e, "feed entry left for the next pass");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn apply_one(&mut self, item: &FeedItem) -> Result<bool> {
        let now = i64::try_from(self.now_ms()).unwrap_or(i64::MAX);
        let seq = item.seq;
        let mark = move |tx: &rusqlite::Transaction<'_>, outcome: &str| -> Result<()> {
            tx.execute(
                "UPDATE hub_feed SET applied_ms = ?1, outcome = ?2 WHERE seq = ?3 AND applied_ms IS NULL",
                params![now, outcome, seq],
            )?;
            Ok(())
        };
        let unreadable =
            |what: &str| format!("the hub's {what} could not be read; nothing was done");
        match item.kind.as_str() {
            "return.requested" => {
                let Ok(req) = serde_json::from_value::<ReturnBody>(item.body.clone()) else {
                    self.db
                        .write(|tx| mark(tx, &unreadable("return request")))?;
                    return Ok(false);
                };
                let lines = self.returnable(&req)?;
                if lines.is_empty() {
                    self.db.write(|tx| {
                        mark(
                            tx,
                            "asked to give stock back, but this till holds none of it",
                        )
                    })?;
                    return Ok(false);
                }
                let units: i64 = lines.iter().map(|(_, q)| i64::from(q.get())).sum();
                let at = self.tick();
                let cause = format!("return:{}", req.id);
                let transfer = TransferId(uuid_v5(&cause));
                let outcome = format!("gave {units} units back to the hub");
                self.write_with_replica(&cause, |tx, replica| {
                    replica.transfer(transfer, Holder::Hub, &lines)?;
                    for (v, q) in &lines {
                        insert_movement(
                            tx,
                            *v,
                            -i64::from(q.get()),
                            "return",
                            &req.id.to_string(),
                            at,
                        )?;
                    }
                    fill_from_replica(tx, replica)?;
                    mark(tx, &outcome)
                })?;
                tracing::info!(request = %req.id, units, "stock given back to the hub");
                Ok(true)
            }
            "reservation.cancel_requested" => {
                let Ok(req) = serde_json::from_value::<CancelBody>(item.body.clone()) else {
                    self.db
                        .write(|tx| mark(tx, &unreadable("cancellation request")))?;
                    return Ok(false);
                };
                let id = ReservationId(req.reservation_id);
                let code = req.code.unwrap_or_else(|| req.reservation_id.to_string());
                let me = self.replica.holder();
                let view = self.replica.replica.reservation(id)?;
                let outcome = match view {
                    None => Some(format!("pickup {code} is not known here")),
                    Some(r) if r.holder != me => Some(format!(
                        "pickup {code} is held by {}, not this till",
                        r.holder
                    )),
                    Some(r)
                        if !matches!(
                            r.status.as_str(),
                            "held" | "ready" | "partially_collected"
                        ) =>
                    {
                        Some(format!(
                            "pickup {code} was already {} here; the hub records the conflict",
                            r.status
                        ))
                    }
                    // Part of it left with the customer: cancelling the rest is a person's
                    // decision (the race's `refund`), never done silently here.
                    Some(r) if r.status == "partially_collected" && !req.rest => Some(format!(
                        "pickup {code} was partly handed over here, so it stays open for the rest; \
                         the hub records the conflict (refund or keep)"
                    )),
                    Some(_) => None,
                };
                if let Some(o) = outcome {
                    self.db.write(|tx| mark(tx, &o))?;
                    return Ok(false);
                }
                let outcome =
                    format!("cancelled pickup {code} as the hub asked; its units are free again");
                self.write_with_replica(&format!("cancel:{}", id.0), |tx, replica| {
                    replica.cancel(id)?;
                    fill_from_replica(tx, replica)?;
                    mark(tx, &outcome)
                })?;
                tracing::info!(reservation = %id.0, "pickup cancelled at the hub's request");
                Ok(true)
            }
            kind => {
                let outcome = match kind {
                    "transfer.received" => {
                        "stock allocated to this till (arrived with the shop document)"
                    }
                    "reservation.assigned" => {
                        "a pickup handed to this till (arrived with the shop document)"
                    }
                    "event.updated" => "the event changed (arrived with the shop document)",
                    "catalog.updated" => "the catalog changed (arrived with the shop document)",
                    _ => "not something this version of the till acts on",
                };
                self.db.write(|tx| mark(tx, outcome))?;
                Ok(false)
            }
        }
    }

    /// The units a return request asks for that this till has free: each line up to this
    /// till's `free`, or (no lines) everything it has free.
    fn returnable(&self, req: &ReturnBody) -> Result<Vec<(VariantId, Qty)>> {
        let replica: &ShopReplica = &self.replica.replica;
        let me = replica.holder();
        let free_of = |v: VariantId| -> Result<i64> {
            Ok(replica
                .stock_of(v)?
                .iter()
                .find(|l| l.holder == me)
                .map_or(0, |l| l.free))
        };
        let mut wanted: BTreeMap<VariantId, i64> = BTreeMap::new();
        match &req.lines {
            Some(lines) => {
                for l in lines {
                    *wanted.entry(VariantId(l.variant_id)).or_insert(0) += i64::from(l.qty);
                }
            }
            None => {
                for level in replica.levels()? {
                    wanted.insert(level.variant, i64::MAX);
                }
            }
        }
        let mut out = Vec::new();
        for (v, n) in wanted {
            let give = n.min(free_of(v)?);
            if give > 0 {
                let q = u32::try_from(give.min(100_000))
                    .map_err(|_| Error::Corrupt("a stock count is out of range".into()))?;
                out.push((v, Qty::new(q)?));
            }
        }
        Ok(out)
    }
}
