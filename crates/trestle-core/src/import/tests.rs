//! Unit tests of the Shopify CSV import on small inline files, one or more per documented rule.

use super::*;
use crate::catalog::{Handle, Policy, ProductStatus};
use crate::ids::{ProductId, VariantId};
use crate::money::Currency;
use crate::tax::TaxRate;

const COLUMNS: &[&str] = &[
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Type",
    "Tags",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Price",
    "Variant Taxable",
    "Variant Barcode",
    "Image Src",
    "Status",
];

fn settings() -> ImportSettings {
    ImportSettings {
        currency: Currency::parse("GBP").unwrap(),
        default_tax_rate: TaxRate::parse_percent("20").unwrap(),
    }
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// A CSV with the usual columns; each row names the fields it sets, the others are empty.
fn csv(rows: &[&[(&str, &str)]]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for row in rows {
        for (name, _) in *row {
            assert!(COLUMNS.contains(name), "unknown column {name}");
        }
        let fields: Vec<String> = COLUMNS
            .iter()
            .map(|c| row.iter().find(|(n, _)| n == c).map_or("", |(_, v)| v))
            .map(quote)
            .collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

fn parse(text: &str) -> ImportReport {
    parse_shopify_csv(text.as_bytes(), &settings()).unwrap()
}

fn reason(report: &ImportReport, i: usize) -> String {
    match &report.rows[i].outcome {
        RowOutcome::Skipped { reason } => reason.clone(),
        other => panic!("row {i} was not skipped: {other:?}"),
    }
}

fn note(report: &ImportReport, i: usize) -> Option<String> {
    match &report.rows[i].outcome {
        RowOutcome::Variant { note, .. } => note.clone(),
        other => panic!("row {i} is not a variant: {other:?}"),
    }
}

/// The first row of a two-option product (`Size`, `Material`).
fn first(
    handle: &'static str,
    size: &'static str,
    price: &'static str,
) -> Vec<(&'static str, &'static str)> {
    vec![
        ("Handle", handle),
        ("Title", "Old Soul"),
        ("Vendor", "Arts Kalima"),
        ("Option1 Name", "Size"),
        ("Option1 Value", size),
        ("Option2 Name", "Material"),
        ("Option2 Value", "Canvas"),
        ("Variant Price", price),
    ]
}

fn next(
    handle: &'static str,
    size: &'static str,
    price: &'static str,
) -> Vec<(&'static str, &'static str)> {
    vec![
        ("Handle", handle),
        ("Option1 Value", size),
        ("Option2 Value", "Canvas"),
        ("Variant Price", price),
    ]
}

fn with(
    mut row: Vec<(&'static str, &'static str)>,
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    for (name, value) in extra {
        row.retain(|(n, _)| n != name);
        row.push((name, value));
    }
    row
}

#[test]
fn variants_spread_over_rows_make_one_product() {
    let r = parse(&csv(&[
        &with(
            first("old-soul", "30x45", "86"),
            &[("Tags", "art, prints ,,"), ("Type", "Print")],
        ),
        &next("old-soul", "48x60", "150.50"),
    ]));
    assert_eq!(r.products.len(), 1);
    let p = &r.products[0];
    let handle = Handle::parse("old-soul").unwrap();
    assert_eq!(p.product.id, ProductId::for_handle(&handle));
    assert_eq!(p.product.title, "Old Soul");
    assert_eq!(p.product.vendor, "Arts Kalima");
    assert_eq!(p.product.product_type, "Print");
    assert_eq!(p.product.tags, ["art", "prints"]);
    assert_eq!(p.product.status, ProductStatus::Active);
    let v = &p.variants[1].variant;
    assert_eq!(v.id, VariantId::for_options(&handle, ["48x60", "Canvas"]));
    assert_eq!(v.product_id, p.product.id);
    assert_eq!(v.position, 2);
    assert_eq!(v.options[0].name, "Size");
    assert_eq!(v.options[1].name, "Material");
    assert_eq!(v.price.minor(), 15050);
    assert_eq!(v.policy, Policy::Deny);
    assert!(!v.track_inventory);
    assert_eq!(p.variants[1].line, 3);
    assert_eq!(
        r.rows[1].outcome.summary(),
        "variant 48x60 / Canvas, no SKU"
    );
    assert_eq!(r.rows[1].outcome.variant_id(), Some(v.id));
    let c = r.counts();
    assert_eq!(
        (c.rows, c.products, c.variants, c.images, c.skipped),
        (2, 1, 2, 0, 0)
    );
}

#[test]
fn skus_lose_the_apostrophe_and_shared_skus_are_noted() {
    let r = parse(&csv(&[
        &with(first("a", "S", "10"), &[("Variant SKU", " '10 ")]),
        &with(next("a", "M", "10"), &[("Variant SKU", "'10")]),
        &with(next("a", "L", "10"), &[("Variant SKU", "  ")]),
        &with(first("b", "S", "10"), &[("Variant SKU", "10")]),
        &with(next("b", "M", "10"), &[("Variant SKU", "B-2")]),
    ]));
    let v = |p: usize, i: usize| &r.products[p].variants[i].variant;
    assert_eq!(v(0, 0).sku.as_ref().unwrap().as_str(), "10");
    assert_eq!(v(0, 2).sku, None);
    assert_eq!(
        note(&r, 0).unwrap(),
        "SKU 10 is also used by 2 other variants; scan the barcode or pick the variant to sell it"
    );
    assert_eq!(
        r.rows[1].outcome.summary(),
        "variant M / Canvas, SKU 10 (SKU 10 is also used by 2 other variants; scan the barcode \
         or pick the variant to sell it)"
    );
    assert_eq!(note(&r, 2), None);
    assert!(note(&r, 3)
        .unwrap()
        .starts_with("SKU 10 is also used by 2 other variants"));
    assert_eq!(note(&r, 4), None);
}

#[test]
fn bad_barcodes_are_dropped_with_a_note() {
    let r = parse(&csv(&[
        &with(
            first("a", "S", "10"),
            &[("Variant Barcode", "'5012345678900")],
        ),
        &with(next("a", "M", "10"), &[("Variant Barcode", "50 12")]),
    ]));
    let vs = &r.products[0].variants;
    assert_eq!(
        vs[0].variant.barcode.as_ref().unwrap().as_str(),
        "5012345678900"
    );
    assert_eq!(vs[1].variant.barcode, None);
    assert!(note(&r, 1)
        .unwrap()
        .starts_with("Variant Barcode \"50 12\" dropped"));
}

#[test]
fn bad_prices_skip_only_their_variant() {
    let r = parse(&csv(&[
        &first("a", "S", "10"),
        &next("a", "M", "abc"),
        &next("a", "L", ""),
        &next("a", "XL", "12.505"),
        &next("a", "XXL", "-5"),
    ]));
    assert_eq!(r.products[0].variants.len(), 1);
    assert_eq!(
        reason(&r, 1),
        "Variant Price \"abc\" is not an amount of money"
    );
    assert_eq!(
        r.rows[1].outcome.summary(),
        "skipped: Variant Price \"abc\" is not an amount of money"
    );
    assert_eq!(reason(&r, 2), "Variant Price is empty");
    assert!(reason(&r, 3).contains("more than 2 decimal places"));
    assert!(reason(&r, 4).starts_with("Variant Price \"-5\""));
    assert_eq!(r.counts().skipped, 4);
}

#[test]
fn redundant_zero_decimals_are_accepted() {
    let jpy = ImportSettings {
        currency: Currency::parse("JPY").unwrap(),
        default_tax_rate: TaxRate::ZERO,
    };
    let text = csv(&[&first("a", "S", "1500.00"), &next("a", "M", "1500.50")]);
    let r = parse_shopify_csv(text.as_bytes(), &jpy).unwrap();
    assert_eq!(r.products[0].variants[0].variant.price.minor(), 1500);
    assert!(reason(&r, 1).contains("more than 0 decimal places"));
    let r = parse(&csv(&[&first("a", "S", "12.500")]));
    assert_eq!(r.products[0].variants[0].variant.price.minor(), 1250);
}

#[test]
fn an_unusable_first_row_skips_the_whole_product() {
    let r = parse(&csv(&[
        &first("a", "S", "abc"),
        &next("a", "M", "10"),
        &with(
            next("a", "L", ""),
            &[
                ("Option1 Value", ""),
                ("Option2 Value", ""),
                ("Image Src", "x.jpg"),
            ],
        ),
        &with(first("b b", "S", "10"), &[]),
        &next("b b", "M", "10"),
        &with(first("c", "S", "10"), &[("Status", "live")]),
        &first("d", "S", "10"),
    ]));
    assert_eq!(r.products.len(), 1);
    assert_eq!(r.products[0].product.handle.as_str(), "d");
    assert_eq!(
        reason(&r, 0),
        "Variant Price \"abc\" is not an amount of money"
    );
    assert_eq!(
        reason(&r, 1),
        "the product's first row (line 2) was skipped: Variant Price \"abc\" is not an amount of money"
    );
    assert_eq!(r.rows[2].outcome, RowOutcome::Image);
    assert!(reason(&r, 3).starts_with("Handle \"b b\" cannot be used"));
    assert!(reason(&r, 4).starts_with("the product's first row (line 5) was skipped: Handle"));
    assert_eq!(
        reason(&r, 5),
        "Status \"live\" is not active, draft or archived"
    );
}

#[test]
fn a_product_whose_variants_were_all_skipped_is_left_out() {
    let r = parse(&csv(&[
        &with(
            first("a", "", ""),
            &[
                ("Option1 Value", ""),
                ("Option2 Value", ""),
                ("Image Src", "a.jpg"),
            ],
        ),
        &next("a", "M", "abc"),
    ]));
    assert_eq!(r.rows[0].outcome, RowOutcome::Image);
    assert!(r.products.is_empty());
    assert_eq!(r.counts().skipped, 1);
}

#[test]
fn rows_without_a_title_row_before_them_are_skipped() {
    let r = parse(&csv(&[
        &next("orphan", "S", "10"),
        &first("orphan", "M", "10"),
    ]));
    assert!(reason(&r, 0).starts_with("no earlier row with Handle \"orphan\" has a Title"));
    assert_eq!(r.products[0].variants.len(), 1);
    assert_eq!(r.products[0].variants[0].variant.position, 1);
}

#[test]
fn duplicate_options_skip_the_later_row() {
    let r = parse(&csv(&[&first("a", "S", "10"), &next("a", " S ", "12")]));
    assert_eq!(
        reason(&r, 1),
        "line 2 is already the variant with the same options (S / Canvas); only the first is imported"
    );
    assert_eq!(r.products[0].variants[0].variant.price.minor(), 1000);
}

#[test]
fn missing_and_unnamed_option_values() {
    let r = parse(&csv(&[
        &first("a", "S", "10"),
        &with(next("a", "M", "10"), &[("Option2 Value", "")]),
        &with(next("a", "L", "10"), &[("Option3 Value", "Gloss")]),
    ]));
    assert_eq!(
        reason(&r, 1),
        "Option2 Value is empty but the product has the option \"Material\""
    );
    let v = &r.products[0].variants[1].variant;
    assert_eq!(v.options[2].name, "Option3");
    assert_eq!(v.title(), "L / Canvas / Gloss");
    assert!(note(&r, 2).unwrap().contains("has no Option3 Name"));
}

#[test]
fn default_title_products_have_no_options() {
    let r = parse(&csv(&[
        &[
            ("Handle", "print"),
            ("Title", "A Print"),
            ("Option1 Name", "Title"),
            ("Option1 Value", "Default Title"),
            ("Variant Price", "86"),
        ],
        &[
            ("Handle", "print"),
            ("Option1 Value", "Default Title"),
            ("Variant Price", "90"),
        ],
    ]));
    let v = &r.products[0].variants[0].variant;
    assert!(v.options.is_empty());
    assert_eq!(
        v.id,
        VariantId::for_options(&Handle::parse("print").unwrap(), [])
    );
    assert_eq!(v.title(), "Default");
    assert_eq!(r.rows[0].outcome.summary(), "variant Default, no SKU");
    assert!(reason(&r, 1).contains("(no options)"));
}

#[test]
fn taxable_tracker_and_policy() {
    let r = parse(&csv(&[
        &with(
            first("a", "S", "10"),
            &[
                ("Variant Taxable", "false"),
                ("Variant Inventory Tracker", "shopify"),
                ("Variant Inventory Policy", "continue"),
            ],
        ),
        &with(
            next("a", "M", "10"),
            &[
                ("Variant Taxable", "TRUE"),
                ("Variant Inventory Policy", "Deny"),
            ],
        ),
        &next("a", "L", "10"),
        &with(next("a", "XL", "10"), &[("Variant Taxable", "maybe")]),
        &with(
            next("a", "XXL", "10"),
            &[("Variant Inventory Policy", "sometimes")],
        ),
    ]));
    let vs = &r.products[0].variants;
    assert_eq!(vs[0].variant.tax_rate, TaxRate::ZERO);
    assert!(vs[0].variant.track_inventory);
    assert_eq!(vs[0].variant.policy, Policy::Continue);
    assert_eq!(vs[1].variant.tax_rate, settings().default_tax_rate);
    assert_eq!(vs[1].variant.policy, Policy::Deny);
    assert_eq!(vs[2].variant.tax_rate, settings().default_tax_rate);
    assert!(!vs[2].variant.track_inventory);
    assert_eq!(
        reason(&r, 3),
        "Variant Taxable \"maybe\" is not true or false"
    );
    assert_eq!(
        reason(&r, 4),
        "Variant Inventory Policy \"sometimes\" is not deny or continue"
    );
}

#[test]
fn quantities_and_negative_stock() {
    let r = parse(&csv(&[
        &with(first("a", "S", "10"), &[("Variant Inventory Qty", "-3")]),
        &with(
            next("a", "M", "10"),
            &[
                ("Variant Inventory Qty", "-3"),
                ("Variant Inventory Policy", "continue"),
            ],
        ),
        &with(next("a", "L", "10"), &[("Variant Inventory Qty", "7")]),
        &next("a", "XL", "10"),
        &with(next("a", "XXL", "10"), &[("Variant Inventory Qty", "2.5")]),
    ]));
    let vs = &r.products[0].variants;
    assert_eq!(
        vs.iter().map(|v| v.initial_qty).collect::<Vec<_>>(),
        [0, -3, 7, 0]
    );
    assert_eq!(
        note(&r, 0).unwrap(),
        "quantity -3 in the file; a deny variant cannot be below zero, starting at 0"
    );
    assert_eq!(note(&r, 1), None);
    assert_eq!(
        reason(&r, 4),
        "Variant Inventory Qty \"2.5\" is not a whole number"
    );
}

#[test]
fn image_rows_and_empty_rows() {
    let r = parse(&csv(&[
        &first("a", "S", "10"),
        &[("Handle", "a"), ("Image Src", "https://cdn/x.jpg")],
        &[
            ("Handle", "never-titled"),
            ("Image Src", "https://cdn/y.jpg"),
        ],
        &[("Handle", "a"), ("Vendor", "someone")],
        &[("Handle", "")],
        &[("Variant Price", "10")],
    ]));
    assert_eq!(r.rows[1].outcome, RowOutcome::Image);
    assert_eq!(r.rows[1].outcome.summary(), "image only");
    assert_eq!(r.rows[2].outcome, RowOutcome::Image);
    assert!(reason(&r, 3).starts_with("the row has no variant"));
    assert_eq!(reason(&r, 4), "the line is empty");
    assert_eq!(reason(&r, 5), "Handle is empty");
}

#[test]
fn product_fields_come_from_the_first_row() {
    let body = "<p class=\"x\">Line one,\nline \"two\"</p>\n";
    let r = parse(&csv(&[
        &with(
            first("a", "S", "10"),
            &[("Body (HTML)", body), ("Status", "draft")],
        ),
        &with(
            next("a", "M", "10"),
            &[("Title", "Other"), ("Vendor", "ignored")],
        ),
    ]));
    let p = &r.products[0].product;
    assert_eq!(p.body_html, body);
    assert_eq!(p.status, ProductStatus::Draft);
    assert_eq!(p.vendor, "Arts Kalima");
    assert!(note(&r, 1)
        .unwrap()
        .starts_with("Title \"Other\" differs from the product's first row (line 2)"));
    // The body spans three physical lines, so the second record starts on line 5.
    assert_eq!(r.rows[1].line, 5);
}

#[test]
fn bom_crlf_and_any_column_order() {
    let text = "\u{feff}Variant Price,Option1 Value,HANDLE,Title,Option1 Name,Standardized Product Type,Custom Product Type\r\n\
                10,S,a,Mug,Size,Home > Kitchen,\r\n\
                12,M,a,,,,\r\n\
                \r\n\
                5,,b,Plate,,Home > Kitchen,Plates\r\n";
    let r = parse(text);
    assert_eq!(r.rows.len(), 3);
    assert_eq!(r.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 5]);
    assert_eq!(r.products[0].product.product_type, "Home > Kitchen");
    assert_eq!(r.products[1].product.product_type, "Plates");
    assert_eq!(r.products[0].variants[1].variant.options[0].value, "M");
}

#[test]
fn malformed_records_are_skipped_and_parsing_goes_on() {
    let text = "Handle,Title,Variant Price\n\
                a,Mug,10\n\
                a,,10,extra\n\
                b,Plate\n\
                c,Bowl,\"7\"\n";
    let r = parse(text);
    assert_eq!(r.rows.len(), 4);
    assert!(reason(&r, 1).starts_with("the line has 4 fields but the header has 3"));
    assert!(reason(&r, 2).starts_with("the line has 2 fields"));
    assert_eq!(r.rows[1].handle, "a");
    assert_eq!(r.products.len(), 2);
    // An unclosed quote swallows the rest of the file into one record, reported once.
    let r = parse("Handle,Title,Variant Price\na,Mug,10\nb,\"Plate,5\nc,Bowl,7\n");
    assert_eq!(r.rows.len(), 2);
    assert_eq!(r.rows[1].line, 3);
    assert_eq!(r.counts().skipped, 1);
}

#[test]
fn only_a_file_that_is_not_a_product_csv_is_an_error() {
    let s = settings();
    let code = |bytes: &[u8]| parse_shopify_csv(bytes, &s).unwrap_err().code();
    assert_eq!(code(b""), "import.no_header");
    assert_eq!(code(b"\xEF\xBB\xBF"), "import.no_header");
    assert_eq!(code(b"Title,Variant Price\nx,1\n"), "import.missing_column");
    assert_eq!(code(b"Handle,Title\nx,y\n"), "import.missing_column");
    assert_eq!(
        code(b"Handle,Variant Price\nx,1\n\xff\n"),
        "import.not_utf8"
    );
    let err = parse_shopify_csv(b"Handle,Variant Price\nx,1\n\xff\n", &s).unwrap_err();
    assert_eq!(err, crate::Error::ImportNotUtf8 { line: 3 });
    assert_eq!(
        parse_shopify_csv(b"Handle,Title\n", &s)
            .unwrap_err()
            .to_string(),
        "the file has no \"Variant Price\" column, so it is not a Shopify product CSV export"
    );
    // A header alone is a valid, empty import.
    assert_eq!(parse("Handle,Variant Price\n").rows.len(), 0);
}

#[test]
fn the_report_serializes_as_json() {
    let r = parse(&csv(&[&first("a", "S", "10"), &next("a", "M", "x")]));
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["rows"][0]["outcome"]["kind"], "variant");
    assert_eq!(j["rows"][1]["outcome"]["kind"], "skipped");
    assert_eq!(j["products"][0]["variants"][0]["initial_qty"], 0);
    let back: ImportReport = serde_json::from_value(j).unwrap();
    assert_eq!(back, r);
}
