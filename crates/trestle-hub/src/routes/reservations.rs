//! Pickup reservations: list and find, read, cancel (a request when a till holds it), and
//! collected (a hand-over the online side made itself). Staff sessions see and change only the
//! reservations of their event.

use axum::Json;
use serde::Deserialize;
use trestle_protocol::{CollectRequest, ErrorBody, Reservation, ReservationList};
use uuid::Uuid;

use crate::error::{HubError, Result};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::partition::ReservationFilter;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReservationsQuery {
    pub event_id: Option<Uuid>,
    /// `held`, `ready`, `partially_collected`, `collected`, `cancelled` or `expired`.
    pub status: Option<String>,
    /// A pickup code (as typed or scanned), or part of the customer's name, email or phone.
    pub q: Option<String>,
}

const STATUSES: &[&str] = &[
    "held",
    "ready",
    "partially_collected",
    "collected",
    "cancelled",
    "expired",
];

#[utoipa::path(get, path = "/v1/reservations", tag = "reservations", params(ReservationsQuery),
    responses((status = 200, body = ReservationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_reservations(
    auth: Auth,
    ApiQuery(q): ApiQuery<ReservationsQuery>,
) -> Result<Json<ReservationList>> {
    auth.require("reservations:read")?;
    if let Some(s) = &q.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(HubError::BadRequest(format!(
                "{s:?} is not a reservation status"
            )));
        }
    }
    let event = match (auth.event_scope(), q.event_id) {
        (Some(mine), Some(asked)) if mine != asked => return Err(HubError::WrongEvent),
        (Some(mine), _) => Some(mine),
        (None, asked) => asked,
    };
    let filter = ReservationFilter {
        event,
        status: q.status,
        q: q.q
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.chars().take(100).collect()),
    };
    let reservations = auth.shop.run(move |ctx| ctx.reservations(&filter)).await?;
    Ok(Json(ReservationList { reservations }))
}

async fn allowed(auth: &Auth, id: Uuid) -> Result<Reservation> {
    let r = auth.shop.run(move |ctx| ctx.reservation(id)).await?;
    auth.allow_event(r.event_id)?;
    Ok(r)
}

#[utoipa::path(get, path = "/v1/reservations/{id}", tag = "reservations", params(("id" = Uuid, Path)),
    responses((status = 200, body = Reservation), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_reservation(auth: Auth, ApiPath(id): ApiPath<Uuid>) -> Result<Json<Reservation>> {
    auth.require("reservations:read")?;
    Ok(Json(allowed(&auth, id).await?))
}

/// Cancels a reservation the online warehouse holds (its units back on sale at once), or asks
/// the till that holds it to cancel (`cancel_requested: true`); the till decides, and a pickup
/// that already happened there becomes a conflict.
#[utoipa::path(post, path = "/v1/reservations/{id}/cancel", tag = "reservations", params(("id" = Uuid, Path)),
    responses((status = 200, body = Reservation), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel_reservation(
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Reservation>> {
    auth.require("reservations:write")?;
    allowed(&auth, id).await?;
    Ok(Json(
        auth.shop.run(move |ctx| ctx.cancel_reservation(id)).await?,
    ))
}

/// Records a hand-over made by the online side (e.g. collected from the studio): some lines,
/// or everything left when `lines` is absent. A reservation a till holds is handed over there.
#[utoipa::path(post, path = "/v1/reservations/{id}/collected", tag = "reservations", params(("id" = Uuid, Path)),
    request_body = CollectRequest,
    responses((status = 200, body = Reservation), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn collect_reservation(
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<CollectRequest>,
) -> Result<Json<Reservation>> {
    auth.require("reservations:write")?;
    allowed(&auth, id).await?;
    Ok(Json(
        auth.shop
            .run(move |ctx| ctx.collect_reservation(id, req.lines))
            .await?,
    ))
}

/// Marks a reservation the online warehouse holds packed and ready to hand over
/// (`reservation.ready`; marking it again changes nothing). A reservation a till holds is marked
/// ready at that till, and reaches the storefront with its next sync.
#[utoipa::path(post, path = "/v1/reservations/{id}/ready", tag = "reservations", params(("id" = Uuid, Path)),
    responses((status = 200, body = Reservation), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn ready_reservation(
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Reservation>> {
    auth.require("reservations:write")?;
    allowed(&auth, id).await?;
    Ok(Json(
        auth.shop.run(move |ctx| ctx.ready_reservation(id)).await?,
    ))
}
