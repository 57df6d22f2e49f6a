//! Epochs of the shop document at the hub, its creator: starting a new epoch (the closed
//! document archived whole, the new one's genesis holding the current values), and carrying a
//! late till's changes of the closed epoch into the new one — merged into the archive, then
//! carried as one `carry:` change, idempotently (docs/replica.md, "Epochs").

use rusqlite::{params, OptionalExtension};
use trestle_core::ids::TillId;
use trestle_replica::{Holder, ShopReplica};
use uuid::Uuid;

use super::sync::NewConflict;
use super::{store, Ctx};
use crate::error::{HubError, Result};

impl Ctx<'_> {
    /// The epoch of the hub's shop document.
    pub fn epoch(&self) -> u64 {
        self.st.replica.epoch()
    }

    /// Starts the next epoch: archives the current document, makes the new epoch's genesis the
    /// snapshot, and forgets every sync session (they were about the old document).
    pub fn start_epoch(&mut self) -> Result<u64> {
        // What this batch changed so far is in the document being archived.
        store::persist_replica(self.tx, self.st)?;
        let (mut next, archive) = self.st.replica.rebase()?;
        let heads: Vec<String> = archive.heads.iter().map(|h| h.to_string()).collect();
        self.tx.execute(
            "INSERT INTO replica_archive (epoch, heads, bytes) VALUES (?1, ?2, ?3)",
            params![
                i64::try_from(archive.epoch).map_err(HubError::internal)?,
                serde_json::to_string(&heads)?,
                archive.bytes
            ],
        )?;
        let bytes = next.save();
        self.tx.execute(
            "INSERT OR REPLACE INTO replica_snapshot (id, bytes) VALUES (1, ?1)",
            [bytes],
        )?;
        self.tx.execute("DELETE FROM replica_changes", [])?;
        self.st.replica = next;
        self.st.changes = 0;
        self.st.sync.clear();
        self.st.free_at = (Vec::new(), Default::default());
        store::refresh(self.st)?;
        let epoch = self.st.replica.epoch();
        tracing::info!(shop = %self.st.shop.id, epoch, "new epoch of the shop document");
        Ok(epoch)
    }

    /// A till that kept working in the previous epoch sends its document of that epoch: its
    /// changes are merged into the archive (conflicts recorded) and carried into the current
    /// epoch once. Returns the archive as it is now, for the till to merge before it adopts.
    pub fn carry(&mut self, device: Uuid, bytes: Vec<u8>) -> Result<Vec<u8>> {
        let current = self.st.replica.epoch();
        let theirs = ShopReplica::epoch_of(&bytes)?;
        if current == 0 || theirs + 1 != current {
            return Err(HubError::Conflict {
                code: "sync.epoch_mismatch",
                message: format!(
                    "this hub is in epoch {current}; only a document of epoch {} can be carried into it",
                    current.saturating_sub(1)
                ),
                details: None,
            });
        }
        let key = i64::try_from(theirs).map_err(HubError::internal)?;
        let stored: Option<Vec<u8>> = self
            .tx
            .query_row(
                "SELECT bytes FROM replica_archive WHERE epoch = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?;
        let stored =
            stored.ok_or_else(|| HubError::internal("the closed epoch is not archived"))?;
        let mut archive = ShopReplica::open_archive(Holder::Hub, &stored)?;
        let report = archive.merge_bytes(&bytes)?;
        for c in &report.conflicts {
            self.record_conflict(NewConflict::from(c))?;
        }
        let till = Holder::Till(TillId(device));
        let before = self.st.replica.heads();
        if self.st.replica.carry_over(&mut archive, till)?.is_some() {
            for (v, _) in trestle_replica::invariants::touched_cells(&mut self.st.replica, &before)?
            {
                self.st.touched.insert(v);
            }
            store::refresh(self.st)?;
        }
        let merged = archive.save();
        if report.heads_changed {
            self.tx.execute(
                "UPDATE replica_archive SET bytes = ?1 WHERE epoch = ?2",
                params![merged, key],
            )?;
        }
        Ok(merged)
    }
}
