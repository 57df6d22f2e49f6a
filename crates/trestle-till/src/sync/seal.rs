//! Sealing what a pass sends (docs/sync.md, "Folding before sending"): before any of this
//! till's Automerge changes leave it, the ones that never left it — its own, outside
//! `sync_state.sent_heads` — are folded into at most two (`ShopReplica::fold_unsent`), the
//! folded document is stored whole, and the heads about to be sent are recorded as sent, all in
//! ONE transaction committed before a byte goes out. So a day's 5,000 sale changes leave as
//! one, and a change that may already be at the hub (sent, its answer lost) is never folded
//! again under a new hash, which would count it twice.

use rusqlite::OptionalExtension;
use trestle_replica::Fold;

use crate::error::Result;
use crate::replica::{load, write_snapshot};
use crate::till::Till;

impl Till {
    /// Seals the replica for sending (module docs); `fold` false only records the heads (inside
    /// an Automerge session, whose state already describes the document). The caller builds the
    /// bytes from the in-memory replica straight after, taking in nothing in between.
    pub(super) fn seal(&mut self, fold: bool) -> Result<()> {
        self.refresh()?;
        let heads = self.replica.replica.head_bytes();
        if read_sent(self.db.conn())?.as_deref() == Some(heads.as_slice()) {
            return Ok(());
        }
        let store = &mut self.replica;
        let outcome = self.db.write(|tx| {
            store.catch_up(tx)?;
            let mut folded = None;
            if let (true, Some(sent)) = (fold, read_sent(tx)?) {
                match store.replica.fold_unsent_heads(&sent)? {
                    Fold::Folded { changes, sales } => {
                        write_snapshot(tx, store)?;
                        folded = Some((changes, sales));
                    }
                    Fold::Kept(why) => tracing::debug!(why, "unsent changes go as they are"),
                    Fold::Nothing => {}
                }
            }
            record_sent(tx, &store.replica.head_bytes())?;
            Ok(folded)
        });
        match outcome {
            Ok(Some((changes, sales))) => {
                tracing::info!(changes, sales, "unsent changes folded before sending");
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => {
                // The fold may have replaced the in-memory document: back to what is stored.
                if let Some(fresh) = load(self.db.conn(), self.shop.till_id)? {
                    self.replica = fresh;
                }
                Err(e)
            }
        }
    }
}

/// Records `heads` as sent (pairing, a new epoch: the document just came from the hub), inside
/// the caller's transaction.
pub(crate) fn record_sent(tx: &rusqlite::Connection, heads: &[[u8; 32]]) -> Result<()> {
    tx.execute(
        "UPDATE sync_state SET sent_heads = ?1 WHERE id = 1",
        [heads.concat()],
    )?;
    Ok(())
}

/// The heads last recorded as sent; `None` before the first.
fn read_sent(conn: &rusqlite::Connection) -> Result<Option<Vec<[u8; 32]>>> {
    stored_heads(conn, "sent_heads")
}

/// A heads column of `sync_state` (`hub_heads` or `sent_heads`: concatenated 32-byte hashes);
/// `None` while it is NULL.
pub(super) fn stored_heads(
    conn: &rusqlite::Connection,
    column: &'static str,
) -> Result<Option<Vec<[u8; 32]>>> {
    let blob: Option<Vec<u8>> = conn
        .query_row(
            &format!("SELECT {column} FROM sync_state WHERE id = 1"),
            [],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(blob.map(|b| {
        b.chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect()
    }))
}
