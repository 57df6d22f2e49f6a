//! The bulk exchange of a pass (docs/sync.md "The bulk exchange"): the whole pending outbox, the
//! till's heads and the Automerge changes after the hub's last known heads (one bundle) go in one
//! zstd frame; the answer's acknowledgement, the hub's changes and its heads are applied in ONE
//! transaction. So a day of sales reconciles in one round trip instead of batches of 500 and
//! dozens of sync messages, and a cut at any byte leaves either nothing or everything applied:
//! resending is safe (the hub stores entries by event id, Automerge changes by hash).
//!
//! When the hub cannot take the shortcut — it lacks some of this till's changes (`complete`
//! false), it does not know the exchange (an older hub), or it refuses it — the pass falls back
//! to outbox batches and Automerge sync sessions, which work from any state.

use trestle_core::ledger::OutboxEnvelope;
use trestle_protocol::exchange::{
    Acknowledgement, ExchangeAnswer, ExchangeRequest, EXCHANGE_CONTENT_TYPE, MAX_EXCHANGE_ENTRIES,
};

use super::client::{HubClient, ATTEMPTS};
use super::seal::Outgoing;
use super::{mark_acked, Pending, SyncSummary};
use crate::catalog::fill_from_replica;
use crate::error::{Error, Result};
use crate::till::Till;

impl Till {
    /// Exchanges the outbox and the document with the hub in bulk. `Ok(false)`: the hub needs
    /// the step-by-step path instead (nothing is lost either way).
    pub(super) fn bulk_exchange(&mut self, hub: &HubClient, s: &mut SyncSummary) -> Result<bool> {
        loop {
            // This till's changes that never left it go as one or two (`seal`); from here to
            // the request nothing is taken in, so the request holds only what is recorded sent.
            // The outbox entries are read in the seal's transaction and go as they are stored
            // (their records are not parsed again here), encoded while the fold runs; an entry
            // that is not an envelope's JSON is found by parsing them all.
            let Outgoing { batch, columns } = self.seal_for_exchange(MAX_EXCHANGE_ENTRIES)?;
            let before = self.replica.replica.heads();
            let base = self.hub_heads()?;
            let heads = self.replica.replica.head_bytes();
            let changes = self.replica.replica.bundle_after(&base);
            let request = match columns {
                Some(columns) => ExchangeRequest::encode_columns(&heads, &changes, &columns),
                None => {
                    let entries: Vec<OutboxEnvelope> = batch
                        .iter()
                        .map(|p| serde_json::from_str(&p.payload))
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|_| Error::Corrupt("an outbox entry is unreadable".into()))?;
                    ExchangeRequest {
                        heads,
                        changes,
                        entries,
                    }
                    .encode()
                }
            };
            let sent = hub.send("/v1/sync/exchange", ATTEMPTS, |c, u| {
                c.post(u)
                    .header("content-type", EXCHANGE_CONTENT_TYPE)
                    .body(request.clone())
            });
            let answer = match sent {
                Ok(a) => a,
                Err(Error::HubRefused { code, message }) => {
                    tracing::debug!(%code, %message, "bulk exchange refused; step by step");
                    return Ok(false);
                }
                Err(e) => return Err(e),
            };
            let answer = ExchangeAnswer::decode(&answer.body)
                .map_err(|e| Error::HubAnswer(e.to_string()))?;
            s.rounds += 1;
            let applied = self.apply_answer(&batch, &answer);
            let (accepted, duplicates, conflicts) = match applied {
                Ok(v) => v,
                // A document the merge refuses (another epoch, say) is for the step-by-step
                // path to deal with; the acknowledgements were rolled back with it and are
                // resent there (as duplicates).
                Err(Error::Replica(e)) => {
                    tracing::debug!(error = %e, "the hub's changes do not merge in bulk; step by step");
                    return Ok(false);
                }
                Err(e) => return Err(e),
            };
            if !batch.is_empty() && accepted + duplicates == 0 {
                return Err(Error::HubAnswer(
                    "it acknowledged none of the outbox entries sent".into(),
                ));
            }
            s.pushed += accepted;
            s.duplicates += duplicates;
            s.conflicts += conflicts;
            s.merged += self.replica.replica.changes_after(&before);
            if !answer.complete {
                return Ok(false);
            }
            if batch.len() < MAX_EXCHANGE_ENTRIES {
                return Ok(true);
            }
        }
    }

    /// The hub's heads at the end of the last complete exchange (none before the first).
    fn hub_heads(&self) -> Result<Vec<[u8; 32]>> {
        Ok(super::seal::stored_heads(self.db.conn(), "hub_heads")?.unwrap_or_default())
    }

    /// In one transaction: the entries the hub named are acknowledged, its changes merged (and
    /// the catalog tables brought up to date), and its heads kept for the next exchange.
    fn apply_answer(
        &mut self,
        batch: &[Pending],
        answer: &ExchangeAnswer,
    ) -> Result<(usize, usize, usize)> {
        let now = i64::try_from(self.now_ms()).unwrap_or(i64::MAX);
        self.write_with_replica("sync:exchange", |tx, replica| {
            let (accepted, duplicates) = match &answer.ack {
                Acknowledgement::Ids(ack) => (
                    mark_acked(tx, batch, &ack.accepted, now)?,
                    mark_acked(tx, batch, &ack.duplicates, now)?,
                ),
                Acknowledgement::Positions {
                    covered,
                    duplicates,
                } => mark_positions(tx, batch, *covered, duplicates, now)?,
            };
            let mut conflicts = 0;
            if !answer.changes.is_empty() {
                let report = replica.merge_bytes(&answer.changes)?;
                if report.heads_changed && !report.only_counters {
                    fill_from_replica(tx, replica)?;
                }
                conflicts = report.conflicts.len();
            }
            if answer.complete {
                let heads: Vec<u8> = answer.heads.iter().flatten().copied().collect();
                tx.execute("UPDATE sync_state SET hub_heads = ?1 WHERE id = 1", [heads])?;
                // Everything here is now sent or received: the next fold starts from this.
                replica.keep_fold_base();
            }
            Ok((accepted, duplicates, conflicts))
        })
    }
}

/// Marks acknowledged the first `covered` entries of `batch` (an answer by position, `TSY2`);
/// returns how many of them were stored now and how many the hub had before. An answer covering
/// more entries than were sent is refused (and the transaction with it).
fn mark_positions(
    tx: &rusqlite::Transaction<'_>,
    batch: &[Pending],
    covered: u32,
    duplicates: &[u32],
    now: i64,
) -> Result<(usize, usize)> {
    let covered = usize::try_from(covered).unwrap_or(usize::MAX);
    if covered > batch.len() {
        return Err(Error::HubAnswer(format!(
            "it acknowledged {covered} outbox entries of the {} sent",
            batch.len()
        )));
    }
    let (Some(first), Some(last)) = (batch.first(), batch[..covered].last()) else {
        return Ok((0, 0));
    };
    // One statement for the range: the batch is the first unacknowledged entries in `seq`
    // order, so every other entry between its first and last is acknowledged already, and
    // entries written since have higher seqs.
    let marked = tx
        .prepare_cached(
            "UPDATE outbox SET acked_ms = ?1 WHERE seq BETWEEN ?2 AND ?3 AND acked_ms IS NULL",
        )?
        .execute(rusqlite::params![now, first.seq, last.seq])?;
    let dups = duplicates.len().min(marked);
    Ok((marked - dups, dups))
}
