//! Staff at the till: roles, PINs parsed at the boundary, PIN hashes (argon2id, the PHC string
//! is what is stored and what travels), and the lockout rule after wrong PINs. Pure: the salt and
//! the time come in as arguments.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Argon2id memory cost in KiB (19 MiB, OWASP's first recommended setting).
pub const PIN_HASH_MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes.
pub const PIN_HASH_PASSES: u32 = 2;
/// Argon2id lanes.
pub const PIN_HASH_LANES: u32 = 1;
/// Wrong PINs in a row that lock a person out.
pub const MAX_PIN_FAILURES: u32 = 5;
/// How long a lockout lasts, in milliseconds (5 minutes).
pub const LOCKOUT_MS: u64 = 5 * 60_000;

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sells, refunds up to the threshold, hands over pickups, counts cash.
    Cashier,
    /// Everything a cashier does, and approves voids, larger refunds, price overrides, selling
    /// beyond the till's holding and count corrections.
    Manager,
}

impl Role {
    pub fn parse(input: &str) -> Result<Role> {
        match input.trim().to_ascii_lowercase().as_str() {
            "cashier" => Ok(Role::Cashier),
            "manager" => Ok(Role::Manager),
            _ => Err(Error::InvalidValue {
                what: "staff role",
                input: input.to_string(),
                reason: "use cashier or manager",
            }),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::Manager => "manager",
        }
    }
}

/// A PIN as typed: 4 to 8 digits. Never stored or logged; only its hash is.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(****)")
    }
}

impl Pin {
    pub fn parse(input: &str) -> Result<Pin> {
        let s = input.trim();
        if (4..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Pin(s.to_string()))
        } else {
            Err(Error::InvalidValue {
                what: "PIN",
                input: "(hidden)".into(),
                reason: "a PIN is 4 to 8 digits",
            })
        }
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

fn hasher() -> Argon2<'static> {
    // The parameters are constants within argon2's limits, so building them cannot fail.
    let params =
        Params::new(PIN_HASH_MEMORY_KIB, PIN_HASH_PASSES, PIN_HASH_LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a PIN with a 16-byte random salt into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_pin(pin: &Pin, salt: [u8; 16]) -> Result<String> {
    let salt = SaltString::encode_b64(&salt).map_err(|_| Error::InvalidValue {
        what: "PIN salt",
        input: String::new(),
        reason: "it could not be encoded",
    })?;
    hasher()
        .hash_password(pin.bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::InvalidValue {
            what: "PIN",
            input: "(hidden)".into(),
            reason: "it could not be hashed",
        })
}

/// Whether `pin` matches the PHC string `hash` (argon2id only; anything unreadable never matches).
pub fn verify_pin(pin: &Pin, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(h) if h.algorithm.as_str() == "argon2id" => {
            hasher().verify_password(pin.bytes(), &h).is_ok()
        }
        _ => false,
    }
}

/// Whether a stored hash has the form `verify_pin` accepts (for input from the network).
pub fn is_pin_hash(hash: &str) -> bool {
    hash.len() <= 200 && PasswordHash::new(hash).is_ok_and(|h| h.algorithm.as_str() == "argon2id")
}

/// The lockout rule: after a wrong PIN with `failures` wrong ones in a row (this one included),
/// until when the person is locked out, if at all.
pub fn locked_until(failures: u32, now_ms: u64) -> Option<u64> {
    (failures >= MAX_PIN_FAILURES).then(|| now_ms.saturating_add(LOCKOUT_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_hash_verifies_its_pin_only_and_never_contains_it() {
        let pin = Pin::parse("4821").unwrap();
        let h = hash_pin(&pin, [7; 16]).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(!h.contains("4821"));
        assert!(verify_pin(&pin, &h));
        assert!(!verify_pin(&Pin::parse("4822").unwrap(), &h));
        assert!(!verify_pin(&pin, "not a hash"));
        assert!(is_pin_hash(&h) && !is_pin_hash("$argon2i$x"));
    }

    #[test]
    fn pins_and_roles_are_parsed_at_the_boundary() {
        for bad in ["", "123", "123456789", "12a4", "12 34"] {
            assert!(Pin::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format!("{:?}", Pin::parse("1234").unwrap()), "Pin(****)");
        assert_eq!(Role::parse(" Manager ").unwrap(), Role::Manager);
        assert!(Role::parse("owner").is_err());
    }

    #[test]
    fn the_fifth_wrong_pin_locks_for_five_minutes() {
        assert_eq!(locked_until(4, 1000), None);
        assert_eq!(locked_until(5, 1000), Some(1000 + 300_000));
    }
}
