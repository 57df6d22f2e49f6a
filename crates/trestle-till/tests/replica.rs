//! The till's stock replica on a real SQLite file: compaction and epochs as actions accumulate
//! (every figure survives re-opening and the audit stays clean), a refused sale leaves the
//! replica as it was, and a till created before the replica existed is bootstrapped from its
//! ledger.

mod common;

use common::engine::*;
use rusqlite::params;
use trestle_replica::{REBASE_EVERY, SNAPSHOT_EVERY};
use trestle_till::{Error, Till};

fn levels(till: &Till) -> Vec<(String, i64)> {
    till.stock()
        .unwrap()
        .into_iter()
        .map(|l| (l.variant_id.to_string(), l.available))
        .collect()
}

#[test]
fn compaction_and_epochs_keep_every_count_across_reopening() {
    let (_tmp, mut till) = setup();
    let item = continue_item(&till);
    let before = on_hand(&till, &item);
    let actions = REBASE_EVERY * 2 + SNAPSHOT_EVERY + 7;
    for _ in 0..actions {
        till.sell(&req(vec![line(&item, 1)], vec![cash_for(&item, 1)]))
            .unwrap();
    }
    let conn = db(&till);
    let archived: i64 = conn
        .query_row("SELECT COUNT(*) FROM replica_archive", [], |r| r.get(0))
        .unwrap();
    let pending: i64 = conn
        .query_row("SELECT COUNT(*) FROM replica_changes", [], |r| r.get(0))
        .unwrap();
    assert!(
        archived >= 2,
        "two epochs archived after {actions} actions, got {archived}"
    );
    assert!(
        pending < i64::try_from(SNAPSHOT_EVERY).unwrap(),
        "compaction keeps fewer than {SNAPSHOT_EVERY} changes after the snapshot, got {pending}"
    );
    let sold = i64::try_from(actions).unwrap();
    assert_eq!(on_hand(&till, &item), before - sold);
    let seen = levels(&till);
    let dir = till.dir().to_path_buf();
    drop(till);
    let mut again = Till::open(&dir).unwrap();
    assert_eq!(
        levels(&again),
        seen,
        "the replica reloads to the same counts"
    );
    assert!(again.replica().epoch() >= 2);
    let findings = again.audit().unwrap();
    assert!(
        findings
            .iter()
            .all(|f| f.kind == "conflict.made_to_order_short"),
        "the audit over every epoch agrees with the ledger: {findings:?}"
    );
}

#[test]
fn a_refused_sale_leaves_the_replica_as_it_was() {
    let (_tmp, mut till) = setup();
    let a = deny_items(&till, 1).remove(0);
    let have = on_hand(&till, &a);
    let heads_before = till.replica().epoch();
    let seen = levels(&till);
    let n = u32::try_from(have).unwrap() + 1;
    let err = till
        .sell(&req(vec![line(&a, n)], vec![cash_for(&a, n)]))
        .unwrap_err();
    assert!(matches!(err, Error::OutOfStock { .. }), "{err}");
    assert!(
        err.to_string().contains(" — "),
        "the message names the product: {err}"
    );
    assert_eq!(levels(&till), seen);
    assert_eq!(till.replica().epoch(), heads_before);
    // The till goes on selling from the same counters.
    till.sell(&req(vec![line(&a, 1)], vec![cash_for(&a, 2)]))
        .unwrap();
    assert_eq!(on_hand(&till, &a), have - 1);
}

/// Cash that covers `qty` of `item` (prices are tax-inclusive in these tills), with change.
fn cash_for(item: &trestle_till::catalog::CatalogItem, qty: u32) -> trestle_core::tender::Tender {
    trestle_core::tender::Tender::cash(gbp(item.price.minor() * i64::from(qty) + 100))
}

#[test]
fn a_till_from_before_the_replica_is_bootstrapped_from_its_ledger() {
    let (_tmp, mut till) = setup();
    let a = deny_items(&till, 3).remove(0);
    till.sell(&req(vec![line(&a, 2)], vec![cash_for(&a, 2)]))
        .unwrap();
    let seen = levels(&till);
    let dir = till.dir().to_path_buf();
    drop(till);
    // Take the file back to what migration 0001 left: no replica rows at all.
    let conn = rusqlite::Connection::open(dir.join("till.sqlite")).unwrap();
    conn.execute_batch(
        "DELETE FROM replica_snapshot; DELETE FROM replica_changes; DELETE FROM replica_archive;
         UPDATE shop SET shop_id = NULL;",
    )
    .unwrap();
    drop(conn);
    let mut again = Till::open(&dir).unwrap();
    assert_eq!(
        levels(&again),
        seen,
        "counters seeded from the stock movements"
    );
    let conn = rusqlite::Connection::open(dir.join("till.sqlite")).unwrap();
    let (snapshots, shop_id): (i64, Option<String>) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM replica_snapshot), shop_id FROM shop",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(snapshots, 1);
    assert!(shop_id.is_some());
    again
        .sell(&req(vec![line(&a, 1)], vec![cash_for(&a, 1)]))
        .unwrap();
    assert_eq!(
        on_hand(&again, &a),
        seen.iter()
            .find(|(v, _)| *v == a.variant_id.to_string())
            .unwrap()
            .1
            - 1
    );
}

/// The change row a sale stores after a restart holds that sale, not the epoch's whole history.
#[test]
fn after_reopening_a_sale_stores_only_its_own_change() {
    let (_tmp, mut till) = setup();
    let item = continue_item(&till);
    let last_row = |till: &Till| -> i64 {
        db(till)
            .query_row(
                "SELECT length(bytes) FROM replica_changes ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    for _ in 0..20 {
        till.sell(&req(vec![line(&item, 1)], vec![cash_for(&item, 1)]))
            .unwrap();
    }
    let before = last_row(&till);
    let dir = till.dir().to_path_buf();
    drop(till);
    let mut again = Till::open(&dir).unwrap();
    again
        .sell(&req(vec![line(&item, 1)], vec![cash_for(&item, 1)]))
        .unwrap();
    let after = last_row(&again);
    assert!(
        after <= before + 64,
        "the first change after re-opening is {after} bytes, a sale's change was {before}"
    );
}

/// The app and the sync loop each open the till's file: two `Till`s on one data directory,
/// selling in turn across compactions and a new epoch, must never lose each other's changes
/// (each catches up with the other's before it writes), and both must read the same stock.
#[test]
fn two_connections_to_one_till_keep_each_others_changes_across_compaction_and_epochs() {
    let (_tmp, mut a) = setup();
    let dir = a.dir().to_path_buf();
    let mut b = Till::open(&dir).unwrap();
    let item = continue_item(&a);
    let before = on_hand(&a, &item);
    let rounds = (REBASE_EVERY + SNAPSHOT_EVERY) / 2 + 3;
    for _ in 0..rounds {
        for t in [&mut a, &mut b] {
            t.sell(&req(vec![line(&item, 1)], vec![cash_for(&item, 1)]))
                .unwrap();
        }
    }
    let sold = i64::try_from(rounds * 2).unwrap();
    for t in [&mut a, &mut b] {
        t.refresh().unwrap();
        assert_eq!(on_hand(t, &item), before - sold);
    }
    assert!(a.replica().epoch() >= 1, "a new epoch was started");
    drop((a, b));
    let mut again = Till::open(&dir).unwrap();
    assert_eq!(
        on_hand(&again, &item),
        before - sold,
        "nothing lost on disk"
    );
    let findings = again.audit().unwrap();
    assert!(
        findings
            .iter()
            .all(|f| f.kind == "conflict.made_to_order_short"),
        "{findings:?}"
    );
}
