//! The import against the real Shopify exports in `shared/data/shopify/` (beside the repository),
//! checked against counts computed independently with a plain CSV pass.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::*;
use crate::catalog::Policy;
use crate::money::Currency;
use crate::tax::TaxRate;

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/shopify/"
    ))
}

/// What a plain pass over the file expects, without the importer's code.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    rows: usize,
    products: usize,
    variants: usize,
    images: usize,
    skipped: usize,
}

fn is_price(s: &str) -> bool {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 2
        && frac.bytes().all(|b| b.is_ascii_digit())
}

fn expected(bytes: &[u8]) -> (Expected, Vec<String>) {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes));
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let at = |name: &str| header.iter().position(|h| h == name);
    let get = |r: &csv::StringRecord, name: &str| {
        at(name)
            .and_then(|i| r.get(i))
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let mut e = Expected::default();
    let mut titled: HashSet<String> = HashSet::new();
    let mut seen: HashSet<(String, Vec<String>)> = HashSet::new();
    let mut with_variants: HashSet<String> = HashSet::new();
    let mut handles = Vec::new();
    for rec in rdr.records() {
        let r = rec.unwrap();
        e.rows += 1;
        let handle = get(&r, "Handle");
        handles.push(handle.clone());
        let values: Vec<String> = (1..=3)
            .map(|n| get(&r, &format!("Option{n} Value")))
            .filter(|v| !v.is_empty())
            .collect();
        let price = get(&r, "Variant Price");
        let sku = get(&r, "Variant SKU");
        if !get(&r, "Title").is_empty() {
            titled.insert(handle.clone());
        }
        if price.is_empty()
            && values.is_empty()
            && sku.is_empty()
            && !get(&r, "Image Src").is_empty()
        {
            e.images += 1;
            continue;
        }
        if r.len() == header.len()
            && titled.contains(&handle)
            && is_price(&price)
            && seen.insert((handle.clone(), values))
        {
            e.variants += 1;
            with_variants.insert(handle);
        } else {
            e.skipped += 1;
        }
    }
    e.products = with_variants.len();
    (e, handles)
}

#[test]
fn real_exports_import_as_a_plain_pass_expects() {
    // The shared folder beside the repository holds the makers' real exports; a clone without it
    // still tests the copy of the sample the repository ships for the demo. Never skip silently.
    let dir = data_dir();
    let dir = if dir.is_dir() {
        dir
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo"))
    };
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no Shopify exports at {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.csv in {}", dir.display());
    let settings = ImportSettings {
        currency: Currency::parse("GBP").unwrap(),
        default_tax_rate: TaxRate::parse_percent("20").unwrap(),
    };
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let report = parse_shopify_csv(&bytes, &settings).unwrap();
        let (want, handles) = expected(&bytes);
        let c = report.counts();
        let got = Expected {
            rows: c.rows,
            products: c.products,
            variants: c.variants,
            images: c.images,
            skipped: c.skipped,
        };
        // On failure, show every row that is not a plain variant: that is where counts differ.
        let unusual: Vec<String> = report
            .rows
            .iter()
            .filter(|r| !matches!(r.outcome, RowOutcome::Variant { note: None, .. }))
            .map(|r| format!("line {} {}: {}", r.line, r.handle, r.outcome.summary()))
            .collect();
        assert_eq!(got, want, "{}:\n{}", path.display(), unusual.join("\n"));

        // One report line per record, in order, on increasing physical lines.
        let report_handles: Vec<&str> = report.rows.iter().map(|r| r.handle.as_str()).collect();
        assert_eq!(report_handles, handles);
        assert_eq!(report.rows[0].line, 2);
        assert!(report.rows.windows(2).all(|w| w[0].line < w[1].line));

        // Every variant id unique; the report's ids are the products' ids.
        let mut ids = HashSet::new();
        let mut by_id = HashMap::new();
        for p in &report.products {
            assert!(!p.variants.is_empty());
            for (i, v) in p.variants.iter().enumerate() {
                assert!(ids.insert(v.variant.id), "duplicate id {:?}", v.variant.id);
                assert_eq!(v.variant.product_id, p.product.id);
                assert_eq!(v.variant.position as usize, i + 1);
                if v.variant.policy == Policy::Deny {
                    assert!(v.initial_qty >= 0);
                }
                if let Some(sku) = &v.variant.sku {
                    assert!(!sku.as_str().starts_with('\''));
                }
                by_id.insert(v.variant.id, v.line);
            }
        }
        let row_ids: Vec<_> = report
            .rows
            .iter()
            .filter_map(|r| r.outcome.variant_id())
            .collect();
        assert_eq!(row_ids.len(), ids.len());
        for r in &report.rows {
            if let Some(id) = r.outcome.variant_id() {
                assert_eq!(by_id[&id], r.line);
            }
        }

        // Re-parsing gives the same ids (and the same everything).
        assert_eq!(parse_shopify_csv(&bytes, &settings).unwrap(), report);
        // The report is what the till prints as JSON.
        serde_json::to_string(&report).unwrap();
    }
}
