//! Search as you type at the till: a catalog of 20,000 variants (products in 1 to 6 options,
//! titles from a maker's vocabulary, SKUs and barcodes), every keystroke of typical queries
//! answered by `Till::search` (the Sell screen's command: title, SKU or barcode, the exact code
//! first, this till's stock filled from the replica) against the baseline of the same LIKE query
//! on the same SQLite file with a bare rusqlite statement, in interleaved rounds.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::Currency;
use trestle_till::{InitParams, Till};

use crate::stats::{ratio_milli, Summary};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub variants: usize,
    pub keystrokes: usize,
    pub rounds: usize,
    pub limit: usize,
    pub till_search: Summary,
    pub bare_like: Summary,
    /// till median / baseline median, in thousandths.
    pub ratio_milli: u64,
}

const ADJECTIVES: [&str; 12] = [
    "Speckled",
    "Glazed",
    "Hand-thrown",
    "Indigo",
    "Woven",
    "Printed",
    "Carved",
    "Linen",
    "Stoneware",
    "Beeswax",
    "Embroidered",
    "Tiny",
];
const THINGS: [&str; 14] = [
    "mug", "bowl", "tote", "scarf", "print", "candle", "vase", "plate", "card", "brooch",
    "cushion", "apron", "planter", "notebook",
];
const OPTIONS: [&str; 6] = ["Blue", "Sand", "Black", "Red", "Green", "Oat"];

/// A Shopify product export with `variants` tracked variants.
fn catalog_csv(variants: usize) -> String {
    let mut csv = String::from(
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Barcode,\
         Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,Variant Price\n",
    );
    let (mut n, mut product) = (0, 0usize);
    while n < variants {
        let title = format!(
            "{} {} no. {product}",
            ADJECTIVES[product % ADJECTIVES.len()],
            THINGS[(product / ADJECTIVES.len()) % THINGS.len()]
        );
        let options = 1 + product % OPTIONS.len();
        for o in OPTIONS.iter().take(options.min(variants - n)) {
            let price = 500 + (n % 60) * 100;
            csv.push_str(&format!(
                "p-{product:05},{title},Colour,{o},SKU-{n:05},{:013},shopify,{},deny,{}.{:02}\n",
                4_000_000_000_000u64 + n as u64,
                n % 9,
                price / 100,
                price % 100
            ));
            n += 1;
        }
        product += 1;
    }
    csv
}

/// Every prefix of each query: what the Sell screen asks as the cashier types.
fn keystrokes() -> Vec<String> {
    let queries = [
        "speckled mug",
        "indigo scarf",
        "SKU-1234",
        "4000000012345",
        "oat",
        "no. 99",
    ];
    queries
        .iter()
        .flat_map(|q| (1..=q.chars().count()).map(move |i| q.chars().take(i).collect()))
        .collect()
}

pub fn run(variants: usize, rounds: usize, limit: usize) -> Result<Report> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("till");
    let params = InitParams::new(
        "Bench shop",
        Currency::parse("GBP")?,
        TaxMode::Inclusive,
        TaxRate::parse_percent("20")?,
        "Stall 1",
        None,
    )?;
    let mut till = Till::init(&dir, &params)?;
    let summary = till.import_catalog(catalog_csv(variants).as_bytes())?;
    let imported = summary.variants_created;
    anyhow::ensure!(imported >= variants, "the catalog has {imported} variants");
    let bare = rusqlite::Connection::open(dir.join("till.sqlite"))?;
    let keys = keystrokes();
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for k in &keys {
            let t = Instant::now();
            let found = till.search(k, limit)?;
            ours.push(t.elapsed());
            std::hint::black_box(found);
            let t = Instant::now();
            let n = bare_like(&bare, k, limit)?;
            base.push(t.elapsed());
            std::hint::black_box(n);
        }
    }
    let (a, b) = (Summary::of(&ours), Summary::of(&base));
    Ok(Report {
        variants: imported,
        keystrokes: keys.len(),
        rounds,
        limit,
        ratio_milli: ratio_milli(a.median_ns, b.median_ns),
        till_search: a,
        bare_like: b,
    })
}

/// The baseline: the same rows found by the same LIKE over the same tables, read bare.
fn bare_like(conn: &rusqlite::Connection, q: &str, limit: usize) -> Result<usize> {
    let pattern = format!("%{}%", q.replace('%', "\\%").replace('_', "\\_"));
    let mut st = conn.prepare_cached(
        "SELECT v.id, p.title, v.title, v.sku, v.barcode, v.price_minor FROM variants v
         JOIN products p ON p.id = v.product_id
         WHERE v.title LIKE ?1 ESCAPE '\\' OR v.sku LIKE ?1 ESCAPE '\\' OR v.barcode LIKE ?1 ESCAPE '\\'
         ORDER BY (v.barcode = ?2 OR v.sku = ?2) DESC, p.title, v.position LIMIT ?3",
    )?;
    let rows = st
        .query_map(
            rusqlite::params![pattern, q, i64::try_from(limit).context("limit")?],
            |r| r.get::<_, String>(0),
        )?
        .count();
    Ok(rows)
}

/// The per-keystroke goal of issue 7.
pub const GOAL: Duration = Duration::from_millis(5);
