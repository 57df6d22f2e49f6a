//! Sealing what a pass sends (docs/sync.md, "Folding before sending"): before any of this
//! till's Automerge changes leave it, the ones that never left it — its own, outside
//! `sync_state.sent_heads` — are folded into at most two (`ShopReplica::fold_unsent`), the
//! folded document is stored whole, and the heads about to be sent are recorded as sent, all in
//! ONE transaction committed before a byte goes out. So a day's 5,000 sale changes leave as
//! one, and a change that may already be at the hub (sent, its answer lost) is never folded
//! again under a new hash, which would count it twice. A bulk exchange also reads its outbox
//! entries in that transaction and encodes them on a second thread while the fold runs
//! ([`Outgoing`]).

use rusqlite::OptionalExtension;
use trestle_protocol::exchange::ExchangeRequest;
use trestle_replica::Fold;

use super::{pending_in, Pending};
use crate::error::Result;
use crate::replica::{load, write_snapshot, ReplicaStore};
use crate::till::Till;

/// What a bulk exchange sends besides the document: the pending outbox entries, read in the
/// seal's transaction (exactly those whose changes the sealed document holds, and no others),
/// and their columns, encoded on a second thread while the fold runs (`None`: an entry is not an
/// envelope's text; the caller parses them all).
pub(super) struct Outgoing {
    pub batch: Vec<Pending>,
    pub columns: Option<Vec<u8>>,
}

/// Fewer pending entries than this are encoded on the sealing thread (a thread costs more).
const ENCODE_APART_FROM: usize = 256;

impl Till {
    /// Seals the replica for sending (module docs); `fold` false only records the heads (inside
    /// an Automerge session, whose state already describes the document). The caller builds the
    /// bytes from the in-memory replica straight after, taking in nothing in between.
    pub(super) fn seal(&mut self, fold: bool) -> Result<()> {
        self.seal_reading(fold, None).map(|_| ())
    }

    /// [`Till::seal`] with a fold, also reading and encoding the first `limit` pending outbox
    /// entries ([`Outgoing`]).
    pub(super) fn seal_for_exchange(&mut self, limit: usize) -> Result<Outgoing> {
        match self.seal_reading(true, Some(limit))? {
            Some(out) => Ok(out),
            // Nothing new to seal: the entries are read as they stand.
            None => Ok(encoded(pending_in(self.db.conn(), limit)?)),
        }
    }

    /// The seal, reading the outbox inside its transaction when `read` gives a limit; `None`
    /// when there was nothing to seal (the heads were recorded as sent already).
    fn seal_reading(&mut self, fold: bool, read: Option<usize>) -> Result<Option<Outgoing>> {
        self.refresh()?;
        let heads = self.replica.replica.head_bytes();
        if read_sent(self.db.conn())?.as_deref() == Some(heads.as_slice()) {
            return Ok(None);
        }
        let store = &mut self.replica;
        let outcome = self.db.write(|tx| {
            store.catch_up(tx)?;
            let batch = read.map(|limit| pending_in(tx, limit)).transpose()?;
            let (sealed, columns) = std::thread::scope(|s| {
                let apart = batch
                    .as_ref()
                    .filter(|b| b.len() >= ENCODE_APART_FROM)
                    .map(|b| s.spawn(move || columns_of(b)));
                let sealed = fold_and_record(tx, store, fold);
                // Joined on every path (a panic while encoding leaves the entries to the typed
                // path instead of unwinding through the scope).
                (sealed, apart.map(|h| h.join().unwrap_or(None)))
            });
            // Encoded apart (`None` inside: not envelopes, or the thread panicked), or here.
            let out = batch.map(|batch| match columns {
                Some(columns) => Outgoing { batch, columns },
                None => encoded(batch),
            });
            Ok((sealed?, out))
        });
        match outcome {
            Ok((folded, out)) => {
                if let Some((changes, sales, noted)) = folded {
                    tracing::info!(
                        changes,
                        sales,
                        noted,
                        "unsent changes folded before sending"
                    );
                }
                Ok(out)
            }
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

/// The fold (when `fold`) and the heads recorded as sent, inside the seal's transaction; the
/// fold's changes and sales, and whether the sales were summed from their notes, when it folded.
fn fold_and_record(
    tx: &rusqlite::Transaction<'_>,
    store: &mut ReplicaStore,
    fold: bool,
) -> Result<Option<(usize, usize, bool)>> {
    let mut folded = None;
    if let (true, Some(sent)) = (fold, read_sent(tx)?) {
        match store.replica.fold_unsent_heads(&sent)? {
            Fold::Folded {
                changes,
                sales,
                noted,
            } => {
                write_snapshot(tx, store)?;
                folded = Some((changes, sales, noted));
            }
            Fold::Kept(why) => tracing::debug!(why, "unsent changes go as they are"),
            Fold::Nothing => {}
        }
    }
    record_sent(tx, &store.replica.head_bytes())?;
    Ok(folded)
}

/// The columns of entries as stored (`None` if one is not an envelope's text).
fn columns_of(batch: &[Pending]) -> Option<Vec<u8>> {
    let stored: Vec<&str> = batch.iter().map(|p| p.payload.as_str()).collect();
    ExchangeRequest::stored_columns(&stored)
}

/// `batch` with its columns encoded here.
fn encoded(batch: Vec<Pending>) -> Outgoing {
    let columns = columns_of(&batch);
    Outgoing { batch, columns }
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
