//! The invariants the crash test checks on the till's database after every kill: each reported
//! sale, refund and void is present and whole, nothing partial exists, stock equals its movements,
//! receipt numbers have no gaps, the clock only moves forward, and SQLite's own checks pass.
//! Every failure names the invariant (by its letter in `tests/crash.rs`) and shows an example row.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rusqlite::types::Value;
use rusqlite::Connection;
use trestle_core::ledger::{LedgerEvent, OutboxEnvelope};

/// What the children reported done, over all cycles.
#[derive(Default)]
pub struct Reported {
    /// Receipt → (total in minor units, line count).
    pub sales: HashMap<String, (i64, i64)>,
    pub refunds: HashSet<String>,
    pub voids: HashSet<String>,
}

/// The rows checked so far (highest rowid per table). A check of the rows after these
/// (`Scope::New`) keeps a long run linear; a `Scope::Full` check starts from zero.
#[derive(Default, Clone, Copy)]
pub struct Progress {
    sales: i64,
    refunds: i64,
    voids: i64,
    outbox: i64,
    moves: i64,
}

/// Which rows the per-record checks look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every row, and SQLite's `integrity_check` and `foreign_key_check` too.
    Full,
    /// The rows written since the last check; the global checks (stock, receipts, what was
    /// reported) still cover everything.
    New,
}

/// What the database holds after a successful check.
#[derive(Debug, Default)]
pub struct Counts {
    pub sales: i64,
    pub refunds: i64,
    pub voids: i64,
}

impl Counts {
    /// Sales, refunds and voids together.
    pub fn records(&self) -> i64 {
        self.sales + self.refunds + self.voids
    }
}

/// Each query returns the first row that breaks its invariant, or nothing.
const CHECKS: &[(&str, &str)] = &[
    (
        "(b) every sale has line_count lines, and its lines' totals and taxes add up to the sale's",
        "SELECT s.receipt, s.line_count, COUNT(l.line_no) AS lines, s.total_minor,
                COALESCE(SUM(l.total_minor), 0) AS line_total, s.tax_minor,
                COALESCE(SUM(l.tax_minor), 0) AS line_tax
         FROM sales s LEFT JOIN sale_lines l ON l.sale_id = s.id
         WHERE s.rowid > :sales
         GROUP BY s.id
         HAVING s.line_count < 1 OR COUNT(l.line_no) != s.line_count
             OR COALESCE(SUM(l.total_minor), 0) != s.total_minor
             OR COALESCE(SUM(l.tax_minor), 0) != s.tax_minor
         LIMIT 1",
    ),
    (
        "(b) every sale has tender_count tenders, and tenders − change = total",
        "SELECT s.receipt, s.tender_count, COUNT(t.idx) AS tenders, s.paid_minor,
                COALESCE(SUM(t.amount_minor), 0) AS tendered, s.change_minor, s.total_minor
         FROM sales s LEFT JOIN sale_tenders t ON t.sale_id = s.id
         WHERE s.rowid > :sales
         GROUP BY s.id
         HAVING COUNT(t.idx) != s.tender_count
             OR COALESCE(SUM(t.amount_minor), 0) != s.paid_minor
             OR s.paid_minor - s.change_minor != s.total_minor
         LIMIT 1",
    ),
    (
        "(b) every sale has exactly one outbox row, a sale_completed",
        "SELECT * FROM (
             SELECT s.receipt,
                    (SELECT COUNT(*) FROM temp.by_ref_outbox o WHERE o.ref = s.id) AS outbox_rows,
                    (SELECT COUNT(*) FROM temp.by_ref_outbox o WHERE o.ref = s.id AND o.kind = 'sale_completed')
                        AS sale_events
             FROM sales s WHERE s.rowid > :sales)
         WHERE outbox_rows != 1 OR sale_events != 1 LIMIT 1",
    ),
    (
        "(b) every sale's stock movements add up to minus the units of its tracked lines",
        "SELECT * FROM (
             SELECT s.receipt,
                    (SELECT COALESCE(SUM(m.delta), 0) FROM temp.by_ref_moves m WHERE m.ref = s.id)
                        AS moved,
                    (SELECT COUNT(*) FROM temp.by_ref_moves m WHERE m.ref = s.id AND m.cause != 'sale')
                        AS other_causes,
                    (SELECT COALESCE(SUM(l.qty), 0) FROM sale_lines l
                         JOIN variants v ON v.id = l.variant_id
                     WHERE l.sale_id = s.id AND v.track_inventory = 1) AS tracked_units
             FROM sales s WHERE s.rowid > :sales)
         WHERE moved != -tracked_units OR other_causes != 0 LIMIT 1",
    ),
    (
        "(b) every refund has line_count lines adding up to its total and tax",
        "SELECT r.id, r.line_count, COUNT(l.line_no) AS lines, r.total_minor,
                COALESCE(SUM(l.amount_minor), 0) AS line_total, r.tax_minor,
                COALESCE(SUM(l.tax_minor), 0) AS line_tax
         FROM refunds r LEFT JOIN refund_lines l ON l.refund_id = r.id
         WHERE r.rowid > :refunds
         GROUP BY r.id
         HAVING r.line_count < 1 OR COUNT(l.line_no) != r.line_count
             OR COALESCE(SUM(l.amount_minor), 0) != r.total_minor
             OR COALESCE(SUM(l.tax_minor), 0) != r.tax_minor
         LIMIT 1",
    ),
    (
        "(b) every refund has tender_count tenders adding up to its total",
        "SELECT r.id, r.tender_count, COUNT(t.tender_index) AS tenders, r.total_minor,
                COALESCE(SUM(t.amount_minor), 0) AS tendered
         FROM refunds r LEFT JOIN refund_tenders t ON t.refund_id = r.id
         WHERE r.rowid > :refunds
         GROUP BY r.id
         HAVING COUNT(t.tender_index) != r.tender_count
             OR COALESCE(SUM(t.amount_minor), 0) != r.total_minor
         LIMIT 1",
    ),
    (
        "(b) every refund has exactly one outbox row, a sale_refunded",
        "SELECT * FROM (
             SELECT r.id,
                    (SELECT COUNT(*) FROM temp.by_ref_outbox o WHERE o.ref = r.id) AS outbox_rows,
                    (SELECT COUNT(*) FROM temp.by_ref_outbox o WHERE o.ref = r.id AND o.kind = 'sale_refunded')
                        AS refund_events
             FROM refunds r WHERE r.rowid > :refunds)
         WHERE outbox_rows != 1 OR refund_events != 1 LIMIT 1",
    ),
    (
        "(b) every refund's stock movements add up to the units of its tracked lines",
        "SELECT * FROM (
             SELECT r.id,
                    (SELECT COALESCE(SUM(m.delta), 0) FROM temp.by_ref_moves m WHERE m.ref = r.id)
                        AS moved,
                    (SELECT COUNT(*) FROM temp.by_ref_moves m
                     WHERE m.ref = r.id AND m.cause != 'refund') AS other_causes,
                    (SELECT COALESCE(SUM(l.qty), 0) FROM refund_lines l
                         JOIN variants v ON v.id = l.variant_id
                     WHERE l.refund_id = r.id AND v.track_inventory = 1) AS tracked_units
             FROM refunds r WHERE r.rowid > :refunds)
         WHERE moved != tracked_units OR other_causes != 0 LIMIT 1",
    ),
    (
        "(b) no sale line is refunded more than it sold, and refund lines are lines of the sale",
        "SELECT r.sale_id, l.line_no, SUM(l.qty) AS refunded, sl.qty AS sold,
                sl.variant_id AS sold_variant, l.variant_id AS refunded_variant
         FROM refund_lines l JOIN refunds r ON r.id = l.refund_id
         LEFT JOIN sale_lines sl ON sl.sale_id = r.sale_id AND sl.line_no = l.line_no
         GROUP BY r.sale_id, l.line_no
         HAVING sl.qty IS NULL OR SUM(l.qty) > sl.qty OR sl.variant_id != l.variant_id
         LIMIT 1",
    ),
    (
        "(b) every void has exactly one outbox row, a sale_voided, and its sale has no refund",
        "SELECT * FROM (
             SELECT v.id,
                    (SELECT COUNT(*) FROM temp.by_ref_outbox o WHERE o.ref = v.id) AS outbox_rows,
                    (SELECT COUNT(*) FROM temp.by_ref_outbox o WHERE o.ref = v.id AND o.kind = 'sale_voided')
                        AS void_events,
                    (SELECT COUNT(*) FROM refunds r WHERE r.sale_id = v.sale_id) AS refunds
             FROM voids v WHERE v.rowid > :voids)
         WHERE outbox_rows != 1 OR void_events != 1 OR refunds != 0 LIMIT 1",
    ),
    (
        "(b) every void's stock movements give back the units of its sale's tracked lines",
        "SELECT * FROM (
             SELECT v.id,
                    (SELECT COALESCE(SUM(m.delta), 0) FROM temp.by_ref_moves m WHERE m.ref = v.id)
                        AS moved,
                    (SELECT COUNT(*) FROM temp.by_ref_moves m
                     WHERE m.ref = v.id AND m.cause != 'void') AS other_causes,
                    (SELECT COALESCE(SUM(l.qty), 0) FROM sale_lines l
                         JOIN variants vr ON vr.id = l.variant_id
                     WHERE l.sale_id = v.sale_id AND vr.track_inventory = 1) AS tracked_units
             FROM voids v WHERE v.rowid > :voids)
         WHERE moved != tracked_units OR other_causes != 0 LIMIT 1",
    ),
    (
        "(c) every outbox row points at an existing sale, refund or void of its kind",
        "SELECT o.seq, o.kind, o.ref FROM outbox o
         WHERE o.seq > :outbox
           AND NOT ((o.kind = 'sale_completed' AND EXISTS (SELECT 1 FROM sales WHERE id = o.ref))
                 OR (o.kind = 'sale_refunded' AND EXISTS (SELECT 1 FROM refunds WHERE id = o.ref))
                 OR (o.kind = 'sale_voided' AND EXISTS (SELECT 1 FROM voids WHERE id = o.ref)))
         LIMIT 1",
    ),
    (
        "(c) every stock movement points at an existing sale, refund, void or import",
        "SELECT m.id, m.cause, m.ref FROM stock_movements m
         WHERE m.id > :moves
           AND NOT ((m.cause = 'sale' AND EXISTS (SELECT 1 FROM sales WHERE id = m.ref))
                 OR (m.cause = 'refund' AND EXISTS (SELECT 1 FROM refunds WHERE id = m.ref))
                 OR (m.cause = 'void' AND EXISTS (SELECT 1 FROM voids WHERE id = m.ref))
                 OR (m.cause = 'import' AND m.ref LIKE 'import:%'))
         LIMIT 1",
    ),
    (
        "(d) stock movements exist only for tracked variants",
        "SELECT v.id FROM variants v
         WHERE v.track_inventory = 0
           AND EXISTS (SELECT 1 FROM stock_movements m WHERE m.variant_id = v.id)
         LIMIT 1",
    ),
    (
        "(g) the clock moves forward: outbox rows in order have strictly increasing HLCs",
        "SELECT * FROM (SELECT seq, hlc, LAG(hlc) OVER (ORDER BY seq) AS previous FROM outbox
                        WHERE seq >= :outbox)
         WHERE previous IS NOT NULL AND hlc <= previous LIMIT 1",
    ),
    (
        "(g) the clock moves forward: sales in receipt order have strictly increasing HLCs",
        "SELECT * FROM (SELECT receipt, hlc, LAG(hlc) OVER (ORDER BY receipt_seq) AS previous
                        FROM sales WHERE rowid >= :sales)
         WHERE previous IS NOT NULL AND hlc <= previous LIMIT 1",
    ),
    (
        "(g) the shop's saved clock is at or after every record's",
        "SELECT * FROM (SELECT shop.hlc,
                               (SELECT hlc FROM outbox ORDER BY seq DESC LIMIT 1) AS latest
                        FROM shop)
         WHERE hlc < latest LIMIT 1",
    ),
];

/// Opens the database as the next start of the till would (recovering the WAL) and checks every
/// invariant. `Err` says which one broke, with an example.
pub fn check(
    db: &Path,
    reported: &Reported,
    progress: &mut Progress,
    scope: Scope,
) -> Result<Counts, String> {
    let conn = Connection::open(db).map_err(|e| format!("the database does not open: {e}"))?;
    let q = |e: rusqlite::Error| format!("a check query failed: {e}");
    // The till keeps no index on outbox.ref or stock_movements.ref (each index is a page written
    // by every sale); the checks look rows up by ref, so they get indexed copies of their own in
    // this connection's temp schema. The till's file is not touched.
    conn.execute_batch(
        "CREATE TEMP TABLE by_ref_outbox AS SELECT ref, kind FROM main.outbox;
         CREATE INDEX temp.by_ref_outbox_ref ON by_ref_outbox (ref);
         CREATE TEMP TABLE by_ref_moves AS SELECT ref, cause, delta FROM main.stock_movements;
         CREATE INDEX temp.by_ref_moves_ref ON by_ref_moves (ref);",
    )
    .map_err(q)?;
    let since = match scope {
        Scope::Full => Progress::default(),
        Scope::New => *progress,
    };

    // (e) SQLite's own view of the file.
    if scope == Scope::Full {
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(q)?;
        if integrity != "ok" {
            return Err(format!("(e) PRAGMA integrity_check broke: {integrity}"));
        }
        first_row_is_none(
            &conn,
            "(e) PRAGMA foreign_key_check finds no dangling reference",
            "PRAGMA foreign_key_check",
            since,
        )?;
    }

    // (a) everything the children reported done is there, as reported.
    let mut sales: HashMap<String, (i64, i64, i64)> = HashMap::new();
    let prefix: String = conn
        .query_row("SELECT till_prefix FROM shop", [], |r| r.get(0))
        .map_err(q)?;
    {
        let mut st = conn
            .prepare("SELECT receipt, receipt_seq, total_minor, line_count FROM sales")
            .map_err(q)?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(q)?;
        for row in rows {
            let (receipt, seq, total, lines): (String, i64, i64, i64) = row.map_err(q)?;
            if receipt != format!("{prefix}-{seq:06}") {
                return Err(format!(
                    "(f) receipt {receipt} does not match its sequence number {seq}"
                ));
            }
            sales.insert(receipt, (seq, total, lines));
        }
    }
    for (receipt, &(total, lines)) in &reported.sales {
        match sales.get(receipt) {
            None => {
                return Err(format!(
                    "(a) sale {receipt} was reported done but is not in the database"
                ))
            }
            Some(&(_, t, l)) if (t, l) != (total, lines) => {
                return Err(format!(
                    "(a) sale {receipt} was reported with total {total} and {lines} lines, \
                     the database has total {t} and {l} lines"
                ))
            }
            Some(_) => {}
        }
    }
    let refunds = ids(&conn, "SELECT id FROM refunds")?;
    if let Some(missing) = reported.refunds.difference(&refunds).next() {
        return Err(format!(
            "(a) refund {missing} was reported done but is not in the database"
        ));
    }
    let voids = ids(&conn, "SELECT id FROM voids")?;
    if let Some(missing) = reported.voids.difference(&voids).next() {
        return Err(format!(
            "(a) void {missing} was reported done but is not in the database"
        ));
    }

    // (b), (c), (d), (g): nothing partial, nothing dangling.
    for (invariant, sql) in CHECKS {
        first_row_is_none(&conn, invariant, sql, since)?;
    }

    // (f) receipt numbers 1..=n without gaps, and the counter just after.
    let n = i64::try_from(sales.len()).unwrap_or(i64::MAX);
    let (min, max): (i64, i64) = conn
        .query_row(
            "SELECT COALESCE(MIN(receipt_seq), 1), COALESCE(MAX(receipt_seq), 0) FROM sales",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(q)?;
    if min != 1 || max != n {
        return Err(format!(
            "(f) receipt sequence numbers are not 1..={n}: they run {min}..={max}"
        ));
    }
    let next: i64 = conn
        .query_row("SELECT next_receipt_seq FROM shop", [], |r| r.get(0))
        .map_err(q)?;
    if next != n + 1 {
        return Err(format!(
            "(f) shop.next_receipt_seq is {next} with {n} sales; it must be {}",
            n + 1
        ));
    }

    check_outbox_payloads(&conn, since.outbox)?;
    let max = |table: &str, column: &str| -> Result<i64, String> {
        conn.query_row(
            &format!("SELECT COALESCE(MAX({column}), 0) FROM {table}"),
            [],
            |r| r.get(0),
        )
        .map_err(q)
    };
    *progress = Progress {
        sales: max("sales", "rowid")?,
        refunds: max("refunds", "rowid")?,
        voids: max("voids", "rowid")?,
        outbox: max("outbox", "seq")?,
        moves: max("stock_movements", "id")?,
    };
    Ok(Counts {
        sales: n,
        refunds: i64::try_from(refunds.len()).unwrap_or(i64::MAX),
        voids: i64::try_from(voids.len()).unwrap_or(i64::MAX),
    })
}

/// (b) Each outbox row after `since` has a payload that decodes, carries the row's event id and
/// kind, and whose record is the stored record of the sale, refund or void it points at.
fn check_outbox_payloads(conn: &Connection, since: i64) -> Result<(), String> {
    let q = |e: rusqlite::Error| format!("a check query failed: {e}");
    let mut st = conn
        .prepare(
            "SELECT o.seq, o.event_id, o.kind, o.ref, p.payload,
                    COALESCE(s.record, r.record, v.record)
             FROM outbox o
             LEFT JOIN outbox_payloads p ON p.seq = o.seq
             LEFT JOIN sales s ON o.kind = 'sale_completed' AND s.id = o.ref
             LEFT JOIN refunds r ON o.kind = 'sale_refunded' AND r.id = o.ref
             LEFT JOIN voids v ON o.kind = 'sale_voided' AND v.id = o.ref
             WHERE o.seq > ?1 ORDER BY o.seq",
        )
        .map_err(q)?;
    let mut rows = st.query([since]).map_err(q)?;
    while let Some(row) = rows.next().map_err(q)? {
        let seq: i64 = row.get(0).map_err(q)?;
        let event_id: String = row.get(1).map_err(q)?;
        let kind: String = row.get(2).map_err(q)?;
        let reference: String = row.get(3).map_err(q)?;
        let payload: String = row.get(4).map_err(q)?;
        let record: Option<String> = row.get(5).map_err(q)?;
        let bad = |why: String| format!("(b) outbox row {seq} ({kind} {reference}): {why}");
        let env: OutboxEnvelope = serde_json::from_str(&payload)
            .map_err(|e| bad(format!("the payload does not decode: {e}")))?;
        if env.event_id.to_string() != event_id || env.event.kind() != kind {
            return Err(bad(
                "the payload's event id or kind differs from the row's".into()
            ));
        }
        let record = record.ok_or_else(|| bad("the record it points at is missing".into()))?;
        let same = match &env.event {
            LedgerEvent::SaleCompleted(s) => {
                s.id.to_string() == reference
                    && serde_json::from_str(&record).ok() == Some(s.clone())
            }
            LedgerEvent::SaleRefunded(r) => {
                r.id.to_string() == reference
                    && serde_json::from_str(&record).ok() == Some(r.clone())
            }
            LedgerEvent::SaleVoided(v) => {
                v.id.to_string() == reference
                    && serde_json::from_str(&record).ok() == Some(v.clone())
            }
        };
        if !same {
            return Err(bad(
                "the payload's record is not the stored record it points at".into(),
            ));
        }
    }
    Ok(())
}

fn ids(conn: &Connection, sql: &str) -> Result<HashSet<String>, String> {
    let q = |e: rusqlite::Error| format!("a check query failed: {e}");
    let mut st = conn.prepare(sql).map_err(q)?;
    let rows = st.query_map([], |r| r.get(0)).map_err(q)?;
    rows.collect::<rusqlite::Result<_>>().map_err(q)
}

/// Runs `sql` with whichever of `:sales`, `:refunds`, `:voids`, `:outbox`, `:moves` it uses bound
/// to `since`; a row is a broken invariant, shown as `column=value` pairs.
fn first_row_is_none(
    conn: &Connection,
    invariant: &str,
    sql: &str,
    since: Progress,
) -> Result<(), String> {
    let q = |e: rusqlite::Error| format!("{invariant}: the check query failed: {e}");
    let mut st = conn.prepare(sql).map_err(q)?;
    for (name, value) in [
        (":sales", since.sales),
        (":refunds", since.refunds),
        (":voids", since.voids),
        (":outbox", since.outbox),
        (":moves", since.moves),
    ] {
        if let Some(i) = st.parameter_index(name).map_err(q)? {
            st.raw_bind_parameter(i, value).map_err(q)?;
        }
    }
    let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = st.raw_query();
    let row: Option<Vec<Value>> = match rows.next().map_err(q)? {
        None => None,
        Some(r) => Some(
            (0..names.len())
                .map(|i| r.get(i))
                .collect::<rusqlite::Result<_>>()
                .map_err(q)?,
        ),
    };
    match row {
        None => Ok(()),
        Some(values) => {
            let shown: Vec<String> = names
                .iter()
                .zip(values)
                .map(|(n, v)| match v {
                    Value::Null => format!("{n}=NULL"),
                    Value::Integer(i) => format!("{n}={i}"),
                    Value::Text(t) => format!("{n}={t:?}"),
                    other => format!("{n}={other:?}"),
                })
                .collect();
            Err(format!("{invariant} — broke at: {}", shown.join(", ")))
        }
    }
}

/// (d) The stock replica, loaded as the next start of the till loads it (snapshot + the change
/// bytes committed with each action), agrees with the ledger: this till's counter of every
/// tracked variant equals the sum of its stock movements, no `deny` counter is below zero, and
/// the audit (the replica's sale/refund/void changes against the ledger's lines) finds nothing.
pub fn check_replica(dir: &Path) -> Result<(), String> {
    let mut till = trestle_till::Till::open(dir)
        .map_err(|e| format!("(d) the till does not open with its replica: {e}"))?;
    let moved: HashMap<String, i64> = {
        let conn = Connection::open(dir.join("till.sqlite"))
            .map_err(|e| format!("the database does not open: {e}"))?;
        let mut st = conn
            .prepare("SELECT variant_id, SUM(delta) FROM stock_movements GROUP BY variant_id")
            .map_err(|e| format!("a check query failed: {e}"))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| format!("a check query failed: {e}"))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| format!("a check query failed: {e}"))?
    };
    for level in till
        .stock()
        .map_err(|e| format!("(d) the stock does not read: {e}"))?
    {
        let ledger = moved
            .get(&level.variant_id.to_string())
            .copied()
            .unwrap_or(0);
        if level.available != ledger {
            return Err(format!(
                "(d) the replica's counter equals the ledger's movements broke at: variant={} \
                 replica={} movements={ledger}",
                level.variant_id, level.available
            ));
        }
        if level.policy == trestle_core::catalog::Policy::Deny && level.available < 0 {
            return Err(format!(
                "(d) no deny counter below zero broke at: variant={} free={}",
                level.variant_id, level.available
            ));
        }
    }
    // A made-to-order variant sold below zero is a conflict by design (someone must make the
    // units); anything else — an audit mismatch, a deny counter below zero — is a broken till.
    let levels: HashMap<String, i64> = till
        .stock()
        .map_err(|e| format!("(d) the stock does not read: {e}"))?
        .into_iter()
        .map(|l| (l.variant_id.to_string(), l.available))
        .collect();
    let findings = till
        .audit()
        .map_err(|e| format!("(d) the audit does not run: {e}"))?;
    for f in &findings {
        let expected = f.kind == "conflict.made_to_order_short"
            && levels.get(&f.variant.to_string()).is_some_and(|n| *n < 0);
        if !expected {
            return Err(format!(
                "(d) the audit finds no unexpected conflict broke at: {f:?}"
            ));
        }
    }
    Ok(())
}
