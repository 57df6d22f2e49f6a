//! Market events: create, list, read, assign tills, open and close.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use trestle_protocol::{AssignTill, CreateEvent, ErrorBody, EventList, MarketEvent};
use uuid::Uuid;

use crate::app::AppState;
use crate::error::{HubError, Result};
use crate::extract::{ApiJson, ApiPath, Auth};

/// A new market event (`planned`).
#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = CreateEvent,
    responses((status = 201, body = MarketEvent), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_event(
    auth: Auth,
    ApiJson(req): ApiJson<CreateEvent>,
) -> Result<(StatusCode, Json<MarketEvent>)> {
    auth.require("events:write")?;
    let e = auth.shop.run(move |ctx| ctx.create_event(req)).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// Every market event of the shop.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    responses((status = 200, body = EventList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_events(auth: Auth) -> Result<Json<EventList>> {
    auth.require("events:read")?;
    let events = auth.shop.run(|ctx| ctx.events()).await?;
    Ok(Json(EventList { events }))
}

#[utoipa::path(get, path = "/v1/events/{id}", tag = "events", params(("id" = Uuid, Path)),
    responses((status = 200, body = MarketEvent), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_event(auth: Auth, ApiPath(id): ApiPath<Uuid>) -> Result<Json<MarketEvent>> {
    auth.require("events:read")?;
    Ok(Json(auth.shop.run(move |ctx| ctx.event(id)).await?))
}

/// Assigns a paired till to the event.
#[utoipa::path(post, path = "/v1/events/{id}/tills", tag = "events", params(("id" = Uuid, Path)), request_body = AssignTill,
    responses((status = 200, body = MarketEvent), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assign_till(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<AssignTill>,
) -> Result<Json<MarketEvent>> {
    auth.require("events:write")?;
    if !state
        .directory
        .is_device_of(auth.token.shop_id, req.till_id)?
    {
        return Err(HubError::invalid(
            "event.unknown_till",
            format!("{} is not a till paired with this shop", req.till_id),
        ));
    }
    let till = req.till_id;
    Ok(Json(
        auth.shop.run(move |ctx| ctx.assign_till(id, till)).await?,
    ))
}

/// Opens the event (it needs a till); pickups ordered from now on go straight to its till.
#[utoipa::path(post, path = "/v1/events/{id}/open", tag = "events", params(("id" = Uuid, Path)),
    responses((status = 200, body = MarketEvent), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn open_event(auth: Auth, ApiPath(id): ApiPath<Uuid>) -> Result<Json<MarketEvent>> {
    auth.require("events:write")?;
    Ok(Json(
        auth.shop
            .run(move |ctx| ctx.set_event_status(id, "open"))
            .await?,
    ))
}

/// Closes the event for good: no new pickups for it.
#[utoipa::path(post, path = "/v1/events/{id}/close", tag = "events", params(("id" = Uuid, Path)),
    responses((status = 200, body = MarketEvent), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn close_event(auth: Auth, ApiPath(id): ApiPath<Uuid>) -> Result<Json<MarketEvent>> {
    auth.require("events:write")?;
    Ok(Json(
        auth.shop
            .run(move |ctx| ctx.set_event_status(id, "closed"))
            .await?,
    ))
}
