//! Checkout: idempotency by key and body, the escrow check against the hub's own stock under a
//! race of concurrent buyers, made-to-order variants, and pickups held as reservations.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_same_key_and_body_is_the_same_order_and_another_body_is_refused() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let first = hub.checkout(&hub.admin, "key-A", ship(&tee, 1)).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(first.headers.get("idempotent-replayed").is_none());
    // Same body, differently formatted: still the same request.
    let raw = serde_json::to_string_pretty(&ship(&tee, 1)).unwrap();
    let again = hub
        .client
        .post(format!("{}/v1/checkout", hub.url))
        .bearer_auth(&hub.admin)
        .header("idempotency-key", "key-A")
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again, first.body);
    assert_eq!(hub.available(&tee).await, 4, "taken once");

    let other = hub.checkout(&hub.admin, "key-A", ship(&tee, 2)).await;
    assert_eq!(
        (other.status, other.code()),
        (422, "idempotency.key_reused")
    );
    let none = hub
        .call(
            "POST",
            "/v1/checkout",
            Some(&hub.admin),
            Some(ship(&tee, 1)),
            &[],
        )
        .await;
    assert_eq!(
        (none.status, none.code()),
        (422, "checkout.idempotency_key_required")
    );
    assert_eq!(hub.available(&tee).await, 4, "refusals take nothing");
    let orders = hub.get("/v1/orders", &hub.admin).await;
    assert_eq!(orders.body["orders"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn many_buyers_racing_for_few_units_get_exactly_those_units() {
    let hub = std::sync::Arc::new(Hub::start().await);
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    hub.add_stock(&tee, 7).await; // 5 + 7 = 12 units
    let mut tasks = Vec::new();
    for i in 0..200 {
        let hub = hub.clone();
        let tee = tee.clone();
        tasks.push(tokio::spawn(async move {
            let r = hub
                .checkout(&hub.admin, &format!("buyer-{i}"), ship(&tee, 1))
                .await;
            // Every retry of the same key gives the same answer.
            let again = hub
                .checkout(&hub.admin, &format!("buyer-{i}"), ship(&tee, 1))
                .await;
            (r.status, r.code().to_string(), again.status)
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        let (status, code, again) = t.await.unwrap();
        match status {
            201 => {
                accepted += 1;
                assert_eq!(again, 201);
            }
            409 => assert_eq!(code, "stock.short"),
            s => panic!("unexpected {s} {code}"),
        }
    }
    assert_eq!(accepted, 12, "exactly the units there were");
    assert_eq!(hub.available(&tee).await, 0, "no counter below zero");
    let short = hub.checkout(&hub.admin, "late", ship(&tee, 1)).await;
    assert_eq!(short.status, 409);
    assert_eq!(
        short.body["error"]["details"]["short"][0]["variant_id"],
        tee.as_str()
    );
    assert_eq!(short.body["error"]["details"]["short"][0]["available"], 0);
}

#[tokio::test]
async fn made_to_order_variants_sell_online_beyond_stock_and_deny_variants_do_not() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let print = hub.variant(PRINT_CONTINUE).await;
    let r = hub.checkout(&hub.admin, "mto", ship(&print, 60)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        hub.available(&print).await,
        -10,
        "made to order: the shortfall shows"
    );
    let tee = hub.variant(TEE).await;
    let r = hub.checkout(&hub.admin, "deny", ship(&tee, 6)).await;
    assert_eq!((r.status, r.code()), (409, "stock.short"));
    assert_eq!(hub.available(&tee).await, 5);
}

#[tokio::test]
async fn prices_and_tax_follow_the_core_rules() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let r = hub.checkout(&hub.admin, "tax", ship(&tee, 3)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // £19.00 each, tax-inclusive at 20%: 57.00 total, 9.50 tax (57 × 20/120).
    assert_eq!(r.body["totals"]["total_minor"], 5700);
    assert_eq!(r.body["totals"]["tax_minor"], 950);
    assert_eq!(r.body["lines"][0]["unit_price_minor"], 1900);
    assert_eq!(r.body["currency"], "GBP");
}

#[tokio::test]
async fn pickups_hold_units_and_refuse_closed_events_and_bad_payments() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let (till, _) = hub.pair("Stall 1").await;
    let event = hub.event_with_till(&till).await;
    let r = hub
        .checkout(&hub.admin, "p1", pickup(&tee, 2, &event, "deposit"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["reservation"]["qr"]
        .as_str()
        .unwrap()
        .starts_with("TRESTLE:R:"));
    let level = hub.get(&format!("/v1/inventory/{tee}"), &hub.admin).await;
    assert_eq!(
        (
            level.body["available"].as_i64(),
            level.body["held"].as_i64()
        ),
        (Some(3), Some(2))
    );

    let bad = hub
        .checkout(&hub.admin, "p2", {
            let mut b = ship(&tee, 1);
            b["payment"] = json!("pay_on_pickup");
            b
        })
        .await;
    assert_eq!((bad.status, bad.code()), (422, "checkout.payment_for_ship"));

    let closed = hub
        .post(&format!("/v1/events/{event}/close"), &hub.admin, json!({}))
        .await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    let late = hub
        .checkout(&hub.admin, "p3", pickup(&tee, 1, &event, "paid"))
        .await;
    assert_eq!((late.status, late.code()), (422, "checkout.event_closed"));
    let nowhere = hub
        .checkout(
            &hub.admin,
            "p4",
            pickup(&tee, 1, "0192f1c4-0000-7000-8000-000000000000", "paid"),
        )
        .await;
    assert_eq!(
        (nowhere.status, nowhere.code()),
        (422, "checkout.unknown_event")
    );
}

#[tokio::test]
async fn an_open_events_pickups_go_straight_to_its_till_and_show_in_its_feed() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let (till, device) = hub.pair("Stall 1").await;
    let event = hub.event_with_till(&till).await;
    let open = hub
        .post(&format!("/v1/events/{event}/open"), &hub.admin, json!({}))
        .await;
    assert_eq!(
        (open.status, open.body["status"].as_str()),
        (200, Some("open"))
    );
    let r = hub
        .checkout(&hub.admin, "p1", pickup(&tee, 1, &event, "paid"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let res = hub
        .get(
            &format!(
                "/v1/reservations/{}",
                r.body["reservation"]["id"].as_str().unwrap()
            ),
            &hub.admin,
        )
        .await;
    assert_eq!(res.body["holder"], format!("till:{till}"));
    let feed = hub.get("/v1/sync/feed?after=0", &device).await;
    let kinds: Vec<&str> = feed.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"reservation.assigned"), "{kinds:?}");
    assert!(kinds.contains(&"event.updated"), "{kinds:?}");
}

/// The writer's (transactions, jobs) counters.
async fn commits(hub: &Hub) -> (u64, u64) {
    let m = hub.metrics().await;
    let read = |name: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap()
            .parse()
            .unwrap()
    };
    (
        read("trestle_commit_batches_total"),
        read("trestle_commit_batched_jobs_total"),
    )
}

#[tokio::test]
async fn a_burst_of_checkouts_is_committed_in_one_transaction() {
    let hub = std::sync::Arc::new(Hub::start().await);
    hub.import_kalima().await;
    let print = hub.variant(PRINT_CONTINUE).await;
    let (b0, j0) = commits(&hub).await;
    // While the writer is busy, 100 checkouts queue up; they are then taken together.
    // Long enough for all 100 to arrive even on a loaded machine.
    let held = hub.hold_writer(1500);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (hub, print) = (hub.clone(), print.clone());
        tasks.push(tokio::spawn(async move {
            hub.checkout(&hub.admin, &format!("g{i}"), ship(&print, 1))
                .await
                .status
        }));
    }
    held.await.unwrap();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let (b1, j1) = commits(&hub).await;
    // The hold, the 100 checkouts, and maybe a webhook worker's poll of its own.
    let extra = (j1 - j0).checked_sub(101).expect("every job counted");
    assert!(extra <= 2, "{} jobs", j1 - j0);
    assert!(
        b1 - b0 <= 3 + extra,
        "{} transactions for {} jobs",
        b1 - b0,
        j1 - j0
    );
    assert_eq!(hub.available(&print).await, 50 - 100);
}

#[tokio::test]
async fn an_online_made_to_order_shortfall_is_a_conflict_to_resolve() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let print = hub.variant(PRINT_CONTINUE).await;
    hub.checkout(&hub.admin, "m1", ship(&print, 30)).await;
    assert_eq!(
        hub.get("/v1/conflicts", &hub.admin).await.body["conflicts"],
        json!([])
    );
    hub.checkout(&hub.admin, "m2", ship(&print, 30)).await;
    hub.checkout(&hub.admin, "m3", ship(&print, 5)).await;
    let c = hub.get("/v1/conflicts?status=open", &hub.admin).await;
    let list = c.body["conflicts"].as_array().unwrap();
    assert_eq!(
        list.len(),
        1,
        "one open conflict, kept up to date: {}",
        c.body
    );
    assert_eq!(list[0]["kind"], "conflict.made_to_order_short");
    assert_eq!(list[0]["holder"], "hub");
    assert_eq!(list[0]["facts"]["free"], -15);
    assert_eq!(
        list[0]["resolutions"],
        json!(["make_more", "contact_customer"])
    );
}
