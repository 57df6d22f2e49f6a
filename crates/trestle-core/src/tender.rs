//! Tenders and settlement: how a sale was paid (cash, card on an external terminal, other) and
//! the rule that decides whether the payments cover the total and how much change is given.
//!
//! # The settlement rule
//! * Every tender is more than zero ([`Error::ZeroTender`]) and in the total's currency
//!   ([`Error::CurrencyMismatch`]).
//! * `paid = Σ tender amounts`. If `paid < total` the sale is refused ([`Error::Underpaid`]).
//! * `over = paid − total` is given back as change, and change only ever comes out of cash: if
//!   `over` is more than the sum of the cash tenders the sale is refused
//!   ([`Error::ChangeOnNonCash`]). So a card of 30 for a total of 25 is refused, while a card of
//!   20 and cash of 10 for a total of 25 is fine, with 5 change from the cash.
//! * A total of zero with no tenders is a valid settlement.
//! * `change = over`.
//!
//! Tenders keep the order in which they were taken; refunds rely on it (see [`crate::refund`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::money::{Currency, Money};

/// The longest reference (card terminal reference, or the label of an "other" tender) kept.
pub const MAX_REFERENCE: usize = 64;

/// How a payment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenderKind {
    /// Notes and coins; the only tender change is given from.
    Cash,
    /// A card taken on an external terminal; its reference is the terminal's.
    Card,
    /// Anything else (voucher, bank transfer); its reference is the label.
    Other,
}

impl TenderKind {
    /// `cash`, `card` or `other` (case-insensitive).
    pub fn parse(input: &str) -> Result<TenderKind> {
        match input.trim().to_ascii_lowercase().as_str() {
            "cash" => Ok(TenderKind::Cash),
            "card" => Ok(TenderKind::Card),
            "other" => Ok(TenderKind::Other),
            _ => Err(Error::InvalidValue {
                what: "payment kind",
                input: input.to_string(),
                reason: "use cash, card or other",
            }),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            TenderKind::Cash => "cash",
            TenderKind::Card => "card",
            TenderKind::Other => "other",
        }
    }
}

impl fmt::Display for TenderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One payment towards a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tender {
    pub kind: TenderKind,
    /// What was handed over or charged (for cash, before change).
    pub amount: Money,
    /// The card terminal's reference, or the label of an "other" tender (voucher, bank transfer).
    /// Always `None` for cash.
    pub reference: Option<String>,
}

impl Tender {
    /// Parses the CLI form `KIND=AMOUNT[:REFERENCE]`: `cash=20`, `card=12.50`,
    /// `card=12.50:AUTH123`, `other=5:voucher`. The amount is read with [`Money::parse`] and must
    /// be more than zero; cash takes no reference; a reference is 1–64 characters without control
    /// characters.
    pub fn parse(input: &str, currency: Currency) -> Result<Tender> {
        let bad = || Error::InvalidTender {
            input: input.to_string(),
        };
        let (kind, rest) = input.trim().split_once('=').ok_or_else(bad)?;
        let kind = TenderKind::parse(kind).map_err(|_| bad())?;
        let (amount, reference) = match rest.split_once(':') {
            Some((a, r)) => (a, Some(r.trim())),
            None => (rest, None),
        };
        let amount = match Money::parse(amount, currency) {
            Ok(m) => m,
            Err(Error::InvalidAmount { .. }) => return Err(bad()),
            Err(e) => return Err(e),
        };
        if amount.is_zero() {
            return Err(Error::ZeroTender);
        }
        if let Some(r) = reference {
            if kind == TenderKind::Cash
                || r.is_empty()
                || r.chars().count() > MAX_REFERENCE
                || r.chars().any(char::is_control)
            {
                return Err(bad());
            }
        }
        Ok(Tender {
            kind,
            amount,
            reference: reference.map(str::to_string),
        })
    }

    /// A cash tender.
    pub fn cash(amount: Money) -> Tender {
        Tender {
            kind: TenderKind::Cash,
            amount,
            reference: None,
        }
    }

    /// A card tender with the terminal's reference, if any.
    pub fn card(amount: Money, reference: Option<&str>) -> Tender {
        Tender {
            kind: TenderKind::Card,
            amount,
            reference: reference.map(str::to_string),
        }
    }

    /// An "other" tender with its label, if any.
    pub fn other(amount: Money, label: Option<&str>) -> Tender {
        Tender {
            kind: TenderKind::Other,
            amount,
            reference: label.map(str::to_string),
        }
    }
}

/// The payments accepted for a total, and the change given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// In the order taken.
    pub tenders: Vec<Tender>,
    /// Σ tender amounts.
    pub paid: Money,
    /// Given back in cash: `paid − total`.
    pub change: Money,
}

/// Checks that `tenders` pay `total` by the rule in the module docs and works out the change.
pub fn settle(total: Money, tenders: Vec<Tender>) -> Result<Settlement> {
    if total.is_negative() {
        return Err(Error::InvalidValue {
            what: "total",
            input: total.amount_string(),
            reason: "a total to pay cannot be negative",
        });
    }
    let zero = Money::zero(total.currency());
    let mut paid = zero;
    let mut cash = zero;
    for t in &tenders {
        if t.amount.minor() <= 0 {
            return Err(Error::ZeroTender);
        }
        paid = paid.checked_add(t.amount)?; // also refuses another currency
        if t.kind == TenderKind::Cash {
            cash = cash.checked_add(t.amount)?;
        }
    }
    if paid.minor() < total.minor() {
        return Err(Error::Underpaid {
            total: total.to_string(),
            short: total.checked_sub(paid)?.to_string(),
        });
    }
    let over = paid.checked_sub(total)?;
    if over.minor() > cash.minor() {
        // Name the last non-cash tender: the one that went past the total.
        let kind = tenders
            .iter()
            .rev()
            .find(|t| t.kind != TenderKind::Cash)
            .map_or("card", |t| t.kind.as_str());
        return Err(Error::ChangeOnNonCash {
            kind,
            over: over.to_string(),
        });
    }
    Ok(Settlement {
        tenders,
        paid,
        change: over,
    })
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
    fn parses_cli_tenders() {
        assert_eq!(
            Tender::parse("cash=20", gbp()).unwrap(),
            Tender::cash(m(2000))
        );
        assert_eq!(
            Tender::parse("card=12.50", gbp()).unwrap(),
            Tender::card(m(1250), None)
        );
        assert_eq!(
            Tender::parse(" CARD=12.50:AUTH123 ", gbp()).unwrap(),
            Tender::card(m(1250), Some("AUTH123"))
        );
        assert_eq!(
            Tender::parse("other=5:gift voucher", gbp()).unwrap(),
            Tender::other(m(500), Some("gift voucher"))
        );
        for bad in [
            "", "cash", "cash=", "cash=abc", "cheque=5", "=5", "cash=5:x", "card=5:", "cash=-5",
        ] {
            assert_eq!(
                Tender::parse(bad, gbp()).unwrap_err().code(),
                "tender.invalid",
                "{bad:?}"
            );
        }
        assert_eq!(
            Tender::parse("cash=0", gbp()).unwrap_err().code(),
            "tender.zero"
        );
        assert_eq!(
            Tender::parse("card=1.234", gbp()).unwrap_err().code(),
            "money.too_precise"
        );
        let long = format!("card=1:{}", "x".repeat(MAX_REFERENCE + 1));
        assert_eq!(
            Tender::parse(&long, gbp()).unwrap_err().code(),
            "tender.invalid"
        );
    }

    #[test]
    fn tender_serde() {
        let t = Tender::card(m(1250), Some("AUTH123"));
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(
            j,
            r#"{"kind":"card","amount":{"minor":1250,"currency":"GBP"},"reference":"AUTH123"}"#
        );
        assert_eq!(serde_json::from_str::<Tender>(&j).unwrap(), t);
    }

    #[test]
    fn settlement_rules() {
        // Exact card.
        let s = settle(m(2500), vec![Tender::card(m(2500), None)]).unwrap();
        assert_eq!((s.paid, s.change), (m(2500), m(0)));
        // Card 20 + cash 10 for 25: 5 change from the cash.
        let s = settle(
            m(2500),
            vec![Tender::card(m(2000), None), Tender::cash(m(1000))],
        )
        .unwrap();
        assert_eq!((s.paid, s.change), (m(3000), m(500)));
        // Zero total, nothing tendered.
        let s = settle(m(0), vec![]).unwrap();
        assert_eq!((s.paid, s.change), (m(0), m(0)));
        // Refusals.
        assert_eq!(
            settle(m(2500), vec![Tender::card(m(3000), None)])
                .unwrap_err()
                .code(),
            "tender.change_on_non_cash"
        );
        assert_eq!(
            settle(m(2500), vec![]).unwrap_err().code(),
            "tender.underpaid"
        );
        assert_eq!(
            settle(m(2500), vec![Tender::cash(m(0))])
                .unwrap_err()
                .code(),
            "tender.zero"
        );
        assert_eq!(
            settle(m(0), vec![Tender::other(m(1), Some("voucher"))])
                .unwrap_err()
                .code(),
            "tender.change_on_non_cash"
        );
        let eur = Money::from_minor(2500, Currency::parse("EUR").unwrap());
        assert_eq!(
            settle(m(2500), vec![Tender::cash(eur)]).unwrap_err().code(),
            "money.currency_mismatch"
        );
    }
}
