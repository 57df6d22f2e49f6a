//! The rest of the pickup races, end to end with the real hub (in-process on port 0) and tills
//! run as the real `trestle` binary: a pickup cancelled online while it is *partly* handed over
//! at the stall is a collect/cancel race (refund or keep), never a silent cancellation of the
//! rest — whether the hub learns of the hand-over before or after the cancellation — and its
//! resolution is carried out (refund: the rest goes back on sale; keep: the rest stays to
//! collect). And the X/Z report counts only the pickups handed over at its own till.

mod common;
#[path = "common/hub.rs"]
mod hub;
#[path = "common/pickups.rs"]
mod pickups;

use common::*;
use hub::*;
use pickups::*;
use serde_json::{json, Value};

/// A hub with the Kalima catalog, one till paired as "Stall 1" and given `units` tees, an open
/// event with that till, and a webhook receiver for the reservation topics.
fn stall(units: u32) -> (Hub, Cli, String, String, String, Receiver) {
    let hub = Hub::start();
    hub.import_kalima();
    let tee = hub.variant(TEE);
    let hook = Receiver::start();
    hook.subscribe(
        &hub,
        &[
            "reservation.created",
            "reservation.collected",
            "reservation.cancelled",
        ],
    );
    let till = Cli::gbp();
    let id = pair(&till, &hub, "Stall 1")["till_id"]
        .as_str()
        .unwrap()
        .to_string();
    hub.allocate(&id, &[(&tee, units)]);
    let event = open_event(&hub, &[&id]);
    (hub, till, id, tee, event, hook)
}

/// A market event running today with `tills`, opened at the hub; returns its id.
fn open_event(hub: &Hub, tills: &[&str]) -> String {
    let event = event_with(hub, tills);
    let (s, b) = hub.call("POST", &format!("/v1/events/{event}/open"), None);
    assert_eq!(s, 200, "{b}");
    event
}

/// A market event running today with `tills`, not open yet; returns its id.
fn event_with(hub: &Hub, tills: &[&str]) -> String {
    let (s, ev) = hub.call(
        "POST",
        "/v1/events",
        Some(json!({"name": "Winter fair", "starts": "2020-01-01", "ends": "2099-01-01"})),
    );
    assert_eq!(s, 201, "{ev}");
    let event = ev["id"].as_str().unwrap().to_string();
    for t in tills {
        let (s, b) = hub.call(
            "POST",
            &format!("/v1/events/{event}/tills"),
            Some(json!({"till_id": t})),
        );
        assert_eq!(s, 200, "{b}");
    }
    event
}

fn reservation(hub: &Hub, id: &str) -> Value {
    let (s, r) = hub.call("GET", &format!("/v1/reservations/{id}"), None);
    assert_eq!(s, 200, "{r}");
    r
}

fn resolve(hub: &Hub, conflict: &Value, with: &str) {
    let (s, b) = hub.call(
        "POST",
        &format!("/v1/conflicts/{}/resolve", conflict["id"].as_str().unwrap()),
        Some(json!({ "resolution": with })),
    );
    assert_eq!(s, 200, "{b}");
}

/// The till's (free, held) of `variant`, from the hub's view after a sync.
fn at_till(hub: &Hub, till: &str, variant: &str) -> (i64, i64) {
    hub.holders(variant)
        .get(&format!("till:{till}"))
        .copied()
        .unwrap_or((0, 0))
}

#[test]
fn partly_handed_over_while_cancelled_online_is_a_race_and_refund_releases_the_rest() {
    let (hub, till, till_id, tee, event, hook) = stall(3);
    let (s, o) = checkout_pickup(&hub, "order-p1", &tee, &event, "paid", 2);
    assert_eq!(s, 201, "{o}");
    let r = o["reservation"]["id"].as_str().unwrap().to_string();
    let code = o["reservation"]["code"].as_str().unwrap().to_string();
    till.json(&["sync"]);
    // Offline: one of the two tees is handed over; meanwhile the customer cancels online.
    let c = till.json(&[
        "reservations",
        "collect",
        &code,
        "--line",
        &format!("{tee}=1"),
    ]);
    assert_eq!(c["pickup"]["status"], "partially_collected", "{c}");
    let (s, b) = hub.call("POST", &format!("/v1/reservations/{r}/cancel"), None);
    assert_eq!((s, &b["cancel_requested"]), (200, &json!(true)), "{b}");
    assert!(open_conflicts(&hub, "conflict.collect_cancel_race").is_empty());

    till.json(&["sync"]);
    // The rest is not cancelled silently: still one to collect at the till, still held there.
    let p = &till.json(&["reservations", "find", &code])[0];
    assert_eq!(p["status"], "partially_collected", "{p}");
    assert_eq!(p["lines"][0]["remaining"], 1, "{p}");
    assert_eq!(reservation(&hub, &r)["status"], "partially_collected");
    assert_eq!(at_till(&hub, &till_id, &tee), (3, 1));
    let feed = till.json(&["feed"]);
    let asked = feed
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "reservation.cancel_requested")
        .unwrap_or_else(|| panic!("{feed}"));
    assert!(
        asked["outcome"]
            .as_str()
            .unwrap()
            .contains("partly handed over"),
        "{asked}"
    );
    // A conflict offering refund or keep, with what was collected.
    let race = open_conflicts(&hub, "conflict.collect_cancel_race");
    assert_eq!(race.len(), 1, "{race:?}");
    assert_eq!(race[0]["facts"]["reservation_id"], r.as_str());
    assert_eq!(
        race[0]["facts"]["status_at_the_till"],
        "partially_collected"
    );
    assert_eq!(race[0]["facts"]["lines"][0]["collected"], 1);
    assert_eq!(race[0]["resolutions"], json!(["refund", "keep"]));
    // Syncing again records nothing new.
    till.json(&["sync"]);
    assert_eq!(
        open_conflicts(&hub, "conflict.collect_cancel_race").len(),
        1
    );

    // The maker refunds: the till cancels what is left at its next sync; the unit is free.
    resolve(&hub, &race[0], "refund");
    till.json(&["sync"]);
    let p = &till.json(&["reservations", "find", &code])[0];
    assert_eq!(p["status"], "cancelled", "{p}");
    assert_eq!(p["lines"][0]["collected"], 1, "{p}");
    assert_eq!(reservation(&hub, &r)["status"], "cancelled");
    assert_eq!(at_till(&hub, &till_id, &tee), (4, 0));
    assert!(open_conflicts(&hub, "conflict.collect_cancel_race").is_empty());
    assert_eq!(hook.count("reservation.collected", &r), 1);
    assert_eq!(hook.count("reservation.cancelled", &r), 1);
    assert!(till.json(&["audit"]).as_array().unwrap().is_empty());
}

#[test]
fn cancelled_online_after_the_hub_saw_a_partial_hand_over_is_a_race_and_keep_keeps_the_rest() {
    let (hub, till, till_id, tee, event, hook) = stall(3);
    let (s, o) = checkout_pickup(&hub, "order-p2", &tee, &event, "pay_on_pickup", 2);
    assert_eq!(s, 201, "{o}");
    let r = o["reservation"]["id"].as_str().unwrap().to_string();
    let code = o["reservation"]["code"].as_str().unwrap().to_string();
    till.json(&["sync"]);
    till.json(&[
        "reservations",
        "collect",
        &code,
        "--line",
        &format!("{tee}=1"),
        "--pay",
        "cash=50",
    ]);
    till.json(&["sync"]);
    assert_eq!(reservation(&hub, &r)["status"], "partially_collected");
    // The hub knows part left with the customer: the cancellation is a race at once, and the
    // till is not asked to cancel anything silently.
    let (s, b) = hub.call("POST", &format!("/v1/reservations/{r}/cancel"), None);
    assert_eq!(
        (s, &b["status"]),
        (200, &json!("partially_collected")),
        "{b}"
    );
    let race = open_conflicts(&hub, "conflict.collect_cancel_race");
    assert_eq!(race.len(), 1, "{race:?}");
    assert_eq!(race[0]["holder"], format!("till:{till_id}"));
    till.json(&["sync"]);
    assert_eq!(
        till.json(&["reservations", "find", &code])[0]["status"],
        "partially_collected"
    );
    // The maker keeps the order: the request is withdrawn and the rest is handed over later.
    resolve(&hub, &race[0], "keep");
    assert_eq!(reservation(&hub, &r)["cancel_requested"], false);
    till.json(&["sync"]);
    let c = till.json(&["reservations", "collect", &code, "--pay", "cash=50"]);
    assert_eq!(c["pickup"]["status"], "collected", "{c}");
    till.json(&["sync"]);
    assert_eq!(reservation(&hub, &r)["status"], "collected");
    assert!(open_conflicts(&hub, "conflict.collect_cancel_race").is_empty());
    assert_eq!(at_till(&hub, &till_id, &tee), (3, 0));
    assert_eq!(hook.count("reservation.cancelled", &r), 0);
    assert_eq!(hook.count("reservation.collected", &r), 2);
}

#[test]
fn the_report_counts_only_the_pickups_handed_over_at_its_own_till() {
    let hub = Hub::start();
    hub.import_kalima();
    let tee = hub.variant(TEE);
    let (t1, id1, t2, id2) = two_paired_tills(&hub);
    // The tee's five units: one for till 2 to hand over from, four for the online pickups.
    hub.allocate(&id2, &[(&tee, 1)]);
    // Made before the event opens, one pickup stays with the hub; after, they go to the first
    // till.
    let event = event_with(&hub, &[&id1, &id2]);
    let (s, at_hub) = checkout_pickup(&hub, "order-h", &tee, &event, "paid", 1);
    assert_eq!(s, 201, "{at_hub}");
    let (s, b) = hub.call("POST", &format!("/v1/events/{event}/open"), None);
    assert_eq!(s, 200, "{b}");
    let (_, mine) = checkout_pickup(&hub, "order-1", &tee, &event, "paid", 2);
    let (_, theirs) = checkout_pickup(&hub, "order-2", &tee, &event, "paid", 1);
    for t in [&t1, &t2] {
        t.json(&["sync"]);
        t.json(&["event", "open", &event, "--float", "20"]);
    }
    let code = |o: &Value| o["reservation"]["code"].as_str().unwrap().to_string();
    // Till 1 hands over both of one pickup; till 2 hands over the other (from its own stock);
    // the hub hands over the one it kept (at the maker's door).
    t1.json(&["reservations", "collect", &code(&mine)]);
    t2.json(&["reservations", "collect", &code(&theirs)]);
    let hub_held = at_hub["reservation"]["id"].as_str().unwrap();
    let (s, b) = hub.call(
        "POST",
        &format!("/v1/reservations/{hub_held}/collected"),
        Some(json!({})),
    );
    assert_eq!(s, 200, "{b}");
    for t in [&t2, &t1, &t2, &t1] {
        t.json(&["sync"]);
    }
    let x1 = t1.json(&["event", "report"]);
    assert_eq!(
        x1["collected"],
        json!({"reservations": 1, "units": 2}),
        "{x1}"
    );
    let x2 = t2.json(&["event", "report"]);
    assert_eq!(
        x2["collected"],
        json!({"reservations": 1, "units": 1}),
        "{x2}"
    );
    // The Z report at the close says the same.
    let z1 = t1.json(&["event", "close", "--cash", "20"]);
    assert_eq!(
        z1["collected"],
        json!({"reservations": 1, "units": 2}),
        "{z1}"
    );
}

#[test]
fn a_pickup_marked_ready_at_its_till_reaches_the_storefront_once() {
    let (hub, till, _till_id, tee, event, hook) = stall(1);
    hook.subscribe(&hub, &["reservation.ready"]);
    // One pickup goes to the till (its event is open); one for an event not open yet stays
    // with the hub.
    let (s, o) = checkout_pickup(&hub, "order-r1", &tee, &event, "paid", 1);
    assert_eq!(s, 201, "{o}");
    let (_, later) = hub.call(
        "POST",
        "/v1/events",
        Some(json!({"name": "Spring fair", "starts": "2027-04-01", "ends": "2027-04-02"})),
    );
    let later = later["id"].as_str().unwrap().to_string();
    let (s, o2) = checkout_pickup(&hub, "order-r2", &tee, &later, "pay_on_pickup", 1);
    assert_eq!(s, 201, "{o2}");
    let (r, code) = (
        o["reservation"]["id"].as_str().unwrap().to_string(),
        o["reservation"]["code"].as_str().unwrap().to_string(),
    );
    till.json(&["sync"]);
    // The hub cannot mark ready what the till holds: the till does.
    let (s, b) = hub.call("POST", &format!("/v1/reservations/{r}/ready"), None);
    assert_eq!(
        (s, &b["error"]["code"]),
        (409, &json!("reservation.not_yours")),
        "{b}"
    );
    let p = till.json(&["reservations", "ready", &code]);
    assert_eq!(p["status"], "ready", "{p}");
    // Today's list shows it first, as ready.
    let list = till.json(&["reservations", "list"]);
    assert_eq!(list[0]["code"], code.as_str(), "{list}");
    assert_eq!(list[0]["status"], "ready");
    let said = till.refused_json(&["reservations", "ready", &code], "pickup.refused");
    assert!(said.contains("ready already"), "{said}");
    till.json(&["sync"]);
    till.json(&["sync"]);
    assert_eq!(reservation(&hub, &r)["status"], "ready");
    let (_, order) = hub.call(
        "GET",
        &format!("/v1/orders/{}", o["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(order["fulfilment_status"], "ready", "{order}");
    // Ready behaves as held: it is handed over as usual.
    let c = till.json(&["reservations", "collect", &code]);
    assert_eq!(c["pickup"]["status"], "collected", "{c}");
    till.json(&["sync"]);
    assert_eq!(reservation(&hub, &r)["status"], "collected");
    assert_eq!(hook.count("reservation.ready", &r), 1);
    assert_eq!(hook.count("reservation.collected", &r), 1);
    // A pickup the hub holds is marked ready at the hub, once however often it is asked.
    let r2 = o2["reservation"]["id"].as_str().unwrap().to_string();
    assert_eq!(reservation(&hub, &r2)["holder"], "hub");
    for _ in 0..2 {
        let (s, b) = hub.call("POST", &format!("/v1/reservations/{r2}/ready"), None);
        assert_eq!((s, &b["status"]), (200, &json!("ready")), "{b}");
    }
    assert_eq!(hook.count("reservation.ready", &r2), 1);
    let (_, order) = hub.call(
        "GET",
        &format!("/v1/orders/{}", o2["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(order["fulfilment_status"], "ready", "{order}");
    let (s, b) = hub.call(
        "POST",
        &format!("/v1/reservations/{}/ready", uuid_like()),
        None,
    );
    assert_eq!(s, 404, "{b}");
}

fn uuid_like() -> &'static str {
    "01900000-0000-7000-8000-000000000000"
}
