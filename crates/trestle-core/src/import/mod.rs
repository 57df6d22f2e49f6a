//! Importing the catalog a maker already has: the Shopify product CSV export, parsed from bytes
//! (no I/O) into products, variants and a report of what became of every record.
//!
//! ```
//! use trestle_core::import::{parse_shopify_csv, ImportSettings};
//! use trestle_core::{tax::TaxRate, Currency};
//!
//! let csv = "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\n\
//!            mug,Blue Mug,Title,Default Title,'10,12.50\n";
//! let settings = ImportSettings {
//!     currency: Currency::parse("GBP").unwrap(),
//!     default_tax_rate: TaxRate::parse_percent("20").unwrap(),
//! };
//! let report = parse_shopify_csv(csv.as_bytes(), &settings).unwrap();
//! assert_eq!(report.products[0].variants[0].variant.price.minor(), 1250);
//! assert_eq!(report.rows[0].outcome.summary(), "variant Default, SKU 10");
//! ```
//!
//! # The file
//! * UTF-8, with or without a byte order mark, LF or CRLF line endings. Columns are found by
//!   their header name (trimmed, any case, any order); only `Handle` and `Variant Price` are
//!   required, a missing optional column reads as empty.
//! * [`parse_shopify_csv`] returns `Err` **only** when the file as a whole is not a Shopify
//!   product CSV: not UTF-8 (`import.not_utf8`), empty (`import.no_header`), without a `Handle`
//!   or `Variant Price` column (`import.missing_column`), or a header the CSV reader cannot read
//!   (`import.unreadable`). Everything else is reported per record and never aborts the import.
//! * The report has one [`RowReport`] per CSV record after the header, in file order, with the
//!   physical line where the record starts (the header is line 1; a quoted HTML body with
//!   newlines makes a record span several lines). Its [`RowOutcome`] is a variant, an image, or
//!   skipped with one sentence naming the column and the value at fault.
//! * A record with a different number of fields than the header (a stray comma, an unclosed
//!   quote) is skipped, as is an empty one and one without a `Handle`; reading goes on with the
//!   next record.
//!
//! # Products
//! * A product is the rows sharing a `Handle`. Its **first row** (the first with a `Title`)
//!   gives the title, vendor, body, type, tags, status and option names; those columns are
//!   ignored on later rows (a later, different `Title` is noted on that row).
//! * Rows whose handle has had no row with a `Title` before them are skipped.
//! * **Never half a product**: if the first row is skipped (an unusable handle, an unknown
//!   `Status`, or a bad variant on it), every later row of that handle is skipped too, with the
//!   first row's reason. A product all of whose variant rows were skipped is not imported.
//! * Type: `Type`, else `Custom Product Type`, else `Standardized Product Type`, else
//!   `Product Category`. Tags: `Tags` split on commas, trimmed, empty ones dropped. The body is
//!   kept verbatim. Status: `active`, `draft`, `archived`, empty meaning active.
//! * Ids are derived (see [`crate::catalog`]): `ProductId::for_handle`, and
//!   `VariantId::for_options(handle, option values)`, so re-importing gives the same ids.
//!
//! # Variants
//! * Options: `Option1..3 Value`, named by the first row's `Option1..3 Name`. A value missing
//!   for a named option skips the row; a value without a name is kept, named `OptionN`, with a
//!   note. Shopify's placeholder for single-variant products (`Title` = `Default Title`) is not
//!   an option: such a variant has no options.
//! * A second row of one product with the same option values is skipped as a duplicate.
//! * `Variant Price`: [`crate::Money::parse`] in the shop's currency; empty or invalid skips the
//!   row. Trailing zeros beyond the currency's decimals are dropped (`1500.00` in JPY is 1500),
//!   any other extra decimal skips the row.
//! * `Variant SKU`: trimmed, one leading `'` removed (Shopify writes `'10` to keep it text),
//!   empty means none; an invalid SKU is dropped with a note. A SKU shared by several variants
//!   is allowed, and each of them gets a note saying so (the till then asks which one to sell).
//! * `Variant Barcode`: the same cleaning; an invalid barcode is dropped with a note.
//! * `Variant Taxable`: `true` or empty gives the default tax rate of the [`ImportSettings`],
//!   `false` a zero rate; anything else skips the row.
//! * `Variant Inventory Tracker`: any value (e.g. `shopify`) means stock is tracked.
//! * `Variant Inventory Policy`: `deny` or `continue`, empty meaning deny; anything else skips.
//! * `Variant Inventory Qty`: a whole number of at most [`MAX_IMPORT_QTY`] either way of zero,
//!   empty meaning 0; anything else skips the row. A
//!   negative quantity on a `deny` variant starts at 0, with a note; on a `continue` variant
//!   (made to order) it is kept.
//! * A row without a price, option values, SKU or barcode but with an `Image Src` is an image
//!   row: reported as [`RowOutcome::Image`], whatever happens to its product (images are not
//!   imported). Without an image either, such a row is skipped.

mod fields;
mod report;
mod shopify;

pub use fields::MAX_IMPORT_QTY;
pub use report::{
    ImportCounts, ImportReport, ImportSettings, ImportedProduct, ImportedVariant, RowOutcome,
    RowReport,
};
pub use shopify::parse_shopify_csv;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_real_files;
