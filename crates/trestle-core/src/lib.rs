//! Trestle's domain, pure: money, tax, catalog, carts and sales, tenders, receipts, ids and the
//! hybrid logical clock. No I/O, no async, no SQL — time and randomness come in as arguments.
//!
//! Every fallible constructor (`parse`) validates once, at the boundary, into a typed value; the
//! rest of the system passes those values around and never re-checks them.

pub mod cart;
pub mod catalog;
pub mod clock;
pub mod code;
pub mod error;
pub mod ids;
pub mod import;
pub mod ledger;
pub mod money;
pub mod receipt;
#[cfg(test)]
mod receipts_tests;
pub mod refund;
pub mod reservation;
pub mod sale;
pub mod staff;
pub mod tax;
pub mod tender;

pub use error::{Error, Result};
pub use money::{Currency, Money};
