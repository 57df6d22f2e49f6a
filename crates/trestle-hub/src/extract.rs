//! The request boundary: the bearer-token extractor (`Auth`) with its scope and event checks,
//! and JSON, path and query extractors whose refusals are the hub's own `{"error":…}` bodies.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use trestle_protocol::TokenKind;
use uuid::Uuid;

use crate::app::AppState;
use crate::directory::Token;
use crate::error::{HubError, Result};
use crate::partition::Partition;

/// A request's valid token and its shop's partition. Every shop-scoped route takes its shop
/// from the token, never from the path, so one shop's token cannot reach another shop.
pub struct Auth {
    pub token: Token,
    pub shop: Arc<Partition>,
}

impl Auth {
    /// Refuses a token without `scope`.
    pub fn require(&self, scope: &'static str) -> Result<&Self> {
        if self.token.has(scope) {
            Ok(self)
        } else {
            Err(HubError::MissingScope(scope))
        }
    }

    /// The till of a device token (sync endpoints are for devices only).
    pub fn device(&self) -> Result<Uuid> {
        match (self.token.kind, self.token.device_id) {
            (TokenKind::Device, Some(d)) => Ok(d),
            _ => Err(HubError::DeviceOnly),
        }
    }

    /// The event a staff session is limited to.
    pub fn event_scope(&self) -> Option<Uuid> {
        match self.token.kind {
            TokenKind::Staff => self.token.event_id,
            _ => None,
        }
    }

    /// Refuses a staff session acting outside its event.
    pub fn allow_event(&self, event: Option<Uuid>) -> Result<()> {
        match self.event_scope() {
            Some(mine) if event != Some(mine) => Err(HubError::WrongEvent),
            _ => Ok(()),
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or(HubError::MissingToken)?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 200)
            .ok_or(HubError::BadToken)?;
        let token = state.directory.authenticate(secret)?;
        let shop = state.partition(token.shop_id)?;
        Ok(Auth { token, shop })
    }
}

/// A JSON body; malformed JSON is 400, a body of the wrong shape (unknown field, wrong type,
/// missing field) 422, a missing content type 415, too large 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = HubError;

    async fn from_request(req: Request, _state: &S) -> Result<Self> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Err(HubError::UnsupportedMediaType(
                "JSON with Content-Type: application/json",
            ));
        }
        let limit = trestle_protocol::MAX_JSON_BODY;
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| HubError::TooLarge { limit })?;
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

fn json_rejection(e: JsonRejection) -> HubError {
    match e {
        JsonRejection::JsonDataError(e) => HubError::invalid(
            "request.invalid_body",
            format!(
                "the request body does not fit: {}",
                inner_message(&e.body_text())
            ),
        ),
        JsonRejection::JsonSyntaxError(e) => HubError::BadRequest(format!(
            "the request body is not valid JSON: {}",
            inner_message(&e.body_text())
        )),
        JsonRejection::MissingJsonContentType(_) => {
            HubError::UnsupportedMediaType("JSON with Content-Type: application/json")
        }
        JsonRejection::BytesRejection(_) => HubError::TooLarge {
            limit: trestle_protocol::MAX_JSON_BODY,
        },
        other => HubError::BadRequest(format!("the request body could not be read ({other})")),
    }
}

/// serde's message without axum's prefix ("Failed to deserialize the JSON body into the target
/// type: ").
fn inner_message(text: &str) -> String {
    let t = text.rsplit_once(": ").map_or(text, |(_, b)| b);
    let t: String = t.chars().take(300).collect();
    if t.is_empty() {
        text.chars().take(300).collect()
    } else {
        t
    }
}

/// A path parameter (ids are UUIDs; anything else is 422 `request.invalid_id`).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(HubError::invalid(
                "request.invalid_id",
                "the id in the path is not an id (ids look like 0192f1c4-…)",
            )),
            Err(e) => Err(HubError::BadRequest(format!(
                "the path could not be read ({e})"
            ))),
        }
    }
}

/// Query parameters; unknown or malformed ones are 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(HubError::BadRequest(format!(
                    "the query string does not fit: {}",
                    inner_message(&e.body_text())
                )))
            }
            Err(e) => Err(HubError::BadRequest(format!(
                "the query string could not be read ({e})"
            ))),
        }
    }
}
