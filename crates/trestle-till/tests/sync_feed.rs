//! The till acts on its feed and keeps conflicts, against the real hub (in-process, port 0) and
//! the real `trestle` binary: a return request gives stock back exactly once (a feed received
//! again changes nothing), a cancellation request cancels the pickup the till holds, and a
//! made-to-order oversell becomes a conflict listed on the till and resolved through the hub;
//! bad ids and choices, and an unreachable hub, are refused in one sentence with nothing changed.

mod common;
#[path = "common/hub.rs"]
mod hub;

use common::*;
use hub::*;
use rusqlite::Connection;
use serde_json::{json, Value};

fn paired_till(hub: &Hub) -> (Cli, String) {
    let t = Cli::gbp();
    let id = pair(&t, hub, "Stall 1")["till_id"]
        .as_str()
        .unwrap()
        .to_string();
    (t, id)
}

/// Makes the till forget how far it read the feed, as if the hub sent it all again.
fn rewind_feed(t: &Cli) {
    Connection::open(t.db())
        .unwrap()
        .execute("UPDATE sync_state SET feed_after = 0", [])
        .unwrap();
}

#[test]
fn a_return_request_gives_stock_back_once_and_a_cancellation_cancels_the_pickup() {
    let hub = Hub::start();
    hub.import_kalima();
    let tee = hub.variant(TEE);
    let print = hub.variant(PRINT);
    let (t, id) = paired_till(&hub);
    hub.allocate(&id, &[(&tee, 3), (&print, 2)]);
    t.json(&["sync"]);
    let before = hub.holders(&tee);
    let me = format!("till:{id}");
    assert_eq!(before[&me], (3, 0));

    // The hub asks for 2 T-shirts back; the till sells one meanwhile, then syncs.
    let (s, r) = hub.call(
        "POST",
        "/v1/returns",
        Some(json!({ "till_id": id, "lines": [{ "variant_id": tee, "qty": 2 }] })),
    );
    assert_eq!(s, 202, "{r}");
    sell(&t, &[(&tee, 1)]);
    let pass = t.json(&["sync"]);
    assert!(pass["feed_applied"].as_u64().unwrap() >= 1, "{pass}");
    let after = hub.holders(&tee);
    assert_eq!(after[&me], (0, 0), "{after:?}");
    assert_eq!(after["hub"].0, before["hub"].0 + 2, "{after:?}");
    let feed = t.json(&["feed"]);
    let ret = feed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "return.requested")
        .unwrap();
    assert_eq!(ret["outcome"], "gave 2 units back to the hub", "{ret}");

    // The same feed again (a lost acknowledgement, a rewound cursor): nothing moves twice.
    rewind_feed(&t);
    let again = t.json(&["sync"]);
    assert_eq!(again["feed_applied"], 0, "{again}");
    assert_eq!(hub.holders(&tee), after);
    assert!(t
        .json(&["feed", "--pending"])
        .as_array()
        .unwrap()
        .is_empty());

    // "Everything back" when nothing of it is free: noted, nothing moves.
    let (s, _) = hub.call(
        "POST",
        "/v1/returns",
        Some(json!({ "till_id": id, "lines": [{ "variant_id": tee, "qty": 1 }] })),
    );
    assert_eq!(s, 202);
    t.json(&["sync"]);
    assert_eq!(hub.holders(&tee), after);

    // A pickup for the till's open event goes to the till; cancelled online, the till cancels it.
    let event = hub.open_event(&id);
    let (s, order) = hub.checkout(
        "pickup-1",
        json!({
            "lines": [{ "variant_id": print, "qty": 1 }],
            "customer": { "name": "Grace Hopper", "email": "grace@example.org" },
            "fulfilment": { "type": "pickup", "event_id": event },
            "payment": "paid"
        }),
    );
    assert_eq!(s, 201, "{order}");
    let reservation = order["reservation"]["id"]
        .as_str()
        .or_else(|| order["reservation_id"].as_str())
        .unwrap_or_else(|| panic!("{order}"))
        .to_string();
    t.json(&["sync"]);
    let (_, r) = hub.call("GET", &format!("/v1/reservations/{reservation}"), None);
    assert_eq!(r["holder"], me.as_str(), "{r}");
    let (s, r) = hub.call(
        "POST",
        &format!("/v1/reservations/{reservation}/cancel"),
        None,
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["cancel_requested"], true, "{r}");
    let pass = t.json(&["sync"]);
    assert!(pass["feed_applied"].as_u64().unwrap() >= 1, "{pass}");
    let (_, r) = hub.call("GET", &format!("/v1/reservations/{reservation}"), None);
    assert_eq!(r["status"], "cancelled", "{r}");
    // The reserved unit came from the hub with the pickup; cancelled, it is free at the till.
    assert_eq!(hub.holders(&print)[&me], (3, 0), "its unit is free again");
    rewind_feed(&t);
    t.json(&["sync"]);
    assert_eq!(hub.holders(&print)[&me], (3, 0));
    assert!(t.json(&["audit"]).as_array().unwrap().is_empty());
}

#[test]
fn a_made_to_order_oversell_is_a_conflict_listed_and_resolved_on_the_till() {
    let mut hub = Hub::start();
    hub.import_kalima();
    let made = hub.tracked("continue");
    let (a, b) = (made[0].clone(), made[1].clone());
    let (t, id) = paired_till(&hub);
    hub.allocate(&id, &[(&a, 1), (&b, 1)]);
    t.json(&["sync"]);
    assert!(t.json(&["conflicts"]).as_array().unwrap().is_empty());
    assert!(t.ok(&["conflicts"]).contains("No conflicts open"));

    // Made to order: the till may sell beyond what it holds; the hub sees it and records it.
    sell(&t, &[(&a, 3)]);
    sell(&t, &[(&b, 2)]);
    let pass = t.json(&["sync"]);
    assert_eq!(pass["open_conflicts"], 2, "{pass}");
    let listed = t.json(&["conflicts"]);
    let list = listed.as_array().unwrap();
    assert_eq!(list.len(), 2, "{listed}");
    let of = |v: &str| -> Value {
        list.iter()
            .find(|c| c["variant_id"] == v)
            .unwrap_or_else(|| panic!("{listed}"))
            .clone()
    };
    let ca = of(&a);
    assert_eq!(ca["kind"], "conflict.made_to_order_short");
    assert_eq!(ca["holder"], format!("till:{id}"));
    let offered: Vec<&str> = ca["resolutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(offered.contains(&"make_more"), "{ca}");
    let text = t.ok(&["conflicts"]);
    let full = ca["id"].as_str().unwrap();
    let short_id = &full[full.len() - 8..];
    let line = text
        .lines()
        .find(|l| l.starts_with(short_id))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("made to order short") && line.contains("choose"),
        "{line}"
    );

    // Refused, nothing changed: an unknown id, a choice not offered.
    let said = t.refused_json(
        &["conflicts", "resolve", "0123abcd", "--with", "make_more"],
        "conflict.not_found",
    );
    assert!(said.contains("no conflict has the id"), "{said}");
    t.refused_json(
        &["conflicts", "resolve", "x", "--with", "make_more"],
        "conflict.not_found",
    );
    let said = t.refused_json(
        &["conflicts", "resolve", short_id, "--with", "shrug"],
        "conflict.unknown_resolution",
    );
    assert!(said.contains("make_more"), "{said}");

    // Resolved at the hub, recorded on both sides.
    let done = t.json(&[
        "conflicts",
        "resolve",
        short_id,
        "--with",
        "make_more",
        "--note",
        "two more prints",
    ]);
    assert_eq!(done["status"], "resolved", "{done}");
    assert_eq!(done["resolution"], "make_more");
    let (_, at_hub) = hub.call("GET", "/v1/conflicts?status=resolved", None);
    let rec = &at_hub["conflicts"][0];
    assert_eq!(rec["id"], ca["id"]);
    assert_eq!(rec["note"], "two more prints");
    assert_eq!(t.json(&["conflicts"]).as_array().unwrap().len(), 1);
    assert_eq!(t.json(&["conflicts", "--all"]).as_array().unwrap().len(), 2);
    t.refused_json(
        &["conflicts", "resolve", short_id, "--with", "make_more"],
        "conflict.resolved",
    );

    // The hub unreachable: the other stays open, nothing changed here.
    hub.stop();
    let cb = of(&b);
    let said = t.refused_json(
        &[
            "conflicts",
            "resolve",
            cb["id"].as_str().unwrap(),
            "--with",
            "make_more",
        ],
        "sync.hub_unreachable",
    );
    assert!(said.contains("could not be reached"), "{said}");
    assert_eq!(t.json(&["conflicts"])[0]["status"], "open");
}
