//! Invariants checked after every merge, and the audit of a till's ledger against the counter
//! changes its actor made. A violation is a [`Conflict`] value for a person to resolve — never a
//! panic, never merged away.
//!
//! # The audit
//! The audit walks the document's change history: each change's author is a holder (actor id =
//! holder id) and its message names the cause. Decoding the change's `increment` operations on
//! the author's own `free` counters gives exact per-holder, per-cause, per-variant deltas; the
//! net units a till sold are `−Σ sale deltas − Σ refund/void deltas`. [`AuditTrail`] is
//! incremental (it remembers the heads it has read and only decodes newer changes) and a
//! document lives for one epoch only, so the cost is bounded by one epoch's changes. Walking
//! history rather than keeping audit counters in the document means the audit checks what the
//! counters really did, not a second copy a buggy till could write inconsistently.

use std::collections::{BTreeMap, HashMap};

use automerge::{
    hydrate, legacy::ObjectId, legacy::OpType, ActorId, ChangeHash, ObjId as ExId, ReadDoc,
    ScalarValue,
};
use trestle_core::catalog::Policy;
use trestle_core::ids::VariantId;

use crate::error::Result;
use crate::ids::{Cause, CauseKind, Holder};
use crate::replica::parse_variant;
use crate::replica::ShopReplica;
use crate::schema::{malformed, K_FREE, K_HELD};

/// What kind of problem a person must decide.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConflictKind {
    /// A counter of a `deny` variant (or any `held`) is below zero: an oversell.
    NegativeStock,
    /// A made-to-order (`continue`) variant was sold below zero: make or source the units.
    MadeToOrderShort,
    /// A till's ledger and the counter changes it made disagree.
    AuditMismatch,
}

impl ConflictKind {
    pub fn code(&self) -> &'static str {
        match self {
            ConflictKind::NegativeStock => "conflict.negative_stock",
            ConflictKind::MadeToOrderShort => "conflict.made_to_order_short",
            ConflictKind::AuditMismatch => "conflict.audit_mismatch",
        }
    }
}

/// What a person may do about a conflict.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Resolution {
    /// Count the shelf and record a correction.
    RecountStock,
    /// Contact the customer: refund or delay the order.
    ContactCustomer,
    /// Make or order the missing units.
    MakeMore,
    /// Review the till's sales for the event.
    ReviewLedger,
}

impl Resolution {
    pub fn code(&self) -> &'static str {
        match self {
            Resolution::RecountStock => "recount_stock",
            Resolution::ContactCustomer => "contact_customer",
            Resolution::MakeMore => "make_more",
            Resolution::ReviewLedger => "review_ledger",
        }
    }
}

/// A problem found by a check: its kind, the facts, and the resolutions offered.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Conflict {
    pub kind: ConflictKind,
    pub variant: VariantId,
    pub holder: Holder,
    pub facts: Vec<(&'static str, String)>,
    pub resolutions: Vec<Resolution>,
}

/// Every counter of a `deny` variant ≥ 0, every `held` ≥ 0; `continue` variants below zero are
/// reported as `MadeToOrderShort`. Reads the stock map in one pass (one `hydrate`) and the
/// catalog only for variants with a negative counter, so it is cheap enough to run after every
/// merge.
pub fn check_stock(replica: &ShopReplica) -> Result<Vec<Conflict>> {
    let mut out = Vec::new();
    let hydrate::Value::Map(stock) = replica.doc.hydrate(&replica.roots.stock, None)? else {
        return Err(malformed("stock"));
    };
    for (key, per) in stock.iter() {
        let hydrate::Value::Map(per) = &per.value else {
            return Err(malformed("stock"));
        };
        for (holder, cell) in per.iter() {
            let hydrate::Value::Map(cell) = &cell.value else {
                return Err(malformed("stock"));
            };
            let free = counter_value(cell.get(K_FREE))?;
            let held = counter_value(cell.get(K_HELD))?;
            if free >= 0 && held >= 0 {
                continue;
            }
            let variant = parse_variant(key)?;
            let policy = match replica.rule(variant) {
                Ok(Some(p)) => p,
                Ok(None) => continue,
                // Counters without a catalog entry: judge them strictly.
                Err(_) => Policy::Deny,
            };
            let holder = Holder::parse(holder)?;
            let facts = vec![("free", free.to_string()), ("held", held.to_string())];
            if held < 0 || policy == Policy::Deny {
                out.push(Conflict {
                    kind: ConflictKind::NegativeStock,
                    variant,
                    holder,
                    facts,
                    resolutions: vec![Resolution::RecountStock, Resolution::ContactCustomer],
                });
            } else {
                out.push(Conflict {
                    kind: ConflictKind::MadeToOrderShort,
                    variant,
                    holder,
                    facts,
                    resolutions: vec![Resolution::MakeMore, Resolution::ContactCustomer],
                });
            }
        }
    }
    Ok(out)
}

fn counter_value(v: Option<&hydrate::Value>) -> Result<i64> {
    match v {
        Some(hydrate::Value::Scalar(ScalarValue::Counter(c))) => Ok(i64::from(c)),
        Some(hydrate::Value::Scalar(ScalarValue::Int(n))) => Ok(*n),
        _ => Err(malformed("stock counter")),
    }
}

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
        let mut read = 0;
        for change in &changes {
            read += 1;
            let Some(kind) = change.message().and_then(Cause::kind_of) else {
                continue;
            };
            let Some(author) = Holder::from_actor(change.actor_id()) else {
                continue;
            };
            for op in change.decode().operations {
                let OpType::Increment(by) = op.action else {
                    continue;
                };
                let ObjectId::Id(opid) = &op.obj else {
                    continue;
                };
                match &op.key {
                    automerge::legacy::Key::Map(k) if k.as_str() == K_FREE => {}
                    _ => continue,
                }
                let key = (opid.counter(), opid.actor().clone());
                if !self.cells.contains_key(&key) {
                    self.index(replica)?;
                }
                if let Some((variant, holder)) = self.cells.get(&key) {
                    if *holder == author {
                        *self.deltas.entry((author, kind, *variant)).or_insert(0) += by;
                    }
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
        for kind in [CauseKind::Sale, CauseKind::Refund, CauseKind::Void] {
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
