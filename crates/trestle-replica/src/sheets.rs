//! Sales sheets: a holder's folded sales as ONE value in the document instead of one counter
//! increment per variant sold. When a till folds its unsent sales (`fold.rs`), the summed moves
//! of its own `free` counters are written as a sheet — `sheets/<holder>:<id>` = bytes naming each
//! cell and its delta — in the `sales:<n>` change. A cell's `free` is then its counter plus the
//! deltas of every sheet naming it, and a market day's sales merge as one operation wherever they
//! go (Automerge applies an operation into this document in ~20–40 µs, so 2,000 increments cost
//! ~75 ms per merge, a sheet a few µs plus its decoding).
//!
//! The escrow rule holds as for increments: a sheet moves only its author's own cells (the
//! author is the actor of the put, never the key), and a sheet is written once under a fresh key
//! and never changed, so sheets only add up. A sheet that is damaged or names another holder's
//! cell is refused when it is merged, and the merge is undone.
//!
//! The bytes: a version byte (1); the actors the cells' object ids name (LEB128 count, then each
//! as LEB128 length + bytes); the entries (LEB128 count, then each: LEB128 actor index, LEB128
//! gap from the previous entry's op counter of the same actor, zigzag LEB128 delta ≠ 0), sorted by
//! (actor, counter) with no repeats and nothing after them.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, ChangeHash, ObjId as ExId, ReadDoc, ScalarValue, Value};
use trestle_core::ids::VariantId;

use crate::error::{Error, Result};
use crate::ids::Holder;
use crate::replica::ShopReplica;

const VERSION: u8 = 1;

/// A stock cell (a `stock[variant][holder]` map) by its object id: (op counter, actor).
pub(crate) type CellKey = (u64, ActorId);

/// The cell key of a map id (`None` for the root).
pub(crate) fn cell_key(id: &ExId) -> Option<CellKey> {
    match id {
        ExId::Id(ctr, actor, _) => Some((*ctr, actor.clone())),
        ExId::Root => None,
    }
}

/// Encodes a sheet: each cell with its `free` delta (zero deltas are left out).
pub(crate) fn encode(entries: &HashMap<CellKey, i64>) -> Vec<u8> {
    let mut sorted: Vec<(&ActorId, u64, i64)> = entries
        .iter()
        .filter(|(_, d)| **d != 0)
        .map(|((ctr, actor), d)| (actor, *ctr, *d))
        .collect();
    sorted.sort();
    let mut actors: Vec<&ActorId> = sorted.iter().map(|(a, _, _)| *a).collect();
    actors.dedup();
    let mut out = vec![VERSION];
    put_u(&mut out, actors.len() as u64);
    for a in &actors {
        put_u(&mut out, a.to_bytes().len() as u64);
        out.extend_from_slice(a.to_bytes());
    }
    put_u(&mut out, sorted.len() as u64);
    let (mut index, mut last) = (0usize, 0u64);
    for (i, (actor, ctr, delta)) in sorted.iter().enumerate() {
        if i == 0 || sorted[i - 1].0 != *actor {
            index = actors.iter().position(|a| a == actor).unwrap_or(0);
            last = 0;
        }
        put_u(&mut out, index as u64);
        put_u(&mut out, ctr - last);
        put_u(&mut out, ((delta << 1) ^ (delta >> 63)) as u64);
        last = *ctr;
    }
    out
}

/// Decodes a sheet's entries, refusing anything [`encode`] would not write.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<(CellKey, i64)>> {
    let bad = |reason: &'static str| Error::Unreadable {
        reason: format!("a sales sheet is damaged: {reason}"),
    };
    let mut r = Reader(bytes);
    if r.byte().ok_or_else(|| bad("empty"))? != VERSION {
        return Err(bad("unknown version"));
    }
    let n_actors = r.count(1).ok_or_else(|| bad("bad actor count"))?;
    let mut actors = Vec::with_capacity(n_actors);
    for _ in 0..n_actors {
        let len = r.count(1).ok_or_else(|| bad("bad actor length"))?;
        let raw = r.take(len).ok_or_else(|| bad("cut short"))?;
        actors.push(ActorId::from(raw));
    }
    let n = r.count(3).ok_or_else(|| bad("bad entry count"))?;
    let mut out: Vec<(CellKey, i64)> = Vec::with_capacity(n);
    let mut prev: Option<(usize, u64)> = None;
    for _ in 0..n {
        let index = r.uint().ok_or_else(|| bad("cut short"))?;
        let index = usize::try_from(index)
            .ok()
            .filter(|i| *i < actors.len())
            .ok_or_else(|| bad("unknown actor"))?;
        let gap = r.uint().ok_or_else(|| bad("cut short"))?;
        let z = r.uint().ok_or_else(|| bad("cut short"))?;
        let delta = ((z >> 1) as i64) ^ -((z & 1) as i64);
        if delta == 0 {
            return Err(bad("a zero delta"));
        }
        let ctr = match prev {
            Some((i, last)) if i == index => {
                if gap == 0 {
                    return Err(bad("a cell named twice"));
                }
                last.checked_add(gap)
                    .ok_or_else(|| bad("counter overflow"))?
            }
            Some((i, _)) if i > index => return Err(bad("out of order")),
            _ => gap,
        };
        prev = Some((index, ctr));
        out.push(((ctr, actors[index].clone()), delta));
    }
    if !r.0.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(out)
}

fn put_u(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if n > self.0.len() {
            return None;
        }
        let (a, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(a)
    }
    fn uint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(7 * i)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    /// A count of items of at least `min` bytes each: never more than the bytes left can hold.
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = usize::try_from(self.uint()?).ok()?;
        (n.checked_mul(min)? <= self.0.len()).then_some(n)
    }
}

/// The sheets a replica has counted, and their sums per cell.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sheets {
    /// The puts already counted, by op id.
    seen: HashSet<CellKey>,
    by_cell: HashMap<CellKey, i64>,
    by_slot: HashMap<(VariantId, Holder), i64>,
}

impl Sheets {
    /// What the sheets add to a cell's `free`.
    pub(crate) fn free(&self, cell: &ExId) -> i64 {
        cell_key(cell)
            .and_then(|k| self.by_cell.get(&k).copied())
            .unwrap_or(0)
    }

    /// What the sheets add to `holder`'s `free` of `variant`.
    pub(crate) fn slot(&self, variant: VariantId, holder: Holder) -> i64 {
        self.by_slot.get(&(variant, holder)).copied().unwrap_or(0)
    }

    /// Every (variant, holder) the sheets move, with the sum.
    pub(crate) fn slots(&self) -> impl Iterator<Item = (&(VariantId, Holder), &i64)> {
        self.by_slot.iter()
    }
}

impl ShopReplica {
    /// A sheet's entries checked against this document: each names a cell of `author`, once.
    pub(crate) fn sheet_entries(
        &mut self,
        author: Holder,
        bytes: &[u8],
    ) -> Result<Vec<(CellKey, VariantId, Holder, i64)>> {
        let entries = decode(bytes)?;
        if entries
            .iter()
            .any(|(k, _)| !self.cell_index.contains_key(k))
        {
            self.index_cells();
        }
        let mut out = Vec::with_capacity(entries.len());
        for (key, delta) in entries {
            match self.cell_index.get(&key) {
                Some(&(variant, holder)) if holder == author => {
                    out.push((key, variant, holder, delta))
                }
                _ => {
                    return Err(Error::Unreadable {
                        reason: format!(
                            "a sales sheet of {author} moves stock that is not {author}'s"
                        ),
                    })
                }
            }
        }
        Ok(out)
    }

    /// Counts the sheets not counted yet; returns the cells they moved. Refuses (and counts
    /// nothing of) a damaged sheet or one that moves another holder's cells.
    pub(crate) fn refresh_sheets(&mut self) -> Result<Vec<(VariantId, Holder, ExId)>> {
        let Some(root) = self.roots.sheets.clone() else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for key in self.doc.keys(&root).collect::<Vec<_>>() {
            let all: Vec<(Value<'static>, ExId)> = self
                .doc
                .get_all(&root, key.as_str())?
                .into_iter()
                .map(|(v, id)| (v.into_owned(), id))
                .collect();
            for (value, id) in all {
                let Some(op) = cell_key(&id) else { continue };
                if self.sheets.seen.contains(&op) {
                    continue;
                }
                let author = Holder::from_actor(&op.1).ok_or_else(|| Error::Unreadable {
                    reason: "a sales sheet written by no holder".into(),
                })?;
                let Value::Scalar(s) = &value else {
                    return Err(Error::Unreadable {
                        reason: "a sales sheet that is not bytes".into(),
                    });
                };
                let ScalarValue::Bytes(bytes) = s.as_ref() else {
                    return Err(Error::Unreadable {
                        reason: "a sales sheet that is not bytes".into(),
                    });
                };
                found.push((op, self.sheet_entries(author, bytes)?));
            }
        }
        let mut moved = Vec::new();
        for (op, entries) in found {
            for (key, variant, holder, delta) in entries {
                add(self.sheets.by_cell.entry(key.clone()).or_insert(0), delta)?;
                add(
                    self.sheets.by_slot.entry((variant, holder)).or_insert(0),
                    delta,
                )?;
                moved.push((variant, holder, ExId::Id(key.0, key.1, 0)));
            }
            self.sheets.seen.insert(op);
        }
        Ok(moved)
    }

    /// The sheets' sums per cell as the document was at `heads` (for carrying an old epoch).
    pub(crate) fn sheet_sums_at(&mut self, heads: &[ChangeHash]) -> Result<HashMap<CellKey, i64>> {
        let mut out = HashMap::new();
        let Some(root) = self.roots.sheets.clone() else {
            return Ok(out);
        };
        let mut puts = Vec::new();
        for key in self.doc.keys_at(&root, heads).collect::<Vec<_>>() {
            for (value, id) in self.doc.get_all_at(&root, key.as_str(), heads)? {
                if let (Value::Scalar(s), Some(op)) = (&value, cell_key(&id)) {
                    if let ScalarValue::Bytes(bytes) = s.as_ref() {
                        puts.push((op, bytes.clone()));
                    }
                }
            }
        }
        for ((_, actor), bytes) in puts {
            let author = Holder::from_actor(&actor).ok_or_else(|| Error::Unreadable {
                reason: "a sales sheet written by no holder".into(),
            })?;
            for (key, _, _, delta) in self.sheet_entries(author, &bytes)? {
                add(out.entry(key).or_insert(0), delta)?;
            }
        }
        Ok(out)
    }
}

fn add(sum: &mut i64, delta: i64) -> Result<()> {
    *sum = sum.checked_add(delta).ok_or_else(|| Error::Unreadable {
        reason: "a sales sheet moves more stock than a counter holds".into(),
    })?;
    Ok(())
}

/// Sums entries per cell (a fold adds up the sheets and increments it replaces).
pub(crate) fn sum_into(sums: &mut HashMap<CellKey, i64>, key: CellKey, delta: i64) -> Result<()> {
    add(sums.entry(key).or_insert(0), delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(n: u8) -> ActorId {
        ActorId::from(vec![n; 16])
    }

    #[test]
    fn a_sheet_round_trips_sorted_without_zeros() {
        let mut m = HashMap::new();
        m.insert((40, actor(1)), -3);
        m.insert((7, actor(1)), 2);
        m.insert((9, actor(2)), -1);
        m.insert((11, actor(2)), 0);
        let bytes = encode(&m);
        let back = decode(&bytes).unwrap();
        assert_eq!(
            back,
            vec![
                ((7, actor(1)), 2),
                ((40, actor(1)), -3),
                ((9, actor(2)), -1)
            ]
        );
    }

    #[test]
    fn damaged_sheets_are_refused_and_never_panic() {
        let mut m = HashMap::new();
        for i in 1..200u64 {
            m.insert((i * 13, actor(1)), -(i as i64 % 5) - 1);
        }
        let good = encode(&m);
        assert!(decode(&good).is_ok());
        assert!(decode(&[]).is_err());
        assert!(decode(&[2]).is_err());
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode(&trailing).is_err());
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        // A huge count is refused before anything is allocated.
        assert!(decode(&[1, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        // Every single-byte change decodes or is refused, without a panic.
        for i in 0..good.len() {
            for b in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = b;
                let _ = decode(&bad);
            }
        }
    }

    #[test]
    fn a_cell_named_twice_or_a_zero_delta_is_refused() {
        let a = actor(1);
        let mut twice = vec![1, 1, 16];
        twice.extend_from_slice(a.to_bytes());
        twice.extend_from_slice(&[2, 0, 5, 1, 0, 0, 1]);
        assert!(decode(&twice).is_err());
        let mut zero = vec![1, 1, 16];
        zero.extend_from_slice(a.to_bytes());
        zero.extend_from_slice(&[1, 0, 5, 0]);
        assert!(decode(&zero).is_err());
    }
}
