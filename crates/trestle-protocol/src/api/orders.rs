//! Checkout (customer, fulfilment, payment) and the orders it makes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::LineRequest;

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
