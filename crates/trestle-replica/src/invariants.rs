//! Invariants checked after every merge, and the audit of a till's ledger against the counter
//! changes its actor made. A violation is a [`Conflict`] value for a person to resolve — never a
//! panic, never merged away.
//!
//! The audit itself ([`AuditTrail`], [`audit_ledger`]) is in `audit.rs`, re-exported here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::{
    hydrate,
    legacy::{Key, ObjectId, OpType},
    ActorId, Change, ChangeHash, ObjId as ExId, Prop, ReadDoc, ScalarValue,
};
use trestle_core::catalog::Policy;
use trestle_core::ids::VariantId;

pub use crate::audit::{audit_ledger, AuditTrail};
use crate::error::{Error, Result};
use crate::ids::Holder;
use crate::replica::parse_variant;
use crate::replica::ShopReplica;
use crate::schema::{keys, malformed, read_map, K_CATALOG, K_FREE, K_HELD, K_STOCK};
use crate::sheets::{cell_key, CellKey};
use crate::walk::WALK_FROM;

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
/// reported as `MadeToOrderShort`; sorted by (variant, holder). Reads the whole stock map in one
/// pass (one `hydrate`) and the catalog only for variants with a negative counter, so its cost
/// grows with the number of counters (~5 ms for 400): after a merge the replica runs
/// [`check_merged`] instead, which reads only what the merge touched. This one is for the whole
/// picture: after `load`, `adopt_epoch` or a rebase, and for the audit.
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
            let mut free = counter_value(cell.get(K_FREE))?;
            let held = counter_value(cell.get(K_HELD))?;
            let variant = parse_variant(key)?;
            let holder = Holder::parse(holder)?;
            free += replica.sheets.slot(variant, holder);
            out.extend(judge(replica, variant, holder, free, held));
        }
    }
    // `hydrate` gives a hash map: sort so the report does not depend on it.
    out.sort_by_key(|c| (c.variant, c.holder));
    Ok(out)
}

/// The conflict, if any, of one holder's counters of one variant.
fn judge(
    replica: &ShopReplica,
    variant: VariantId,
    holder: Holder,
    free: i64,
    held: i64,
) -> Option<Conflict> {
    if free >= 0 && held >= 0 {
        return None;
    }
    let policy = match replica.rule(variant) {
        Ok(Some(p)) => p,
        Ok(None) => return None,
        // Counters without a catalog entry: judge them strictly.
        Err(_) => Policy::Deny,
    };
    let facts = vec![("free", free.to_string()), ("held", held.to_string())];
    Some(if held < 0 || policy == Policy::Deny {
        Conflict {
            kind: ConflictKind::NegativeStock,
            variant,
            holder,
            facts,
            resolutions: vec![Resolution::RecountStock, Resolution::ContactCustomer],
        }
    } else {
        Conflict {
            kind: ConflictKind::MadeToOrderShort,
            variant,
            holder,
            facts,
            resolutions: vec![Resolution::MakeMore, Resolution::ContactCustomer],
        }
    })
}

/// The check after a merge: [`check_stock`] restricted to the cells [`touched_cells`] names —
/// the same conflicts, in the same order, for those cells. The escrow rule makes that enough: a
/// counter only moves through operations, so one that was not negative before the merge and that
/// no merged operation touched is not negative after it. (A counter that was already negative
/// was reported by the merge that made it so — or by a `check_stock` after `load` — and is
/// reported again whenever a later merge touches it.) Costs what the merged changes cost to
/// decode plus one read per touched cell, however many counters the document holds.
pub fn check_merged(replica: &mut ShopReplica, before: &[ChangeHash]) -> Result<Vec<Conflict>> {
    let sheets = replica.refresh_sheets()?;
    Ok(check_merged_from(replica, before, None, sheets)?.conflicts)
}

/// What the post-merge check found: the conflicts, the cells the merged changes touched (sorted
/// by variant and holder), and whether they did nothing but operate on stock counters — then
/// the catalog, the reservations and the events are as they were, and what a caller derives
/// from them (a till's catalog tables, the hub's cached catalog) need not be read again.
#[derive(Clone, Debug, Default)]
pub(crate) struct MergedCheck {
    pub conflicts: Vec<Conflict>,
    pub touched: Vec<(VariantId, Holder)>,
    pub only_counters: bool,
}

/// [`check_merged`], taking the merged changes from `bytes` (what `merge_bytes` was given) where
/// they are there: Automerge rebuilds a change from the document at a cost that grows with the
/// epoch's history (~2 ms at 10,000 changes), while parsing the bytes costs ~20 µs. `sheets`:
/// the cells the sales sheets just counted moved (`refresh_sheets`).
pub(crate) fn check_merged_from(
    replica: &mut ShopReplica,
    before: &[ChangeHash],
    bytes: Option<&[u8]>,
    sheets: Vec<(VariantId, Holder, ExId)>,
) -> Result<MergedCheck> {
    let mut found = touched(replica, before, bytes)?;
    if found.stock_untouched {
        // The stock map's values are as they were: a walk read before the merge still holds.
        replica.walk_still_holds(before);
    }
    if !sheets.is_empty() {
        let mut all: BTreeMap<(VariantId, Holder), Option<ExId>> = found
            .cells
            .into_iter()
            .map(|(v, h, c)| ((v, h), c))
            .collect();
        for (v, h, cell) in sheets {
            let slot = all.entry((v, h)).or_insert(None);
            if slot.is_none() {
                *slot = Some(cell);
            }
        }
        found.cells = all.into_iter().map(|((v, h), c)| (v, h, c)).collect();
    }
    let mut out = MergedCheck {
        only_counters: found.only_counters,
        touched: Vec::with_capacity(found.cells.len()),
        conflicts: Vec::new(),
    };
    // Many cells are read from one walk of the stock map (the kept one while it holds: a day's
    // sheets merged leave it good), a few one by one.
    let walk = replica.walk_at_heads(found.cells.len() >= WALK_FROM);
    for (variant, holder, cell) in found.cells {
        out.touched.push((variant, holder));
        let cell = match cell {
            Some(cell) => cell,
            None => match replica.cell(variant, holder) {
                Ok(cell) => cell,
                Err(Error::NoStock { .. }) => continue,
                Err(e) => return Err(e),
            },
        };
        let walked = walk
            .as_ref()
            .and_then(|w| cell_key(&cell).and_then(|k| w.raw(&k)));
        let (free, held) = match walked {
            Some(raw) => raw,
            None => {
                // Read as `check_stock` reads them (one hydrate of the cell: cheaper than two
                // gets).
                let hydrate::Value::Map(map) = replica.doc.hydrate(&cell, None)? else {
                    return Err(malformed("stock"));
                };
                (
                    counter_value(map.get(K_FREE))?,
                    counter_value(map.get(K_HELD))?,
                )
            }
        };
        let free = free + replica.sheets.slot(variant, holder);
        out.conflicts
            .extend(judge(replica, variant, holder, free, held));
    }
    Ok(out)
}

/// Which cell each counter-holding map is, by object id (resolved once per cell from its path).
pub(crate) type CellIndex = HashMap<(u64, ActorId), (VariantId, Holder)>;

/// The (variant, holder) cells whose counters the changes after `before` operated on (an
/// increment, or a put such as a genesis or a new holder's counters), plus every cell of a
/// variant whose stock rule (`policy`, `track_inventory`) they set. Sorted by (variant, holder),
/// the order [`check_stock`] reports in.
pub fn touched_cells(
    replica: &mut ShopReplica,
    before: &[ChangeHash],
) -> Result<Vec<(VariantId, Holder)>> {
    Ok(touched(replica, before, None)?
        .cells
        .into_iter()
        .map(|(v, h, _)| (v, h))
        .collect())
}

/// The cells [`touched_cells`] names, each with the cell's map id when a merged operation named
/// it, and whether every merged operation was an increment of a known cell's counter.
struct Touched {
    cells: Vec<(VariantId, Holder, Option<ExId>)>,
    only_counters: bool,
    /// Every operation was on the sales sheets map.
    stock_untouched: bool,
}

fn touched(
    replica: &mut ShopReplica,
    before: &[ChangeHash],
    bytes: Option<&[u8]>,
) -> Result<Touched> {
    let mut counters = BTreeSet::new();
    let mut rules = BTreeSet::new();
    let mut only_counters = true;
    let mut stock_untouched = true;
    let sheets = replica.roots.sheets.as_ref().and_then(cell_key);
    for change in merged_changes(replica, before, bytes) {
        let (found, others) = touches_and_others(&change, sheets.as_ref());
        only_counters &= others == 0;
        stock_untouched &= others == 0 && found.iter().all(|t| matches!(t, Touch::Sheet { .. }));
        for touch in found {
            match touch {
                Touch::Counter { obj, by, .. } => {
                    only_counters &= by.is_some();
                    counters.insert(obj)
                }
                Touch::Rule { obj } => {
                    only_counters = false;
                    rules.insert(obj)
                }
                // Counted by `refresh_sheets`, which names the cells a sheet moves.
                Touch::Sheet { .. } => false,
            };
        }
    }
    let mut out = BTreeMap::new();
    let mut add = |variant: VariantId, holder: Holder, cell: Option<ExId>| {
        let slot = out.entry((variant, holder)).or_insert(None);
        if slot.is_none() {
            *slot = cell;
        }
    };
    // The first unknown cell indexes every cell in one walk of the stock map: resolving each
    // one's path instead costs a search of the whole document per cell.
    let mut indexed = false;
    for obj in counters {
        let id = ExId::Id(obj.0, obj.1.clone(), 0);
        if !indexed && !replica.cell_index.contains_key(&obj) {
            replica.index_cells();
            indexed = true;
        }
        if let Some(&(variant, holder)) = replica.cell_index.get(&obj) {
            add(variant, holder, Some(id));
            continue;
        }
        only_counters = false;
        let path = object_path(replica, &id);
        if let [(root, Prop::Map(k)), (stock, Prop::Map(v)), (_, Prop::Map(h))] = path.as_slice() {
            if *root == ExId::Root && k == K_STOCK && *stock == replica.roots.stock {
                let (variant, holder) = (parse_variant(v)?, Holder::parse(h)?);
                replica.cell_index.insert(obj, (variant, holder));
                add(variant, holder, Some(id));
            }
        }
    }
    for (ctr, actor) in rules {
        let path = object_path(replica, &ExId::Id(ctr, actor, 0));
        if let [(root, Prop::Map(k)), (catalog, Prop::Map(v))] = path.as_slice() {
            if *root == ExId::Root && k == K_CATALOG && *catalog == replica.roots.catalog {
                let variant = parse_variant(v)?;
                if let Some(per) = read_map(&replica.doc, &replica.roots.stock, v, None)? {
                    for h in keys(&replica.doc, &per, None) {
                        add(variant, Holder::parse(&h)?, None);
                    }
                }
            }
        }
    }
    Ok(Touched {
        cells: out.into_iter().map(|((v, h), cell)| (v, h, cell)).collect(),
        only_counters,
        stock_untouched,
    })
}

/// The changes that became visible since `before`: taken from `bytes` when they are there,
/// otherwise rebuilt from the document (changes queued earlier for a missing dependency, a whole
/// document's bytes, `merge`, sync).
fn merged_changes(
    replica: &mut ShopReplica,
    before: &[ChangeHash],
    bytes: Option<&[u8]>,
) -> Vec<Change> {
    let mut parsed = bytes.map(change_chunks).unwrap_or_default();
    let hashes: Vec<ChangeHash> = replica
        .doc
        .get_changes_meta(before)
        .iter()
        .map(|m| m.hash)
        .collect();
    if hashes.iter().all(|h| parsed.contains_key(h)) {
        return hashes.iter().filter_map(|h| parsed.remove(h)).collect();
    }
    replica.doc.get_changes(before)
}

/// The change chunks of `bytes` (concatenated chunks, as `save_after` and `last_change_bytes`
/// give), by hash; stops at the first chunk that is not a plain change (e.g. a document).
fn change_chunks(bytes: &[u8]) -> HashMap<ChangeHash, Change> {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    const CHANGE: u8 = 1;
    let mut out = HashMap::new();
    let mut rest = bytes;
    while rest.get(..4) == Some(&MAGIC[..]) && rest.get(8) == Some(&CHANGE) {
        let Some((len, used)) = rest.get(9..).and_then(leb128) else {
            break;
        };
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|len| len.checked_add(9 + used))
            .filter(|end| *end <= rest.len())
        else {
            break;
        };
        let chunk = &rest[..end];
        match std::panic::catch_unwind(|| Change::try_from(chunk)) {
            Ok(Ok(change)) => {
                out.insert(change.hash(), change);
            }
            _ => break,
        }
        rest = &rest[end..];
    }
    out
}

/// An unsigned LEB128 number at the start of `bytes` and how many bytes it took.
fn leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().take(10).enumerate() {
        value |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The visible path from the root to an object (empty when it is not visible or not known).
fn object_path(replica: &ShopReplica, id: &ExId) -> Vec<(ExId, Prop)> {
    match replica.doc.parents(id) {
        Ok(parents) => parents.visible_path().unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// An operation of a change on a key the checks care about.
pub(crate) enum Touch {
    /// Any operation on the `free` (`held: false`) or `held` counter of the map `obj`; `by` is
    /// the amount of an increment (`None` for a put or a delete).
    Counter {
        obj: (u64, ActorId),
        held: bool,
        by: Option<i64>,
    },
    /// An operation on a stock rule field (`policy`, `track_inventory`) of the map `obj`.
    Rule { obj: (u64, ActorId) },
    /// A sales sheet put (its bytes; `None` for anything but bytes, which is refused on merge).
    Sheet { bytes: Option<Vec<u8>> },
}

/// Decodes a change's operations on counters, stock rules and sales sheets (`sheets`: the sheets
/// map's id): shared by the audit (which sums a holder's own `free` moves) and the post-merge
/// check (which reads the cells touched).
pub(crate) fn touches(change: &Change, sheets: Option<&CellKey>) -> Vec<Touch> {
    touches_and_others(change, sheets).0
}

/// [`touches`], and how many of the change's operations were on anything else.
fn touches_and_others(change: &Change, sheets: Option<&CellKey>) -> (Vec<Touch>, usize) {
    let mut out = Vec::new();
    let mut others = 0;
    for op in change.decode().operations {
        let (ObjectId::Id(opid), Key::Map(key)) = (&op.obj, &op.key) else {
            others += 1;
            continue;
        };
        let obj = (opid.counter(), opid.actor().clone());
        if sheets == Some(&obj) {
            out.push(Touch::Sheet {
                bytes: match op.action {
                    OpType::Put(ScalarValue::Bytes(b)) => Some(b),
                    _ => None,
                },
            });
            continue;
        }
        match key.as_str() {
            K_FREE | K_HELD => out.push(Touch::Counter {
                obj,
                held: key.as_str() == K_HELD,
                by: match op.action {
                    OpType::Increment(by) => Some(by),
                    _ => None,
                },
            }),
            "policy" | "track_inventory" => out.push(Touch::Rule { obj }),
            _ => others += 1,
        }
    }
    (out, others)
}

pub(crate) fn counter_value(v: Option<&hydrate::Value>) -> Result<i64> {
    match v {
        Some(hydrate::Value::Scalar(ScalarValue::Counter(c))) => Ok(i64::from(c)),
        Some(hydrate::Value::Scalar(ScalarValue::Int(n))) => Ok(*n),
        _ => Err(malformed("stock counter")),
    }
}

impl ShopReplica {
    /// The per-variant map of counters by holder, for the invariant check and epochs.
    pub(crate) fn cells_by_variant(&self) -> Result<BTreeMap<VariantId, Vec<(Holder, ExId)>>> {
        let mut out = BTreeMap::new();
        for key in keys(&self.doc, &self.roots.stock, None) {
            let variant = parse_variant(&key)?;
            let mut cells = Vec::new();
            if let Some(per) = read_map(&self.doc, &self.roots.stock, &key, None)? {
                for h in keys(&self.doc, &per, None) {
                    let cell = read_map(&self.doc, &per, &h, None)?
                        .ok_or_else(|| crate::replica::missing(&h))?;
                    cells.push((Holder::parse(&h)?, cell));
                }
            }
            out.insert(variant, cells);
        }
        Ok(out)
    }
}
