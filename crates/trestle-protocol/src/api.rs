//! The storefront- and admin-facing bodies of the API: errors, tokens and pairing, catalog,
//! inventory and transfers, market events, checkout and orders, reservations, webhooks,
//! conflicts and the live stream's events.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

// ---- errors ------------------------------------------------------------------------------

/// Every error response: `{"error":{"code","message"}}`, with `details` where there are facts to
/// act on (e.g. the short variants of a refused checkout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `stock.short`, `auth.missing_scope`.
    pub code: String,
    /// One sentence for a person.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

// ---- tokens and pairing ------------------------------------------------------------------

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

// ---- shops, catalog ----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShopInfo {
    pub id: Uuid,
    pub name: String,
    pub currency: String,
    /// `inclusive` or `exclusive`: whether prices include tax.
    pub tax_mode: String,
}

/// One sellable variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatalogVariant {
    pub variant_id: Uuid,
    pub title: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    /// Minor units of the shop's currency (cents, pence, yen).
    pub price_minor: i64,
    pub currency: String,
    /// Tax rate in parts per million (20% = 200000).
    pub tax_ppm: u32,
    /// `deny` (never sold below zero) or `continue` (made to order).
    pub policy: String,
    pub track_inventory: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Catalog {
    pub variants: Vec<CatalogVariant>,
}

/// What a catalog import did, with one row per CSV record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportSummary {
    pub products: usize,
    pub variants: usize,
    pub new_variants: usize,
    pub updated_variants: usize,
    pub images: usize,
    pub skipped: usize,
    pub rows: Vec<ImportRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportRow {
    /// Physical line of the record in the file (the header is line 1).
    pub line: u64,
    /// `variant`, `image` or `skipped`.
    pub outcome: String,
    pub variant_id: Option<Uuid>,
    pub note: Option<String>,
}

// ---- inventory, transfers ----------------------------------------------------------------

/// One line of a checkout, transfer, return or collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    pub variant_id: Uuid,
    pub qty: u32,
}

/// One holder's counters of a variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HolderStock {
    /// `hub` or `till:<id>`.
    pub holder: String,
    pub free: i64,
    pub held: i64,
}

/// A variant's stock: `on_hand = Σ free + Σ held`; `available` is what the online store may
/// sell now (the hub's own `free`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InventoryLevel {
    pub variant_id: Uuid,
    pub title: String,
    pub sku: Option<String>,
    pub on_hand: i64,
    pub available: i64,
    pub held: i64,
    pub holders: Vec<HolderStock>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Inventory {
    pub levels: Vec<InventoryLevel>,
}

/// Stock at one location: the online warehouse (`hub`) or an event (its tills together).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LocationStock {
    /// `hub` or `event:<id>`.
    pub location: String,
    pub name: String,
    pub levels: Vec<LocationLevel>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LocationLevel {
    pub variant_id: Uuid,
    pub free: i64,
    pub held: i64,
    pub on_hand: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Locations {
    pub locations: Vec<LocationStock>,
}

/// `POST /v1/transfers`: the hub gives units of its own `free` to a till (allocation to an
/// event). Pickup reservations of that event held at the hub travel with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTransfer {
    pub to_till: Uuid,
    pub lines: Vec<LineRequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TransferRecord {
    pub id: Uuid,
    pub from: String,
    pub to: String,
    pub lines: Vec<LineRequest>,
    /// Reservations whose held units moved to the till with this transfer.
    pub reservations_moved: Vec<Uuid>,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TransferList {
    pub transfers: Vec<TransferRecord>,
}

/// `POST /v1/inventory/counts`: the online warehouse corrects its own stock of a variant by a
/// delta (units made or found: positive; damaged or lost: negative), with a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountCorrection {
    pub variant_id: Uuid,
    pub delta: i64,
    pub reason: String,
}

/// `POST /v1/returns`: asks a till to give back units (all it holds when `lines` is absent).
/// Only a holder decrements its own counters, so the till carries it out when it next syncs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestReturn {
    pub till_id: Uuid,
    #[serde(default)]
    pub lines: Option<Vec<LineRequest>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReturnRequested {
    pub id: Uuid,
    pub till_id: Uuid,
    pub lines: Option<Vec<LineRequest>>,
    /// The device-feed entry that carries it to the till.
    pub feed_seq: i64,
}

// ---- market events -----------------------------------------------------------------------

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

// ---- checkout and orders -----------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// How the order reaches the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fulfilment {
    /// Posted from the online warehouse.
    Ship {
        #[serde(default)]
        address: Option<String>,
    },
    /// Collected at a market event: the units are held as a reservation.
    Pickup { event_id: Uuid },
}

/// How a pickup order is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Payment {
    Paid,
    Deposit,
    PayOnPickup,
}

impl Payment {
    pub fn as_str(&self) -> &'static str {
        match self {
            Payment::Paid => "paid",
            Payment::Deposit => "deposit",
            Payment::PayOnPickup => "pay_on_pickup",
        }
    }
}

/// `POST /v1/checkout` with an `Idempotency-Key` header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    pub lines: Vec<LineRequest>,
    pub customer: Customer,
    pub fulfilment: Fulfilment,
    /// `paid` unless said otherwise; only pickups may be `deposit` or `pay_on_pickup`.
    #[serde(default)]
    pub payment: Option<Payment>,
    /// With `payment: deposit`: what the customer paid now, minor units (more than 0, less than
    /// the total). The rest is paid when the pickup is handed over; without it the stall asks for
    /// the whole price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub variant_id: Uuid,
    pub title: String,
    pub sku: Option<String>,
    pub qty: u32,
    pub unit_price_minor: i64,
    pub net_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderTotals {
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: Uuid,
    /// The shop's order number, from 1.
    pub number: i64,
    pub created_at: String,
    pub currency: String,
    pub customer: Customer,
    pub fulfilment: Fulfilment,
    pub payment: Payment,
    pub lines: Vec<OrderLine>,
    pub totals: OrderTotals,
    /// The pickup reservation, for `pickup` orders.
    pub reservation: Option<ReservationRef>,
    /// For pickup orders, read live: the reservation's status (`held` … `collected`,
    /// `cancelled`, `expired`). Absent for posted orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilment_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReservationRef {
    pub id: Uuid,
    pub code: String,
    /// What the customer's QR code encodes.
    pub qr: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderList {
    pub orders: Vec<Order>,
}

/// In the `details` of a 409 `stock.short`: each variant there is not enough of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShortLine {
    pub variant_id: Uuid,
    pub title: String,
    pub wanted: i64,
    pub available: i64,
}

// ---- reservations ------------------------------------------------------------------------

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

// ---- webhooks ----------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `http://` or `https://` URL that receives `POST`s.
    pub url: String,
    /// The shared secret for the signature (16 to 256 characters).
    pub secret: String,
    /// Topics such as `order.created`, `reservation.collected`, or `*` for all.
    pub topics: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub topics: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub topic: String,
    pub event_seq: i64,
    /// `pending`, `delivered` or `failed` (given up after the last retry).
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
}

// ---- live stream, conflicts --------------------------------------------------------------

/// One event of the shop's log: the body of a webhook delivery and of a live-stream message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShopEvent {
    /// Position in the shop's log, from 1, gapless.
    pub seq: i64,
    /// e.g. `order.created`, `inventory.updated`, `reservation.collected`.
    pub topic: String,
    pub at: String,
    pub data: Value,
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
