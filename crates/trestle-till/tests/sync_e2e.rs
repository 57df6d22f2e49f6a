//! Sync end to end with real processes: the real hub (in-process on port 0, on its own tokio
//! runtime) with the Kalima Arts catalog, two tills run as the real `trestle` binary — one that
//! imported the same export and sold before pairing, one with no catalog of its own — paired,
//! given stock by the hub, selling offline, then syncing. The hub must hold each sale exactly
//! once and each till's counters reduced by exactly what it sold; a second pass sends nothing;
//! with the hub stopped a pass is refused in one sentence and changes nothing.

mod common;
#[path = "common/hub.rs"]
mod hub;

use common::*;
use hub::*;

fn event_ids(till: &Cli) -> Vec<String> {
    till.json(&["outbox"])
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn two_tills_sell_offline_and_sync_every_sale_exactly_once() {
    let mut hub = Hub::start();
    hub.import_kalima();
    let tee = hub.variant(TEE);
    let print = hub.variant(PRINT);

    // Till 1 imported the same export and sold one T-shirt before it was paired.
    let t1 = Cli::gbp();
    t1.ok(&["catalog", "import", KALIMA]);
    sell(&t1, &[(&tee, 1)]);
    let mut init2 = GBP_INIT.to_vec();
    let last = init2.len() - 1;
    init2[last] = "Stall 2";
    let t2 = Cli::init_with(&init2);
    let id1 = t1.json(&["outbox"])[0]["payload"]["till_id"]
        .as_str()
        .unwrap()
        .to_string();

    let p1 = pair(&t1, &hub, "Stall 1");
    assert_eq!(p1["till_id"], id1.as_str(), "the till keeps its own id");
    assert_eq!(p1["shop_id"], hub.shop.as_str());
    assert_eq!(p1["outbox_pending"], 1);
    let p2 = pair(&t2, &hub, "Stall 2");
    assert!(
        p2["variants_added"].as_u64().unwrap() > 10,
        "a till without a catalog learns the hub's: {p2}"
    );
    let id2 = p2["till_id"].as_str().unwrap().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(t1.dir.join("hub.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the token is readable by the user only"
        );
    }
    // What cannot work is refused and changes nothing.
    t1.refused_json(&["catalog", "import", KALIMA], "catalog.from_hub");
    t2.refused_json(
        &["pair", "--hub", "http://127.0.0.1:9", "--code", "AAAA-BBBB"],
        "sync.already_paired",
    );

    // The hub allocates to each till; the tills learn it by syncing.
    hub.allocate(&id1, &[(&tee, 2), (&print, 3)]);
    hub.allocate(&id2, &[(&tee, 2), (&print, 3)]);
    let first1 = t1.json(&["sync"]);
    let first2 = t2.json(&["sync"]);
    assert_eq!(
        first1["pushed"], 1,
        "the sale made before pairing: {first1}"
    );
    assert_eq!(first2["pushed"], 0, "{first2}");
    for s in [&first1, &first2] {
        assert!(s["merged"].as_u64().unwrap() > 0, "{s}");
        assert!(s["feed_entries"].as_u64().unwrap() >= 1, "{s}");
    }
    let hub_before = hub.holders(&tee)["hub"];

    // Offline selling (the tills never wait for the hub): till 1 sells its last two T-shirts
    // and is then refused a third; till 2 sells one T-shirt and two prints.
    sell(&t1, &[(&tee, 2), (&print, 1)]);
    t1.refused_json(
        &["sell", "--line", &format!("{tee}=1"), "--pay", "cash=1000"],
        "stock.insufficient",
    );
    sell(&t2, &[(&tee, 1)]);
    sell(&t2, &[(&print, 2)]);

    let s1 = t1.json(&["sync"]);
    let s2 = t2.json(&["sync"]);
    assert_eq!(
        (s1["pushed"].as_u64(), s1["duplicates"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        (s2["pushed"].as_u64(), s2["duplicates"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        (s1["pending"].as_i64(), s2["pending"].as_i64()),
        (Some(0), Some(0))
    );

    // At the hub: every sale exactly once, nothing else.
    let stored = hub.till_events();
    let mut sent: Vec<String> = event_ids(&t1);
    sent.extend(event_ids(&t2));
    assert_eq!(sent.len(), 4);
    assert_eq!(stored.len(), sent.len(), "{stored:?}");
    for id in &sent {
        assert_eq!(stored.get(id), Some(&1), "{id} stored exactly once");
    }
    // Each till's counters reduced by exactly what it sold after pairing (the allocation minus
    // the sales); the hub's own untouched by the tills' sales; nothing below zero.
    let h = hub.holders(&tee);
    assert_eq!(h[&format!("till:{id1}")], (0, 0), "{h:?}");
    assert_eq!(h[&format!("till:{id2}")], (1, 0), "{h:?}");
    assert_eq!(h["hub"], hub_before);
    let p = hub.holders(&print);
    assert_eq!(p[&format!("till:{id1}")], (2, 0), "{p:?}");
    assert_eq!(p[&format!("till:{id2}")], (1, 0), "{p:?}");
    let (_, inventory) = hub.call("GET", "/v1/inventory", None);
    for level in inventory["levels"].as_array().unwrap() {
        for holder in level["holders"].as_array().unwrap() {
            assert!(holder["free"].as_i64().unwrap() >= 0, "{level}");
            assert!(holder["held"].as_i64().unwrap() >= 0, "{level}");
        }
    }
    // The tills agree with the hub.
    let stock1 = t1.stock();
    assert_eq!(
        stock1.get(&tee),
        Some(&3),
        "till 1 sees on hand over every holder"
    );
    assert!(t1.json(&["audit"]).as_array().unwrap().is_empty());

    // A second pass sends nothing new.
    for t in [&t1, &t2] {
        let again = t.json(&["sync"]);
        assert_eq!(
            (again["pushed"].as_u64(), again["duplicates"].as_u64()),
            (Some(0), Some(0))
        );
    }

    // With the hub stopped: one sentence, non-zero exit, nothing changed (files and rows).
    hub.stop();
    sell(&t2, &[(&print, 1)]);
    let said = t2.refused(&["sync"]);
    assert!(said.contains("could not be reached"), "{said}");
    t2.refused_json(&["sync"], "sync.hub_unreachable");
    assert_eq!(
        t2.json(&["outbox", "--pending"]).as_array().unwrap().len(),
        1
    );
}

/// The app sells on its own connection while the sync loop holds another (a `Till` of its own
/// on the same file, as `SyncAgent` opens): the loop's replica notes each sale it reads from the
/// file, so its fold sums the notes instead of rebuilding the sales (`note_moves`), and the
/// pass still sends each sale once.
#[test]
fn sales_the_loop_reads_from_the_apps_connection_are_noted_for_its_fold() {
    let hub = Hub::start();
    hub.import_kalima();
    let tee = hub.variant(TEE);
    let (t1, id1, _t2, _id2) = two_paired_tills(&hub);
    hub.allocate(&id1, &[(&tee, 3)]);
    let mut lp = trestle_till::Till::open(&t1.dir).unwrap();
    lp.sync().unwrap();
    for _ in 0..2 {
        sell(&t1, &[(&tee, 1)]);
    }
    lp.refresh().unwrap();
    assert_eq!(lp.replica().noted_moves(), 2, "each sale read is noted");
    let pass = lp.sync().unwrap();
    assert_eq!((pass.pushed, pass.duplicates), (2, 0));
    assert_eq!(lp.replica().noted_moves(), 0, "the notes go with the fold");
    let events = hub.till_events();
    assert_eq!(events.values().sum::<i64>(), 2, "{events:?}");
    assert_eq!(hub.holders(&tee)[&format!("till:{id1}")], (1, 0));
}
