//! Refunds and voids through the `trestle_till::Till` API: new records pointing at the sale, money back to the original tenders (each tender's net amount), partial refunds that sum exactly to the sale, and refusals that write nothing.

mod common;

use common::engine::*;
use trestle_core::cart::Discount;
use trestle_core::catalog::Qty;
use trestle_core::tender::{Tender, TenderKind};
use trestle_till::catalog::CatalogItem;
use trestle_till::returns::RefundItems;
use trestle_till::sell::{LineRequest, SellRequest};
use trestle_till::Error;

#[test]
fn a_split_sale_refunded_in_full_returns_each_tenders_net_amount() {
    let (_tmp, mut till) = setup();
    let a = deny_items(&till, 5).remove(0);
    let u = untracked_item(&till);
    let total = a.price.minor() * 3 + u.price.minor();
    // 50.00 cash handed over first, then the card for more than was left to pay: the 7.25 over
    // is change from the cash, so the cash nets 42.75 and the card its amount.
    let card = total - 5000 + 725;
    let sale = till
        .sell(&req(
            vec![line(&a, 3), line(&u, 1)],
            vec![Tender::cash(gbp(5000)), Tender::card(gbp(card), Some("T1"))],
        ))
        .unwrap();
    assert_eq!(sale.change.minor(), 725);
    let stock_before = on_hand(&till, &a);
    let r = till
        .refund(
            &sale.receipt,
            &RefundItems::All,
            Some("changed mind".into()),
        )
        .unwrap();
    assert_eq!(r.sale_id, sale.id);
    assert_eq!(r.plan.total.minor(), total);
    assert_eq!(r.plan.tax, sale.totals.tax);
    let mut back: Vec<(u32, TenderKind, i64, Option<String>)> = r
        .plan
        .tenders
        .iter()
        .map(|t| {
            (
                t.tender_index,
                t.kind,
                t.amount.minor(),
                t.reference.clone(),
            )
        })
        .collect();
    back.sort_by_key(|t| t.0);
    assert_eq!(
        back,
        [
            (0, TenderKind::Cash, 5000 - 725, None),
            (1, TenderKind::Card, card, Some("T1".into()))
        ]
    );
    assert_eq!(on_hand(&till, &a), stock_before + 3);
    // New records pointing at the sale; the sale's rows are as they were.
    let conn = db(&till);
    let rid = r.id.to_string();
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM refunds WHERE sale_id = ?1",
            &sale.id.to_string()
        ),
        1
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM refund_lines WHERE refund_id = ?1",
            &rid
        ),
        2
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM refund_tenders WHERE refund_id = ?1",
            &rid
        ),
        2
    );
    assert_eq!(
        count(
            &conn,
            "SELECT SUM(amount_minor) FROM refund_tenders WHERE refund_id = ?1",
            &rid
        ),
        total
    );
    assert_eq!(
        count(
            &conn,
            "SELECT SUM(delta) FROM stock_movements WHERE ref = ?1 AND cause = 'refund'",
            &rid
        ),
        3
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM outbox WHERE ref = ?1 AND event_id = ?1 AND kind = 'sale_refunded'",
            &rid
        ),
        1
    );
    let detail = till.sale(&sale.receipt).unwrap();
    assert_eq!(detail.sale, sale);
    assert_eq!(detail.refunds, [r]);
    assert!(!detail.voided);
}

#[test]
fn partial_refunds_then_the_rest_sum_exactly_to_the_sale() {
    let (_tmp, mut till) = setup();
    let items = deny_items(&till, 5);
    let (a, b) = (&items[0], &items[1]);
    let u = untracked_item(&till);
    let sale = till
        .sell(&SellRequest {
            lines: vec![
                LineRequest {
                    discount: Some(Discount::parse("15%", till.shop().currency).unwrap()),
                    ..line(a, 3)
                },
                line(b, 3),
                LineRequest {
                    discount: Some(Discount::parse("1.99", till.shop().currency).unwrap()),
                    ..line(&u, 2)
                },
            ],
            tenders: vec![Tender::card(gbp(1234), None), Tender::cash(gbp(10_000_000))],
            cart_discount: Some(Discount::parse("7%", till.shop().currency).unwrap()),
            ..SellRequest::default()
        })
        .unwrap();
    let r = |n: &CatalogItem, q: u32| (n.variant_id.to_string(), Qty::new(q).unwrap());
    let steps = [
        RefundItems::Items(vec![r(a, 1)]),
        RefundItems::Items(vec![r(b, 2), r(&u, 1)]),
        RefundItems::Items(vec![r(a, 1)]),
        RefundItems::All,
    ];
    let mut refunds = Vec::new();
    for s in &steps {
        refunds.push(till.refund(&sale.receipt, s, None).unwrap());
    }
    let sum = |f: &dyn Fn(&trestle_core::ledger::Refund) -> i64| refunds.iter().map(f).sum::<i64>();
    assert_eq!(sum(&|r| r.plan.total.minor()), sale.totals.total.minor());
    assert_eq!(sum(&|r| r.plan.tax.minor()), sale.totals.tax.minor());
    assert_eq!(
        sum(&|r| r.plan.tenders.iter().map(|t| t.amount.minor()).sum()),
        sale.totals.total.minor()
    );
    // The last refund took exactly what was left of each line.
    let last = refunds.last().unwrap();
    let left: Vec<(u32, u32)> = last
        .plan
        .lines
        .iter()
        .map(|l| (l.line_no, l.qty.get()))
        .collect();
    assert_eq!(left, [(1, 1), (2, 1), (3, 1)]);
    // Nothing is left: refused, and nothing written.
    let before = print(&till);
    for s in &steps {
        let e = till.refund(&sale.receipt, s, None).unwrap_err();
        assert!(
            matches!(e, Error::Domain(trestle_core::Error::RefundNothingLeft)),
            "{e}"
        );
    }
    assert_eq!(print(&till), before);
    assert_eq!(till.sales(None).unwrap()[0].refunded, sale.totals.total);
}

#[test]
fn refund_refusals_write_nothing() {
    let (_tmp, mut till) = setup();
    let items = deny_items(&till, 5);
    let (a, b) = (&items[0], &items[1]);
    let sale = till
        .sell(&req(vec![line(a, 2)], vec![Tender::cash(gbp(100_000))]))
        .unwrap();
    let before = print(&till);
    let item = |n: &CatalogItem, q: u32| {
        RefundItems::Items(vec![(n.variant_id.to_string(), Qty::new(q).unwrap())])
    };
    let e = till.refund(&sale.receipt, &item(a, 3), None).unwrap_err();
    assert!(
        matches!(e, Error::Domain(trestle_core::Error::RefundTooMany { .. })),
        "{e}"
    );
    let e = till.refund(&sale.receipt, &item(b, 1), None).unwrap_err();
    assert!(matches!(e, Error::NotOnSale { .. }), "{e}");
    let e = till
        .refund(&receipt("STALL1-000002"), &RefundItems::All, None)
        .unwrap_err();
    assert!(matches!(e, Error::ReceiptNotFound(_)), "{e}");
    let e = till
        .refund(&receipt("OTHER-000001"), &RefundItems::All, None)
        .unwrap_err();
    assert!(matches!(e, Error::ReceiptNotFound(_)), "{e}");
    let e = till
        .refund(&sale.receipt, &RefundItems::Items(vec![]), None)
        .unwrap_err();
    assert_eq!(e.code(), "refund.empty");
    assert_eq!(print(&till), before);
}

#[test]
fn voids_are_new_records_and_cannot_be_repeated_or_follow_a_refund() {
    let (_tmp, mut till) = setup();
    let a = deny_items(&till, 5).remove(0);
    let start = on_hand(&till, &a);
    let pay = || vec![Tender::cash(gbp(100_000))];
    let s1 = till.sell(&req(vec![line(&a, 2)], pay())).unwrap();
    let s2 = till.sell(&req(vec![line(&a, 1)], pay())).unwrap();
    assert_eq!(on_hand(&till, &a), start - 3);

    let before = print(&till);
    let e = till.void(&s1.receipt, "  ").unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e}");
    assert_eq!(print(&till), before);

    let v = till.void(&s1.receipt, "rang up the wrong print").unwrap();
    assert_eq!(v.sale_id, s1.id);
    assert_eq!(on_hand(&till, &a), start - 1);
    let conn = db(&till);
    let vid = v.id.to_string();
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM voids WHERE id = ?1", &vid),
        1
    );
    assert_eq!(
        count(
            &conn,
            "SELECT SUM(delta) FROM stock_movements WHERE ref = ?1 AND cause = 'void'",
            &vid
        ),
        2
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM outbox WHERE ref = ?1 AND event_id = ?1 AND kind = 'sale_voided'",
            &vid
        ),
        1
    );
    let detail = till.sale(&s1.receipt).unwrap();
    assert!(detail.voided);
    assert_eq!(detail.sale, s1);

    let before = print(&till);
    let e = till.void(&s1.receipt, "again").unwrap_err();
    assert!(matches!(e, Error::AlreadyVoided(_)), "{e}");
    let e = till
        .refund(&s1.receipt, &RefundItems::All, None)
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyVoided(_)), "{e}");
    assert_eq!(print(&till), before);

    till.refund(
        &s2.receipt,
        &RefundItems::Items(vec![(a.variant_id.to_string(), Qty::new(1).unwrap())]),
        None,
    )
    .unwrap();
    let before = print(&till);
    let e = till.void(&s2.receipt, "too late").unwrap_err();
    assert!(matches!(e, Error::VoidAfterRefund(_)), "{e}");
    assert_eq!(e.code(), "sale.has_refunds");
    let e = till.void(&receipt("STALL1-000009"), "nope").unwrap_err();
    assert!(matches!(e, Error::ReceiptNotFound(_)), "{e}");
    assert_eq!(print(&till), before);
    assert_eq!(on_hand(&till, &a), start);
}
