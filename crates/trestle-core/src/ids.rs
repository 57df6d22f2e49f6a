//! Identifiers: UUIDv7 for records created at a till or hub (time-ordered, unique without
//! coordination), UUIDv5 for catalog identities derived from what the maker already has.
//!
//! Core does no I/O, so a new v7 id is built from a timestamp and random bytes handed in by the
//! caller (`IdSource` in the till reads the clock and the OS random source).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The namespace of Trestle's derived (v5) ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x7a1e_5b3c_2d4e_4f60_8a9b_0c1d_2e3f_4a5b);

/// A UUIDv7 from a Unix time in milliseconds and 10 random bytes.
pub fn uuid_v7(unix_ms: u64, random: [u8; 10]) -> Uuid {
    uuid::Builder::from_unix_timestamp_millis(unix_ms, &random).into_uuid()
}

/// A UUIDv5 in Trestle's namespace from a name: the same name gives the same id everywhere.
pub fn uuid_v5(name: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Parses the hyphenated form.
            pub fn parse(input: &str) -> Result<Self> {
                Uuid::parse_str(input.trim())
                    .map($name)
                    .map_err(|_| Error::InvalidValue {
                        what: $what,
                        input: input.to_string(),
                        reason: "not an id",
                    })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}

id_type!(
    /// A product, derived from its Shopify handle (see `catalog`).
    ProductId, "product id"
);
id_type!(
    /// A variant, derived from its product's handle and its option values (see `catalog`).
    VariantId, "variant id"
);
id_type!(
    /// A completed sale (UUIDv7).
    SaleId, "sale id"
);
id_type!(
    /// A refund of some or all of a sale (UUIDv7).
    RefundId, "refund id"
);
id_type!(
    /// A void of a whole sale (UUIDv7).
    VoidId, "void id"
);
id_type!(
    /// An event in the outbox, the idempotency key the hub applies once (UUIDv7).
    EventId, "event id"
);
id_type!(
    /// A till (UUIDv7, chosen at `init`).
    TillId, "till id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v7_is_time_ordered_and_v5_is_stable() {
        let a = uuid_v7(1_700_000_000_000, [1; 10]);
        let b = uuid_v7(1_700_000_000_001, [0; 10]);
        assert!(a < b);
        assert_eq!(a.get_version_num(), 7);
        assert_eq!(uuid_v5("shopify:x"), uuid_v5("shopify:x"));
        assert_ne!(uuid_v5("shopify:x"), uuid_v5("shopify:y"));
        let s = SaleId(a);
        assert_eq!(SaleId::parse(&s.to_string()).unwrap(), s);
        assert!(SaleId::parse("nope").is_err());
    }
}
