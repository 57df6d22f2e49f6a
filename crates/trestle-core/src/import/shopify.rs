//! The Shopify product CSV parser: bytes in, products, variants and a per-record report out.
//! The rules it applies are documented in the module root, [`crate::import`].

use std::collections::HashMap;

use csv::StringRecord;

use super::fields::{cell, has_variant_data, raw, read_variant, Columns};
use super::report::{
    ImportReport, ImportSettings, ImportedProduct, ImportedVariant, RowOutcome, RowReport,
};
use crate::catalog::{Handle, Product, ProductStatus, Sku, Variant};
use crate::error::{Error, Result};
use crate::ids::{ProductId, VariantId};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses a Shopify product CSV export (see the module docs of [`crate::import`] for the rules).
///
/// Fails only when the file as a whole is not a Shopify product CSV; a bad record becomes a
/// [`RowOutcome::Skipped`] in the report.
pub fn parse_shopify_csv(bytes: &[u8], settings: &ImportSettings) -> Result<ImportReport> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(Error::ImportNotUtf8 {
            line: line_of(bytes, e.valid_up_to()),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut header = StringRecord::new();
    match reader.read_record(&mut header) {
        Ok(true) => {}
        Ok(false) => return Err(Error::ImportNoHeader),
        Err(e) => {
            return Err(Error::ImportUnreadable {
                reason: e.to_string(),
            })
        }
    }
    let cols = Columns::find(&header)?;
    let mut parser = Parser {
        cols: &cols,
        settings,
        width: header.len(),
        products: Vec::new(),
        by_handle: HashMap::new(),
        rows: Vec::new(),
    };
    let mut record = StringRecord::new();
    loop {
        let before = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let start = record.position().map_or(before, csv::Position::byte);
                parser.record(record_line(bytes, start), &record);
            }
            Err(e) => {
                let start = e.position().map_or(before, csv::Position::byte);
                parser.rows.push(RowReport {
                    line: record_line(bytes, start),
                    handle: String::new(),
                    outcome: skipped("the record cannot be read as CSV".to_string()),
                });
                if reader.position().byte() <= before {
                    break;
                }
            }
        }
    }
    Ok(parser.finish())
}

/// The 1-based line of a byte offset.
fn line_of(bytes: &[u8], offset: usize) -> u64 {
    let newlines = bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u64::try_from(newlines).map_or(u64::MAX, |n| n + 1)
}

/// The line where a record read from `offset` starts: the reader's offset may sit before the
/// previous record's line ending or blank lines, which the CSV reader skips.
fn record_line(bytes: &[u8], offset: u64) -> u64 {
    let offset = usize::try_from(offset).unwrap_or(bytes.len());
    let skip = bytes[offset.min(bytes.len())..]
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    line_of(bytes, offset + skip)
}

fn skipped(reason: String) -> RowOutcome {
    RowOutcome::Skipped { reason }
}

/// A product being read, with the variants accepted so far.
struct ProductState {
    product: Product,
    option_names: [String; 3],
    line: u64,
    variants: Vec<Accepted>,
    /// Variant id → the line that made it, to refuse a second row with the same options.
    seen: HashMap<VariantId, u64>,
}

struct Accepted {
    imported: ImportedVariant,
    /// Index of its report line.
    row: usize,
}

/// What the first row of a handle made of it.
enum Entry {
    Product(usize),
    Failed { line: u64, reason: String },
}

struct Parser<'a> {
    cols: &'a Columns,
    settings: &'a ImportSettings,
    width: usize,
    products: Vec<ProductState>,
    by_handle: HashMap<String, Entry>,
    rows: Vec<RowReport>,
}

impl Parser<'_> {
    fn record(&mut self, line: u64, rec: &StringRecord) {
        let handle = cell(rec, Some(self.cols.handle)).to_string();
        let outcome = self.outcome(line, &handle, rec);
        self.rows.push(RowReport {
            line,
            handle,
            outcome,
        });
    }

    fn outcome(&mut self, line: u64, handle: &str, rec: &StringRecord) -> RowOutcome {
        let c = self.cols;
        if rec.iter().all(|f| f.trim().is_empty()) {
            return skipped("the line is empty".to_string());
        }
        if rec.len() != self.width {
            return skipped(format!(
                "the line has {} fields but the header has {}; a stray comma or an unclosed quote \
                 may be the cause",
                rec.len(),
                self.width
            ));
        }
        if handle.is_empty() {
            return skipped("Handle is empty".to_string());
        }
        let image_only = !has_variant_data(c, rec) && !cell(rec, c.image).is_empty();
        let title = cell(rec, c.title);
        match self.by_handle.get(handle) {
            Some(Entry::Product(idx)) => {
                let idx = *idx;
                if image_only {
                    return RowOutcome::Image;
                }
                let st = &self.products[idx];
                let mut notes = Vec::new();
                if !title.is_empty() && title != st.product.title {
                    notes.push(format!(
                        "Title {title:?} differs from the product's first row (line {}), whose \
                         title is kept",
                        st.line
                    ));
                }
                self.variant(idx, line, rec, notes).unwrap_or_else(skipped)
            }
            Some(Entry::Failed {
                line: first,
                reason,
            }) => {
                if image_only {
                    RowOutcome::Image
                } else {
                    skipped(format!(
                        "the product's first row (line {first}) was skipped: {reason}"
                    ))
                }
            }
            None if title.is_empty() => {
                if image_only {
                    RowOutcome::Image
                } else {
                    skipped(format!(
                        "no earlier row with Handle {handle:?} has a Title; Shopify puts a \
                         product's title and option names on its first row"
                    ))
                }
            }
            None => {
                let first = start_product(c, handle, line, rec).and_then(|st| {
                    self.products.push(st);
                    let idx = self.products.len() - 1;
                    if image_only {
                        return Ok((idx, RowOutcome::Image));
                    }
                    match self.variant(idx, line, rec, Vec::new()) {
                        Ok(outcome) => Ok((idx, outcome)),
                        Err(reason) => {
                            self.products.pop();
                            Err(reason)
                        }
                    }
                });
                match first {
                    Ok((idx, outcome)) => {
                        self.by_handle
                            .insert(handle.to_string(), Entry::Product(idx));
                        outcome
                    }
                    Err(reason) => {
                        self.by_handle.insert(
                            handle.to_string(),
                            Entry::Failed {
                                line,
                                reason: reason.clone(),
                            },
                        );
                        skipped(reason)
                    }
                }
            }
        }
    }

    /// Reads the record as a variant of product `idx`; `Err` is the reason to skip it.
    fn variant(
        &mut self,
        idx: usize,
        line: u64,
        rec: &StringRecord,
        mut notes: Vec<String>,
    ) -> std::result::Result<RowOutcome, String> {
        let row = self.rows.len();
        let st = &mut self.products[idx];
        let fields = read_variant(self.cols, self.settings, &st.option_names, rec)?;
        let id = VariantId::for_options(
            &st.product.handle,
            fields.options.iter().map(|o| o.value.as_str()),
        );
        let variant = Variant {
            id,
            product_id: st.product.id,
            position: u32::try_from(st.variants.len() + 1).unwrap_or(u32::MAX),
            sku: fields.sku,
            barcode: fields.barcode,
            options: fields.options,
            price: fields.price,
            tax_rate: fields.tax_rate,
            track_inventory: fields.track_inventory,
            policy: fields.policy,
        };
        if let Some(first) = st.seen.get(&id) {
            let options = if variant.options.is_empty() {
                "no options".to_string()
            } else {
                variant.title()
            };
            return Err(format!(
                "line {first} is already the variant with the same options ({options}); only \
                 the first is imported"
            ));
        }
        st.seen.insert(id, line);
        notes.extend(fields.notes);
        let outcome = RowOutcome::Variant {
            variant_id: id,
            title: variant.title(),
            sku: variant.sku.clone(),
            note: join_notes(&notes),
        };
        st.variants.push(Accepted {
            imported: ImportedVariant {
                variant,
                initial_qty: fields.qty,
                line,
            },
            row,
        });
        Ok(outcome)
    }

    /// Adds the shared-SKU notes and hands over the products that have variants.
    fn finish(mut self) -> ImportReport {
        let mut uses: HashMap<&Sku, usize> = HashMap::new();
        for a in self.products.iter().flat_map(|p| &p.variants) {
            if let Some(sku) = &a.imported.variant.sku {
                *uses.entry(sku).or_default() += 1;
            }
        }
        for a in self.products.iter().flat_map(|p| &p.variants) {
            let Some(sku) = &a.imported.variant.sku else {
                continue;
            };
            let others = uses.get(sku).copied().unwrap_or(1) - 1;
            if others == 0 {
                continue;
            }
            let shared = format!(
                "SKU {sku} is also used by {others} other variant{}; scan the barcode or pick \
                 the variant to sell it",
                if others == 1 { "" } else { "s" }
            );
            if let RowOutcome::Variant { note, .. } = &mut self.rows[a.row].outcome {
                *note = Some(match note.take() {
                    Some(n) => format!("{n}; {shared}"),
                    None => shared,
                });
            }
        }
        let products = self
            .products
            .into_iter()
            .filter(|p| !p.variants.is_empty())
            .map(|p| ImportedProduct {
                product: p.product,
                variants: p.variants.into_iter().map(|a| a.imported).collect(),
            })
            .collect();
        ImportReport {
            products,
            rows: self.rows,
        }
    }
}

fn join_notes(notes: &[String]) -> Option<String> {
    (!notes.is_empty()).then(|| notes.join("; "))
}

/// The product from the first row of its handle; `Err` is the reason to skip all its rows.
fn start_product(
    c: &Columns,
    handle: &str,
    line: u64,
    rec: &StringRecord,
) -> std::result::Result<ProductState, String> {
    let handle = Handle::parse(handle).map_err(|_| {
        format!("Handle {handle:?} cannot be used: it must be 1 to 255 characters without spaces")
    })?;
    let status_text = cell(rec, c.status);
    let status = ProductStatus::parse(status_text)
        .map_err(|_| format!("Status {status_text:?} is not active, draft or archived"))?;
    let product_type = c
        .types
        .iter()
        .map(|t| cell(rec, *t))
        .find(|t| !t.is_empty())
        .unwrap_or("");
    let tags = cell(rec, c.tags)
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let option_names = c.option_names.map(|n| cell(rec, n).to_string());
    Ok(ProductState {
        product: Product {
            id: ProductId::for_handle(&handle),
            handle,
            title: cell(rec, c.title).to_string(),
            vendor: cell(rec, c.vendor).to_string(),
            product_type: product_type.to_string(),
            tags,
            body_html: raw(rec, c.body).to_string(),
            status,
        },
        option_names,
        line,
        variants: Vec::new(),
        seen: HashMap::new(),
    })
}
