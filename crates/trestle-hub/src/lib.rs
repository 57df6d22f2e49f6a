//! The Trestle hub: the online store's inventory and order authority. An axum service over one
//! SQLite directory (shops, tokens, devices) and one SQLite file per shop, each written by the
//! shop's own writer thread with group commit ([`partition`]). It takes idempotent checkouts
//! from the hub's own stock holding, allocates stock to tills, keeps pickup reservations,
//! ingests tills' outboxes and Automerge sync, signs and retries webhooks, streams the shop's
//! events (SSE), and records conflicts for a person to resolve.
//!
//! ```no_run
//! # async fn demo() -> Result<(), trestle_hub::HubError> {
//! let config = trestle_hub::Config::new("hub.sqlite".into(), "127.0.0.1:0".parse().unwrap());
//! let app = trestle_hub::Application::build(config).await?;
//! println!("listening on {}", app.port());
//! app.run_until(trestle_hub::app::shutdown_signal()).await
//! # }
//! ```

pub mod app;
pub mod db;
pub mod delivery;
pub mod directory;
pub mod error;
pub mod extract;
#[doc(hidden)]
pub mod fuzz_targets;
pub mod local;
pub mod metrics;
pub mod partition;
pub mod routes;

pub use app::{AppState, Application, Config};
pub use error::{HubError, Result};
pub use local::LocalHub;
