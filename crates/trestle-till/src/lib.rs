//! The till engine: the SQLite ledger (sales, refunds, voids, stock movements, outbox), the
//! catalog, sync with the hub, and the services the CLI and the desktop app call. Runs without a
//! window.
//!
//! Every service is a method on [`Till`]; every write goes through [`db::Db::write`], one
//! transaction per business action, so a crash at any instant leaves all of it or none.

pub mod cart;
pub mod catalog;
mod context;
pub mod db;
pub mod demo;
pub mod error;
pub mod event;
pub mod export;
pub mod ledger;
pub mod pickups;
pub mod queries;
pub mod replica;
pub mod report;
pub mod returns;
pub mod sell;
pub mod shop;
pub mod staff;
pub mod stock;
pub mod sync;
pub mod till;

pub use error::{Error, Result};
pub use shop::{InitParams, Shop};
pub use till::{SystemClock, Till};
