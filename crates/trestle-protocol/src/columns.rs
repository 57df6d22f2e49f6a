//! The outbox entries of a `TSX2` exchange frame, column by column (docs/sync.md "The bulk
//! exchange"): each entry is taken as its JSON value, entries of the same structure (the same
//! keys, the same array lengths) share one column per leaf, and each column keeps what it saw
//! before — strings already sent are a back-reference, UUIDs are XORed with the column's previous
//! one (consecutive UUIDv7s share their time prefix), integers are sent as their difference from
//! the previous one where that is shorter. So the regularity of a day of sales (the same till,
//! currency, titles, rising times and receipt numbers) is next to one another for zstd to find.
//! The envelope's `event_id`, when it is the record's own id (every entry of a till since
//! decision 105), is not sent at all. Decoding rebuilds the same values and reads them as typed
//! entries, so what the hub gets is exactly the `OutboxEnvelope` the till stored.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use serde::Deserialize;
use serde_json::{Number, Value};
use trestle_core::ids::{EventId, TillId};
use trestle_core::ledger::{LedgerEvent, OutboxEnvelope};
use uuid::Uuid;

use crate::exchange::{FrameError, MAX_EXCHANGE_ENTRIES};

/// The deepest nesting of an entry's value (a sale is 4 deep).
const MAX_DEPTH: usize = 32;
/// The most nodes (objects, arrays, leaves) in one shape.
const MAX_SHAPE_NODES: usize = 100_000;
/// The most nodes of all the entries together (a one-line sale has ~80; so 20,000 sales of
/// several lines each fit), so a small frame cannot build an enormous value.
const MAX_TOTAL_NODES: usize = 16_000_000;
/// The most string bytes the entries may hold together (back-references copy strings).
const MAX_STRING_BYTES: usize = 64 * 1024 * 1024;

// The descriptor of a shape, in depth-first order.
const S_LEAF: u8 = 0;
const S_OBJECT: u8 = 1;
const S_ARRAY: u8 = 2;

// A leaf's tag (one a row, in the column's tag stream).
const T_NULL: u8 = 0;
const T_FALSE: u8 = 1;
const T_TRUE: u8 = 2;
const T_INT_SAME: u8 = 3;
const T_INT_DELTA: u8 = 4;
const T_INT: u8 = 5;
const T_U64: u8 = 6;
const T_F64: u8 = 7;
const T_STR: u8 = 8;
const T_STR_BACK: u8 = 9;
const T_UUID: u8 = 10;

/// A fast hash for the encoder's maps (the till's own entries: no untrusted keys; the decoder
/// uses no map).
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 =
                (self.0.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// Encodes `entries` (see the module's documentation); the caller compresses.
pub fn encode_entries(entries: &[OutboxEnvelope], out: &mut Vec<u8>) {
    let mut shapes: FastMap<Vec<u8>, usize> = FastMap::default();
    let mut shape_list: Vec<Vec<u8>> = Vec::new();
    let mut columns: Vec<Vec<Column>> = Vec::new();
    let mut rows = Vec::with_capacity(entries.len() * 2);
    let mut desc = Vec::new();
    for e in entries {
        // Serialising a typed entry cannot fail.
        let mut value = serde_json::to_value(e).unwrap_or(Value::Null);
        if e.event_id.0 == e.event.record_id() {
            // Sent as `null` (never a valid id otherwise): the decoder takes the record's id.
            value["event_id"] = Value::Null;
        }
        desc.clear();
        describe(&value, &mut desc);
        let idx = match shapes.get(&desc) {
            Some(&i) => i,
            None => {
                let i = shape_list.len();
                shapes.insert(desc.clone(), i);
                columns.push(
                    (0..count_leaves(&desc))
                        .map(|_| Column::default())
                        .collect(),
                );
                shape_list.push(desc.clone());
                i
            }
        };
        put_varint(&mut rows, idx as u64);
        let mut leaf = 0;
        write_leaves(&value, &mut columns[idx], &mut leaf);
    }
    put_varint(out, entries.len() as u64);
    put_varint(out, shape_list.len() as u64);
    for d in &shape_list {
        put_varint(out, d.len() as u64);
        out.extend_from_slice(d);
    }
    out.extend_from_slice(&rows);
    for col in columns.iter().flatten() {
        put_varint(out, col.tags.len() as u64);
        out.extend_from_slice(&col.tags);
        put_varint(out, col.data.len() as u64);
        out.extend_from_slice(&col.data);
    }
}

/// Decodes what [`encode_entries`] wrote, refusing anything else with a reason.
pub fn decode_entries(input: &[u8]) -> Result<Vec<OutboxEnvelope>, FrameError> {
    let mut r = Varints(input);
    let n = r.count(MAX_EXCHANGE_ENTRIES, "outbox entries")?;
    let shape_count = r.count(n.max(1), "shapes")?;
    let mut shapes = Vec::with_capacity(shape_count);
    for _ in 0..shape_count {
        let len = r.count(input.len(), "a shape's length")?;
        let desc = r.take(len)?;
        let mut p = Varints(desc);
        let (mut leaves, mut nodes) = (0, 0);
        let shape = parse_shape(&mut p, 0, &mut leaves, &mut nodes)?;
        if !p.0.is_empty() {
            return Err(bad("a shape has trailing bytes"));
        }
        shapes.push((shape, leaves, nodes));
    }
    let mut order = Vec::with_capacity(n);
    let mut total_nodes = 0usize;
    for _ in 0..n {
        let idx = r.count(shape_count.saturating_sub(1), "a shape index")?;
        total_nodes = total_nodes.saturating_add(shapes[idx].2);
        if total_nodes > MAX_TOTAL_NODES {
            return Err(bad("the entries are too large"));
        }
        order.push(idx);
    }
    let mut readers: Vec<Vec<ColumnReader<'_>>> = Vec::with_capacity(shape_count);
    let budget = std::cell::Cell::new(MAX_STRING_BYTES);
    for (_, leaves, _) in &shapes {
        let mut cols = Vec::with_capacity((*leaves).min(input.len()));
        for _ in 0..*leaves {
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
    let mut entries = Vec::with_capacity(n);
    let mut text = Vec::new();
    for idx in order {
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
    Ok(entries)
}

/// An envelope as the columns carry it: no `event_id` when it is the record's own id.
#[derive(Deserialize)]
struct WireEnvelope {
    v: u32,
    event_id: Option<EventId>,
    till_id: TillId,
    event: LedgerEvent,
}

fn describe(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            out.push(S_OBJECT);
            put_varint(out, m.len() as u64);
            for (k, child) in m {
                put_varint(out, k.len() as u64);
                out.extend_from_slice(k.as_bytes());
                describe(child, out);
            }
        }
        Value::Array(a) => {
            out.push(S_ARRAY);
            put_varint(out, a.len() as u64);
            for child in a {
                describe(child, out);
            }
        }
        _ => out.push(S_LEAF),
    }
}

/// The leaves of a descriptor this encoder wrote.
fn count_leaves(desc: &[u8]) -> usize {
    let mut p = Varints(desc);
    let mut leaves = 0;
    let _ = parse_shape(&mut p, 0, &mut leaves, &mut 0);
    leaves
}

enum Shape {
    Leaf,
    /// Each field's key as JSON (`"key":`), and its shape.
    Object(Vec<(Vec<u8>, Shape)>),
    Array(Vec<Shape>),
}

fn parse_shape(
    p: &mut Varints<'_>,
    depth: usize,
    leaves: &mut usize,
    nodes: &mut usize,
) -> Result<Shape, FrameError> {
    if depth > MAX_DEPTH {
        return Err(bad("a shape nests too deep"));
    }
    *nodes += 1;
    if *nodes > MAX_SHAPE_NODES {
        return Err(bad("a shape is too large"));
    }
    match p.take(1)?[0] {
        S_LEAF => {
            *leaves += 1;
            Ok(Shape::Leaf)
        }
        S_OBJECT => {
            let n = p.count(p.0.len(), "an object's keys")?;
            let mut fields = Vec::with_capacity(n);
            for _ in 0..n {
                let kl = p.count(p.0.len(), "a key's length")?;
                let key =
                    std::str::from_utf8(p.take(kl)?).map_err(|_| bad("a key is not UTF-8"))?;
                let mut frag = Vec::with_capacity(key.len() + 3);
                json_string(key, &mut frag);
                frag.push(b':');
                fields.push((frag, parse_shape(p, depth + 1, leaves, nodes)?));
            }
            Ok(Shape::Object(fields))
        }
        S_ARRAY => {
            let n = p.count(p.0.len(), "an array's length")?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(parse_shape(p, depth + 1, leaves, nodes)?);
            }
            Ok(Shape::Array(items))
        }
        _ => Err(bad("unknown shape node")),
    }
}

fn write_leaves(v: &Value, cols: &mut [Column], leaf: &mut usize) {
    match v {
        Value::Object(m) => m.values().for_each(|c| write_leaves(c, cols, leaf)),
        Value::Array(a) => a.iter().for_each(|c| write_leaves(c, cols, leaf)),
        scalar => {
            cols[*leaf].push(scalar);
            *leaf += 1;
        }
    }
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

/// `s` as a JSON string literal.
fn json_string(s: &str, out: &mut Vec<u8>) {
    // Writing a string into memory cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// One leaf's rows as written.
#[derive(Default)]
struct Column {
    tags: Vec<u8>,
    data: Vec<u8>,
    prev_int: i64,
    prev_uuid: u128,
    seen: FastMap<String, u64>,
    strings: u64,
}

impl Column {
    fn push(&mut self, v: &Value) {
        match v {
            Value::Null => self.tags.push(T_NULL),
            Value::Bool(false) => self.tags.push(T_FALSE),
            Value::Bool(true) => self.tags.push(T_TRUE),
            Value::Number(n) => self.number(n),
            Value::String(s) => self.string(s),
            // Only scalars reach a column.
            Value::Array(_) | Value::Object(_) => self.tags.push(T_NULL),
        }
    }

    fn number(&mut self, n: &Number) {
        if let Some(i) = n.as_i64() {
            let delta = i.wrapping_sub(self.prev_int);
            if delta == 0 {
                self.tags.push(T_INT_SAME);
            } else if varint_len(zigzag(delta)) < varint_len(zigzag(i)) {
                self.tags.push(T_INT_DELTA);
                put_varint(&mut self.data, zigzag(delta));
            } else {
                self.tags.push(T_INT);
                put_varint(&mut self.data, zigzag(i));
            }
            self.prev_int = i;
        } else if let Some(u) = n.as_u64() {
            self.tags.push(T_U64);
            put_varint(&mut self.data, u);
        } else {
            self.tags.push(T_F64);
            let f = n.as_f64().unwrap_or(0.0);
            self.data.extend_from_slice(&f.to_bits().to_le_bytes());
        }
    }

    fn string(&mut self, s: &str) {
        if let Some(at) = self.seen.get_mut(s) {
            self.tags.push(T_STR_BACK);
            put_varint(&mut self.data, self.strings - 1 - *at);
            // The most recent occurrence is the one referred to next time.
            *at = self.strings;
            self.strings += 1;
            return;
        }
        match canonical_uuid(s) {
            Some(u) => {
                self.tags.push(T_UUID);
                let x = u.as_u128() ^ self.prev_uuid;
                self.data.extend_from_slice(&x.to_be_bytes());
                self.prev_uuid = u.as_u128();
            }
            None => {
                self.tags.push(T_STR);
                put_varint(&mut self.data, s.len() as u64);
                self.data.extend_from_slice(s.as_bytes());
            }
        }
        self.seen.insert(s.to_string(), self.strings);
        self.strings += 1;
    }
}

/// The UUID of a string in the form `Uuid` displays (lowercase, hyphenated), else none.
fn canonical_uuid(s: &str) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    let u = Uuid::parse_str(s).ok()?;
    let mut buf = Uuid::encode_buffer();
    (u.hyphenated().encode_lower(&mut buf) == s).then_some(u)
}

struct ColumnReader<'a> {
    /// String bytes the decode may still produce (shared by every column).
    budget: &'a std::cell::Cell<usize>,
    tags: Varints<'a>,
    data: Varints<'a>,
    prev_int: i64,
    prev_uuid: u128,
    /// Every string row so far (shared, so a back-reference costs no copy).
    strings: Vec<std::rc::Rc<str>>,
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
            T_F64 => {
                let b = self.data.take(8)?;
                let f = f64::from_bits(u64::from_le_bytes(
                    b.try_into().map_err(|_| bad("a number is cut"))?,
                ));
                let n = Number::from_f64(f).ok_or_else(|| bad("a number is not finite"))?;
                let _ = serde_json::to_writer(&mut *out, &n);
            }
            T_STR => {
                let len = self.data.count(self.data.0.len(), "a string's length")?;
                let s = std::str::from_utf8(self.data.take(len)?)
                    .map_err(|_| bad("a string is not UTF-8"))?;
                json_string(s, out);
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
                json_string(&s, out);
                self.strings.push(s);
            }
            T_UUID => {
                let b = self.data.take(16)?;
                let x = u128::from_be_bytes(b.try_into().map_err(|_| bad("an id is cut"))?);
                let u = x ^ self.prev_uuid;
                self.prev_uuid = u;
                let mut buf = Uuid::encode_buffer();
                let s: &str = Uuid::from_u128(u).hyphenated().encode_lower(&mut buf);
                out.push(b'"');
                out.extend_from_slice(s.as_bytes());
                out.push(b'"');
                self.strings.push(s.into());
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

fn varint_len(n: u64) -> usize {
    (64 - n.leading_zeros() as usize).max(1).div_ceil(7)
}

fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}
