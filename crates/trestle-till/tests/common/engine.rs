//! Helpers of the engine-level tests: a GBP till with the real catalog through the
//! `trestle_till::Till` API, sale requests, items of each stock policy, and the database file.

use std::path::Path;

use rusqlite::Connection;
use trestle_core::catalog::{Policy, Qty};
use trestle_core::receipt::ReceiptNo;
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::tender::Tender;
use trestle_core::{Currency, Money};
use trestle_till::catalog::CatalogItem;
use trestle_till::sell::{LineRequest, SellRequest};
use trestle_till::{InitParams, Till};

use super::fingerprint;

/// GBP, prices inclusive of 20% tax, the till named `till`.
pub fn params(till: &str) -> InitParams {
    InitParams::new(
        "Kalima Arts",
        Currency::parse("GBP").unwrap(),
        TaxMode::Inclusive,
        TaxRate::parse_percent("20").unwrap(),
        till,
        None,
    )
    .unwrap()
}

/// A GBP till named `name` in `dir` with the first real export imported.
pub fn till_in(dir: &Path, name: &str) -> Till {
    let mut till = Till::init(dir, &params(name)).unwrap();
    till.import_catalog(&std::fs::read(super::shop_file()).unwrap())
        .unwrap();
    till
}

pub fn setup() -> (tempfile::TempDir, Till) {
    let tmp = tempfile::tempdir().unwrap();
    let till = till_in(&tmp.path().join("till"), "Stall 1");
    (tmp, till)
}

pub fn db(till: &Till) -> Connection {
    Connection::open(till.dir().join("till.sqlite")).unwrap()
}

pub fn count(conn: &Connection, sql: &str, p: &str) -> i64 {
    conn.query_row(sql, [p], |r| r.get(0)).unwrap()
}

pub fn gbp(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("GBP").unwrap())
}

pub fn line(item: &CatalogItem, qty: u32) -> LineRequest {
    LineRequest {
        item: item.variant_id.to_string(),
        qty: Qty::new(qty).unwrap(),
        discount: None,
    }
}

pub fn req(lines: Vec<LineRequest>, tenders: Vec<Tender>) -> SellRequest {
    SellRequest {
        lines,
        tenders,
        ..SellRequest::default()
    }
}

/// Tracked `deny` variants with at least `min` in stock, cheapest first.
pub fn deny_items(till: &Till, min: i64) -> Vec<CatalogItem> {
    let mut v: Vec<CatalogItem> = till
        .catalog(None)
        .unwrap()
        .into_iter()
        .filter(|i| i.policy == Policy::Deny && i.on_hand.is_some_and(|n| n >= min))
        .collect();
    v.sort_by_key(|i| i.price.minor());
    assert!(v.len() >= 2, "the real file has tracked deny variants");
    v
}

pub fn continue_item(till: &Till) -> CatalogItem {
    till.catalog(None)
        .unwrap()
        .into_iter()
        .find(|i| i.policy == Policy::Continue && i.on_hand.is_some())
        .expect("the real file has a tracked continue variant")
}

pub fn untracked_item(till: &Till) -> CatalogItem {
    till.catalog(None)
        .unwrap()
        .into_iter()
        .find(|i| i.on_hand.is_none())
        .expect("the real file has an untracked variant")
}

pub fn on_hand(till: &Till, item: &CatalogItem) -> i64 {
    till.stock()
        .unwrap()
        .into_iter()
        .find(|l| l.variant_id == item.variant_id)
        .map(|l| l.on_hand)
        .expect("a stock level")
}

pub fn receipt(s: &str) -> ReceiptNo {
    ReceiptNo::parse(s).unwrap()
}

/// The fingerprint of the till's database (see [`super::fingerprint`]).
pub fn print(till: &Till) -> String {
    fingerprint(&till.dir().join("till.sqlite"))
}
