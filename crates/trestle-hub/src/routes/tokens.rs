//! Tokens and pairing: pairing codes for tills, the pairing exchange itself, staff and
//! integration tokens, listing and revoking them, and the shop's own facts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use trestle_protocol::{
    CreatePairingCode, CreateToken, ErrorBody, PairRequest, Paired, PairingCode, ShopInfo,
    TokenCreated, TokenList,
};
use uuid::Uuid;

use crate::app::AppState;
use crate::db::rfc3339;
use crate::error::Result;
use crate::extract::{ApiJson, ApiPath, Auth};

/// A short, single-use pairing code for a till (valid ten minutes).
#[utoipa::path(post, path = "/v1/pairing-codes", tag = "pairing", request_body = CreatePairingCode,
    responses((status = 201, body = PairingCode), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_pairing_code(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<CreatePairingCode>,
) -> Result<(StatusCode, Json<PairingCode>)> {
    auth.require("tokens:write")?;
    let code = state
        .directory
        .create_pairing_code(auth.token.shop_id, &req.till_name)?;
    Ok((StatusCode::CREATED, Json(code)))
}

/// A till exchanges a pairing code for its device token (no bearer token needed).
#[utoipa::path(post, path = "/v1/pair", tag = "pairing", request_body = PairRequest,
    responses((status = 201, body = Paired), (status = 422, body = ErrorBody)))]
pub async fn pair(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<PairRequest>,
) -> Result<(StatusCode, Json<Paired>)> {
    let (shop, till, till_name, token, expires) = state.directory.pair(&req.code, req.till_id)?;
    let p = state.partition(shop)?;
    Ok((
        StatusCode::CREATED,
        Json(Paired {
            device_token: token,
            till_id: till,
            till_name,
            shop_id: shop,
            shop_name: p.shop.name.clone(),
            currency: p.shop.currency.code().to_string(),
            expires_at: rfc3339(expires),
        }),
    ))
}

/// A staff session (scoped to one event, short-lived) or an integration token.
#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = TokenCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<TokenCreated>)> {
    auth.require("tokens:write")?;
    if let Some(event) = req.event_id {
        auth.shop.run(move |ctx| ctx.event(event)).await?;
    }
    let created = state.directory.issue_token(auth.token.shop_id, &req)?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The shop's tokens (never their secrets).
#[utoipa::path(get, path = "/v1/tokens", tag = "tokens",
    responses((status = 200, body = TokenList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_tokens(State(state): State<AppState>, auth: Auth) -> Result<Json<TokenList>> {
    auth.require("tokens:write")?;
    Ok(Json(TokenList {
        tokens: state.directory.tokens(auth.token.shop_id)?,
    }))
}

/// Revokes a token at once.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode> {
    auth.require("tokens:write")?;
    state.directory.revoke(auth.token.shop_id, id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The shop the token belongs to.
#[utoipa::path(get, path = "/v1/shop", tag = "tokens",
    responses((status = 200, body = ShopInfo), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn shop_info(auth: Auth) -> Result<Json<ShopInfo>> {
    let s = &auth.shop.shop;
    Ok(Json(ShopInfo {
        id: s.id,
        name: s.name.clone(),
        currency: s.currency.code().to_string(),
        tax_mode: s.tax_mode.as_str().to_string(),
    }))
}
