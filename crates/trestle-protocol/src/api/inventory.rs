//! Stock: per-holder counters, per-location levels, transfers (allocations), count corrections and
//! return requests.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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
