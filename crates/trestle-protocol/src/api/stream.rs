//! The shop's log events (live stream and webhook bodies), conflicts and their resolution, and the
//! health check.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// One event of the shop's log: the body of a webhook delivery and of a live-stream message.
/// `data` is the JSON object exactly as the log stores it: written once when the event is
/// published and passed on as text (a market day publishes 20,000 events; building and dropping
/// a tree of each cost a third of the hub's exchange).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShopEvent {
    /// Position in the shop's log, from 1, gapless.
    pub seq: i64,
    /// e.g. `order.created`, `inventory.updated`, `reservation.collected`.
    pub topic: String,
    pub at: String,
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
}

impl PartialEq for ShopEvent {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
            && self.topic == other.topic
            && self.at == other.at
            && self.data.get() == other.data.get()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConflictRecord {
    pub id: Uuid,
    /// e.g. `conflict.negative_stock`, `conflict.made_to_order_short`, `conflict.collect_cancel_race`.
    pub kind: String,
    pub variant_id: Option<Uuid>,
    pub holder: Option<String>,
    pub facts: Value,
    /// The resolutions offered, e.g. `recount_stock`, `contact_customer`.
    pub resolutions: Vec<String>,
    /// `open` or `resolved`.
    pub status: String,
    pub resolution: Option<String>,
    pub note: Option<String>,
    pub detected_at: String,
    pub resolved_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConflictList {
    pub conflicts: Vec<ConflictRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveConflict {
    /// One of the conflict's `resolutions`.
    pub resolution: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}
