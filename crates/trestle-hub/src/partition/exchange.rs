//! The writer's side of the bulk sync exchange: a till's whole outbox and its Automerge changes
//! applied in one job (one savepoint of one group-commit transaction), answered with the changes
//! the till lacks as one bundle. Exactly once as ever: entries by event id, changes by hash.

use trestle_protocol::exchange::{Acknowledgement, ExchangeAnswer, ExchangeRequest, FrameVersion};
use uuid::Uuid;

use super::Ctx;
use crate::error::Result;

impl Ctx<'_> {
    /// The answer is in the request's `version` (`TSY1` ids or `TSY2` positions).
    pub fn exchange(
        &mut self,
        device: Uuid,
        req: ExchangeRequest,
        version: FrameVersion,
    ) -> Result<ExchangeAnswer> {
        let ids: Vec<Uuid> = req.entries.iter().map(|e| e.event_id.0).collect();
        let ack = self.ingest_entries(device, req.entries)?;
        let ack = Acknowledgement::for_request(version, &ids, ack);
        if !req.changes.is_empty() {
            let changes = req.changes;
            self.merge_from_till(|replica| replica.merge_bytes(&changes))?;
        }
        // The till's heads are all here only if it sent everything after what it last had from
        // this hub; otherwise it falls back to Automerge sync sessions, which find the rest.
        let complete = self.st.replica.knows(&req.heads);
        let changes = if complete {
            self.st.replica.bundle_after(&req.heads)
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
