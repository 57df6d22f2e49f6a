//! Folding a holder's unsent changes before they leave it: the changes no other replica can have
//! yet — this holder's own, made after the heads it last sent — are replaced by at most two
//! changes with the same effect, `sales:<n>` (the sales, refunds and voids, every counter's
//! moves summed) and `fold:<n>` (everything else, replayed in order, increments summed). A
//! market day of 5,000 sales then leaves the till as one change instead of 5,000, and the hub
//! and every other till merge one. The audit still counts the sales exactly: `sales:` changes
//! are sales to it (see docs/replica.md, "Folding before sending").
//!
//! Safe only for changes that never left this replica: a change another replica holds, folded
//! again under a new hash, would count twice. The caller names the heads it last sent; this
//! module never folds a change of another actor and checks, after replaying, that every value the
//! folded changes wrote reads the same in the folded document as before — otherwise it keeps
//! the changes as they are.

use std::collections::{HashMap, HashSet};

use automerge::{
    legacy::{Key, ObjectId, OpType},
    transaction::{CommitOptions, Transactable},
    ActorId, AutoCommit, Change, ChangeHash, ObjId as ExId, ReadDoc, ScalarValue, Value,
};

use crate::bulk::holds_all;
use crate::error::Result;
use crate::ids::{Cause, CauseKind};
use crate::replica::{Role, ShopReplica};
use crate::schema::{K_FREE, K_HELD};
use crate::sheets::{self, cell_key, CellKey};
use crate::walk::WalkCells;

/// What [`ShopReplica::fold_unsent`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fold {
    /// Fewer than two unsent changes of this holder: nothing to gain.
    Nothing,
    /// The unsent changes were replaced; the caller stores the whole document again.
    Folded {
        /// How many changes were folded.
        changes: usize,
        /// How many of them were sales, refunds or voids (now one `sales:` change).
        sales: usize,
        /// Whether the sales were summed from their notes (`ShopReplica::note_moves`) rather
        /// than rebuilt from the document and decoded.
        noted: bool,
    },
    /// The changes were kept as they are, for the reason given (they are sent unfolded, which
    /// is always correct, only larger).
    Kept(&'static str),
}

/// Fewer sold cells than this are read on the folding thread (a thread costs more).
const READ_APART_FROM: usize = 256;

/// A (map, key) an operation wrote, as the original document names the map.
type Slot = (ExId, String);

/// Replays decoded operations into the fork, mapping the maps the folded changes created.
struct Replay<'a> {
    fork: &'a mut AutoCommit,
    me: ActorId,
    /// Maps the folded changes created: (op counter) → the fork's id for the same map.
    created: HashMap<u64, ExId>,
    /// What was written, to check afterwards: (original map, key) → (fork's map).
    written: Vec<(Slot, ExId)>,
    /// Slots incremented by the `sales:` change (nothing else may write them).
    sold: HashSet<Slot>,
}

impl Replay<'_> {
    fn original(&self, obj: &ObjectId) -> ExId {
        match obj {
            ObjectId::Root => ExId::Root,
            // Automerge finds an object by its actor when the index does not match.
            ObjectId::Id(id) => ExId::Id(id.counter(), id.actor().clone(), 0),
        }
    }

    fn mapped(&self, obj: &ObjectId) -> ExId {
        match obj {
            ObjectId::Id(id) if *id.actor() == self.me => self
                .created
                .get(&id.counter())
                .cloned()
                .unwrap_or_else(|| self.original(obj)),
            _ => self.original(obj),
        }
    }

    /// Replays `changes` as one change named `cause`; `Ok(false)` when an operation is of a
    /// kind this replica never writes (lists, text, marks) or overwrites a cell the sheet moves,
    /// so the fold is abandoned.
    fn group(&mut self, changes: &[&Change], cause: Cause) -> Result<bool> {
        let mut pending: Vec<(Slot, ExId, i64)> = Vec::new();
        let mut at: HashMap<Slot, usize> = HashMap::new();
        for change in changes {
            let start = change.start_op().get();
            for (i, op) in change.decode().operations.into_iter().enumerate() {
                let Key::Map(key) = &op.key else {
                    return Ok(false);
                };
                if op.insert {
                    return Ok(false);
                }
                let slot: Slot = (self.original(&op.obj), key.to_string());
                let target = self.mapped(&op.obj);
                if let OpType::Increment(by) = op.action {
                    match at.get(&slot) {
                        Some(&n) => pending[n].2 += by,
                        None => {
                            at.insert(slot.clone(), pending.len());
                            pending.push((slot, target, by));
                        }
                    }
                    continue;
                }
                if self.sold.contains(&slot) {
                    return Ok(false);
                }
                // Increments of this slot so far happen before this write, as they did.
                if let Some(n) = at.remove(&slot) {
                    let (_, obj, by) = &mut pending[n];
                    self.fork.increment(&*obj, key.as_str(), *by)?;
                    *by = 0;
                }
                match op.action {
                    OpType::Make(kind) => {
                        let id = self.fork.put_object(&target, key.as_str(), kind)?;
                        self.created.insert(start + i as u64, id);
                    }
                    OpType::Put(value) => self.fork.put(&target, key.as_str(), value)?,
                    OpType::Delete => self.fork.delete(&target, key.as_str())?,
                    _ => return Ok(false),
                }
                self.written.push((slot, target));
            }
        }
        for (slot, obj, by) in pending {
            if by != 0 {
                self.fork.increment(&obj, slot.1.as_str(), by)?;
            }
            self.written.push((slot, obj));
        }
        if !changes.is_empty() {
            self.commit(cause);
        }
        Ok(true)
    }

    /// Writes the sales as one sheet (`sheets.rs`) in a change named `cause`.
    fn sheet(
        &mut self,
        root: &ExId,
        key: String,
        sums: &HashMap<CellKey, i64>,
        cause: Cause,
    ) -> Result<()> {
        for (ctr, actor) in sums.keys() {
            self.sold
                .insert((ExId::Id(*ctr, actor.clone(), 0), K_FREE.to_string()));
        }
        self.fork
            .put(root, key, ScalarValue::Bytes(sheets::encode(sums)))?;
        self.commit(cause);
        Ok(())
    }

    fn commit(&mut self, cause: Cause) {
        let message = cause.message();
        if self
            .fork
            .commit_with(CommitOptions::default().with_message(message.clone()))
            .is_none()
        {
            self.fork
                .empty_change(CommitOptions::default().with_message(message));
        }
    }
}

/// The sales of `changes` as one sheet's sums: each of this holder's cells with the sum of its
/// `free` moves (the increments of sales, refunds and voids, and an unsent sheet folded again).
/// `None` when a sale changed anything else.
fn sheet_of(
    replica: &mut ShopReplica,
    changes: &[&Change],
) -> Result<Option<HashMap<CellKey, i64>>> {
    let me = replica.holder;
    let root = replica.roots.sheets.as_ref().and_then(cell_key);
    let mut sums = HashMap::new();
    let mut indexed = false;
    for change in changes {
        for op in change.decode().operations {
            let (ObjectId::Id(id), Key::Map(key)) = (&op.obj, &op.key) else {
                return Ok(None);
            };
            let obj: CellKey = (id.counter(), id.actor().clone());
            match op.action {
                OpType::Increment(by) if key == K_FREE => {
                    if !indexed && !replica.cell_index.contains_key(&obj) {
                        replica.index_cells();
                        indexed = true;
                    }
                    match replica.cell_index.get(&obj) {
                        Some(&(_, holder)) if holder == me => sheets::sum_into(&mut sums, obj, by)?,
                        _ => return Ok(None),
                    }
                }
                OpType::Put(ScalarValue::Bytes(bytes)) if Some(&obj) == root.as_ref() => {
                    for (cell, _, _, by) in replica.sheet_entries(me, &bytes)? {
                        sheets::sum_into(&mut sums, cell, by)?;
                    }
                }
                _ => return Ok(None),
            }
        }
    }
    Ok(Some(sums))
}

/// True when a slot the fold wrote reads the same in the folded replica: a stock counter by its
/// value as it stands (sheets included), anything else by [`same`]. (One read per cell: a walk
/// of the whole stock map costs more than the 2,000 reads of a market day's fold, measured.) In
/// the folded replica a counter is read from `walk` — the folded document's own, read at its
/// heads — where it has it; in the original, a `free` from `free_was` (read beforehand) where it
/// has it.
fn reads_same(
    before: &ShopReplica,
    after: &ShopReplica,
    walk: Option<&WalkCells>,
    free_was: Option<&HashMap<CellKey, i64>>,
    slot: &Slot,
    obj: &ExId,
) -> Result<bool> {
    let key = cell_key(&slot.0).filter(|k| before.cell_index.contains_key(k));
    if let Some(key) = key.filter(|_| slot.1 == K_FREE || slot.1 == K_HELD) {
        let walked = walk.and_then(|w| w.raw(&key)).map(|(free, held)| {
            if slot.1 == K_FREE {
                free + after.sheets.free(obj)
            } else {
                held
            }
        });
        let now = match walked {
            Some(v) => v,
            None => after.counter(obj, &slot.1)?,
        };
        let was = match free_was.and_then(|w| w.get(&key)) {
            Some(&v) if slot.1 == K_FREE => v,
            _ => before.counter(&slot.0, &slot.1)?,
        };
        return Ok(was == now);
    }
    same(&before.doc, &after.doc, slot, obj)
}

/// The sales sheet (when there are sales) and then the other changes replayed into the fork;
/// `Ok(false)` when one of them cannot be folded (`Replay::group`).
fn replay_all(
    replay: &mut Replay<'_>,
    sheets_root: &ExId,
    holder: crate::ids::Holder,
    sums: Option<&HashMap<CellKey, i64>>,
    sales: usize,
    rest: &[&Change],
) -> Result<bool> {
    let n = |len: usize| u64::try_from(len).unwrap_or(u64::MAX);
    if let Some(sums) = sums {
        let key = format!("{holder}:{}", uuid::Uuid::now_v7());
        replay.sheet(sheets_root, key, sums, Cause::Sales { changes: n(sales) })?;
    }
    replay.group(
        rest,
        Cause::Fold {
            changes: n(rest.len()),
        },
    )
}

/// Each cell of `sums` with its `free` as `replica` reads it (sheets included).
fn free_before(
    replica: &ShopReplica,
    sums: &HashMap<CellKey, i64>,
) -> Result<HashMap<CellKey, i64>> {
    sums.keys()
        .map(|key| {
            let obj = ExId::Id(key.0, key.1.clone(), 0);
            Ok((key.clone(), replica.counter(&obj, K_FREE)?))
        })
        .collect()
}

/// True when the slot reads the same in both documents: the same number of values (a conflict
/// stays a conflict), equal scalars (a counter by its value), equal maps.
fn same(before: &AutoCommit, after: &AutoCommit, slot: &Slot, obj: &ExId) -> Result<bool> {
    let a = before.get_all(&slot.0, slot.1.as_str())?;
    let b = after.get_all(obj, slot.1.as_str())?;
    if a.len() != b.len() {
        return Ok(false);
    }
    for ((va, ida), (vb, idb)) in a.iter().zip(b.iter()) {
        let equal = match (va, vb) {
            (Value::Scalar(x), Value::Scalar(y)) => x == y,
            (Value::Object(x), Value::Object(y)) => {
                x == y && before.hydrate(ida, None)? == after.hydrate(idb, None)?
            }
            _ => false,
        };
        if !equal {
            return Ok(false);
        }
    }
    Ok(true)
}

/// True when `doc` holds exactly the changes `base` covers (every one of them, nothing more):
/// every hash of `base` is applied in it, and each of its heads is one of them (a head has no
/// descendant in `doc`, so a head `base` covers is one of `base`'s own hashes). Hash lookups and
/// the heads only: Automerge's change metadata is read column by column, a walk of the whole
/// history for each hash asked (measured: most of this check's time before).
fn holds_exactly(doc: &mut AutoCommit, base: &[ChangeHash]) -> bool {
    holds_all(doc, base) && doc.get_heads().iter().all(|h| base.contains(h))
}

/// True when none of `hashes` (distinct) is in `doc`: each is named missing (as in
/// [`holds_all`]).
fn none_present(doc: &AutoCommit, hashes: &[ChangeHash]) -> bool {
    ReadDoc::get_missing_deps(doc, hashes).len() == hashes.len()
}

impl ShopReplica {
    /// Keeps a copy of the document as it is now, for the next fold to start from: call it right
    /// after a send's answer is merged, when every change here has been sent or received. A copy
    /// that no longer matches is simply not used.
    pub fn keep_fold_base(&mut self) {
        let walk = self.walk_at_heads(false);
        self.fold_base = Some((self.doc.clone(), walk));
    }

    /// [`ShopReplica::fold_unsent`] with the heads in their wire form (32-byte hashes).
    pub fn fold_unsent_heads(&mut self, sent: &[[u8; 32]]) -> Result<Fold> {
        let sent: Vec<ChangeHash> = sent.iter().map(|h| ChangeHash(*h)).collect();
        self.fold_unsent(&sent)
    }

    /// Folds this holder's own changes outside `sent` — the heads of everything it has sent, so
    /// the changes outside them exist only here — into at most two changes with the same effect
    /// (module docs). On [`Fold::Folded`] the document is replaced: the caller must store it
    /// whole (its earlier change bytes no longer apply) before sending anything from it.
    pub fn fold_unsent(&mut self, sent: &[ChangeHash]) -> Result<Fold> {
        let fold = self.fold_own(sent);
        // Whatever the fold did, every change noted so far is about to be sent: no note of
        // them is wanted again.
        self.moves.clear();
        fold
    }

    fn fold_own(&mut self, sent: &[ChangeHash]) -> Result<Fold> {
        if self.role == Role::Creator {
            return Ok(Fold::Kept("the creator's changes are never folded"));
        }
        let Some(sheets_root) = self.roots.sheets.clone() else {
            return Ok(Fold::Kept(
                "this stock period's document has no sales sheets",
            ));
        };
        if !holds_all(&self.doc, sent) {
            return Ok(Fold::Kept("the heads last sent are not in this document"));
        }
        let me = self.holder.actor();
        let mut base = sent.to_vec();
        let mut own = Vec::new();
        for m in self.doc.get_changes_meta(sent) {
            if *m.actor == me {
                own.push(m.hash);
            } else {
                // Received after the last send: the sender has it, so it stays as it is.
                base.push(m.hash);
            }
        }
        if own.len() < 2 {
            return Ok(Fold::Nothing);
        }
        // Every unsent change a noted sale: their sums from the notes, nothing rebuilt.
        let noted = self.noted_sums(&own)?;
        // Otherwise only this holder's: a received change's own content is never needed here
        // (asking for every change after `sent` builds the hub's large allocations again,
        // measured). (A received change built on an unsent one is found by `none_present`
        // below either way.)
        let mut changes = Vec::new();
        if noted.is_none() {
            changes = self.doc.get_changes(&base);
            if changes.len() != own.len() || changes.iter().any(|c| c.actor_id() != &me) {
                return Ok(Fold::Kept("a change received depends on an unsent one"));
            }
            changes.sort_by_key(Change::seq);
        }
        let kept = self
            .fold_base
            .take()
            .and_then(|(mut kept, walk)| holds_exactly(&mut kept, &base).then_some((kept, walk)));
        let (mut fork, base_walk) = match kept {
            Some((kept, walk)) => (kept.with_actor(me.clone()), walk),
            None => (self.doc.fork_at(&base)?.with_actor(me.clone()), None),
        };
        if !none_present(&fork, &own) {
            return Ok(Fold::Kept("a change received depends on an unsent one"));
        }
        let is_sale = |c: &&Change| {
            matches!(
                c.message().and_then(Cause::kind_of),
                Some(CauseKind::Sale | CauseKind::Refund | CauseKind::Void | CauseKind::Sales)
            )
        };
        let was_noted = noted.is_some();
        let (sales, sums, rest) = match noted {
            Some(sums) => (own.len(), Some(sums), Vec::new()),
            None => {
                let (sales, rest): (Vec<&Change>, Vec<&Change>) = changes.iter().partition(is_sale);
                let sums = if sales.is_empty() {
                    None
                } else {
                    match sheet_of(self, &sales)? {
                        Some(sums) => Some(sums),
                        None => {
                            return Ok(Fold::Kept(
                                "a sale changed more than its holder's free stock",
                            ))
                        }
                    }
                };
                (sales.len(), sums, rest)
            }
        };
        let holder = self.holder;
        let this: &ShopReplica = self;
        let (replayed, before) = std::thread::scope(|s| {
            // The sold cells' counters as they read before the fold, read on a second core while
            // the fold replays (a market day's 2,000 reads were a third of its fold, measured).
            let apart = sums
                .as_ref()
                .filter(|sums| sums.len() >= READ_APART_FROM)
                .map(|sums| s.spawn(move || free_before(this, sums)));
            let mut replay = Replay {
                fork: &mut fork,
                me,
                created: HashMap::new(),
                written: Vec::new(),
                sold: HashSet::new(),
            };
            let replayed = replay_all(
                &mut replay,
                &sheets_root,
                holder,
                sums.as_ref(),
                sales,
                &rest,
            )
            .map(|ok| ok.then(|| (replay.written, replay.sold.into_iter().collect::<Vec<_>>())));
            // Joined on every path; an error or a panic there leaves the reads to `reads_same`.
            let before = apart.and_then(|h| h.join().ok()).and_then(Result::ok);
            (replayed, before)
        });
        let Some((written, sold)) = replayed? else {
            return Ok(Fold::Kept(
                "a change holds an operation that is never folded",
            ));
        };
        // The cells are the same objects in the folded document (created before `sent`, keyed
        // by op counter and actor): their caches stay good, so the next merge walks no index.
        let mut next = ShopReplica::from_doc_indexed(
            fork,
            holder,
            self.cells.clone(),
            self.cell_index.clone(),
        )?;
        // Only a sheet written on the base: its stock map is the base's, and so is its walk.
        let walk = base_walk.filter(|_| rest.is_empty());
        if let Some(cells) = &walk {
            next.walked = Some((next.heads(), cells.clone()));
        }
        for (slot, obj) in written
            .iter()
            .map(|(s, o)| (s, o))
            .chain(sold.iter().map(|s| (s, &s.0)))
        {
            if !reads_same(self, &next, walk.as_deref(), before.as_ref(), slot, obj)? {
                return Ok(Fold::Kept("the folded document would read differently"));
            }
        }
        *self = next;
        Ok(Fold::Folded {
            changes: own.len(),
            sales,
            noted: was_noted,
        })
    }

    /// The sums of `own`'s `free` moves from their notes, when every one is noted and each cell
    /// is this holder's (as [`sheet_of`] requires of decoded sales).
    fn noted_sums(&mut self, own: &[ChangeHash]) -> Result<Option<HashMap<CellKey, i64>>> {
        let Some(sums) = self.moves.sums(own)? else {
            return Ok(None);
        };
        if sums.keys().any(|c| !self.cell_index.contains_key(c)) {
            self.index_cells();
        }
        let me = self.holder;
        let mine = sums
            .keys()
            .all(|c| matches!(self.cell_index.get(c), Some(&(_, h)) if h == me));
        Ok(mine.then_some(sums))
    }
}
