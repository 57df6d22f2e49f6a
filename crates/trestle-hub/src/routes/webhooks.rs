//! Webhooks: register (URL, secret, topics), list, delete, and each one's delivery log.

use axum::http::StatusCode;
use axum::Json;
use trestle_protocol::{CreateWebhook, DeliveryList, ErrorBody, Webhook, WebhookList};
use uuid::Uuid;

use crate::error::Result;
use crate::extract::{ApiJson, ApiPath, Auth};

/// Registers a webhook. Each delivery is a POST of the event JSON signed in the
/// `Trestle-Signature` header (see docs/hub-api.md), retried with backoff.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = Webhook), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_webhook(
    auth: Auth,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<Webhook>)> {
    auth.require("webhooks:write")?;
    let w = auth.shop.run(move |ctx| ctx.create_webhook(req)).await?;
    Ok((StatusCode::CREATED, Json(w)))
}

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_webhooks(auth: Auth) -> Result<Json<WebhookList>> {
    auth.require("webhooks:read")?;
    let webhooks = auth.shop.run(|ctx| ctx.webhooks()).await?;
    Ok(Json(WebhookList { webhooks }))
}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_webhook(auth: Auth, ApiPath(id): ApiPath<Uuid>) -> Result<StatusCode> {
    auth.require("webhooks:write")?;
    auth.shop.run(move |ctx| ctx.delete_webhook(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The webhook's deliveries, newest first: status, attempts, last answer.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = DeliveryList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_deliveries(auth: Auth, ApiPath(id): ApiPath<Uuid>) -> Result<Json<DeliveryList>> {
    auth.require("webhooks:read")?;
    let deliveries = auth.shop.run(move |ctx| ctx.deliveries(id)).await?;
    Ok(Json(DeliveryList { deliveries }))
}
