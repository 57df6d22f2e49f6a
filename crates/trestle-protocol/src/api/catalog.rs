//! The shop and its catalog: variants as the hub serves them, and a catalog import's summary.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShopInfo {
    pub id: Uuid,
    pub name: String,
    pub currency: String,
    /// `inclusive` or `exclusive`: whether prices include tax.
    pub tax_mode: String,
}

/// One sellable variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatalogVariant {
    pub variant_id: Uuid,
    pub title: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    /// Minor units of the shop's currency (cents, pence, yen).
    pub price_minor: i64,
    pub currency: String,
    /// Tax rate in parts per million (20% = 200000).
    pub tax_ppm: u32,
    /// `deny` (never sold below zero) or `continue` (made to order).
    pub policy: String,
    pub track_inventory: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Catalog {
    pub variants: Vec<CatalogVariant>,
}

/// What a catalog import did, with one row per CSV record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportSummary {
    pub products: usize,
    pub variants: usize,
    pub new_variants: usize,
    pub updated_variants: usize,
    pub images: usize,
    pub skipped: usize,
    pub rows: Vec<ImportRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportRow {
    /// Physical line of the record in the file (the header is line 1).
    pub line: u64,
    /// `variant`, `image` or `skipped`.
    pub outcome: String,
    pub variant_id: Option<Uuid>,
    pub note: Option<String>,
}
