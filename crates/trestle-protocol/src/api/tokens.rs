//! Bearer tokens (kinds, scopes, creation, listing) and pairing a till with a one-time code.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The kind of a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// The maker: every scope of the shop.
    Admin,
    /// A till, obtained by pairing.
    Device,
    /// A staff session at a pop-up: short-lived and scoped to one event.
    Staff,
    /// A storefront or other integration, with the scopes it was given.
    Integration,
}

impl TokenKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            TokenKind::Admin => "admin",
            TokenKind::Device => "device",
            TokenKind::Staff => "staff",
            TokenKind::Integration => "integration",
        }
    }
}

/// `POST /v1/tokens`: a staff session or integration token (admin and device tokens come from
/// shop creation and pairing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub kind: TokenKind,
    /// Scopes such as `inventory:read`, `checkout:write`; a staff session defaults to the staff
    /// scopes when empty.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Lifetime in seconds (staff: at most 86,400, default 43,200; integration: at most one year).
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
    /// The event a staff session is limited to (required for staff).
    #[serde(default)]
    pub event_id: Option<Uuid>,
    #[serde(default)]
    pub label: Option<String>,
}

/// A new token: the secret is shown once and only its hash is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenCreated {
    pub id: Uuid,
    pub token: String,
    pub kind: TokenKind,
    pub scopes: Vec<String>,
    /// RFC 3339 UTC.
    pub expires_at: String,
}

/// A token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    pub id: Uuid,
    pub kind: TokenKind,
    pub scopes: Vec<String>,
    pub label: Option<String>,
    pub event_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenInfo>,
}

/// `POST /v1/pairing-codes`: a short code the admin reads out to the till being paired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePairingCode {
    /// The name the till will have, e.g. "Stall 1".
    pub till_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PairingCode {
    /// Eight characters from an alphabet without look-alikes, e.g. `K7QM-4WXP`.
    pub code: String,
    pub till_name: String,
    pub expires_at: String,
}

/// `POST /v1/pair`: a till exchanges a pairing code for its device token (no bearer token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    pub code: String,
    /// The till's own id, when it already has one (a till initialised offline keeps its id).
    #[serde(default)]
    pub till_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Paired {
    pub device_token: String,
    pub till_id: Uuid,
    pub till_name: String,
    pub shop_id: Uuid,
    pub shop_name: String,
    pub currency: String,
    pub expires_at: String,
}
