//! Staff on a real till file: with no staff it runs as the owner; once staff exist, selling
//! needs someone signed in and every record carries who; five wrong PINs lock a person out,
//! across a restart; and each manager-approval rule (refunds above the limit, voids, price
//! overrides, selling beyond the holding) refuses without a manager, refuses a cashier's or a
//! wrong PIN, and is recorded when a manager approves.

mod common;

use common::engine::*;
use trestle_core::staff::{hash_pin, Pin};
use trestle_core::tender::{Tender, TenderKind};
use trestle_protocol::RosterEntry;
use trestle_till::returns::RefundItems;
use trestle_till::sell::{PriceOverride, SellOptions};
use trestle_till::staff::{Actor, Approval};
use trestle_till::Till;
use uuid::Uuid;

fn pin(s: &str) -> Pin {
    Pin::parse(s).unwrap()
}

fn person(n: u128, name: &str, role: &str, p: &str) -> RosterEntry {
    RosterEntry {
        id: Uuid::from_u128(n),
        name: name.into(),
        role: role.into(),
        active: true,
        pin_hash: hash_pin(&pin(p), [n as u8; 16]).unwrap(),
        updated_ms: 1,
    }
}

/// A till with Ana (cashier, 1111) and Mia (manager, 9999).
fn staffed() -> (tempfile::TempDir, Till) {
    let (tmp, mut till) = setup();
    till.store_roster(&[
        person(1, "Ana", "cashier", "1111"),
        person(2, "Mia", "manager", "9999"),
    ])
    .unwrap();
    (tmp, till)
}

fn cash(minor: i64) -> Tender {
    Tender {
        kind: TenderKind::Cash,
        amount: gbp(minor),
        reference: None,
    }
}

fn mia(p: &str) -> Approval {
    Approval {
        manager: "Mia".into(),
        pin: pin(p),
    }
}

#[test]
fn without_staff_the_owner_sells_and_with_staff_someone_must_sign_in() {
    let (_t, mut till) = setup();
    assert_eq!(till.actor().unwrap(), Actor::Owner);
    let item = deny_items(&till, 3)[0].clone();
    till.sell(&req(vec![line(&item, 1)], vec![cash(100_000)]))
        .unwrap();

    till.store_roster(&[person(1, "Ana", "cashier", "1111")])
        .unwrap();
    let before = print(&till);
    let err = till
        .sell(&req(vec![line(&item, 1)], vec![cash(100_000)]))
        .unwrap_err();
    assert_eq!(err.code(), "staff.sign_in_required");
    assert_eq!(print(&till), before, "a refused sale writes nothing");

    let ana = till.sign_in("ana", &pin("1111")).unwrap();
    let sale = till
        .sell(&req(vec![line(&item, 1)], vec![cash(100_000)]))
        .unwrap();
    assert_eq!(sale.staff.as_deref(), Some(ana.id.as_str()));
    let stamped: Option<String> = db(&till)
        .query_row(
            "SELECT staff FROM sales WHERE id = ?1",
            [sale.id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stamped.as_deref(), Some(ana.id.as_str()));
    till.sign_out().unwrap();
    assert_eq!(till.actor().unwrap_err().code(), "staff.sign_in_required");
}

#[test]
fn five_wrong_pins_lock_the_person_out_across_a_restart_but_not_others() {
    let (_t, mut till) = staffed();
    for left in (1..=4).rev() {
        match till.sign_in("Ana", &pin("0000")).unwrap_err() {
            trestle_till::Error::WrongPin { left: l, .. } => assert_eq!(l, left),
            e => panic!("{e}"),
        }
    }
    assert_eq!(
        till.sign_in("Ana", &pin("0000")).unwrap_err().code(),
        "staff.locked_out"
    );
    // Even the right PIN is refused while locked, and after a restart.
    assert_eq!(
        till.sign_in("Ana", &pin("1111")).unwrap_err().code(),
        "staff.locked_out"
    );
    let dir = till.dir().to_path_buf();
    drop(till);
    let mut till = Till::open(&dir).unwrap();
    let err = till.sign_in("Ana", &pin("1111")).unwrap_err();
    assert_eq!(err.code(), "staff.locked_out");
    assert!(err.to_string().contains("5 minutes"), "{err}");
    // Someone else signs in with one PIN.
    assert_eq!(till.sign_in("Mia", &pin("9999")).unwrap().name, "Mia");
    // An unknown name is its own refusal.
    assert_eq!(
        till.sign_in("Zed", &pin("1111")).unwrap_err().code(),
        "staff.unknown"
    );
    // A right PIN clears the count of wrong ones.
    till.sign_in("Mia", &pin("1234")).unwrap_err();
    till.sign_in("Mia", &pin("9999")).unwrap();
    let failures: i64 = db(&till)
        .query_row(
            "SELECT COUNT(*) FROM staff_lockouts WHERE staff_id = ?1",
            [Uuid::from_u128(2).to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failures, 0);
}

#[test]
fn a_refund_above_the_limit_needs_a_manager() {
    let (_t, mut till) = staffed();
    let item = deny_items(&till, 3)[0].clone();
    till.sign_in("Mia", &pin("9999")).unwrap();
    // Just below the item's price: refunding one unit is above the limit.
    till.set_refund_threshold(gbp(item.price.minor() - 1))
        .unwrap();
    till.sign_in("Ana", &pin("1111")).unwrap();
    assert_eq!(
        till.set_refund_threshold(gbp(1)).unwrap_err().code(),
        "staff.approval_required"
    );
    let sale = till
        .sell(&req(vec![line(&item, 2)], vec![cash(100_000)]))
        .unwrap();
    let one = RefundItems::Items(vec![(
        item.variant_id.to_string(),
        trestle_core::catalog::Qty::new(1).unwrap(),
    )]);
    let err = till
        .refund(&sale.receipt, &one, Some("chipped".into()))
        .unwrap_err();
    assert_eq!(err.code(), "staff.approval_required");
    let err = till
        .refund_approved(&sale.receipt, &one, None, Some(&mia("1234")))
        .unwrap_err();
    assert_eq!(err.code(), "staff.wrong_pin");
    let err = till
        .refund_approved(
            &sale.receipt,
            &one,
            None,
            Some(&Approval {
                manager: "Ana".into(),
                pin: pin("1111"),
            }),
        )
        .unwrap_err();
    assert_eq!(err.code(), "staff.not_a_manager");
    let refunds = count(
        &db(&till),
        "SELECT COUNT(*) FROM refunds WHERE sale_id = ?1",
        &sale.id.to_string(),
    );
    assert_eq!(refunds, 0, "refusals write no refund");
    let r = till
        .refund_approved(
            &sale.receipt,
            &one,
            Some("chipped".into()),
            Some(&mia("9999")),
        )
        .unwrap();
    assert_eq!(
        r.staff.as_deref(),
        Some(Uuid::from_u128(1).to_string().as_str())
    );
    let approved: (String, String) = db(&till)
        .query_row(
            "SELECT staff, manager FROM approvals WHERE kind = 'refund' AND ref = ?1",
            [r.id.to_string()],
            |x| Ok((x.get(0)?, x.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        approved,
        (
            Uuid::from_u128(1).to_string(),
            Uuid::from_u128(2).to_string()
        )
    );
}

#[test]
fn voids_price_overrides_and_selling_beyond_the_holding_need_a_manager() {
    let (_t, mut till) = staffed();
    let item = deny_items(&till, 1)[0].clone();
    till.sign_in("Ana", &pin("1111")).unwrap();
    let sale = till
        .sell(&req(vec![line(&item, 1)], vec![cash(100_000)]))
        .unwrap();
    assert_eq!(
        till.void(&sale.receipt, "rang twice").unwrap_err().code(),
        "staff.approval_required"
    );
    let v = till
        .void_approved(&sale.receipt, "rang twice", Some(&mia("9999")))
        .unwrap();
    assert_eq!(
        v.staff.as_deref(),
        Some(Uuid::from_u128(1).to_string().as_str())
    );

    let r = req(vec![line(&item, 1)], vec![cash(100_000)]);
    let cheaper = SellOptions {
        price_overrides: vec![PriceOverride {
            line: 0,
            unit_price: gbp(100),
        }],
        ..SellOptions::default()
    };
    assert_eq!(
        till.sell_with(&r, &cheaper).unwrap_err().code(),
        "staff.approval_required"
    );
    let approved = SellOptions {
        approval: Some(mia("9999")),
        ..cheaper.clone()
    };
    let s = till.sell_with(&r, &approved).unwrap();
    assert_eq!(s.lines[0].unit_price, gbp(100));
    assert_eq!(s.totals.total, gbp(100));

    // Beyond the holding: everything the till holds, plus one.
    let have = on_hand(&till, &item);
    let too_many = req(
        vec![line(&item, u32::try_from(have + 1).unwrap())],
        vec![cash(10_000_000)],
    );
    assert_eq!(
        till.sell(&too_many).unwrap_err().code(),
        "stock.insufficient"
    );
    let beyond = SellOptions {
        beyond_holding: true,
        ..SellOptions::default()
    };
    assert_eq!(
        till.sell_with(&too_many, &beyond).unwrap_err().code(),
        "staff.approval_required"
    );
    let beyond = SellOptions {
        beyond_holding: true,
        approval: Some(mia("9999")),
        ..SellOptions::default()
    };
    till.sell_with(&too_many, &beyond).unwrap();
    assert_eq!(on_hand(&till, &item), -1);
    // The override is a conflict for reconciliation, and recorded as approved.
    let findings = till.audit().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f.kind == "conflict.negative_stock" && f.variant == item.variant_id),
        "{findings:?}"
    );
    let kinds: Vec<String> = db(&till)
        .prepare("SELECT kind FROM approvals ORDER BY kind")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(kinds, ["beyond_holding", "price_override", "void"]);
    // A manager acting needs nobody else's PIN.
    till.sign_in("Mia", &pin("9999")).unwrap();
    let s = till.sell(&req(vec![line(&item, 1)], vec![cash(100_000)]));
    assert_eq!(s.unwrap_err().code(), "stock.insufficient");
    let s = till.sell_with(
        &req(vec![line(&item, 1)], vec![cash(100_000)]),
        &SellOptions {
            beyond_holding: true,
            ..SellOptions::default()
        },
    );
    assert!(s.is_ok());
}

/// Who is acting and which event is open are cached on the open till; another connection to the
/// same file (the sync agent's, the CLI) changing either is seen by the next sale.
#[test]
fn another_connection_signing_in_or_opening_an_event_is_seen_by_the_next_sale() {
    let (tmp, mut till) = setup();
    let item = deny_items(&till, 4)[0].clone();
    let sell = |till: &mut Till| till.sell(&req(vec![line(&item, 1)], vec![cash(100_000)]));
    let first = sell(&mut till).unwrap();
    assert_eq!(
        (first.staff.as_deref(), first.event.as_deref()),
        (None, None)
    );
    // Another `Till` on the same file (another connection) stores staff and signs Ana in.
    let mut other = Till::open(&tmp.path().join("till")).unwrap();
    other
        .store_roster(&[person(1, "Ana", "cashier", "1111")])
        .unwrap();
    assert_eq!(
        sell(&mut till).unwrap_err().code(),
        "staff.sign_in_required"
    );
    let ana = other.sign_in("Ana", &pin("1111")).unwrap();
    let sale = sell(&mut till).unwrap();
    assert_eq!(sale.staff.as_deref(), Some(ana.id.as_str()));
    // An event opened by another connection (a plain one, as the CLI's is) is on the next sale;
    // closed there, the next sale has none.
    let raw = db(&till);
    raw.execute(
        "INSERT INTO till_events (event_id, name, status, opened_hlc, float_minor)
         VALUES ('ev-1', 'Winter Fair', 'open', '0000000000001.000000', 0)",
        [],
    )
    .unwrap();
    assert_eq!(sell(&mut till).unwrap().event.as_deref(), Some("ev-1"));
    raw.execute("UPDATE till_events SET status = 'closed'", [])
        .unwrap();
    assert_eq!(sell(&mut till).unwrap().event, None);
    // Signed out elsewhere: refused here at once.
    other.sign_out().unwrap();
    assert_eq!(
        sell(&mut till).unwrap_err().code(),
        "staff.sign_in_required"
    );
    // This till's own sign-in is seen by its next sale too.
    till.sign_in("Ana", &pin("1111")).unwrap();
    assert_eq!(
        sell(&mut till).unwrap().staff.as_deref(),
        Some(ana.id.as_str())
    );
}
