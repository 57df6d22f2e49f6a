//! The tills' sync endpoints (device tokens only): outbox batches, Automerge sync messages
//! (raw bytes), and the device's feed.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use trestle_protocol::exchange::{
    ExchangeRequest, FrameError, EXCHANGE_CONTENT_TYPE, MAX_EXCHANGE_BODY, MAX_EXCHANGE_DECODED,
};
use trestle_protocol::{
    EpochStarted, ErrorBody, Feed, OutboxAck, OutboxBatch, EPOCH_HEADER, MAX_CSV_BODY,
    SYNC_SESSION_HEADER,
};

use crate::error::{HubError, Result};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::partition::{Decoded, Prepared};

/// Stores outbox entries once per `event_id`; resending a batch is always safe.
#[utoipa::path(post, path = "/v1/sync/outbox", tag = "sync", request_body = OutboxBatch,
    responses((status = 200, body = OutboxAck), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn outbox(auth: Auth, ApiJson(batch): ApiJson<OutboxBatch>) -> Result<Json<OutboxAck>> {
    auth.require("sync")?;
    let device = auth.device()?;
    let ack = auth
        .shop
        .run(move |ctx| ctx.ingest_outbox(device, batch.entries))
        .await?;
    Ok(Json(ack))
}

/// One round of Automerge sync: the body is the till's sync message (may be empty to ask for
/// the hub's first message), the answer the hub's next message, or 204 when both sides agree.
/// `Trestle-Sync-Session` names the session; a new session starts from nothing.
#[utoipa::path(post, path = "/v1/sync/automerge", tag = "sync",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    params(("Trestle-Sync-Session" = String, Header, description = "1–100 characters naming this sync session")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 204),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn automerge_sync(
    auth: Auth,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    auth.require("sync")?;
    let device = auth.device()?;
    let session = headers
        .get(SYNC_SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 100)
        .ok_or_else(|| {
            HubError::invalid(
                "sync.session_required",
                "send a Trestle-Sync-Session header (1 to 100 characters) naming this sync session",
            )
        })?
        .to_string();
    let epoch = epoch_header(&headers)?;
    let body = body.map_err(|_| HubError::TooLarge {
        limit: MAX_CSV_BODY,
    })?;
    let reply = auth
        .shop
        .run(move |ctx| {
            if let Some(theirs) = epoch {
                let ours = ctx.epoch();
                if theirs != ours {
                    return Err(HubError::Conflict {
                        code: "sync.new_epoch",
                        message: format!(
                            "the shop document is in epoch {ours}, not {theirs}; adopt epoch {ours} first"
                        ),
                        details: Some(serde_json::json!({ "epoch": ours })),
                    });
                }
            }
            ctx.sync_message(device, session, body.to_vec())
        })
        .await?;
    Ok(match reply {
        Some(bytes) => (
            [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
            bytes,
        )
            .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The bulk exchange (docs/sync.md): the till's whole pending outbox, its heads and the changes
/// the hub lacks in one zstd frame; the answer is the acknowledgement, the hub's heads and the
/// changes the till lacks. Resending is always safe (entries by event id, changes by hash).
#[utoipa::path(post, path = "/v1/sync/exchange", tag = "sync",
    request_body(content = Vec<u8>, content_type = "application/vnd.trestle.exchange+zstd"),
    responses((status = 200, content_type = "application/vnd.trestle.exchange+zstd", body = Vec<u8>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn exchange(
    auth: Auth,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    auth.require("sync")?;
    let device = auth.device()?;
    let body = body.map_err(|_| HubError::TooLarge {
        limit: MAX_EXCHANGE_BODY,
    })?;
    let (head, entries) = ExchangeRequest::open(&body).map_err(frame_error)?;
    // The entries decode on a thread of their own and reach the writer as they come, which
    // stores them meanwhile (a damage found late fails the job and undoes them). An OS thread,
    // not tokio's bounded blocking pool: the writer waits for this decoder, so it must never sit
    // queued behind other requests' decoders, which wait for the writer in turn.
    let (to_writer, decoded) = std::sync::mpsc::sync_channel(DECODE_AHEAD);
    std::thread::Builder::new()
        .name("exchange-decode".into())
        .spawn(move || {
            // Each entry's log event is serialised here too, beside the writer (decision 198).
            let mut failed = None;
            let ended = entries.decode_chunked(DECODE_CHUNK, |chunk| {
                let prepared = chunk
                    .into_iter()
                    .map(|e| Prepared::new(device, e))
                    .collect();
                match prepared {
                    Ok(prepared) => to_writer.send(Decoded::Entries(prepared)).is_ok(),
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            });
            let _ = to_writer.send(match (ended, failed) {
                (_, Some(e)) => Decoded::Failed(e),
                (Ok(()), None) => Decoded::Done,
                (Err(e), None) => Decoded::Failed(frame_error(e)),
            });
        })
        .map_err(|_| HubError::Unavailable)?;
    let answer = auth
        .shop
        .run(move |ctx| ctx.exchange_streamed(device, head, decoded))
        .await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, EXCHANGE_CONTENT_TYPE)],
        answer.encode(),
    )
        .into_response())
}

/// Outbox entries per chunk handed from the exchange's decoder to the writer.
const DECODE_CHUNK: usize = 256;
/// Chunks the decoder may run ahead of the writer.
const DECODE_AHEAD: usize = 4;

/// An exchange frame's damage as the till is told it.
fn frame_error(e: FrameError) -> HubError {
    match e {
        FrameError::TooLarge => HubError::TooLarge {
            limit: MAX_EXCHANGE_DECODED,
        },
        FrameError::Malformed(why) => HubError::invalid("sync.bad_exchange", why),
    }
}

/// The hub's whole shop document (Automerge bytes) for a newly paired till to start from;
/// after that the till keeps up with `/v1/sync/automerge`.
#[utoipa::path(get, path = "/v1/sync/snapshot", tag = "sync",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn snapshot(auth: Auth) -> Result<Response> {
    auth.require("sync")?;
    let device = auth.device()?;
    let bytes = auth.shop.run(move |ctx| ctx.snapshot(device)).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// Entries after this seq (0 for all).
    pub after: Option<i64>,
}

/// What is new for this till: allocations, reservations handed to it, return and cancellation
/// requests, event changes.
#[utoipa::path(get, path = "/v1/sync/feed", tag = "sync", params(FeedQuery),
    responses((status = 200, body = Feed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn feed(auth: Auth, ApiQuery(q): ApiQuery<FeedQuery>) -> Result<Json<Feed>> {
    auth.require("sync")?;
    let device = auth.device()?;
    let after = q.after.unwrap_or(0).max(0);
    let (entries, next_after) = auth.shop.run(move |ctx| ctx.feed(device, after)).await?;
    Ok(Json(Feed {
        entries,
        next_after,
    }))
}

/// The `Trestle-Epoch` header, when sent: a number.
fn epoch_header(headers: &HeaderMap) -> Result<Option<u64>> {
    headers
        .get(EPOCH_HEADER)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    HubError::invalid(
                        "sync.bad_epoch",
                        "the Trestle-Epoch header must be the number of an epoch",
                    )
                })
        })
        .transpose()
}

/// A till that kept working in the previous epoch sends its whole document of that epoch: the
/// hub merges it into that epoch's archive and carries the till's late changes into the current
/// epoch (once, however often it is sent); the answer is the archive as it is now, which the till
/// merges before it adopts the current epoch.
#[utoipa::path(post, path = "/v1/sync/carry", tag = "sync",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn carry(
    auth: Auth,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    auth.require("sync")?;
    let device = auth.device()?;
    let body = body.map_err(|_| HubError::TooLarge {
        limit: MAX_CSV_BODY,
    })?;
    let bytes = auth
        .shop
        .run(move |ctx| ctx.carry(device, body.to_vec()))
        .await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
        bytes,
    )
        .into_response())
}

/// Starts a new epoch of the shop document (compaction: the history so far is archived and the
/// new epoch starts from the current values). Tills adopt it at their next sync, carrying what
/// they did offline in the old one.
#[utoipa::path(post, path = "/v1/epochs", tag = "sync",
    responses((status = 201, body = EpochStarted), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn start_epoch(auth: Auth) -> Result<(StatusCode, Json<EpochStarted>)> {
    auth.require("inventory:write")?;
    let epoch = auth.shop.run(|ctx| ctx.start_epoch()).await?;
    Ok((StatusCode::CREATED, Json(EpochStarted { epoch })))
}
