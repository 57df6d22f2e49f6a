//! Market events: creating them, assigning tills, and how they are listed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvent {
    pub name: String,
    #[serde(default)]
    pub place: String,
    /// `2026-12-05T09:00:00Z` (UTC) or `2026-12-05`.
    pub starts: String,
    pub ends: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MarketEvent {
    pub id: Uuid,
    pub name: String,
    pub place: String,
    pub starts: String,
    pub ends: String,
    /// `planned`, `open` or `closed`.
    pub status: String,
    pub tills: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    pub events: Vec<MarketEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignTill {
    pub till_id: Uuid,
}
