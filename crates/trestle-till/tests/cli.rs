//! Invalid input to every CLI command gives a non-zero exit and one sentence; the database is unchanged afterwards (tests show both).
//!
//! Each case runs the real `trestle` binary on a real SQLite file in a temp dir, with the real
//! Shopify export imported, and compares the data directory's files and every table's rows
//! before and after (`common::Snapshot`). With `--json`, the refusal is one JSON document
//! `{"error":{"code","message"}}` on stdout with a stable code. `init` and the data directory
//! itself (missing, uninitialised, under a regular file) are in `cli_setup.rs`.

mod common;

use std::io::Write as _;

use common::{deny_item, id, run_in, till_with_a_sale, Cli, Snapshot};
use rand::RngCore as _;

#[test]
fn sell_refuses_bad_items_quantities_and_payments() {
    let (cli, v, on_hand) = till_with_a_sale();
    let more = on_hand + 1;
    // Each case is the arguments after `sell`, split on spaces.
    let cases = [
        // Unknown SKU, empty item, missing quantity.
        "--line NO-SUCH-SKU=1 --pay cash=100".to_string(),
        "--line =1 --pay cash=100".into(),
        format!("--line {v}= --pay cash=100"),
        // Quantities: zero, negative, not whole, words, huge, beyond the largest line quantity.
        format!("--line {v}=0 --pay cash=100"),
        format!("--line {v}=-1 --pay cash=100"),
        format!("--line {v}=1.5 --pay cash=100"),
        format!("--line {v}=two --pay cash=100"),
        format!("--line {v}=99999999999999999999 --pay cash=100"),
        format!("--line {v}=100001 --pay cash=100"),
        // Malformed amounts and payments.
        format!("--line {v}=1 --pay cash=abc"),
        format!("--line {v}=1 --pay cash="),
        format!("--line {v}=1 --pay card=-5"),
        format!("--line {v}=1 --pay cash=0"),
        format!("--line {v}=1 --pay coins=100"),
        format!("--line {v}=1 --pay cash=1e3"),
        format!("--line {v}=1 --pay cash=100:REF"),
        format!("--line {v}=1 --pay cash=99999999999999999999"),
        // Wrong precision for GBP.
        format!("--line {v}=1 --pay cash=12.345"),
        // Under-payment, no payment, change on card.
        format!("--line {v}=1 --pay cash=1"),
        format!("--line {v}=1"),
        format!("--line {v}=1 --pay card=100000"),
        format!("--line {v}=1 --pay cash=1 --pay card=100000:AUTH1"),
        // Bad discounts.
        format!("--line {v}=1@200% --pay cash=1000"),
        format!("--line {v}=1@abc --pay cash=1000"),
        format!("--line {v}=1 --discount 100000 --pay cash=1000"),
        format!("--line {v}=1 --discount 1.001 --pay cash=1000"),
        // Ambiguous SKU: the real file has '10 on several variants (with and without the quote).
        "--line '10=1 --pay cash=1000".into(),
        "--line 10=1 --pay cash=1000".into(),
        // A deny variant beyond this till's stock, on one line and over two lines.
        format!("--line {v}={more} --pay cash=100000"),
        format!("--line {v}={on_hand} --line {v}=1 --pay cash=100000"),
    ];
    for case in &cases {
        let mut args = vec!["sell"];
        args.extend(case.split(' '));
        let msg = cli.refused(&args);
        // Nothing of the SQL or the Rust types reaches the cashier.
        assert!(!msg.contains("Error"), "{args:?}: {msg}");
    }
    let m = cli.refused(&["sell", "--line", "'10=1", "--pay", "cash=1000"]);
    assert!(m.contains("SKU \"10\" is used by"), "{m}");
    let m = cli.refused(&[
        "sell",
        "--line",
        &format!("{v}={more}"),
        "--pay",
        "cash=100000",
    ]);
    assert!(m.contains(&format!("only {on_hand} of")), "{m}");
    let m = cli.refused(&["sell", "--line", &format!("{v}=100001"), "--pay", "cash=1"]);
    assert!(m.contains("1 to 100000"), "{m}");
    // The stock is still the one the first sale left.
    assert_eq!(cli.stock()[&v], on_hand);
}

#[test]
fn amounts_too_precise_for_the_currency_are_refused() {
    let gbp = Cli::gbp_with_catalog();
    let v = id(deny_item(&gbp.catalog()));
    let m = gbp.refused_json(
        &["sell", "--line", &format!("{v}=1"), "--pay", "cash=12.345"],
        "money.too_precise",
    );
    assert!(
        m.contains("GBP amounts have at most 2 decimal places"),
        "{m}"
    );

    let jpy = Cli::init_with(&[
        "--shop",
        "Kalima",
        "--currency",
        "JPY",
        "--tax",
        "exclusive",
        "--tax-rate",
        "10",
        "--till",
        "Tokyo",
    ]);
    let file = common::shop_file();
    jpy.ok(&["catalog", "import", file.to_str().unwrap()]);
    let v = id(deny_item(&jpy.catalog()));
    let m = jpy.refused_json(
        &["sell", "--line", &format!("{v}=1"), "--pay", "cash=10.5"],
        "money.too_precise",
    );
    assert!(
        m.contains("JPY amounts have at most 0 decimal places"),
        "{m}"
    );
    jpy.refused(&[
        "sell",
        "--line",
        &format!("{v}=1@0.5"),
        "--pay",
        "cash=100000",
    ]);
    // Zeros past the precision are no extra precision: this one sells.
    jpy.ok(&[
        "sell",
        "--line",
        &format!("{v}=1"),
        "--pay",
        "cash=100000.00",
    ]);
}

#[test]
fn catalog_import_refuses_files_that_are_not_a_product_export() {
    let (cli, ..) = till_with_a_sale();
    let tmp = tempfile::tempdir().unwrap();
    let mut noise = vec![0u8; 4096];
    rand::rng().fill_bytes(&mut noise);
    noise[0] = 0xff; // never valid UTF-8
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random.csv", noise),
        (
            "orders.csv",
            b"Name,Email,Total\n#1001,a@example.com,12.00\n".to_vec(),
        ),
        ("empty.csv", Vec::new()),
        ("blank.csv", b"\n\n".to_vec()),
        ("no-price.csv", b"Handle,Title\nmug,Mug\n".to_vec()),
    ];
    for (name, bytes) in &cases {
        let path = tmp.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        let msg = cli.refused(&["catalog", "import", path.to_str().unwrap()]);
        assert!(!msg.contains("os error"), "{msg}");
    }
    let missing = tmp.path().join("missing.csv");
    let m = cli.refused(&["catalog", "import", missing.to_str().unwrap()]);
    assert!(m.contains("there is no such file"), "{m}");
    cli.refused(&["catalog", "import", tmp.path().to_str().unwrap()]);
    cli.refused_json(
        &["catalog", "import", missing.to_str().unwrap()],
        "input.unreadable_file",
    );
    let orders = tmp.path().join("orders.csv");
    cli.refused_json(
        &["catalog", "import", orders.to_str().unwrap()],
        "import.missing_column",
    );
}

#[test]
fn refunds_and_voids_that_cannot_be_done_are_refused() {
    let cli = Cli::gbp_with_catalog();
    let items = cli.catalog();
    let deny: Vec<String> = items
        .iter()
        .filter(|i| i["policy"] == "deny" && i["on_hand"].as_i64().unwrap_or(0) >= 5)
        .map(id)
        .take(2)
        .collect();
    let (a, b) = (&deny[0], &deny[1]);
    cli.ok(&["sell", "--line", &format!("{a}=2"), "--pay", "cash=10000"]);
    cli.ok(&["sell", "--line", &format!("{b}=1"), "--pay", "cash=10000"]);
    let first = "STALL1-000001";

    // Unknown and malformed receipt numbers, for refund, void and receipt.
    for cmd in [&["refund"][..], &["receipt"][..]] {
        for r in ["STALL1-000099", "OTHER-000001"] {
            let m = cli.refused(&[cmd, &[r][..]].concat());
            assert!(m.contains("no sale has the receipt number"), "{m}");
        }
        for r in [
            "nonsense",
            "STALL1-",
            "STALL1-0",
            "STALL1--1",
            "STALL1-x",
            "TOOLONGPREFIX-1",
        ] {
            let m = cli.refused(&[cmd, &[r][..]].concat());
            assert!(m.contains("is not a valid receipt number"), "{m}");
        }
    }
    cli.refused(&["void", "STALL1-000099", "--reason", "mistake"]);
    cli.refused(&["void", "nonsense", "--reason", "mistake"]);
    cli.refused_json(&["refund", "STALL1-000099"], "sale.not_found");

    // More than sold, an item not on the sale, bad quantities.
    let m = cli.refused(&["refund", first, "--line", &format!("{a}=3")]);
    assert!(
        m.contains("only 2 of line 1 can still be refunded, not 3"),
        "{m}"
    );
    let m = cli.refused(&["refund", first, "--line", &format!("{b}=1")]);
    assert!(m.contains("is not on the sale STALL1-000001"), "{m}");
    cli.refused(&["refund", first, "--line", "NO-SUCH=1"]);
    cli.refused(&["refund", first, "--line", &format!("{a}=0")]);
    cli.refused(&["refund", first, "--line", &format!("{a}=-1")]);
    cli.refused(&["refund", first, "--line", a]);
    cli.refused(&[
        "refund",
        first,
        "--line",
        &format!("{a}=1"),
        "--line",
        &format!("{a}=2"),
    ]);
    cli.refused_json(
        &["refund", first, "--line", &format!("{b}=1")],
        "refund.not_on_sale",
    );

    // Refund part, then more than is left, then the rest, then anything.
    cli.ok(&["refund", first, "--line", &format!("{a}=1")]);
    let m = cli.refused(&["refund", first, "--line", &format!("{a}=2")]);
    assert!(m.contains("only 1 of line 1"), "{m}");
    cli.ok(&["refund", first]);
    for args in [
        vec!["refund", first],
        vec!["refund", first, "--line", &format!("{a}=1")],
    ] {
        let m = cli.refused(&args);
        assert!(m.contains("already been refunded"), "{m}");
    }
    cli.refused_json(&["refund", first], "refund.nothing_left");

    // Void after a refund.
    let m = cli.refused(&["void", first, "--reason", "mistake"]);
    assert!(m.contains("has refunds"), "{m}");
    cli.refused_json(&["void", first, "--reason", "mistake"], "sale.has_refunds");

    // Void without a reason, then void twice, then refund a voided sale.
    let second = "STALL1-000002";
    cli.refused(&["void", second, "--reason", "  "]);
    cli.refused(&["void", second]);
    cli.ok(&["void", second, "--reason", "rang up the wrong print"]);
    let m = cli.refused(&["void", second, "--reason", "again"]);
    assert!(m.contains("was voided"), "{m}");
    cli.refused(&["refund", second]);
    cli.refused_json(&["void", second, "--reason", "again"], "sale.voided");
}

#[test]
fn sales_since_must_be_a_date() {
    let (cli, ..) = till_with_a_sale();
    for since in [
        "yesterday",
        "2026-13-01",
        "22/11/2026",
        "",
        "2026-11-22T25:00",
    ] {
        let m = cli.refused(&["sales", "--since", since]);
        assert!(m.contains("is not a date"), "{since}: {m}");
    }
    cli.refused_json(&["sales", "--since", "yesterday"], "input.invalid");
}

#[test]
fn json_refusals_carry_the_stable_codes() {
    let (cli, v, on_hand) = till_with_a_sale();
    cli.refused_json(
        &["sell", "--line", "NO-SUCH=1", "--pay", "cash=1"],
        "catalog.unknown_item",
    );
    cli.refused_json(
        &["sell", "--line", "'10=1", "--pay", "cash=1000"],
        "catalog.ambiguous_sku",
    );
    let m = cli.refused_json(
        &[
            "sell",
            "--line",
            &format!("{v}={}", on_hand + 1),
            "--pay",
            "cash=100000",
        ],
        "stock.insufficient",
    );
    assert!(m.contains(&format!("only {on_hand} of")), "{m}");
    cli.refused_json(
        &["sell", "--line", &format!("{v}=1"), "--pay", "cash=1"],
        "tender.underpaid",
    );
    cli.refused_json(
        &["sell", "--line", &format!("{v}=1"), "--pay", "card=100000"],
        "tender.change_on_non_cash",
    );
    cli.refused_json(
        &["sell", "--line", &format!("{v}=0"), "--pay", "cash=1"],
        "cart.invalid_quantity",
    );
    cli.refused_json(
        &["sell", "--line", &format!("{v}=1"), "--pay", "cash=abc"],
        "tender.invalid",
    );
    // Arguments clap cannot read are refused the same way.
    cli.refused_json(&["sell", "--pay", "cash=1"], "input.invalid");
    cli.refused_json(&["no-such-command"], "input.invalid");
}

#[test]
fn arguments_that_cannot_be_read_give_one_sentence() {
    let (cli, ..) = till_with_a_sale();
    for args in [
        vec!["sell"],
        vec!["sell", "--pay", "cash=1"],
        vec!["sell", "--line"],
        vec!["init"],
        vec!["refund"],
        vec!["void", "STALL1-000001"],
        vec!["stock", "--bogus"],
        vec!["no-such-command"],
        vec![],
    ] {
        let m = cli.refused(&args);
        assert!(m.contains("(see `trestle --help`)"), "{m}");
        assert!(!m.contains("Usage"), "{m}");
    }
    let m = cli.refused(&["sell", "--pay", "cash=1"]);
    assert!(m.contains("--line"), "the missing argument is named: {m}");
}

#[test]
fn the_snapshot_sees_a_change() {
    // The check the refusals rely on does notice a sale.
    let (cli, v, _) = till_with_a_sale();
    let before = Snapshot::take(&cli.dir);
    let o = run_in(
        &cli.dir,
        &["sell", "--line", &format!("{v}=1"), "--pay", "cash=1000"],
    );
    assert!(o.status.success());
    assert_ne!(before, Snapshot::take(&cli.dir));
}
