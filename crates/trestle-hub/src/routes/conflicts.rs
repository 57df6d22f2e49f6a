//! Conflicts a person must decide: list and resolve.

use axum::Json;
use serde::Deserialize;
use trestle_protocol::{ConflictList, ConflictRecord, ErrorBody, ResolveConflict};
use uuid::Uuid;

use crate::error::{HubError, Result};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConflictsQuery {
    /// `open` or `resolved`.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/v1/conflicts", tag = "conflicts", params(ConflictsQuery),
    responses((status = 200, body = ConflictList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_conflicts(
    auth: Auth,
    ApiQuery(q): ApiQuery<ConflictsQuery>,
) -> Result<Json<ConflictList>> {
    auth.require("conflicts:read")?;
    if let Some(s) = &q.status {
        if s != "open" && s != "resolved" {
            return Err(HubError::BadRequest(
                "status must be open or resolved".into(),
            ));
        }
    }
    let conflicts = auth
        .shop
        .run(move |ctx| ctx.conflicts(q.status.as_deref()))
        .await?;
    Ok(Json(ConflictList { conflicts }))
}

/// Resolves a conflict with one of the resolutions it offers.
#[utoipa::path(post, path = "/v1/conflicts/{id}/resolve", tag = "conflicts", params(("id" = Uuid, Path)),
    request_body = ResolveConflict,
    responses((status = 200, body = ConflictRecord), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resolve_conflict(
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ResolveConflict>,
) -> Result<Json<ConflictRecord>> {
    auth.require("conflicts:write")?;
    Ok(Json(
        auth.shop
            .run(move |ctx| ctx.resolve_conflict(id, &req.resolution, req.note))
            .await?,
    ))
}
