//! Reading stock levels: one variant's (`stock_of`), every variant's (`levels`), and many cells
//! at once: ONE walk of the `stock` map (`Automerge::iter_at`) gives every cell's object id, its
//! (variant, holder) and its counters. Automerge visits a map's objects in one scan, 15–55 ms for
//! 2,000 variants × 4 holders here, where reading each cell on its own costs a search (a
//! `hydrate` of a variant's map ~20–60 µs, a `get` ~3 µs), so any read of more than a few
//! hundred cells — a market day's merge touches every variant — walks.
//!
//! The last walk is kept with the heads it was read at ([`Walked`]): a merge whose every
//! operation was on the sales sheets map (a till's folded day) leaves the stock map's values as
//! they were, so the walk moves on to the new heads; any other change — local or merged — moves
//! the heads without it, and the next read walks again. The sheets' sums are added at each read,
//! from the sheets as they are then. A till also keeps the walk with its fold base
//! (`fold.rs`): a fold that writes only a sheet leaves the stock map as the base had it, so the
//! walk read before the day holds for the folded document and the merges after it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use automerge::{
    iter::DocItem, ChangeHash, ObjId as ExId, ObjType, ReadDoc, ScalarValueRef, ValueRef,
};
use trestle_core::ids::VariantId;

use crate::error::Result;
use crate::ids::Holder;
use crate::invariants;
use crate::replica::{missing, parse_variant, HolderLevel, ShopReplica, VariantLevel};
use crate::schema::{keys, malformed, read_map};
use crate::schema::{K_FREE, K_HELD};
use crate::sheets::{cell_key, CellKey};

/// From how many variants a read walks the whole stock map instead of reading each one.
pub(crate) const WALK_FROM: usize = 200;

/// A cell found by the walk: its key, variant, holder, map id, and `free`/`held` as stored.
type RawCell = (CellKey, VariantId, Holder, ExId, Option<i64>, Option<i64>);

/// The cells of one walk, with an index by cell key (shared: a fold base keeps the same walk).
#[derive(Debug, Default)]
pub(crate) struct WalkCells {
    cells: Vec<RawCell>,
    by_key: HashMap<CellKey, usize>,
}

impl WalkCells {
    fn new(cells: Vec<RawCell>) -> WalkCells {
        let by_key = cells
            .iter()
            .enumerate()
            .map(|(i, c)| (c.0.clone(), i))
            .collect();
        WalkCells { cells, by_key }
    }

    /// A cell's `free` and `held` as stored when walked (`None` for a cell not walked or a
    /// counter missing).
    pub(crate) fn raw(&self, key: &CellKey) -> Option<(i64, i64)> {
        let c = &self.cells[*self.by_key.get(key)?];
        Some((c.4?, c.5?))
    }
}

/// The cells of the last walk and the heads (sorted) the document had when they were read.
pub(crate) type Walked = Option<(Vec<ChangeHash>, Arc<WalkCells>)>;

impl ShopReplica {
    /// Every stock cell, by its object id, with its counters as read (`None` when missing).
    /// Keys that are not variants or holders are skipped.
    fn walk_cells(&self) -> Vec<RawCell> {
        let stock = self.roots.stock.clone();
        let mut per_variant: HashMap<ExId, VariantId> = HashMap::new();
        let mut cells: Vec<(ExId, Holder, ExId)> = Vec::new();
        let mut values: HashMap<ExId, (Option<i64>, Option<i64>)> = HashMap::new();
        for item in self.doc.iter_at(&stock, None) {
            let DocItem::Map(m) = item.item else {
                continue;
            };
            match &m.value {
                ValueRef::Object(ObjType::Map) if *item.obj == stock => {
                    if let Ok(v) = parse_variant(&m.key) {
                        per_variant.insert(m.id(), v);
                    }
                }
                ValueRef::Object(ObjType::Map) => {
                    if let Ok(h) = Holder::parse(&m.key) {
                        cells.push(((*item.obj).clone(), h, m.id()));
                    }
                }
                ValueRef::Scalar(ScalarValueRef::Counter(n) | ScalarValueRef::Int(n)) => {
                    let slot = values.entry((*item.obj).clone()).or_default();
                    match m.key.as_ref() {
                        K_FREE => slot.0 = Some(*n),
                        K_HELD => slot.1 = Some(*n),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::with_capacity(cells.len());
        for (per, holder, cell) in cells {
            let (Some(&variant), Some(key)) = (per_variant.get(&per), cell_key(&cell)) else {
                continue;
            };
            let (free, held) = values.get(&cell).copied().unwrap_or_default();
            out.push((key, variant, holder, cell, free, held));
        }
        out
    }

    /// Makes the kept walk the document's as it is now: kept while its heads are the document's,
    /// otherwise walked again.
    fn walk_now(&mut self) {
        let heads = self.heads();
        if !matches!(&self.walked, Some((at, _)) if *at == heads) {
            let cells = Arc::new(WalkCells::new(self.walk_cells()));
            self.walked = Some((heads, cells));
        }
    }

    /// The kept walk's cells (none before the first walk).
    fn walked_cells(&self) -> &[RawCell] {
        self.walked
            .as_ref()
            .map_or(&[], |(_, c)| c.cells.as_slice())
    }

    /// The kept walk, if it was read at the document's current heads; with `walk` set, the
    /// stock map is walked now when it was not.
    pub(crate) fn walk_at_heads(&mut self, walk: bool) -> Option<Arc<WalkCells>> {
        if walk {
            self.walk_now();
        }
        let heads = self.heads();
        match &self.walked {
            Some((at, cells)) if *at == heads => Some(cells.clone()),
            _ => None,
        }
    }

    /// After a merge that touched nothing but the sales sheets map: a walk read at `before` holds
    /// at the new heads too.
    pub(crate) fn walk_still_holds(&mut self, before: &[ChangeHash]) {
        let mut before = before.to_vec();
        before.sort();
        let heads = self.heads();
        if let Some((at, _)) = &mut self.walked {
            if *at == before {
                *at = heads;
            }
        }
    }

    /// Every holder's stock of a variant, sorted by holder.
    pub fn stock_of(&self, variant: VariantId) -> Result<Vec<HolderLevel>> {
        let Some(per) = read_map(&self.doc, &self.roots.stock, &variant.to_string(), None)? else {
            return Ok(Vec::new());
        };
        // One hydrate of the variant's map: a get per counter costs a search each.
        holder_levels(variant, &self.doc.hydrate(&per, None)?, &self.sheets)
    }

    /// Stock levels of every variant with counters.
    pub fn levels(&self) -> Result<Vec<VariantLevel>> {
        let mut out = Vec::new();
        let variants = keys(&self.doc, &self.roots.stock, None)
            .iter()
            .map(|k| parse_variant(k))
            .collect::<Result<Vec<_>>>()?;
        let mut many = if variants.len() < WALK_FROM {
            self.each_of(&variants)?
        } else {
            levels_of(&self.walk_cells(), &self.sheets, &variants)?
        };
        for variant in variants {
            let holders = many.remove(&variant).unwrap_or_default();
            let on_hand = holders.iter().map(|l| l.free + l.held).sum();
            let available = holders
                .iter()
                .find(|l| l.holder == self.holder)
                .map_or(0, |l| l.free);
            out.push(VariantLevel {
                variant,
                on_hand,
                available,
                holders,
            });
        }
        Ok(out)
    }

    /// Every holder's stock of each of `variants` (sorted by holder), read from one walk (the
    /// kept one while it holds) when there are many of them; variants without counters are left
    /// out.
    pub fn stock_of_many(
        &mut self,
        variants: &[VariantId],
    ) -> Result<BTreeMap<VariantId, Vec<HolderLevel>>> {
        if variants.len() < WALK_FROM {
            return self.each_of(variants);
        }
        self.walk_now();
        levels_of(self.walked_cells(), &self.sheets, variants)
    }

    /// [`Self::stock_of`] of each variant.
    fn each_of(&self, variants: &[VariantId]) -> Result<BTreeMap<VariantId, Vec<HolderLevel>>> {
        let mut out = BTreeMap::new();
        for v in variants {
            let levels = self.stock_of(*v)?;
            if !levels.is_empty() {
                out.insert(*v, levels);
            }
        }
        Ok(out)
    }

    /// Adds every `stock[variant][holder]` cell to the cell index, from one walk of the stock
    /// map (a path per cell is a search each).
    pub(crate) fn index_cells(&mut self) {
        self.walk_now();
        if let Some((_, cells)) = &self.walked {
            for (key, variant, holder, ..) in &cells.cells {
                self.cell_index.insert(key.clone(), (*variant, *holder));
            }
        }
    }
}

/// The holders' levels of each of `variants` among the walked `cells`, with the sheets' sums.
fn levels_of(
    cells: &[RawCell],
    sheets: &crate::sheets::Sheets,
    variants: &[VariantId],
) -> Result<BTreeMap<VariantId, Vec<HolderLevel>>> {
    let wanted: std::collections::HashSet<&VariantId> = variants.iter().collect();
    let mut out: BTreeMap<VariantId, Vec<HolderLevel>> = BTreeMap::new();
    for (_, variant, holder, _, free, held) in cells {
        if wanted.contains(variant) {
            out.entry(*variant).or_default().push(HolderLevel {
                holder: *holder,
                free: free.ok_or_else(|| missing(K_FREE))? + sheets.slot(*variant, *holder),
                held: held.ok_or_else(|| missing(K_HELD))?,
            });
        }
    }
    for levels in out.values_mut() {
        levels.sort_by_key(|l| l.holder);
    }
    Ok(out)
}

/// The holders' levels of one variant from its hydrated `stock[variant]` map, by holder.
pub(crate) fn holder_levels(
    variant: VariantId,
    per: &automerge::hydrate::Value,
    sheets: &crate::sheets::Sheets,
) -> Result<Vec<HolderLevel>> {
    let automerge::hydrate::Value::Map(cells) = per else {
        return Err(malformed("stock"));
    };
    let mut out = Vec::new();
    for (key, cell) in cells.iter() {
        let holder = Holder::parse(key)?;
        let automerge::hydrate::Value::Map(cell) = &cell.value else {
            return Err(malformed("stock"));
        };
        let field = |name: &str| match cell.get(name) {
            None => Err(missing(name)),
            v => invariants::counter_value(v),
        };
        out.push(HolderLevel {
            holder,
            free: field(K_FREE)? + sheets.slot(variant, holder),
            held: field(K_HELD)?,
        });
    }
    out.sort_by_key(|l| l.holder);
    Ok(out)
}
