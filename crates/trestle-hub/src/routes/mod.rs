//! The HTTP API: every route under `/v1`, `/healthz`, `/metrics`, the OpenAPI document built
//! from the handlers' own annotations, and the middleware every request passes (body limit,
//! per-route metrics, the JSON shape of 404 and 405).

mod catalog;
mod checkout;
mod conflicts;
mod events;
mod inventory;
mod ops;
mod reservations;
mod staff;
mod stream;
mod sync;
mod tokens;
mod webhooks;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::HubError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Trestle hub API",
        version = "1",
        description = "The online store's inventory and order authority. Bearer tokens with scopes; errors as {\"error\":{\"code\",\"message\"}}. See docs/hub-api.md."
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The router with its state, and the OpenAPI document of its routes.
pub fn router(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (api_router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(tokens::create_pairing_code))
        .routes(routes!(tokens::pair))
        .routes(routes!(tokens::create_token, tokens::list_tokens))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(tokens::shop_info))
        .routes(routes!(catalog::get_catalog))
        .routes(routes!(catalog::import_catalog))
        .routes(routes!(inventory::get_inventory))
        .routes(routes!(inventory::get_variant_inventory))
        .routes(routes!(inventory::get_locations))
        .routes(routes!(inventory::count))
        .routes(routes!(
            inventory::create_transfer,
            inventory::list_transfers
        ))
        .routes(routes!(inventory::request_return))
        .routes(routes!(events::create_event, events::list_events))
        .routes(routes!(events::get_event))
        .routes(routes!(events::assign_till))
        .routes(routes!(events::open_event))
        .routes(routes!(events::close_event))
        .routes(routes!(checkout::checkout))
        .routes(routes!(checkout::list_orders))
        .routes(routes!(checkout::get_order))
        .routes(routes!(reservations::list_reservations))
        .routes(routes!(reservations::get_reservation))
        .routes(routes!(reservations::cancel_reservation))
        .routes(routes!(reservations::collect_reservation))
        .routes(routes!(reservations::ready_reservation))
        .routes(routes!(sync::outbox))
        .routes(routes!(sync::automerge_sync))
        .routes(routes!(sync::feed))
        .routes(routes!(sync::exchange))
        .routes(routes!(sync::snapshot))
        .routes(routes!(staff::create_staff, staff::list_staff))
        .routes(routes!(staff::update_staff))
        .routes(routes!(staff::roster))
        .routes(routes!(staff::staff_session))
        .routes(routes!(sync::carry))
        .routes(routes!(sync::start_epoch))
        .routes(routes!(webhooks::create_webhook, webhooks::list_webhooks))
        .routes(routes!(webhooks::delete_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(stream::stream))
        .routes(routes!(conflicts::list_conflicts))
        .routes(routes!(conflicts::resolve_conflict))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::metrics))
        .split_for_parts();
    let doc = api.clone();
    let router = api_router
        .route(
            "/v1/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc) }
            }),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(trestle_protocol::MAX_CSV_BODY))
        .with_state(state);
    (router, api)
}

async fn not_found() -> HubError {
    HubError::NotFound {
        what: "endpoint",
        id: "at this path (see /v1/openapi.json)".into(),
    }
}

/// Records each request's route, status and latency; turns axum's bare 405 into our body.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let mut res = next.run(req).await;
    if res.status() == StatusCode::METHOD_NOT_ALLOWED && !is_json(&res) {
        res = HubError::invalid(
            "request.method_not_allowed",
            "this method is not allowed here",
        )
        .into_response();
        *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    }
    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    state
        .metrics
        .observe_request(&method, &route, res.status().as_u16(), us);
    res
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
