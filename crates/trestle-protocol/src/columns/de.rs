//! Reads one outbox entry straight from its shape and columns into serde's types: a
//! `Deserializer` over the columns, so the hub no longer writes each entry's JSON text only to
//! parse it again (decision 197). The same types validate what they read, and a leaf reads as
//! serde_json reads the same JSON (a non-negative integer as `u64`, a string with escapes
//! unescaped by serde_json itself).

use std::borrow::Cow;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};
use uuid::Uuid;

use super::{bad, ColumnReader, FrameError, Row, Shape, Text};

/// Why an entry did not read: the frame's damage, or what its types refused.
#[derive(Debug)]
pub(super) enum DeError {
    Frame(FrameError),
    Refused(String),
}

impl DeError {
    pub(super) fn into_frame(self) -> FrameError {
        match self {
            DeError::Frame(e) => e,
            DeError::Refused(why) => bad(&format!("an outbox entry is unreadable: {why}")),
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeError::Frame(FrameError::Malformed(why)) | DeError::Refused(why) => f.write_str(why),
            DeError::Frame(FrameError::TooLarge) => f.write_str("the exchange is too large"),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::Refused(msg.to_string())
    }
}

impl From<FrameError> for DeError {
    fn from(e: FrameError) -> Self {
        DeError::Frame(e)
    }
}

/// One shape's columns and the next of its leaves to read.
pub(super) struct Cursor<'r, 'de> {
    pub(super) cols: &'r mut [ColumnReader<'de>],
    pub(super) leaf: usize,
    /// String bytes back-references may still copy, all columns together.
    pub(super) budget: &'r std::cell::Cell<usize>,
}

impl<'de> Cursor<'_, 'de> {
    pub(super) fn row(&mut self) -> Result<Row<'de>, DeError> {
        let col = self
            .cols
            .get_mut(self.leaf)
            .ok_or_else(|| bad("an entry reads more leaves than its shape has"))?;
        self.leaf += 1;
        Ok(col.row(self.budget)?)
    }

    fn next_is_null(&self) -> bool {
        self.cols
            .get(self.leaf)
            .is_some_and(ColumnReader::next_is_null)
    }
}

/// A value of `shape`, read from the cursor's columns.
pub(super) struct De<'c, 'r, 's, 'de> {
    pub(super) cur: &'c mut Cursor<'r, 'de>,
    pub(super) shape: &'s Shape<'de>,
}

/// A string as serde_json would hand it over: borrowed when it holds no escape.
fn text<'de, V: Visitor<'de>>(t: Text<'de>, visitor: V) -> Result<V::Value, DeError> {
    match t {
        Text::Frame(s) if plain(s) => visitor.visit_borrowed_str(s),
        Text::Frame(s) => visitor.visit_string(unescape(s)?),
        Text::Uuid(u) => {
            let mut buf = Uuid::encode_buffer();
            visitor.visit_str(Uuid::from_u128(u).hyphenated().encode_lower(&mut buf))
        }
    }
}

/// Whether the text between a string's quotes means itself (no escape, no control character,
/// which serde_json refuses).
pub(super) fn plain(s: &str) -> bool {
    !s.bytes().any(|b| b == b'\\' || b < 0x20)
}

/// The text between a string's quotes unescaped, as serde_json reads it (refusing what it refuses).
pub(super) fn unescape(s: &str) -> Result<String, DeError> {
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('"');
    quoted.push_str(s);
    quoted.push('"');
    serde_json::from_str(&quoted).map_err(|e| DeError::Refused(e.to_string()))
}

fn unexpected<'x>(row: &'x Row<'_>) -> Unexpected<'x> {
    match row {
        Row::Null => Unexpected::Unit,
        Row::Bool(b) => Unexpected::Bool(*b),
        Row::Int(i) => Unexpected::Signed(*i),
        Row::U64(u) => Unexpected::Unsigned(*u),
        Row::Number(_) => Unexpected::Other("number"),
        Row::Text(_) => Unexpected::Other("string"),
    }
}

impl<'de> de::Deserializer<'de> for De<'_, '_, '_, 'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.shape {
            Shape::Leaf => match self.cur.row()? {
                Row::Null => visitor.visit_unit(),
                Row::Bool(b) => visitor.visit_bool(b),
                Row::Int(i) => match u64::try_from(i) {
                    Ok(u) => visitor.visit_u64(u),
                    Err(_) => visitor.visit_i64(i),
                },
                Row::U64(u) => visitor.visit_u64(u),
                Row::Number(t) => {
                    let n: serde_json::Number =
                        serde_json::from_slice(t).map_err(|e| DeError::Refused(e.to_string()))?;
                    if let Some(u) = n.as_u64() {
                        visitor.visit_u64(u)
                    } else if let Some(i) = n.as_i64() {
                        visitor.visit_i64(i)
                    } else {
                        visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                    }
                }
                Row::Text(t) => text(t, visitor),
            },
            // A visitor that stops before the end leaves leaves unread, which the entry's
            // reader refuses (`Columns::read`).
            Shape::Object(fields) => visitor.visit_map(Fields {
                cur: self.cur,
                fields: fields.iter(),
                value: None,
            }),
            Shape::Array(items) => visitor.visit_seq(Items {
                cur: self.cur,
                items: items.iter(),
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if matches!(self.shape, Shape::Leaf) && self.cur.next_is_null() {
            self.cur.row()?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.shape {
            Shape::Leaf => match self.cur.row()? {
                Row::Text(Text::Frame(s)) if plain(s) => {
                    visitor.visit_enum(IntoDeserializer::<DeError>::into_deserializer(s))
                }
                Row::Text(Text::Frame(s)) => visitor.visit_enum(unescape(s)?.into_deserializer()),
                Row::Text(Text::Uuid(u)) => {
                    visitor.visit_enum(Uuid::from_u128(u).to_string().into_deserializer())
                }
                row => Err(de::Error::invalid_type(unexpected(&row), &visitor)),
            },
            Shape::Object(fields) if fields.len() == 1 => visitor.visit_enum(Variant {
                cur: self.cur,
                key: &fields[0].0,
                shape: &fields[0].1,
            }),
            Shape::Object(_) => Err(de::Error::invalid_type(Unexpected::Map, &visitor)),
            Shape::Array(_) => Err(de::Error::invalid_type(Unexpected::Seq, &visitor)),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// An object's fields, each key then its value.
struct Fields<'c, 'r, 's, 'de> {
    cur: &'c mut Cursor<'r, 'de>,
    fields: std::slice::Iter<'s, (Cow<'de, str>, Shape<'de>)>,
    /// The shape of the value whose key was read last.
    value: Option<&'s Shape<'de>>,
}

impl<'de> de::MapAccess<'de> for Fields<'_, '_, '_, 'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        if self.value.is_some() {
            return Err(DeError::Refused("a key was read without its value".into()));
        }
        let Some((name, shape)) = self.fields.next() else {
            return Ok(None);
        };
        self.value = Some(shape);
        key(seed, name).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let shape = self
            .value
            .take()
            .ok_or_else(|| DeError::Refused("a value was read without its key".into()))?;
        seed.deserialize(De {
            cur: &mut *self.cur,
            shape,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len())
    }
}

/// An array's items in order.
struct Items<'c, 'r, 's, 'de> {
    cur: &'c mut Cursor<'r, 'de>,
    items: std::slice::Iter<'s, Shape<'de>>,
}

impl<'de> de::SeqAccess<'de> for Items<'_, '_, '_, 'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(shape) = self.items.next() else {
            return Ok(None);
        };
        seed.deserialize(De {
            cur: &mut *self.cur,
            shape,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// An object's key (unescaped when the shape was read) handed to `seed`: borrowed from the
/// frame when it holds no escape.
fn key<'de, K: DeserializeSeed<'de>>(seed: K, key: &Cow<'de, str>) -> Result<K::Value, DeError> {
    match key {
        Cow::Borrowed(s) => seed.deserialize(BorrowedStrDeserializer::new(s)),
        Cow::Owned(s) => seed.deserialize(s.as_str().into_deserializer()),
    }
}

/// An externally tagged enum's one-field object: the variant's name, then its content.
struct Variant<'c, 'r, 's, 'de> {
    cur: &'c mut Cursor<'r, 'de>,
    key: &'s Cow<'de, str>,
    shape: &'s Shape<'de>,
}

impl<'c, 'r, 's, 'de> de::EnumAccess<'de> for Variant<'c, 'r, 's, 'de> {
    type Error = DeError;
    type Variant = De<'c, 'r, 's, 'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let name = key(seed, self.key)?;
        Ok((
            name,
            De {
                cur: self.cur,
                shape: self.shape,
            },
        ))
    }
}

impl<'de> de::VariantAccess<'de> for De<'_, '_, '_, 'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}
