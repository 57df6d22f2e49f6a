//! The shop and till settings a data directory holds (one row), and setting them up at `init`.

use rusqlite::{OptionalExtension, Transaction};
use serde::Serialize;
use trestle_core::clock::Hlc;
use trestle_core::ids::{SaleId, TillId};
use trestle_core::receipt::{ReceiptNo, TillPrefix};
use trestle_core::sale::SaleMeta;
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::Currency;

use crate::error::{Error, Result};

/// What `trestle init` is given, already validated.
#[derive(Debug, Clone)]
pub struct InitParams {
    pub shop_name: String,
    pub currency: Currency,
    pub tax_mode: TaxMode,
    pub default_tax_rate: TaxRate,
    pub till_name: String,
    pub prefix: TillPrefix,
}

impl InitParams {
    /// Validates names (1–100 characters, no control characters) and derives the receipt prefix
    /// from the till name unless one is given.
    pub fn new(
        shop_name: &str,
        currency: Currency,
        tax_mode: TaxMode,
        default_tax_rate: TaxRate,
        till_name: &str,
        prefix: Option<TillPrefix>,
    ) -> Result<InitParams> {
        let shop_name = clean_name("shop name", shop_name)?;
        let till_name = clean_name("till name", till_name)?;
        let prefix = prefix.unwrap_or_else(|| TillPrefix::from_name(&till_name));
        Ok(InitParams {
            shop_name,
            currency,
            tax_mode,
            default_tax_rate,
            till_name,
            prefix,
        })
    }
}

fn clean_name(what: &str, input: &str) -> Result<String> {
    let s = input.trim();
    if s.is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!(
            "the {what} must be 1 to 100 characters without control characters"
        )));
    }
    Ok(s.to_string())
}

/// The settings of this data directory's shop and till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shop {
    pub name: String,
    pub currency: Currency,
    pub tax_mode: TaxMode,
    pub default_tax_rate: TaxRate,
    pub till_id: TillId,
    pub till_name: String,
    pub prefix: TillPrefix,
}

pub(crate) fn insert(
    tx: &Transaction<'_>,
    p: &InitParams,
    till_id: TillId,
    now_ms: u64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO shop (id, name, currency, tax_mode, default_tax_ppm, till_id, till_name,
                           till_prefix, next_receipt_seq, hlc, created_ms)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9)",
        rusqlite::params![
            p.shop_name,
            p.currency.code(),
            p.tax_mode.as_str(),
            p.default_tax_rate.ppm(),
            till_id.to_string(),
            p.till_name,
            p.prefix.as_str(),
            Hlc::default().encode(),
            i64::try_from(now_ms).unwrap_or(i64::MAX),
        ],
    )?;
    Ok(())
}

/// Loads the shop row and the last HLC; `None` when the file has no shop yet.
pub(crate) fn load(conn: &rusqlite::Connection) -> Result<Option<(Shop, Hlc)>> {
    let row = conn
        .query_row(
            "SELECT name, currency, tax_mode, default_tax_ppm, till_id, till_name, till_prefix, hlc
             FROM shop WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u32>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                ))
            },
        )
        .optional()?;
    let Some((name, currency, mode, ppm, till_id, till_name, prefix, hlc)) = row else {
        return Ok(None);
    };
    let corrupt = |what: &str| Error::Corrupt(format!("the shop's {what} is unreadable"));
    let shop = Shop {
        name,
        currency: Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
        tax_mode: TaxMode::parse(&mode).map_err(|_| corrupt("tax mode"))?,
        default_tax_rate: TaxRate::from_ppm(ppm).map_err(|_| corrupt("tax rate"))?,
        till_id: TillId::parse(&till_id).map_err(|_| corrupt("till id"))?,
        till_name,
        prefix: TillPrefix::parse(&prefix).map_err(|_| corrupt("receipt prefix"))?,
    };
    let hlc = Hlc::decode(&hlc).ok_or_else(|| corrupt("clock"))?;
    Ok(Some((shop, hlc)))
}

/// Takes the next receipt sequence number inside the sale's transaction and saves the clock.
pub(crate) fn take_receipt_seq(tx: &Transaction<'_>, at: Hlc) -> Result<u64> {
    // One cached statement: this runs in every sale and also persists the clock that stamps it.
    let seq: i64 = tx
        .prepare_cached(
            "UPDATE shop SET next_receipt_seq = next_receipt_seq + 1, hlc = ?1 WHERE id = 1
             RETURNING next_receipt_seq - 1",
        )?
        .query_row([at.encode()], |r| r.get(0))?;
    u64::try_from(seq).map_err(|_| Error::Corrupt("the receipt counter is negative".into()))
}

/// A new sale's metadata: the next receipt number (taken in the sale's transaction, with the
/// clock saved), this till, who sold and the event it belongs to.
pub(crate) fn new_sale_meta(
    tx: &Transaction<'_>,
    shop: &Shop,
    id: SaleId,
    at: Hlc,
    staff: Option<String>,
    event: Option<String>,
) -> Result<SaleMeta> {
    let seq = take_receipt_seq(tx, at)?;
    Ok(SaleMeta {
        id,
        receipt: ReceiptNo {
            prefix: shop.prefix.clone(),
            seq,
        },
        till_id: shop.till_id,
        at,
        staff,
        event,
    })
}

/// Persists the clock inside the same transaction as the record stamped with it.
pub(crate) fn save_hlc(tx: &Transaction<'_>, hlc: Hlc) -> Result<()> {
    tx.prepare_cached("UPDATE shop SET hlc = ?1 WHERE id = 1")?
        .execute([hlc.encode()])?;
    Ok(())
}
