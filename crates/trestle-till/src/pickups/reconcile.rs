//! What the holder of a pickup decides on its own: expiries (by the expiry clock: its hybrid
//! clock, corrected by how far its wall clock was found ahead of the hub's at the last sync),
//! cancellation requests the hub's feed brought, and hand-overs other tills made of its
//! pickups. Run after each sync pass's feed, and expiries whenever today's list is read.

use trestle_core::reservation::{expiry_clock, is_due, ReservationStatus};
use trestle_replica::ids::ReservationId;
use uuid::Uuid;

use crate::error::Result;
use crate::shop::save_hlc;
use crate::sync::client::HubClient;
use crate::till::Till;

/// What reconciling did, for the sync summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PickupsReconciled {
    /// Pickups cancelled on the hub's request.
    pub cancelled: usize,
    /// Other tills' hand-overs taken in.
    pub taken_in: usize,
    /// Other tills' hand-overs refused: handed over twice (a conflict at the hub).
    pub refused: usize,
    /// Holds released because they expired.
    pub expired: usize,
}

impl Till {
    /// How far this till's wall clock was found ahead of the hub's at the last sync, ms.
    pub fn clock_ahead_of_hub_ms(&self) -> Result<u64> {
        let n: i64 = self.db.conn().query_row(
            "SELECT ahead_of_hub_ms FROM pickup_state WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The time expiries are decided by (see `trestle_core::reservation`).
    pub fn expiry_now(&self) -> u64 {
        let ahead = self.clock_ahead_of_hub_ms().unwrap_or(0);
        let wall = self.now_ms();
        expiry_clock(
            self.hlc.last().max(trestle_core::clock::Hlc {
                wall_ms: wall,
                counter: 0,
            }),
            wall,
            ahead,
        )
    }

    /// Releases every hold of this till whose expiry passed by the expiry clock; each in its own
    /// transaction. Returns the ids released.
    pub fn release_expired(&mut self) -> Result<Vec<Uuid>> {
        let now = self.expiry_now();
        let me = self.replica.holder();
        let due: Vec<ReservationId> = self
            .replica()
            .reservations()?
            .into_iter()
            .filter(|r| {
                r.holder == me
                    && is_due(r.details.expires_at, now)
                    && ReservationStatus::parse(&r.status).is_ok_and(|s| s.after_expiry().is_ok())
            })
            .map(|r| r.id)
            .collect();
        let mut out = Vec::new();
        for id in due {
            let at = self.tick();
            self.write_with_replica(&format!("expire:{id}"), |tx, replica| {
                replica.expire(id)?;
                save_hlc(tx, at)
            })?;
            tracing::info!(reservation = %id, "hold expired; its units are on sale again");
            out.push(id.0);
        }
        Ok(out)
    }

    /// After a sync pass's feed: measures the clock against the hub's, acts on cancellation
    /// requests, takes in or refuses other tills' hand-overs, releases expired holds. True when
    /// the replica changed (the caller then exchanges once more so the hub hears at once).
    pub(crate) fn reconcile_pickups(&mut self, hub: &HubClient) -> Result<PickupsReconciled> {
        self.measure_clock(hub);
        let mut done = PickupsReconciled {
            cancelled: self.cancel_requested()?,
            ..PickupsReconciled::default()
        };
        let at = self.tick();
        let settled = self.write_with_replica("settle", |tx, replica| {
            let s = replica.settle_handovers()?;
            save_hlc(tx, at)?;
            Ok(s)
        })?;
        for s in &settled {
            if s.accepted {
                done.taken_in += 1;
            } else {
                tracing::info!(reservation = %s.reservation, by = %s.by, "pickup handed over twice; the hub records the conflict");
                done.refused += 1;
            }
        }
        done.expired = self.release_expired()?.len();
        Ok(done)
    }

    /// The hub's clock from the `Date` of a cheap request: this till's clock ahead of it is
    /// stored (over-estimated by at most a second and the round trip: holds end late, never
    /// early). A failure keeps the last measure.
    fn measure_clock(&mut self, hub: &HubClient) {
        let Ok(answer) = hub.send("/healthz", 1, |c, u| c.get(u)) else {
            return;
        };
        let after = self.now_ms();
        let Some(hub_ms) = answer.date_ms else {
            return;
        };
        let ahead = after.saturating_sub(hub_ms);
        let stored = self.db.write(|tx| {
            tx.execute(
                "UPDATE pickup_state SET ahead_of_hub_ms = ?1, measured_ms = ?2 WHERE id = 1",
                rusqlite::params![
                    i64::try_from(ahead).unwrap_or(i64::MAX),
                    i64::try_from(after).unwrap_or(i64::MAX)
                ],
            )?;
            Ok(())
        });
        if let Err(e) = stored {
            tracing::warn!(error = %e, "the clock measure was not stored");
        }
    }

    /// Cancels, at the hub's request, pickups this till holds that nothing was handed over
    /// from. One handed over already stays as it is: the hub sees the hand-over and records the
    /// collect/cancel race as a conflict (refund or keep).
    fn cancel_requested(&mut self) -> Result<usize> {
        let after: i64 = self.db.conn().query_row(
            "SELECT feed_done FROM pickup_state WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        let rows: Vec<(i64, String)> = {
            let mut st = self.db.conn().prepare(
                "SELECT seq, body FROM hub_feed WHERE seq > ?1 AND kind = 'reservation.cancel_requested' ORDER BY seq",
            )?;
            let rows = st
                .query_map([after], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows
        };
        let last: i64 = self.db.conn().query_row(
            "SELECT COALESCE(MAX(seq), ?1) FROM hub_feed",
            [after],
            |r| r.get(0),
        )?;
        let me = self.replica.holder();
        let mut n = 0;
        for (_, body) in rows {
            let id = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|b| {
                    b["reservation_id"]
                        .as_str()
                        .and_then(|s| Uuid::parse_str(s).ok())
                });
            let Some(id) = id.map(ReservationId) else {
                tracing::warn!("a cancellation request without a reservation id was ignored");
                continue;
            };
            let Some(r) = self.replica().reservation(id)? else {
                continue;
            };
            let cancellable = r.holder == me
                && ReservationStatus::parse(&r.status).is_ok_and(|s| s.after_cancel().is_ok())
                && r.handovers.iter().all(|h| h.state == "refused");
            if !cancellable {
                continue;
            }
            let at = self.tick();
            self.write_with_replica(&format!("cancel:{id}"), |tx, replica| {
                replica.cancel(id)?;
                save_hlc(tx, at)
            })?;
            n += 1;
        }
        self.db.write(|tx| {
            tx.execute(
                "UPDATE pickup_state SET feed_done = ?1 WHERE id = 1",
                [last],
            )?;
            Ok(())
        })?;
        Ok(n)
    }
}
