//! Money: integer minor units with an ISO 4217 currency and its exponent. Never floating point.
//!
//! Amounts people type are parsed with [`Money::parse`], which accepts `12.50`, `12,50`, `12`,
//! `1,234.50` and `1.234,50` (when both separators appear, the last one is the decimal separator
//! and the other must group thousands), and refuses more decimals than the currency has
//! (`12.505` in GBP, `12.5` in JPY) rather than rounding what the cashier typed. Trailing zeros
//! past the currency's precision are accepted (`1500.00` in JPY is exactly 1500).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// ISO 4217 codes with an exponent other than 2. Every other code in [`CODES_EXP2`] has two.
const EXP0: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
const EXP3: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
const EXP4: &[&str] = &["CLF", "UYW"];
const CODES_EXP2: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
    "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR",
    "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS", "VED", "VES", "WST", "XCD", "YER",
    "ZAR", "ZMW", "ZWG",
];

/// An ISO 4217 currency: its three-letter code and the number of decimal places of its minor unit.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    /// Parses a currency code (case-insensitive), e.g. `"gbp"` → GBP with exponent 2.
    pub fn parse(input: &str) -> Result<Currency> {
        let unknown = || Error::UnknownCurrency(input.trim().to_string());
        // Every code is three ASCII letters: uppercased on the stack, looked up in the sorted
        // lists (a ledger record names its currency a dozen times, so this runs often).
        let mut code: [u8; 3] = input.trim().as_bytes().try_into().map_err(|_| unknown())?;
        code.make_ascii_uppercase();
        // A day's records name one currency over and over: the last one found is checked first.
        thread_local! {
            static LAST: std::cell::Cell<Option<Currency>> = const { std::cell::Cell::new(None) };
        }
        if let Some(last) = LAST.get().filter(|c| c.code == code) {
            return Ok(last);
        }
        let text = std::str::from_utf8(&code).map_err(|_| unknown())?;
        let found = |list: &[&str]| list.binary_search(&text).is_ok();
        let exponent = if found(CODES_EXP2) {
            2
        } else if found(EXP0) {
            0
        } else if found(EXP3) {
            3
        } else if found(EXP4) {
            4
        } else {
            return Err(unknown());
        };
        let found = Currency { code, exponent };
        LAST.set(Some(found));
        Ok(found)
    }

    /// The three-letter code, e.g. `"GBP"`.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).expect("currency codes are ASCII")
    }

    /// Decimal places of the minor unit: JPY 0, GBP 2, KWD 3.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// Minor units in one major unit (10^exponent).
    pub fn scale(&self) -> i64 {
        10i64.pow(u32::from(self.exponent))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Code;
        impl serde::de::Visitor<'_> for Code {
            type Value = Currency;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 4217 currency code")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<Currency, E> {
                Currency::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_str(Code)
    }
}

/// An amount of money: integer minor units of one currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount from minor units (pence, cents, yen, fils).
    pub const fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Zero of a currency.
    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// Parses an amount typed by a person (never negative); see the module docs for the forms.
    pub fn parse(input: &str, currency: Currency) -> Result<Money> {
        let s = input.trim();
        let invalid = || Error::InvalidAmount {
            input: input.to_string(),
        };
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        {
            return Err(invalid());
        }
        // The decimal separator is the last '.' or ',' unless the string has a single kind of
        // separator used only for grouping — we treat one lone separator as decimal.
        let last_sep = s.rfind(['.', ',']);
        let (int_part, frac_part) = match last_sep {
            None => (s, ""),
            Some(i) => {
                let sep = s.as_bytes()[i] as char;
                let head = &s[..i];
                if head.contains(sep) {
                    // The same separator twice ("1,234,567"): grouping with no decimals.
                    (s, "")
                } else {
                    (head, &s[i + 1..])
                }
            }
        };
        let digits = strip_grouping(int_part).ok_or_else(invalid)?;
        if digits.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        if last_sep.is_some() && frac_part.is_empty() && int_part.len() == s.len() - 1 {
            // "12." — a trailing separator with nothing after it.
            return Err(invalid());
        }
        // Zeros past the currency's precision change nothing ("1500.00" yen is 1500 yen); any
        // other digit there is a precision the currency does not have.
        let exp = usize::from(currency.exponent);
        let frac_part = if frac_part.len() > exp && frac_part[exp..].bytes().all(|b| b == b'0') {
            &frac_part[..exp]
        } else {
            frac_part
        };
        if frac_part.len() > exp {
            return Err(Error::TooPrecise {
                input: input.to_string(),
                currency: currency.code().to_string(),
                exponent: currency.exponent,
            });
        }
        let major: i64 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| Error::AmountOutOfRange)?
        };
        let mut frac: i64 = if frac_part.is_empty() {
            0
        } else {
            frac_part.parse().map_err(|_| invalid())?
        };
        for _ in frac_part.len()..usize::from(currency.exponent) {
            frac *= 10;
        }
        let minor = major
            .checked_mul(currency.scale())
            .and_then(|m| m.checked_add(frac))
            .filter(|m| *m <= MAX_MINOR)
            .ok_or(Error::AmountOutOfRange)?;
        Ok(Money { minor, currency })
    }

    /// Minor units.
    pub const fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    fn same(&self, other: Money) -> Result<()> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(Error::CurrencyMismatch {
                expected: self.currency.code().to_string(),
                found: other.currency.code().to_string(),
            })
        }
    }

    /// `self + other`, refusing mixed currencies and overflow.
    pub fn checked_add(self, other: Money) -> Result<Money> {
        self.same(other)?;
        self.with_minor(self.minor.checked_add(other.minor))
    }

    /// `self - other`, refusing mixed currencies and overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money> {
        self.same(other)?;
        self.with_minor(self.minor.checked_sub(other.minor))
    }

    /// `self × n`, refusing overflow.
    pub fn checked_mul(self, n: i64) -> Result<Money> {
        self.with_minor(self.minor.checked_mul(n))
    }

    /// The same currency with other minor units (checked result of an arithmetic step).
    pub fn with_minor(self, minor: Option<i64>) -> Result<Money> {
        match minor {
            Some(m) if m.abs() <= MAX_MINOR => Ok(Money {
                minor: m,
                currency: self.currency,
            }),
            _ => Err(Error::AmountOutOfRange),
        }
    }

    /// The amount as a decimal string without the code: `12.50`, `1200` (JPY), `-0.005` (KWD).
    pub fn amount_string(&self) -> String {
        let exp = usize::from(self.currency.exponent);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let scale = self.currency.scale().unsigned_abs();
        format!("{sign}{}.{:0exp$}", abs / scale, abs % scale)
    }
}

/// The largest amount Trestle handles: 10^15 minor units, far above any till's day and far below
/// where `i64` arithmetic on sums of lines could overflow.
pub const MAX_MINOR: i64 = 1_000_000_000_000_000;

fn strip_grouping(int_part: &str) -> Option<String> {
    let groups: Vec<&str> = int_part.split([',', '.']).collect();
    if groups.len() == 1 {
        return Some(int_part.to_string());
    }
    let first = groups[0];
    if first.is_empty() || first.len() > 3 || groups[1..].iter().any(|g| g.len() != 3) {
        return None;
    }
    Some(groups.concat())
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_string(), self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn the_code_lists_are_sorted_and_disjoint_for_the_lookup() {
        let lists = [EXP0, EXP3, EXP4, CODES_EXP2];
        for l in lists {
            assert!(l.windows(2).all(|w| w[0] < w[1]), "{l:?}");
        }
        let mut all: Vec<&str> = lists.concat();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
        for code in all {
            assert_eq!(c(code).code(), code);
            assert_eq!(c(&format!(" {} ", code.to_lowercase())).code(), code);
        }
        for bad in ["", "GB", "GBPX", "XXX", "gbé", "ÉÉ"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
        let from_json: Currency = serde_json::from_str("\"GBP\"").unwrap();
        assert_eq!(from_json, c("GBP"));
        assert!(serde_json::from_str::<Currency>("\"ZZZ\"").is_err());
    }

    #[test]
    fn exponents() {
        assert_eq!(c("JPY").exponent(), 0);
        assert_eq!(c("gbp").exponent(), 2);
        assert_eq!(c("KWD").exponent(), 3);
        assert_eq!(c("RWF").exponent(), 0);
        assert_eq!(
            Currency::parse("XYZ").unwrap_err().code(),
            "money.unknown_currency"
        );
        assert!(Currency::parse("").is_err());
        assert!(Currency::parse("GBPX").is_err());
    }

    #[test]
    fn parses_typed_amounts() {
        let gbp = c("GBP");
        for (input, minor) in [
            ("12.50", 1250),
            ("12,50", 1250),
            ("12", 1200),
            ("12.5", 1250),
            ("0.05", 5),
            (" 7 ", 700),
            ("1,234.50", 123450),
            ("1.234,50", 123450),
            ("1,234,567", 123456700),
            (".5", 50),
        ] {
            assert_eq!(Money::parse(input, gbp).unwrap().minor(), minor, "{input}");
        }
        assert_eq!(Money::parse("1500", c("JPY")).unwrap().minor(), 1500);
        assert_eq!(Money::parse("1500.00", c("JPY")).unwrap().minor(), 1500);
        assert_eq!(Money::parse("12.500", gbp).unwrap().minor(), 1250);
        assert_eq!(Money::parse("1.250", c("KWD")).unwrap().minor(), 1250);
        assert_eq!(Money::parse("1,25", c("KWD")).unwrap().minor(), 1250);
    }

    #[test]
    fn refuses_bad_amounts() {
        let gbp = c("GBP");
        for bad in [
            "", "abc", "-5", "12.", "1.2.3x", "£5", "12 50", "1,23.50", ",", "1e5",
        ] {
            assert!(Money::parse(bad, gbp).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            Money::parse("12.505", gbp).unwrap_err().code(),
            "money.too_precise"
        );
        assert_eq!(
            Money::parse("12.5", c("JPY")).unwrap_err().code(),
            "money.too_precise"
        );
        assert_eq!(
            Money::parse("99999999999999999999", gbp)
                .unwrap_err()
                .code(),
            "money.out_of_range"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(Money::from_minor(1250, c("GBP")).to_string(), "12.50 GBP");
        assert_eq!(Money::from_minor(5, c("GBP")).amount_string(), "0.05");
        assert_eq!(Money::from_minor(-5, c("KWD")).amount_string(), "-0.005");
        assert_eq!(Money::from_minor(1500, c("JPY")).amount_string(), "1500");
    }

    #[test]
    fn arithmetic_is_checked() {
        let gbp = c("GBP");
        let a = Money::from_minor(100, gbp);
        assert_eq!(a.checked_add(a).unwrap().minor(), 200);
        assert_eq!(
            a.checked_add(Money::from_minor(1, c("EUR")))
                .unwrap_err()
                .code(),
            "money.currency_mismatch"
        );
        assert!(Money::from_minor(MAX_MINOR, gbp).checked_mul(2).is_err());
    }

    #[test]
    fn serde_round_trip() {
        let m = Money::from_minor(1250, c("GBP"));
        let j = serde_json::to_string(&m).unwrap();
        assert_eq!(j, r#"{"minor":1250,"currency":"GBP"}"#);
        assert_eq!(serde_json::from_str::<Money>(&j).unwrap(), m);
        assert!(serde_json::from_str::<Money>(r#"{"minor":1,"currency":"NOPE"}"#).is_err());
    }
}
