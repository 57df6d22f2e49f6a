//! Pickup reservations through the API: found by code (typed or scanned), name, email or phone;
//! cancelled by the hub when it holds them, requested of the till when the till does; collected
//! in parts; and the refusals when the status forbids it.

use serde_json::json;

use crate::helpers::*;

struct Setup {
    hub: Hub,
    tee: String,
    till: String,
    device: String,
    event: String,
}

async fn setup() -> Setup {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let (till, device) = hub.pair("Stall 1").await;
    let event = hub.event_with_till(&till).await;
    Setup {
        hub,
        tee,
        till,
        device,
        event,
    }
}

async fn reserve(s: &Setup, key: &str, qty: u32) -> (String, String) {
    let r = s
        .hub
        .checkout(&s.hub.admin, key, pickup(&s.tee, qty, &s.event, "paid"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (
        r.body["reservation"]["id"].as_str().unwrap().into(),
        r.body["reservation"]["code"].as_str().unwrap().into(),
    )
}

async fn find(s: &Setup, q: &str) -> Vec<String> {
    let r = s
        .hub
        .get(
            &format!("/v1/reservations?q={}", urlencode(q)),
            &s.hub.admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn reservations_are_found_by_code_name_email_and_phone() {
    let s = setup().await;
    let (id, code) = reserve(&s, "r1", 1).await;
    assert_eq!(find(&s, &code).await, vec![id.clone()]);
    assert_eq!(
        find(&s, &code.to_lowercase().replace('-', " ")).await,
        vec![id.clone()]
    );
    assert_eq!(
        find(&s, &format!("TRESTLE:R:{}", code.replace('-', ""))).await,
        vec![id.clone()]
    );
    assert_eq!(find(&s, "grace").await, vec![id.clone()]);
    assert_eq!(find(&s, "@example.org").await, vec![id.clone()]);
    assert_eq!(find(&s, "900 123").await, vec![id.clone()]);
    assert_eq!(
        find(&s, "07700 900123").await,
        vec![id.clone()],
        "national form"
    );
    assert!(find(&s, "nobody").await.is_empty());
    let r = s
        .hub
        .get(
            &format!("/v1/reservations?event_id={}&status=held", s.event),
            &s.hub.admin,
        )
        .await;
    assert_eq!(r.body["reservations"].as_array().unwrap().len(), 1);
    let bad = s
        .hub
        .get("/v1/reservations?status=lost", &s.hub.admin)
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn the_hub_cancels_what_it_holds_and_the_units_go_back_on_sale() {
    let s = setup().await;
    let before = s.hub.available(&s.tee).await;
    let (id, _) = reserve(&s, "r1", 2).await;
    assert_eq!(s.hub.available(&s.tee).await, before - 2);
    let c = s
        .hub
        .post(
            &format!("/v1/reservations/{id}/cancel"),
            &s.hub.admin,
            json!({}),
        )
        .await;
    assert_eq!(
        (c.status, c.body["status"].as_str()),
        (200, Some("cancelled")),
        "{}",
        c.body
    );
    assert_eq!(s.hub.available(&s.tee).await, before);
    let again = s
        .hub
        .post(
            &format!("/v1/reservations/{id}/cancel"),
            &s.hub.admin,
            json!({}),
        )
        .await;
    assert_eq!((again.status, again.code()), (409, "reservation.closed"));
}

#[tokio::test]
async fn a_cancellation_of_what_a_till_holds_is_a_request_in_its_feed() {
    let s = setup().await;
    let (id, _) = reserve(&s, "r1", 1).await;
    let t = s
        .hub
        .post(
            "/v1/transfers",
            &s.hub.admin,
            json!({"to_till": s.till, "lines": [{"variant_id": s.tee, "qty": 1}]}),
        )
        .await;
    assert_eq!(t.body["reservations_moved"], json!([id]));
    let c = s
        .hub
        .post(
            &format!("/v1/reservations/{id}/cancel"),
            &s.hub.admin,
            json!({}),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["status"], "held", "only the till decides");
    assert_eq!(c.body["cancel_requested"], true);
    let feed = s.hub.get("/v1/sync/feed", &s.device).await;
    let e = feed.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "reservation.cancel_requested")
        .cloned()
        .unwrap();
    assert_eq!(e["body"]["reservation_id"], id.as_str());
    let next = feed.body["next_after"].as_i64().unwrap();
    let later = s
        .hub
        .get(&format!("/v1/sync/feed?after={next}"), &s.device)
        .await;
    assert_eq!(later.body["entries"], json!([]));
    let collect = s
        .hub
        .post(
            &format!("/v1/reservations/{id}/collected"),
            &s.hub.admin,
            json!({}),
        )
        .await;
    assert_eq!(
        (collect.status, collect.code()),
        (409, "reservation.not_yours")
    );
}

#[tokio::test]
async fn a_reservation_is_collected_in_parts() {
    let s = setup().await;
    let (id, _) = reserve(&s, "r1", 3).await;
    let part = s
        .hub
        .post(
            &format!("/v1/reservations/{id}/collected"),
            &s.hub.admin,
            json!({"lines": [{"variant_id": s.tee, "qty": 1}]}),
        )
        .await;
    assert_eq!(part.status, 200, "{}", part.body);
    assert_eq!(part.body["status"], "partially_collected");
    assert_eq!(part.body["lines"][0]["collected"], 1);
    let too_many = s
        .hub
        .post(
            &format!("/v1/reservations/{id}/collected"),
            &s.hub.admin,
            json!({"lines": [{"variant_id": s.tee, "qty": 3}]}),
        )
        .await;
    assert_eq!(
        (too_many.status, too_many.code()),
        (409, "reservation.collect_too_many")
    );
    let rest = s
        .hub
        .post(
            &format!("/v1/reservations/{id}/collected"),
            &s.hub.admin,
            json!({}),
        )
        .await;
    assert_eq!(rest.body["status"], "collected");
    let level = s
        .hub
        .get(&format!("/v1/inventory/{}", s.tee), &s.hub.admin)
        .await;
    assert_eq!(
        (level.body["held"].as_i64(), level.body["on_hand"].as_i64()),
        (Some(0), Some(2))
    );
    let done = s
        .hub
        .post(
            &format!("/v1/reservations/{id}/collected"),
            &s.hub.admin,
            json!({}),
        )
        .await;
    assert_eq!((done.status, done.code()), (409, "reservation.closed"));
}
