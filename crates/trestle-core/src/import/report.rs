//! What an import produces: the settings it runs with, the products and variants it read, and one
//! report line per CSV record saying what became of it.

use serde::{Deserialize, Serialize};

use crate::catalog::{Product, Sku, Variant};
use crate::ids::VariantId;
use crate::money::Currency;
use crate::tax::TaxRate;

/// What the file does not say and the shop does: the currency of its prices and the tax rate of
/// taxable variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSettings {
    pub currency: Currency,
    /// The rate of variants whose `Variant Taxable` is true or empty.
    pub default_tax_rate: TaxRate,
}

/// A variant read from the file, with the stock the file gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedVariant {
    pub variant: Variant,
    /// `Variant Inventory Qty` (0 when empty; never below zero for a `deny` variant).
    pub initial_qty: i64,
    /// The physical line where the variant's record starts (the header is line 1).
    pub line: u64,
}

/// A product read from the file with its imported variants (at least one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedProduct {
    pub product: Product,
    /// In file order; `variant.position` counts from 1 in this order.
    pub variants: Vec<ImportedVariant>,
}

/// What became of one CSV record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RowOutcome {
    /// The record is a variant, imported.
    Variant {
        variant_id: VariantId,
        /// The variant's own title: option values joined by " / ", or "Default".
        title: String,
        sku: Option<Sku>,
        /// What the import changed or what the maker should know, e.g. a dropped barcode or a
        /// SKU shared with other variants; several notes are joined by "; ".
        note: Option<String>,
    },
    /// The record only adds an image to its product; Trestle does not import images.
    Image,
    /// The record was not imported.
    Skipped {
        /// One sentence naming the column and the value at fault.
        reason: String,
    },
}

impl RowOutcome {
    /// One human sentence for the per-row report, e.g. `variant 30x45 / Canvas, SKU 10`,
    /// `image only`, `skipped: Variant Price "abc" is not an amount of money`.
    pub fn summary(&self) -> String {
        match self {
            RowOutcome::Variant {
                title, sku, note, ..
            } => {
                let sku = match sku {
                    Some(s) => format!("SKU {s}"),
                    None => "no SKU".to_string(),
                };
                match note {
                    Some(n) => format!("variant {title}, {sku} ({n})"),
                    None => format!("variant {title}, {sku}"),
                }
            }
            RowOutcome::Image => "image only".to_string(),
            RowOutcome::Skipped { reason } => format!("skipped: {reason}"),
        }
    }

    /// The imported variant's id, if this record became one.
    pub fn variant_id(&self) -> Option<VariantId> {
        match self {
            RowOutcome::Variant { variant_id, .. } => Some(*variant_id),
            _ => None,
        }
    }
}

/// The report line of one CSV record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowReport {
    /// The physical line where the record starts (the header is line 1; a quoted body with
    /// newlines makes a record span several lines).
    pub line: u64,
    /// The record's `Handle`, trimmed (empty when it has none or cannot be read).
    pub handle: String,
    pub outcome: RowOutcome,
}

/// Everything an import read: the products to apply and one [`RowReport`] per CSV record after
/// the header, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub products: Vec<ImportedProduct>,
    pub rows: Vec<RowReport>,
}

/// How many records went where, for a one-line summary of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCounts {
    /// CSV records after the header.
    pub rows: usize,
    pub products: usize,
    pub variants: usize,
    pub images: usize,
    pub skipped: usize,
}

impl ImportReport {
    /// Counts of records by outcome, and of products.
    pub fn counts(&self) -> ImportCounts {
        let mut c = ImportCounts {
            rows: self.rows.len(),
            products: self.products.len(),
            variants: 0,
            images: 0,
            skipped: 0,
        };
        for r in &self.rows {
            match r.outcome {
                RowOutcome::Variant { .. } => c.variants += 1,
                RowOutcome::Image => c.images += 1,
                RowOutcome::Skipped { .. } => c.skipped += 1,
            }
        }
        c
    }
}
