//! Inventory: levels per variant and holder, stock per location, transfers (allocation to a
//! till) and return requests.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use trestle_protocol::{
    CreateTransfer, ErrorBody, Inventory, InventoryLevel, Locations, RequestReturn,
    ReturnRequested, TransferList, TransferRecord,
};
use uuid::Uuid;

use crate::app::AppState;
use crate::error::{HubError, Result};
use crate::extract::{ApiJson, ApiPath, Auth};

/// Levels of every variant: each holder's free and held, on hand, and available online.
#[utoipa::path(get, path = "/v1/inventory", tag = "inventory",
    responses((status = 200, body = Inventory), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_inventory(auth: Auth) -> Result<Json<Inventory>> {
    auth.require("inventory:read")?;
    let levels = auth.shop.run(|ctx| ctx.inventory(None)).await?;
    Ok(Json(Inventory { levels }))
}

/// One variant's levels.
#[utoipa::path(get, path = "/v1/inventory/{variant_id}", tag = "inventory", params(("variant_id" = Uuid, Path)),
    responses((status = 200, body = InventoryLevel), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_variant_inventory(
    auth: Auth,
    ApiPath(v): ApiPath<Uuid>,
) -> Result<Json<InventoryLevel>> {
    auth.require("inventory:read")?;
    let mut levels = auth.shop.run(move |ctx| ctx.inventory(Some(v))).await?;
    levels
        .pop()
        .map(Json)
        .ok_or_else(|| HubError::not_found("variant", v))
}

/// Stock per location: the online warehouse and each event's tills together.
#[utoipa::path(get, path = "/v1/inventory/locations", tag = "inventory",
    responses((status = 200, body = Locations), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_locations(auth: Auth) -> Result<Json<Locations>> {
    auth.require("inventory:read")?;
    let locations = auth.shop.run(|ctx| ctx.locations()).await?;
    Ok(Json(Locations { locations }))
}

/// Corrects the online warehouse's own stock of a variant by a delta, with a reason.
#[utoipa::path(post, path = "/v1/inventory/counts", tag = "inventory", request_body = trestle_protocol::CountCorrection,
    responses((status = 200, body = InventoryLevel), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn count(
    auth: Auth,
    ApiJson(req): ApiJson<trestle_protocol::CountCorrection>,
) -> Result<Json<InventoryLevel>> {
    auth.require("inventory:write")?;
    Ok(Json(auth.shop.run(move |ctx| ctx.count(req)).await?))
}

/// Gives units of the online warehouse's free stock to a paired till (allocation to an event);
/// the event's pickup reservations travel with it.
#[utoipa::path(post, path = "/v1/transfers", tag = "inventory", request_body = CreateTransfer,
    responses((status = 201, body = TransferRecord), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_transfer(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<CreateTransfer>,
) -> Result<(StatusCode, Json<TransferRecord>)> {
    auth.require("inventory:write")?;
    require_device(&state, &auth, req.to_till)?;
    let rec = auth
        .shop
        .run(move |ctx| ctx.transfer(req.to_till, &req.lines))
        .await?;
    Ok((StatusCode::CREATED, Json(rec)))
}

fn require_device(state: &AppState, auth: &Auth, till: Uuid) -> Result<()> {
    if state.directory.is_device_of(auth.token.shop_id, till)? {
        Ok(())
    } else {
        Err(HubError::invalid(
            "transfer.unknown_till",
            format!("{till} is not a till paired with this shop"),
        ))
    }
}

/// Transfers from the online warehouse, newest first.
#[utoipa::path(get, path = "/v1/transfers", tag = "inventory",
    responses((status = 200, body = TransferList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_transfers(auth: Auth) -> Result<Json<TransferList>> {
    auth.require("inventory:read")?;
    let transfers = auth.shop.run(|ctx| ctx.transfers()).await?;
    Ok(Json(TransferList { transfers }))
}

/// Asks a till to give units back to the online warehouse; the till carries it out when it
/// next syncs (only a holder takes from its own counters).
#[utoipa::path(post, path = "/v1/returns", tag = "inventory", request_body = RequestReturn,
    responses((status = 202, body = ReturnRequested), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn request_return(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<RequestReturn>,
) -> Result<(StatusCode, Json<ReturnRequested>)> {
    auth.require("inventory:write")?;
    require_device(&state, &auth, req.till_id)?;
    let r = auth.shop.run(move |ctx| ctx.request_return(req)).await?;
    Ok((StatusCode::ACCEPTED, Json(r)))
}
