//! Writing the columns of a `TSX2` frame: each entry serialised once as compact JSON, then
//! walked token by token — its structure into the shape's descriptor, each leaf into its column.
//! Strings stay in their JSON form (escapes and all), so nothing is unescaped here or escaped
//! again when the hub rebuilds the text; nothing is allocated per leaf.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use serde::Serialize;
use trestle_core::ids::{EventId, TillId};
use trestle_core::ledger::{LedgerEvent, OutboxEnvelope};
use uuid::Uuid;

use super::*;

/// A fast hash for the encoder's maps (the till's own entries, no untrusted keys; the decoder
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

/// The envelope as the columns carry it: `event_id` null when it is the record's own id.
#[derive(Serialize)]
struct WireOut<'a> {
    v: u32,
    event_id: Option<EventId>,
    till_id: TillId,
    event: &'a LedgerEvent,
}

/// Encodes `entries`; `false` (and nothing written) if an entry's JSON could not be walked,
/// which serde_json's own output never causes.
pub fn encode_entries(entries: &[OutboxEnvelope], out: &mut Vec<u8>) -> bool {
    let mut text = Vec::with_capacity(entries.len() * 1100);
    let mut spans = Vec::with_capacity(entries.len());
    for e in entries {
        let start = text.len();
        let own = e.event_id.0 == e.event.record_id();
        let wire = WireOut {
            v: e.v,
            event_id: (!own).then_some(e.event_id),
            till_id: e.till_id,
            event: &e.event,
        };
        // Serialising a typed entry into memory cannot fail.
        let _ = serde_json::to_writer(&mut text, &wire);
        spans.push((start, text.len()));
    }
    encode_texts(&text, &spans, out)
}

/// An outbox entry as a till stores it (an `OutboxEnvelope`'s JSON), its record left as text.
#[derive(serde::Deserialize)]
struct Stored<'a> {
    v: u32,
    event_id: EventId,
    till_id: TillId,
    #[serde(borrow)]
    event: &'a serde_json::value::RawValue,
}

/// The only part of a stored record the columns need: its own id (`{"kind":…,"record":{"id"…}}`).
#[derive(serde::Deserialize)]
struct RecordHead {
    record: IdOnly,
}

#[derive(serde::Deserialize)]
struct IdOnly {
    id: Uuid,
}

/// [`WireOut`] with the record as the till stored it.
#[derive(Serialize)]
struct WireStored<'a> {
    v: u32,
    event_id: Option<EventId>,
    till_id: TillId,
    event: &'a serde_json::value::RawValue,
}

/// [`encode_entries`] of entries given as the JSON the till stored them as
/// (`serde_json::to_string(&OutboxEnvelope)`): each is put in the columns' envelope form without
/// parsing its record into types, and the frame is byte for byte the one `encode_entries` makes
/// of the same entries. `false` (and nothing written) if a text is not such an envelope.
pub fn encode_stored(entries: &[&str], out: &mut Vec<u8>) -> bool {
    let mut text = Vec::with_capacity(entries.iter().map(|e| e.len()).sum());
    let mut spans = Vec::with_capacity(entries.len());
    for e in entries {
        let start = text.len();
        if wire_of_laid_out(e, &mut text).is_some() {
            spans.push((start, text.len()));
            continue;
        }
        text.truncate(start);
        let Ok(stored) = serde_json::from_str::<Stored<'_>>(e) else {
            return false;
        };
        let Ok(head) = serde_json::from_str::<RecordHead>(stored.event.get()) else {
            return false;
        };
        let wire = WireStored {
            v: stored.v,
            event_id: (stored.event_id.0 != head.record.id).then_some(stored.event_id),
            till_id: stored.till_id,
            event: stored.event,
        };
        if serde_json::to_writer(&mut text, &wire).is_err() {
            return false;
        }
        spans.push((start, text.len()));
    }
    encode_texts(&text, &spans, out)
}

/// The wire text of a stored envelope laid out as serde_json writes an [`OutboxEnvelope`]
/// (`{"v":1,"event_id":"…","till_id":"…","event":{"kind":"…","record":{"id":"…",…}}}`),
/// appended to `text` without parsing the record: the same bytes as [`WireStored`] serialised
/// (`event_id` null when it is the record's id; the ids written as serde writes them). `None`
/// for any other layout (the caller parses the text instead; `text` may then hold a part). The
/// record is not checked here: the walk that follows refuses what is not JSON, and the hub
/// checks every entry it decodes.
fn wire_of_laid_out(e: &str, text: &mut Vec<u8>) -> Option<()> {
    let rest = e.strip_prefix("{\"v\":")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let v: u32 = rest.get(..digits)?.parse().ok()?;
    let rest = rest.get(digits..)?.strip_prefix(",\"event_id\":\"")?;
    let event_id = uuid_at(rest)?;
    let rest = rest.get(36..)?.strip_prefix("\",\"till_id\":\"")?;
    let till_id = uuid_at(rest)?;
    let event = rest
        .get(36..)?
        .strip_prefix("\",\"event\":")?
        .strip_suffix('}')?;
    let kind = event.strip_prefix("{\"kind\":\"")?;
    let record = kind
        .get(kind.find('"')?..)?
        .strip_prefix("\",\"record\":{\"id\":\"")?;
    let own = uuid_at(record)? == event_id;
    let mut ids = Uuid::encode_buffer();
    text.extend_from_slice(b"{\"v\":");
    text.extend_from_slice(v.to_string().as_bytes());
    text.extend_from_slice(b",\"event_id\":");
    if own {
        text.extend_from_slice(b"null");
    } else {
        text.push(b'"');
        text.extend_from_slice(event_id.hyphenated().encode_lower(&mut ids).as_bytes());
        text.push(b'"');
    }
    text.extend_from_slice(b",\"till_id\":\"");
    text.extend_from_slice(till_id.hyphenated().encode_lower(&mut ids).as_bytes());
    text.extend_from_slice(b"\",\"event\":");
    text.extend_from_slice(event.as_bytes());
    text.push(b'}');
    Some(())
}

/// The hyphenated UUID at the start of `s` (36 characters).
fn uuid_at(s: &str) -> Option<Uuid> {
    Uuid::try_parse(s.get(..36)?).ok()
}

/// The columns of the entries written in `text` at `spans` (compact JSON of the wire envelope).
pub(super) fn encode_texts(text: &[u8], spans: &[(usize, usize)], out: &mut Vec<u8>) -> bool {
    let mut shapes: FastMap<Vec<u8>, usize> = FastMap::default();
    let mut shape_list: Vec<Vec<u8>> = Vec::new();
    let mut columns: Vec<Vec<Column<'_>>> = Vec::new();
    let mut rows = Vec::with_capacity(spans.len() * 2);
    let mut desc = Vec::new();
    let mut leaves: Vec<Leaf<'_>> = Vec::new();
    for &(start, end) in spans {
        desc.clear();
        leaves.clear();
        let mut walk = Walk {
            s: &text[start..end],
            i: 0,
        };
        if walk.value(&mut desc, &mut leaves, 0).is_none() || walk.i != walk.s.len() {
            return false;
        }
        let idx = match shapes.get(&desc) {
            Some(&i) => i,
            None => {
                let i = shape_list.len();
                shapes.insert(desc.clone(), i);
                columns.push((0..leaves.len()).map(|_| Column::default()).collect());
                shape_list.push(desc.clone());
                i
            }
        };
        put_varint(&mut rows, idx as u64);
        for (col, leaf) in columns[idx].iter_mut().zip(&leaves) {
            col.push(*leaf);
        }
    }
    put_varint(out, spans.len() as u64);
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
    true
}

/// A scalar of the JSON text: strings and numbers as they are written there.
#[derive(Clone, Copy)]
enum Leaf<'a> {
    Null,
    False,
    True,
    Number(&'a [u8]),
    /// Between the quotes, escapes as written.
    Str(&'a [u8]),
}

/// A walk over compact JSON text (serde_json's output).
struct Walk<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Walk<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn value(
        &mut self,
        desc: &mut Vec<u8>,
        leaves: &mut Vec<Leaf<'a>>,
        depth: usize,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => {
                self.i += 1;
                desc.push(S_OBJECT);
                if self.peek()? == b'}' {
                    self.i += 1;
                    desc.push(S_END);
                    return Some(());
                }
                loop {
                    if self.peek()? != b'"' {
                        return None;
                    }
                    let key = self.string()?;
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    desc.push(S_FIELD);
                    put_varint(desc, key.len() as u64);
                    desc.extend_from_slice(key);
                    self.value(desc, leaves, depth + 1)?;
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            desc.push(S_END);
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                desc.push(S_ARRAY);
                if self.peek()? == b']' {
                    self.i += 1;
                    desc.push(S_END);
                    return Some(());
                }
                loop {
                    self.value(desc, leaves, depth + 1)?;
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            desc.push(S_END);
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => {
                let s = self.string()?;
                desc.push(S_LEAF);
                leaves.push(Leaf::Str(s));
                Some(())
            }
            b'n' => self.literal(b"null", Leaf::Null, desc, leaves),
            b't' => self.literal(b"true", Leaf::True, desc, leaves),
            b'f' => self.literal(b"false", Leaf::False, desc, leaves),
            _ => {
                let start = self.i;
                while self.peek().is_some_and(is_number_byte) {
                    self.i += 1;
                }
                if self.i == start {
                    return None;
                }
                desc.push(S_LEAF);
                leaves.push(Leaf::Number(&self.s[start..self.i]));
                Some(())
            }
        }
    }

    fn literal(
        &mut self,
        word: &[u8],
        leaf: Leaf<'a>,
        desc: &mut Vec<u8>,
        leaves: &mut Vec<Leaf<'a>>,
    ) -> Option<()> {
        if !self.s.get(self.i..)?.starts_with(word) {
            return None;
        }
        self.i += word.len();
        desc.push(S_LEAF);
        leaves.push(leaf);
        Some(())
    }

    /// The bytes between a string's quotes (the walk is at the opening one).
    fn string(&mut self) -> Option<&'a [u8]> {
        let start = self.i + 1;
        let mut j = start;
        loop {
            match *self.s.get(j)? {
                b'"' => break,
                b'\\' => j += 2,
                _ => j += 1,
            }
        }
        self.i = j + 1;
        self.s.get(start..j)
    }
}

/// One leaf's rows as written.
#[derive(Default)]
struct Column<'a> {
    tags: Vec<u8>,
    data: Vec<u8>,
    prev_int: i64,
    prev_uuid: u128,
    /// Each string seen in this column → the row of its latest occurrence among strings.
    seen: FastMap<&'a [u8], u64>,
    strings: u64,
}

impl<'a> Column<'a> {
    fn push(&mut self, leaf: Leaf<'a>) {
        match leaf {
            Leaf::Null => self.tags.push(T_NULL),
            Leaf::False => self.tags.push(T_FALSE),
            Leaf::True => self.tags.push(T_TRUE),
            Leaf::Number(text) => self.number(text),
            Leaf::Str(s) => self.string(s),
        }
    }

    fn number(&mut self, text: &[u8]) {
        let parsed = std::str::from_utf8(text).ok();
        if let Some(i) = parsed.and_then(|t| t.parse::<i64>().ok()) {
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
        } else if let Some(u) = parsed.and_then(|t| t.parse::<u64>().ok()) {
            self.tags.push(T_U64);
            put_varint(&mut self.data, u);
        } else {
            self.tags.push(T_NUMBER_TEXT);
            put_varint(&mut self.data, text.len() as u64);
            self.data.extend_from_slice(text);
        }
    }

    fn string(&mut self, s: &'a [u8]) {
        if let Some(at) = self.seen.get_mut(s) {
            self.tags.push(T_STR_BACK);
            put_varint(&mut self.data, self.strings - 1 - *at);
            // The latest occurrence is the one referred to next time.
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
                self.data.extend_from_slice(s);
            }
        }
        self.seen.insert(s, self.strings);
        self.strings += 1;
    }
}

/// The UUID of a string written as `Uuid` displays (lowercase, hyphenated), else none.
fn canonical_uuid(s: &[u8]) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    let u = Uuid::try_parse_ascii(s).ok()?;
    let mut buf = Uuid::encode_buffer();
    (u.hyphenated().encode_lower(&mut buf).as_bytes() == s).then_some(u)
}

fn varint_len(n: u64) -> usize {
    (64 - n.leading_zeros() as usize).max(1).div_ceil(7)
}

fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}
