//! Importing every real Shopify export through `trestle_till::Till`: one report row per CSV record with its line number, re-importing only updates, and a re-import after sales does not reset stock.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::Connection;
use trestle_core::catalog::Qty;
use trestle_core::import::RowOutcome;
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::tender::Tender;
use trestle_core::{Currency, Money};
use trestle_till::returns::RefundItems;
use trestle_till::sell::{LineRequest, SellRequest};
use trestle_till::{InitParams, Till};

fn new_till(dir: &Path) -> Till {
    let p = InitParams::new(
        "Kalima Arts",
        Currency::parse("GBP").unwrap(),
        TaxMode::Inclusive,
        TaxRate::parse_percent("20").unwrap(),
        "Stall 1",
        None,
    )
    .unwrap();
    Till::init(dir, &p).unwrap()
}

fn count(till: &Till, table: &str) -> i64 {
    let conn = Connection::open(till.dir().join("till.sqlite")).unwrap();
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// The line where each CSV record after the header starts, as the csv crate reads the file.
fn record_lines(path: &Path) -> Vec<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .unwrap();
    let mut lines = Vec::new();
    for r in reader.byte_records() {
        let r = r.unwrap();
        lines.push(r.position().expect("a record's position").line());
    }
    assert!(!lines.is_empty(), "{}: no records", path.display());
    lines
}

fn stock(till: &Till) -> BTreeMap<String, i64> {
    till.stock()
        .unwrap()
        .into_iter()
        .map(|l| (l.variant_id.to_string(), l.on_hand))
        .collect()
}

#[test]
fn every_real_export_reports_one_row_per_record_with_its_line() {
    for file in common::shop_files() {
        let tmp = tempfile::tempdir().unwrap();
        let mut till = new_till(&tmp.path().join("till"));
        let bytes = std::fs::read(&file).unwrap();
        let summary = till.import_catalog(&bytes).unwrap();
        let lines: Vec<u64> = summary.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, record_lines(&file), "{}", file.display());
        // Lines only go forward, and a quoted multi-line body makes gaps, never overlaps.
        assert!(lines.windows(2).all(|w| w[0] < w[1]));
        assert!(lines[0] >= 2, "the header is line 1");
        // Every variant row names a variant the till now has, once.
        let variants: Vec<String> = summary
            .rows
            .iter()
            .filter_map(|r| r.outcome.variant_id())
            .map(|v| v.to_string())
            .collect();
        let mut unique = variants.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), variants.len(), "{}", file.display());
        assert_eq!(variants.len(), summary.variants_created);
        for r in &summary.rows {
            match &r.outcome {
                RowOutcome::Skipped { reason } => assert!(!reason.is_empty()),
                RowOutcome::Variant { .. } | RowOutcome::Image => {}
            }
        }
        assert_eq!(count(&till, "variants"), summary.variants_created as i64);
        assert_eq!(count(&till, "products"), summary.products_created as i64);
        assert_eq!(till.catalog(None).unwrap().len(), summary.variants_created);
        assert_eq!(summary.products_updated, 0);
        assert_eq!(summary.variants_updated, 0);
    }
}

#[test]
fn reimporting_every_real_export_only_updates() {
    for file in common::shop_files() {
        let tmp = tempfile::tempdir().unwrap();
        let mut till = new_till(&tmp.path().join("till"));
        let bytes = std::fs::read(&file).unwrap();
        let first = till.import_catalog(&bytes).unwrap();
        let catalog = till.catalog(None).unwrap();
        let moves = count(&till, "stock_movements");
        for _ in 0..2 {
            let again = till.import_catalog(&bytes).unwrap();
            assert_eq!(again.products_created, 0, "{}", file.display());
            assert_eq!(again.variants_created, 0, "{}", file.display());
            assert_eq!(again.products_updated, first.products_created);
            assert_eq!(again.variants_updated, first.variants_created);
            assert_eq!(again.rows, first.rows);
            assert_eq!(count(&till, "products"), first.products_created as i64);
            assert_eq!(count(&till, "variants"), first.variants_created as i64);
            assert_eq!(till.catalog(None).unwrap(), catalog);
            assert_eq!(count(&till, "stock_movements"), moves, "no stock moved");
        }
    }
}

#[test]
fn a_reimport_after_sales_keeps_the_stock() {
    for file in common::shop_files() {
        let tmp = tempfile::tempdir().unwrap();
        let mut till = new_till(&tmp.path().join("till"));
        let bytes = std::fs::read(&file).unwrap();
        till.import_catalog(&bytes).unwrap();
        let imported = stock(&till);
        let tracked: Vec<String> = till
            .catalog(None)
            .unwrap()
            .into_iter()
            .filter(|i| i.on_hand.is_some_and(|n| n >= 2))
            .map(|i| i.variant_id.to_string())
            .take(3)
            .collect();
        assert!(!tracked.is_empty(), "{}: nothing in stock", file.display());
        let currency = till.shop().currency;
        let mut receipts = Vec::new();
        for v in &tracked {
            let sale = till
                .sell(&SellRequest {
                    lines: vec![LineRequest {
                        item: v.clone(),
                        qty: Qty::new(2).unwrap(),
                        discount: None,
                    }],
                    tenders: vec![Tender::cash(Money::from_minor(1_000_000_000, currency))],
                    ..SellRequest::default()
                })
                .unwrap();
            receipts.push(sale.receipt);
        }
        till.refund(
            &receipts[0],
            &RefundItems::Items(vec![(tracked[0].clone(), Qty::new(1).unwrap())]),
            None,
        )
        .unwrap();
        let sold = stock(&till);
        assert_eq!(sold[&tracked[0]], imported[&tracked[0]] - 1);
        for v in &tracked[1..] {
            assert_eq!(sold[v], imported[v] - 2);
        }
        till.import_catalog(&bytes).unwrap();
        assert_eq!(
            stock(&till),
            sold,
            "{}: the re-import reset stock",
            file.display()
        );
        // Re-opened, still the same.
        let dir = till.dir().to_path_buf();
        drop(till);
        assert_eq!(stock(&Till::open(&dir).unwrap()), sold);
    }
}
