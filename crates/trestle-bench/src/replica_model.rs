//! The actors of the `replica` benchmark: a till working alone under the till's persistence
//! policy (change bytes per action, a snapshot every `SNAPSHOT_EVERY` actions, a rebase every
//! `REBASE_EVERY`), a hub + till pair of one shop where the hub rebases per the same policy and
//! the till follows, and the naive baseline: a plain Automerge document of the same shape with no
//! epochs. Every id is derived from a counter, so every run writes the same documents.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use automerge::{
    transaction::{CommitOptions, Transactable},
    AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT,
};
use trestle_core::catalog::{Policy, Qty};
use trestle_core::ids::{SaleId, TillId, VariantId};
use trestle_replica::ids::{CountId, TransferId};
use trestle_replica::{Holder, ShopId, ShopReplica, VariantFields, REBASE_EVERY, SNAPSHOT_EVERY};
use uuid::Uuid;

const SHOP: ShopId = ShopId(Uuid::from_u128(0x0190_a0b4_0000_7000_8000_5400_0000_0001));
/// The one till of the benchmark.
pub const TILL: Holder = Holder::Till(TillId(Uuid::from_u128(
    0x0190_a0b4_0000_7000_8000_7100_0000_0001,
)));
/// Units of every variant counted in at the start (at the hub, or at the till alone).
const OPENING_STOCK: i64 = 1_000_000;
/// Units of every variant the hub allocates to the till (the largest quantity of one line).
pub const TILL_STOCK: u32 = 100_000;

/// The benchmark's catalog: `n` tracked `deny` variants.
pub fn variants(n: usize) -> Vec<VariantId> {
    (0..n)
        .map(|i| {
            VariantId(Uuid::from_u128(
                0x0190_a0b4_0000_7000_8000_0a00_0000_0000 + i as u128,
            ))
        })
        .collect()
}

fn fields(i: usize) -> VariantFields {
    VariantFields {
        title: format!("Product {i}"),
        sku: Some(format!("SKU-{i:04}")),
        barcode: None,
        price_minor: 1250,
        tax_ppm: 200_000,
        policy: Policy::Deny,
        track_inventory: true,
    }
}

/// Deterministic ids: `prefix` tells the kinds apart, a counter the instances.
struct Ids {
    prefix: u128,
    next: u128,
}

impl Ids {
    fn new(prefix: u16) -> Ids {
        Ids {
            prefix: 0x0190_a0b4_0000_7000_9000_0000_0000_0000 | (u128::from(prefix) << 48),
            next: 0,
        }
    }
    fn next(&mut self) -> Uuid {
        self.next += 1;
        Uuid::from_u128(self.prefix | self.next)
    }
}

/// Sale number `k`: 2 lines, 1 unit of one variant and 2 of the next, cycling through the catalog.
fn sale_lines(variants: &[VariantId], k: u64) -> Result<[(VariantId, Qty); 2]> {
    let n = variants.len() as u64;
    let a = usize::try_from(k % n)?;
    let b = usize::try_from((k + 1) % n)?;
    Ok([(variants[a], Qty::new(1)?), (variants[b], Qty::new(2)?)])
}

/// What the policy did after an action, and how long it took.
pub enum Housekeeping {
    Nothing,
    Snapshot(Duration),
    Rebase(Duration),
}

/// A till working alone (it created the shop document) that stores the replica exactly as the
/// till's policy says: the bytes of each action's change appended to `changes`; every
/// `SNAPSHOT_EVERY` actions a full `snapshot` replaces them; every `REBASE_EVERY` actions a rebase
/// into a new epoch whose saved genesis becomes the snapshot, the old epoch going to the archive.
/// As `trestle-till`'s replica store: set-up before the first snapshot is not an action, every
/// sale is one; the counters restart at each rebase and snapshot.
pub struct TillAlone {
    pub replica: ShopReplica,
    pub actions: u64,
    pub sales: u64,
    pub snapshot: Vec<u8>,
    pub changes: Vec<Vec<u8>>,
    pub archives: usize,
    pub archive_bytes: usize,
    variants: Vec<VariantId>,
    ids: Ids,
}

impl TillAlone {
    /// The document and, per variant, `add_variant`, `ensure_holder` and an opening-stock count,
    /// then the first snapshot — as the till's bootstrap does: set-up is not an action.
    pub fn create(variants: &[VariantId]) -> Result<TillAlone> {
        let mut replica = ShopReplica::create(SHOP, TILL)?;
        let mut ids = Ids::new(1);
        for (i, v) in variants.iter().enumerate() {
            replica.add_variant(*v, &fields(i))?;
            replica.ensure_holder(*v, TILL)?;
            replica.count(CountId(ids.next()), *v, OPENING_STOCK, "opening stock")?;
        }
        let snapshot = replica.save();
        Ok(TillAlone {
            replica,
            actions: 0,
            sales: 0,
            snapshot,
            changes: Vec::new(),
            archives: 0,
            archive_bytes: 0,
            variants: variants.to_vec(),
            ids,
        })
    }

    /// One 2-line sale and the bytes the till stores with it: the measured operation.
    pub fn sell(&mut self) -> Result<()> {
        let lines = sale_lines(&self.variants, self.sales)?;
        self.replica.sell(SaleId(self.ids.next()), &lines)?;
        self.record_action();
        self.sales += 1;
        Ok(())
    }

    fn record_action(&mut self) {
        let bytes = self.replica.take_unsaved_bytes();
        self.changes.push(bytes);
        self.actions += 1;
    }

    /// The policy's work after an action: a rebase or a snapshot when one is due.
    pub fn housekeeping(&mut self) -> Result<Housekeeping> {
        // (Remainders, not `is_multiple_of`: the workspace's rust-version is 1.85.)
        let (in_epoch, since_snapshot) =
            (self.actions % REBASE_EVERY, self.actions % SNAPSHOT_EVERY);
        if in_epoch == 0 {
            let start = Instant::now();
            let (mut next, archive) = self.replica.rebase()?;
            self.snapshot = next.save();
            self.changes.clear();
            let took = start.elapsed();
            self.archives += 1;
            self.archive_bytes += archive.bytes.len();
            self.replica = next;
            Ok(Housekeeping::Rebase(took))
        } else if since_snapshot == 0 {
            let start = Instant::now();
            self.snapshot = self.replica.save();
            self.changes.clear();
            Ok(Housekeeping::Snapshot(start.elapsed()))
        } else {
            Ok(Housekeeping::Nothing)
        }
    }

    /// The position of the last action in its epoch (0 right after a rebase).
    pub fn epoch_position(&self) -> u64 {
        self.actions % REBASE_EVERY
    }
}

/// What the till stores of its replica at one moment: enough to `ShopReplica::load` it.
#[derive(Clone)]
pub struct Stored {
    pub epoch: u64,
    pub actions: u64,
    pub sales: u64,
    pub snapshot: Vec<u8>,
    pub changes: Vec<Vec<u8>>,
}

impl Stored {
    pub fn of(till: &TillAlone) -> Stored {
        Stored {
            epoch: till.replica.epoch(),
            actions: till.actions,
            sales: till.sales,
            snapshot: till.snapshot.clone(),
            changes: till.changes.clone(),
        }
    }
    pub fn change_bytes(&self) -> usize {
        self.changes.iter().map(Vec::len).sum()
    }
    pub fn total_bytes(&self) -> usize {
        self.snapshot.len() + self.change_bytes()
    }
    /// The till's start-up: the snapshot plus the changes stored after it.
    pub fn load(&self) -> Result<ShopReplica> {
        let later: Vec<&[u8]> = self.changes.iter().map(Vec::as_slice).collect();
        Ok(ShopReplica::load(TILL, &self.snapshot, &later)?)
    }
}

/// The hub (creator) and one till of a shop. The till sells and sends each sale's bytes
/// (`take_unsaved_bytes`); the hub applies them (`merge_bytes`, with the invariant check). The
/// hub counts its actions — its own set-up calls and every change it applies — and rebases every
/// `REBASE_EVERY`; the till then adopts the new epoch and saves it (its new snapshot).
pub struct Pair {
    pub hub: ShopReplica,
    pub hub_actions: u64,
    pub till: ShopReplica,
    /// Sales the till has made in the shop's whole history.
    pub sales: u64,
    variants: Vec<VariantId>,
    ids: Ids,
}

impl Pair {
    /// Set-up at the hub (per variant: `add_variant`, `ensure_holder` of the hub and of the till,
    /// an opening count; then one transfer to the till), then the till joins from a snapshot.
    pub fn create(variants: &[VariantId]) -> Result<Pair> {
        let mut hub = ShopReplica::create(SHOP, Holder::Hub)?;
        let mut actions = 0;
        let mut ids = Ids::new(2);
        let mut act = |hub: &mut ShopReplica| -> Result<()> {
            actions += 1;
            if actions % REBASE_EVERY == 0 {
                *hub = hub.rebase()?.0;
            }
            Ok(())
        };
        for (i, v) in variants.iter().enumerate() {
            hub.add_variant(*v, &fields(i))?;
            act(&mut hub)?;
        }
        for v in variants {
            for h in [Holder::Hub, TILL] {
                hub.ensure_holder(*v, h)?;
                act(&mut hub)?;
            }
        }
        for v in variants {
            hub.count(CountId(ids.next()), *v, OPENING_STOCK, "opening stock")?;
            act(&mut hub)?;
        }
        let allocation: Vec<(VariantId, Qty)> = variants
            .iter()
            .map(|v| Ok((*v, Qty::new(TILL_STOCK)?)))
            .collect::<Result<_>>()?;
        hub.transfer(TransferId(ids.next()), TILL, &allocation)?;
        act(&mut hub)?;
        let mut till = ShopReplica::load(TILL, &hub.save(), &[])?;
        till.save(); // the till's first snapshot; later `take_unsaved_bytes` give one change each
        Ok(Pair {
            hub,
            hub_actions: actions,
            till,
            sales: 0,
            variants: variants.to_vec(),
            ids: Ids::new(3),
        })
    }

    fn till_sells(&mut self) -> Result<()> {
        let lines = sale_lines(&self.variants, self.sales)?;
        self.till.sell(SaleId(self.ids.next()), &lines)?;
        self.sales += 1;
        Ok(())
    }

    /// `n` more sales, applied at the hub in batches up to the next rebase (one `merge_bytes` per
    /// batch: the same changes and the same epochs as applying them one by one, much quicker).
    pub fn grow(&mut self, mut n: u64) -> Result<()> {
        while n > 0 {
            let k = n.min(REBASE_EVERY - self.hub_actions % REBASE_EVERY);
            for _ in 0..k {
                self.till_sells()?;
            }
            let bytes = self.till.take_unsaved_bytes();
            let report = self.hub.merge_bytes(&bytes)?;
            ensure!(
                report.conflicts.is_empty(),
                "conflicts: {:?}",
                report.conflicts
            );
            self.hub_actions += k;
            n -= k;
            self.rebase_if_due()?;
        }
        Ok(())
    }

    /// One sale at the till, applied at the hub: returns the time of `merge_bytes` alone, and the
    /// (hub rebase + save, till adopt + save) times when the policy rebased after it.
    pub fn apply_one(&mut self) -> Result<(Duration, Option<(Duration, Duration)>)> {
        self.till_sells()?;
        let bytes = self.till.take_unsaved_bytes();
        let start = Instant::now();
        let report = self.hub.merge_bytes(&bytes)?;
        let took = start.elapsed();
        ensure!(
            report.heads_changed && report.conflicts.is_empty(),
            "the sale did not apply cleanly: {report:?}"
        );
        self.hub_actions += 1;
        Ok((took, self.rebase_if_due()?))
    }

    /// The invariant check `merge_bytes` runs, timed alone on the hub (to show its share).
    pub fn time_check(&self) -> Result<Duration> {
        let start = Instant::now();
        let conflicts = trestle_replica::invariants::check_stock(&self.hub)?;
        let took = start.elapsed();
        ensure!(conflicts.is_empty(), "conflicts: {conflicts:?}");
        Ok(took)
    }

    fn rebase_if_due(&mut self) -> Result<Option<(Duration, Duration)>> {
        let in_epoch = self.hub_actions % REBASE_EVERY;
        if in_epoch != 0 {
            return Ok(None);
        }
        let start = Instant::now();
        let (mut next, _archive) = self.hub.rebase()?;
        let bytes = next.save();
        let rebase = start.elapsed();
        let start = Instant::now();
        let mut till = self
            .till
            .adopt_epoch(&bytes)
            .context("the till cannot adopt the new epoch")?;
        till.save();
        let adopt = start.elapsed();
        self.hub = next;
        self.till = till;
        Ok(Some((rebase, adopt)))
    }

    /// An independent copy, both sides loaded from their saved bytes (so every measured pair is
    /// in the same state of memory whatever history it has).
    pub fn copy(&mut self) -> Result<Pair> {
        let hub = ShopReplica::load(Holder::Hub, &self.hub.save(), &[])?;
        let mut till = ShopReplica::load(TILL, &self.till.save(), &[])?;
        till.save();
        Ok(Pair {
            hub,
            hub_actions: self.hub_actions,
            till,
            sales: self.sales,
            variants: self.variants.clone(),
            ids: Ids {
                prefix: self.ids.prefix,
                next: self.ids.next,
            },
        })
    }
}

/// The naive implementation: one plain Automerge document for ever, `stock/<variant>/<holder>`
/// maps of `free` and `held` counters, a sale = one increment per line and a commit with a
/// message; no epochs, no invariant check.
pub struct Raw {
    pub doc: AutoCommit,
    free: Vec<ObjId>,
    sales: u64,
    ids: Ids,
}

impl Raw {
    /// The document as the hub creates it: every counter, in one change.
    pub fn genesis(variants: &[VariantId]) -> Result<Vec<u8>> {
        let mut doc = AutoCommit::new().with_actor(Holder::Hub.actor());
        let stock = doc.put_object(ROOT, "stock", ObjType::Map)?;
        for v in variants {
            let per = doc.put_object(&stock, v.to_string(), ObjType::Map)?;
            for (h, free) in [
                (Holder::Hub, OPENING_STOCK - i64::from(TILL_STOCK)),
                (TILL, i64::from(TILL_STOCK)),
            ] {
                let cell = doc.put_object(&per, h.to_string(), ObjType::Map)?;
                doc.put(&cell, "free", ScalarValue::counter(free))?;
                doc.put(&cell, "held", ScalarValue::counter(0))?;
            }
        }
        doc.commit_with(CommitOptions::default().with_message("setup"));
        Ok(doc.save())
    }

    /// `holder`'s copy loaded from `bytes`; `sales` made so far (to continue the sale sequence).
    pub fn open(bytes: &[u8], holder: Holder, variants: &[VariantId], sales: u64) -> Result<Raw> {
        let mut doc = AutoCommit::load(bytes)?.with_actor(holder.actor());
        doc.save_incremental(); // after a load the cursor is empty: start from here
        let child = |doc: &AutoCommit, obj: &ObjId, key: &str| -> Result<ObjId> {
            match doc.get(obj, key)? {
                Some((Value::Object(_), id)) => Ok(id),
                _ => anyhow::bail!("the raw document has no {key}"),
            }
        };
        let stock = child(&doc, &ROOT, "stock")?;
        let mut free = Vec::with_capacity(variants.len());
        for v in variants {
            let per = child(&doc, &stock, &v.to_string())?;
            free.push(child(&doc, &per, &holder.to_string())?);
        }
        let mut ids = Ids::new(4);
        ids.next = u128::from(sales);
        Ok(Raw {
            doc,
            free,
            sales,
            ids,
        })
    }

    /// One 2-line sale: an increment per line and a commit with a message.
    pub fn sell(&mut self) -> Result<()> {
        let n = self.free.len() as u64;
        let a = usize::try_from(self.sales % n)?;
        let b = usize::try_from((self.sales + 1) % n)?;
        self.doc.increment(&self.free[a], "free", -1)?;
        self.doc.increment(&self.free[b], "free", -2)?;
        let message = format!("sale:{}", self.ids.next());
        self.doc
            .commit_with(CommitOptions::default().with_message(message));
        self.sales += 1;
        Ok(())
    }

    pub fn sales(&self) -> u64 {
        self.sales
    }
}
