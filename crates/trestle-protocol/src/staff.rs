//! Staff wire types: the maker manages staff on the hub (admin scope), tills pull the roster
//! (PIN hashes, never PINs) and ask for a staff member's short-lived session for an event.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /v1/staff`: a new staff member. The PIN is hashed on arrival (argon2id) and never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaff {
    pub name: String,
    /// `cashier` or `manager`.
    pub role: String,
    /// 4 to 8 digits.
    pub pin: String,
}

/// `PATCH /v1/staff/{id}`: what changes (fields left out stay as they are).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStaff {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub pin: Option<String>,
    /// `false` takes the person off every till at its next sync.
    #[serde(default)]
    pub active: Option<bool>,
}

/// A staff member as the maker sees it (no PIN, no hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffMember {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub active: bool,
    /// RFC 3339 UTC.
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffList {
    pub staff: Vec<StaffMember>,
}

/// One person in the roster a till pulls: the PIN's argon2id hash (PHC string) travels so the
/// till checks PINs offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RosterEntry {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub active: bool,
    pub pin_hash: String,
    /// Unix milliseconds of the last change.
    pub updated_ms: i64,
}

/// `GET /v1/sync/staff`: the whole roster (device tokens only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffRoster {
    pub staff: Vec<RosterEntry>,
}

/// `POST /v1/sync/staff-sessions`: a till asks for the short-lived, event-scoped session of the
/// staff member who signed in on it (they proved their PIN to the till).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffSession {
    pub staff_id: Uuid,
    pub event_id: Uuid,
}
