//! The till's catalog: applying a Shopify import, listing and searching, and resolving what the
//! cashier typed or scanned (barcode, SKU or variant id) to one variant.
//!
//! Re-importing updates products and variants in place (ids are derived, see
//! `trestle_core::catalog`) and never duplicates them. Stock is only set for variants that are
//! new to this till: after that, stock moves only by deltas (sales, refunds, counts), so
//! re-importing last week's export cannot wipe out today's sales. Every variant is also written to
//! the shop's replica (catalog fields, and this till's counters for tracked variants) in the same
//! transaction. Variants missing from a later
//! file are kept, because past sales point at them.

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use trestle_core::catalog::{options_title, OptionValue, Policy, Product, Variant};
use trestle_core::ids::VariantId;
use trestle_core::import::{parse_shopify_csv, ImportSettings, RowReport};
use trestle_core::tax::TaxRate;
use trestle_core::{Currency, Money};

use crate::error::{Error, Result};
use trestle_replica::VariantFields;

use crate::ledger::insert_movement;
use crate::replica::add_variant;
use crate::till::Till;

/// What an import did, with the per-row report.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub products_created: usize,
    pub products_updated: usize,
    pub variants_created: usize,
    pub variants_updated: usize,
    pub rows: Vec<RowReport>,
}

/// A variant as the till sells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogItem {
    pub variant_id: VariantId,
    pub product_title: String,
    pub variant_title: String,
    /// Product and variant title together, as on a receipt.
    pub title: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub price: Money,
    pub tax_rate: TaxRate,
    pub track_inventory: bool,
    pub policy: Policy,
    /// Units on hand at this till, free and held (None when the variant's stock is not tracked).
    pub on_hand: Option<i64>,
    /// Units this till may sell now: its own `free` (None when not tracked).
    pub available: Option<i64>,
}

const ITEM_SELECT: &str =
    "SELECT v.id, p.title, v.options, v.title, v.sku, v.barcode, v.price_minor,
        v.tax_ppm, v.track_inventory, v.policy
     FROM variants v JOIN products p ON p.id = v.product_id";

/// The search condition over a variant's title, SKU and barcode (`?1` is a LIKE pattern).
const MATCHES: &str = "(v.title LIKE ?1 ESCAPE '\\' OR v.sku LIKE ?1 ESCAPE '\\'
    OR v.barcode LIKE ?1 ESCAPE '\\')";

/// `%query%` with LIKE's wildcards in `query` escaped.
fn like_pattern(query: &str) -> String {
    format!(
        "%{}%",
        query
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

impl Till {
    /// Imports a Shopify product CSV export (its bytes), in one transaction.
    pub fn import_catalog(&mut self, bytes: &[u8]) -> Result<ImportSummary> {
        if self.hub_link()?.is_some() {
            return Err(Error::CatalogFromHub);
        }
        let settings = ImportSettings {
            currency: self.shop.currency,
            default_tax_rate: self.shop.default_tax_rate,
        };
        let report = parse_shopify_csv(bytes, &settings)?;
        let at = self.tick();
        let run = format!("import:{}", self.new_uuid());
        let mut summary = ImportSummary {
            products_created: 0,
            products_updated: 0,
            variants_created: 0,
            variants_updated: 0,
            rows: report.rows.clone(),
        };
        self.write_with_replica(&run, |tx, replica| {
            for p in &report.products {
                if upsert_product(tx, &p.product)? {
                    summary.products_created += 1;
                } else {
                    summary.products_updated += 1;
                }
                for v in &p.variants {
                    let title = format!("{} — {}", p.product.title, v.variant.title());
                    // The replica's title is the one a cashier reads in messages: product and variant.
                    let fields = VariantFields {
                        title: title.clone(),
                        ..VariantFields::from_variant(&v.variant)
                    };
                    if upsert_variant(tx, &v.variant, &title)? {
                        summary.variants_created += 1;
                        let qty = if v.variant.track_inventory {
                            v.initial_qty
                        } else {
                            0
                        };
                        add_variant(
                            replica,
                            v.variant.id,
                            &fields,
                            qty,
                            "opening stock from the import",
                        )?;
                        if qty != 0 {
                            insert_movement(tx, v.variant.id, qty, "import", &run, at)?;
                        }
                    } else {
                        summary.variants_updated += 1;
                        // Catalog fields are last-writer-wins in the replica; write only what changed.
                        if replica.variant(v.variant.id)?.as_ref() != Some(&fields) {
                            replica.set_variant(v.variant.id, &fields)?;
                        }
                        if fields.track_inventory {
                            // Newly tracked: its counters start at zero and move by deltas.
                            replica.ensure_holder(v.variant.id, replica.holder())?;
                        }
                    }
                }
            }
            crate::shop::save_hlc(tx, at)
        })?;
        tracing::info!(
            products = report.products.len(),
            rows = summary.rows.len(),
            "catalog imported"
        );
        self.search_cache.forget();
        Ok(summary)
    }

    /// The catalog, optionally filtered by a search over titles, SKUs and barcodes.
    pub fn catalog(&self, search: Option<&str>) -> Result<Vec<CatalogItem>> {
        let conn = self.db.conn();
        let rows = match search.map(str::trim).filter(|s| !s.is_empty()) {
            None => {
                let mut st =
                    conn.prepare_cached(&format!("{ITEM_SELECT} ORDER BY p.title, v.position"))?;
                let r = st
                    .query_map([], item_from_row(self.shop.currency))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                r
            }
            Some(q) => {
                let mut st = conn.prepare_cached(&format!(
                    "{ITEM_SELECT} WHERE {MATCHES} ORDER BY p.title, v.position"
                ))?;
                let r = st
                    .query_map([like_pattern(q)], item_from_row(self.shop.currency))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                r
            }
        };
        let mut items: Vec<CatalogItem> = rows.into_iter().collect::<Result<_>>()?;
        self.fill_stock(&mut items)?;
        Ok(items)
    }

    /// The first `n` items of the catalog in its order (without stock figures).
    pub(crate) fn first_items(&self, n: usize) -> Result<Vec<CatalogItem>> {
        let mut st = self.db.conn().prepare_cached(&format!(
            "{ITEM_SELECT} ORDER BY p.title, v.position LIMIT ?1"
        ))?;
        let rows = st
            .query_map(
                [i64::try_from(n).unwrap_or(i64::MAX)],
                item_from_row(self.shop.currency),
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().collect()
    }

    /// Sets each tracked item's on-hand and available from this till's counters.
    pub(crate) fn fill_stock(&self, items: &mut [CatalogItem]) -> Result<()> {
        let holder = self.replica.holder();
        for item in items.iter_mut().filter(|i| i.track_inventory) {
            let mine = self
                .replica()
                .stock_of(item.variant_id)?
                .into_iter()
                .find(|h| h.holder == holder);
            item.on_hand = Some(mine.as_ref().map_or(0, |h| h.free + h.held));
            item.available = Some(mine.map_or(0, |h| h.free));
        }
        Ok(())
    }

    /// Resolves what was scanned or typed: an exact barcode, else an exact SKU, else a variant id.
    pub fn resolve_item(&self, input: &str) -> Result<CatalogItem> {
        resolve(self.db.conn(), self.shop.currency, input)
    }
}

/// A variant's catalog columns as the replica has them too: sku, barcode, title, price, tax,
/// tracked, policy.
type CatalogRow = (
    Option<String>,
    Option<String>,
    String,
    i64,
    u32,
    bool,
    String,
);

/// Brings the till's catalog tables (what the sale path and the search read) up to the replica's
/// catalog, in the caller's transaction: a variant the till does not know yet is added (under a
/// product named by the part of its title before " — "), and a known one takes the replica's
/// fields when they differ (the hub's edits are last writer wins there). Returns how many
/// variants were added and how many changed.
pub(crate) fn fill_from_replica(
    tx: &Transaction<'_>,
    replica: &trestle_replica::ShopReplica,
) -> Result<(usize, usize)> {
    let (mut added, mut changed) = (0, 0);
    for (position, (id, f)) in replica.catalog()?.into_iter().enumerate() {
        let known: Option<CatalogRow> = tx
            .prepare_cached(
                "SELECT sku, barcode, title, price_minor, tax_ppm, track_inventory, policy
                 FROM variants WHERE id = ?1",
            )?
            .query_row([id.to_string()], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .optional()?;
        let wanted = (
            f.sku.clone(),
            f.barcode.clone(),
            f.title.clone(),
            f.price_minor,
            f.tax_ppm,
            f.track_inventory,
            f.policy.as_str().to_string(),
        );
        match known {
            Some(k) if k == wanted => {}
            Some(_) => {
                tx.execute(
                    "UPDATE variants SET sku = ?2, barcode = ?3, title = ?4, price_minor = ?5,
                         tax_ppm = ?6, track_inventory = ?7, policy = ?8 WHERE id = ?1",
                    params![
                        id.to_string(),
                        wanted.0,
                        wanted.1,
                        wanted.2,
                        wanted.3,
                        wanted.4,
                        wanted.5,
                        wanted.6
                    ],
                )?;
                changed += 1;
            }
            None => {
                let (product, variant) = f.title.split_once(" — ").unwrap_or((&f.title, ""));
                let product_id = trestle_core::ids::uuid_v5(&format!("hub-product:{product}"));
                tx.execute(
                    "INSERT INTO products (id, handle, title, vendor, product_type, tags, body_html, status)
                     VALUES (?1, ?2, ?3, '', '', '[]', '', 'active') ON CONFLICT (id) DO NOTHING",
                    params![product_id.to_string(), format!("hub-{product_id}"), product],
                )?;
                let options = vec![OptionValue {
                    name: "Variant".into(),
                    value: variant.to_string(),
                }];
                tx.execute(
                    "INSERT INTO variants (id, product_id, position, sku, barcode, options, title,
                         price_minor, tax_ppm, track_inventory, policy)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        id.to_string(),
                        product_id.to_string(),
                        i64::try_from(position).unwrap_or(i64::MAX),
                        wanted.0,
                        wanted.1,
                        serde_json::to_string(&options).unwrap_or_else(|_| "[]".into()),
                        wanted.2,
                        wanted.3,
                        wanted.4,
                        wanted.5,
                        wanted.6
                    ],
                )?;
                added += 1;
            }
        }
    }
    Ok((added, changed))
}

/// See [`Till::resolve_item`]; usable inside a transaction.
pub(crate) fn resolve(
    conn: &rusqlite::Connection,
    currency: Currency,
    input: &str,
) -> Result<CatalogItem> {
    let key = input.trim().trim_start_matches('\'');
    if key.is_empty() {
        return Err(Error::UnknownItem(input.to_string()));
    }
    for column in ["v.barcode", "v.sku", "v.id"] {
        let mut st = conn.prepare_cached(&format!(
            "{ITEM_SELECT} WHERE {column} = ?1 ORDER BY p.title, v.position LIMIT 6"
        ))?;
        let found: Vec<Result<CatalogItem>> = st
            .query_map([key], item_from_row(currency))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let found: Vec<CatalogItem> = found.into_iter().collect::<Result<_>>()?;
        match found.len() {
            0 => continue,
            1 => return Ok(found.into_iter().next().expect("one item")),
            _ => {
                let count: i64 = conn.query_row(
                    &format!("SELECT COUNT(*) FROM variants v WHERE {column} = ?1"),
                    [key],
                    |r| r.get(0),
                )?;
                let examples: Vec<String> = found.iter().take(3).map(|i| i.title.clone()).collect();
                return Err(Error::AmbiguousSku {
                    sku: key.to_string(),
                    count: usize::try_from(count).unwrap_or(found.len()),
                    examples: examples.join(", "),
                });
            }
        }
    }
    Err(Error::UnknownItem(key.to_string()))
}

/// The item of one variant id, read directly (what search hits need: no barcode or SKU lookups).
pub(crate) fn item_by_id(
    conn: &rusqlite::Connection,
    currency: Currency,
    id: &str,
) -> Result<Option<CatalogItem>> {
    let mut st = conn.prepare_cached(&format!("{ITEM_SELECT} WHERE v.id = ?1"))?;
    let row = st.query_map([id], item_from_row(currency))?.next();
    row.transpose()?.transpose()
}

type ItemRow = rusqlite::Result<Result<CatalogItem>>;

/// Maps a row of `ITEM_SELECT` to an item priced in the shop's currency.
fn item_from_row(currency: Currency) -> impl Fn(&rusqlite::Row<'_>) -> ItemRow {
    move |r| item_from_row_in(r, currency)
}

fn item_from_row_in(r: &rusqlite::Row<'_>, currency: Currency) -> ItemRow {
    let id: String = r.get(0)?;
    let product_title: String = r.get(1)?;
    let options: String = r.get(2)?;
    let title: String = r.get(3)?;
    let sku: Option<String> = r.get(4)?;
    let barcode: Option<String> = r.get(5)?;
    let price: i64 = r.get(6)?;
    let ppm: u32 = r.get(7)?;
    let track: bool = r.get(8)?;
    let policy: String = r.get(9)?;
    Ok((|| {
        let corrupt = |what: &str| Error::Corrupt(format!("a variant's {what} is unreadable"));
        let variant_title = options_title(
            &serde_json::from_str::<Vec<OptionValue>>(&options).map_err(|_| corrupt("options"))?,
        );
        Ok(CatalogItem {
            variant_id: VariantId::parse(&id).map_err(|_| corrupt("id"))?,
            product_title,
            variant_title,
            title,
            sku,
            barcode,
            price: Money::from_minor(price, currency),
            tax_rate: TaxRate::from_ppm(ppm).map_err(|_| corrupt("tax rate"))?,
            track_inventory: track,
            policy: Policy::parse(&policy).map_err(|_| corrupt("policy"))?,
            // Filled from the replica by the callers that show stock.
            on_hand: None,
            available: None,
        })
    })())
}

/// Returns true when the product was created, false when updated.
fn upsert_product(tx: &Transaction<'_>, p: &Product) -> Result<bool> {
    let existed = tx
        .query_row(
            "SELECT 1 FROM products WHERE id = ?1",
            [p.id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    tx.execute(
        "INSERT INTO products (id, handle, title, vendor, product_type, tags, body_html, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET handle = excluded.handle, title = excluded.title,
             vendor = excluded.vendor, product_type = excluded.product_type, tags = excluded.tags,
             body_html = excluded.body_html, status = excluded.status",
        params![
            p.id.to_string(),
            p.handle.as_str(),
            p.title,
            p.vendor,
            p.product_type,
            serde_json::to_string(&p.tags).unwrap_or_else(|_| "[]".into()),
            p.body_html,
            p.status.as_str(),
        ],
    )?;
    Ok(!existed)
}

/// Returns true when the variant was created, false when updated.
fn upsert_variant(tx: &Transaction<'_>, v: &Variant, title: &str) -> Result<bool> {
    let existed = tx
        .query_row(
            "SELECT 1 FROM variants WHERE id = ?1",
            [v.id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    tx.execute(
        "INSERT INTO variants (id, product_id, position, sku, barcode, options, title, price_minor,
                               tax_ppm, track_inventory, policy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO UPDATE SET position = excluded.position, sku = excluded.sku,
             barcode = excluded.barcode, options = excluded.options, title = excluded.title,
             price_minor = excluded.price_minor, tax_ppm = excluded.tax_ppm,
             track_inventory = excluded.track_inventory, policy = excluded.policy",
        params![
            v.id.to_string(),
            v.product_id.to_string(),
            v.position,
            v.sku.as_ref().map(|s| s.as_str()),
            v.barcode.as_ref().map(|s| s.as_str()),
            serde_json::to_string(&v.options).unwrap_or_else(|_| "[]".into()),
            title,
            v.price.minor(),
            v.tax_rate.ppm(),
            v.track_inventory,
            v.policy.as_str(),
        ],
    )?;
    Ok(!existed)
}
