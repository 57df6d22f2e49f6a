//! Receipt numbers: the till's prefix plus its own sequence (`A1-000042`), unique across every
//! till without coordination because no two tills share a prefix and each till's sequence only
//! grows inside its own ledger transaction.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A till's receipt prefix: 1–8 ASCII letters or digits, upper-cased (`A1`, `MARKET2`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TillPrefix(String);

impl TillPrefix {
    pub fn parse(input: &str) -> Result<TillPrefix> {
        let s = input.trim().to_ascii_uppercase();
        if s.is_empty() || s.len() > 8 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::InvalidValue {
                what: "till prefix",
                input: input.to_string(),
                reason: "use 1 to 8 letters or digits",
            });
        }
        Ok(TillPrefix(s))
    }

    /// A prefix derived from a till's name: its letters and digits, upper-cased, at most 8
    /// (`"Stall 1"` → `STALL1`); `T` when the name has none.
    pub fn from_name(name: &str) -> TillPrefix {
        let s: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
            .to_ascii_uppercase();
        TillPrefix(if s.is_empty() { "T".to_string() } else { s })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TillPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TillPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A receipt number: prefix and sequence (from 1).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReceiptNo {
    pub prefix: TillPrefix,
    pub seq: u64,
}

impl ReceiptNo {
    /// Parses `PREFIX-NNNNNN` (any number of digits), case-insensitively.
    pub fn parse(input: &str) -> Result<ReceiptNo> {
        let bad = || Error::InvalidValue {
            what: "receipt number",
            input: input.to_string(),
            reason: "write it as on the receipt, like A1-000042",
        };
        let (p, n) = input.trim().rsplit_once('-').ok_or_else(bad)?;
        let prefix = TillPrefix::parse(p).map_err(|_| bad())?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let seq: u64 = n.parse().map_err(|_| bad())?;
        if seq == 0 {
            return Err(bad());
        }
        Ok(ReceiptNo { prefix, seq })
    }
}

impl fmt::Display for ReceiptNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:06}", self.prefix, self.seq)
    }
}

impl fmt::Debug for ReceiptNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_numbers() {
        let r = ReceiptNo {
            prefix: TillPrefix::parse("a1").unwrap(),
            seq: 42,
        };
        assert_eq!(r.to_string(), "A1-000042");
        assert_eq!(ReceiptNo::parse("a1-000042").unwrap(), r);
        assert_eq!(ReceiptNo::parse("A1-42").unwrap(), r);
        for bad in ["", "A1", "A1-", "-1", "A1-x", "A1-0", "TOOLONGPREFIX-1"] {
            assert!(ReceiptNo::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(TillPrefix::from_name("Stall 1").as_str(), "STALL1");
        assert_eq!(TillPrefix::from_name("—").as_str(), "T");
    }
}
