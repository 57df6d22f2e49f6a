//! A completed sale: the priced cart, the tenders that paid it, the change given, and who, where
//! and when — the immutable record a receipt, a Z report and a refund are built from.
//!
//! # The rule
//! [`complete`] prices the cart ([`Cart::price`], rules in [`crate::cart`]), settles the total
//! against the tenders ([`settle`], rules in [`crate::tender`]) and returns the [`Sale`]; it
//! refuses exactly what those two refuse. A completed sale is never edited: refunds and voids are
//! new records that point at it.
//!
//! [`Sale::tax_by_rate`] groups the lines by tax rate for the receipt's and the Z report's tax
//! table; its figures are sums of the already rounded line figures, so the table adds up to the
//! receipt's totals exactly.

use serde::{Deserialize, Serialize};

use crate::cart::{Cart, Discount, PricedLine, Totals};
use crate::clock::Hlc;
use crate::error::Result;
use crate::ids::{SaleId, TillId};
use crate::money::{Currency, Money};
use crate::receipt::ReceiptNo;
use crate::tax::{TaxMode, TaxRate};
use crate::tender::{settle, Tender};

/// What the till knows about a sale besides the cart and the tenders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleMeta {
    pub id: SaleId,
    pub receipt: ReceiptNo,
    pub till_id: TillId,
    pub at: Hlc,
    pub staff: Option<String>,
    pub event: Option<String>,
}

/// A completed sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    pub id: SaleId,
    pub receipt: ReceiptNo,
    pub till_id: TillId,
    pub at: Hlc,
    pub staff: Option<String>,
    pub event: Option<String>,
    pub currency: Currency,
    pub tax_mode: TaxMode,
    pub lines: Vec<PricedLine>,
    /// The cart discount as the cashier entered it (its amount is spread over the lines).
    pub cart_discount: Option<Discount>,
    pub totals: Totals,
    /// In the order taken.
    pub tenders: Vec<Tender>,
    /// Cash given back.
    pub change: Money,
}

/// One row of a tax table: the lines at one rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxBand {
    pub rate: TaxRate,
    /// Σ net of the lines at this rate.
    pub net: Money,
    /// Σ tax of the lines at this rate.
    pub tax: Money,
    /// Σ total (net + tax) of the lines at this rate.
    pub total: Money,
}

/// Prices `cart`, settles it with `tenders` and records the sale.
pub fn complete(cart: &Cart, tenders: Vec<Tender>, meta: SaleMeta) -> Result<Sale> {
    let priced = cart.price()?;
    let settlement = settle(priced.totals.total, tenders)?;
    Ok(Sale {
        id: meta.id,
        receipt: meta.receipt,
        till_id: meta.till_id,
        at: meta.at,
        staff: meta.staff,
        event: meta.event,
        currency: priced.currency,
        tax_mode: priced.tax_mode,
        lines: priced.lines,
        cart_discount: cart.discount.clone(),
        totals: priced.totals,
        tenders: settlement.tenders,
        change: settlement.change,
    })
}

impl Sale {
    /// The tax table: one band per rate present on the sale, lowest rate first.
    pub fn tax_by_rate(&self) -> Vec<TaxBand> {
        let mut bands: Vec<TaxBand> = Vec::new();
        for line in &self.lines {
            let band = match bands.iter_mut().find(|b| b.rate == line.tax_rate) {
                Some(b) => b,
                None => {
                    let zero = Money::zero(self.currency);
                    bands.push(TaxBand {
                        rate: line.tax_rate,
                        net: zero,
                        tax: zero,
                        total: zero,
                    });
                    bands.last_mut().expect("just pushed")
                }
            };
            // The sums are bounded by the sale's totals, which were computed with checked
            // arithmetic when the sale was completed.
            band.net = add(band.net, line.net);
            band.tax = add(band.tax, line.tax);
            band.total = add(band.total, line.total);
        }
        bands.sort_by_key(|b| b.rate);
        bands
    }

    /// Σ tender amounts.
    pub fn paid(&self) -> Money {
        self.tenders
            .iter()
            .fold(Money::zero(self.currency), |acc, t| add(acc, t.amount))
    }

    /// The line with this receipt line number (from 1).
    pub fn line(&self, line_no: u32) -> Option<&PricedLine> {
        self.lines.iter().find(|l| l.line_no == line_no)
    }
}

fn add(a: Money, b: Money) -> Money {
    Money::from_minor(a.minor().saturating_add(b.minor()), a.currency())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::CartLine;
    use crate::catalog::Qty;
    use crate::ids::VariantId;
    use crate::receipt::TillPrefix;
    use uuid::Uuid;

    #[test]
    fn completes_and_round_trips_as_json() {
        let gbp = Currency::parse("GBP").unwrap();
        let cart = Cart {
            currency: gbp,
            tax_mode: TaxMode::Inclusive,
            lines: vec![CartLine {
                variant_id: VariantId(Uuid::from_u128(1)),
                sku: None,
                title: "Card".into(),
                unit_price: Money::from_minor(350, gbp),
                tax_rate: TaxRate::parse_percent("20").unwrap(),
                qty: Qty::new(2).unwrap(),
                discount: None,
            }],
            discount: None,
        };
        let meta = SaleMeta {
            id: SaleId(Uuid::from_u128(2)),
            receipt: ReceiptNo {
                prefix: TillPrefix::parse("A1").unwrap(),
                seq: 1,
            },
            till_id: TillId(Uuid::from_u128(3)),
            at: Hlc {
                wall_ms: 1,
                counter: 0,
            },
            staff: Some("Ada".into()),
            event: None,
        };
        let sale = complete(
            &cart,
            vec![Tender::cash(Money::from_minor(1000, gbp))],
            meta,
        )
        .unwrap();
        assert_eq!(sale.totals.total.minor(), 700);
        assert_eq!(sale.change.minor(), 300);
        assert_eq!(sale.paid().minor(), 1000);
        assert_eq!(sale.line(1).unwrap().qty.get(), 2);
        assert!(sale.line(2).is_none());
        let j = serde_json::to_string(&sale).unwrap();
        assert!(j.contains(r#""tax_mode":"inclusive""#));
        assert_eq!(serde_json::from_str::<Sale>(&j).unwrap(), sale);
    }
}
