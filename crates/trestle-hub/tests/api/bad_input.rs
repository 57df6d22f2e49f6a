//! Bad input everywhere: each refusal is a 4xx with a code in the `{"error":…}` body, and
//! changes nothing.

use serde_json::{json, Value};

use crate::helpers::*;

async fn raw(hub: &Hub, method: &str, path: &str, ctype: Option<&str>, body: Vec<u8>) -> Res {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = hub
        .client
        .request(m, format!("{}{path}", hub.url))
        .bearer_auth(&hub.admin);
    if let Some(c) = ctype {
        rb = rb.header("content-type", c);
    }
    let r = rb
        .header("idempotency-key", "bad-1")
        .body(body)
        .send()
        .await;
    Res::read(r.unwrap()).await
}

/// (method, path, content type, body, status wanted, code wanted).
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    u16,
    &'static str,
);

async fn state(hub: &Hub) -> (Value, Value, Value) {
    (
        hub.get("/v1/inventory", &hub.admin).await.body,
        hub.get("/v1/orders", &hub.admin).await.body,
        hub.get("/v1/events", &hub.admin).await.body,
    )
}

#[tokio::test]
async fn malformed_bodies_paths_and_queries_are_refused_with_codes_and_change_nothing() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let before = state(&hub).await;
    let json = Some("application/json");
    let big = vec![b' '; trestle_protocol::MAX_JSON_BODY + 10];
    let cases: Vec<Case> = vec![
        ("POST", "/v1/checkout", json, b"{not json".to_vec(), 400, "request.invalid"),
        ("POST", "/v1/checkout", None, serde_json::to_vec(&ship(&tee, 1)).unwrap(), 415, "request.unsupported_media_type"),
        ("POST", "/v1/checkout", json, big, 413, "request.too_large"),
        ("POST", "/v1/checkout", json, br#"{"lines":[],"customer":{"name":"A"},"fulfilment":{"type":"ship"},"coupon":"FREE"}"#.to_vec(), 422, "request.invalid_body"),
        ("POST", "/v1/checkout", json, br#"{"lines":"many","customer":{"name":"A"},"fulfilment":{"type":"ship"}}"#.to_vec(), 422, "request.invalid_body"),
        ("POST", "/v1/checkout", json, br#"{"lines":[],"customer":{"name":"A"},"fulfilment":{"type":"drone"}}"#.to_vec(), 422, "request.invalid_body"),
        ("POST", "/v1/checkout", json, br#"{"lines":[],"customer":{"name":"A"},"fulfilment":{"type":"ship"}}"#.to_vec(), 422, "request.no_lines"),
        ("POST", "/v1/checkout", json, serde_json::to_vec(&ship(&tee, 0)).unwrap(), 422, "cart.invalid_quantity"),
        ("POST", "/v1/checkout", json, serde_json::to_vec(&ship(&tee, 1_000_000)).unwrap(), 422, "cart.invalid_quantity"),
        ("POST", "/v1/checkout", json, serde_json::to_vec(&ship("0192f1c4-0000-7000-8000-000000000000", 1)).unwrap(), 422, "catalog.unknown_variant"),
        ("POST", "/v1/checkout", json, serde_json::to_vec(&json!({"lines":[{"variant_id": tee, "qty": 1}],"customer":{"name":"  "},"fulfilment":{"type":"ship"}})).unwrap(), 422, "request.invalid_name"),
        ("POST", "/v1/checkout", json, serde_json::to_vec(&json!({"lines":[{"variant_id": tee, "qty": 1}],"customer":{"name":"A\u{7}"},"fulfilment":{"type":"ship"}})).unwrap(), 422, "request.invalid_name"),
        ("POST", "/v1/events", json, br#"{"name":"Fair","starts":"tomorrow","ends":"2026-12-01"}"#.to_vec(), 422, "request.invalid_time"),
        ("POST", "/v1/events", json, br#"{"name":"Fair","starts":"2026-12-02","ends":"2026-12-01"}"#.to_vec(), 422, "event.ends_before_start"),
        ("POST", "/v1/events/not-an-id/open", json, b"{}".to_vec(), 422, "request.invalid_id"),
        ("GET", "/v1/orders/12345", None, vec![], 422, "request.invalid_id"),
        ("GET", "/v1/orders?limit=0", None, vec![], 400, "request.invalid"),
        ("GET", "/v1/orders?colour=red", None, vec![], 400, "request.invalid"),
        ("GET", "/v1/nothing-here", None, vec![], 404, "not_found"),
        ("DELETE", "/v1/checkout", None, vec![], 405, "request.method_not_allowed"),
        ("POST", "/v1/catalog/import", Some("text/csv"), b"not,a,shopify\nexport,at,all\n".to_vec(), 422, "import.missing_column"),
        ("POST", "/v1/catalog/import", Some("text/csv"), vec![0xff, 0xfe, 0x00], 422, "import.not_utf8"),
        ("POST", "/v1/catalog/import", Some("text/csv"), vec![], 422, "import.no_header"),
        ("POST", "/v1/catalog/import", json, b"Handle,Title\n".to_vec(), 415, "request.unsupported_media_type"),
        ("POST", "/v1/inventory/counts", json, serde_json::to_vec(&json!({"variant_id": tee, "delta": -6, "reason": "lost"})).unwrap(), 409, "stock.short"),
        ("POST", "/v1/inventory/counts", json, serde_json::to_vec(&json!({"variant_id": tee, "delta": 0, "reason": "x"})).unwrap(), 422, "count.invalid_delta"),
        ("POST", "/v1/transfers", json, serde_json::to_vec(&json!({"to_till": "0192f1c4-0000-7000-8000-000000000000", "lines": [{"variant_id": tee, "qty": 1}]})).unwrap(), 422, "transfer.unknown_till"),
        ("POST", "/v1/pair", json, br#"{"code":"AAAA-BBBB"}"#.to_vec(), 422, "pairing.invalid_code"),
        ("POST", "/v1/tokens", json, br#"{"kind":"integration","scopes":["everything"]}"#.to_vec(), 422, "token.invalid_scope"),
    ];
    for (method, path, ctype, body, status, code) in cases {
        let r = raw(&hub, method, path, ctype, body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        let got = r.body["error"]["code"].as_str().unwrap_or("");
        assert!(
            got.starts_with(code),
            "{method} {path}: wanted {code}, got {}",
            r.body
        );
        let message = r.body["error"]["message"].as_str().unwrap_or("");
        assert!(
            !message.is_empty() && !message.contains("internal"),
            "{method} {path}: {message}"
        );
    }
    assert_eq!(state(&hub).await, before, "refusals changed nothing");
}

#[tokio::test]
async fn a_transfer_beyond_the_hubs_stock_is_refused_whole() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let print = hub.variant(PRINT_CONTINUE).await;
    let (till, _) = hub.pair("Stall 1").await;
    let before = state(&hub).await;
    let r = hub
        .post(
            "/v1/transfers",
            &hub.admin,
            json!({"to_till": till, "lines": [
            {"variant_id": print, "qty": 1}, {"variant_id": tee, "qty": 6}]}),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "stock.short"), "{}", r.body);
    let after = state(&hub).await;
    assert_eq!(after.0, before.0, "no half transfer");
    assert_eq!(
        hub.get("/v1/transfers", &hub.admin).await.body["transfers"],
        json!([])
    );
}

#[tokio::test]
async fn a_transfer_racing_a_burst_of_checkouts_never_fails_the_batch() {
    let hub = std::sync::Arc::new(Hub::start().await);
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    hub.add_stock(&tee, 15).await; // 20 free
    let (till, _) = hub.pair("Stall 1").await;
    for round in 0..3 {
        // Checkouts, a transfer of everything and a correction of everything, in one batch.
        let held = hub.hold_writer(300);
        let mut tasks = Vec::new();
        for i in 0..42 {
            let (hub, tee, till) = (hub.clone(), tee.clone(), till.clone());
            tasks.push(tokio::spawn(async move {
                let r = match i {
                    20 => {
                        let body =
                            json!({"to_till": till, "lines": [{"variant_id": tee, "qty": 20}]});
                        hub.post("/v1/transfers", &hub.admin, body).await
                    }
                    21 => {
                        let body = json!({"variant_id": tee, "delta": -20, "reason": "damaged"});
                        hub.post("/v1/inventory/counts", &hub.admin, body).await
                    }
                    _ => {
                        hub.checkout(&hub.admin, &format!("r{round}-{i}"), ship(&tee, 1))
                            .await
                    }
                };
                (i, r.status)
            }));
        }
        held.await.unwrap();
        let mut units = 0;
        for task in tasks {
            match task.await.unwrap() {
                (20, 201) | (21, 200) => units += 20,
                (_, 201) => units += 1,
                (_, 409) => {}
                (i, s) => panic!("round {round}: request {i} answered {s}"),
            }
        }
        assert_eq!(units, 20, "round {round}: every unit went exactly one way");
        assert_eq!(hub.available(&tee).await, 0);
        hub.add_stock(&tee, 20).await;
    }
}
