//! The writer's side of the bulk sync exchange: a till's whole outbox and its Automerge changes
//! applied in one job (one savepoint of one group-commit transaction), answered with the changes
//! the till lacks as one bundle. Exactly once as ever: entries by event id, changes by hash. The
//! route decodes the entries on another thread and hands them over as they come ([`Decoded`]),
//! so the writer merges the till's changes and stores the first entries while the rest decode;
//! a damage found late fails the job, and its savepoint undoes the merge and every entry stored
//! before it.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use trestle_protocol::exchange::{Acknowledgement, ExchangeAnswer, FrameVersion, RequestHead};
use trestle_protocol::OutboxAck;
use uuid::Uuid;

use super::sync::Prepared;
use super::Ctx;
use crate::error::{HubError, Result};

/// The longest the writer waits for the next chunk of entries (a market day's whole decode
/// takes ~50 ms).
const DECODE_WAIT: Duration = Duration::from_secs(30);

/// What the decoding side of an exchange hands the writer, in order: entries as they are
/// decoded (and prepared for storing), then how the decode ended.
pub enum Decoded {
    Entries(Vec<Prepared>),
    /// The frame is damaged (the job fails with this, undoing what it stored).
    Failed(HubError),
    /// Every entry was handed over.
    Done,
}

impl Ctx<'_> {
    /// The exchange of a request opened as `head`, taking its entries from `decoded` as the
    /// route decodes them; the answer is in the request's version (`TSY1` ids or `TSY2`
    /// positions).
    ///
    /// The till's changes are merged first, and the stock levels they moved published, while
    /// the first entries are still decoding: the merge needs nothing of the entries, and the
    /// writer would otherwise wait for the decoder and do both after it (decision 203). Levels
    /// are published early only when no earlier job of the batch left ship orders to take
    /// (those are taken, and their levels published, at the batch's end as ever).
    pub fn exchange_streamed(
        &mut self,
        device: Uuid,
        head: RequestHead,
        decoded: Receiver<Decoded>,
    ) -> Result<ExchangeAnswer> {
        let RequestHead {
            version,
            heads,
            changes,
        } = head;
        if !changes.is_empty() {
            self.merge_from_till(|replica| replica.merge_bytes(&changes))?;
        }
        if self.st.pending.is_empty() {
            self.publish_levels()?;
        }
        // A failure from here on is undone with the job (`run_job`): its merge, its events
        // with these levels, and what it touched.
        let (ids, ack) = self.store_decoded(device, decoded)?;
        self.answer(device, version, &heads, &ids, ack)
    }

    /// The entries as they come from `decoded`, stored: their ids in the request's order, and
    /// what became of them.
    fn store_decoded(
        &mut self,
        device: Uuid,
        decoded: Receiver<Decoded>,
    ) -> Result<(Vec<Uuid>, OutboxAck)> {
        let mut ids = Vec::new();
        let mut ack = OutboxAck::default();
        loop {
            match decoded.recv_timeout(DECODE_WAIT) {
                Ok(Decoded::Entries(entries)) => {
                    ids.extend(entries.iter().map(Prepared::event_id));
                    self.store_entries(device, entries, &mut ack)?;
                }
                Ok(Decoded::Failed(e)) => return Err(e),
                Ok(Decoded::Done) => return Ok((ids, ack)),
                // A decoder that never answers holds the shop's writer no longer than this; the
                // till is told to retry (nothing of the request is kept).
                Err(RecvTimeoutError::Timeout) => return Err(HubError::Unavailable),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(HubError::Internal(
                        "the exchange's entries stopped before their end".into(),
                    ))
                }
            }
        }
    }

    /// After the entries (`ids` in the request's order, `ack` what became of them) and the
    /// till's changes: the answer, in the request's `version`, to a till at `heads`.
    fn answer(
        &mut self,
        device: Uuid,
        version: FrameVersion,
        heads: &[[u8; 32]],
        ids: &[Uuid],
        ack: OutboxAck,
    ) -> Result<ExchangeAnswer> {
        let ack = Acknowledgement::for_request(version, ids, ack);
        // The till's heads are all here only if it sent everything after what it last had from
        // this hub; otherwise it falls back to Automerge sync sessions, which find the rest.
        let complete = self.st.replica.knows(heads);
        let changes = if complete {
            self.st.replica.bundle_after(heads)
        } else {
            Vec::new()
        };
        self.mark_synced(device, None)?;
        Ok(ExchangeAnswer {
            complete,
            heads: self.st.replica.head_bytes(),
            changes,
            ack,
        })
    }
}
