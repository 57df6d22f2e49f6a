//! The wire types between the till's window and this shell: every command's arguments and
//! result, declared once here and generated for TypeScript with ts-rs into
//! `ui/src/lib/generated/` (`tests/bindings.rs` fails when the committed files drift). Amounts
//! are integer minor units of the `currency` beside them; never floats.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The error every command rejects with: a stable code (`stock.insufficient`, `cart.empty`, …)
/// and one sentence for the cashier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AppError {
    pub code: String,
    pub message: String,
}

/// A discount as the cashier gives it: a percentage in basis points (1250 = 12.5 %), or an
/// amount in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Discount {
    Percent {
        bp: u32,
    },
    Amount {
        #[ts(type = "number")]
        minor: i64,
    },
}

/// A payment taken: cash (before change), or card with the terminal's reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Tender {
    Cash {
        #[ts(type = "number")]
        amount: i64,
    },
    Card {
        #[ts(type = "number")]
        amount: i64,
        reference: Option<String>,
    },
}

/// A tender on a receipt or a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum TenderKind {
    Cash,
    Card,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct EventInfo {
    pub id: String,
    pub name: String,
}

/// What the window needs at start: is a till set up here, and which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TillStatus {
    /// A till exists in the data directory.
    pub configured: bool,
    /// Running on the sample catalog.
    pub demo: bool,
    pub shop_name: String,
    pub currency: String,
    pub receipt_prefix: String,
    pub paired: bool,
    pub hub_url: Option<String>,
    pub event: Option<EventInfo>,
}

/// A catalog item as the till sells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CatalogItem {
    pub variant_id: String,
    /// Product and variant, e.g. "Speckled mug — Blue".
    pub title: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    #[ts(type = "number")]
    pub price: i64,
    pub track_inventory: bool,
    /// This till's free units; null when not tracked.
    #[ts(type = "number | null")]
    pub available: Option<i64>,
}

/// One line of the cart, priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CartLine {
    pub index: u32,
    pub variant_id: String,
    pub title: String,
    pub sku: Option<String>,
    pub qty: u32,
    #[ts(type = "number")]
    pub unit_price: i64,
    #[ts(type = "number")]
    pub gross: i64,
    /// The line's own discount plus its share of the cart discount.
    #[ts(type = "number")]
    pub discount: i64,
    pub line_discount: Option<Discount>,
    #[ts(type = "number")]
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Cart {
    pub currency: String,
    pub lines: Vec<CartLine>,
    pub cart_discount: Option<Discount>,
    #[ts(type = "number")]
    pub subtotal: i64,
    #[ts(type = "number")]
    pub discount: i64,
    #[ts(type = "number")]
    pub tax: i64,
    #[ts(type = "number")]
    pub total: i64,
}

/// What tenders do against what is due (nothing is written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TenderQuote {
    #[ts(type = "number")]
    pub due: i64,
    #[ts(type = "number")]
    pub paid: i64,
    /// Still to pay, 0 when covered.
    #[ts(type = "number")]
    pub remaining: i64,
    /// Cash to give back.
    #[ts(type = "number")]
    pub change: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReceiptTender {
    pub kind: TenderKind,
    #[ts(type = "number")]
    pub amount: i64,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReceiptLine {
    pub title: String,
    pub qty: u32,
    #[ts(type = "number")]
    pub unit_price: i64,
    #[ts(type = "number")]
    pub discount: i64,
    #[ts(type = "number")]
    pub total: i64,
}

/// A completed sale as shown and printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Receipt {
    pub receipt_no: String,
    #[ts(type = "number")]
    pub at_ms: u64,
    pub shop_name: String,
    pub currency: String,
    pub lines: Vec<ReceiptLine>,
    #[ts(type = "number")]
    pub subtotal: i64,
    #[ts(type = "number")]
    pub discount: i64,
    #[ts(type = "number")]
    pub tax: i64,
    #[ts(type = "number")]
    pub total: i64,
    pub tenders: Vec<ReceiptTender>,
    #[ts(type = "number")]
    pub change: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SaleLine {
    pub variant_id: String,
    pub title: String,
    pub qty: u32,
    /// Units not yet refunded.
    pub refundable: u32,
    #[ts(type = "number")]
    pub total: i64,
}

/// A completed sale looked up by its receipt number, for a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Sale {
    pub receipt_no: String,
    #[ts(type = "number")]
    pub at_ms: u64,
    pub currency: String,
    #[ts(type = "number")]
    pub total: i64,
    #[ts(type = "number")]
    pub refunded: i64,
    pub voided: bool,
    pub lines: Vec<SaleLine>,
    pub tenders: Vec<ReceiptTender>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RefundResult {
    /// Of the sale refunded.
    pub receipt_no: String,
    pub currency: String,
    /// Paid back.
    #[ts(type = "number")]
    pub amount: i64,
    /// How: to the original tenders.
    pub tenders: Vec<ReceiptTender>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    Held,
    Ready,
    PartiallyCollected,
    Collected,
    Cancelled,
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    Paid,
    Deposit,
    PayOnPickup,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReservationSummary {
    pub code: String,
    pub customer_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub status: ReservationStatus,
    pub payment: PaymentState,
    #[ts(type = "number")]
    pub units_left: i64,
    /// Still to pay for everything left.
    #[ts(type = "number")]
    pub remaining: i64,
    /// YYYY-MM-DD (UTC): the event's day, else the day it was made.
    pub pickup_day: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReservationLine {
    pub index: u32,
    pub variant_id: String,
    pub title: String,
    #[ts(type = "number")]
    pub qty: i64,
    #[ts(type = "number")]
    pub collected: i64,
    #[ts(type = "number")]
    pub unit_price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Reservation {
    #[serde(flatten)]
    #[ts(flatten)]
    pub summary: ReservationSummary,
    pub currency: String,
    pub lines: Vec<ReservationLine>,
    #[ts(type = "number")]
    pub total: i64,
    #[ts(type = "number")]
    pub paid: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct HandOver {
    pub reservation: Reservation,
    /// The payment taken, when there was one.
    pub receipt: Option<Receipt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct StockRow {
    pub variant_id: String,
    pub title: String,
    pub sku: Option<String>,
    #[ts(type = "number")]
    pub till_free: i64,
    #[ts(type = "number")]
    pub till_held: i64,
    /// All holders of the event (this till's event; the whole shop when none is open).
    #[ts(type = "number")]
    pub event_free: i64,
    #[ts(type = "number")]
    pub event_held: i64,
    /// Σ free + Σ held at the event.
    #[ts(type = "number")]
    pub on_hand: i64,
    /// This till's free.
    #[ts(type = "number")]
    pub available: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Resolution {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Resolved {
    pub resolution: String,
    #[ts(type = "number")]
    pub at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Conflict {
    pub id: String,
    /// e.g. `conflict.made_to_order_short`.
    pub kind: String,
    /// One sentence of facts.
    pub summary: String,
    pub facts: Vec<Fact>,
    pub resolutions: Vec<Resolution>,
    #[ts(type = "number")]
    pub detected_ms: u64,
    pub resolved: Option<Resolved>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncStatus {
    pub online: bool,
    pub paired: bool,
    pub hub_url: Option<String>,
    #[ts(type = "number")]
    pub pending_events: i64,
    #[ts(type = "number | null")]
    pub last_sync_ms: Option<i64>,
    pub last_error: Option<AppError>,
    pub conflicts: Vec<Conflict>,
}

// ---- arguments ---------------------------------------------------------------------------

/// A command that takes nothing.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(type = "Record<string, never>")]
pub struct NoArgs {}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    pub query: String,
    pub limit: u32,
}

/// What was scanned or typed (barcode, SKU or variant id) and how many.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ItemQty {
    pub item: String,
    pub qty: u32,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct LineQty {
    pub index: u32,
    pub qty: u32,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct LineIndex {
    pub index: u32,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct LineDiscountArgs {
    pub index: u32,
    pub discount: Option<Discount>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct DiscountArgs {
    pub discount: Option<Discount>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct TendersArgs {
    pub tenders: Vec<Tender>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ReceiptArgs {
    pub receipt_no: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct RefundArgs {
    pub receipt_no: String,
    /// Null: everything not yet refunded.
    pub items: Option<Vec<ItemQty>>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct QueryArgs {
    pub query: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CodeArgs {
    pub code: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CodeTendersArgs {
    pub code: String,
    pub tenders: Vec<Tender>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct HandOverArgs {
    pub code: String,
    /// Lines of the reservation (by index) and units to hand over now.
    pub lines: Vec<LineQty>,
    pub tenders: Vec<Tender>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CountArgs {
    pub variant_id: String,
    #[ts(type = "number")]
    pub counted: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ResolveArgs {
    pub id: String,
    pub resolution: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PairArgs {
    pub hub_url: String,
    pub code: String,
}
