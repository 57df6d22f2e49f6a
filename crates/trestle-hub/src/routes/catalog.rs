//! The catalog: reading it, and the admin's import of the Shopify product CSV export.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::Json;
use trestle_core::import::{parse_shopify_csv, ImportSettings};
use trestle_protocol::{Catalog, ErrorBody, ImportSummary, MAX_CSV_BODY};

use crate::error::{HubError, Result};
use crate::extract::Auth;

/// Every variant of the shop's catalog.
#[utoipa::path(get, path = "/v1/catalog", tag = "catalog",
    responses((status = 200, body = Catalog), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_catalog(auth: Auth) -> Result<Json<Catalog>> {
    auth.require("catalog:read")?;
    let variants = auth.shop.run(|ctx| Ok(ctx.catalog())).await?;
    Ok(Json(Catalog { variants }))
}

/// Imports a Shopify product CSV export (`Content-Type: text/csv`): new variants with the file's
/// stock as the online warehouse's opening stock; known ones get the file's catalog fields.
#[utoipa::path(post, path = "/v1/catalog/import", tag = "catalog",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportSummary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_catalog(
    auth: Auth,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<ImportSummary>> {
    auth.require("catalog:write")?;
    let csv = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    if !csv {
        return Err(HubError::UnsupportedMediaType(
            "CSV with Content-Type: text/csv",
        ));
    }
    let body = body.map_err(|_| HubError::TooLarge {
        limit: MAX_CSV_BODY,
    })?;
    let settings = ImportSettings {
        currency: auth.shop.shop.currency,
        default_tax_rate: auth.shop.shop.tax_rate,
    };
    let report = tokio::task::spawn_blocking(move || parse_shopify_csv(&body, &settings))
        .await
        .map_err(HubError::internal)??;
    let summary = auth.shop.run(move |ctx| ctx.import_catalog(report)).await?;
    Ok(Json(summary))
}
