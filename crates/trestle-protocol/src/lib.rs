//! Trestle's wire types: every request and response body of the hub's HTTP API v1, declared once
//! here and shared by the hub, the till's sync client and the OpenAPI document (`utoipa`
//! schemas are derived from these declarations). Pure data: serde and schemas, and the
//! byte framing of the bulk sync exchange (`exchange`); no I/O.
//!
//! Every request type refuses unknown fields (`deny_unknown_fields`), so a typo in a field name
//! is a 4xx, never silently ignored. Money is integer minor units with its currency code.

pub mod api;
pub mod columns;
pub mod exchange;
pub mod staff;
pub mod sync;

pub use api::*;
pub use staff::*;
pub use sync::*;

/// The version of this API; it is the `/v1` of every path.
pub const API_VERSION: u32 = 1;

/// The largest JSON body the hub accepts, in bytes.
pub const MAX_JSON_BODY: usize = 1024 * 1024;
/// The largest catalog CSV the hub accepts, in bytes.
pub const MAX_CSV_BODY: usize = 16 * 1024 * 1024;
/// The most outbox entries in one sync batch.
pub const MAX_OUTBOX_BATCH: usize = 500;
/// The most lines in one checkout, transfer or collection.
pub const MAX_LINES: usize = 200;
