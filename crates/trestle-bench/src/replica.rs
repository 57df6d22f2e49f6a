//! The `replica` benchmark: the shop replica with the till's epoch policy (`REBASE_EVERY`,
//! `SNAPSHOT_EVERY`) against the naive baseline — one plain Automerge document of the same shape
//! kept for ever — in the same run: (1) a sale and the bytes the till stores, (2) the hub applying
//! a till's sale as history grows, (3) what the till stores after a day's trading and how long it
//! takes to load. Samples are interleaved in rounds so machine noise hits both sides alike.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use automerge::AutoCommit;
use serde::Serialize;
use trestle_replica::{Holder, REBASE_EVERY, SNAPSHOT_EVERY};

use crate::replica_model::{
    variants, Housekeeping, Pair, Raw, Stored, TillAlone, TILL, TILL_STOCK,
};
use crate::stats::{milli_str, ratio_milli, Summary};

/// Applying a remote sale: at most 1 ms at every history, and 100k / 1k at most 1.5.
pub const GOAL_APPLY_NS: u64 = 1_000_000;
pub const GOAL_APPLY_RATIO_MILLI: u64 = 1500;
/// What the till stores of its replica (snapshot + later changes), 1 KB = 1000 B.
pub const GOAL_STORED_BYTES: usize = 600_000;
/// Loading it at start-up.
pub const GOAL_LOAD_NS: u64 = 50_000_000;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Measured sales of each kind for (1).
    pub sales: u64,
    /// Histories (till sales) at which (2) is measured, ascending.
    pub history: Vec<u64>,
    /// Cap on the raw baseline's history in (2).
    pub raw_history: u64,
    /// Sales after which (3) is measured.
    pub size_sales: u64,
    /// Remote sales applied per history in (2).
    pub applies: u64,
    /// Loads of each kind in (3).
    pub loads: usize,
    /// Variants in the catalog.
    pub variants: usize,
    /// A quick run for CI: the figures are printed but no claim is made.
    pub smoke: bool,
}

impl Options {
    /// The tiny sizes of `--smoke`.
    pub fn smoke() -> Options {
        Options {
            sales: 300,
            history: vec![100, 600],
            raw_history: 600,
            size_sales: 300,
            applies: 50,
            loads: 3,
            variants: 50,
            smoke: true,
        }
    }
}

/// The result, as printed and as the `--json` document.
#[derive(Debug, Serialize)]
pub struct Report {
    pub bench: &'static str,
    pub smoke: bool,
    pub variants: usize,
    pub tills: usize,
    pub rebase_every: u64,
    pub snapshot_every: u64,
    pub sale: SaleReport,
    pub apply: ApplyReport,
    pub size: SizeReport,
    pub total_ms: u64,
}

/// (1) A 2-line sale at a till working alone plus the bytes it stores, against the raw document.
#[derive(Debug, Serialize)]
pub struct SaleReport {
    pub sales: u64,
    pub warmup: u64,
    pub rounds: u64,
    /// `sell` + `take_unsaved_bytes`.
    pub replica: Summary,
    /// 2 increments + commit + `save_incremental`.
    pub raw: Summary,
    pub ratio_median: serde_json::Number,
    /// The policy's snapshots and rebases that fell among the measured sales.
    pub snapshot: Option<Summary>,
    pub rebase: Option<Summary>,
    /// (Σ sales + Σ snapshots + Σ rebases) / sales.
    pub replica_amortised_mean_ns: u64,
}

/// One history at which applying a remote sale was measured.
#[derive(Debug, Serialize)]
pub struct ApplyRow {
    /// Till sales in the shop's history when the window began.
    pub history: u64,
    /// The epoch of the hub's document when the window began (always 0 for raw).
    pub epoch: u64,
    pub apply: Summary,
    /// Replica only: the full `check_stock` timed alone after each apply, for scale (`merge_bytes`
    /// runs the incremental `check_merged`, which reads only the counters the change touched).
    pub check: Option<Summary>,
}

/// (2) The hub applying one sale of the till (`merge_bytes`) against raw `load_incremental`.
#[derive(Debug, Serialize)]
pub struct ApplyReport {
    pub applies: u64,
    pub rounds: u64,
    pub raw_history_cap: u64,
    pub replica: Vec<ApplyRow>,
    pub raw: Vec<ApplyRow>,
    /// The policy's rebases during the windows: the hub's `rebase` + `save`, the till's
    /// `adopt_epoch` + `save`.
    pub hub_rebase: Option<Summary>,
    pub till_adopt: Option<Summary>,
    /// Median at the last history / median at the first.
    pub ratio_last_first: serde_json::Number,
    pub raw_ratio_last_first: serde_json::Number,
    pub replica_build_ms: u64,
    pub raw_build_ms: u64,
    pub meets_goal: Option<bool>,
}

/// What the till stores at one moment and how long loading it takes.
#[derive(Debug, Serialize)]
pub struct StoredRow {
    pub sales: u64,
    pub actions: u64,
    pub epoch: u64,
    pub snapshot_bytes: usize,
    pub later_changes: usize,
    pub later_bytes: usize,
    pub stored_bytes: usize,
    pub load: Summary,
}

/// (3) The till's stored replica after `sales` sales against the raw document saved whole.
#[derive(Debug, Serialize)]
pub struct SizeReport {
    pub sales: u64,
    pub at_end: StoredRow,
    /// The largest state of the policy's cycle (epoch action `REBASE_EVERY - 1`: the snapshot of
    /// action 400 + 99 changes), the last time the run passed it.
    pub heaviest: Option<StoredRow>,
    pub archives: usize,
    pub archive_bytes: usize,
    pub raw_bytes: usize,
    pub raw_load: Summary,
    pub meets_goal: Option<bool>,
}

fn number(m: u64) -> Result<serde_json::Number> {
    milli_str(m)
        .parse()
        .context("a ratio does not print as a number")
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn summary(samples: &[Duration]) -> Option<Summary> {
    (!samples.is_empty()).then(|| Summary::of(samples))
}

/// Runs the benchmark.
pub fn run(opts: &Options) -> Result<Report> {
    ensure!(opts.variants >= 2, "--variants must be at least 2");
    ensure!(opts.sales >= 10, "--sales must be at least 10");
    ensure!(opts.applies >= 10, "--applies must be at least 10");
    ensure!(opts.loads >= 1, "--loads must be at least 1");
    ensure!(!opts.history.is_empty(), "--history needs a value");
    ensure!(
        opts.history.windows(2).all(|w| w[0] < w[1]),
        "--history must be ascending"
    );
    let most = opts.history.last().copied().unwrap_or(0) + opts.applies;
    ensure!(
        3 * most / opts.variants as u64 + 3 < u64::from(TILL_STOCK),
        "the till's allocation of {TILL_STOCK} units per variant cannot cover {most} sales of 3 \
         units over {} variants: use more variants",
        opts.variants
    );
    let started = Instant::now();
    let catalog = variants(opts.variants);

    let mut till = TillAlone::create(&catalog)?;
    let mut heaviest: Option<Stored> = None;
    let sale = measure_sales(opts, &catalog, &mut till, &mut heaviest)?;
    while till.sales < opts.size_sales.max(opts.sales) {
        till.sell()?;
        till.housekeeping()?;
        if till.epoch_position() == REBASE_EVERY - 1 {
            heaviest = Some(Stored::of(&till));
        }
    }

    // One raw document grows to the largest history needed; copies are saved on the way.
    let mut raw_points: Vec<u64> = opts
        .history
        .iter()
        .map(|h| (*h).min(opts.raw_history))
        .collect();
    raw_points.push(till.sales);
    raw_points.sort_unstable();
    raw_points.dedup();
    let build = Instant::now();
    let mut raw = Raw::open(&Raw::genesis(&catalog)?, TILL, &catalog, 0)?;
    let mut raw_saved = BTreeMap::new();
    for &point in &raw_points {
        while raw.sales() < point {
            raw.sell()?;
        }
        raw_saved.insert(point, raw.doc.save());
    }
    drop(raw);
    let raw_build = build.elapsed();

    let size = measure_size(opts, &mut till, heaviest.as_ref(), &raw_saved)?;
    drop(till);

    let apply = measure_applies(opts, &catalog, &raw_saved, raw_build)?;
    Ok(Report {
        bench: "replica",
        smoke: opts.smoke,
        variants: opts.variants,
        tills: 1,
        rebase_every: REBASE_EVERY,
        snapshot_every: SNAPSHOT_EVERY,
        sale,
        apply,
        size,
        total_ms: ms(started.elapsed()),
    })
}

/// (1): `opts.sales` sales on each side, interleaved in 10 rounds after a warm-up.
fn measure_sales(
    opts: &Options,
    catalog: &[trestle_core::ids::VariantId],
    till: &mut TillAlone,
    heaviest: &mut Option<Stored>,
) -> Result<SaleReport> {
    let mut raw = Raw::open(&Raw::genesis(catalog)?, TILL, catalog, 0)?;
    let warmup = (opts.sales / 100).clamp(5, 20);
    let rounds = 10;
    let mut samples = Vec::new();
    let mut raw_samples = Vec::new();
    let mut snapshots = Vec::new();
    let mut rebases = Vec::new();
    // `out` is None during the warm-up: nothing is recorded.
    let mut replica_side = |n: u64, mut out: Option<&mut Vec<Duration>>| -> Result<()> {
        for _ in 0..n {
            let start = Instant::now();
            till.sell()?;
            let took = start.elapsed();
            let housekeeping = till.housekeeping()?;
            if let Some(out) = out.as_deref_mut() {
                out.push(took);
                match housekeeping {
                    Housekeeping::Nothing => {}
                    Housekeeping::Snapshot(d) => snapshots.push(d),
                    Housekeeping::Rebase(d) => rebases.push(d),
                }
            }
            if till.epoch_position() == REBASE_EVERY - 1 {
                *heaviest = Some(Stored::of(till));
            }
        }
        Ok(())
    };
    let mut raw_side = |n: u64, out: &mut Vec<Duration>| -> Result<()> {
        for _ in 0..n {
            let start = Instant::now();
            raw.sell()?;
            let bytes = raw.doc.save_incremental();
            out.push(start.elapsed());
            ensure!(!bytes.is_empty(), "the raw sale saved nothing");
        }
        Ok(())
    };
    replica_side(warmup, None)?;
    raw_side(warmup, &mut Vec::new())?;
    for round in 0..rounds {
        let n = opts.sales / rounds + u64::from(round < opts.sales % rounds);
        if round % 2 == 0 {
            replica_side(n, Some(&mut samples))?;
            raw_side(n, &mut raw_samples)?;
        } else {
            raw_side(n, &mut raw_samples)?;
            replica_side(n, Some(&mut samples))?;
        }
    }
    let s = Summary::of(&samples);
    let r = Summary::of(&raw_samples);
    let total: Duration = samples.iter().chain(&snapshots).chain(&rebases).sum();
    Ok(SaleReport {
        sales: opts.sales,
        warmup,
        rounds,
        ratio_median: number(ratio_milli(s.median_ns, r.median_ns))?,
        replica: s,
        raw: r,
        snapshot: summary(&snapshots),
        rebase: summary(&rebases),
        replica_amortised_mean_ns: u64::try_from(total.as_nanos() / u128::from(opts.sales))
            .unwrap_or(u64::MAX),
    })
}

/// (3): the stored replica at the end and at the heaviest point, and the raw document, each
/// loaded `opts.loads` times, interleaved.
fn measure_size(
    opts: &Options,
    till: &mut TillAlone,
    heaviest: Option<&Stored>,
    raw_saved: &BTreeMap<u64, Vec<u8>>,
) -> Result<SizeReport> {
    let end = Stored::of(till);
    let raw_bytes = raw_saved
        .get(&till.sales)
        .context("no raw document of the till's size")?;
    // The loaded replicas hold what the till holds.
    let mut check = end.load()?;
    ensure!(
        check.heads() == till.replica.heads(),
        "the stored replica does not load to the till's document"
    );
    let mut raw_doc = AutoCommit::load(raw_bytes)?;
    ensure!(
        raw_doc.get_changes(&[]).len() as u64 == till.sales + 1,
        "the raw document does not hold every sale"
    );
    drop(raw_doc);
    let (mut at_end, mut at_heaviest, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..opts.loads {
        for k in 0..3 {
            let start = Instant::now();
            match (i + k) % 3 {
                0 => drop(end.load()?),
                1 => match heaviest {
                    Some(h) => drop(h.load()?),
                    None => continue,
                },
                _ => drop(AutoCommit::load(raw_bytes)?),
            }
            let took = start.elapsed();
            match (i + k) % 3 {
                0 => at_end.push(took),
                1 => at_heaviest.push(took),
                _ => raw.push(took),
            }
        }
    }
    let row = |s: &Stored, samples: &[Duration]| StoredRow {
        sales: s.sales,
        actions: s.actions,
        epoch: s.epoch,
        snapshot_bytes: s.snapshot.len(),
        later_changes: s.changes.len(),
        later_bytes: s.change_bytes(),
        stored_bytes: s.total_bytes(),
        load: Summary::of(samples),
    };
    let at_end = row(&end, &at_end);
    let heaviest = heaviest.map(|h| row(h, &at_heaviest));
    let ok =
        |r: &StoredRow| r.stored_bytes <= GOAL_STORED_BYTES && r.load.median_ns <= GOAL_LOAD_NS;
    let met = ok(&at_end) && heaviest.as_ref().is_none_or(ok);
    Ok(SizeReport {
        sales: till.sales,
        at_end,
        heaviest,
        archives: till.archives,
        archive_bytes: till.archive_bytes,
        raw_bytes: raw_bytes.len(),
        raw_load: Summary::of(&raw),
        meets_goal: (!opts.smoke).then_some(met),
    })
}

/// One side measured in (2).
enum Subject {
    Replica(Box<Pair>),
    Raw(Box<(Raw, Raw)>),
}

/// (2): a hub + till pair copied at each history, and raw pairs at each (capped) history; every
/// pair applies `opts.applies` sales, interleaved in rounds.
fn measure_applies(
    opts: &Options,
    catalog: &[trestle_core::ids::VariantId],
    raw_saved: &BTreeMap<u64, Vec<u8>>,
    raw_build: Duration,
) -> Result<ApplyReport> {
    let build = Instant::now();
    let mut pair = Pair::create(catalog)?;
    let mut subjects = Vec::new();
    let mut rows = Vec::new();
    for &h in &opts.history {
        pair.grow(h - pair.sales)?;
        let copy = pair.copy()?;
        rows.push((true, h, copy.hub.epoch()));
        subjects.push(Subject::Replica(Box::new(copy)));
    }
    drop(pair);
    let replica_build = build.elapsed();
    let mut raw_points: Vec<u64> = opts
        .history
        .iter()
        .map(|h| (*h).min(opts.raw_history))
        .collect();
    raw_points.dedup();
    for h in raw_points {
        let bytes = raw_saved
            .get(&h)
            .context("no raw document of that history")?;
        subjects.push(Subject::Raw(Box::new((
            Raw::open(bytes, TILL, catalog, h)?,
            Raw::open(bytes, Holder::Hub, catalog, h)?,
        ))));
        rows.push((false, h, 0));
    }

    let rounds = opts.applies.min(10);
    let mut samples: Vec<Vec<Duration>> = subjects.iter().map(|_| Vec::new()).collect();
    let mut checks: Vec<Vec<Duration>> = subjects.iter().map(|_| Vec::new()).collect();
    let (mut rebases, mut adopts) = (Vec::new(), Vec::new());
    let count = subjects.len();
    for round in 0..rounds {
        let n = opts.applies / rounds + u64::from(round < opts.applies % rounds);
        for k in 0..count {
            let i = (k + usize::try_from(round)?) % count;
            for _ in 0..n {
                match &mut subjects[i] {
                    Subject::Replica(pair) => {
                        let (took, rebased) = pair.apply_one()?;
                        samples[i].push(took);
                        checks[i].push(pair.time_check()?);
                        if let Some((r, a)) = rebased {
                            rebases.push(r);
                            adopts.push(a);
                        }
                    }
                    Subject::Raw(pair) => {
                        let (till, hub) = &mut **pair;
                        till.sell()?;
                        let bytes = till.doc.save_incremental();
                        let start = Instant::now();
                        let ops = hub.doc.load_incremental(&bytes)?;
                        samples[i].push(start.elapsed());
                        ensure!(ops > 0, "the raw sale applied nothing");
                    }
                }
            }
        }
    }
    let (mut replica, mut raw) = (Vec::new(), Vec::new());
    for ((is_replica, history, epoch), (s, c)) in rows.into_iter().zip(samples.iter().zip(&checks))
    {
        let row = ApplyRow {
            history,
            epoch,
            apply: Summary::of(s),
            check: summary(c),
        };
        if is_replica {
            replica.push(row);
        } else {
            raw.push(row);
        }
    }
    let ratio = |rows: &[ApplyRow]| match (rows.first(), rows.last()) {
        (Some(a), Some(b)) => ratio_milli(b.apply.median_ns, a.apply.median_ns),
        _ => 0,
    };
    let replica_ratio = ratio(&replica);
    let met = replica_ratio <= GOAL_APPLY_RATIO_MILLI
        && replica.iter().all(|r| r.apply.median_ns <= GOAL_APPLY_NS);
    Ok(ApplyReport {
        applies: opts.applies,
        rounds,
        raw_history_cap: opts.raw_history,
        ratio_last_first: number(replica_ratio)?,
        raw_ratio_last_first: number(ratio(&raw))?,
        replica,
        raw,
        hub_rebase: summary(&rebases),
        till_adopt: summary(&adopts),
        replica_build_ms: ms(replica_build),
        raw_build_ms: ms(raw_build),
        meets_goal: (!opts.smoke).then_some(met),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_run_measures_every_part() {
        let opts = Options {
            sales: 20,
            history: vec![10, 30],
            raw_history: 20,
            size_sales: 40,
            applies: 10,
            loads: 1,
            variants: 4,
            smoke: true,
        };
        let r = run(&opts).unwrap();
        assert_eq!((r.sale.replica.samples, r.sale.raw.samples), (20, 20));
        assert_eq!(r.apply.replica.len(), 2);
        assert_eq!(
            r.apply.raw.iter().map(|x| x.history).collect::<Vec<_>>(),
            [10, 20]
        );
        assert!(r.apply.replica.iter().all(|x| x.apply.samples == 10));
        assert_eq!(r.size.sales, 40);
        assert!(r.size.at_end.stored_bytes > 0 && r.size.raw_bytes > 0);
        assert!(r.apply.meets_goal.is_none() && r.size.meets_goal.is_none());
    }
}
