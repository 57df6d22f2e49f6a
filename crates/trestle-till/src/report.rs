//! X and Z reports of an event on this till, computed from the ledger tables (sales, refunds,
//! voids, cash movements, stock counts, the stock at opening and closing) and the replica's
//! reservations. An X report is the running totals; the Z report is the same at the close, with
//! the cash count, and is stored with the event. Amounts are integer minor units throughout.
//!
//! Rules: a voided sale counts in `voids` only (not in sales, tenders, tax or items); refunds
//! count in the event open when they were made; cash expected = float + cash in − cash out +
//! cash taken by sales (less change given) − cash refunded.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use trestle_core::clock::{format_utc, Hlc};
use trestle_replica::ShopReplica;

use crate::error::Result;
use crate::event::{Holding, Variance};
use crate::shop::Shop;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub count: i64,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderLine {
    /// `cash`, `card` or `other`.
    pub kind: String,
    /// Taken by sales (cash: less the change given).
    pub sales_minor: i64,
    pub refunds_minor: i64,
    pub net_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    pub rate_ppm: i64,
    pub sales_net_minor: i64,
    pub sales_tax_minor: i64,
    pub refunded_tax_minor: i64,
    pub tax_minor: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordTotals {
    pub count: i64,
    pub total_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemLine {
    pub variant_id: String,
    pub sku: Option<String>,
    pub title: String,
    pub sold: i64,
    pub refunded: i64,
    pub net: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collected {
    pub reservations: i64,
    pub units: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashUp {
    pub float_minor: i64,
    pub cash_sales_minor: i64,
    pub cash_refunds_minor: i64,
    pub cash_in_minor: i64,
    pub cash_out_minor: i64,
    pub expected_minor: i64,
    pub counted_minor: Option<i64>,
    /// Counted − expected (negative: cash missing).
    pub variance_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffLine {
    /// The staff id, or `owner`.
    pub id: String,
    pub name: String,
    pub sales: i64,
    pub sales_total_minor: i64,
    pub refunds: i64,
    pub voids: i64,
}

/// An X report (running) or Z report (at the close) of one event on this till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZReport {
    /// `X` or `Z`.
    pub kind: String,
    pub event_id: String,
    pub event_name: String,
    pub shop_name: String,
    pub till_name: String,
    pub currency: String,
    /// UTC, `2026-12-05 09:00:00`.
    pub opened_at: String,
    pub printed_at: String,
    pub closed_by: Option<String>,
    pub sales: Totals,
    pub tenders: Vec<TenderLine>,
    pub tax: Vec<TaxLine>,
    pub refunds: RecordTotals,
    pub voids: RecordTotals,
    pub discounts_minor: i64,
    pub items: Vec<ItemLine>,
    pub collected: Collected,
    pub opening_stock: Vec<Holding>,
    pub closing_stock: Vec<Holding>,
    pub variances: Vec<Variance>,
    pub cash: CashUp,
    pub staff: Vec<StaffLine>,
    /// Units returned to the hub at the close, per variant id.
    pub returned: Vec<(String, i64)>,
}

fn sum(conn: &Connection, sql: &str, event: &str) -> Result<i64> {
    Ok(conn
        .query_row(sql, [event], |r| r.get::<_, Option<i64>>(0))?
        .unwrap_or(0))
}

/// Sales of the event that were not voided.
const LIVE: &str = "s.event = ?1 AND NOT EXISTS (SELECT 1 FROM voids v WHERE v.sale_id = s.id)";

/// Builds the report of `event` from the ledger; `counted_cash` makes it the Z report.
pub(crate) fn build(
    conn: &Connection,
    shop: &Shop,
    replica: &ShopReplica,
    event: &str,
    holding: &[Holding],
    counted_cash: Option<i64>,
) -> Result<ZReport> {
    let (name, opened, float): (String, String, i64) = conn.query_row(
        "SELECT name, opened_hlc, float_minor FROM till_events WHERE event_id = ?1",
        [event],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let sales = conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(subtotal_minor),0), COALESCE(SUM(discount_minor),0),
                    COALESCE(SUM(tax_minor),0), COALESCE(SUM(total_minor),0) FROM sales s WHERE {LIVE}"
        ),
        [event],
        |r| {
            Ok(Totals {
                count: r.get(0)?,
                subtotal_minor: r.get(1)?,
                discount_minor: r.get(2)?,
                tax_minor: r.get(3)?,
                total_minor: r.get(4)?,
            })
        },
    )?;
    let refunds = conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(total_minor),0) FROM refunds WHERE event = ?1",
        [event],
        |r| {
            Ok(RecordTotals {
                count: r.get(0)?,
                total_minor: r.get(1)?,
            })
        },
    )?;
    let voids = conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(s.total_minor),0) FROM voids v JOIN sales s ON s.id = v.sale_id
         WHERE s.event = ?1",
        [event],
        |r| Ok(RecordTotals { count: r.get(0)?, total_minor: r.get(1)? }),
    )?;
    // Tenders: what sales took per kind (cash less change), what refunds gave back.
    let mut tenders: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for kind in ["cash", "card", "other"] {
        tenders.insert(kind.to_string(), (0, 0));
    }
    {
        let mut st = conn.prepare(&format!(
            "SELECT t.kind, SUM(t.amount_minor) FROM sale_tenders t JOIN sales s ON s.id = t.sale_id
             WHERE {LIVE} GROUP BY t.kind"
        ))?;
        for row in st.query_map([event], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })? {
            let (k, n) = row?;
            tenders.entry(k).or_default().0 += n;
        }
        let change = sum(
            conn,
            &format!("SELECT SUM(change_minor) FROM sales s WHERE {LIVE}"),
            event,
        )?;
        tenders.entry("cash".into()).or_default().0 -= change;
        let mut st = conn.prepare(
            "SELECT t.kind, SUM(t.amount_minor) FROM refund_tenders t JOIN refunds r ON r.id = t.refund_id
             WHERE r.event = ?1 GROUP BY t.kind",
        )?;
        for row in st.query_map([event], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })? {
            let (k, n) = row?;
            tenders.entry(k).or_default().1 += n;
        }
    }
    let tenders: Vec<TenderLine> = tenders
        .into_iter()
        .map(|(kind, (s, r))| TenderLine {
            kind,
            sales_minor: s,
            refunds_minor: r,
            net_minor: s - r,
        })
        .collect();
    // Tax per rate: the sale lines', less the tax refunded on lines at that rate.
    let mut tax: BTreeMap<i64, (i64, i64, i64)> = BTreeMap::new();
    {
        let mut st = conn.prepare(&format!(
            "SELECT l.tax_ppm, SUM(l.net_minor), SUM(l.tax_minor) FROM sale_lines l
             JOIN sales s ON s.id = l.sale_id WHERE {LIVE} GROUP BY l.tax_ppm"
        ))?;
        for row in st.query_map([event], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })? {
            let (rate, net, t) = row?;
            let e = tax.entry(rate).or_default();
            e.0 += net;
            e.1 += t;
        }
        let mut st = conn.prepare(
            "SELECT l.tax_ppm, SUM(rl.tax_minor) FROM refund_lines rl
             JOIN refunds r ON r.id = rl.refund_id
             JOIN sale_lines l ON l.sale_id = r.sale_id AND l.line_no = rl.line_no
             WHERE r.event = ?1 GROUP BY l.tax_ppm",
        )?;
        for row in st.query_map([event], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
            let (rate, t) = row?;
            tax.entry(rate).or_default().2 += t;
        }
    }
    let tax = tax
        .into_iter()
        .map(|(rate_ppm, (n, t, rt))| TaxLine {
            rate_ppm,
            sales_net_minor: n,
            sales_tax_minor: t,
            refunded_tax_minor: rt,
            tax_minor: t - rt,
        })
        .collect();
    let items = items(conn, event)?;
    let collected = collected(replica, event)?;
    let opening_stock = stock(conn, event, "open")?;
    let closing_stock = if counted_cash.is_some() {
        holding.to_vec()
    } else {
        Vec::new()
    };
    let variances = variances(conn, event)?;
    let cash_kind = |k: &str| -> Result<i64> {
        Ok(conn.query_row(
            "SELECT COALESCE(SUM(amount_minor),0) FROM cash_movements WHERE event_id = ?1 AND kind = ?2",
            params![event, k],
            |r| r.get(0),
        )?)
    };
    let (cash_in, cash_out) = (cash_kind("in")?, cash_kind("out")?);
    let cash_line = tenders.iter().find(|t| t.kind == "cash");
    let (cash_sales, cash_refunds) = cash_line.map_or((0, 0), |t| (t.sales_minor, t.refunds_minor));
    let expected = float + cash_in - cash_out + cash_sales - cash_refunds;
    let cash = CashUp {
        float_minor: float,
        cash_sales_minor: cash_sales,
        cash_refunds_minor: cash_refunds,
        cash_in_minor: cash_in,
        cash_out_minor: cash_out,
        expected_minor: expected,
        counted_minor: counted_cash,
        variance_minor: counted_cash.map(|c| c - expected),
    };
    let staff = staff(conn, event)?;
    let now = replica_now();
    Ok(ZReport {
        kind: if counted_cash.is_some() { "Z" } else { "X" }.into(),
        event_id: event.to_string(),
        event_name: name,
        shop_name: shop.name.clone(),
        till_name: shop.till_name.clone(),
        currency: shop.currency.code().to_string(),
        opened_at: Hlc::decode(&opened)
            .map(|h| format_utc(h.wall_ms))
            .unwrap_or_default(),
        printed_at: format_utc(now),
        closed_by: None,
        discounts_minor: sales.discount_minor,
        sales,
        tenders,
        tax,
        refunds,
        voids,
        items,
        collected,
        opening_stock,
        closing_stock,
        variances,
        cash,
        staff,
        returned: Vec::new(),
    })
}

fn replica_now() -> u64 {
    use trestle_core::clock::WallClock;
    crate::till::SystemClock.now_ms()
}

fn items(conn: &Connection, event: &str) -> Result<Vec<ItemLine>> {
    let mut st = conn.prepare(&format!(
        "SELECT l.variant_id, MAX(l.sku), MAX(l.title), SUM(l.qty),
                (SELECT COALESCE(SUM(rl.qty),0) FROM refund_lines rl JOIN refunds r ON r.id = rl.refund_id
                 WHERE r.event = ?1 AND rl.variant_id = l.variant_id)
         FROM sale_lines l JOIN sales s ON s.id = l.sale_id WHERE {LIVE}
         GROUP BY l.variant_id ORDER BY MAX(l.title), l.variant_id"
    ))?;
    let rows = st
        .query_map([event], |r| {
            let sold: i64 = r.get(3)?;
            let refunded: i64 = r.get(4)?;
            Ok(ItemLine {
                variant_id: r.get(0)?,
                sku: r.get(1)?,
                title: r.get(2)?,
                sold,
                refunded,
                net: sold - refunded,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn collected(replica: &ShopReplica, event: &str) -> Result<Collected> {
    let me = replica.holder();
    let mut c = Collected::default();
    for r in replica.reservations()? {
        if r.event.map(|e| e.0.to_string()).as_deref() != Some(event) {
            continue;
        }
        // Only what was handed over at this till: the units left its drawer side of the stall.
        // Hand-overs by the hub or another till of the event are on their own reports; a
        // refused one (handed over twice) still left from here, so it counts.
        let units: i64 = r
            .handovers
            .iter()
            .filter(|h| h.by == me)
            .flat_map(|h| &h.lines)
            .map(|(_, n)| n)
            .sum();
        if units > 0 {
            c.reservations += 1;
            c.units += units;
        }
    }
    Ok(c)
}

pub(crate) fn stock(conn: &Connection, event: &str, phase: &str) -> Result<Vec<Holding>> {
    let mut st = conn.prepare(
        "SELECT e.variant_id, v.sku, COALESCE(v.title, e.variant_id), e.free, e.held FROM event_stock e
         LEFT JOIN variants v ON v.id = e.variant_id
         WHERE e.event_id = ?1 AND e.phase = ?2 ORDER BY 3, 1",
    )?;
    let rows = st
        .query_map([event, phase], |r| {
            Ok(Holding {
                variant_id: r.get(0)?,
                sku: r.get(1)?,
                title: r.get(2)?,
                free: r.get(3)?,
                held: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn variances(conn: &Connection, event: &str) -> Result<Vec<Variance>> {
    let mut st = conn.prepare(
        "SELECT c.variant_id, COALESCE(v.title, c.variant_id), c.expected, c.counted, c.delta, c.reason
         FROM stock_counts c LEFT JOIN variants v ON v.id = c.variant_id
         WHERE c.event_id = ?1 AND c.delta != 0 ORDER BY c.hlc, c.id",
    )?;
    let rows = st
        .query_map([event], |r| {
            Ok(Variance {
                variant_id: r.get(0)?,
                title: r.get(1)?,
                expected: r.get(2)?,
                counted: r.get(3)?,
                delta: r.get(4)?,
                reason: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn staff(conn: &Connection, event: &str) -> Result<Vec<StaffLine>> {
    let mut st = conn.prepare(&format!(
        "SELECT who, COALESCE((SELECT name FROM staff WHERE id = who), who),
                SUM(sales), SUM(total), SUM(refunds), SUM(voids) FROM (
             SELECT COALESCE(s.staff, 'owner') AS who, 1 AS sales, s.total_minor AS total, 0 AS refunds, 0 AS voids
               FROM sales s WHERE {LIVE}
             UNION ALL SELECT COALESCE(staff, 'owner'), 0, 0, 1, 0 FROM refunds WHERE event = ?1
             UNION ALL SELECT COALESCE(staff, 'owner'), 0, 0, 0, 1 FROM voids WHERE event = ?1
             UNION ALL SELECT COALESCE(staff, 'owner'), 0, 0, 0, 0 FROM cash_movements WHERE event_id = ?1
         ) GROUP BY who ORDER BY 2"
    ))?;
    let rows = st
        .query_map([event], |r| {
            Ok(StaffLine {
                id: r.get(0)?,
                name: r.get(1)?,
                sales: r.get(2)?,
                sales_total_minor: r.get(3)?,
                refunds: r.get(4)?,
                voids: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
