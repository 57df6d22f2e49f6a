//! The live stream: Server-Sent Events of the shop's log (orders, inventory levels,
//! reservations, …) as they are committed. Each subscriber has a bounded buffer; one that falls
//! behind it is dropped (the writer never waits for a reader) and reconnects.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use tokio::sync::broadcast::error::RecvError;
use trestle_protocol::ErrorBody;

use crate::app::AppState;
use crate::error::Result;
use crate::extract::Auth;

/// `text/event-stream`: one SSE message per event, `event:` the topic, `id:` its seq, `data:`
/// the `ShopEvent` JSON.
#[utoipa::path(get, path = "/v1/stream", tag = "stream",
    responses((status = 200, content_type = "text/event-stream", body = trestle_protocol::ShopEvent),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    auth.require("stream:read")?;
    let mut rx = auth.shop.subscribe();
    let metrics = state.metrics.clone();
    let events = async_stream(move |yield_| async move {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    let data = serde_json::to_string(&*e).unwrap_or_default();
                    let ev = Event::default()
                        .event(e.topic.clone())
                        .id(e.seq.to_string())
                        .data(data);
                    if yield_.send(Ok(ev)).await.is_err() {
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
fn async_stream<F, Fut>(f: F) -> impl Stream<Item = std::result::Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<std::result::Result<Event, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(f(tx));
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
