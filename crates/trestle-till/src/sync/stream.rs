//! The hub's live stream as the sync loop hears it: a Server-Sent Events reader (bounded, so a
//! hub that misbehaves cannot make the till buffer without end) and the listener thread that
//! keeps `GET /v1/stream` open while the till is online, resumes with `Last-Event-ID`, and wakes
//! the loop when another device's sale, stock, reservation, transfer, conflict or catalog event
//! arrives.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::agent::Shared;
use super::client::{jittered, CONNECT_TIMEOUT};

/// The longest line of the stream a till keeps (a shop event is a few KB at most).
const MAX_LINE: usize = 1024 * 1024;
/// The largest message (its `data:` lines together) a till keeps; a longer one is dropped whole.
const MAX_MESSAGE: usize = 2 * MAX_LINE;
/// The hub sends a keep-alive every 15 s; this long without a byte means the connection is gone.
const SILENCE: Duration = Duration::from_secs(45);

/// One SSE message: its `id:`, `event:` and `data:` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseMessage {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// An incremental `text/event-stream` reader: feed it bytes as they come, take whole messages.
#[derive(Debug, Default)]
pub struct SseReader {
    line: Vec<u8>,
    current: SseMessage,
    has_data: bool,
    /// Set when a line grew past `MAX_LINE`: the rest of it is skipped.
    skipping: bool,
    /// Set when a message's data grew past `MAX_MESSAGE`: it is dropped at its blank line.
    oversized: bool,
}

impl SseReader {
    pub fn new() -> SseReader {
        SseReader::default()
    }

    /// Takes `bytes`; returns every message they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseMessage> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                if !self.skipping {
                    let mut line = std::mem::take(&mut self.line);
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if let Some(m) = self.line_done(&line) {
                        out.push(m);
                    }
                }
                self.line.clear();
                self.skipping = false;
            } else if !self.skipping {
                if self.line.len() >= MAX_LINE {
                    self.skipping = true;
                    self.line.clear();
                } else {
                    self.line.push(b);
                }
            }
        }
        out
    }

    fn line_done(&mut self, line: &[u8]) -> Option<SseMessage> {
        if line.is_empty() {
            let m = std::mem::take(&mut self.current);
            let had = std::mem::replace(&mut self.has_data, false);
            let oversized = std::mem::replace(&mut self.oversized, false);
            return (had && !oversized).then_some(m);
        }
        if line.first() == Some(&b':') {
            return None; // a comment: the hub's keep-alive
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.find(':') {
            Some(i) => (
                &text[..i],
                text[i + 1..].strip_prefix(' ').unwrap_or(&text[i + 1..]),
            ),
            None => (text.as_ref(), ""),
        };
        match field {
            "id" => self.current.id = Some(value.to_string()),
            "event" => self.current.event = Some(value.to_string()),
            "data" => {
                if self.oversized || self.current.data.len() + value.len() + 1 > MAX_MESSAGE {
                    self.oversized = true;
                    self.current.data = String::new();
                    self.has_data = true;
                    return None;
                }
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }
}

/// A message of the hub's stream read as the shop event it carries (`data:` is the event's
/// JSON): its seq, topic and data. `None` for anything else (a keep-alive has no message at all).
pub fn hub_event(m: &SseMessage) -> Option<(i64, String, Value)> {
    let e: Event = serde_json::from_str(&m.data).ok()?;
    Some((e.seq, e.topic, e.data))
}

/// The fuzz target of the reader (`fuzz/fuzz_targets/sse_stream.rs`, and the seeds through
/// `tests/sse_seeds.rs` on stable): any bytes, fed whole or in chunks whose sizes the bytes
/// themselves choose, give the same messages; the buffers stay bounded; every message is read
/// as the listener reads it; and after any input a blank line and a good message are read.
/// Panics only when one of those fails.
pub fn fuzz_reader(bytes: &[u8]) {
    let mut whole = SseReader::new();
    let all = whole.feed(bytes);
    let mut chunked = SseReader::new();
    let mut got = Vec::new();
    let mut rest = bytes;
    let mut i = 0usize;
    while !rest.is_empty() {
        let size = usize::from(bytes[i % bytes.len()] % 29) + 1;
        let (now, later) = rest.split_at(size.min(rest.len()));
        got.extend(chunked.feed(now));
        rest = later;
        i += 1;
    }
    assert_eq!(all, got, "the same messages however the bytes are split");
    for r in [&whole, &chunked] {
        assert!(r.line.len() <= MAX_LINE, "a line is bounded");
        assert!(r.current.data.len() <= MAX_MESSAGE, "a message is bounded");
    }
    for m in &all {
        assert!(m.data.len() <= MAX_MESSAGE);
        if let Some((_, topic, data)) = hub_event(m) {
            let _ = wakes(&topic, &data, "till");
        }
    }
    let good = b"\n\nevent: sale.recorded\nid: 7\ndata: {\"seq\":7,\"topic\":\"sale.recorded\",\"data\":{}}\n\n";
    let after = whole.feed(good);
    let last = after
        .last()
        .expect("a good message is read after any input");
    assert_eq!(hub_event(last).map(|e| e.0), Some(7));
}

#[derive(Deserialize)]
struct Event {
    seq: i64,
    topic: String,
    #[serde(default)]
    data: Value,
}

/// Whether an event of the shop's log is news this till should sync for: anything about sales,
/// stock, reservations, transfers, events, catalog or conflicts — except a sale this till sent
/// itself.
pub fn wakes(topic: &str, data: &Value, till_id: &str) -> bool {
    let family = topic.split('.').next().unwrap_or("");
    if !matches!(
        family,
        "sale" | "inventory" | "reservation" | "transfer" | "event" | "catalog" | "conflict"
    ) {
        return false;
    }
    !(family == "sale" && data.get("till_id").and_then(Value::as_str) == Some(till_id))
}

/// What the listener needs to connect.
pub(crate) struct Target {
    pub url: String,
    pub token: String,
    pub till_id: String,
}

/// The listener thread's body: until the loop stops, keeps the stream open, waking the loop on
/// news; a lost or refused connection is retried with backoff and jitter.
pub(crate) fn listen(shared: Arc<Shared>, target: Target) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "the live stream listener could not start");
            return;
        }
    };
    rt.block_on(async move {
        let client = match reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("trestle-till/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "no HTTP client for the live stream");
                return;
            }
        };
        let mut failures = 0u32;
        while !shared.stopping() {
            let outcome = tokio::select! {
                o = session(&client, &shared, &target) => o,
                () = shared.stop_signal.notified() => break,
            };
            shared.set_live(false);
            failures = match outcome {
                Session::Ended => 1,
                Session::Failed => failures.saturating_add(1),
                Session::Refused => failures.saturating_add(4),
            };
            let wait = jittered(500, failures, 60_000);
            tracing::debug!(
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "live stream reconnecting"
            );
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shared.stop_signal.notified() => break,
            }
        }
    });
}

enum Session {
    /// It was open, then closed or went silent.
    Ended,
    /// No connection or a 5xx.
    Failed,
    /// The hub refused (401/403: an old device token without `stream:read`).
    Refused,
}

async fn session(client: &reqwest::Client, shared: &Shared, target: &Target) -> Session {
    let mut rb = client
        .get(format!("{}/v1/stream", target.url))
        .bearer_auth(&target.token)
        .header("accept", "text/event-stream");
    let after = shared.stream_after();
    if after > 0 {
        rb = rb.header("last-event-id", after.to_string());
    }
    let mut resp = match tokio::time::timeout(SILENCE, rb.send()).await {
        Ok(Ok(r)) => r,
        _ => return Session::Failed,
    };
    match resp.status().as_u16() {
        200 => {}
        401 | 403 => {
            tracing::warn!(
                status = resp.status().as_u16(),
                "the hub refused the live stream; syncing on a timer instead"
            );
            return Session::Refused;
        }
        _ => return Session::Failed,
    }
    shared.set_live(true);
    // What happened while the stream was down is fetched by a pass right away.
    shared.wake();
    let mut reader = SseReader::new();
    loop {
        match tokio::time::timeout(SILENCE, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => {
                let mut news = false;
                for m in reader.feed(&bytes) {
                    let Some((seq, topic, data)) = hub_event(&m) else {
                        continue;
                    };
                    shared.saw_event(seq);
                    if wakes(&topic, &data, &target.till_id) {
                        tracing::debug!(topic = %topic, seq, "hub news");
                        news = true;
                    }
                }
                if news {
                    shared.wake();
                }
            }
            _ => return Session::Ended,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_read_across_chunks_with_comments_and_crlf() {
        let mut r = SseReader::new();
        assert!(r.feed(b": keep-alive\n\nevent: sale.rec").is_empty());
        let got = r.feed(b"orded\r\nid: 7\r\ndata: {\"a\":\ndata: 1}\r\n\r\nid: 8\n");
        assert_eq!(
            got,
            vec![SseMessage {
                id: Some("7".into()),
                event: Some("sale.recorded".into()),
                data: "{\"a\":\n1}".into()
            }]
        );
        let got = r.feed(b"data: x\n\n");
        assert_eq!(got[0].id.as_deref(), Some("8"));
        assert_eq!(got[0].data, "x");
    }

    #[test]
    fn garbage_and_endless_lines_never_panic_nor_grow_without_bound() {
        let mut r = SseReader::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2_000 {
            let chunk: Vec<u8> = (0..64)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed & 0xff) as u8
                })
                .collect();
            let _ = r.feed(&chunk);
        }
        let long = vec![b'a'; MAX_LINE + 10];
        let _ = r.feed(b"data: ");
        let _ = r.feed(&long);
        assert!(r.line.len() <= MAX_LINE);
        assert!(r.feed(b"\ndata: ok\n\n").iter().any(|m| m.data == "ok"));
        // Endless data lines without a blank line: the message is dropped, not kept growing.
        let line = [b"data: ".as_slice(), &vec![b'x'; MAX_LINE - 10], b"\n"].concat();
        for _ in 0..4 {
            assert!(r.feed(&line).is_empty());
        }
        assert!(r.current.data.len() <= MAX_MESSAGE);
        let got = r.feed(b"\ndata: next\n\n");
        assert_eq!(
            got.len(),
            1,
            "the oversized message is dropped, the next one read"
        );
        assert_eq!(got[0].data, "next");
    }

    #[test]
    fn own_sales_do_not_wake_the_loop_other_news_does() {
        let mine = serde_json::json!({"till_id": "t1"});
        let theirs = serde_json::json!({"till_id": "t2"});
        assert!(!wakes("sale.recorded", &mine, "t1"));
        assert!(wakes("sale.recorded", &theirs, "t1"));
        assert!(wakes("inventory.updated", &Value::Null, "t1"));
        assert!(wakes("reservation.cancel_requested", &Value::Null, "t1"));
        assert!(!wakes("order.created", &Value::Null, "t1"));
        assert!(!wakes("webhook.failed", &Value::Null, "t1"));
    }
}
