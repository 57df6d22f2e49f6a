//! The audit of a till's ledger against the counter changes its actor made. The audit walks
//! the document's change history: each change's author is a holder (actor id = holder id) and
//! its message names the cause. Decoding the change's `increment` operations on the author's own
//! `free` counters, and the sales sheets it wrote, gives exact per-holder, per-cause, per-variant
//! deltas; the net units a till
//! sold are `−Σ sale deltas − Σ refund/void deltas` (a folded `sales:` change counts as sales).
//! [`AuditTrail`] is incremental (it remembers the heads it has read and only decodes newer
//! changes) and a document lives for one epoch only, so the cost is bounded by one epoch's
//! changes. Walking history rather than keeping audit counters in the document means the audit
//! checks what the counters really did, not a second copy a buggy till could write
//! inconsistently.

use std::collections::{BTreeMap, HashMap};

use automerge::{ActorId, ChangeHash, ObjId as ExId};
use trestle_core::ids::VariantId;

use crate::error::Result;
use crate::ids::{Cause, CauseKind, Holder};
use crate::invariants::{touches, Conflict, ConflictKind, Resolution, Touch};
use crate::replica::ShopReplica;
use crate::sheets::cell_key;

/// The running tally of one epoch document's history: per holder, cause and variant, the sum of
/// the increments the holder's own changes made to its own `free` counter.
#[derive(Clone, Debug, Default)]
pub struct AuditTrail {
    through: Vec<ChangeHash>,
    cells: HashMap<(u64, ActorId), (VariantId, Holder)>,
    deltas: BTreeMap<(Holder, CauseKind, VariantId), i64>,
}

impl AuditTrail {
    pub fn new() -> AuditTrail {
        AuditTrail::default()
    }

    /// Reads the changes of `replica` not yet read. Returns how many were read.
    pub fn update(&mut self, replica: &mut ShopReplica) -> Result<usize> {
        let changes = replica.doc.get_changes(&self.through);
        let sheets = replica.roots.sheets.as_ref().and_then(cell_key);
        let mut read = 0;
        for change in &changes {
            read += 1;
            let Some(kind) = change.message().and_then(Cause::kind_of) else {
                continue;
            };
            let Some(author) = Holder::from_actor(change.actor_id()) else {
                continue;
            };
            for touch in touches(change, sheets.as_ref()) {
                match touch {
                    Touch::Counter {
                        obj: key,
                        held: false,
                        by: Some(by),
                    } => {
                        if !self.cells.contains_key(&key) {
                            self.index(replica)?;
                        }
                        if let Some((variant, holder)) = self.cells.get(&key) {
                            if *holder == author {
                                *self.deltas.entry((author, kind, *variant)).or_insert(0) += by;
                            }
                        }
                    }
                    // A sheet moves only its author's cells (checked when it was merged).
                    Touch::Sheet { bytes: Some(bytes) } => {
                        for (_, variant, _, by) in replica.sheet_entries(author, &bytes)? {
                            *self.deltas.entry((author, kind, variant)).or_insert(0) += by;
                        }
                    }
                    _ => {}
                }
            }
        }
        self.through = replica.heads();
        Ok(read)
    }

    fn index(&mut self, replica: &ShopReplica) -> Result<()> {
        for (variant, cells) in replica.cells_by_variant()? {
            for (holder, cell) in cells {
                if let ExId::Id(ctr, actor, _) = cell {
                    self.cells.insert((ctr, actor), (variant, holder));
                }
            }
        }
        Ok(())
    }

    /// The sum of `holder`'s own `free` increments in changes of `kind`, per variant.
    pub fn deltas(&self, holder: Holder, kind: CauseKind) -> BTreeMap<VariantId, i64> {
        self.deltas
            .iter()
            .filter(|((h, k, _), _)| *h == holder && *k == kind)
            .map(|((_, _, v), d)| (*v, *d))
            .collect()
    }

    /// Net units `holder` sold per variant according to its changes: sales minus refunds and
    /// voids put back.
    pub fn net_sold(&self, holder: Holder) -> BTreeMap<VariantId, i64> {
        let mut out: BTreeMap<VariantId, i64> = BTreeMap::new();
        for kind in [
            CauseKind::Sale,
            CauseKind::Refund,
            CauseKind::Void,
            CauseKind::Sales,
        ] {
            for (v, d) in self.deltas(holder, kind) {
                *out.entry(v).or_insert(0) -= d;
            }
        }
        out
    }

    /// Adds another epoch's tally (the audit across epochs is the sum of the epochs' tallies;
    /// every change lives in exactly one epoch document).
    pub fn absorb(&mut self, other: &AuditTrail) {
        for (k, d) in &other.deltas {
            *self.deltas.entry(*k).or_insert(0) += d;
        }
    }
}

/// Compares a till's ledger (variant → net units sold, refunds and voids subtracted) with what
/// its changes did. Variants whose inventory is not tracked are skipped (the replica does not
/// count them). Each difference is an `AuditMismatch` conflict.
pub fn audit_ledger(
    replica: &ShopReplica,
    trail: &AuditTrail,
    holder: Holder,
    ledger: &BTreeMap<VariantId, i64>,
) -> Result<Vec<Conflict>> {
    let doc = trail.net_sold(holder);
    let mut variants: Vec<VariantId> = doc.keys().chain(ledger.keys()).copied().collect();
    variants.sort();
    variants.dedup();
    let mut out = Vec::new();
    for v in variants {
        if matches!(replica.rule(v), Ok(None)) {
            continue;
        }
        let in_doc = doc.get(&v).copied().unwrap_or(0);
        let in_ledger = ledger.get(&v).copied().unwrap_or(0);
        if in_doc != in_ledger {
            out.push(Conflict {
                kind: ConflictKind::AuditMismatch,
                variant: v,
                holder,
                facts: vec![
                    ("ledger_units", in_ledger.to_string()),
                    ("stock_units", in_doc.to_string()),
                    ("difference", (in_ledger - in_doc).to_string()),
                ],
                resolutions: vec![Resolution::ReviewLedger, Resolution::RecountStock],
            });
        }
    }
    Ok(out)
}
