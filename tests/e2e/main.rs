//! End-to-end tests of the real desktop till: the built `trestle-app` under Xvfb, driven through
//! tauri-driver and WebKitWebDriver like a cashier at the keyboard (the scanner is a keyboard
//! wedge: fast key presses ending in Enter), on a till set up with the real `trestle` CLI and
//! paired with the real hub; each flow then reads the till's SQLite file. They count the
//! cashier's actions after scanning (goals: cash sale ≤ 4, pickup ≤ 3) and save a screenshot of
//! every screen into docs/screenshots/. They need a display server, tauri-driver and
//! WebKitWebDriver, so they are `#[ignore]`d in `cargo test`; `scripts/test` runs them
//! (`cargo test -p trestle-app --test e2e -- --ignored`, see docs/testing.md).

mod procs;
mod stall;
mod webdriver;

use rusqlite::Connection;
use stall::{App, Stall};
use webdriver::key::{ALT, ENTER, ESCAPE, F10, F4, F8, SHIFT, SPACE, TAB};

/// Prints and checks the count of a flow's actions after scanning.
fn actions(flow: &str, app: &App, goal: Option<u32>) {
    let n = app.actions;
    match goal {
        Some(g) => {
            eprintln!("e2e: {flow}: {n} actions after scanning (goal <= {g})");
            assert!(
                n <= g,
                "{flow} took {n} actions after scanning; the goal is {g}"
            );
        }
        None => eprintln!("e2e: {flow}: {n} actions"),
    }
}

/// Scans `id` and waits until the cart has `lines` lines.
fn scan_into_cart(app: &App, id: &str, lines: usize) {
    app.scan(id);
    app.session
        .wait_for(&format!("{lines} cart lines after scanning {id}"), |s| {
            (s.all_ids("cart-line").len() == lines).then_some(())
        });
}

/// The sale with receipt number `receipt`: (id, total, paid, change, lines, tenders).
fn sale(db: &Connection, receipt: &str) -> (String, i64, i64, i64, i64, i64) {
    db.query_row(
        "SELECT id, total_minor, paid_minor, change_minor, line_count, tender_count
         FROM sales WHERE receipt = ?1",
        [receipt],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        },
    )
    .unwrap_or_else(|e| panic!("no sale {receipt} in the till's database: {e}"))
}

/// The tenders of sale `id` in order: (kind, amount, reference).
fn tenders(db: &Connection, id: &str) -> Vec<(String, i64, Option<String>)> {
    let mut st = db
        .prepare("SELECT kind, amount_minor, reference FROM sale_tenders WHERE sale_id = ?1 ORDER BY idx")
        .expect("a query");
    st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("tenders")
        .collect::<rusqlite::Result<_>>()
        .expect("tenders")
}

/// The variant ids and quantities of sale `id`'s lines.
fn sale_lines(db: &Connection, id: &str) -> Vec<(String, i64)> {
    let mut st = db
        .prepare("SELECT variant_id, qty FROM sale_lines WHERE sale_id = ?1 ORDER BY line_no")
        .expect("a query");
    st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("lines")
        .collect::<rusqlite::Result<_>>()
        .expect("lines")
}

/// How many outbox entries of `kind` point at `reference`.
fn outbox(db: &Connection, kind: &str, reference: &str) -> i64 {
    db.query_row(
        "SELECT COUNT(*) FROM outbox WHERE kind = ?1 AND ref = ?2",
        [kind, reference],
        |r| r.get(0),
    )
    .expect("the outbox")
}

/// Completes the receipt shown and checks the cart is empty again.
fn next_sale(app: &mut App) {
    app.press(&ENTER.to_string());
    app.session.gone("receipt");
    app.session.id("cart-empty");
}

/// The receipt number shown on the receipt.
fn receipt_no(app: &App) -> String {
    app.session
        .text_when("receipt-no", "shows a receipt number", |t| !t.is_empty())
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test runs it"]
fn a_cash_sale_of_three_scanned_items() {
    let stall = Stall::new();
    let mut app = stall.open_app();
    app.session.id("screen-sell");
    for (n, item) in [&stall.tee, &stall.hoodie, &stall.small_tee]
        .iter()
        .enumerate()
    {
        scan_into_cart(&app, &item.id, n + 1);
    }
    let due = stall.tee.price + stall.hoodie.price + stall.small_tee.price;
    app.session.text_when("cart", "shows the three items", |t| {
        [&stall.tee, &stall.hoodie, &stall.small_tee]
            .iter()
            .all(|i| t.contains(&i.title))
    });
    app.screenshot("sell");

    app.press(&F8.to_string());
    app.session.id("tender-cash");
    app.session.id("quick-amount");
    app.screenshot("tender");
    // Enter with the field empty takes the exact amount.
    app.press(&ENTER.to_string());
    app.session.id("receipt");
    let receipt = receipt_no(&app);
    app.screenshot("receipt");
    next_sale(&mut app);
    actions("cash sale", &app, Some(4));
    drop(app);

    let db = stall.db();
    let (id, total, paid, change, lines, n_tenders) = sale(&db, &receipt);
    assert_eq!((total, paid, change, lines, n_tenders), (due, due, 0, 3, 1));
    assert_eq!(tenders(&db, &id), vec![("cash".to_string(), due, None)]);
    assert_eq!(
        sale_lines(&db, &id),
        vec![
            (stall.tee.id.clone(), 1),
            (stall.hoodie.id.clone(), 1),
            (stall.small_tee.id.clone(), 1)
        ]
    );
    assert_eq!(outbox(&db, "sale_completed", &id), 1);
    let sold: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM stock_movements WHERE cause = 'sale' AND ref = ?1 AND delta = -1",
            [&id],
            |r| r.get(0),
        )
        .expect("movements");
    assert_eq!(sold, 3, "the three items leave this till's stock");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test runs it"]
fn a_split_sale_card_with_a_reference_and_cash() {
    let stall = Stall::new();
    let mut app = stall.open_app();
    scan_into_cart(&app, &stall.tee.id, 1);
    scan_into_cart(&app, &stall.hoodie.id, 2);
    let due = stall.tee.price + stall.hoodie.price;
    app.press(&F10.to_string());
    app.session.id("tender-split");
    app.type_text("10");
    let card = due - 1000;
    app.session
        .text_when("card-amount", "shows the card part", |t| {
            t.replace([',', '.'], "").contains(&card.to_string())
        });
    app.press(&TAB.to_string());
    app.type_text("AUTH-4411");
    app.press(&ENTER.to_string());
    app.session.id("receipt");
    let receipt = receipt_no(&app);
    next_sale(&mut app);
    actions("split sale", &app, None);
    drop(app);

    let db = stall.db();
    let (id, total, paid, change, _, n_tenders) = sale(&db, &receipt);
    assert_eq!((total, paid, change, n_tenders), (due, due, 0, 2));
    let mut t = tenders(&db, &id);
    t.sort();
    assert_eq!(
        t,
        vec![
            ("card".to_string(), card, Some("AUTH-4411".to_string())),
            ("cash".to_string(), 1000, None),
        ]
    );
    assert_eq!(outbox(&db, "sale_completed", &id), 1);
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test runs it"]
fn a_refund_of_one_line_of_an_earlier_sale() {
    let stall = Stall::new();
    let mut app = stall.open_app();
    scan_into_cart(&app, &stall.tee.id, 1);
    scan_into_cart(&app, &stall.hoodie.id, 2);
    app.press(&F8.to_string());
    app.session.id("tender-cash");
    app.press(&ENTER.to_string());
    let receipt = receipt_no(&app);
    next_sale(&mut app);
    app.actions = 0;

    // Alt+R, the receipt number, Enter: the sale's lines, all chosen, the cursor in "Why". The
    // second line is not refunded: Shift+Tab to its "one fewer", Space; back to "Why", Enter.
    app.press(&format!("{ALT}r"));
    app.session.id("refund-dialog");
    app.type_text(&receipt);
    app.press(&ENTER.to_string());
    app.session.wait_for("the sale's two lines", |s| {
        (s.all_ids("refund-line").len() == 2).then_some(())
    });
    app.press(&format!("{SHIFT}{TAB}"));
    app.press(&SPACE.to_string());
    app.session.wait_for("the second line at 0", |s| {
        let q: Vec<String> = s.all_ids("refund-qty").iter().map(|e| s.text(e)).collect();
        (q == ["1", "0"]).then_some(())
    });
    // To the reason field, then type it; Enter refunds.
    while app.session.js(
        "return document.activeElement?.dataset?.testid || ''",
        serde_json::json!([]),
    ) != "refund-reason"
    {
        app.press(&TAB.to_string());
        assert!(app.actions < 20, "the reason field is not reachable by Tab");
    }
    app.type_text("damaged seam");
    app.press(&ENTER.to_string());
    app.session.id("refund-done");
    app.screenshot("refund");
    app.press(&ESCAPE.to_string());
    app.session.gone("refund-dialog");
    actions("refund of one line", &app, None);
    drop(app);

    let db = stall.db();
    let (sale_id, ..) = sale(&db, &receipt);
    let (refund_id, amount, reason): (String, i64, Option<String>) = db
        .query_row(
            "SELECT id, total_minor, reason FROM refunds WHERE sale_id = ?1",
            [&sale_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("one refund of the sale");
    assert_eq!(amount, stall.tee.price);
    assert_eq!(reason.as_deref(), Some("damaged seam"));
    let lines: Vec<(String, i64, i64)> = db
        .prepare("SELECT variant_id, qty, amount_minor FROM refund_lines WHERE refund_id = ?1")
        .expect("a query")
        .query_map([&refund_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("refund lines")
        .collect::<rusqlite::Result<_>>()
        .expect("refund lines");
    assert_eq!(lines, vec![(stall.tee.id.clone(), 1, stall.tee.price)]);
    let back: (String, i64) = db
        .query_row(
            "SELECT kind, amount_minor FROM refund_tenders WHERE refund_id = ?1",
            [&refund_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the refund's tender");
    assert_eq!(back, ("cash".to_string(), stall.tee.price));
    assert_eq!(outbox(&db, "sale_refunded", &refund_id), 1);
    let restocked: i64 = db
        .query_row(
            "SELECT COALESCE(SUM(delta), 0) FROM stock_movements WHERE cause = 'refund' AND ref = ?1",
            [&refund_id],
            |r| r.get(0),
        )
        .expect("movements");
    assert_eq!(restocked, 1, "the refunded T-shirt is back in stock");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test runs it"]
fn a_pickup_by_its_code_and_every_other_screen() {
    let stall = Stall::new();
    let mut app = stall.open_app();
    // The customer shows the QR code of the order; the scanner reads it on the Sell screen.
    app.scan(&format!("TRESTLE:R:{}", stall.pickup_code));
    app.session.id("screen-pickups");
    app.session
        .text_when("reservation-code", "shows the pickup", |t| !t.is_empty());
    app.session.id("reservation-remaining");
    // The online order arrived held; packing it is its own step (F4), before the customer
    // comes, so it is not counted in the hand-over's actions.
    app.session
        .text_when("reservation-status", "the pickup is held", |t| t == "Held");
    app.press(&F4.to_string());
    app.session
        .text_when("reservation-status", "the pickup is marked ready", |t| {
            t == "Ready"
        });
    app.session.gone("mark-ready");
    app.actions = 0;
    app.session.id("hand-over");
    app.screenshot("pickups");
    // Enter on "Take … and hand over", Enter for the exact cash, Enter to close the receipt.
    app.press(&ENTER.to_string());
    app.session.id("tender-cash");
    app.press(&ENTER.to_string());
    app.session.id("receipt");
    let receipt = receipt_no(&app);
    app.press(&ENTER.to_string());
    app.session.gone("receipt");
    actions("pickup", &app, Some(3));

    app.press(&format!("{ALT}3"));
    app.session.id("screen-stock");
    app.session.id("stock-row");
    app.screenshot("stock");
    app.press(&format!("{ALT}4"));
    app.session.id("sync-facts");
    app.screenshot("sync");
    app.press(&format!("{ALT}5"));
    app.session.id("setup-status");
    app.screenshot("setup");
    drop(app);

    let db = stall.db();
    let (sale_id, total, paid, change, _, _) = sale(&db, &receipt);
    assert_eq!(
        (total, paid, change),
        (stall.pickup_due, stall.pickup_due, 0)
    );
    assert_eq!(
        tenders(&db, &sale_id),
        vec![("cash".to_string(), stall.pickup_due, None)]
    );
    let collect: String = db
        .query_row(
            "SELECT collect_id FROM pickup_sales WHERE sale_id = ?1",
            [&sale_id],
            |r| r.get(0),
        )
        .expect("the payment is linked to the pickup");
    let handed: i64 = db
        .query_row(
            "SELECT COALESCE(SUM(delta), 0) FROM stock_movements WHERE cause = 'pickup' AND ref = ?1",
            [&collect],
            |r| r.get(0),
        )
        .expect("movements");
    assert_eq!(handed, -1, "the reserved T-shirt left the till");
    assert_eq!(outbox(&db, "sale_completed", &sale_id), 1);
    let found = stall::trestle(
        stall.dir.path(),
        &["reservations", "find", &stall.pickup_code],
    );
    assert_eq!(found[0]["status"], "collected", "{found}");
}
