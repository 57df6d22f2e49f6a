//! Adopting the hub's new epoch of the shop document (docs/replica.md, "Epochs"): when the hub
//! has started a new epoch, the till fetches it and moves to it only once every change it made
//! in the old one is counted there — if not, it first sends its old-epoch document to be
//! carried (`POST /v1/sync/carry`) and merges the hub's archive back. The switch is ONE
//! transaction: the old document goes whole to `replica_archive` (the audit still counts its
//! sales), the new one becomes the snapshot, the catalog tables follow. Nothing unsynced is
//! lost: the outbox does not depend on epochs, and the replica's late changes were carried.

use trestle_replica::ShopReplica;

use super::client::{HubClient, ATTEMPTS};
use crate::catalog::fill_from_replica;
use crate::error::{Error, Result};
use crate::replica::{fresh_store, insert_archive};
use crate::till::Till;

/// Attempts to move before giving up for this pass (a sale landing in between makes one retry).
const ATTEMPTS_TO_MOVE: usize = 3;

impl Till {
    /// Moves this till to the hub's current epoch; returns the new epoch number.
    pub(crate) fn adopt_hub_epoch(&mut self, hub: &HubClient) -> Result<u64> {
        for _ in 0..ATTEMPTS_TO_MOVE {
            self.refresh()?;
            let next = match self.try_adopt(hub)? {
                Some(next) => next,
                None => {
                    self.carry(hub)?;
                    self.try_adopt(hub)?.ok_or_else(|| {
                        Error::HubAnswer(
                            "the hub's new epoch still lacks this till's changes after carrying them"
                                .into(),
                        )
                    })?
                }
            };
            let checked = hex_heads(&mut self.replica.replica);
            if let Some(n) = self.switch_to(next, &checked)? {
                return Ok(n);
            }
        }
        Err(Error::HubAnswer(
            "the till kept changing while it moved to the hub's new epoch; sync again".into(),
        ))
    }

    /// Our late changes are not in the new epoch yet: have them carried, and take in the archive
    /// as the hub has it now (other tills' late changes included).
    fn carry(&mut self, hub: &HubClient) -> Result<()> {
        // The whole document goes: all of it counts as sent from now on.
        self.seal(false)?;
        let ours = self.replica.replica.save_copy();
        let archive = hub
            .send("/v1/sync/carry", ATTEMPTS, |c, u| {
                c.post(u)
                    .header("content-type", "application/octet-stream")
                    .body(ours.clone())
            })?
            .body;
        let cause = format!("epoch:{}:archive", self.replica.replica.epoch());
        self.write_with_replica(&cause, |tx, replica| {
            replica
                .merge_bytes(&archive)
                .map_err(|e| Error::HubAnswer(format!("the hub's archive does not merge: {e}")))?;
            fill_from_replica(tx, replica)?;
            Ok(())
        })
    }

    /// The hub's current document, if this till can adopt it as it is.
    fn try_adopt(&mut self, hub: &HubClient) -> Result<Option<ShopReplica>> {
        let bytes = hub
            .send("/v1/sync/snapshot", ATTEMPTS, |c, u| c.get(u))?
            .body;
        match self.replica.replica.adopt_epoch(&bytes) {
            Ok(next) => Ok(Some(next)),
            Err(trestle_replica::Error::CarryPending { .. }) => Ok(None),
            Err(e) => Err(Error::HubAnswer(format!(
                "the hub's new epoch cannot be adopted: {e}"
            ))),
        }
    }

    /// In one transaction: the old document (as `checked` by the adoption) archived, `next` the
    /// snapshot. `None` when another connection changed the old document since the check (its
    /// change would not be counted in `next`): nothing is written, and the caller checks again.
    fn switch_to(&mut self, mut next: ShopReplica, checked: &[String]) -> Result<Option<u64>> {
        let number = next.epoch();
        let bytes = next.save();
        let next_heads = next.head_bytes();
        let store = &mut self.replica;
        let moved = self.db.write(|tx| {
            store.catch_up(tx)?;
            let old = &mut store.replica;
            let heads = hex_heads(old);
            if heads != checked {
                return Ok(None);
            }
            insert_archive(tx, old.shop(), old.epoch(), &heads, &old.save_copy())?;
            tx.execute(
                "UPDATE replica_snapshot SET epoch = ?1, actions = 0, bytes = ?2 WHERE id = 1",
                rusqlite::params![i64::try_from(number).unwrap_or(i64::MAX), bytes],
            )?;
            tx.execute("DELETE FROM replica_changes", [])?;
            fill_from_replica(tx, &next)?;
            // The new epoch came from the hub: all of it is there.
            super::seal::record_sent(tx, &next_heads)?;
            Ok(Some(fresh_store(tx, next)?))
        })?;
        let Some(fresh) = moved else {
            return Ok(None);
        };
        self.replica = fresh;
        tracing::info!(epoch = number, "moved to the hub's new epoch");
        Ok(Some(number))
    }
}

fn hex_heads(r: &mut ShopReplica) -> Vec<String> {
    r.heads().iter().map(|h| h.to_string()).collect()
}
