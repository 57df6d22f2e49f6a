//! The one error type of `trestle-hub`: stable codes, the HTTP status of each, and the
//! `{"error":{"code","message"}}` body. Internal failures are logged with their cause and answered
//! with a generic sentence, so nothing internal leaks to clients.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use trestle_protocol::{ErrorBody, ErrorDetail};

/// Result with the hub's error.
pub type Result<T, E = HubError> = std::result::Result<T, E>;

/// Everything the hub can refuse or fail at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    #[error("{0}")]
    BadRequest(String),
    /// A request whose fields do not make sense together or fail validation.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("send a bearer token: Authorization: Bearer <token>")]
    MissingToken,
    #[error("the token is not valid (unknown, expired or revoked)")]
    BadToken,
    #[error("this token may not do that (it needs the {0:?} scope)")]
    MissingScope(&'static str),
    #[error("only a paired till's device token may use the sync endpoints")]
    DeviceOnly,
    #[error("this token is limited to another event")]
    WrongEvent,
    #[error("there is no {what} {id}")]
    NotFound { what: &'static str, id: String },
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyMismatch,
    #[error("the request body is larger than the {limit} bytes allowed")]
    TooLarge { limit: usize },
    #[error("send the body as {0}")]
    UnsupportedMediaType(&'static str),
    #[error("the hub is shutting down; retry in a moment")]
    Unavailable,
    #[error("{0}")]
    Domain(#[from] trestle_core::Error),
    #[error("{0}")]
    Replica(trestle_replica::Error),
    #[error("the hub could not complete the request (internal error)")]
    Internal(String),
}

impl HubError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> HubError {
        HubError::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> HubError {
        HubError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> HubError {
        HubError::Internal(e.to_string())
    }

    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            HubError::BadRequest(_) => "request.invalid",
            HubError::Invalid { code, .. } => code,
            HubError::MissingToken => "auth.missing_token",
            HubError::BadToken => "auth.invalid_token",
            HubError::MissingScope(_) => "auth.missing_scope",
            HubError::DeviceOnly => "auth.device_only",
            HubError::WrongEvent => "auth.wrong_event",
            HubError::NotFound { .. } => "not_found",
            HubError::Conflict { code, .. } => code,
            HubError::IdempotencyMismatch => "idempotency.key_reused",
            HubError::TooLarge { .. } => "request.too_large",
            HubError::UnsupportedMediaType(_) => "request.unsupported_media_type",
            HubError::Unavailable => "hub.unavailable",
            HubError::Domain(e) => e.code(),
            HubError::Replica(e) => e.code(),
            HubError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            HubError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HubError::Invalid { .. } | HubError::Domain(_) | HubError::IdempotencyMismatch => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            HubError::MissingToken | HubError::BadToken => StatusCode::UNAUTHORIZED,
            HubError::MissingScope(_) | HubError::WrongEvent | HubError::DeviceOnly => {
                StatusCode::FORBIDDEN
            }
            HubError::NotFound { .. } => StatusCode::NOT_FOUND,
            HubError::Conflict { .. } => StatusCode::CONFLICT,
            HubError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            HubError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HubError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            HubError::Replica(e) => match e.code() {
                "stock.short"
                | "reservation.closed"
                | "reservation.not_readyable"
                | "reservation.not_yours"
                | "replica.already_exists"
                | "reservation.collect_too_many"
                | "stock.not_held" => StatusCode::CONFLICT,
                "reservation.unknown" => StatusCode::NOT_FOUND,
                "catalog.unknown_variant" => StatusCode::UNPROCESSABLE_ENTITY,
                "replica.unreadable" | "replica.foreign_document" | "epoch.mismatch" => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                "ops.no_lines" | "transfer.to_self" | "count.zero" => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            HubError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body sent to the client.
    pub fn body(&self) -> ErrorBody {
        let details = match self {
            HubError::Conflict { details, .. } => details.clone(),
            _ => None,
        };
        let message = if self.status().is_server_error() {
            match self {
                HubError::Unavailable => self.to_string(),
                _ => "the hub could not complete the request (internal error)".to_string(),
            }
        } else {
            self.to_string()
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message,
                details,
            },
        }
    }
}

impl From<trestle_replica::Error> for HubError {
    fn from(e: trestle_replica::Error) -> Self {
        HubError::Replica(e)
    }
}

impl From<rusqlite::Error> for HubError {
    fn from(e: rusqlite::Error) -> Self {
        HubError::Internal(format!("database: {e}"))
    }
}

impl From<serde_json::Error> for HubError {
    fn from(e: serde_json::Error) -> Self {
        HubError::Internal(format!("json: {e}"))
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, detail = ?self, "request failed");
        }
        (status, axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let e = HubError::internal("disk I/O error at /secret/path");
        let body = e.body();
        assert_eq!(body.error.code, "internal");
        assert!(!body.error.message.contains("secret"));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn domain_refusals_are_4xx_with_their_own_codes() {
        let e = HubError::from(trestle_core::Error::EmptyCart);
        assert_eq!((e.status().as_u16(), e.code()), (422, "cart.empty"));
        assert_eq!(HubError::MissingScope("x").status().as_u16(), 403);
        assert_eq!(HubError::BadToken.status().as_u16(), 401);
    }
}
