//! Exports at the edge: the Z (or X) report as one self-contained printable HTML page (inline
//! print CSS, no scripts, nothing fetched), and the event's sales and refunds as CSV with the
//! stable columns of [`SALES_CSV_COLUMNS`] (docs/market-day.md). Amounts are formatted here and
//! only here; the CSV keeps integer minor units.

use rusqlite::Connection;
use trestle_core::clock::{format_utc, Hlc};
use trestle_core::{Currency, Money};

use crate::error::{Error, Result};
use crate::report::ZReport;
use crate::till::Till;

/// The CSV's columns, in order. Never reordered or renamed; new columns go at the end.
pub const SALES_CSV_COLUMNS: &[&str] = &[
    "record",
    "record_id",
    "receipt",
    "time_utc",
    "event_id",
    "staff",
    "line_no",
    "sku",
    "title",
    "qty",
    "unit_price_minor",
    "discount_minor",
    "net_minor",
    "tax_minor",
    "total_minor",
    "tax_rate_ppm",
    "currency",
    "voided",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report as a printable page.
pub fn report_html(z: &ZReport) -> Result<String> {
    let cur = Currency::parse(&z.currency)?;
    let m = |minor: i64| esc(&Money::from_minor(minor, cur).to_string());
    let mut h = String::new();
    let title = format!("{} report — {} — {}", z.kind, z.event_name, z.till_name);
    h.push_str(&format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\n\
         body{{font-family:system-ui,sans-serif;margin:2em;color:#000}} h1{{font-size:1.4em}} h2{{font-size:1.1em;margin-top:1.4em;border-bottom:1px solid #000}}\n\
         table{{border-collapse:collapse;width:100%}} td,th{{padding:.2em .4em;text-align:left}} td.n,th.n{{text-align:right;font-variant-numeric:tabular-nums}}\n\
         tr+tr td{{border-top:1px solid #ddd}} .neg{{font-weight:bold}}\n\
         @media print{{body{{margin:0;font-size:10pt}} h2{{break-after:avoid}} table{{break-inside:avoid}} @page{{size:A4;margin:12mm}}}}\n\
         </style></head><body>\n",
        esc(&title)
    ));
    h.push_str(&format!(
        "<h1>{}</h1>\n<p>{} · opened {} UTC · printed {} UTC{}</p>\n",
        esc(&title),
        esc(&z.shop_name),
        esc(&z.opened_at),
        esc(&z.printed_at),
        z.closed_by
            .as_ref()
            .map(|c| format!(" · closed by {}", esc(&staff_name(z, c))))
            .unwrap_or_default()
    ));
    let table = |h: &mut String, head: &[&str], rows: Vec<Vec<String>>| {
        h.push_str("<table><tr>");
        for (i, c) in head.iter().enumerate() {
            h.push_str(&format!(
                "<th{}>{}</th>",
                if i > 0 { " class=\"n\"" } else { "" },
                esc(c)
            ));
        }
        h.push_str("</tr>\n");
        for r in rows {
            h.push_str("<tr>");
            for (i, c) in r.iter().enumerate() {
                h.push_str(&format!(
                    "<td{}>{c}</td>",
                    if i > 0 { " class=\"n\"" } else { "" }
                ));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    };
    h.push_str("<h2>Sales</h2>\n");
    table(
        &mut h,
        &["", "amount"],
        vec![
            vec!["Sales".into(), z.sales.count.to_string()],
            vec!["Gross before discounts".into(), m(z.sales.subtotal_minor)],
            vec!["Discounts".into(), m(z.discounts_minor)],
            vec!["Total sales".into(), m(z.sales.total_minor)],
            vec![
                format!("Refunds ({})", z.refunds.count),
                m(z.refunds.total_minor),
            ],
            vec![format!("Voids ({})", z.voids.count), m(z.voids.total_minor)],
            vec!["Net".into(), m(z.sales.total_minor - z.refunds.total_minor)],
        ],
    );
    h.push_str("<h2>By tender</h2>\n");
    table(
        &mut h,
        &["tender", "sales", "refunds", "net"],
        z.tenders
            .iter()
            .map(|t| {
                vec![
                    esc(&t.kind),
                    m(t.sales_minor),
                    m(t.refunds_minor),
                    m(t.net_minor),
                ]
            })
            .collect(),
    );
    h.push_str("<h2>Tax by rate</h2>\n");
    table(
        &mut h,
        &["rate", "net sales", "tax on sales", "tax refunded", "tax"],
        z.tax
            .iter()
            .map(|t| {
                vec![
                    format!("{}%", rate(t.rate_ppm)),
                    m(t.sales_net_minor),
                    m(t.sales_tax_minor),
                    m(t.refunded_tax_minor),
                    m(t.tax_minor),
                ]
            })
            .collect(),
    );
    h.push_str("<h2>Items sold</h2>\n");
    table(
        &mut h,
        &["item", "sold", "refunded", "net"],
        z.items
            .iter()
            .map(|i| {
                vec![
                    esc(&i.title),
                    i.sold.to_string(),
                    i.refunded.to_string(),
                    i.net.to_string(),
                ]
            })
            .collect(),
    );
    h.push_str(&format!(
        "<p>Pickups collected: {} reservations, {} units.</p>\n",
        z.collected.reservations, z.collected.units
    ));
    h.push_str("<h2>Stock</h2>\n");
    let closing = |id: &str| {
        z.closing_stock
            .iter()
            .find(|c| c.variant_id == id)
            .map(|c| (c.free + c.held).to_string())
            .unwrap_or_else(|| "—".into())
    };
    table(
        &mut h,
        &["item", "opening", "closing"],
        z.opening_stock
            .iter()
            .map(|o| {
                vec![
                    esc(&o.title),
                    (o.free + o.held).to_string(),
                    closing(&o.variant_id),
                ]
            })
            .collect(),
    );
    h.push_str("<h2>Variances</h2>\n");
    let mut rows: Vec<Vec<String>> = z
        .variances
        .iter()
        .map(|v| {
            vec![
                format!(
                    "{} ({})",
                    esc(&v.title),
                    esc(v.reason.as_deref().unwrap_or(""))
                ),
                v.expected.to_string(),
                v.counted.to_string(),
                format!("{:+}", v.delta),
            ]
        })
        .collect();
    if let (Some(c), Some(var)) = (z.cash.counted_minor, z.cash.variance_minor) {
        rows.push(vec!["Cash".into(), m(z.cash.expected_minor), m(c), m(var)]);
    }
    table(&mut h, &["", "expected", "counted", "variance"], rows);
    h.push_str("<h2>Cash</h2>\n");
    table(
        &mut h,
        &["", "amount"],
        vec![
            vec!["Opening float".into(), m(z.cash.float_minor)],
            vec![
                "Cash sales (less change)".into(),
                m(z.cash.cash_sales_minor),
            ],
            vec!["Cash refunds".into(), m(-z.cash.cash_refunds_minor)],
            vec!["Cash in".into(), m(z.cash.cash_in_minor)],
            vec!["Cash out".into(), m(-z.cash.cash_out_minor)],
            vec!["Expected in the drawer".into(), m(z.cash.expected_minor)],
        ],
    );
    h.push_str("<h2>Who worked</h2>\n");
    table(
        &mut h,
        &["name", "sales", "sales total", "refunds", "voids"],
        z.staff
            .iter()
            .map(|s| {
                vec![
                    esc(&s.name),
                    s.sales.to_string(),
                    m(s.sales_total_minor),
                    s.refunds.to_string(),
                    s.voids.to_string(),
                ]
            })
            .collect(),
    );
    h.push_str("</body></html>\n");
    Ok(h)
}

fn staff_name(z: &ZReport, id: &str) -> String {
    z.staff
        .iter()
        .find(|s| s.id == id)
        .map_or_else(|| id.to_string(), |s| s.name.clone())
}

fn rate(ppm: i64) -> String {
    let whole = ppm / 10_000;
    let frac = ppm % 10_000;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{frac:04}").trim_end_matches('0'))
    }
}

impl Till {
    /// The event's sales and refunds as CSV, one row per line (`SALES_CSV_COLUMNS`); refund rows
    /// carry negative quantities and amounts. Sales of voided sales are marked `voided = 1`.
    pub fn export_sales_csv(&self, event: &str) -> Result<String> {
        let conn = self.db.conn();
        let known: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM till_events WHERE event_id = ?1)
                 OR EXISTS (SELECT 1 FROM sales WHERE event = ?1)",
            [event],
            |r| r.get(0),
        )?;
        if !known {
            return Err(Error::UnknownEvent(event.to_string()));
        }
        let mut out = SALES_CSV_COLUMNS.join(",");
        out.push('\n');
        write_rows(conn, event, &mut out)?;
        Ok(out)
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn time(hlc: &str) -> String {
    Hlc::decode(hlc)
        .map(|h| format_utc(h.wall_ms).replacen(' ', "T", 1) + "Z")
        .unwrap_or_default()
}

fn write_rows(conn: &Connection, event: &str, out: &mut String) -> Result<()> {
    let mut st = conn.prepare(
        "SELECT 'sale', s.id, s.receipt, s.hlc, s.event, COALESCE(s.staff, 'owner'), l.line_no, l.sku,
                l.title, l.qty, l.unit_price_minor, l.line_discount_minor + l.cart_discount_minor,
                l.net_minor, l.tax_minor, l.total_minor, l.tax_ppm, s.currency,
                EXISTS (SELECT 1 FROM voids v WHERE v.sale_id = s.id)
         FROM sales s JOIN sale_lines l ON l.sale_id = s.id WHERE s.event = ?1
         UNION ALL
         SELECT 'refund', r.id, s.receipt, r.hlc, r.event, COALESCE(r.staff, 'owner'), rl.line_no, l.sku,
                l.title, -rl.qty, l.unit_price_minor, 0, -(rl.amount_minor - rl.tax_minor), -rl.tax_minor,
                -rl.amount_minor, l.tax_ppm, s.currency, 0
         FROM refunds r JOIN refund_lines rl ON rl.refund_id = r.id JOIN sales s ON s.id = r.sale_id
         JOIN sale_lines l ON l.sale_id = r.sale_id AND l.line_no = rl.line_no WHERE r.event = ?1
         ORDER BY 4, 2, 7",
    )?;
    let mut rows = st.query([event])?;
    while let Some(r) = rows.next()? {
        let text = |i: usize| -> rusqlite::Result<String> {
            Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
        };
        let num = |i: usize| -> rusqlite::Result<String> { Ok(r.get::<_, i64>(i)?.to_string()) };
        let fields = [
            text(0)?,
            text(1)?,
            text(2)?,
            time(&text(3)?),
            text(4)?,
            text(5)?,
            num(6)?,
            text(7)?,
            text(8)?,
            num(9)?,
            num(10)?,
            num(11)?,
            num(12)?,
            num(13)?,
            num(14)?,
            num(15)?,
            text(16)?,
            num(17)?,
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    Ok(())
}
