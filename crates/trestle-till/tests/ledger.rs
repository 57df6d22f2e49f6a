//! The ledger through the `trestle_till::Till` API on a real SQLite file: what a sale writes (in one transaction), immutability, stock policies, receipt numbers and the clock across re-opening.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::engine::*;
use trestle_core::cart::Discount;
use trestle_core::catalog::Qty;
use trestle_core::clock::{Hlc, WallClock};
use trestle_core::ledger::{LedgerEvent, OutboxEnvelope};
use trestle_core::receipt::TillPrefix;
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::tender::Tender;
use trestle_core::Currency;
use trestle_till::returns::RefundItems;
use trestle_till::sell::{LineRequest, SellRequest};
use trestle_till::{Error, InitParams, Till};

#[test]
fn a_sale_writes_its_rows_movements_and_one_outbox_entry_together() {
    let (_tmp, mut till) = setup();
    let a = deny_items(&till, 5).remove(0);
    let u = untracked_item(&till);
    let total = a.price.minor() * 2 + u.price.minor();
    let before_a = on_hand(&till, &a);
    let sale = till
        .sell(&req(
            vec![line(&a, 2), line(&u, 1)],
            vec![
                Tender::card(gbp(1000), Some("AUTH9")),
                Tender::cash(gbp(total)),
            ],
        ))
        .unwrap();
    assert_eq!(sale.totals.total.minor(), total);
    assert_eq!(sale.change.minor(), 1000);
    let id = sale.id.to_string();
    let conn = db(&till);
    let row: (String, i64, i64, i64, i64, i64, String) = conn
        .query_row(
            "SELECT receipt, total_minor, paid_minor, change_minor, line_count, tender_count, record
             FROM sales WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .unwrap();
    assert_eq!(row.0, "STALL1-000001");
    assert_eq!(
        (row.1, row.2, row.3, row.4, row.5),
        (total, total + 1000, 1000, 2, 2)
    );
    assert_eq!(
        serde_json::from_str::<trestle_core::sale::Sale>(&row.6).unwrap(),
        sale
    );
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM sales WHERE id = ?1", &id),
        1
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM sale_lines WHERE sale_id = ?1",
            &id
        ),
        2
    );
    assert_eq!(
        count(
            &conn,
            "SELECT SUM(total_minor) FROM sale_lines WHERE sale_id = ?1",
            &id
        ),
        total
    );
    let tenders: Vec<(i64, String, i64, Option<String>)> = conn
        .prepare("SELECT idx, kind, amount_minor, reference FROM sale_tenders WHERE sale_id = ?1 ORDER BY idx")
        .unwrap()
        .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        tenders,
        [
            (0, "card".to_string(), 1000, Some("AUTH9".to_string())),
            (1, "cash".to_string(), total, None)
        ]
    );
    // One movement, for the tracked variant only.
    let moves: Vec<(String, i64, String)> = conn
        .prepare("SELECT variant_id, delta, cause FROM stock_movements WHERE ref = ?1")
        .unwrap()
        .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(moves, [(a.variant_id.to_string(), -2, "sale".to_string())]);
    assert_eq!(on_hand(&till, &a), before_a - 2);
    // Exactly one outbox entry: the whole sale.
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM outbox WHERE ref = ?1", &id),
        1
    );
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM outbox WHERE ?1 = ?1", ""),
        1
    );
    let (kind, payload): (String, String) = conn
        .query_row(
            "SELECT o.kind, p.payload FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq
             WHERE o.ref = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(kind, "sale_completed");
    let envelope: OutboxEnvelope = serde_json::from_str(&payload).unwrap();
    assert_eq!(envelope.till_id, till.shop().till_id);
    assert_eq!(envelope.event, LedgerEvent::SaleCompleted(sale.clone()));
    // The idempotency key is the sale's own id (decision 105): no second id on the wire.
    assert_eq!(envelope.event_id.0, sale.id.0);
    // The shop's clock was saved with the sale.
    let hlc: String = conn
        .query_row("SELECT hlc FROM shop", [], |r| r.get(0))
        .unwrap();
    assert_eq!(Hlc::decode(&hlc), Some(sale.at));
}

#[test]
fn a_refused_sale_writes_nothing_at_all() {
    let (_tmp, mut till) = setup();
    let a = deny_items(&till, 5).remove(0);
    till.sell(&req(vec![line(&a, 1)], vec![Tender::cash(gbp(100_000))]))
        .unwrap();
    let before = print(&till);
    let price = a.price.minor();
    let cases: Vec<SellRequest> = vec![
        // Refused after the receipt number was taken inside the transaction: rolled back.
        req(vec![line(&a, 1)], vec![Tender::cash(gbp(price - 1))]),
        req(vec![line(&a, 1)], vec![Tender::card(gbp(price + 1), None)]),
        req(vec![line(&a, 1)], vec![]),
        // Refused while reading the cart.
        req(vec![line(&a, 100_000)], vec![Tender::cash(gbp(price))]),
        req(
            vec![LineRequest {
                item: "no-such-sku".into(),
                qty: Qty::new(1).unwrap(),
                discount: None,
            }],
            vec![Tender::cash(gbp(price))],
        ),
        req(
            vec![LineRequest {
                item: "10".into(),
                qty: Qty::new(1).unwrap(),
                discount: None,
            }],
            vec![Tender::cash(gbp(price))],
        ),
        req(
            vec![LineRequest {
                discount: Some(Discount::Amount(gbp(price + 1))),
                ..line(&a, 1)
            }],
            vec![Tender::cash(gbp(price))],
        ),
        req(vec![], vec![Tender::cash(gbp(price))]),
    ];
    for r in &cases {
        let e = till.sell(r).unwrap_err();
        assert!(!e.to_string().is_empty());
        assert_eq!(print(&till), before, "{e}");
    }
    // The next sale takes the next number: refused sales used none.
    let s = till
        .sell(&req(vec![line(&a, 1)], vec![Tender::cash(gbp(price))]))
        .unwrap();
    assert_eq!(s.receipt.to_string(), "STALL1-000002");
}

#[test]
fn completed_sales_refunds_voids_and_movements_are_immutable() {
    let (_tmp, mut till) = setup();
    let a = deny_items(&till, 5).remove(0);
    let pay = || vec![Tender::cash(gbp(100_000))];
    let s1 = till.sell(&req(vec![line(&a, 2)], pay())).unwrap();
    let s2 = till.sell(&req(vec![line(&a, 1)], pay())).unwrap();
    till.refund(&s1.receipt, &RefundItems::All, None).unwrap();
    till.void(&s2.receipt, "wrong item").unwrap();
    let before = print(&till);
    let conn = db(&till);
    let tables = [
        ("sales", "completed sales are immutable"),
        ("sale_lines", "completed sales are immutable"),
        ("sale_tenders", "completed sales are immutable"),
        ("refunds", "refunds are immutable"),
        ("refund_lines", "refunds are immutable"),
        ("refund_tenders", "refunds are immutable"),
        ("voids", "voids are immutable"),
        ("stock_movements", "stock movements are immutable"),
    ];
    for (table, message) in tables {
        assert!(
            count(
                &conn,
                &format!("SELECT COUNT(*) FROM {table} WHERE ?1 = ?1"),
                ""
            ) > 0
        );
        // Every column, so no column slips through.
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for c in &columns {
            let e = conn
                .execute(&format!("UPDATE {table} SET {c} = {c}"), [])
                .unwrap_err();
            assert!(e.to_string().contains(message), "{table}.{c}: {e}");
        }
        let e = conn
            .execute(&format!("DELETE FROM {table}"), [])
            .unwrap_err();
        assert!(e.to_string().contains(message), "{table}: {e}");
    }
    drop(conn);
    assert_eq!(print(&till), before);
}

#[test]
fn deny_variants_never_go_below_zero_and_continue_variants_may() {
    let (_tmp, mut till) = setup();
    let a = deny_items(&till, 5).remove(0);
    let have = on_hand(&till, &a);
    let pay = || vec![Tender::cash(gbp(1_000_000_000))];
    let before = print(&till);
    let wanted = u32::try_from(have + 1).unwrap();
    let e = till.sell(&req(vec![line(&a, wanted)], pay())).unwrap_err();
    match &e {
        Error::OutOfStock {
            wanted: w,
            available,
            title,
        } => {
            assert_eq!((*w, *available), (have + 1, have));
            assert_eq!(title, &a.title);
        }
        other => panic!("expected OutOfStock, got {other:?}"),
    }
    assert_eq!(e.code(), "stock.insufficient");
    // Two lines of one variant count together.
    let half = u32::try_from(have).unwrap();
    let e = till
        .sell(&req(vec![line(&a, half), line(&a, 1)], pay()))
        .unwrap_err();
    assert!(matches!(e, Error::OutOfStock { .. }), "{e}");
    assert_eq!(print(&till), before, "nothing written");

    till.sell(&req(vec![line(&a, half)], pay())).unwrap();
    assert_eq!(on_hand(&till, &a), 0);
    let before = print(&till);
    let e = till.sell(&req(vec![line(&a, 1)], pay())).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfStock {
                available: 0,
                wanted: 1,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(print(&till), before);

    // Made to order: sells past zero.
    let c = continue_item(&till);
    let have = on_hand(&till, &c);
    let qty = u32::try_from(have.max(0) + 3).unwrap();
    till.sell(&req(vec![line(&c, qty)], pay())).unwrap();
    assert_eq!(on_hand(&till, &c), have - i64::from(qty));
    assert!(on_hand(&till, &c) < 0);
    // Untracked variants have no level and always sell.
    let u = untracked_item(&till);
    till.sell(&req(vec![line(&u, 1000)], pay())).unwrap();
    assert!(till
        .stock()
        .unwrap()
        .iter()
        .all(|l| l.variant_id != u.variant_id));
    // The replica's counter is always the sum of this till's movements, and the audit agrees.
    let conn = db(&till);
    for level in till.stock().unwrap() {
        let moved: i64 = conn
            .query_row(
                "SELECT COALESCE(SUM(delta), 0) FROM stock_movements WHERE variant_id = ?1",
                [level.variant_id.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(level.available, moved, "{}", level.title);
    }
    // The one conflict is the made-to-order variant sold below zero: someone must make them.
    let findings = till.audit().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].kind, "conflict.made_to_order_short");
    assert_eq!(findings[0].variant, c.variant_id);
}

#[test]
fn receipt_numbers_are_sequential_per_till_with_distinct_prefixes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut one = till_in(&tmp.path().join("one"), "Stall 1");
    let mut two = till_in(&tmp.path().join("two"), "Stall 2");
    assert_ne!(one.shop().prefix, two.shop().prefix);
    assert_ne!(one.shop().till_id, two.shop().till_id);
    let a = deny_items(&one, 5).remove(0);
    let pay = || vec![Tender::cash(gbp(1_000_000))];
    let mut got = Vec::new();
    for i in 0..4 {
        got.push(
            one.sell(&req(vec![line(&a, 1)], pay()))
                .unwrap()
                .receipt
                .to_string(),
        );
        // A refused sale in between takes no number.
        one.sell(&req(vec![line(&a, 1)], vec![])).unwrap_err();
        if i % 2 == 0 {
            got.push(
                two.sell(&req(vec![line(&a, 1)], pay()))
                    .unwrap()
                    .receipt
                    .to_string(),
            );
        }
    }
    assert_eq!(
        got,
        [
            "STALL1-000001",
            "STALL2-000001",
            "STALL1-000002",
            "STALL1-000003",
            "STALL2-000002",
            "STALL1-000004"
        ]
    );
    // A prefix given at init is used as is.
    let p = InitParams::new(
        "Kalima Arts",
        Currency::parse("GBP").unwrap(),
        TaxMode::Inclusive,
        TaxRate::parse_percent("20").unwrap(),
        "Stall 1",
        Some(TillPrefix::parse("K2").unwrap()),
    )
    .unwrap();
    let three = Till::init(&tmp.path().join("three"), &p).unwrap();
    assert_eq!(three.shop().prefix.as_str(), "K2");
}

/// A wall clock the test sets.
#[derive(Clone)]
struct TestClock(Arc<AtomicU64>);

impl WallClock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn reopening_resumes_receipts_and_the_clock_never_goes_backwards() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("till");
    let till = till_in(&dir, "Stall 1");
    let a = deny_items(&till, 20).remove(0);
    drop(till);
    let pay = || vec![Tender::cash(gbp(1_000_000))];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // The laptop's clock: right, then an hour ahead, then back to 1970, then stuck.
    let clock = TestClock(Arc::new(AtomicU64::new(now)));
    let times = [now, now + 3_600_000, 1_000, 1_000, now + 10];
    let mut stamps: Vec<Hlc> = Vec::new();
    let mut receipts = Vec::new();
    for (i, t) in times.iter().enumerate() {
        clock.0.store(*t, Ordering::SeqCst);
        let mut till = Till::open_with(&dir, Box::new(clock.clone())).unwrap();
        for _ in 0..2 {
            let s = till.sell(&req(vec![line(&a, 1)], pay())).unwrap();
            stamps.push(s.at);
            receipts.push(s.receipt.seq);
        }
        if i == 2 {
            // A refund and an import advance the same clock.
            let r = till
                .refund(
                    &receipt(&format!("STALL1-{:06}", receipts[0])),
                    &RefundItems::All,
                    None,
                )
                .unwrap();
            stamps.push(r.at);
            till.import_catalog(&std::fs::read(common::shop_file()).unwrap())
                .unwrap();
        }
        drop(till);
    }
    assert_eq!(receipts, (1..=10).collect::<Vec<u64>>());
    for w in stamps.windows(2) {
        assert!(
            w[0] < w[1],
            "the clock went backwards: {:?} then {:?}",
            w[0],
            w[1]
        );
    }
    assert!(stamps.iter().all(|s| s.wall_ms >= now));
    // The sales list (ordered by time) is in receipt order, and so is the outbox.
    let till = Till::open(&dir).unwrap();
    let listed: Vec<String> = till
        .sales(None)
        .unwrap()
        .into_iter()
        .map(|s| s.receipt)
        .collect();
    let expected: Vec<String> = (1..=10).map(|n| format!("STALL1-{n:06}")).collect();
    assert_eq!(listed, expected);
    let outbox = till.outbox(false).unwrap();
    for w in outbox.windows(2) {
        assert!(w[0].seq < w[1].seq && w[0].at < w[1].at);
    }
}
