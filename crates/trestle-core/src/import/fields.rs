//! Reading one record's columns: where each column sits (found by header name), the cleaning of
//! a field (trim, Shopify's leading `'`), and the validation of a variant's fields into typed
//! values, with the sentence that explains a refusal.

use csv::StringRecord;

use super::report::ImportSettings;
use crate::catalog::{Barcode, OptionValue, Policy, Sku};
use crate::error::{Error, Result};
use crate::money::Money;
use crate::tax::TaxRate;

/// The largest stock quantity the import accepts, either way of zero.
pub const MAX_IMPORT_QTY: i64 = 1_000_000_000;

/// Where each column we read sits, found by its header name (any order, case-insensitive).
pub(super) struct Columns {
    pub(super) handle: usize,
    pub(super) price: usize,
    pub(super) title: Option<usize>,
    pub(super) body: Option<usize>,
    pub(super) vendor: Option<usize>,
    pub(super) types: [Option<usize>; 4],
    pub(super) tags: Option<usize>,
    pub(super) option_names: [Option<usize>; 3],
    pub(super) option_values: [Option<usize>; 3],
    pub(super) sku: Option<usize>,
    pub(super) barcode: Option<usize>,
    pub(super) tracker: Option<usize>,
    pub(super) qty: Option<usize>,
    pub(super) policy: Option<usize>,
    pub(super) taxable: Option<usize>,
    pub(super) image: Option<usize>,
    pub(super) status: Option<usize>,
}

impl Columns {
    pub(super) fn find(header: &StringRecord) -> Result<Columns> {
        let names: Vec<String> = header
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let col = |name: &str| names.iter().position(|n| *n == name.to_ascii_lowercase());
        let handle = col("Handle").ok_or(Error::ImportMissingColumn { column: "Handle" })?;
        let price = col("Variant Price").ok_or(Error::ImportMissingColumn {
            column: "Variant Price",
        })?;
        Ok(Columns {
            handle,
            price,
            title: col("Title"),
            body: col("Body (HTML)").or_else(|| col("Body HTML")),
            vendor: col("Vendor"),
            // In order of preference: the maker's own type first, Shopify's taxonomy last.
            types: [
                col("Type"),
                col("Custom Product Type"),
                col("Standardized Product Type"),
                col("Product Category"),
            ],
            tags: col("Tags"),
            option_names: [
                col("Option1 Name"),
                col("Option2 Name"),
                col("Option3 Name"),
            ],
            option_values: [
                col("Option1 Value"),
                col("Option2 Value"),
                col("Option3 Value"),
            ],
            sku: col("Variant SKU"),
            barcode: col("Variant Barcode"),
            tracker: col("Variant Inventory Tracker"),
            qty: col("Variant Inventory Qty"),
            policy: col("Variant Inventory Policy"),
            taxable: col("Variant Taxable"),
            image: col("Image Src"),
            status: col("Status"),
        })
    }
}

/// A record's field as written (empty when the column is absent).
pub(super) fn raw(rec: &StringRecord, col: Option<usize>) -> &str {
    col.and_then(|c| rec.get(c)).unwrap_or("")
}

/// A record's field, trimmed.
pub(super) fn cell(rec: &StringRecord, col: Option<usize>) -> &str {
    raw(rec, col).trim()
}

/// A field Shopify may have prefixed with `'` to keep it text (`'10`): trimmed, one `'` removed.
pub(super) fn text_cell(rec: &StringRecord, col: Option<usize>) -> &str {
    let s = cell(rec, col);
    s.strip_prefix('\'').unwrap_or(s).trim()
}

/// Whether the record says anything about a variant (price, option values, SKU or barcode).
pub(super) fn has_variant_data(c: &Columns, rec: &StringRecord) -> bool {
    !cell(rec, Some(c.price)).is_empty()
        || c.option_values.iter().any(|v| !cell(rec, *v).is_empty())
        || !text_cell(rec, c.sku).is_empty()
        || !text_cell(rec, c.barcode).is_empty()
}

/// A variant record's fields, validated.
pub(super) struct VariantFields {
    pub(super) options: Vec<OptionValue>,
    pub(super) sku: Option<Sku>,
    pub(super) barcode: Option<Barcode>,
    pub(super) price: Money,
    pub(super) tax_rate: TaxRate,
    pub(super) track_inventory: bool,
    pub(super) policy: Policy,
    pub(super) qty: i64,
    pub(super) notes: Vec<String>,
}

/// Reads the variant columns of a record; `Err` is the reason to skip it.
pub(super) fn read_variant(
    c: &Columns,
    settings: &ImportSettings,
    option_names: &[String; 3],
    rec: &StringRecord,
) -> std::result::Result<VariantFields, String> {
    if !has_variant_data(c, rec) {
        return Err(
            "the row has no variant: Variant Price, the option values and Variant SKU are empty"
                .to_string(),
        );
    }
    let mut notes = Vec::new();

    let mut options = Vec::new();
    for (i, (name, col)) in option_names.iter().zip(c.option_values).enumerate() {
        let n = i + 1;
        let value = cell(rec, col);
        match (name.is_empty(), value.is_empty()) {
            (true, true) => {}
            (false, true) => {
                return Err(format!(
                    "Option{n} Value is empty but the product has the option {name:?}"
                ))
            }
            (true, false) => {
                notes.push(format!(
                    "Option{n} Value {value:?} has no Option{n} Name on the product's first row"
                ));
                options.push(OptionValue {
                    name: format!("Option{n}"),
                    value: value.to_string(),
                });
            }
            (false, false) => options.push(OptionValue {
                name: name.clone(),
                value: value.to_string(),
            }),
        }
    }
    // Shopify's single-variant products carry a placeholder option `Title = Default Title`.
    if let [only] = options.as_slice() {
        if only.value.eq_ignore_ascii_case("Default Title") {
            options.clear();
        }
    }

    let price = read_price(cell(rec, Some(c.price)), settings)?;

    let policy_text = cell(rec, c.policy);
    let policy = if policy_text.is_empty() {
        Policy::Deny
    } else {
        Policy::parse(policy_text).map_err(|_| {
            format!("Variant Inventory Policy {policy_text:?} is not deny or continue")
        })?
    };

    let qty_text = cell(rec, c.qty);
    let mut qty: i64 = if qty_text.is_empty() {
        0
    } else {
        qty_text
            .parse()
            .map_err(|_| format!("Variant Inventory Qty {qty_text:?} is not a whole number"))?
    };
    if qty.abs() > MAX_IMPORT_QTY {
        return Err(format!(
            "Variant Inventory Qty {qty_text:?} is larger than {MAX_IMPORT_QTY}"
        ));
    }
    if qty < 0 && policy == Policy::Deny {
        notes.push(format!(
            "quantity {qty} in the file; a deny variant cannot be below zero, starting at 0"
        ));
        qty = 0;
    }

    let taxable = cell(rec, c.taxable);
    let tax_rate = if taxable.is_empty() || taxable.eq_ignore_ascii_case("true") {
        settings.default_tax_rate
    } else if taxable.eq_ignore_ascii_case("false") {
        TaxRate::ZERO
    } else {
        return Err(format!("Variant Taxable {taxable:?} is not true or false"));
    };

    let track_inventory = !cell(rec, c.tracker).is_empty();

    let sku_text = text_cell(rec, c.sku);
    let sku = if sku_text.is_empty() {
        None
    } else {
        match Sku::parse(sku_text) {
            Ok(s) => Some(s),
            Err(e) => {
                notes.push(format!("Variant SKU {sku_text:?} dropped: {}", why(&e)));
                None
            }
        }
    };
    let barcode_text = text_cell(rec, c.barcode);
    let barcode = if barcode_text.is_empty() {
        None
    } else {
        match Barcode::parse(barcode_text) {
            Ok(b) => Some(b),
            Err(e) => {
                notes.push(format!(
                    "Variant Barcode {barcode_text:?} dropped: {}",
                    why(&e)
                ));
                None
            }
        }
    };

    Ok(VariantFields {
        options,
        sku,
        barcode,
        price,
        tax_rate,
        track_inventory,
        policy,
        qty,
        notes,
    })
}

/// The short reason inside a validation error.
fn why(e: &Error) -> String {
    match e {
        Error::InvalidValue { reason, .. } => (*reason).to_string(),
        other => other.to_string(),
    }
}

/// `Variant Price` in the shop's currency. Zeros beyond the currency's decimals are dropped first
/// (`1500.00` in JPY is 1500), since they change nothing; any other extra decimal is refused.
fn read_price(text: &str, settings: &ImportSettings) -> std::result::Result<Money, String> {
    if text.is_empty() {
        return Err("Variant Price is empty".to_string());
    }
    let currency = settings.currency;
    let exp = usize::from(currency.exponent());
    let mut amount = text.to_string();
    if let Some((int, frac)) = text.split_once('.') {
        if frac.len() > exp && frac.bytes().skip(exp).all(|b| b == b'0') && !frac.contains(',') {
            amount = if exp == 0 {
                int.to_string()
            } else {
                format!("{int}.{}", &frac[..exp])
            };
        }
    }
    Money::parse(&amount, currency).map_err(|e| match e {
        Error::TooPrecise { exponent, .. } => format!(
            "Variant Price {text:?} has more than {exponent} decimal places, the most {currency} \
             allows"
        ),
        Error::AmountOutOfRange => format!("Variant Price {text:?} is too large"),
        _ => format!("Variant Price {text:?} is not an amount of money"),
    })
}
