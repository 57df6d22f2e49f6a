//! The shop document's schema: the keys of the root map, the typed catalog fields, and the
//! small typed readers and copiers every other module uses to touch the document.
//!
//! ```text
//! ROOT
//!   schema_version  int
//!   epoch           { number: int, shop: str, creator: str, prev_heads: [hex], carried_through: [hex] }
//!   catalog         { <variant>: { title, sku, barcode, price_minor, tax_ppm, policy, track_inventory } }
//!   stock           { <variant>: { <holder>: { free: counter, held: counter } } }
//!   reservations    { <reservation>: { code, customer, event, holder, status, payment_state,
//!                                      lines: { <variant>: int }, collected: { <variant>: int } } }
//!   events          { <market event>: { name, place, starts, ends, tills: [holder] } }
//!   counts          { <count>: { holder, variant, delta, reason } }
//!   sheets          { <holder>:<id>: bytes }   a till's folded sales (see `sheets.rs`)
//! ```
//!
//! Catalog, reservation and event fields are plain scalars: the last writer wins per field.
//! Stock cells are Automerge counters and are created only by the document's creator (see
//! `docs/replica.md`, "why counters are created once"). A cell's `free` is its counter plus what
//! the sales sheets add to it.

use automerge::{
    hydrate, transaction::Transactable, AutoCommit, ChangeHash, ObjId as ExId, ObjType, ReadDoc,
    ScalarValue, Value,
};
use trestle_core::catalog::{Policy, Variant};

use crate::error::{Error, Result};

/// The schema this code writes and understands.
pub const SCHEMA_VERSION: i64 = 1;

pub(crate) const K_SCHEMA: &str = "schema_version";
pub(crate) const K_EPOCH: &str = "epoch";
pub(crate) const K_CATALOG: &str = "catalog";
pub(crate) const K_STOCK: &str = "stock";
pub(crate) const K_RESERVATIONS: &str = "reservations";
pub(crate) const K_EVENTS: &str = "events";
pub(crate) const K_COUNTS: &str = "counts";
pub(crate) const K_SHEETS: &str = "sheets";
pub(crate) const K_FREE: &str = "free";
pub(crate) const K_HELD: &str = "held";

/// A variant's catalog fields as the document holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantFields {
    pub title: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub price_minor: i64,
    pub tax_ppm: u32,
    pub policy: Policy,
    pub track_inventory: bool,
}

impl VariantFields {
    /// The fields of a catalog variant.
    pub fn from_variant(v: &Variant) -> VariantFields {
        VariantFields {
            title: v.title(),
            sku: v.sku.as_ref().map(|s| s.as_str().to_string()),
            barcode: v.barcode.as_ref().map(|b| b.as_str().to_string()),
            price_minor: v.price.minor(),
            tax_ppm: v.tax_rate.ppm(),
            policy: v.policy,
            track_inventory: v.track_inventory,
        }
    }

    pub(crate) fn write(&self, doc: &mut AutoCommit, obj: &ExId) -> Result<()> {
        doc.put(obj, "title", self.title.as_str())?;
        doc.put(obj, "sku", self.sku.clone().unwrap_or_default())?;
        doc.put(obj, "barcode", self.barcode.clone().unwrap_or_default())?;
        doc.put(obj, "price_minor", self.price_minor)?;
        doc.put(obj, "tax_ppm", i64::from(self.tax_ppm))?;
        doc.put(obj, "policy", self.policy.as_str())?;
        doc.put(obj, "track_inventory", self.track_inventory)?;
        Ok(())
    }

    pub(crate) fn read(doc: &AutoCommit, obj: &ExId) -> Result<VariantFields> {
        let text = |k: &str| read_str(doc, obj, k, None).map(|s| s.unwrap_or_default());
        let opt = |s: String| if s.is_empty() { None } else { Some(s) };
        Ok(VariantFields {
            title: text("title")?,
            sku: opt(text("sku")?),
            barcode: opt(text("barcode")?),
            price_minor: read_int(doc, obj, "price_minor", None)?.unwrap_or(0),
            tax_ppm: u32::try_from(read_int(doc, obj, "tax_ppm", None)?.unwrap_or(0)).map_err(
                |_| Error::Malformed {
                    path: "catalog tax_ppm".into(),
                    reason: "out of range",
                },
            )?,
            policy: read_policy(doc, obj)?,
            track_inventory: read_bool(doc, obj, "track_inventory", None)?.unwrap_or(true),
        })
    }
}

/// The stock rule of a variant: `None` when its inventory is not tracked.
pub(crate) fn read_policy(doc: &AutoCommit, obj: &ExId) -> Result<Policy> {
    match read_str(doc, obj, "policy", None)?.as_deref() {
        Some("continue") => Ok(Policy::Continue),
        // Unknown or missing policies are treated as the safe one.
        _ => Ok(Policy::Deny),
    }
}

fn scalar<'a>(
    doc: &'a AutoCommit,
    obj: &ExId,
    key: &str,
    at: Option<&[ChangeHash]>,
) -> Result<Option<Value<'a>>> {
    let got = match at {
        None => doc.get(obj, key)?,
        Some(h) => doc.get_at(obj, key, h)?,
    };
    Ok(got.map(|(v, _)| v))
}

/// An integer field (int, uint or counter); anything else is malformed.
pub(crate) fn read_int(
    doc: &AutoCommit,
    obj: &ExId,
    key: &str,
    at: Option<&[ChangeHash]>,
) -> Result<Option<i64>> {
    match scalar(doc, obj, key, at)? {
        None => Ok(None),
        Some(Value::Scalar(s)) => match s.as_ref() {
            ScalarValue::Int(n) => Ok(Some(*n)),
            ScalarValue::Uint(n) => i64::try_from(*n).map(Some).map_err(|_| malformed(key)),
            ScalarValue::Counter(c) => Ok(Some(i64::from(c))),
            _ => Err(malformed(key)),
        },
        Some(_) => Err(malformed(key)),
    }
}

pub(crate) fn read_str(
    doc: &AutoCommit,
    obj: &ExId,
    key: &str,
    at: Option<&[ChangeHash]>,
) -> Result<Option<String>> {
    match scalar(doc, obj, key, at)? {
        None => Ok(None),
        Some(Value::Scalar(s)) => match s.as_ref() {
            ScalarValue::Str(t) => Ok(Some(t.to_string())),
            _ => Err(malformed(key)),
        },
        Some(_) => Err(malformed(key)),
    }
}

pub(crate) fn read_bool(
    doc: &AutoCommit,
    obj: &ExId,
    key: &str,
    at: Option<&[ChangeHash]>,
) -> Result<Option<bool>> {
    match scalar(doc, obj, key, at)? {
        None => Ok(None),
        Some(Value::Scalar(s)) => match s.as_ref() {
            ScalarValue::Boolean(b) => Ok(Some(*b)),
            _ => Err(malformed(key)),
        },
        Some(_) => Err(malformed(key)),
    }
}

/// A nested map's id, if the key holds a map.
pub(crate) fn read_map(
    doc: &AutoCommit,
    obj: &ExId,
    key: &str,
    at: Option<&[ChangeHash]>,
) -> Result<Option<ExId>> {
    let got = match at {
        None => doc.get(obj, key)?,
        Some(h) => doc.get_at(obj, key, h)?,
    };
    match got {
        None => Ok(None),
        Some((Value::Object(ObjType::Map), id)) => Ok(Some(id)),
        Some(_) => Err(malformed(key)),
    }
}

/// The keys of a map, now or at some heads.
pub(crate) fn keys(doc: &AutoCommit, obj: &ExId, at: Option<&[ChangeHash]>) -> Vec<String> {
    match at {
        None => doc.keys(obj).collect(),
        Some(h) => doc.keys_at(obj, h).collect(),
    }
}

/// A list of change hashes stored as hex strings.
pub(crate) fn read_hashes(doc: &AutoCommit, obj: &ExId, key: &str) -> Result<Vec<ChangeHash>> {
    let list = match doc.get(obj, key)? {
        Some((Value::Object(ObjType::List), id)) => id,
        None => return Ok(Vec::new()),
        Some(_) => return Err(malformed(key)),
    };
    let mut out = Vec::new();
    for (v, _) in doc.values(&list) {
        let hex = match v {
            Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Str(t) => t.to_string(),
                _ => return Err(malformed(key)),
            },
            _ => return Err(malformed(key)),
        };
        out.push(hex.parse().map_err(|_| malformed(key))?);
    }
    Ok(out)
}

pub(crate) fn write_hashes(
    doc: &mut AutoCommit,
    obj: &ExId,
    key: &str,
    hashes: &[ChangeHash],
) -> Result<()> {
    let list = doc.put_object(obj, key, ObjType::List)?;
    for (i, h) in hashes.iter().enumerate() {
        doc.insert(&list, i, h.to_string())?;
    }
    Ok(())
}

pub(crate) fn malformed(key: &str) -> Error {
    Error::Malformed {
        path: key.to_string(),
        reason: "unexpected value",
    }
}

/// Copies the value at `src[key]` (as at `at`) into `dst[key]` of another document: scalars as
/// they are, counters with their current value as the new counter's initial value, maps and lists
/// recursively. Existing destination maps are reused, so copying an edited record over its older
/// copy updates it field by field.
pub(crate) fn copy_entry(
    src: &AutoCommit,
    src_obj: &ExId,
    key: &str,
    at: Option<&[ChangeHash]>,
    dst: &mut AutoCommit,
    dst_obj: &ExId,
) -> Result<()> {
    let got = match at {
        None => src.get(src_obj, key)?,
        Some(h) => src.get_at(src_obj, key, h)?,
    };
    match got {
        None => Ok(()),
        Some((Value::Scalar(s), _)) => {
            dst.put(dst_obj, key, fresh(s.as_ref()))?;
            Ok(())
        }
        Some((Value::Object(_), id)) => {
            let v = src.hydrate(&id, at)?;
            put_hydrated(dst, dst_obj, key, &v)
        }
    }
}

/// A scalar for a new document: a counter restarts from its current value.
fn fresh(s: &ScalarValue) -> ScalarValue {
    match s {
        ScalarValue::Counter(c) => ScalarValue::counter(i64::from(c)),
        other => other.clone(),
    }
}

fn put_hydrated(dst: &mut AutoCommit, obj: &ExId, key: &str, v: &hydrate::Value) -> Result<()> {
    match v {
        hydrate::Value::Scalar(s) => {
            dst.put(obj, key, fresh(s))?;
        }
        hydrate::Value::Map(m) => {
            let child = match read_map(dst, obj, key, None) {
                Ok(Some(id)) => id,
                _ => dst.put_object(obj, key, ObjType::Map)?,
            };
            for (k, inner) in m.iter() {
                put_hydrated(dst, &child, k, &inner.value)?;
            }
        }
        hydrate::Value::List(l) => {
            let child = dst.put_object(obj, key, ObjType::List)?;
            for (i, item) in l.iter().enumerate() {
                if let hydrate::Value::Scalar(s) = &item.value {
                    dst.insert(&child, i, fresh(s))?;
                }
            }
        }
        hydrate::Value::Text(t) => {
            dst.put(obj, key, t.to_string())?;
        }
    }
    Ok(())
}
