//! Pickup reservations as the storefront and the admin see them, their hand-overs, and recording a
//! collection.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::LineRequest;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReservationLine {
    pub variant_id: Uuid,
    pub title: String,
    pub qty: i64,
    pub collected: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reservation {
    pub id: Uuid,
    pub code: String,
    pub qr: String,
    pub customer: String,
    pub event_id: Option<Uuid>,
    /// Who holds its units and decides its status: `hub` or `till:<id>`.
    pub holder: String,
    /// `held`, `ready`, `partially_collected`, `collected`, `cancelled` or `expired`.
    pub status: String,
    pub payment_state: String,
    pub order_id: Option<Uuid>,
    pub lines: Vec<ReservationLine>,
    /// True when a cancellation was asked for and the holding till has not acted on it yet.
    pub cancel_requested: bool,
    /// When the holder releases it if not collected (RFC 3339), for holds made with an expiry.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// What was paid before the hand-over (a deposit, or everything), minor units.
    #[serde(default)]
    pub paid_minor: i64,
    /// Every hand-over: who made it, what, with which receipt, and its state.
    #[serde(default)]
    pub handovers: Vec<HandoverRecord>,
}

/// One hand-over of a reservation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HandoverRecord {
    pub id: Uuid,
    /// `hub` or `till:<id>`.
    pub by: String,
    pub lines: Vec<LineRequest>,
    /// `settled`, `pending` (made by a till that does not hold it, not yet taken in by the
    /// holder) or `refused` (handed over twice, or after it was cancelled: a conflict).
    pub state: String,
    /// The receipt of the sale that took the payment at the hand-over, if one did.
    pub receipt: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReservationList {
    pub reservations: Vec<Reservation>,
}

/// `POST /v1/reservations/{id}/collected`: what was handed over (everything left when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectRequest {
    #[serde(default)]
    pub lines: Option<Vec<LineRequest>>,
}
