//! The catalog: products and their variants, with typed values (`Sku`, `Barcode`, `Policy`,
//! `Qty`) that are validated once, here, and trusted everywhere else.
//!
//! # Identity
//! Ids are derived, not assigned, so every till and the hub that import the same Shopify export
//! agree on them without talking: a product is `uuid_v5("product:" + handle)`, a variant
//! `uuid_v5("variant:" + handle + "\x1f" + option values joined by "\x1f")`. The handle and the
//! option values are what identify a variant in Shopify's own export; SKUs are not used because
//! they may be empty or shared by several variants. Re-importing the same file therefore updates
//! the same rows; renaming a handle or an option value makes a new product or variant.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{uuid_v5, ProductId, VariantId};
use crate::money::Money;
use crate::tax::TaxRate;

fn invalid(what: &'static str, input: &str, reason: &'static str) -> Error {
    Error::InvalidValue {
        what,
        input: input.to_string(),
        reason,
    }
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                $name::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
    };
}

text_type!(
    /// A stock keeping unit: 1–64 characters, no control characters, no surrounding spaces.
    Sku
);
text_type!(
    /// A barcode as scanned: 1–48 visible ASCII characters (EAN/UPC digits or Code 128 text).
    Barcode
);
text_type!(
    /// A product's handle (its URL name in the online store): 1–255 characters, no spaces.
    Handle
);

impl Sku {
    pub fn parse(input: &str) -> Result<Sku> {
        let s = input.trim();
        if s.is_empty() {
            return Err(invalid("SKU", input, "it is empty"));
        }
        if s.chars().count() > 64 {
            return Err(invalid("SKU", input, "it is longer than 64 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(invalid("SKU", input, "it contains control characters"));
        }
        Ok(Sku(s.to_string()))
    }
}

impl Barcode {
    pub fn parse(input: &str) -> Result<Barcode> {
        let s = input.trim();
        if s.is_empty() || s.len() > 48 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                "barcode",
                input,
                "use 1 to 48 letters, digits or symbols without spaces",
            ));
        }
        Ok(Barcode(s.to_string()))
    }
}

impl Handle {
    pub fn parse(input: &str) -> Result<Handle> {
        let s = input.trim();
        if s.is_empty()
            || s.chars().count() > 255
            || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid(
                "handle",
                input,
                "use 1 to 255 characters without spaces",
            ));
        }
        Ok(Handle(s.to_string()))
    }
}

/// What happens when a variant's stock runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Never sell below zero.
    Deny,
    /// Made to order: may go negative.
    Continue,
}

impl Policy {
    pub fn parse(input: &str) -> Result<Policy> {
        match input.trim().to_ascii_lowercase().as_str() {
            "deny" => Ok(Policy::Deny),
            "continue" => Ok(Policy::Continue),
            _ => Err(invalid("inventory policy", input, "use deny or continue")),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Policy::Deny => "deny",
            Policy::Continue => "continue",
        }
    }
}

/// The largest quantity one line may carry.
pub const MAX_QTY: u32 = 100_000;

/// A quantity on a line: a whole number from 1 to [`MAX_QTY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Qty(u32);

impl Qty {
    pub fn new(n: u32) -> Result<Qty> {
        if n == 0 || n > MAX_QTY {
            return Err(Error::InvalidQuantity {
                input: n.to_string(),
            });
        }
        Ok(Qty(n))
    }

    pub fn parse(input: &str) -> Result<Qty> {
        let s = input.trim();
        let n: u32 = s
            .parse()
            .ok()
            .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| Error::InvalidQuantity {
                input: input.to_string(),
            })?;
        Qty::new(n).map_err(|_| Error::InvalidQuantity {
            input: input.to_string(),
        })
    }

    pub fn get(&self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Qty {
    type Error = Error;
    fn try_from(n: u32) -> Result<Qty> {
        Qty::new(n)
    }
}

impl From<Qty> for u32 {
    fn from(q: Qty) -> u32 {
        q.0
    }
}

/// Whether a product is for sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Active,
    Draft,
    Archived,
}

impl ProductStatus {
    /// Shopify's `Status` column; empty means active.
    pub fn parse(input: &str) -> Result<ProductStatus> {
        match input.trim().to_ascii_lowercase().as_str() {
            "" | "active" => Ok(ProductStatus::Active),
            "draft" => Ok(ProductStatus::Draft),
            "archived" => Ok(ProductStatus::Archived),
            _ => Err(invalid(
                "product status",
                input,
                "use active, draft or archived",
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ProductStatus::Active => "active",
            ProductStatus::Draft => "draft",
            ProductStatus::Archived => "archived",
        }
    }
}

/// A product: what the maker makes; it has one or more variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    pub handle: Handle,
    pub title: String,
    pub vendor: String,
    pub product_type: String,
    pub tags: Vec<String>,
    /// The description as the maker wrote it in the online store (HTML, kept verbatim).
    pub body_html: String,
    pub status: ProductStatus,
}

/// One option of a variant, e.g. `Size = 30x45`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OptionValue {
    pub name: String,
    pub value: String,
}

/// A sellable variant of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub id: VariantId,
    pub product_id: ProductId,
    /// Position within its product, from 1, as in the export.
    pub position: u32,
    pub sku: Option<Sku>,
    pub barcode: Option<Barcode>,
    pub options: Vec<OptionValue>,
    pub price: Money,
    pub tax_rate: TaxRate,
    pub track_inventory: bool,
    pub policy: Policy,
}

impl ProductId {
    /// The product's derived id (see the module docs).
    pub fn for_handle(handle: &Handle) -> ProductId {
        ProductId(uuid_v5(&format!("product:{}", handle.as_str())))
    }
}

impl VariantId {
    /// The variant's derived id from its product's handle and its option values.
    pub fn for_options<'a>(
        handle: &Handle,
        values: impl IntoIterator<Item = &'a str>,
    ) -> VariantId {
        let mut name = format!("variant:{}", handle.as_str());
        for v in values {
            name.push('\u{1f}');
            name.push_str(v.trim());
        }
        VariantId(uuid_v5(&name))
    }
}

impl Variant {
    /// The variant's own title: see [`options_title`].
    pub fn title(&self) -> String {
        options_title(&self.options)
    }
}

/// A variant's title from its options: the values joined by " / ", or "Default" without any
/// (Shopify's `Default Title` placeholder is not a value).
pub fn options_title(options: &[OptionValue]) -> String {
    let values: Vec<&str> = options
        .iter()
        .map(|o| o.value.as_str())
        .filter(|v| !v.is_empty() && *v != "Default Title")
        .collect();
    if values.is_empty() {
        "Default".to_string()
    } else {
        values.join(" / ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_and_barcodes() {
        assert_eq!(Sku::parse(" AB-1 ").unwrap().as_str(), "AB-1");
        assert!(Sku::parse("").is_err());
        assert!(Sku::parse("a\tb").is_err());
        assert!(Sku::parse(&"x".repeat(65)).is_err());
        assert_eq!(
            Barcode::parse("5012345678900").unwrap().as_str(),
            "5012345678900"
        );
        assert!(Barcode::parse("50 12").is_err());
        assert!(Handle::parse("old soul").is_err());
    }

    #[test]
    fn quantities() {
        assert_eq!(Qty::parse("3").unwrap().get(), 3);
        for bad in ["0", "-1", "1.5", "", "x", "+2", "100001"] {
            assert_eq!(
                Qty::parse(bad).unwrap_err().code(),
                "cart.invalid_quantity",
                "{bad}"
            );
        }
        assert!(serde_json::from_str::<Qty>("0").is_err());
    }

    #[test]
    fn policies_and_status() {
        assert_eq!(Policy::parse("DENY").unwrap(), Policy::Deny);
        assert!(Policy::parse("maybe").is_err());
        assert_eq!(ProductStatus::parse("").unwrap(), ProductStatus::Active);
    }

    #[test]
    fn ids_are_derived_and_stable() {
        let h = Handle::parse("old-soul-020").unwrap();
        assert_eq!(ProductId::for_handle(&h), ProductId::for_handle(&h));
        let a = VariantId::for_options(&h, ["30x45", "Canvas"]);
        let b = VariantId::for_options(&h, ["30x45", "Posters"]);
        assert_ne!(a, b);
        assert_eq!(a, VariantId::for_options(&h, [" 30x45", "Canvas "]));
    }
}
