//! `ShopReplica`: one holder's copy of one epoch of the shop document — creating and loading it,
//! saving it and the bytes of each change, merging other replicas' bytes, Automerge sync, reading
//! stock levels (the creator's set-up work is in `setup.rs`).

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use automerge::{
    sync::{self, SyncDoc},
    transaction::{CommitOptions, Transactable},
    AutoCommit, ChangeHash, ObjId as ExId, ObjType, ReadDoc, ROOT,
};
use trestle_core::catalog::Policy;
use trestle_core::ids::VariantId;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::{Cause, Holder};
use crate::invariants::{self, Conflict};
use crate::schema::{self, *};

pub use automerge::sync::State as SyncState;

/// A shop (one document lineage; every epoch of it carries the same shop id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ShopId(pub Uuid);

/// What a replica may do: the creator (the hub, or a till working alone) creates variants, the
/// counters of holders, events and new epochs; every holder operates on its own counters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Creator,
    Holder,
}

/// One holder's stock of one variant.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HolderLevel {
    pub holder: Holder,
    pub free: i64,
    pub held: i64,
}

/// A variant's stock across holders: `on_hand = Σ free + Σ held`; `available` is this replica's
/// holder's `free` (what it may sell), 0 when it holds none.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VariantLevel {
    pub variant: VariantId,
    pub on_hand: i64,
    pub available: i64,
    pub holders: Vec<HolderLevel>,
}

/// What a merge brought: how many changes became visible and the conflicts the invariant check
/// found afterwards (shown to a person, never merged away silently).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct MergeReport {
    pub heads_changed: bool,
    pub conflicts: Vec<Conflict>,
    /// The (variant, holder) cells whose counters the merged changes operated on, sorted.
    pub touched: Vec<(VariantId, Holder)>,
    /// The merged changes did nothing but increment stock counters (sales, transfers between
    /// holders' cells that exist): the catalog, reservations and events are as they were.
    pub only_counters: bool,
}

/// The ids of the root maps, read once.
#[derive(Clone, Debug)]
pub(crate) struct Roots {
    pub epoch: ExId,
    pub catalog: ExId,
    pub stock: ExId,
    pub reservations: ExId,
    pub events: ExId,
    pub counts: ExId,
    /// `None` in a document started before sales sheets existed (nothing is folded into it).
    pub sheets: Option<ExId>,
}

/// A market event's fields.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EventFields {
    pub name: String,
    pub place: String,
    /// Unix milliseconds.
    pub starts: i64,
    pub ends: i64,
    pub tills: Vec<Holder>,
}

/// One holder's replica of the shop document (one epoch of it).
pub struct ShopReplica {
    pub(crate) doc: AutoCommit,
    pub(crate) holder: Holder,
    pub(crate) role: Role,
    pub(crate) shop: ShopId,
    pub(crate) epoch: u64,
    pub(crate) roots: Roots,
    /// `stock[variant][holder]` map ids; stable once created, so cached.
    pub(crate) cells: HashMap<(VariantId, Holder), ExId>,
    /// The reverse: which cell a counter map's object id is (filled by the post-merge check).
    pub(crate) cell_index: invariants::CellIndex,
    /// The heads as of the last `save`, `take_unsaved_bytes` or `load`: what the caller already
    /// has on disk. (Automerge's own save cursor is empty after `AutoCommit::load`, which would make
    /// the first incremental save after a restart the whole history.)
    pub(crate) saved_heads: Vec<ChangeHash>,
    /// Bytes a merge just took in when nothing was unsaved before it, with the heads after it:
    /// while the heads are still those, they are the unsaved bytes (rebuilding the merged
    /// changes from the document with `save_after` costs their ops again).
    pub(crate) merged_unsaved: Option<(Vec<ChangeHash>, Vec<u8>)>,
    /// A copy of the document kept right after a send and its answer (`keep_fold_base`): the
    /// next fold starts from it instead of rebuilding the document at those heads (`fork_at`
    /// re-applies every change, the dearest part of a fold).
    /// The stock map's walk is kept with it when it held at those heads.
    pub(crate) fold_base: Option<(AutoCommit, Option<Arc<crate::walk::WalkCells>>)>,
    /// The sales sheets counted so far and what they add to each cell's `free`.
    pub(crate) sheets: crate::sheets::Sheets,
    /// The last walk of the stock map and the heads it was read at (`walk::Walked`).
    pub(crate) walked: crate::walk::Walked,
    /// Bundles of large changes already sent once (`bulk::Bundled`).
    pub(crate) bundled: crate::bulk::Bundled,
    /// This holder's own sales, refunds and voids as noted from their stored bytes (`moves`).
    pub(crate) moves: crate::moves::Moves,
}

impl std::fmt::Debug for ShopReplica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopReplica")
            .field("holder", &self.holder)
            .field("role", &self.role)
            .field("shop", &self.shop)
            .field("epoch", &self.epoch)
            .finish()
    }
}

impl ShopReplica {
    /// Creates epoch 0 of a new shop document with `creator` (the hub, or a till starting alone)
    /// as its creator: one `setup:genesis:0` change.
    pub fn create(shop: ShopId, creator: Holder) -> Result<ShopReplica> {
        let mut doc = AutoCommit::new().with_actor(creator.actor());
        write_genesis_root(&mut doc, shop, creator, 0, &[])?;
        doc.commit_with(CommitOptions::default().with_message("setup:genesis:0"));
        ShopReplica::from_doc(doc, creator)
    }

    /// Loads a replica from a snapshot (`save`) and the change bytes stored after it, in order.
    /// Damaged bytes give `Unreadable`, never a panic.
    pub fn load(holder: Holder, snapshot: &[u8], later: &[&[u8]]) -> Result<ShopReplica> {
        let mut doc = guarded(|| AutoCommit::load(snapshot))?;
        for bytes in later {
            guarded(|| doc.load_incremental(bytes))?;
        }
        let mut replica = ShopReplica::from_doc(doc.with_actor(holder.actor()), holder)?;
        // Everything just loaded is on the caller's disk already.
        replica.saved_heads = replica.doc.get_heads();
        Ok(replica)
    }

    pub(crate) fn from_doc(doc: AutoCommit, holder: Holder) -> Result<ShopReplica> {
        ShopReplica::from_doc_indexed(doc, holder, HashMap::new(), HashMap::new())
    }

    /// [`ShopReplica::from_doc`] with the cell caches of a replica of the same epoch (the cells
    /// are the same objects in every replica of it), so counting the sheets walks no index.
    pub(crate) fn from_doc_indexed(
        doc: AutoCommit,
        holder: Holder,
        cells: HashMap<(VariantId, Holder), ExId>,
        cell_index: invariants::CellIndex,
    ) -> Result<ShopReplica> {
        let version = read_int(&doc, &ROOT, K_SCHEMA, None)?.ok_or_else(|| missing(K_SCHEMA))?;
        if version > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let root = |k: &str| read_map(&doc, &ROOT, k, None)?.ok_or_else(|| missing(k));
        let roots = Roots {
            epoch: root(K_EPOCH)?,
            catalog: root(K_CATALOG)?,
            stock: root(K_STOCK)?,
            reservations: root(K_RESERVATIONS)?,
            events: root(K_EVENTS)?,
            counts: root(K_COUNTS)?,
            sheets: read_map(&doc, &ROOT, K_SHEETS, None)?,
        };
        let number = read_int(&doc, &roots.epoch, "number", None)?.unwrap_or(0);
        let epoch = u64::try_from(number).map_err(|_| missing("epoch number"))?;
        let shop = read_str(&doc, &roots.epoch, "shop", None)?
            .and_then(|s| Uuid::parse_str(&s).ok())
            .map(ShopId)
            .ok_or_else(|| missing("epoch shop"))?;
        let creator = read_str(&doc, &roots.epoch, "creator", None)?
            .ok_or_else(|| missing("epoch creator"))?;
        let role = if Holder::parse(&creator)? == holder {
            Role::Creator
        } else {
            Role::Holder
        };
        let mut replica = ShopReplica {
            doc,
            holder,
            role,
            shop,
            epoch,
            roots,
            cells,
            cell_index,
            saved_heads: Vec::new(),
            merged_unsaved: None,
            fold_base: None,
            sheets: Default::default(),
            walked: None,
            bundled: Default::default(),
            moves: Default::default(),
        };
        replica.refresh_sheets()?;
        Ok(replica)
    }

    pub fn holder(&self) -> Holder {
        self.holder
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn shop(&self) -> ShopId {
        self.shop
    }
    /// The epoch number of this document (0 for the first).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The current heads (sorted).
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        let mut h = self.doc.get_heads();
        h.sort();
        h
    }

    /// A full snapshot of this epoch's document.
    pub fn save(&mut self) -> Vec<u8> {
        let bytes = self.doc.save();
        self.saved_heads = self.doc.get_heads();
        self.merged_unsaved = None;
        bytes
    }

    /// [`ShopReplica::save`] without compressing the columns, for this replica's own storage:
    /// about 5× faster to write (a 2,000-variant document: 2 ms against 10 ms, measured) and about
    /// 6× larger, which a local snapshot rewritten in place can afford — it is written at every
    /// compaction and before every send that folded.
    pub fn save_local(&mut self) -> Vec<u8> {
        let bytes = self.doc.save_nocompress();
        self.saved_heads = self.doc.get_heads();
        self.merged_unsaved = None;
        bytes
    }

    /// A full snapshot for another replica to load, without moving this replica's own save
    /// point (what it has stored stays what it has stored).
    pub fn save_copy(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The bytes of every change this replica gained (made or merged) since the last call to
    /// this or `save`: what the till appends to its change table so `load(snapshot, later)`
    /// rebuilds the same document.
    pub fn take_unsaved_bytes(&mut self) -> Vec<u8> {
        let heads = self.doc.get_heads();
        if heads == self.saved_heads {
            return Vec::new();
        }
        let bytes = match self.merged_unsaved.take() {
            Some((at, merged)) if at == heads => merged,
            _ => self.doc.save_after(&self.saved_heads),
        };
        self.saved_heads = heads;
        bytes
    }

    /// The bytes of the last change this replica made, e.g. right after a sale: what the till
    /// stores in the same SQLite transaction as the sale's ledger rows.
    pub fn last_change_bytes(&mut self) -> Option<Vec<u8>> {
        self.doc
            .get_last_local_change()
            .map(|c| c.raw_bytes().to_vec())
    }

    /// The bytes of the changes this replica has that `heads` do not cover (to send to a peer).
    pub fn bytes_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// How many changes this replica has that `heads` do not cover (e.g. what a sync merged).
    pub fn changes_after(&mut self, heads: &[ChangeHash]) -> usize {
        // Their metadata only: rebuilding the changes themselves costs their ops.
        self.doc.get_changes_meta(heads).len()
    }

    /// Merges change or document bytes from another replica of the same epoch, then checks the
    /// invariants. Damaged bytes give `Unreadable`; bytes of another shop or epoch are undone and
    /// give `ForeignDocument`.
    pub fn merge_bytes(&mut self, bytes: &[u8]) -> Result<MergeReport> {
        let before = self.doc.get_heads();
        let clean = before == self.saved_heads;
        let outcome = guarded(|| self.doc.load_incremental(bytes));
        let report = self.after_merge(before, outcome.map(|_| ()), Some(bytes));
        // The merged bytes hold every change not yet saved only if none was before them.
        self.merged_unsaved = match &report {
            Ok(r) if clean && r.heads_changed => Some((self.doc.get_heads(), bytes.to_vec())),
            _ => None,
        };
        report
    }

    /// Merges another in-memory replica of the same shop and epoch.
    pub fn merge(&mut self, other: &mut ShopReplica) -> Result<MergeReport> {
        if other.shop != self.shop {
            return Err(Error::ForeignDocument);
        }
        if other.epoch != self.epoch {
            return Err(Error::EpochMismatch {
                ours: self.epoch,
                theirs: other.epoch,
            });
        }
        let before = self.doc.get_heads();
        let outcome = guarded(|| self.doc.merge(&mut other.doc));
        self.after_merge(before, outcome.map(|_| ()), None)
    }

    /// The next Automerge sync message for a peer, if there is anything to say.
    pub fn generate_sync_message(&mut self, state: &mut SyncState) -> Option<Vec<u8>> {
        self.doc
            .sync()
            .generate_sync_message(state)
            .map(|m| m.encode())
    }

    /// Receives a peer's sync message, then checks the invariants.
    pub fn receive_sync_message(
        &mut self,
        state: &mut SyncState,
        message: &[u8],
    ) -> Result<MergeReport> {
        let message = sync::Message::decode(message).map_err(|e| Error::Unreadable {
            reason: e.to_string(),
        })?;
        crate::sync_guard::check(&message)?;
        let before = self.doc.get_heads();
        let outcome = guarded(|| self.doc.sync().receive_sync_message(state, message));
        self.after_merge(before, outcome, None)
    }

    /// Undoes a failed or foreign merge, else checks the cells the merged changes touched
    /// (`bytes`: what was merged, when it came as bytes).
    fn after_merge(
        &mut self,
        before: Vec<ChangeHash>,
        outcome: Result<()>,
        bytes: Option<&[u8]>,
    ) -> Result<MergeReport> {
        let foreign = outcome.is_ok() && !self.roots_intact();
        let sheets = match (&outcome, foreign) {
            (Ok(()), false) => self.refresh_sheets(),
            _ => Ok(Vec::new()),
        };
        if outcome.is_err() || foreign || sheets.is_err() {
            // Undo whatever part was applied: rebuild the document as it was (and its sheets'
            // sums, which a refused sheet may have left half counted).
            if self.doc.get_heads() != before {
                let restored = self.doc.fork_at(&before)?;
                self.doc = restored.with_actor(self.holder.actor());
                self.sheets = Default::default();
                self.refresh_sheets()?;
            }
            outcome?;
            sheets?;
            return Err(Error::ForeignDocument);
        }
        let heads_changed = self.doc.get_heads() != before;
        let checked = if heads_changed {
            invariants::check_merged_from(self, &before, bytes, sheets?)?
        } else {
            invariants::MergedCheck {
                only_counters: true,
                ..Default::default()
            }
        };
        Ok(MergeReport {
            heads_changed,
            conflicts: checked.conflicts,
            touched: checked.touched,
            only_counters: checked.only_counters,
        })
    }

    /// True when the root maps are still the ones this replica knows, with no rival values (a
    /// different document's genesis merged in would add rivals).
    fn roots_intact(&self) -> bool {
        let same = |key: &str, id: &ExId| match self.doc.get_all(ROOT, key) {
            Ok(all) => all.len() == 1 && &all[0].1 == id,
            Err(_) => false,
        };
        same(K_EPOCH, &self.roots.epoch)
            && same(K_STOCK, &self.roots.stock)
            && same(K_CATALOG, &self.roots.catalog)
    }

    // ---- reading -------------------------------------------------------------------------

    /// A variant's catalog fields.
    pub fn variant(&self, variant: VariantId) -> Result<Option<VariantFields>> {
        match read_map(&self.doc, &self.roots.catalog, &variant.to_string(), None)? {
            None => Ok(None),
            Some(obj) => VariantFields::read(&self.doc, &obj).map(Some),
        }
    }

    /// The holders that have counters of any variant.
    pub fn holders(&self) -> Result<Vec<Holder>> {
        let mut all = std::collections::BTreeSet::new();
        for key in keys(&self.doc, &self.roots.stock, None) {
            if let Some(per) = read_map(&self.doc, &self.roots.stock, &key, None)? {
                for h in keys(&self.doc, &per, None) {
                    all.insert(Holder::parse(&h)?);
                }
            }
        }
        Ok(all.into_iter().collect())
    }

    /// A cell's counter as it stands: the counter itself plus, for `free`, what the sales
    /// sheets add to it.
    pub(crate) fn counter(&self, cell: &ExId, field: &str) -> Result<i64> {
        let raw = read_int(&self.doc, cell, field, None)?.ok_or_else(|| missing(field))?;
        Ok(if field == K_FREE {
            raw + self.sheets.free(cell)
        } else {
            raw
        })
    }

    /// The `stock[variant][holder]` map, cached; `NoStock` when the creator never made it.
    pub(crate) fn cell(&mut self, variant: VariantId, holder: Holder) -> Result<ExId> {
        if let Some(id) = self.cells.get(&(variant, holder)) {
            return Ok(id.clone());
        }
        let no_stock = || Error::NoStock { variant, holder };
        let per = read_map(&self.doc, &self.roots.stock, &variant.to_string(), None)?
            .ok_or_else(no_stock)?;
        let cell = read_map(&self.doc, &per, &holder.to_string(), None)?.ok_or_else(no_stock)?;
        self.cells.insert((variant, holder), cell.clone());
        if let Some(key) = crate::sheets::cell_key(&cell) {
            self.cell_index.insert(key, (variant, holder));
        }
        Ok(cell)
    }

    /// The stock rule of a variant: `None` when its inventory is not tracked.
    pub(crate) fn rule(&self, variant: VariantId) -> Result<Option<Policy>> {
        let obj = read_map(&self.doc, &self.roots.catalog, &variant.to_string(), None)?
            .ok_or(Error::UnknownVariant { variant })?;
        if read_bool(&self.doc, &obj, "track_inventory", None)? == Some(false) {
            return Ok(None);
        }
        read_policy(&self.doc, &obj).map(Some)
    }

    pub(crate) fn title(&self, variant: VariantId) -> String {
        match self.variant(variant) {
            Ok(Some(f)) if !f.title.is_empty() => f.title,
            _ => variant.to_string(),
        }
    }

    /// Runs `f` as one change named by `cause`; on any error nothing is written. A change with no
    /// operations is still recorded (an empty change) so every business action has one change.
    pub(crate) fn write(
        &mut self,
        cause: Cause,
        f: impl FnOnce(&mut AutoCommit) -> Result<()>,
    ) -> Result<ChangeHash> {
        if let Err(e) = f(&mut self.doc) {
            self.doc.rollback();
            return Err(e);
        }
        let message = cause.message();
        match self
            .doc
            .commit_with(CommitOptions::default().with_message(message.clone()))
        {
            Some(h) => Ok(h),
            None => Ok(self
                .doc
                .empty_change(CommitOptions::default().with_message(message))),
        }
    }
}

/// Writes the root maps of a new epoch document (not committed).
pub(crate) fn write_genesis_root(
    doc: &mut AutoCommit,
    shop: ShopId,
    creator: Holder,
    number: u64,
    prev_heads: &[ChangeHash],
) -> Result<()> {
    doc.put(ROOT, K_SCHEMA, SCHEMA_VERSION)?;
    let epoch = doc.put_object(ROOT, K_EPOCH, ObjType::Map)?;
    doc.put(
        &epoch,
        "number",
        i64::try_from(number).map_err(|_| missing("epoch"))?,
    )?;
    doc.put(&epoch, "shop", shop.0.to_string())?;
    doc.put(&epoch, "creator", creator.to_string())?;
    schema::write_hashes(doc, &epoch, "prev_heads", prev_heads)?;
    schema::write_hashes(doc, &epoch, "carried_through", prev_heads)?;
    for key in [
        K_CATALOG,
        K_STOCK,
        K_RESERVATIONS,
        K_EVENTS,
        K_COUNTS,
        K_SHEETS,
    ] {
        doc.put_object(ROOT, key, ObjType::Map)?;
    }
    Ok(())
}

pub(crate) fn parse_variant(key: &str) -> Result<VariantId> {
    VariantId::parse(key).map_err(|_| Error::Malformed {
        path: format!("stock {key:?}"),
        reason: "not a variant id",
    })
}

pub(crate) fn missing(what: &str) -> Error {
    Error::Malformed {
        path: what.to_string(),
        reason: "missing",
    }
}

/// Runs an Automerge call on input bytes, turning its errors and any panic into `Unreadable`.
pub(crate) fn guarded<T>(
    f: impl FnOnce() -> std::result::Result<T, automerge::AutomergeError>,
) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Error::Unreadable {
            reason: e.to_string(),
        }),
        Err(_) => Err(Error::Unreadable {
            reason: "the data could not be decoded".into(),
        }),
    }
}
