//! Tax: the shop's price mode (inclusive or exclusive), tax rates, and the per-line rounding rule.
//!
//! # The rule
//! Tax is computed **per line**, on the line's amount after its discounts (line discount and its
//! share of the cart discount), and rounded to the currency's minor unit **half away from zero**:
//!
//! * tax-exclusive prices: `tax = round(net × rate)`, the customer pays `net + tax`;
//! * tax-inclusive prices: `tax = round(gross × rate / (1 + rate))`, the customer pays `gross`,
//!   of which `gross − tax` is net.
//!
//! The receipt's tax total is the sum of the rounded line taxes (never a re-rounding of the
//! total), so every line on the receipt adds up. Rates are exact: parts per million, so 20 %,
//! 5.5 % and 8.875 % are all represented without error. Arithmetic is done in `i128`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Whether the shop's catalog prices include tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxMode {
    /// Prices include tax (common in the UK and EU): the shelf price is what the customer pays.
    Inclusive,
    /// Prices exclude tax (common in the US and Canada): tax is added at the till.
    Exclusive,
}

impl TaxMode {
    pub fn parse(input: &str) -> Result<TaxMode> {
        match input.trim().to_ascii_lowercase().as_str() {
            "inclusive" | "incl" => Ok(TaxMode::Inclusive),
            "exclusive" | "excl" => Ok(TaxMode::Exclusive),
            _ => Err(Error::InvalidValue {
                what: "tax mode",
                input: input.to_string(),
                reason: "use inclusive or exclusive",
            }),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            TaxMode::Inclusive => "inclusive",
            TaxMode::Exclusive => "exclusive",
        }
    }
}

/// A tax rate in parts per million of the net amount (20 % = 200 000).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TaxRate(u32);

/// One hundred per cent, in parts per million.
const PPM: u32 = 1_000_000;

impl TaxRate {
    pub const ZERO: TaxRate = TaxRate(0);

    /// A rate from parts per million; at most 100 %.
    pub fn from_ppm(ppm: u32) -> Result<TaxRate> {
        if ppm > PPM {
            return Err(Error::InvalidTaxRate {
                input: format!("{ppm} ppm"),
            });
        }
        Ok(TaxRate(ppm))
    }

    /// Parses a percentage as typed: `20`, `5.5`, `8.875`, `20%`. At most four decimals, 0–100.
    pub fn parse_percent(input: &str) -> Result<TaxRate> {
        let bad = || Error::InvalidTaxRate {
            input: input.to_string(),
        };
        let s = input.trim().trim_end_matches('%').trim();
        let (int, frac) = s.split_once(['.', ',']).unwrap_or((s, ""));
        if int.is_empty()
            || int.len() > 3
            || frac.len() > 4
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: u32 = int.parse().map_err(|_| bad())?;
        let mut part: u32 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        for _ in frac.len()..4 {
            part *= 10;
        }
        let ppm = whole * 10_000 + part;
        if ppm > PPM {
            return Err(bad());
        }
        Ok(TaxRate(ppm))
    }

    pub fn ppm(&self) -> u32 {
        self.0
    }

    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }

    /// The tax on a line amount (minor units) under a price mode, by the rule in the module docs.
    pub fn tax_on(&self, amount_minor: i64, mode: TaxMode) -> i64 {
        let amount = i128::from(amount_minor);
        let rate = i128::from(self.0);
        let ppm = i128::from(PPM);
        match mode {
            TaxMode::Exclusive => round_half_away(amount * rate, ppm),
            TaxMode::Inclusive => round_half_away(amount * rate, ppm + rate),
        }
    }
}

impl fmt::Display for TaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 10_000;
        let frac = self.0 % 10_000;
        if frac == 0 {
            write!(f, "{whole}%")
        } else {
            let s = format!("{frac:04}");
            write!(f, "{whole}.{}%", s.trim_end_matches('0'))
        }
    }
}

/// `num / den` rounded to the nearest integer, halves away from zero. `den` must be positive.
/// The result is clamped into `i64` (callers bound their inputs far below that).
pub fn round_half_away(num: i128, den: i128) -> i64 {
    debug_assert!(den > 0);
    let q = num / den;
    let r = num % den;
    let q = if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    };
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_percentages() {
        assert_eq!(TaxRate::parse_percent("20").unwrap().ppm(), 200_000);
        assert_eq!(TaxRate::parse_percent("5.5").unwrap().ppm(), 55_000);
        assert_eq!(TaxRate::parse_percent("8.875%").unwrap().ppm(), 88_750);
        assert_eq!(TaxRate::parse_percent("0").unwrap(), TaxRate::ZERO);
        assert_eq!(TaxRate::parse_percent("100").unwrap().ppm(), 1_000_000);
        for bad in ["", "-1", "101", "abc", "5.55555", "1e2", "."] {
            assert!(TaxRate::parse_percent(bad).is_err(), "{bad}");
        }
        assert_eq!(
            TaxRate::parse_percent("8.875").unwrap().to_string(),
            "8.875%"
        );
        assert_eq!(TaxRate::parse_percent("20").unwrap().to_string(), "20%");
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_half_away(5, 10), 1);
        assert_eq!(round_half_away(4, 10), 0);
        assert_eq!(round_half_away(15, 10), 2);
        assert_eq!(round_half_away(-5, 10), -1);
        assert_eq!(round_half_away(-15, 10), -2);
        assert_eq!(round_half_away(-14, 10), -1);
    }

    #[test]
    fn tax_on_lines() {
        let vat = TaxRate::parse_percent("20").unwrap();
        // 12.00 incl. 20 % → tax 2.00
        assert_eq!(vat.tax_on(1200, TaxMode::Inclusive), 200);
        // 0.99 incl. → 0.165 → 0.17 (half away)
        assert_eq!(vat.tax_on(99, TaxMode::Inclusive), 17);
        // 0.99 excl. → 0.198 → 0.20
        assert_eq!(vat.tax_on(99, TaxMode::Exclusive), 20);
        // 0.025 → 0.03 (exact half rounds away)
        let five = TaxRate::parse_percent("5").unwrap();
        assert_eq!(five.tax_on(50, TaxMode::Exclusive), 3);
        // refunds (negative amounts) mirror sales exactly
        assert_eq!(five.tax_on(-50, TaxMode::Exclusive), -3);
        assert_eq!(TaxMode::parse("Inclusive").unwrap(), TaxMode::Inclusive);
        assert!(TaxMode::parse("both").is_err());
    }
}
