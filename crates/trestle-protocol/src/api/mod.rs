//! The storefront- and admin-facing bodies of the API: errors, tokens and pairing, catalog,
//! inventory and transfers, market events, checkout and orders, reservations, webhooks,
//! conflicts and the live stream's events.
//!
//! One module per topic; everything is re-exported here, so `trestle_protocol::api::X` (and
//! `trestle_protocol::X`) name the same types as before the split.

mod catalog;
mod errors;
mod events;
mod inventory;
mod orders;
mod reservations;
mod stream;
mod tokens;
mod webhooks;

pub use catalog::*;
pub use errors::*;
pub use events::*;
pub use inventory::*;
pub use orders::*;
pub use reservations::*;
pub use stream::*;
pub use tokens::*;
pub use webhooks::*;
