//! Notes of what this holder's own sales, refunds and voids did to its counters, taken from each
//! change's stored bytes as the till stores or reads them ([`ShopReplica::note_moves`]): a fold
//! whose unsent changes are all noted sums the notes instead of rebuilding those changes from
//! the document and decoding them again, the dearest part of a market day's fold (measured:
//! about a third of it, docs/benchmarks.md). A change's hash names its content, so a note never
//! goes stale; a change not noted (the replica was just loaded, or was replaced) sends the fold
//! the long way, which gives the same result.

use std::collections::HashMap;

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{Change, ChangeHash};

use crate::error::Result;
use crate::ids::{Cause, CauseKind};
use crate::replica::{Role, ShopReplica};
use crate::schema::K_FREE;
use crate::sheets::{self, CellKey};

/// The most notes kept between two sends (a market day is ~5,000; past this, the fold takes the
/// long way and nothing is lost).
const NOTES_KEPT: usize = 100_000;

/// Each noted change's `free` increments, by the change's hash.
#[derive(Default)]
pub(crate) struct Moves {
    by_hash: HashMap<ChangeHash, Vec<(CellKey, i64)>>,
}

impl Moves {
    /// The sums of the `free` moves of `own` (distinct hashes), when every one is noted.
    pub(crate) fn sums(&self, own: &[ChangeHash]) -> Result<Option<HashMap<CellKey, i64>>> {
        let mut sums = HashMap::new();
        for hash in own {
            let Some(moves) = self.by_hash.get(hash) else {
                return Ok(None);
            };
            for (cell, by) in moves {
                sheets::sum_into(&mut sums, cell.clone(), *by)?;
            }
        }
        Ok(Some(sums))
    }

    pub(crate) fn clear(&mut self) {
        self.by_hash.clear();
    }
}

/// The `free` increments of `change` when it is a sale, refund or void of `holder`'s actor that
/// does nothing else; `None` otherwise.
fn moves_of(change: &Change, actor: &automerge::ActorId) -> Option<Vec<(CellKey, i64)>> {
    if change.actor_id() != actor {
        return None;
    }
    let kind = change.message().and_then(Cause::kind_of)?;
    if !matches!(kind, CauseKind::Sale | CauseKind::Refund | CauseKind::Void) {
        return None;
    }
    let mut moves = Vec::new();
    for op in change.decode().operations {
        match (&op.obj, &op.key, &op.action) {
            (ObjectId::Id(id), Key::Map(key), OpType::Increment(by)) if key == K_FREE => {
                moves.push(((id.counter(), id.actor().clone()), *by));
            }
            _ => return None,
        }
    }
    Some(moves)
}

impl ShopReplica {
    /// Notes what the change in `bytes` — one of this replica's change rows as stored, e.g. a
    /// sale's — did to this holder's counters, for the next fold ([`crate::moves`]). Bytes that
    /// are not exactly one change, or a change that is not this holder's sale, refund or void
    /// touching only `free` counters, are not noted. Nothing to do for the document's creator
    /// (it never folds).
    pub fn note_moves(&mut self, bytes: &[u8]) {
        if self.role == Role::Creator || self.moves.by_hash.len() >= NOTES_KEPT {
            return;
        }
        let Ok(change) = Change::try_from(bytes) else {
            return;
        };
        if let Some(moves) = moves_of(&change, &self.holder.actor()) {
            self.moves.by_hash.insert(change.hash(), moves);
        }
    }

    /// How many changes are noted for the next fold.
    pub fn noted_moves(&self) -> usize {
        self.moves.by_hash.len()
    }
}
