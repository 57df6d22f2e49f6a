//! Writing and reading the ledger's rows: sales with their lines and tenders, refunds, voids,
//! stock movements and outbox entries. Called only inside a [`crate::db::Db::write`] transaction
//! by the services; nothing here commits.

use rusqlite::{params, OptionalExtension, Transaction};
use trestle_core::clock::Hlc;
use trestle_core::ids::{EventId, SaleId, TillId, VariantId};
use trestle_core::ledger::{LedgerEvent, OutboxEnvelope, Refund, Void, LEDGER_WIRE_VERSION};
use trestle_core::receipt::{ReceiptNo, TillPrefix};
use trestle_core::sale::Sale;

use crate::error::{Error, Result};

/// Records a stock movement of this till's own counter in its ledger, in the caller's
/// transaction (the counter itself is in the replica, changed in the same transaction).
pub(crate) fn insert_movement(
    tx: &Transaction<'_>,
    variant: VariantId,
    delta: i64,
    cause: &str,
    reference: &str,
    at: Hlc,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO stock_movements (variant_id, delta, cause, ref, hlc) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![variant.to_string(), delta, cause, reference, at.encode()])?;
    Ok(())
}

/// Appends an event to the outbox.
pub(crate) fn insert_outbox(
    tx: &Transaction<'_>,
    event_id: EventId,
    till_id: TillId,
    event: LedgerEvent,
    reference: &str,
    at: Hlc,
) -> Result<()> {
    let kind = event.kind();
    let envelope = OutboxEnvelope {
        v: LEDGER_WIRE_VERSION,
        event_id,
        till_id,
        event,
    };
    let payload = serde_json::to_string(&envelope)
        .map_err(|e| Error::Corrupt(format!("an outbox event could not be encoded: {e}")))?;
    tx.prepare_cached("INSERT INTO outbox (event_id, kind, ref, hlc) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![event_id.to_string(), kind, reference, at.encode()])?;
    // The payload apart (migration 0010): acknowledging the entry rewrites only the small row.
    tx.prepare_cached("INSERT INTO outbox_payloads (seq, payload) VALUES (?1, ?2)")?
        .execute(params![tx.last_insert_rowid(), payload])?;
    Ok(())
}

/// Writes a completed sale: the sale row, its lines and its tenders.
pub(crate) fn insert_sale(tx: &Transaction<'_>, sale: &Sale) -> Result<()> {
    let record = serde_json::to_string(sale)
        .map_err(|e| Error::Corrupt(format!("a sale could not be encoded: {e}")))?;
    let paid: i64 = sale.tenders.iter().map(|t| t.amount.minor()).sum();
    tx.prepare_cached(
        "INSERT INTO sales (id, receipt_seq, receipt, hlc, currency, subtotal_minor, discount_minor,
                            tax_minor, total_minor, paid_minor, change_minor, line_count,
                            tender_count, staff, event, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        sale.id.to_string(),
        i64::try_from(sale.receipt.seq).unwrap_or(i64::MAX),
        sale.receipt.to_string(),
        sale.at.encode(),
        sale.currency.code(),
        sale.totals.subtotal.minor(),
        sale.totals.discount.minor(),
        sale.totals.tax.minor(),
        sale.totals.total.minor(),
        paid,
        sale.change.minor(),
        sale.lines.len(),
        sale.tenders.len(),
        sale.staff,
        sale.event,
        record,
    ])?;
    let mut line_st = tx.prepare_cached(
        "INSERT INTO sale_lines (sale_id, line_no, variant_id, sku, title, qty, unit_price_minor,
                                 gross_minor, line_discount_minor, cart_discount_minor, net_minor,
                                 tax_minor, total_minor, tax_ppm)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    for l in &sale.lines {
        line_st.execute(params![
            sale.id.to_string(),
            l.line_no,
            l.variant_id.to_string(),
            l.sku.as_ref().map(|s| s.as_str()),
            l.title,
            l.qty.get(),
            l.unit_price.minor(),
            l.gross.minor(),
            l.line_discount.minor(),
            l.cart_discount.minor(),
            l.net.minor(),
            l.tax.minor(),
            l.total.minor(),
            l.tax_rate.ppm(),
        ])?;
    }
    let mut tender_st = tx.prepare_cached(
        "INSERT INTO sale_tenders (sale_id, idx, kind, amount_minor, reference)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (i, t) in sale.tenders.iter().enumerate() {
        tender_st.execute(params![
            sale.id.to_string(),
            i,
            t.kind.as_str(),
            t.amount.minor(),
            t.reference,
        ])?;
    }
    Ok(())
}

/// Writes a refund with its lines and tenders.
pub(crate) fn insert_refund(tx: &Transaction<'_>, r: &Refund, event: Option<&str>) -> Result<()> {
    let record = serde_json::to_string(r)
        .map_err(|e| Error::Corrupt(format!("a refund could not be encoded: {e}")))?;
    tx.prepare_cached(
        "INSERT INTO refunds (id, sale_id, hlc, total_minor, tax_minor, line_count, tender_count,
                              reason, record, staff, event)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        r.id.to_string(),
        r.sale_id.to_string(),
        r.at.encode(),
        r.plan.total.minor(),
        r.plan.tax.minor(),
        r.plan.lines.len(),
        r.plan.tenders.len(),
        r.reason,
        record,
        r.staff,
        event,
    ])?;
    for l in &r.plan.lines {
        tx.prepare_cached(
            "INSERT INTO refund_lines (refund_id, line_no, variant_id, qty, amount_minor, tax_minor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            r.id.to_string(),
            l.line_no,
            l.variant_id.to_string(),
            l.qty.get(),
            l.amount.minor(),
            l.tax.minor(),
        ])?;
    }
    for t in &r.plan.tenders {
        tx.prepare_cached(
            "INSERT INTO refund_tenders (refund_id, tender_index, kind, reference, amount_minor)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            r.id.to_string(),
            t.tender_index,
            t.kind.as_str(),
            t.reference,
            t.amount.minor(),
        ])?;
    }
    Ok(())
}

/// Writes a void.
pub(crate) fn insert_void(tx: &Transaction<'_>, v: &Void, event: Option<&str>) -> Result<()> {
    let record = serde_json::to_string(v)
        .map_err(|e| Error::Corrupt(format!("a void could not be encoded: {e}")))?;
    tx.execute(
        "INSERT INTO voids (id, sale_id, hlc, reason, record, staff, event)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            v.id.to_string(),
            v.sale_id.to_string(),
            v.at.encode(),
            v.reason,
            record,
            v.staff,
            event
        ],
    )?;
    Ok(())
}

/// Loads a sale by receipt number, with its refunds and whether it was voided. A receipt of
/// another till's prefix is not on this till.
pub(crate) fn load_sale(
    conn: &rusqlite::Connection,
    receipt: &ReceiptNo,
    prefix: &TillPrefix,
) -> Result<Option<(Sale, Vec<Refund>, bool)>> {
    if &receipt.prefix != prefix {
        return Ok(None);
    }
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT id, record FROM sales WHERE receipt_seq = ?1")?
        .query_row([i64::try_from(receipt.seq).unwrap_or(i64::MAX)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((id, record)) = row else {
        return Ok(None);
    };
    let sale: Sale = serde_json::from_str(&record)
        .map_err(|e| Error::Corrupt(format!("sale {receipt} is unreadable: {e}")))?;
    let refunds = load_refunds(conn, sale.id)?;
    let voided = conn
        .query_row("SELECT 1 FROM voids WHERE sale_id = ?1", [&id], |_| Ok(()))
        .optional()?
        .is_some();
    Ok(Some((sale, refunds, voided)))
}

fn load_refunds(conn: &rusqlite::Connection, sale: SaleId) -> Result<Vec<Refund>> {
    let mut st =
        conn.prepare_cached("SELECT record FROM refunds WHERE sale_id = ?1 ORDER BY hlc")?;
    let records = st
        .query_map([sale.to_string()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    records
        .iter()
        .map(|r| {
            serde_json::from_str(r)
                .map_err(|e| Error::Corrupt(format!("a refund is unreadable: {e}")))
        })
        .collect()
}
