//! What the holder of a pickup decides on its own: expiries (by the expiry clock: its hybrid
//! clock, corrected by how far its wall clock was found ahead of the hub's at the last sync)
//! and hand-overs other tills made of its pickups. Run after each sync pass's feed (whose cancellation requests `sync::feed` carries
//! out), and expiries whenever today's list is read.

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

    /// After a sync pass's feed: measures the clock against the hub's, takes in or refuses other
    /// tills' hand-overs, releases expired holds.
    pub(crate) fn reconcile_pickups(&mut self, hub: &HubClient) -> Result<PickupsReconciled> {
        self.measure_clock(hub);
        let mut done = PickupsReconciled::default();
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
}
