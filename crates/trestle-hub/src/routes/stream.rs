//! The live stream: Server-Sent Events of the shop's log (orders, inventory levels,
//! reservations, …) as they are committed. A client that reconnects with `Last-Event-ID` (or
//! `?after=SEQ`) first gets what it missed from the log, then the live events. Each subscriber
//! has a bounded buffer; one that falls behind it is dropped (the writer never waits for a
//! reader) and reconnects.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use trestle_protocol::{ErrorBody, ShopEvent};

use crate::app::AppState;
use crate::error::{HubError, Result};
use crate::extract::{ApiQuery, Auth};

/// Events of the log replayed to a resuming client at most.
const REPLAY: i64 = 10_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Resume after this log seq (the `Last-Event-ID` header does the same).
    pub after: Option<i64>,
}

fn sse(e: &ShopEvent) -> Event {
    Event::default()
        .event(e.topic.clone())
        .id(e.seq.to_string())
        .data(serde_json::to_string(e).unwrap_or_default())
}

/// `text/event-stream`: one SSE message per event, `event:` the topic, `id:` its seq, `data:`
/// the `ShopEvent` JSON.
#[utoipa::path(get, path = "/v1/stream", tag = "stream", params(StreamQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this seq")),
    responses((status = 200, content_type = "text/event-stream", body = trestle_protocol::ShopEvent),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    auth.require("stream:read")?;
    let header = headers.get("last-event-id").map(|v| {
        v.to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| HubError::BadRequest("Last-Event-ID must be a log seq".into()))
    });
    let after = match (header.transpose()?, q.after) {
        (Some(h), _) => Some(h),
        (None, a) => a,
    };
    // Subscribe before reading the backlog so nothing falls between the two.
    let mut rx = auth.shop.subscribe();
    let backlog = match after {
        Some(seq) => auth.shop.run(move |ctx| ctx.log_after(seq, REPLAY)).await?,
        None => Vec::new(),
    };
    let metrics = state.metrics.clone();
    let mut closing = state.closing.subscribe();
    let events = channel_stream(move |out| async move {
        let mut last = after.unwrap_or(0);
        for e in &backlog {
            if out.send(Ok(sse(e))).await.is_err() {
                return;
            }
            last = e.seq;
        }
        loop {
            let next = tokio::select! {
                e = rx.recv() => e,
                // The hub is shutting down: end the response so the shutdown can finish.
                _ = closing.wait_for(|c| *c) => return,
            };
            match next {
                Ok(e) if e.seq <= last => {}
                Ok(e) => {
                    last = e.seq;
                    if out.send(Ok(sse(&e))).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    metrics.stream_client_dropped();
                    return;
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A stream fed by a task through a small channel: the task ends when the client goes away.
fn channel_stream<F, Fut>(f: F) -> impl Stream<Item = std::result::Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<std::result::Result<Event, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(f(tx));
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
