//! The outbox entries of a `TSX2` exchange frame, column by column (docs/sync.md "The bulk
//! exchange"): each entry is taken as its JSON text, entries of the same structure (the same
//! keys in the same order, the same array lengths) share one column per leaf, and each column
//! keeps what it saw before — a string already sent is a back-reference, a UUID is XORed with
//! the column's previous one (consecutive UUIDv7s share their time prefix), an integer is its
//! difference from the previous one where that is shorter. So the regularity of a day of sales
//! (the same till, currency, titles, rising times and receipt numbers) lies side by side for
//! zstd. The envelope's `event_id`, when it is the record's own id (decision 105), is sent as
//! `null`. Decoding writes each entry's JSON text back and reads it through the same serde
//! types, so the hub gets exactly the `OutboxEnvelope` the till stored.
//!
//! Layout (varints): entries · shapes · per shape its descriptor (length, bytes) · per entry its
//! shape's index · per column of each shape, in order: tags (length, one byte a row), data
//! (length, bytes). A descriptor, depth first: `0` leaf; `1` object, then per field `3` · key
//! length · key (as written in JSON, between the quotes), its value, and `4`; `2` array, its
//! items, `4`.

mod encode;

pub use encode::{encode_entries, encode_stored};

use serde::Deserialize;
use trestle_core::ids::{EventId, TillId};
use trestle_core::ledger::{LedgerEvent, OutboxEnvelope};
use uuid::Uuid;

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
/// while the rest decode); `sink` returning `false` stops the decode. The frame's structure is checked before the first entry is handed over, but a
/// damage found later (an entry that does not read, a column longer than its entries) is an
/// error after some chunks went: whoever took them must undo what it did with them.
pub fn decode_entries_chunked(
    input: &[u8],
    chunk: usize,
    mut sink: impl FnMut(Vec<OutboxEnvelope>) -> bool,
) -> Result<(), FrameError> {
    let chunk = chunk.max(1);
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
    let budget = std::cell::Cell::new(MAX_STRING_BYTES);
    let mut readers: Vec<Vec<ColumnReader<'_>>> = Vec::with_capacity(shape_count);
    for (_, counts) in &shapes {
        let mut cols = Vec::with_capacity(counts.leaves.min(input.len()));
        for _ in 0..counts.leaves {
            let tl = r.count(input.len(), "a column's length")?;
            let tags = r.take(tl)?;
            let dl = r.count(input.len(), "a column's length")?;
            let data = r.take(dl)?;
            cols.push(ColumnReader::new(tags, data, &budget));
        }
        readers.push(cols);
    }
    if !r.0.is_empty() {
        return Err(bad("trailing bytes after the columns"));
    }
    let mut entries = Vec::with_capacity(n.min(chunk));
    let mut text = Vec::new();
    for idx in order {
        if entries.len() == chunk {
            let full = std::mem::replace(&mut entries, Vec::with_capacity(n.min(chunk)));
            if !sink(full) {
                return Ok(());
            }
        }
        let mut leaf = 0;
        text.clear();
        write_json(&shapes[idx].0, &mut readers[idx], &mut leaf, &mut text)?;
        let wire: WireEnvelope = serde_json::from_slice(&text)
            .map_err(|e| bad(&format!("an outbox entry is unreadable: {e}")))?;
        entries.push(OutboxEnvelope {
            v: wire.v,
            event_id: wire
                .event_id
                .unwrap_or_else(|| EventId(wire.event.record_id())),
            till_id: wire.till_id,
            event: wire.event,
        });
    }
    if readers.iter().flatten().any(|c| !c.done()) {
        return Err(bad("a column holds more rows than its entries"));
    }
    if !entries.is_empty() {
        sink(entries);
    }
    Ok(())
}

/// An envelope as the columns carry it: no `event_id` when it is the record's own id.
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

enum Shape {
    Leaf,
    /// Each field's key as JSON (`"key":`), and its shape.
    Object(Vec<(Vec<u8>, Shape)>),
    Array(Vec<Shape>),
}

fn parse_shape(p: &mut Varints<'_>, depth: usize, c: &mut Counts) -> Result<Shape, FrameError> {
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
                        let mut frag = Vec::with_capacity(key.len() + 3);
                        frag.push(b'"');
                        frag.extend_from_slice(key);
                        frag.extend_from_slice(b"\":");
                        fields.push((frag, parse_shape(p, depth + 1, c)?));
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
fn json_text(s: &[u8]) -> Result<&[u8], FrameError> {
    std::str::from_utf8(s).map_err(|_| bad("a string is not UTF-8"))?;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' => return Err(bad("a string holds a bare quote")),
            b'\\' if i + 1 == s.len() => return Err(bad("a string ends in an escape")),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    Ok(s)
}

/// Writes one entry of `shape` as JSON text, taking the next row of each of its columns.
fn write_json(
    shape: &Shape,
    cols: &mut [ColumnReader<'_>],
    leaf: &mut usize,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    match shape {
        Shape::Leaf => {
            cols[*leaf].next(out)?;
            *leaf += 1;
        }
        Shape::Object(fields) => {
            out.push(b'{');
            for (i, (key, s)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(key);
                write_json(s, cols, leaf, out)?;
            }
            out.push(b'}');
        }
        Shape::Array(items) => {
            out.push(b'[');
            for (i, s) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(s, cols, leaf, out)?;
            }
            out.push(b']');
        }
    }
    Ok(())
}

/// One column as read: its tags and data, and what it saw before.
struct ColumnReader<'a> {
    /// String bytes back-references may still copy (shared by every column).
    budget: &'a std::cell::Cell<usize>,
    tags: Varints<'a>,
    data: Varints<'a>,
    prev_int: i64,
    prev_uuid: u128,
    /// Every string row so far, as written between quotes.
    strings: Vec<std::rc::Rc<[u8]>>,
}

impl<'a> ColumnReader<'a> {
    fn new(tags: &'a [u8], data: &'a [u8], budget: &'a std::cell::Cell<usize>) -> ColumnReader<'a> {
        ColumnReader {
            budget,
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

    /// Writes the column's next row as JSON.
    fn next(&mut self, out: &mut Vec<u8>) -> Result<(), FrameError> {
        use std::io::Write as _;
        let tag = self
            .tags
            .take(1)
            .map_err(|_| bad("a column holds fewer rows than its entries"))?[0];
        match tag {
            T_NULL => out.extend_from_slice(b"null"),
            T_FALSE => out.extend_from_slice(b"false"),
            T_TRUE => out.extend_from_slice(b"true"),
            T_INT_SAME | T_INT_DELTA | T_INT => {
                let i = match tag {
                    T_INT_SAME => self.prev_int,
                    T_INT_DELTA => self.prev_int.wrapping_add(unzigzag(self.data.varint()?)),
                    _ => unzigzag(self.data.varint()?),
                };
                self.prev_int = i;
                let _ = write!(out, "{i}");
            }
            T_U64 => {
                let u = self.data.varint()?;
                let _ = write!(out, "{u}");
            }
            T_NUMBER_TEXT => {
                let len = self.data.count(self.data.0.len(), "a number's length")?;
                let text = self.data.take(len)?;
                let number = |b: &u8| b.is_ascii_digit() || b"+-.eE".contains(b);
                if text.is_empty() || !text.iter().all(number) {
                    return Err(bad("a number is not a number"));
                }
                out.extend_from_slice(text);
            }
            T_STR => {
                let len = self.data.count(self.data.0.len(), "a string's length")?;
                let s = json_text(self.data.take(len)?)?;
                quoted(s, out);
                self.strings.push(s.into());
            }
            T_STR_BACK => {
                let back = self
                    .data
                    .count(self.strings.len().saturating_sub(1), "a reference")?;
                if self.strings.is_empty() {
                    return Err(bad("a reference to no string"));
                }
                let s = self.strings[self.strings.len() - 1 - back].clone();
                self.spend(s.len())?;
                quoted(&s, out);
                self.strings.push(s);
            }
            T_UUID => {
                let b = self.data.take(16)?;
                let x = u128::from_be_bytes(b.try_into().map_err(|_| bad("an id is cut"))?);
                let u = x ^ self.prev_uuid;
                self.prev_uuid = u;
                let mut buf = Uuid::encode_buffer();
                let s = Uuid::from_u128(u).hyphenated().encode_lower(&mut buf);
                quoted(s.as_bytes(), out);
                self.strings.push(s.as_bytes().into());
            }
            _ => return Err(bad("unknown column tag")),
        }
        Ok(())
    }

    fn spend(&self, n: usize) -> Result<(), FrameError> {
        let left = self
            .budget
            .get()
            .checked_sub(n)
            .ok_or_else(|| bad("the entries' strings are too large"))?;
        self.budget.set(left);
        Ok(())
    }
}

fn quoted(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend_from_slice(s);
    out.push(b'"');
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
