//! The `trestle` binary's happy path on a real SQLite file: init, import the real Shopify export, list, sell (cash with change, card with reference, split tender, line and cart discounts), sales, receipt, partial then full refund, outbox, stock — and a closed stdout pipe does not panic.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use common::{deny_item, id, minor, shop_files, stderr, Cli};
use serde_json::Value;
use trestle_core::catalog::Qty;
use trestle_core::tender::Tender;
use trestle_core::Money;
use trestle_till::sell::{LineRequest, SellRequest};
use trestle_till::Till;

fn sell(cli: &Cli, args: &[&str]) -> Value {
    let mut all = vec!["sell"];
    all.extend_from_slice(args);
    cli.json(&all)
}

/// A price in minor units as typed at the till (GBP: 2 decimals).
fn gbp(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

#[test]
fn a_day_at_the_stall_from_import_to_outbox() {
    let cli = Cli::gbp();
    let file = common::shop_file();
    let summary = cli.json(&["catalog", "import", file.to_str().unwrap()]);
    let created = summary["variants_created"].as_u64().unwrap();
    assert!(created > 0, "{summary}");
    assert_eq!(summary["variants_updated"], 0);
    assert!(!summary["rows"].as_array().unwrap().is_empty());

    let items = cli.catalog();
    assert_eq!(items.len() as u64, created);
    let soul = cli.json(&["catalog", "list", "--search", "soul"]);
    assert!(!soul.as_array().unwrap().is_empty());
    assert!(soul.as_array().unwrap().len() < items.len());
    let text = cli.ok(&["catalog", "list"]);
    assert!(
        text.ends_with(&format!("{} items\n", items.len())),
        "{text}"
    );

    // Two tracked deny variants to sell.
    let a = deny_item(&items).clone();
    let b = items
        .iter()
        .find(|i| {
            i["policy"] == "deny"
                && i["on_hand"].as_i64().unwrap_or(0) >= 3
                && i["variant_id"] != a["variant_id"]
        })
        .expect("a second deny variant")
        .clone();
    let (va, vb) = (id(&a), id(&b));
    let (pa, pb) = (minor(&a["price"]), minor(&b["price"]));
    let stock0 = cli.stock();

    // 1. Cash with change.
    let s1 = sell(
        &cli,
        &[
            "--line",
            &format!("{va}=1"),
            "--pay",
            &format!("cash={}", gbp(pa + 1000)),
        ],
    );
    assert_eq!(minor(&s1["totals"]["total"]), pa);
    assert_eq!(minor(&s1["change"]), 1000);
    assert_eq!(s1["tenders"][0]["kind"], "cash");
    assert_eq!(s1["receipt"]["seq"], 1);

    // 2. Card with the terminal's reference, exact.
    let s2 = sell(
        &cli,
        &[
            "--line",
            &format!("{vb}=1"),
            "--pay",
            &format!("card={}:AUTH123", gbp(pb)),
        ],
    );
    assert_eq!(s2["tenders"][0]["kind"], "card");
    assert_eq!(s2["tenders"][0]["reference"], "AUTH123");
    assert_eq!(minor(&s2["change"]), 0);

    // 3. Split tender: 10.00 cash, the rest on card.
    let s3 = sell(
        &cli,
        &[
            "--line",
            &format!("{va}=2"),
            "--pay",
            "cash=10",
            "--pay",
            &format!("card={}:T-77", gbp(2 * pa - 1000)),
        ],
    );
    assert_eq!(minor(&s3["totals"]["total"]), 2 * pa);
    assert_eq!(s3["tenders"].as_array().unwrap().len(), 2);
    assert_eq!(minor(&s3["change"]), 0);

    // 4. A line discount of 10% on two units.
    let s4 = sell(
        &cli,
        &[
            "--line",
            &format!("{va}=2@10%"),
            "--pay",
            &format!("cash={}", gbp(2 * pa)),
        ],
    );
    let line = &s4["lines"][0];
    assert_eq!(minor(&line["gross"]), 2 * pa);
    assert_eq!(minor(&line["line_discount"]), (2 * pa + 5) / 10);
    assert_eq!(minor(&s4["totals"]["total"]), 2 * pa - (2 * pa + 5) / 10);

    // 5. A cart discount of 5%.
    let s5 = sell(
        &cli,
        &[
            "--line",
            &format!("{vb}=1"),
            "--discount",
            "5%",
            "--pay",
            &format!("cash={}", gbp(pb)),
        ],
    );
    assert_eq!(minor(&s5["totals"]["discount"]), (pb * 5 + 50) / 100);
    assert_eq!(minor(&s5["totals"]["total"]), pb - (pb * 5 + 50) / 100);

    let sales = cli.json(&["sales"]);
    let sales = sales.as_array().unwrap();
    let receipts: Vec<&str> = sales
        .iter()
        .map(|s| s["receipt"].as_str().unwrap())
        .collect();
    assert_eq!(
        receipts,
        [
            "STALL1-000001",
            "STALL1-000002",
            "STALL1-000003",
            "STALL1-000004",
            "STALL1-000005"
        ]
    );
    for (s, sold) in sales.iter().zip([&s1, &s2, &s3, &s4, &s5]) {
        assert_eq!(s["total"], sold["totals"]["total"]);
        assert_eq!(minor(&s["refunded"]), 0);
        assert_eq!(s["voided"], false);
    }
    assert_eq!(sales[2]["tenders"], serde_json::json!(["cash", "card"]));
    assert_eq!(
        cli.json(&["sales", "--since", "2000-01-01"])
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert!(cli
        .json(&["sales", "--since", "2999-01-01"])
        .as_array()
        .unwrap()
        .is_empty());
    let table = cli.ok(&["sales"]);
    assert!(table.ends_with("5 sales\n"), "{table}");

    // The receipt, as printed and as JSON.
    let printed = cli.ok(&["receipt", "STALL1-000003"]);
    assert!(printed.starts_with("Kalima Arts\n"), "{printed}");
    assert!(printed.contains("Receipt STALL1-000003"), "{printed}");
    assert!(printed.contains("TOTAL GBP"), "{printed}");
    assert!(printed.contains("card (T-77)"), "{printed}");
    assert_eq!(cli.json(&["receipt", "stall1-3"])["sale"], s3);

    // Refund one unit of sale 3, then the rest: the two refunds sum to the sale's total, and
    // each tender gets back exactly what it paid.
    let r1 = cli.json(&[
        "refund",
        "STALL1-000003",
        "--line",
        &format!("{va}=1"),
        "--reason",
        "damaged",
    ]);
    assert_eq!(r1["sale_id"], s3["id"]);
    assert_eq!(r1["plan"]["lines"][0]["qty"], 1);
    let r2 = cli.json(&["refund", "STALL1-000003"]);
    assert_eq!(r2["plan"]["lines"][0]["qty"], 1);
    assert_eq!(
        minor(&r1["plan"]["total"]) + minor(&r2["plan"]["total"]),
        2 * pa
    );
    let mut back = [0i64; 2];
    for r in [&r1, &r2] {
        for t in r["plan"]["tenders"].as_array().unwrap() {
            back[t["tender_index"].as_u64().unwrap() as usize] += minor(&t["amount"]);
        }
    }
    assert_eq!(back, [1000, 2 * pa - 1000]);
    let detail = cli.json(&["receipt", "STALL1-000003"]);
    assert_eq!(detail["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(detail["sale"], s3, "the sale itself never changes");
    let printed = cli.ok(&["receipt", "STALL1-000003"]);
    assert_eq!(printed.matches("Refunded").count(), 2, "{printed}");
    let sales = cli.json(&["sales"]);
    assert_eq!(sales[2]["refunded"], s3["totals"]["total"]);

    // The outbox: one entry per sale and refund, in order.
    let outbox = cli.json(&["outbox"]);
    let outbox = outbox.as_array().unwrap();
    let kinds: Vec<&str> = outbox.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "sale_completed",
            "sale_completed",
            "sale_completed",
            "sale_completed",
            "sale_completed",
            "sale_refunded",
            "sale_refunded"
        ]
    );
    let refs: Vec<&Value> = outbox.iter().map(|o| &o["reference"]).collect();
    let ids = [
        &s1["id"], &s2["id"], &s3["id"], &s4["id"], &s5["id"], &r1["id"], &r2["id"],
    ];
    assert_eq!(refs, ids);
    for w in outbox.windows(2) {
        assert!(w[0]["seq"].as_i64() < w[1]["seq"].as_i64());
    }
    for o in outbox {
        assert_eq!(o["acked"], false);
        assert_eq!(o["payload"]["event_id"], o["event_id"]);
        assert_eq!(o["payload"]["event"]["kind"], o["kind"]);
    }
    assert_eq!(outbox[2]["payload"]["event"]["record"], s3);
    assert_eq!(
        cli.json(&["outbox", "--pending"]).as_array().unwrap().len(),
        7
    );
    assert!(cli
        .ok(&["outbox"])
        .ends_with("7 events, 7 waiting for the hub\n"));

    // Stock: a sold 1 + 2 + 2 and got 2 back; b sold 2.
    let stock = cli.stock();
    assert_eq!(stock[&va], stock0[&va] - 3);
    assert_eq!(stock[&vb], stock0[&vb] - 2);
    for (v, n) in &stock {
        if v != &va && v != &vb {
            assert_eq!(*n, stock0[v], "{v} moved without a sale");
        }
    }
    let table = cli.ok(&["stock"]);
    assert!(table.contains(" units on hand, "), "{table}");

    // Voiding sale 5 puts its unit back; the outbox gets a sale_voided.
    cli.ok(&["void", "STALL1-000005", "--reason", "rang up twice"]);
    assert_eq!(cli.stock()[&vb], stock0[&vb] - 1);
    let outbox = cli.json(&["outbox"]);
    assert_eq!(outbox[7]["kind"], "sale_voided");
    assert_eq!(cli.json(&["sales"])[4]["voided"], true);
    assert!(cli
        .ok(&["receipt", "STALL1-000005"])
        .contains("*** VOIDED ***"));
}

#[test]
fn every_real_export_imports_from_the_cli_and_reimports_as_updates() {
    for file in shop_files() {
        let cli = Cli::gbp();
        let path = file.to_str().unwrap();
        let first = cli.ok(&["catalog", "import", path]);
        assert!(first.contains("Products: "), "{first}");
        let again = cli.json(&["catalog", "import", path]);
        assert_eq!(again["products_created"], 0, "{}", file.display());
        assert_eq!(again["variants_created"], 0, "{}", file.display());
    }
}

#[test]
fn a_closed_stdout_pipe_does_not_panic() {
    let cli = Cli::gbp_with_catalog();
    // Enough sales (rung up through the engine, for speed) that every listing is larger than a
    // pipe's buffer, so the binary is still writing when the reader goes away.
    let items = cli.catalog();
    let v = items
        .iter()
        .find(|i| i["track_inventory"] == false)
        .map(id)
        .expect("an untracked variant");
    let mut till = Till::open(&cli.dir).unwrap();
    let req = SellRequest {
        lines: vec![LineRequest {
            item: v,
            qty: Qty::new(1).unwrap(),
            discount: None,
        }],
        tenders: vec![Tender::cash(Money::from_minor(
            10_000_000,
            till.shop().currency,
        ))],
        ..SellRequest::default()
    };
    for _ in 0..1500 {
        till.sell(&req).unwrap();
    }
    drop(till);
    for args in [
        vec!["sales"],
        vec!["catalog", "list"],
        vec!["stock"],
        vec!["--json", "catalog", "list"],
        vec!["--json", "outbox"],
        vec!["receipt", "STALL1-000001"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trestle"))
            .arg("--data-dir")
            .arg(&cli.dir)
            .args(&args)
            .env_remove("TRESTLE_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "{args:?}");
        // The reader (and so the pipe) is dropped here, like `| head -1`.
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
}
