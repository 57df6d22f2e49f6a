//! The hub's API tests: one binary, the real server on port 0 with a fresh database per test,
//! real HTTP. See `helpers.rs` for the harness.

mod helpers;

mod auth;
mod bad_input;
mod checkout;
mod exchange;
mod flow;
mod reservations;
mod sync;
mod webhooks;
