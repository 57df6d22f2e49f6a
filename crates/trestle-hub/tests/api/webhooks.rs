//! Webhooks delivered to a real local HTTP receiver: signed with HMAC-SHA256 over timestamp and
//! body (checked here independently of the hub's own code), retried with backoff after failures,
//! and logged; and the live stream (SSE) carrying a shop's events and only its own, in the very
//! bytes the log stores and webhooks send.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::*;

/// What the receiver was sent: (headers, body), and how many first requests it fails with 500.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    fail_first: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(fail_first: usize) -> (Receiver, String) {
        let rec = Receiver::default();
        *rec.fail_first.lock().unwrap() = fail_first;
        let r = rec.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let r = r.clone();
                async move {
                    r.got.lock().unwrap().push((headers, body));
                    let mut f = r.fail_first.lock().unwrap();
                    if *f > 0 {
                        *f -= 1;
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        (rec, url)
    }

    async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, String)> {
        for _ in 0..200 {
            if self.got.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.got.lock().unwrap().clone()
    }
}

const SECRET: &str = "whsec-0123456789abcdef";

/// Recomputes the signature from the header's timestamp and the raw body.
fn signature_ok(headers: &HeaderMap, body: &str) -> bool {
    let h = headers["trestle-signature"].to_str().unwrap();
    let (t, v1) = h.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes()) == v1
}

async fn register(hub: &Hub, url: &str, topics: &[&str]) -> String {
    let r = hub
        .post(
            "/v1/webhooks",
            &hub.admin,
            json!({"url": url, "secret": SECRET, "topics": topics}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_delivery_is_signed_over_timestamp_and_body() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let (rec, url) = Receiver::start(0).await;
    register(&hub, &url, &["order.created"]).await;
    let tee = hub.variant(TEE).await;
    let order = hub.checkout(&hub.admin, "w1", ship(&tee, 1)).await;
    let got = rec.wait_for(1).await;
    assert_eq!(got.len(), 1, "one delivery for the one subscribed event");
    let (headers, body) = &got[0];
    assert!(signature_ok(headers, body), "signature does not verify");
    assert!(
        !signature_ok(headers, &body.replace("Ada", "Eve")),
        "a changed body must fail"
    );
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["topic"], "order.created");
    assert_eq!(event["data"]["id"], order.body["id"]);
    assert_eq!(headers["trestle-topic"], "order.created");
    let t: i64 = headers["trestle-signature"].to_str().unwrap()[2..12]
        .parse()
        .unwrap();
    let now = trestle_hub::db::now_ms() / 1000;
    assert!((now - t).abs() < 60);
    // Only subscribed topics: the inventory change of the same order was not sent.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rec.got.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff_and_logged() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let (rec, url) = Receiver::start(2).await;
    let id = register(&hub, &url, &["*"]).await;
    let tee = hub.variant(TEE).await;
    hub.checkout(&hub.admin, "w1", ship(&tee, 1)).await;
    // order.created and inventory.updated: each fails twice, then lands.
    let got = rec.wait_for(4).await;
    assert!(got.len() >= 4);
    let log = loop {
        let l = hub
            .get(&format!("/v1/webhooks/{id}/deliveries"), &hub.admin)
            .await;
        let all = l.body["deliveries"].as_array().unwrap().clone();
        if all.iter().all(|d| d["status"] == "delivered") {
            break all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(log.len(), 2);
    let attempts: i64 = log.iter().map(|d| d["attempts"].as_i64().unwrap()).sum();
    assert_eq!(attempts, 4, "two failures, then two successes: {log:?}");
    // Every attempt of one delivery carries the same delivery id, so receivers can dedupe.
    let ids: std::collections::BTreeSet<String> = rec
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| h["trestle-delivery"].to_str().unwrap().to_string())
        .collect();
    let topics: Vec<String> = rec
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| h["trestle-topic"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "deliveries {ids:?} of topics {topics:?}; log {log:?}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retried_and_never_blocks_checkout() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    // Port 1: nothing listens there, and unlike a port that was free a moment ago no other
    // test's receiver can be given it (tests bind port 0, which picks from the ephemeral range).
    let url = "http://127.0.0.1:1/hook".to_string();
    let id = register(&hub, &url, &["order.created"]).await;
    let tee = hub.variant(TEE).await;
    let started = std::time::Instant::now();
    for i in 0..3 {
        let r = hub
            .checkout(&hub.admin, &format!("u{i}"), ship(&tee, 1))
            .await;
        assert_eq!(r.status, 201);
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    // Each delivery fails, and is tried again after 50 ms, 100 ms, … (bounded wait).
    let mut log = Vec::new();
    for _ in 0..100 {
        let l = hub
            .get(&format!("/v1/webhooks/{id}/deliveries"), &hub.admin)
            .await;
        log = l.body["deliveries"].as_array().unwrap().clone();
        if log.len() == 3 && log.iter().all(|d| d["attempts"].as_i64().unwrap_or(0) >= 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log.len(), 3);
    for d in &log {
        assert_eq!(d["status"], "pending");
        assert!(d["attempts"].as_i64().unwrap() >= 2, "{d}");
        assert_eq!(d["last_error"], "the endpoint could not be reached");
    }
    let m = hub.metrics().await;
    assert!(
        !m.contains("trestle_webhook_attempt_failures_total 0\n"),
        "{m}"
    );
}

#[tokio::test]
async fn bad_webhook_registrations_are_refused() {
    let hub = Hub::start().await;
    for (body, code) in [
        (
            json!({"url": "ftp://x/y", "secret": SECRET, "topics": ["*"]}),
            "webhook.invalid_url",
        ),
        (
            json!({"url": "http://127.0.0.1:1/h", "secret": "short", "topics": ["*"]}),
            "webhook.invalid_secret",
        ),
        (
            json!({"url": "http://127.0.0.1:1/h", "secret": SECRET, "topics": []}),
            "webhook.no_topics",
        ),
        (
            json!({"url": "http://127.0.0.1:1/h", "secret": SECRET, "topics": ["order.eaten"]}),
            "webhook.unknown_topic",
        ),
    ] {
        let r = hub.post("/v1/webhooks", &hub.admin, body).await;
        assert_eq!((r.status, r.code()), (422, code));
    }
    let list = hub.get("/v1/webhooks", &hub.admin).await;
    assert_eq!(list.body["webhooks"], json!([]));
    // The secret is never given back.
    let (_, url) = Receiver::start(0).await;
    register(&hub, &url, &["*"]).await;
    let list = hub.get("/v1/webhooks", &hub.admin).await;
    assert!(!list.body.to_string().contains(SECRET));
}

/// Reads the stream until `needle` appears or `ms` pass; returns what was read.
async fn read_stream(resp: &mut reqwest::Response, needle: &str, ms: u64) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    while !text.contains(needle) {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(c))) => text.push_str(&String::from_utf8_lossy(&c)),
            _ => break,
        }
    }
    text
}

#[tokio::test]
async fn the_live_stream_carries_the_shops_events_and_only_its_own() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let (_, other_admin) = hub.other_shop();
    let open = |token: String| {
        let c = hub.client.clone();
        let url = format!("{}/v1/stream", hub.url);
        async move { c.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let mut mine = open(hub.admin.clone()).await;
    let mut theirs = open(other_admin).await;
    assert_eq!(mine.status().as_u16(), 200);
    assert_eq!(mine.headers()["content-type"], "text/event-stream");
    let tee = hub.variant(TEE).await;
    let order = hub.checkout(&hub.admin, "s1", ship(&tee, 1)).await;
    let text = read_stream(&mut mine, "event: inventory.updated", 3000).await;
    assert!(text.contains("event: order.created"), "{text}");
    assert!(text.contains(order.body["id"].as_str().unwrap()), "{text}");
    assert!(text.contains("event: inventory.updated"), "{text}");
    let other = read_stream(&mut theirs, "order.created", 300).await;
    assert!(
        !other.contains("order.created"),
        "another shop's stream saw: {other}"
    );
}

#[tokio::test]
async fn a_client_resuming_the_stream_gets_what_it_missed_first() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let order = hub.checkout(&hub.admin, "m1", ship(&tee, 1)).await;
    let mut resumed = hub
        .client
        .get(format!("{}/v1/stream", hub.url))
        .bearer_auth(&hub.admin)
        .header("last-event-id", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status().as_u16(), 200);
    let text = read_stream(&mut resumed, order.body["id"].as_str().unwrap(), 3000).await;
    assert!(text.contains("event: order.created"), "{text}");
    assert!(
        !text.contains("id: 1\n"),
        "seq 1 (the catalog import) was seen already: {text}"
    );
    let bad = hub
        .call(
            "GET",
            "/v1/stream",
            Some(&hub.admin),
            None,
            &[("last-event-id", "yesterday")],
        )
        .await;
    assert_eq!(bad.status, 400);
}

/// The `data:` of the first SSE message of `topic` in `text`.
fn sse_data<'a>(text: &'a str, topic: &str) -> &'a str {
    let at = text
        .find(&format!("event: {topic}\n"))
        .unwrap_or_else(|| panic!("no {topic} in {text}"));
    let rest = &text[at..];
    let data = rest.find("data: ").expect("a data line") + "data: ".len();
    let end = rest[data..].find('\n').expect("a whole line");
    &rest[data..data + end]
}

#[tokio::test]
async fn a_till_sale_reaches_the_stream_a_webhook_and_a_resumed_stream_in_the_same_bytes() {
    let hub = Hub::start().await;
    let (rec, url) = Receiver::start(0).await;
    register(&hub, &url, &["sale.recorded"]).await;
    let (till, device) = hub.pair("Stall 1").await;
    let stream = |after: Option<&str>| {
        let mut req = hub
            .client
            .get(format!("{}/v1/stream", hub.url))
            .bearer_auth(&hub.admin);
        if let Some(a) = after {
            req = req.header("last-event-id", a);
        }
        async move { req.send().await.unwrap() }
    };
    let mut live = stream(None).await;
    let entry = crate::sync::sale_envelope(&till, uuid::Uuid::from_u128(7));
    let r = hub
        .post(
            "/v1/sync/outbox",
            &device,
            json!({"entries": [entry.clone()]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let text = read_stream(&mut live, "event: sale.recorded", 3000).await;
    let streamed = sse_data(&text, "sale.recorded").to_string();
    let got = rec.wait_for(1).await;
    assert_eq!(got.len(), 1, "one delivery of the one sale");
    assert_eq!(streamed, got[0].1, "the stream and the webhook differ");
    let mut resumed = stream(Some("0")).await;
    let replayed = read_stream(&mut resumed, "event: sale.recorded", 3000).await;
    assert_eq!(sse_data(&replayed, "sale.recorded"), streamed);

    let event: Value = serde_json::from_str(&streamed).unwrap();
    assert_eq!(event["topic"], "sale.recorded");
    assert_eq!(event["data"]["till_id"], json!(till));
    assert_eq!(event["data"]["event_id"], json!(uuid::Uuid::from_u128(7)));
    assert_eq!(event["data"]["record"], entry["event"]);
}
