//! The cart and its pricing: lines, line and cart discounts, the allocation of a cart discount to
//! lines, and per-line tax — everything between "what was scanned" and "what is due".
//!
//! # The pricing rule
//! All amounts are integer minor units of the cart's currency; every step is checked and products
//! are taken in `i128`.
//!
//! 1. **Gross**: `gross = unit_price × qty`. A negative unit price is refused.
//! 2. **Line discount**: an amount, or a percentage of the gross rounded half away from zero
//!    ([`round_half_away`]). It may not exceed the gross ([`Error::DiscountTooLarge`]).
//! 3. **Cart discount**: applies to the sum of the lines after their line discounts. A percentage
//!    is computed on that sum and rounded **once**; an amount may not exceed the sum. The
//!    resulting amount is allocated to the lines pro rata to their post-line-discount amounts by
//!    the **largest-remainder method**: each line first gets `floor(D × a_i / Σa)`, then the
//!    units left over go one each to the lines with the largest remainders, ties to the earlier
//!    line. The shares therefore add up to the cart discount exactly, and no share exceeds its
//!    line's amount.
//! 4. **Tax** per line on the amount after both discounts, `TaxRate::tax_on(amount, mode)` (see
//!    [`crate::tax`]): rounded half away from zero, per line.
//!    * Inclusive prices: `total = amount`, `net = total − tax`.
//!    * Exclusive prices: `net = amount`, `total = net + tax`.
//! 5. **Totals** are sums of the line figures, never re-rounded: `subtotal = Σ gross`,
//!    `discount = Σ line_discount + Σ cart_discount`, `tax = Σ tax`, `total = Σ total`.
//!
//! An empty cart is refused ([`Error::EmptyCart`]); a price or an amount discount in another
//! currency is refused ([`Error::CurrencyMismatch`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::{Qty, Sku};
use crate::error::{Error, Result};
use crate::ids::VariantId;
use crate::money::{Currency, Money};
use crate::tax::{round_half_away, TaxMode, TaxRate};

/// Basis points in one hundred per cent.
const BP: u32 = 10_000;

/// A percentage in basis points, 0 to 10 000 (0 % to 100 %): `12.5 %` is `Percent(1250)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Percent(u32);

impl Percent {
    pub const ZERO: Percent = Percent(0);
    pub const HUNDRED: Percent = Percent(BP);

    /// A percentage from basis points; at most 10 000.
    pub fn from_bp(bp: u32) -> Result<Percent> {
        if bp > BP {
            return Err(Error::InvalidDiscount {
                input: format!("{bp} bp"),
            });
        }
        Ok(Percent(bp))
    }

    /// Parses a percentage as typed: `10`, `12.5`, `0.25`, `12,5`, `10%`. At most two decimals,
    /// from 0 to 100.
    pub fn parse(input: &str) -> Result<Percent> {
        let bad = || Error::InvalidDiscount {
            input: input.to_string(),
        };
        let s = input.trim();
        let s = s.strip_suffix('%').unwrap_or(s).trim_end();
        let (int, frac) = s.split_once(['.', ',']).unwrap_or((s, ""));
        if (int.is_empty() && frac.is_empty())
            || int.len() > 3
            || frac.len() > 2
            || (s.contains(['.', ',']) && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: u32 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| bad())?
        };
        let mut part: u32 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        if frac.len() == 1 {
            part *= 10;
        }
        Percent::from_bp(whole * 100 + part).map_err(|_| bad())
    }

    /// Basis points (hundredths of a per cent).
    pub fn bp(&self) -> u32 {
        self.0
    }

    /// This percentage of an amount, rounded half away from zero.
    pub fn of(&self, amount: Money) -> Money {
        let minor = round_half_away(
            i128::from(amount.minor()) * i128::from(self.0),
            i128::from(BP),
        );
        // |result| ≤ |amount| because the percentage is at most 100 %.
        Money::from_minor(minor, amount.currency())
    }
}

impl TryFrom<u32> for Percent {
    type Error = Error;
    fn try_from(bp: u32) -> Result<Percent> {
        Percent::from_bp(bp)
    }
}

impl From<Percent> for u32 {
    fn from(p: Percent) -> u32 {
        p.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        let frac = self.0 % 100;
        if frac == 0 {
            write!(f, "{whole}%")
        } else {
            let s = format!("{frac:02}");
            write!(f, "{whole}.{}%", s.trim_end_matches('0'))
        }
    }
}

/// A discount on a line or on the whole cart.
///
/// Serialized as `{"amount": {"minor": 250, "currency": "GBP"}}` or `{"percent": 1250}`
/// (basis points).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discount {
    /// A fixed amount off.
    Amount(Money),
    /// A percentage off.
    Percent(Percent),
}

impl Discount {
    /// Parses a discount as typed: `10%` is a percentage, anything else an amount (`2.50`), read
    /// with [`Money::parse`] in the cart's currency.
    pub fn parse(input: &str, currency: Currency) -> Result<Discount> {
        let s = input.trim();
        if s.ends_with('%') {
            return Percent::parse(s)
                .map(Discount::Percent)
                .map_err(|_| Error::InvalidDiscount {
                    input: input.to_string(),
                });
        }
        match Money::parse(s, currency) {
            Ok(m) => Ok(Discount::Amount(m)),
            Err(Error::InvalidAmount { .. }) => Err(Error::InvalidDiscount {
                input: input.to_string(),
            }),
            Err(e) => Err(e),
        }
    }

    /// The amount this discount takes off `base` (≥ 0), refusing more than `base`. `what` names
    /// the thing discounted in the error ("line", "cart").
    pub fn amount_on(&self, base: Money, what: &'static str) -> Result<Money> {
        let off = match self {
            Discount::Percent(p) => p.of(base),
            Discount::Amount(m) => {
                if m.currency() != base.currency() {
                    return Err(Error::CurrencyMismatch {
                        expected: base.currency().code().to_string(),
                        found: m.currency().code().to_string(),
                    });
                }
                if m.is_negative() {
                    return Err(Error::InvalidDiscount {
                        input: m.amount_string(),
                    });
                }
                *m
            }
        };
        if off.minor() > base.minor() {
            return Err(Error::DiscountTooLarge {
                what,
                discount: off.to_string(),
                amount: base.to_string(),
            });
        }
        Ok(off)
    }
}

impl fmt::Display for Discount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discount::Amount(m) => fmt::Display::fmt(m, f),
            Discount::Percent(p) => fmt::Display::fmt(p, f),
        }
    }
}

/// One line of a cart as the cashier built it: a variant, its price and rate at the time of sale,
/// a quantity and an optional line discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub variant_id: VariantId,
    pub sku: Option<Sku>,
    pub title: String,
    pub unit_price: Money,
    pub tax_rate: TaxRate,
    pub qty: Qty,
    pub discount: Option<Discount>,
}

/// A cart: the lines being sold, in the shop's currency and price mode, and an optional discount
/// on the whole cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub currency: Currency,
    pub tax_mode: TaxMode,
    pub lines: Vec<CartLine>,
    pub discount: Option<Discount>,
}

/// A priced line: every figure the receipt shows for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    /// Position on the receipt, from 1.
    pub line_no: u32,
    pub variant_id: VariantId,
    pub sku: Option<Sku>,
    pub title: String,
    pub unit_price: Money,
    pub tax_rate: TaxRate,
    pub qty: Qty,
    /// `unit_price × qty`.
    pub gross: Money,
    /// The line's own discount.
    pub line_discount: Money,
    /// This line's share of the cart discount.
    pub cart_discount: Money,
    /// The amount excluding tax.
    pub net: Money,
    pub tax: Money,
    /// What the customer pays for this line, tax included.
    pub total: Money,
}

/// A receipt's totals, each the sum of the line figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Σ gross.
    pub subtotal: Money,
    /// Σ line discounts + Σ cart-discount shares.
    pub discount: Money,
    /// Σ line tax.
    pub tax: Money,
    /// Σ line totals: what is due.
    pub total: Money,
}

/// A cart after pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedCart {
    pub currency: Currency,
    pub tax_mode: TaxMode,
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
}

impl Cart {
    /// An empty cart.
    pub fn new(currency: Currency, tax_mode: TaxMode) -> Cart {
        Cart {
            currency,
            tax_mode,
            lines: Vec::new(),
            discount: None,
        }
    }

    /// Prices the cart by the rule in the module docs.
    pub fn price(&self) -> Result<PricedCart> {
        if self.lines.is_empty() {
            return Err(Error::EmptyCart);
        }
        let zero = Money::zero(self.currency);

        // Steps 1 and 2: gross and line discount.
        let mut gross = Vec::with_capacity(self.lines.len());
        let mut line_discount = Vec::with_capacity(self.lines.len());
        let mut after_line = Vec::with_capacity(self.lines.len());
        let mut base = zero;
        for line in &self.lines {
            zero.checked_add(line.unit_price)?; // refuses another currency
            if line.unit_price.is_negative() {
                return Err(Error::InvalidValue {
                    what: "price",
                    input: line.unit_price.amount_string(),
                    reason: "a price cannot be negative",
                });
            }
            let g = line.unit_price.checked_mul(i64::from(line.qty.get()))?;
            let d = match &line.discount {
                Some(discount) => discount.amount_on(g, "line")?,
                None => zero,
            };
            let a = g.checked_sub(d)?;
            base = base.checked_add(a)?;
            gross.push(g);
            line_discount.push(d);
            after_line.push(a);
        }

        // Step 3: cart discount, allocated by largest remainder.
        let cart_total_discount = match &self.discount {
            Some(discount) => discount.amount_on(base, "cart")?,
            None => zero,
        };
        let shares = allocate(cart_total_discount, &after_line)?;

        // Steps 4 and 5: tax per line, then totals as sums.
        let mut lines = Vec::with_capacity(self.lines.len());
        let mut totals = Totals {
            subtotal: zero,
            discount: zero,
            tax: zero,
            total: zero,
        };
        for (i, line) in self.lines.iter().enumerate() {
            let amount = after_line[i].checked_sub(shares[i])?;
            let tax = zero.with_minor(Some(line.tax_rate.tax_on(amount.minor(), self.tax_mode)))?;
            let (net, total) = match self.tax_mode {
                TaxMode::Inclusive => (amount.checked_sub(tax)?, amount),
                TaxMode::Exclusive => (amount, amount.checked_add(tax)?),
            };
            totals.subtotal = totals.subtotal.checked_add(gross[i])?;
            totals.discount = totals
                .discount
                .checked_add(line_discount[i])?
                .checked_add(shares[i])?;
            totals.tax = totals.tax.checked_add(tax)?;
            totals.total = totals.total.checked_add(total)?;
            lines.push(PricedLine {
                line_no: u32::try_from(i + 1).map_err(|_| Error::AmountOutOfRange)?,
                variant_id: line.variant_id,
                sku: line.sku.clone(),
                title: line.title.clone(),
                unit_price: line.unit_price,
                tax_rate: line.tax_rate,
                qty: line.qty,
                gross: gross[i],
                line_discount: line_discount[i],
                cart_discount: shares[i],
                net,
                tax,
                total,
            });
        }
        Ok(PricedCart {
            currency: self.currency,
            tax_mode: self.tax_mode,
            lines,
            totals,
        })
    }
}

/// Splits `amount` (≥ 0) over `weights` (each ≥ 0, Σ ≥ `amount`) pro rata by the largest-remainder
/// method, ties to the earlier weight. The shares add up to `amount` exactly. When every weight is
/// zero, `amount` must be zero and every share is zero.
pub fn allocate(amount: Money, weights: &[Money]) -> Result<Vec<Money>> {
    let zero = Money::zero(amount.currency());
    let mut sum = zero;
    for w in weights {
        sum = sum.checked_add(*w)?;
    }
    let total = i128::from(sum.minor());
    if amount.is_zero() || total == 0 {
        return Ok(vec![zero; weights.len()]);
    }
    let d = i128::from(amount.minor());
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let p = d * i128::from(w.minor());
        let floor = p / total;
        given += floor;
        shares.push(floor);
        remainders.push((p % total, i));
    }
    // Largest remainder first; equal remainders keep the earlier line first.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let left = usize::try_from(d - given).map_err(|_| Error::AmountOutOfRange)?;
    for &(_, i) in remainders.iter().take(left) {
        shares[i] += 1;
    }
    shares
        .into_iter()
        .map(|s| zero.with_minor(i64::try_from(s).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbp() -> Currency {
        Currency::parse("GBP").unwrap()
    }

    fn m(minor: i64) -> Money {
        Money::from_minor(minor, gbp())
    }

    #[test]
    fn parses_and_shows_percentages() {
        for (input, bp, shown) in [
            ("12.5", 1250, "12.5%"),
            ("10%", 1000, "10%"),
            (" 0.25 % ", 25, "0.25%"),
            ("12,5", 1250, "12.5%"),
            ("100", 10_000, "100%"),
            ("0", 0, "0%"),
            (".5", 50, "0.5%"),
        ] {
            let p = Percent::parse(input).unwrap();
            assert_eq!(p.bp(), bp, "{input}");
            assert_eq!(p.to_string(), shown, "{input}");
        }
        for bad in [
            "", "%", "100.01", "101", "12.345", "-5", "1e2", "5.", "abc", ".",
        ] {
            assert_eq!(
                Percent::parse(bad).unwrap_err().code(),
                "cart.invalid_discount",
                "{bad:?}"
            );
        }
        assert!(serde_json::from_str::<Percent>("10001").is_err());
    }

    #[test]
    fn parses_discounts() {
        assert_eq!(
            Discount::parse("10%", gbp()).unwrap(),
            Discount::Percent(Percent(1000))
        );
        assert_eq!(
            Discount::parse(" 2.50 ", gbp()).unwrap(),
            Discount::Amount(m(250))
        );
        assert_eq!(
            Discount::parse("abc", gbp()).unwrap_err().code(),
            "cart.invalid_discount"
        );
        assert_eq!(
            Discount::parse("150%", gbp()).unwrap_err().code(),
            "cart.invalid_discount"
        );
        assert_eq!(
            Discount::parse("2.505", gbp()).unwrap_err().code(),
            "money.too_precise"
        );
    }

    #[test]
    fn discount_serde_is_tagged() {
        let p = Discount::Percent(Percent(1250));
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"percent":1250}"#);
        let a = Discount::Amount(m(250));
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(j, r#"{"amount":{"minor":250,"currency":"GBP"}}"#);
        assert_eq!(serde_json::from_str::<Discount>(&j).unwrap(), a);
    }

    #[test]
    fn largest_remainder_allocation() {
        // 10 over 1:1:1 → 3.33 each: floors 3,3,3; one left, all remainders equal → first line.
        let s = allocate(m(10), &[m(100), m(100), m(100)]).unwrap();
        assert_eq!(s, vec![m(4), m(3), m(3)]);
        // 5 over 1:2 → 1.67, 3.33: floors 1,3; remainders 2/3 vs 1/3 → the first line.
        let s = allocate(m(5), &[m(1), m(2)]).unwrap();
        assert_eq!(s, vec![m(2), m(3)]);
        // Zero weights take nothing.
        let s = allocate(m(7), &[m(0), m(7), m(0)]).unwrap();
        assert_eq!(s, vec![m(0), m(7), m(0)]);
        assert_eq!(allocate(m(0), &[m(0)]).unwrap(), vec![m(0)]);
    }

    #[test]
    fn refuses_bad_carts() {
        let mut cart = Cart::new(gbp(), TaxMode::Inclusive);
        assert_eq!(cart.price().unwrap_err().code(), "cart.empty");
        cart.lines.push(CartLine {
            variant_id: VariantId(uuid::Uuid::nil()),
            sku: None,
            title: "Mug".into(),
            unit_price: m(500),
            tax_rate: TaxRate::ZERO,
            qty: Qty::new(1).unwrap(),
            discount: Some(Discount::Amount(m(501))),
        });
        assert_eq!(cart.price().unwrap_err().code(), "cart.discount_too_large");
        cart.lines[0].discount = Some(Discount::Amount(m(-1)));
        assert_eq!(cart.price().unwrap_err().code(), "cart.invalid_discount");
        cart.lines[0].discount = Some(Discount::Amount(m(500)));
        assert_eq!(cart.price().unwrap().totals.total, m(0));
        cart.lines[0].discount = None;
        cart.discount = Some(Discount::Amount(m(600)));
        assert_eq!(cart.price().unwrap_err().code(), "cart.discount_too_large");
        cart.discount = Some(Discount::Amount(Money::from_minor(
            1,
            Currency::parse("EUR").unwrap(),
        )));
        assert_eq!(cart.price().unwrap_err().code(), "money.currency_mismatch");
        cart.discount = None;
        cart.lines[0].unit_price = Money::from_minor(500, Currency::parse("EUR").unwrap());
        assert_eq!(cart.price().unwrap_err().code(), "money.currency_mismatch");
        cart.lines[0].unit_price = m(-5);
        assert_eq!(cart.price().unwrap_err().code(), "value.invalid");
        cart.lines[0].unit_price = m(crate::money::MAX_MINOR);
        cart.lines[0].qty = Qty::new(2).unwrap();
        assert_eq!(cart.price().unwrap_err().code(), "money.out_of_range");
    }
}
