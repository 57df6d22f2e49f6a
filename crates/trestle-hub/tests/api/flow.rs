//! The storefront's path end to end: a shop, its catalog, stock, an event with a till, a ship
//! order and a pickup order that shows up as a reservation; and the basics every client needs.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn from_a_new_shop_to_a_pickup_order_showing_as_a_reservation() {
    let hub = Hub::start().await;
    let report = hub.import_kalima().await;
    assert_eq!(report["products"], 21);
    assert_eq!(report["variants"], 109);
    assert_eq!(report["new_variants"], 109);
    assert_eq!(report["skipped"], 0);

    let tee = hub.variant(TEE).await;
    let before = hub.available(&tee).await;
    let order = hub.checkout(&hub.admin, "order-1", ship(&tee, 2)).await;
    assert_eq!(order.status, 201, "{}", order.body);
    assert_eq!(order.body["number"], 1);
    assert_eq!(hub.available(&tee).await, before - 2);

    let (till, _) = hub.pair("Stall 1").await;
    let event = hub.event_with_till(&till).await;
    let p = hub
        .checkout(
            &hub.admin,
            "order-2",
            pickup(&tee, 1, &event, "pay_on_pickup"),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    let code = p.body["reservation"]["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8, "{code}");

    let found = hub
        .get(
            &format!("/v1/reservations?q={}", code.to_lowercase()),
            &hub.admin,
        )
        .await;
    let list = found.body["reservations"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", found.body);
    assert_eq!(list[0]["status"], "held");
    assert_eq!(list[0]["holder"], "hub");
    assert_eq!(list[0]["payment_state"], "pay_on_pickup");
    assert_eq!(list[0]["lines"][0]["qty"], 1);
    let level = hub.get(&format!("/v1/inventory/{tee}"), &hub.admin).await;
    assert_eq!(level.body["available"], before - 3);
    assert_eq!(level.body["held"], 1);

    // Allocation to the event's till: stock and the pickup travel together.
    let t = hub
        .post(
            "/v1/transfers",
            &hub.admin,
            json!({ "to_till": till, "lines": [{ "variant_id": tee, "qty": 1 }] }),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    assert_eq!(t.body["reservations_moved"].as_array().unwrap().len(), 1);
    let r = hub
        .get(
            &format!("/v1/reservations/{}", list[0]["id"].as_str().unwrap()),
            &hub.admin,
        )
        .await;
    assert_eq!(r.body["holder"], format!("till:{till}"));
    let level = hub.get(&format!("/v1/inventory/{tee}"), &hub.admin).await;
    let holders = level.body["holders"].as_array().unwrap();
    let at_till = holders
        .iter()
        .find(|h| h["holder"] == format!("till:{till}"))
        .unwrap();
    assert_eq!(
        (at_till["free"].as_i64(), at_till["held"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        level.body["on_hand"],
        before - 2,
        "the ship order left; everything else is here"
    );
}

#[tokio::test]
async fn health_openapi_and_metrics_answer() {
    let hub = Hub::start().await;
    let h = hub.call("GET", "/healthz", None, None, &[]).await;
    assert_eq!((h.status, h.body["status"].as_str()), (200, Some("ok")));
    let doc = hub.call("GET", "/v1/openapi.json", None, None, &[]).await;
    assert_eq!(doc.status, 200);
    let paths = doc.body["paths"].as_object().unwrap();
    for p in [
        "/v1/checkout",
        "/v1/sync/outbox",
        "/v1/webhooks",
        "/v1/stream",
        "/v1/pair",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    hub.get("/v1/catalog", &hub.admin).await;
    let m = hub.metrics().await;
    assert!(
        m.contains(
            "trestle_http_requests_total{method=\"GET\",route=\"/v1/catalog\",status=\"200\"} 1"
        ),
        "{m}"
    );
    assert!(m.contains(
        "trestle_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/catalog\""
    ));
    assert!(m.contains("trestle_checkouts_total 0"));
}

#[tokio::test]
async fn an_accepted_order_survives_a_restart() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let before = hub.available(&tee).await;
    let o = hub.checkout(&hub.admin, "k1", ship(&tee, 1)).await;
    assert_eq!(o.status, 201);
    let hub = hub.restart().await;
    assert_eq!(hub.available(&tee).await, before - 1);
    let again = hub.checkout(&hub.admin, "k1", ship(&tee, 1)).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], o.body["id"]);
    assert_eq!(hub.available(&tee).await, before - 1);
    let next = hub.checkout(&hub.admin, "k2", ship(&tee, 1)).await;
    assert_eq!(next.body["number"], 2);
}

/// The shop's WAL file, `<db>.shops/<shop>.sqlite-wal`, once it is at least `len` bytes long
/// (panics after 20 s).
async fn wal_reaches(hub: &Hub, len: u64) {
    let wal = hub.shop_file("-wal");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let now = std::fs::metadata(&wal).map_or(0, |m| m.len());
        if now >= len {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "the WAL is {now} bytes, never {len}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_shops_wal_is_written_ahead_at_every_start_and_its_orders_read_back() {
    let hub = Hub::start().await;
    wal_reaches(&hub, trestle_hub::partition::WAL_RESERVE).await;
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let before = hub.available(&tee).await;
    let o = hub.checkout(&hub.admin, "k1", ship(&tee, 2)).await;
    assert_eq!(o.status, 201);
    // The frames went over the zeros, and a restart reads them back and writes ahead again.
    let hub = hub.restart().await;
    wal_reaches(&hub, trestle_hub::partition::WAL_RESERVE).await;
    assert_eq!(hub.available(&tee).await, before - 2);
    let again = hub.checkout(&hub.admin, "k1", ship(&tee, 2)).await;
    assert_eq!(again.body["id"], o.body["id"]);
    assert_eq!(hub.available(&tee).await, before - 2);
}

#[tokio::test]
async fn a_shutdown_during_a_burst_loses_no_answered_order() {
    let mut hub = Hub::start().await;
    hub.import_kalima().await;
    let print = hub.variant(PRINT_CONTINUE).await;
    let before = hub.available(&print).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..300 {
        let done = done.clone();
        let (client, url, token, body) = (
            hub.client.clone(),
            format!("{}/v1/checkout", hub.url),
            hub.admin.clone(),
            ship(&print, 1),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", format!("burst-{i}"))
                .json(&body)
                .send()
                .await;
            let s = r.map(|r| r.status().as_u16()).unwrap_or(0);
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            s
        }));
    }
    // Shut down in the middle of the burst.
    while done.load(std::sync::atomic::Ordering::SeqCst) < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    hub.shutdown().await;
    let mut answered = 0;
    for t in tasks {
        match t.await.unwrap() {
            201 => answered += 1,
            0 | 503 => {}
            s => panic!("unexpected status {s}"),
        }
    }
    let hub = hub.restart().await;
    let orders = hub.get("/v1/orders?limit=500", &hub.admin).await;
    let stored = orders.body["orders"].as_array().unwrap().len();
    assert!(
        answered >= 40,
        "the shutdown came in the middle of the burst"
    );
    assert!(stored >= answered, "{answered} answered, {stored} stored");
    assert_eq!(
        hub.available(&print).await,
        before - stored as i64,
        "stock and orders agree"
    );
}

#[tokio::test]
async fn a_till_re_pairs_under_its_own_id_and_the_maker_renews_the_admin_token() {
    let hub = Hub::start().await;
    let (till, old) = hub.pair("Stall 1").await;
    let code = hub
        .post(
            "/v1/pairing-codes",
            &hub.admin,
            serde_json::json!({"till_name": "Stall 1"}),
        )
        .await;
    let again = hub
        .call(
            "POST",
            "/v1/pair",
            None,
            Some(serde_json::json!({"code": code.body["code"], "till_id": till})),
            &[],
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["till_id"], till.as_str());
    let new = again.body["device_token"].as_str().unwrap();
    assert_eq!(hub.get("/v1/sync/feed", new).await.status, 200);
    assert_eq!(
        hub.get("/v1/sync/feed", &old).await.status,
        401,
        "the old token is revoked"
    );
    // Another shop cannot take this till's id.
    let (_, other_admin) = hub.other_shop();
    let code = hub
        .post(
            "/v1/pairing-codes",
            &other_admin,
            serde_json::json!({"till_name": "Thief"}),
        )
        .await;
    let taken = hub
        .call(
            "POST",
            "/v1/pair",
            None,
            Some(serde_json::json!({"code": code.body["code"], "till_id": till})),
            &[],
        )
        .await;
    assert_eq!((taken.status, taken.code()), (422, "pairing.till_taken"));
    // The maker renews the admin token from the command line's directory call.
    let d = trestle_hub::directory::Directory::open(&hub.db).unwrap();
    let fresh = d
        .issue_admin_token(uuid::Uuid::parse_str(&hub.shop).unwrap())
        .unwrap();
    assert_eq!(
        hub.get("/v1/shop", &fresh).await.body["name"],
        "Kalima Arts"
    );
}
