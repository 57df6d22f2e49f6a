//! The outbox entries of a `TSX2` exchange frame, column by column (docs/sync.md "The bulk
//! exchange"): each entry is taken as its JSON text, entries of the same structure (the same
//! keys in the same order, the same array lengths) share one column per leaf, and each column
//! keeps what it saw before — a string already sent is a back-reference, a UUID is XORed with
//! the column's previous one (consecutive UUIDv7s share their time prefix), an integer is its
//! difference from the previous one where that is shorter. So the regularity of a day of sales
//! (the same till, currency, titles, rising times and receipt numbers) lies side by side for
//! zstd. The envelope's `event_id`, when it is the record's own id (decision 105), is sent as
//! `null`. Decoding reads each entry from its columns through the same serde types as its JSON
//! text would be read (`de`, a `Deserializer` over the columns), so the hub gets exactly the
//! `OutboxEnvelope` the till stored.
//!
//! Layout (varints): entries · shapes · per shape its descriptor (length, bytes) · per entry its
//! shape's index · per column of each shape, in order: tags (length, one byte a row), data
//! (length, bytes). A descriptor, depth first: `0` leaf; `1` object, then per field `3` · key
//! length · key (as written in JSON, between the quotes), its value, and `4`; `2` array, its
//! items, `4`.

mod de;
mod encode;
#[cfg(test)]
mod tests;

pub use encode::{encode_entries, encode_stored};

use std::borrow::Cow;

use serde::Deserialize;
use trestle_core::ids::{EventId, TillId};
use trestle_core::ledger::{LedgerEvent, OutboxEnvelope};

use crate::exchange::{FrameError, MAX_EXCHANGE_ENTRIES};

/// The deepest nesting of an entry (a sale is 4 deep).
const MAX_DEPTH: usize = 32;
/// The most nodes (objects, arrays, leaves) in one shape.
const MAX_SHAPE_NODES: usize = 100_000;
/// The most nodes of all the entries together (a one-line sale has ~80, so 20,000 sales of
/// several lines each fit): a small frame cannot make the hub build an enormous text.
const MAX_TOTAL_NODES: usize = 16_000_000;
/// The most string bytes that back-references may copy, all entries together.
const MAX_STRING_BYTES: usize = 64 * 1024 * 1024;

const S_LEAF: u8 = 0;
const S_OBJECT: u8 = 1;
const S_ARRAY: u8 = 2;
const S_FIELD: u8 = 3;
const S_END: u8 = 4;

// A leaf's tag (one a row, in the column's tag stream).
const T_NULL: u8 = 0;
const T_FALSE: u8 = 1;
const T_TRUE: u8 = 2;
const T_INT_SAME: u8 = 3;
const T_INT_DELTA: u8 = 4;
const T_INT: u8 = 5;
const T_U64: u8 = 6;
const T_NUMBER_TEXT: u8 = 7;
const T_STR: u8 = 8;
const T_STR_BACK: u8 = 9;
const T_UUID: u8 = 10;

/// Decodes what [`encode_entries`] wrote, refusing anything else with a reason, handing the
/// entries to `sink` at most `chunk` at a time as they are decoded (so a receiver can store them
/// while the rest decode); `sink` returning `false` stops the decode. The frame's structure is
/// checked before the first entry is handed over, but a damage found later (an entry that does
/// not read, a column longer than its entries) is an error after some chunks went: whoever took
/// them must undo what it did with them.
pub fn decode_entries_chunked(
    input: &[u8],
    chunk: usize,
    mut sink: impl FnMut(Vec<OutboxEnvelope>) -> bool,
) -> Result<(), FrameError> {
    let chunk = chunk.max(1);
    let mut columns = Columns::open(input)?;
    let n = columns.order.len();
    let mut entries = Vec::with_capacity(n.min(chunk));
    for at in 0..n {
        if entries.len() == chunk {
            let full = std::mem::replace(&mut entries, Vec::with_capacity(n.min(chunk)));
            if !sink(full) {
                return Ok(());
            }
        }
        let wire: WireEnvelope = columns.read(at, |shape, cur| {
            WireEnvelope::deserialize(de::De { cur, shape }).map_err(de::DeError::into_frame)
        })?;
        entries.push(OutboxEnvelope {
            v: wire.v,
            event_id: wire
                .event_id
                .unwrap_or_else(|| EventId(wire.event.record_id())),
            till_id: wire.till_id,
            event: wire.event,
        });
    }
    columns.finish()?;
    if !entries.is_empty() {
        sink(entries);
    }
    Ok(())
}

/// A frame's entries with their structure checked: shapes, each entry's shape, the columns.
struct Columns<'a> {
    shapes: Vec<(Shape<'a>, Counts)>,
    /// Each entry's shape.
    order: Vec<usize>,
    /// Each shape's columns.
    readers: Vec<Vec<ColumnReader<'a>>>,
    /// String bytes back-references may still copy, all columns together.
    budget: std::cell::Cell<usize>,
}

impl<'a> Columns<'a> {
    fn open(input: &'a [u8]) -> Result<Columns<'a>, FrameError> {
        let mut r = Varints(input);
        let n = r.count(MAX_EXCHANGE_ENTRIES, "outbox entries")?;
        let shape_count = r.count(n.max(1), "shapes")?;
        let mut shapes = Vec::with_capacity(shape_count);
        for _ in 0..shape_count {
            let len = r.count(input.len(), "a shape's length")?;
            let mut p = Varints(r.take(len)?);
            let mut counts = Counts::default();
            let shape = parse_shape(&mut p, 0, &mut counts)?;
            if !p.0.is_empty() {
                return Err(bad("a shape has trailing bytes"));
            }
            shapes.push((shape, counts));
        }
        let mut order = Vec::with_capacity(n);
        let mut total_nodes = 0usize;
        for _ in 0..n {
            let idx = r.count(shape_count.saturating_sub(1), "a shape index")?;
            let Some((_, counts)) = shapes.get(idx) else {
                return Err(bad("a shape index names no shape"));
            };
            total_nodes = total_nodes.saturating_add(counts.nodes);
            if total_nodes > MAX_TOTAL_NODES {
                return Err(bad("the entries are too large"));
            }
            order.push(idx);
        }
        let mut readers = Vec::with_capacity(shape_count);
        for (_, counts) in &shapes {
            let mut cols = Vec::with_capacity(counts.leaves.min(input.len()));
            for _ in 0..counts.leaves {
                let tl = r.count(input.len(), "a column's length")?;
                let tags = r.take(tl)?;
                let dl = r.count(input.len(), "a column's length")?;
                let data = r.take(dl)?;
                cols.push(ColumnReader::new(tags, data));
            }
            readers.push(cols);
        }
        if !r.0.is_empty() {
            return Err(bad("trailing bytes after the columns"));
        }
        Ok(Columns {
            shapes,
            order,
            readers,
            budget: std::cell::Cell::new(MAX_STRING_BYTES),
        })
    }

    /// Reads entry `at` (entries are read in order) with `read`, which must take every leaf of
    /// the entry's shape from the cursor.
    fn read<T>(
        &mut self,
        at: usize,
        read: impl FnOnce(&Shape<'a>, &mut de::Cursor<'_, 'a>) -> Result<T, FrameError>,
    ) -> Result<T, FrameError> {
        let idx = self.order[at];
        let (shape, counts) = &self.shapes[idx];
        let mut cur = de::Cursor {
            cols: &mut self.readers[idx],
            leaf: 0,
            budget: &self.budget,
        };
        let value = read(shape, &mut cur)?;
        if cur.leaf != counts.leaves {
            return Err(bad("an outbox entry was not read whole"));
        }
        Ok(value)
    }

    /// Checks that no column holds rows past the last entry.
    fn finish(&self) -> Result<(), FrameError> {
        if self.readers.iter().flatten().any(|c| !c.done()) {
            return Err(bad("a column holds more rows than its entries"));
        }
        Ok(())
    }
}

/// An envelope as the columns carry it: no `event_id` when it is the record's own id.
#[cfg_attr(test, derive(Debug, PartialEq))]
#[derive(Deserialize)]
struct WireEnvelope {
    v: u32,
    event_id: Option<EventId>,
    till_id: TillId,
    event: LedgerEvent,
}

#[derive(Default)]
struct Counts {
    leaves: usize,
    nodes: usize,
}

enum Shape<'a> {
    Leaf,
    /// Each field's key (unescaped) and its shape.
    Object(Vec<(Cow<'a, str>, Shape<'a>)>),
    Array(Vec<Shape<'a>>),
}

fn parse_shape<'a>(
    p: &mut Varints<'a>,
    depth: usize,
    c: &mut Counts,
) -> Result<Shape<'a>, FrameError> {
    if depth > MAX_DEPTH {
        return Err(bad("a shape nests too deep"));
    }
    c.nodes += 1;
    if c.nodes > MAX_SHAPE_NODES {
        return Err(bad("a shape is too large"));
    }
    match p.take(1)?[0] {
        S_LEAF => {
            c.leaves += 1;
            Ok(Shape::Leaf)
        }
        S_OBJECT => {
            let mut fields = Vec::new();
            loop {
                match p.take(1)?[0] {
                    S_END => return Ok(Shape::Object(fields)),
                    S_FIELD => {
                        let kl = p.count(p.0.len(), "a key's length")?;
                        let key = json_text(p.take(kl)?)?;
                        let key = if de::plain(key) {
                            Cow::Borrowed(key)
                        } else {
                            Cow::Owned(
                                de::unescape(key).map_err(|_| bad("a key is not a JSON string"))?,
                            )
                        };
                        fields.push((key, parse_shape(p, depth + 1, c)?));
                    }
                    _ => return Err(bad("unknown shape node")),
                }
            }
        }
        S_ARRAY => {
            let mut items = Vec::new();
            loop {
                if p.0.first() == Some(&S_END) {
                    p.take(1)?;
                    return Ok(Shape::Array(items));
                }
                items.push(parse_shape(p, depth + 1, c)?);
            }
        }
        _ => Err(bad("unknown shape node")),
    }
}

/// Checks that `s` can stand between the quotes of a JSON string as it is: UTF-8, no quote
/// that is not escaped, no escape cut off at the end (serde_json checks the rest).
fn json_text(s: &[u8]) -> Result<&str, FrameError> {
    let text = std::str::from_utf8(s).map_err(|_| bad("a string is not UTF-8"))?;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' => return Err(bad("a string holds a bare quote")),
            b'\\' if i + 1 == s.len() => return Err(bad("a string ends in an escape")),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    Ok(text)
}

/// One row of a column, as read.
#[derive(Clone, Copy)]
enum Row<'a> {
    Null,
    Bool(bool),
    Int(i64),
    U64(u64),
    /// A number's text as written (checked by serde_json when it is read).
    Number(&'a [u8]),
    Text(Text<'a>),
}

/// A string row: its text between the quotes as the frame holds it, or an id (written as
/// `Uuid` displays it, lowercase and hyphenated).
#[derive(Clone, Copy)]
enum Text<'a> {
    Frame(&'a str),
    Uuid(u128),
}

impl Text<'_> {
    fn len(&self) -> usize {
        match self {
            Text::Frame(s) => s.len(),
            Text::Uuid(_) => 36,
        }
    }
}

/// One column as read: its tags and data, and what it saw before.
struct ColumnReader<'a> {
    tags: Varints<'a>,
    data: Varints<'a>,
    prev_int: i64,
    prev_uuid: u128,
    /// Every string row so far.
    strings: Vec<Text<'a>>,
}

impl<'a> ColumnReader<'a> {
    fn new(tags: &'a [u8], data: &'a [u8]) -> ColumnReader<'a> {
        ColumnReader {
            tags: Varints(tags),
            data: Varints(data),
            prev_int: 0,
            prev_uuid: 0,
            strings: Vec::new(),
        }
    }

    fn done(&self) -> bool {
        self.tags.0.is_empty() && self.data.0.is_empty()
    }

    fn next_is_null(&self) -> bool {
        self.tags.0.first() == Some(&T_NULL)
    }

    /// The column's next row; a back-reference spends its length from `budget`.
    fn row(&mut self, budget: &std::cell::Cell<usize>) -> Result<Row<'a>, FrameError> {
        let tag = self
            .tags
            .take(1)
            .map_err(|_| bad("a column holds fewer rows than its entries"))?[0];
        Ok(match tag {
            T_NULL => Row::Null,
            T_FALSE => Row::Bool(false),
            T_TRUE => Row::Bool(true),
            T_INT_SAME | T_INT_DELTA | T_INT => {
                let i = match tag {
                    T_INT_SAME => self.prev_int,
                    T_INT_DELTA => self.prev_int.wrapping_add(unzigzag(self.data.varint()?)),
                    _ => unzigzag(self.data.varint()?),
                };
                self.prev_int = i;
                Row::Int(i)
            }
            T_U64 => Row::U64(self.data.varint()?),
            T_NUMBER_TEXT => {
                let len = self.data.count(self.data.0.len(), "a number's length")?;
                let text = self.data.take(len)?;
                if text.is_empty() || !text.iter().copied().all(is_number_byte) {
                    return Err(bad("a number is not a number"));
                }
                Row::Number(text)
            }
            T_STR => {
                let len = self.data.count(self.data.0.len(), "a string's length")?;
                let s = Text::Frame(json_text(self.data.take(len)?)?);
                self.strings.push(s);
                Row::Text(s)
            }
            T_STR_BACK => {
                let back = self
                    .data
                    .count(self.strings.len().saturating_sub(1), "a reference")?;
                if self.strings.is_empty() {
                    return Err(bad("a reference to no string"));
                }
                let s = self.strings[self.strings.len() - 1 - back];
                let left = budget
                    .get()
                    .checked_sub(s.len())
                    .ok_or_else(|| bad("the entries' strings are too large"))?;
                budget.set(left);
                self.strings.push(s);
                Row::Text(s)
            }
            T_UUID => {
                let b = self.data.take(16)?;
                let x = u128::from_be_bytes(b.try_into().map_err(|_| bad("an id is cut"))?);
                let u = x ^ self.prev_uuid;
                self.prev_uuid = u;
                self.strings.push(Text::Uuid(u));
                Row::Text(Text::Uuid(u))
            }
            _ => return Err(bad("unknown column tag")),
        })
    }
}

fn is_number_byte(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
}

pub(crate) struct Varints<'a>(pub(crate) &'a [u8]);

impl<'a> Varints<'a> {
    pub(crate) fn next(&mut self) -> Result<u64, FrameError> {
        self.varint()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.0.len() < n {
            return Err(bad("a length runs past the end"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }

    fn varint(&mut self) -> Result<u64, FrameError> {
        let mut n: u64 = 0;
        for i in 0..10 {
            let b = self.take(1)?[0];
            n |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(bad("a number is too long"))
    }

    /// A varint that must be at most `max` (a count or an index).
    fn count(&mut self, max: usize, what: &str) -> Result<usize, FrameError> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= max)
            .ok_or_else(|| bad(&format!("{what}: {n} is out of range")))
    }
}

fn bad(why: &str) -> FrameError {
    FrameError::Malformed(why.to_string())
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}
