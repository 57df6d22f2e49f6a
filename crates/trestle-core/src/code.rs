//! Short human codes: pickup reservation codes (six symbols and a check symbol, so a mistyped
//! code is caught before it is looked up) and pairing codes. The alphabet has no look-alikes:
//! no `0`/`O`, `1`/`I`/`L`, and no `U` (read as `V`).
//!
//! The check symbol is Luhn mod N over the alphabet: any single wrong symbol is detected, and
//! any swap of two neighbouring symbols except `2` and `Z` (values 0 and N-1, Luhn's one blind
//! spot, found by the property test in `reservation.rs`).

use crate::error::{Error, Result};

/// The 30 symbols codes are written in.
pub const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

const N: usize = ALPHABET.len();

fn index(c: u8) -> Option<usize> {
    ALPHABET.iter().position(|a| *a == c)
}

/// The Luhn mod N check symbol of `symbols` (indexes into the alphabet).
fn check_index(symbols: &[usize]) -> usize {
    let mut factor = 2;
    let mut sum = 0;
    for &i in symbols.iter().rev() {
        let addend = factor * i;
        sum += addend / N + addend % N;
        factor = if factor == 2 { 1 } else { 2 };
    }
    (N - sum % N) % N
}

/// A pickup reservation code, e.g. `K7Q-M4WX` (the last symbol is the check).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ReservationCode(String);

impl ReservationCode {
    /// A new code from 6 random bytes (the caller reads the OS random source).
    pub fn from_random(random: [u8; 6]) -> ReservationCode {
        let symbols: Vec<usize> = random.iter().map(|b| usize::from(*b) % N).collect();
        let check = check_index(&symbols);
        let mut s: String = symbols.iter().map(|i| char::from(ALPHABET[*i])).collect();
        s.push(char::from(ALPHABET[check]));
        ReservationCode(s)
    }

    /// Parses a code as typed or scanned: case, spaces and dashes do not matter; a symbol not in
    /// the alphabet or a wrong check symbol is refused with a sentence saying which.
    pub fn parse(input: &str) -> Result<ReservationCode> {
        let invalid = |reason: &'static str| Error::InvalidValue {
            what: "pickup code",
            input: input.to_string(),
            reason,
        };
        let raw = input.trim();
        let raw = raw.strip_prefix(QR_PREFIX).unwrap_or(raw);
        let cleaned: String = raw
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if cleaned.len() != 7 {
            return Err(invalid("a pickup code has 7 letters and digits"));
        }
        let mut symbols = Vec::with_capacity(7);
        for b in cleaned.bytes() {
            symbols.push(index(b).ok_or_else(|| {
                invalid("it has a character that is never in a code (no 0, 1, I, L, O or U)")
            })?);
        }
        let (body, check) = symbols.split_at(6);
        if check_index(body) != check[0] {
            return Err(invalid(
                "it is mistyped (the last character does not match)",
            ));
        }
        Ok(ReservationCode(cleaned))
    }

    /// The seven symbols without the dash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How the code is shown to people: `K7Q-M4WX`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..3], &self.0[3..])
    }

    /// What the customer's QR code encodes (QR alphanumeric mode: upper case and `:`).
    pub fn qr_payload(&self) -> String {
        format!("{QR_PREFIX}{}", self.0)
    }
}

/// The prefix of a pickup QR payload; `parse` accepts a scanned payload as it is.
pub const QR_PREFIX: &str = "TRESTLE:R:";

/// A pairing code from 8 random bytes: `XXXX-XXXX`.
pub fn pairing_code(random: [u8; 8]) -> String {
    let s: String = random
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % N]))
        .collect();
    format!("{}-{}", &s[..4], &s[4..])
}

/// A pairing code as typed: upper case, without spaces or dashes.
pub fn normalise_pairing_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_has_no_look_alikes() {
        for c in b"01ILOU" {
            assert!(!ALPHABET.contains(c), "{}", char::from(*c));
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), 30);
    }

    #[test]
    fn codes_round_trip_as_typed_shown_and_scanned() {
        for seed in 0..200u8 {
            let c = ReservationCode::from_random([seed, seed.wrapping_mul(7), 3, 250, seed, 9]);
            assert_eq!(ReservationCode::parse(c.as_str()).unwrap(), c);
            assert_eq!(ReservationCode::parse(&c.display()).unwrap(), c);
            assert_eq!(
                ReservationCode::parse(&c.display().to_lowercase()).unwrap(),
                c
            );
            assert_eq!(ReservationCode::parse(&c.qr_payload()).unwrap(), c);
        }
    }

    #[test]
    fn every_single_typo_and_neighbour_swap_is_caught() {
        let c = ReservationCode::from_random([1, 2, 3, 4, 5, 6]);
        let s = c.as_str().as_bytes().to_vec();
        for pos in 0..7 {
            for &a in ALPHABET {
                if a == s[pos] {
                    continue;
                }
                let mut t = s.clone();
                t[pos] = a;
                let typed = String::from_utf8(t).unwrap();
                assert!(ReservationCode::parse(&typed).is_err(), "{typed}");
            }
        }
        for pos in 0..6 {
            if s[pos] == s[pos + 1] {
                continue;
            }
            let mut t = s.clone();
            t.swap(pos, pos + 1);
            let typed = String::from_utf8(t).unwrap();
            assert!(ReservationCode::parse(&typed).is_err(), "{typed}");
        }
    }

    #[test]
    fn bad_codes_say_what_is_wrong() {
        let e = ReservationCode::parse("ABC").unwrap_err();
        assert!(e.to_string().contains("7 letters"), "{e}");
        let e = ReservationCode::parse("ABC-DEF0").unwrap_err();
        assert!(e.to_string().contains("never in a code"), "{e}");
        assert_eq!(normalise_pairing_code("k7qm-4wxp"), "K7QM4WXP");
        assert_eq!(pairing_code([0; 8]), "2222-2222");
    }
}
