//! Operations: the health check and Prometheus metrics (no token: bind the hub to a private
//! address or put it behind a proxy that restricts `/metrics`).

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use trestle_protocol::Health;

use crate::app::AppState;

#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut lag = Vec::new();
    for p in state.partitions() {
        let shop = p.shop.id;
        if let Ok(l) = p.run(|ctx| ctx.sync_lag()).await {
            lag.extend(l.into_iter().map(|(d, ms)| (shop, d, ms)));
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(&lag),
    )
}
