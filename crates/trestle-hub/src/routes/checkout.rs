//! Checkout (idempotent by `Idempotency-Key`) and orders.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use trestle_protocol::{CheckoutRequest, ErrorBody, Order, OrderList};
use uuid::Uuid;

use crate::error::{HubError, Result};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};

/// The `Idempotency-Key` header: 1–200 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<String> {
    let v = headers.get("idempotency-key").ok_or_else(|| {
        HubError::invalid(
            "checkout.idempotency_key_required",
            "send an Idempotency-Key header (e.g. a UUID) so a retried checkout is not taken twice",
        )
    })?;
    let s = v.to_str().unwrap_or("").trim();
    if s.is_empty() || s.len() > 200 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(HubError::invalid(
            "checkout.invalid_idempotency_key",
            "the Idempotency-Key must be 1 to 200 visible ASCII characters",
        ));
    }
    Ok(s.to_string())
}

/// Takes an order from the online warehouse's own stock. The same key with the same body
/// answers the same order again (header `Idempotent-Replayed: true`); with another body it is
/// refused (422). Not enough stock: 409 `stock.short` naming the short variants.
#[utoipa::path(post, path = "/v1/checkout", tag = "checkout", request_body = CheckoutRequest,
    params(("Idempotency-Key" = String, Header, description = "Unique per order attempt; retries reuse it.")),
    responses((status = 201, body = Order), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn checkout(
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CheckoutRequest>,
) -> Result<Response> {
    auth.require("checkout:write")?;
    let key = idempotency_key(&headers)?;
    // The hash is over the parsed request, so formatting differences do not matter.
    let hash: [u8; 32] = Sha256::digest(serde_json::to_vec(&req)?).into();
    let token = auth.token.id;
    let out = auth
        .shop
        .run(move |ctx| ctx.checkout(req, key, hash, token))
        .await?;
    let mut res = (StatusCode::CREATED, Json(out.order)).into_response();
    if out.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    /// At most this many (1–500, default 100).
    pub limit: Option<i64>,
}

/// Orders, newest first.
#[utoipa::path(get, path = "/v1/orders", tag = "checkout", params(OrdersQuery),
    responses((status = 200, body = OrderList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_orders(
    auth: Auth,
    ApiQuery(q): ApiQuery<OrdersQuery>,
) -> Result<Json<OrderList>> {
    auth.require("orders:read")?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(HubError::BadRequest("limit must be from 1 to 500".into()));
    }
    let orders = auth.shop.run(move |ctx| ctx.orders(limit)).await?;
    Ok(Json(OrderList { orders }))
}

#[utoipa::path(get, path = "/v1/orders/{id}", tag = "checkout", params(("id" = Uuid, Path)),
    responses((status = 200, body = Order), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_order(auth: Auth, ApiPath(id): ApiPath<Uuid>) -> Result<Json<Order>> {
    auth.require("orders:read")?;
    Ok(Json(auth.shop.run(move |ctx| ctx.order(id)).await?))
}
