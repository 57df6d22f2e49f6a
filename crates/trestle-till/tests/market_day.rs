//! A full market day with the real hub on port 0 and a real till file: the maker adds staff and
//! an event at the hub and allocates stock; the till syncs (roster, event, allocation), opens
//! the event with a float, two cashiers sell, a manager approves a refund and a void, a pickup is
//! handed over under a staff session scoped to the event, cash goes in and out; the close counts
//! one unit short and the cash short, and returns the unsold stock. After a sync the hub sells
//! the returned units online; the Z report's figures equal the ledger's, computed here from the
//! ledger tables; the CSV's rows add up to the same; the closed event takes no new sales.

mod common;
#[path = "common/hub.rs"]
mod hub;

use std::collections::BTreeMap;

use common::engine::{gbp, params};
use hub::{Hub, PRINT, TEE};
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};
use trestle_core::catalog::Qty;
use trestle_core::staff::Pin;
use trestle_core::tender::{Tender, TenderKind};
use trestle_till::event::CountLine;
use trestle_till::returns::RefundItems;
use trestle_till::sell::{LineRequest, SellRequest};
use trestle_till::staff::Approval;
use trestle_till::Till;

impl Hub {
    fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, v) = self.call_as(&self.admin, method, path, Some(body));
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {v}"
        );
        v
    }

    fn get(&self, path: &str) -> Value {
        let (status, v) = self.call_as(&self.admin, "GET", path, None);
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    /// holder → free of a variant.
    fn free(&self, variant: &str) -> BTreeMap<String, i64> {
        self.get(&format!("/v1/inventory/{variant}"))["holders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["holder"].as_str().unwrap().to_string(),
                    h["free"].as_i64().unwrap(),
                )
            })
            .collect()
    }
}

fn pin(s: &str) -> Pin {
    Pin::parse(s).unwrap()
}

fn sale(item: &str, qty: u32, kind: TenderKind, minor: i64) -> SellRequest {
    SellRequest {
        lines: vec![LineRequest {
            item: item.into(),
            qty: Qty::new(qty).unwrap(),
            discount: None,
        }],
        tenders: vec![Tender {
            kind,
            amount: gbp(minor),
            reference: (kind == TenderKind::Card).then(|| "T-1".to_string()),
        }],
        ..SellRequest::default()
    }
}

fn one(conn: &Connection, sql: &str, event: &str) -> i64 {
    conn.query_row(sql, [event], |r| r.get::<_, Option<i64>>(0))
        .unwrap()
        .unwrap_or(0)
}

#[test]
fn a_market_day_from_allocation_to_stock_back_online() {
    let hub = Hub::start();
    hub.import_kalima();
    let (tee, print) = (hub.variant(TEE), hub.variant(PRINT));

    // The maker's staff; the API never shows a PIN or its hash.
    for (name, role, p) in [
        ("Ana", "cashier", "1111"),
        ("Ben", "cashier", "2222"),
        ("Mia", "manager", "9999"),
    ] {
        let m = hub.ok(
            "POST",
            "/v1/staff",
            json!({"name": name, "role": role, "pin": p}),
        );
        assert!(
            m.get("pin_hash").is_none() && !m.to_string().contains(p),
            "{m}"
        );
    }
    let (status, dup) = hub.call_as(
        &hub.admin,
        "POST",
        "/v1/staff",
        Some(json!({"name": "ana", "role": "cashier", "pin": "3333"})),
    );
    assert_eq!(
        (status, dup["error"]["code"].as_str()),
        (409, Some("staff.name_taken"))
    );
    let (status, bad) = hub.call_as(
        &hub.admin,
        "POST",
        "/v1/staff",
        Some(json!({"name": "Zoe", "role": "cashier", "pin": "12"})),
    );
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (422, Some("staff.invalid_pin"))
    );

    // A till, paired; an event with it; stock allocated; a pickup the hub keeps (placed after the
    // allocation, while the event is planned); then the event opens at the hub.
    let tmp = tempfile::tempdir().unwrap();
    let mut till = Till::init(&tmp.path().join("till"), &params("Stall 1")).unwrap();
    let code = hub.ok("POST", "/v1/pairing-codes", json!({"till_name": "Stall 1"}))["code"]
        .as_str()
        .unwrap()
        .to_string();
    let till_id = till.pair(&hub.url, &code).unwrap().till_id.to_string();
    let event = hub.ok("POST", "/v1/events", json!({"name": "Winter Fair", "place": "Town hall", "starts": "2026-12-05", "ends": "2026-12-05"}))["id"]
        .as_str().unwrap().to_string();
    hub.ok(
        "POST",
        &format!("/v1/events/{event}/tills"),
        json!({"till_id": till_id}),
    );
    hub.ok("POST", "/v1/transfers", json!({"to_till": till_id, "lines": [{"variant_id": tee, "qty": 4}, {"variant_id": print, "qty": 4}]}));
    let order = hub.ok(
        "POST",
        "/v1/checkout",
        json!({
        "lines": [{"variant_id": tee, "qty": 1}],
        "customer": {"name": "Grace Hopper", "email": "grace@example.org"},
        "fulfilment": {"type": "pickup", "event_id": event},
        "payment": "paid"}),
    );
    let reservation = order["reservation"]["id"].as_str().unwrap().to_string();
    hub.ok("POST", &format!("/v1/events/{event}/open"), json!({}));
    let s = till.sync().unwrap();
    assert_eq!(s.staff, 3);

    // Nobody signed in: no sale. A wrong PIN counts; the right one signs Ana in.
    assert_eq!(
        till.sell(&sale(&tee, 1, TenderKind::Cash, 10_000))
            .unwrap_err()
            .code(),
        "staff.sign_in_required"
    );
    assert_eq!(
        till.sign_in("Ana", &pin("1112")).unwrap_err().code(),
        "staff.wrong_pin"
    );
    let ana = till.sign_in("Ana", &pin("1111")).unwrap();

    // Opening: the event from the hub, the allocation that arrived, the float.
    let choices = till.events().unwrap();
    assert_eq!((choices.len(), choices[0].hub_status.as_str()), (1, "open"));
    let opened = till.open_event("Winter Fair", gbp(5_000)).unwrap();
    let held = |id: &str| {
        opened
            .holding
            .iter()
            .find(|h| h.variant_id == id)
            .map(|h| (h.free, h.held))
    };
    assert_eq!((held(&tee), held(&print)), (Some((4, 0)), Some((4, 0))));
    assert_eq!(
        till.open_event(&event, gbp(0)).unwrap_err().code(),
        "event.already_open"
    );

    // Sales by two cashiers; a manager approves a refund above the limit and a void.
    let tee_price = till.resolve_item(&tee).unwrap().price.minor();
    let s1 = till
        .sell(&sale(&tee, 2, TenderKind::Cash, 2 * tee_price + 1_000))
        .unwrap();
    let ben = till.sign_in("Ben", &pin("2222")).unwrap();
    let print_price = till.resolve_item(&print).unwrap().price.minor();
    let s2 = till
        .sell(&sale(&print, 1, TenderKind::Card, print_price))
        .unwrap();
    let s3 = till
        .sell(&sale(&tee, 1, TenderKind::Cash, tee_price))
        .unwrap();
    assert_eq!(
        (s1.staff.as_deref(), s2.staff.as_deref()),
        (Some(ana.id.as_str()), Some(ben.id.as_str()))
    );
    assert_eq!(s2.event.as_deref(), Some(event.as_str()));
    let mia = |p: &str| Approval {
        manager: "Mia".into(),
        pin: pin(p),
    };
    assert_eq!(
        till.void(&s3.receipt, "rang twice").unwrap_err().code(),
        "staff.approval_required"
    );
    till.void_approved(&s3.receipt, "rang twice", Some(&mia("9999")))
        .unwrap();
    let tee1 = RefundItems::Items(vec![(tee.clone(), Qty::new(1).unwrap())]);
    till.sign_in("Mia", &pin("9999")).unwrap();
    till.set_refund_threshold(gbp(tee_price - 1)).unwrap();
    till.sign_in("Ana", &pin("1111")).unwrap();
    assert_eq!(
        till.refund(&s1.receipt, &tee1, Some("torn".into()))
            .unwrap_err()
            .code(),
        "staff.approval_required"
    );
    assert_eq!(
        till.refund_approved(&s1.receipt, &tee1, None, Some(&mia("0000")))
            .unwrap_err()
            .code(),
        "staff.wrong_pin"
    );
    let refund = till
        .refund_approved(&s1.receipt, &tee1, Some("torn".into()), Some(&mia("9999")))
        .unwrap();
    assert_eq!(refund.staff.as_deref(), Some(ana.id.as_str()));

    // Cash in and out with reasons; an X report closes nothing.
    till.cash_move(
        trestle_till::event::CashKind::In,
        gbp(2_000),
        "float top-up",
    )
    .unwrap();
    till.cash_move(
        trestle_till::event::CashKind::Out,
        gbp(500),
        "paid for tape",
    )
    .unwrap();
    let x = till.x_report().unwrap();
    assert_eq!(
        (
            x.kind.as_str(),
            x.sales.count,
            x.refunds.count,
            x.voids.count
        ),
        ("X", 2, 1, 1)
    );
    assert_eq!(
        till.open_event_id().unwrap().as_deref(),
        Some(event.as_str())
    );

    // The pickup, handed over under Ana's staff session, which is scoped to the event.
    let session = till
        .staff_session(uuid::Uuid::parse_str(&event).unwrap())
        .unwrap();
    let (status, collected) = hub.call_as(
        &session.token,
        "POST",
        &format!("/v1/reservations/{reservation}/collected"),
        Some(json!({})),
    );
    assert_eq!(
        (status, collected["status"].as_str()),
        (200, Some("collected")),
        "{collected}"
    );
    let (status, _) = hub.call_as(
        &session.token,
        "POST",
        "/v1/staff",
        Some(json!({"name": "X", "role": "cashier", "pin": "1234"})),
    );
    assert_eq!(status, 403, "a staff session cannot manage staff");
    till.sync().unwrap();

    // The close: the stocktake finds one tee missing (a correction needs a manager and a reason).
    let counts = [
        CountLine {
            item: tee.clone(),
            counted: 2,
            reason: Some("one missing".into()),
        },
        CountLine {
            item: print.clone(),
            counted: 3,
            reason: None,
        },
    ];
    let no_reason = [CountLine {
        item: tee.clone(),
        counted: 2,
        reason: None,
    }];
    assert_eq!(
        till.stocktake(&no_reason, Some(&mia("9999")))
            .unwrap_err()
            .code(),
        "input.invalid"
    );
    assert_eq!(
        till.stocktake(&counts, None).unwrap_err().code(),
        "staff.approval_required"
    );
    let variances = till.stocktake(&counts, Some(&mia("9999"))).unwrap();
    assert_eq!(
        variances.iter().map(|v| v.delta).collect::<Vec<_>>(),
        [-1, 0]
    );
    let expected = till.x_report().unwrap().cash.expected_minor;
    let z = till.close_event(gbp(expected - 200)).unwrap();
    assert_eq!((z.kind.as_str(), z.cash.variance_minor), ("Z", Some(-200)));
    assert_eq!(
        till.z_report(&event).unwrap(),
        z,
        "the stored Z report is the one printed"
    );

    // A closed event takes no new sales.
    let mut late = sale(&print, 1, TenderKind::Card, print_price);
    late.event = Some(event.clone());
    assert_eq!(till.sell(&late).unwrap_err().code(), "event.closed");
    assert!(till.open_event_id().unwrap().is_none());

    // The Z report equals the ledger, computed here from the tables.
    let conn = Connection::open_with_flags(
        till.dir().join("till.sqlite"),
        OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let live = "FROM sales s WHERE s.event = ?1 AND s.id NOT IN (SELECT sale_id FROM voids)";
    assert_eq!(
        z.sales.count,
        one(&conn, &format!("SELECT COUNT(*) {live}"), &event)
    );
    assert_eq!(
        z.sales.total_minor,
        one(&conn, &format!("SELECT SUM(total_minor) {live}"), &event)
    );
    assert_eq!(
        z.sales.tax_minor,
        one(&conn, &format!("SELECT SUM(tax_minor) {live}"), &event)
    );
    assert_eq!(z.sales.total_minor, 2 * tee_price + print_price);
    assert_eq!(
        z.refunds.total_minor,
        one(
            &conn,
            "SELECT SUM(total_minor) FROM refunds WHERE event = ?1",
            &event
        )
    );
    assert_eq!(z.refunds.total_minor, tee_price);
    assert_eq!(z.voids.total_minor, tee_price);
    let cash_taken = one(&conn, &format!("SELECT SUM((SELECT SUM(amount_minor) FROM sale_tenders t WHERE t.sale_id = s.id AND kind = 'cash') - change_minor) {live}"), &event);
    let cash_back = one(&conn, "SELECT SUM(amount_minor) FROM refund_tenders t JOIN refunds r ON r.id = t.refund_id WHERE r.event = ?1 AND t.kind = 'cash'", &event);
    let tender = |k: &str| z.tenders.iter().find(|t| t.kind == k).unwrap().clone();
    assert_eq!(
        (tender("cash").sales_minor, tender("cash").refunds_minor),
        (cash_taken, cash_back)
    );
    assert_eq!((cash_taken, cash_back), (2 * tee_price, tee_price));
    assert_eq!(tender("card").net_minor, print_price);
    assert_eq!(
        z.cash.expected_minor,
        5_000 + 2_000 - 500 + cash_taken - cash_back
    );
    let tax_total: i64 = z.tax.iter().map(|t| t.tax_minor).sum();
    let tax_back = one(
        &conn,
        "SELECT SUM(tax_minor) FROM refunds WHERE event = ?1",
        &event,
    );
    assert_eq!(tax_total, z.sales.tax_minor - tax_back);
    let sold = |v: &str| z.items.iter().find(|i| i.variant_id == v).map(|i| i.net);
    assert_eq!((sold(&tee), sold(&print)), (Some(1), Some(1)));
    // The pickup was handed over by the hub, not at this till: not on this till's report
    // (decision 143; `pickups_races.rs` shows the till's own hand-overs counted).
    assert_eq!((z.collected.reservations, z.collected.units), (0, 0));
    assert_eq!(z.variances.len(), 1);
    let names: Vec<&str> = z.staff.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Ana", "Ben"]);
    let stock_of = |list: &[trestle_till::event::Holding], v: &str| {
        list.iter()
            .find(|h| h.variant_id == v)
            .map(|h| h.free + h.held)
    };
    assert_eq!(
        (
            stock_of(&z.opening_stock, &tee),
            stock_of(&z.closing_stock, &tee)
        ),
        (Some(4), Some(2))
    );
    assert_eq!(z.returned.iter().map(|(_, n)| n).sum::<i64>(), 2 + 3);

    // The CSV's totals are the ledger's too (voided sales marked, refunds negative).
    let csv = till.export_sales_csv(&event).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, trestle_till::export::SALES_CSV_COLUMNS);
    let total_col = header.iter().position(|h| h == "total_minor").unwrap();
    let voided_col = header.iter().position(|h| h == "voided").unwrap();
    let net: i64 = rows
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[voided_col] == "0")
        .map(|r| r[total_col].parse::<i64>().unwrap())
        .sum();
    assert_eq!(net, z.sales.total_minor - z.refunds.total_minor);
    let html = trestle_till::export::report_html(&z).unwrap();
    assert!(
        html.contains("@media print") && html.contains("Winter Fair") && !html.contains("<script")
    );

    // Closing worked offline; the next sync brings the unsold units back to the hub, which
    // sells them online again.
    let before = hub.free(&tee);
    till.sync().unwrap();
    let after = hub.free(&tee);
    let me = format!("till:{till_id}");
    assert_eq!(after[&me], 0);
    assert_eq!(after["hub"], before["hub"] + 2);
    let online = hub.ok(
        "POST",
        "/v1/checkout",
        json!({
        "lines": [{"variant_id": tee, "qty": after["hub"]}],
        "customer": {"name": "Online buyer", "email": "buyer@example.org"},
        "fulfilment": {"type": "ship", "address": "1 High St, Leeds"}}),
    );
    assert!(online["id"].is_string(), "{online}");
    assert!(
        till.audit().unwrap().is_empty(),
        "the ledger and the replica agree"
    );

    // Taking someone off the staff at the hub signs them out at the till's next sync.
    let ben_id = ben.id.clone();
    hub.ok(
        "PATCH",
        &format!("/v1/staff/{ben_id}"),
        json!({"active": false}),
    );
    till.sign_in("Ben", &pin("2222")).unwrap();
    till.sync().unwrap();
    assert_eq!(till.actor().unwrap_err().code(), "staff.sign_in_required");
    assert_eq!(
        till.sign_in("Ben", &pin("2222")).unwrap_err().code(),
        "staff.unknown"
    );
    assert!(till
        .staff()
        .unwrap()
        .iter()
        .any(|s| s.id == ben_id && !s.active));
}
