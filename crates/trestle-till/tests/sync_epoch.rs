//! The hub starts a new epoch of the shop document (compaction) and the tills adopt it, against
//! the real hub (in-process, port 0) and the real `trestle` binary: one till synced up to the
//! change adopts it directly; the other kept selling in the old epoch (offline) and adopts it
//! after its late changes are carried — its sales counted once, nothing lost, the audit clean,
//! and selling and syncing go on in the new epoch.

mod common;
#[path = "common/hub.rs"]
mod hub;

use common::*;
use hub::*;
use rusqlite::{Connection, OpenFlags};

fn epoch_of(t: &Cli) -> i64 {
    Connection::open_with_flags(t.db(), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
        .query_row("SELECT epoch FROM replica_snapshot", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn tills_adopt_the_hubs_new_epoch_and_late_sales_are_carried_once() {
    let hub = Hub::start();
    hub.import_kalima();
    let tee = hub.variant(TEE);
    let print = hub.variant(PRINT);
    let (t1, id1, t2, id2) = two_paired_tills(&hub);
    hub.allocate(&id1, &[(&tee, 2), (&print, 3)]);
    hub.allocate(&id2, &[(&tee, 2), (&print, 3)]);
    t1.json(&["sync"]);
    t2.json(&["sync"]);
    sell(&t1, &[(&tee, 1)]);
    sell(&t2, &[(&print, 1)]);
    for t in [&t1, &t2] {
        t.json(&["sync"]);
        assert_eq!(epoch_of(t), 0);
    }

    // Till 2 goes on selling without a connection while the hub starts epoch 1.
    sell(&t2, &[(&tee, 2), (&print, 1)]);
    let (status, body) = hub.call("POST", "/v1/epochs", None);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["epoch"], 1);

    // Till 1 had nothing unsynced: it adopts epoch 1 at once and sells in it.
    let p1 = t1.json(&["sync"]);
    assert_eq!(p1["epoch"], 1, "{p1}");
    assert_eq!(epoch_of(&t1), 1);
    sell(&t1, &[(&print, 2)]);
    let p1 = t1.json(&["sync"]);
    assert!(p1["epoch"].is_null(), "{p1}");
    assert_eq!(p1["pushed"], 1);

    // Till 2 comes back: its late sale is carried into epoch 1, then it adopts it.
    let p2 = t2.json(&["sync"]);
    assert_eq!(p2["epoch"], 1, "{p2}");
    assert_eq!(p2["pushed"], 1, "{p2}");
    assert_eq!(epoch_of(&t2), 1);
    let (me1, me2) = (format!("till:{id1}"), format!("till:{id2}"));
    let tees = hub.holders(&tee);
    assert_eq!(tees[&me1], (1, 0), "{tees:?}");
    assert_eq!(tees[&me2], (0, 0), "{tees:?}");
    let prints = hub.holders(&print);
    assert_eq!(prints[&me1], (1, 0), "{prints:?}");
    assert_eq!(prints[&me2], (1, 0), "{prints:?}");

    // Carrying again (a lost answer, another pass) counts nothing twice.
    for t in [&t1, &t2] {
        let again = t.json(&["sync"]);
        assert!(again["epoch"].is_null(), "{again}");
    }
    assert_eq!(hub.holders(&tee), tees);
    assert_eq!(hub.holders(&print), prints);
    // Every sale once at the hub; both tills' ledgers agree with their stock over both epochs.
    let stored = hub.till_events();
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert!(stored.values().all(|n| *n == 1));
    for t in [&t1, &t2] {
        assert!(t.json(&["audit"]).as_array().unwrap().is_empty());
        assert_eq!(
            t.stock().get(&tee),
            Some(&(tees.values().map(|h| h.0 + h.1).sum::<i64>()))
        );
    }

    // Life goes on in epoch 1 at till 2.
    sell(&t2, &[(&print, 1)]);
    let p2 = t2.json(&["sync"]);
    assert_eq!(p2["pushed"], 1);
    assert_eq!(hub.holders(&print)[&me2], (0, 0));
}
