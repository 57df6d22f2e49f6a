//! The till ↔ hub sync bodies: the outbox batch and its acknowledgement, and the device feed.
//! The Automerge sync messages themselves travel as raw bytes (`application/octet-stream`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trestle_core::ledger::OutboxEnvelope;
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /v1/sync/outbox`: outbox entries in the till's order. Each `event_id` is applied once
/// however often it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutboxBatch {
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<OutboxEnvelope>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutboxAck {
    /// Entries stored now for the first time.
    pub accepted: Vec<Uuid>,
    /// Entries the hub already had (sent before; nothing applied twice).
    pub duplicates: Vec<Uuid>,
}

/// One thing new for a device: an allocation, a reservation moved to it, a return or
/// cancellation request, a catalog edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeedEntry {
    /// Position in this device's feed, from 1.
    pub seq: i64,
    /// `transfer.received`, `reservation.assigned`, `return.requested`,
    /// `reservation.cancel_requested`, `catalog.updated`, `event.updated`.
    pub kind: String,
    pub at: String,
    pub body: Value,
}

/// `GET /v1/sync/feed?after=SEQ`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Feed {
    pub entries: Vec<FeedEntry>,
    /// Pass as `after` next time.
    pub next_after: i64,
}

/// The header that names one Automerge sync session: the hub keeps the sync state per device and
/// session, and a new session starts from nothing (so a response lost in transit is re-sent).
pub const SYNC_SESSION_HEADER: &str = "trestle-sync-session";

/// The header naming the epoch of the shop document a till syncs in. On `/v1/sync/automerge` a
/// hub in another epoch answers 409 `sync.new_epoch` (with `{"epoch": N}` in the details), and
/// the till adopts the new epoch (carrying its late changes first through `/v1/sync/carry`).
pub const EPOCH_HEADER: &str = "trestle-epoch";

/// `POST /v1/epochs`: the hub started a new epoch of the shop document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EpochStarted {
    pub epoch: u64,
}
