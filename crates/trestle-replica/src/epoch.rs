//! Epochs: bounding the cost of history. Automerge's cost to apply a change grows with the
//! document's history (automerge#1042), so the shop document is replaced now and then by a new
//! epoch document whose genesis holds the current values. The old epoch's bytes are the audit
//! trail (the caller stores them). Late changes made in the old epoch by a till that was offline
//! across the rebase are carried into the new epoch, once. See `docs/replica.md`.

use std::collections::BTreeMap;

use automerge::{
    transaction::{CommitOptions, Transactable},
    AutoCommit, ChangeHash, ReadDoc,
};

use crate::error::{Error, Result};
use crate::ids::{Cause, Holder};
use crate::replica::{write_genesis_root, Role, ShopReplica};
use crate::schema::{
    copy_entry, keys, read_hashes, read_int, read_map, read_str, write_hashes, K_FREE, K_HELD,
};
use crate::sheets::cell_key;

/// How often a replica's creator starts a new epoch: every this many actions (changes made or
/// applied). The cost of applying a change, of `save_incremental` and of fetching a change's bytes
/// grows with the history of the epoch's document (automerge#1042; see the cost table in
/// `docs/replica.md`), so rebasing this often keeps a sale and its durable bytes at the cost of a
/// near-fresh document however long the shop has traded.
pub const REBASE_EVERY: u64 = 500;

/// How often a till writes a full snapshot of its epoch's document: every this many actions. The
/// till loads the snapshot plus the change bytes stored after it (at most `SNAPSHOT_EVERY - 1`),
/// so start-up cost stays bounded; applying stored changes costs more the longer the epoch's
/// history (see `docs/replica.md`). It divides `REBASE_EVERY`, so every rebase falls on a
/// snapshot boundary (the new epoch's saved genesis is that snapshot).
pub const SNAPSHOT_EVERY: u64 = 100;

/// The closed epoch's document, kept as the audit trail and as the place where late changes of
/// that epoch are merged before they are carried.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Archive {
    pub epoch: u64,
    /// The heads the new epoch's genesis captured.
    pub heads: Vec<ChangeHash>,
    /// The full saved document (`ShopReplica::load` opens it again).
    pub bytes: Vec<u8>,
}

impl ShopReplica {
    /// The old-epoch heads the genesis captured (empty in epoch 0).
    pub fn prev_heads(&self) -> Result<Vec<ChangeHash>> {
        read_hashes(&self.doc, &self.roots.epoch, "prev_heads")
    }

    /// The old-epoch heads whose changes are already counted in this epoch (the genesis, then
    /// every carry).
    pub fn carried_through(&self) -> Result<Vec<ChangeHash>> {
        read_hashes(&self.doc, &self.roots.epoch, "carried_through")
    }

    /// True when every holder with counters has acknowledged exactly this replica's heads, so a
    /// rebase will not leave anyone's changes behind (a till alone may rebase whenever it likes).
    pub fn ready_to_rebase(&mut self, acked: &BTreeMap<Holder, Vec<ChangeHash>>) -> Result<bool> {
        let heads = self.heads();
        for h in self.holders()? {
            if h == self.holder {
                continue;
            }
            let mut theirs = acked.get(&h).cloned().unwrap_or_default();
            theirs.sort();
            if theirs != heads {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Starts the next epoch: a new document whose one genesis change holds the catalog, every
    /// counter with its current value, the open reservations, the events, the epoch number and
    /// this document's heads. Returns the new replica and this epoch's archive. Creator only.
    pub fn rebase(&mut self) -> Result<(ShopReplica, Archive)> {
        if self.role != Role::Creator {
            return Err(Error::NotCreator {
                action: "start a new stock period",
            });
        }
        let heads = self.heads();
        let number = self.epoch + 1;
        let mut doc = AutoCommit::new().with_actor(self.holder.actor());
        write_genesis_root(&mut doc, self.shop, self.holder, number, &heads)?;
        let mut next = ShopReplica::from_doc(doc, self.holder)?;
        let src = &self.doc;
        let (roots, dst) = (next.roots.clone(), &mut next.doc);
        for key in keys(src, &self.roots.catalog, None) {
            copy_entry(src, &self.roots.catalog, &key, None, dst, &roots.catalog)?;
        }
        for key in keys(src, &self.roots.stock, None) {
            copy_entry(src, &self.roots.stock, &key, None, dst, &roots.stock)?;
        }
        // The sales sheets end with the epoch: what they add goes into the new counters.
        for (&(variant, holder), &by) in self.sheets.slots() {
            if by == 0 {
                continue;
            }
            let per = read_map(dst, &roots.stock, &variant.to_string(), None)?;
            let cell = match per {
                Some(per) => read_map(dst, &per, &holder.to_string(), None)?,
                None => None,
            };
            let cell = cell.ok_or_else(|| crate::replica::missing("a sheet's stock cell"))?;
            dst.increment(&cell, K_FREE, by)?;
        }
        for key in keys(src, &self.roots.events, None) {
            copy_entry(src, &self.roots.events, &key, None, dst, &roots.events)?;
        }
        for key in keys(src, &self.roots.reservations, None) {
            let Some(r) = read_map(src, &self.roots.reservations, &key, None)? else {
                continue;
            };
            let status = read_str(src, &r, "status", None)?.unwrap_or_default();
            if !matches!(status.as_str(), "collected" | "cancelled" | "expired") {
                copy_entry(
                    src,
                    &self.roots.reservations,
                    &key,
                    None,
                    dst,
                    &roots.reservations,
                )?;
            }
        }
        dst.commit_with(CommitOptions::default().with_message(format!("setup:genesis:{number}")));
        let archive = Archive {
            epoch: self.epoch,
            heads,
            bytes: self.doc.save(),
        };
        Ok((next, archive))
    }

    /// Carries into this (new) epoch the changes of the previous epoch that it does not count yet
    /// — late changes of a till that kept working in the old epoch — as ONE change
    /// `carry:<old epoch>:<holder>`: each counter moves by (its value in the merged old document)
    /// − (its value at the heads already carried), and reservations and count records touched by
    /// those changes are copied. `old` is the archive with the till's late changes merged into
    /// it. Idempotent: the carried heads are recorded, so carrying again finds nothing (`None`).
    /// Creator only.
    pub fn carry_over(
        &mut self,
        old: &mut ShopReplica,
        holder: Holder,
    ) -> Result<Option<ChangeHash>> {
        if self.role != Role::Creator {
            return Err(Error::NotCreator {
                action: "carry offline sales into the new stock period",
            });
        }
        if old.shop != self.shop {
            return Err(Error::ForeignDocument);
        }
        if old.epoch + 1 != self.epoch {
            return Err(Error::EpochMismatch {
                ours: self.epoch,
                theirs: old.epoch,
            });
        }
        let base = self.carried_through()?;
        if old.doc.get_changes(&base).is_empty() {
            return Ok(None);
        }
        let now = old.heads();
        // Counter deltas, read before writing so a failure writes nothing. A counter's value
        // includes the sales sheets, then and now.
        let sheets_then = old.sheet_sums_at(&base)?;
        let mut plan = Vec::new();
        for (variant, cells) in old.cells_by_variant()? {
            for (h, cell) in cells {
                for field in [K_FREE, K_HELD] {
                    let mut then = read_int(&old.doc, &cell, field, Some(&base))?.unwrap_or(0);
                    if field == K_FREE {
                        then += cell_key(&cell)
                            .and_then(|k| sheets_then.get(&k).copied())
                            .unwrap_or(0);
                    }
                    let delta = old.counter(&cell, field)? - then;
                    if delta != 0 {
                        plan.push((self.cell(variant, h)?, field, delta));
                    }
                }
            }
        }
        let touched = |map: &automerge::ObjId| -> Result<Vec<String>> {
            let mut out = Vec::new();
            for key in keys(&old.doc, map, None) {
                let at_base = read_map(&old.doc, map, &key, Some(&base))?;
                let changed = match (at_base, read_map(&old.doc, map, &key, None)?) {
                    (None, _) => true,
                    (Some(_), None) => false,
                    (Some(_), Some(id)) => {
                        old.doc.hydrate(&id, Some(&base))? != old.doc.hydrate(&id, None)?
                    }
                };
                if changed {
                    out.push(key);
                }
            }
            Ok(out)
        };
        let reservations = touched(&old.roots.reservations)?;
        let counts = touched(&old.roots.counts)?;
        let (roots, src_roots) = (self.roots.clone(), old.roots.clone());
        let src = &old.doc;
        let hash = self.write(
            Cause::Carry {
                from: old.epoch,
                holder,
            },
            |doc| {
                for (cell, field, by) in &plan {
                    doc.increment(cell, *field, *by)?;
                }
                for key in &reservations {
                    copy_entry(
                        src,
                        &src_roots.reservations,
                        key,
                        None,
                        doc,
                        &roots.reservations,
                    )?;
                }
                for key in &counts {
                    copy_entry(src, &src_roots.counts, key, None, doc, &roots.counts)?;
                }
                write_hashes(doc, &roots.epoch, "carried_through", &now)
            },
        )?;
        Ok(Some(hash))
    }

    /// Moves this holder to the next epoch: loads `new_epoch_bytes` (from the creator) and checks
    /// that every change this holder made in this epoch is counted there. If the new epoch does
    /// not yet carry them — or names old heads this replica has not seen (merge the creator's
    /// archive first) — `CarryPending`; keep working in this epoch and sync again.
    pub fn adopt_epoch(&mut self, new_epoch_bytes: &[u8]) -> Result<ShopReplica> {
        let next = ShopReplica::load(self.holder, new_epoch_bytes, &[])?;
        if next.shop != self.shop {
            return Err(Error::ForeignDocument);
        }
        if next.epoch != self.epoch + 1 {
            return Err(Error::EpochMismatch {
                ours: self.epoch,
                theirs: next.epoch,
            });
        }
        let carried = next.carried_through()?;
        let pending = || Error::CarryPending { epoch: self.epoch };
        if !crate::bulk::holds_all(&self.doc, &carried) {
            return Err(pending());
        }
        let me = self.holder.actor();
        if self
            .doc
            .get_changes(&carried)
            .iter()
            .any(|c| c.actor_id() == &me)
        {
            return Err(pending());
        }
        Ok(next)
    }

    /// Opens an archived epoch (e.g. to merge a late till's changes into it, or to audit it).
    pub fn open_archive(holder: Holder, archive: &[u8]) -> Result<ShopReplica> {
        ShopReplica::load(holder, archive, &[])
    }

    /// The epoch number recorded in a document's bytes, without keeping it (to route bytes).
    pub fn epoch_of(bytes: &[u8]) -> Result<u64> {
        let doc = crate::replica::guarded(|| AutoCommit::load(bytes))?;
        let epoch = read_map(&doc, &automerge::ROOT, crate::schema::K_EPOCH, None)?
            .ok_or_else(|| crate::replica::missing("epoch"))?;
        let n = read_int(&doc, &epoch, "number", None)?.unwrap_or(0);
        u64::try_from(n).map_err(|_| crate::replica::missing("epoch number"))
    }
}
