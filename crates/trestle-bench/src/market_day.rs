//! `market-day`: three tills × 5,000 offline sales over 2,000 SKUs reconciled with the real hub
//! over HTTP on loopback — wall time and bytes on the wire (requests and answers, outbox
//! included, counted at a TCP proxy between the tills and the hub) — against two baselines run in
//! the same process on the same day's documents: raw Automerge's sync protocol, and exchanging
//! whole snapshots.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use automerge::sync::{State as AmSyncState, SyncDoc};
use automerge::AutoCommit;
use serde::Serialize;
use trestle_netfault::Faults;
use trestle_till::Till;

use crate::day::{sale_of, Stage};

/// The goal of issue 5: the whole day reconciled in ≤ 0.5 s and ≤ 600 KB.
pub const GOAL_MS: u64 = 500;
pub const GOAL_BYTES: u64 = 600_000;

#[derive(Debug, Clone)]
pub struct Options {
    pub tills: usize,
    pub sales: usize,
    pub skus: usize,
    pub smoke: bool,
    pub dir: Option<PathBuf>,
}

impl Options {
    pub fn smoke(dir: Option<PathBuf>) -> Options {
        Options {
            tills: 3,
            sales: 200,
            skus: 100,
            smoke: true,
            dir,
        }
    }
}

/// One way of reconciling the day: time and bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Way {
    pub ms: u64,
    pub micros: u64,
    pub bytes: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub exchanges: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tills: usize,
    pub sales_per_till: usize,
    pub skus: usize,
    /// Selling the day offline (not part of the measure), ms.
    pub selling_ms: u64,
    /// Trestle's passes over HTTP through the counting proxy.
    pub trestle: Way,
    /// The passes, in order: (till, ms, bytes).
    pub passes: Vec<(usize, u64, u64)>,
    pub raw_sync: Way,
    pub snapshots: Way,
    /// The outbox as JSON, uncompressed (what the old protocol sent), bytes.
    pub outbox_json_bytes: u64,
    /// Till 0's outbox (its pending entries before its pass) in each frame encoding.
    pub outbox_frames: Vec<crate::outbox_frame::Encoding>,
    /// The passes' requests by path: (path, requests, bytes up, bytes down).
    pub by_path: Vec<(String, u64, u64, u64)>,
    /// Trestle's bytes and time as thousandths of each baseline's.
    pub bytes_vs_raw_milli: u64,
    pub bytes_vs_snapshots_milli: u64,
    pub time_vs_raw_milli: u64,
    pub time_vs_snapshots_milli: u64,
    pub converged: bool,
    pub meets_goal: Option<bool>,
}

/// The order the tills sync in: each once, then all but the last again, so every till ends
/// with every other's sales (the same order for the baselines).
fn schedule(tills: usize) -> Vec<usize> {
    let mut s: Vec<usize> = (0..tills).collect();
    s.extend(0..tills.saturating_sub(1));
    s
}

pub fn run(o: &Options) -> Result<Report> {
    let tmp = match &o.dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let stage = Stage::start(tmp.path(), Faults::none())?;
    let per_sku = u64::try_from(o.sales.div_ceil(o.skus.max(1)) + 1)?;
    let hub_stock = per_sku * u64::try_from(o.tills)? + 10;
    let variants = stage.hub.import_catalog(o.skus, hub_stock)?;
    let mut tills: Vec<(Till, String)> = Vec::new();
    for i in 0..o.tills {
        let (till, id) = stage.till(&tmp.path().join(format!("till{i}")), &format!("Stall {i}"))?;
        stage.hub.allocate(&id, &variants, per_sku)?;
        tills.push((till, id));
    }
    // Before the day every till syncs once after every allocation (as the baselines' documents
    // assume): the day's passes carry the day, not the other tills' set-up.
    for (till, _) in tills.iter_mut() {
        till.sync()?;
    }
    // Every till has the hub's document now: that is the hub's side for the baselines.
    let hub_doc = doc_bytes(&tills[0].0)?;

    let started = Instant::now();
    for (k, (till, _)) in tills.iter_mut().enumerate() {
        for j in 0..o.sales {
            let v = &variants[(j + k * 7) % variants.len()];
            till.sell(&sale_of(v)?)?;
        }
    }
    let selling_ms = ms(started.elapsed());
    let till_docs: Vec<Vec<u8>> = tills
        .iter()
        .map(|(t, _)| doc_bytes(t))
        .collect::<Result<_>>()?;
    let outbox_json_bytes = tills
        .iter()
        .map(|(t, _)| outbox_bytes(t))
        .sum::<Result<u64>>()?;

    let outbox_frames =
        crate::outbox_frame::encodings(&crate::outbox_frame::pending(&tills[0].0)?)?;

    stage.proxy.reset_counts();
    let mut passes = Vec::new();
    let started = Instant::now();
    for i in schedule(o.tills) {
        let t0 = Instant::now();
        let before = stage.proxy.counts().total_bytes();
        let s = tills[i].0.sync()?;
        if s.pending != 0 {
            bail!(
                "till {i} still has {} outbox entries after its pass",
                s.pending
            );
        }
        passes.push((
            i,
            ms(t0.elapsed()),
            stage.proxy.counts().total_bytes() - before,
        ));
    }
    let took = started.elapsed();
    let c = stage.proxy.counts();
    let trestle = Way {
        ms: ms(took),
        micros: micros(took),
        bytes: c.total_bytes(),
        bytes_up: c.bytes_up,
        bytes_down: c.bytes_down,
        exchanges: c.exchanges,
    };
    let by_path = stage
        .proxy
        .counts_by_path()
        .into_iter()
        .map(|(p, c)| (p, c.requests, c.bytes_up, c.bytes_down))
        .collect();
    let converged = converged(&stage, &tills, o)?;

    let raw_sync = raw_sync(&hub_doc, &till_docs, &schedule(o.tills))?;
    let snapshots = snapshots(&hub_doc, &till_docs)?;
    let ratio = |a: u64, b: u64| a.saturating_mul(1000) / b.max(1);
    Ok(Report {
        tills: o.tills,
        sales_per_till: o.sales,
        skus: o.skus,
        selling_ms,
        bytes_vs_raw_milli: ratio(trestle.bytes, raw_sync.bytes),
        bytes_vs_snapshots_milli: ratio(trestle.bytes, snapshots.bytes),
        time_vs_raw_milli: ratio(trestle.micros, raw_sync.micros),
        time_vs_snapshots_milli: ratio(trestle.micros, snapshots.micros),
        meets_goal: (!o.smoke)
            .then_some(converged && trestle.ms <= GOAL_MS && trestle.bytes <= GOAL_BYTES),
        trestle,
        passes,
        raw_sync,
        snapshots,
        outbox_json_bytes,
        outbox_frames,
        by_path,
        converged,
    })
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Every sale at the hub exactly once, every till's replica at the same counters as the hub's.
fn converged(stage: &Stage, tills: &[(Till, String)], o: &Options) -> Result<bool> {
    let events = stage.hub.till_events()?;
    let expected = o.tills * o.sales;
    if events.len() != expected || events.values().any(|&n| n != 1) {
        bail!("the hub holds {} sales for {expected} sold", events.len());
    }
    let mut first = None;
    for (t, _) in tills {
        // Every holder's counters; not `available`, which is each till's own `free`.
        let levels: Vec<_> = t
            .replica()
            .levels()?
            .into_iter()
            .map(|l| (l.variant, l.on_hand, l.holders))
            .collect();
        match &first {
            None => first = Some(levels),
            Some(f) if *f != levels => return Ok(false),
            Some(_) => {}
        }
    }
    let inventory = stage.hub.inventory()?;
    let hub_free: i64 = inventory
        .values()
        .flat_map(|h| h.values())
        .map(|(free, _)| free)
        .sum();
    let till_free: i64 = tills[0]
        .0
        .replica()
        .levels()?
        .iter()
        .flat_map(|l| l.holders.iter())
        .map(|h| h.free)
        .sum();
    Ok(hub_free == till_free)
}

/// The till's current document (snapshot + later changes) as one saved document.
fn doc_bytes(till: &Till) -> Result<Vec<u8>> {
    let conn = rusqlite::Connection::open(till.dir().join("till.sqlite"))?;
    let (epoch, snapshot): (i64, Vec<u8>) = conn.query_row(
        "SELECT epoch, bytes FROM replica_snapshot WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut doc = AutoCommit::load(&snapshot)?;
    let mut st = conn.prepare("SELECT bytes FROM replica_changes WHERE epoch = ?1 ORDER BY seq")?;
    let rows = st.query_map([epoch], |r| r.get::<_, Vec<u8>>(0))?;
    for bytes in rows {
        doc.load_incremental(&bytes?)?;
    }
    Ok(doc.save())
}

fn outbox_bytes(till: &Till) -> Result<u64> {
    let conn = rusqlite::Connection::open(till.dir().join("till.sqlite"))?;
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM outbox_payloads",
        [],
        |r| r.get::<_, i64>(0),
    )?)
    .map(|n| u64::try_from(n).unwrap_or(0))
}

/// Raw Automerge sync between the hub's document and each till's, in `order`, until neither
/// side has anything to say; bytes are the messages' lengths.
fn raw_sync(hub: &[u8], tills: &[Vec<u8>], order: &[usize]) -> Result<Way> {
    let mut hub = AutoCommit::load(hub)?;
    let mut docs: Vec<AutoCommit> = tills
        .iter()
        .map(|b| AutoCommit::load(b))
        .collect::<std::result::Result<_, _>>()?;
    let (mut up, mut down, mut exchanges) = (0u64, 0u64, 0u64);
    let started = Instant::now();
    for &i in order {
        let (mut ts, mut hs) = (AmSyncState::new(), AmSyncState::new());
        loop {
            let a = docs[i].sync().generate_sync_message(&mut ts);
            let b = hub.sync().generate_sync_message(&mut hs);
            if a.is_none() && b.is_none() {
                break;
            }
            if let Some(m) = a {
                up += u64::try_from(m.clone().encode().len())?;
                exchanges += 1;
                hub.sync().receive_sync_message(&mut hs, m)?;
            }
            if let Some(m) = b {
                down += u64::try_from(m.clone().encode().len())?;
                docs[i].sync().receive_sync_message(&mut ts, m)?;
            }
        }
    }
    let took = started.elapsed();
    Ok(Way {
        ms: ms(took),
        micros: micros(took),
        bytes: up + down,
        bytes_up: up,
        bytes_down: down,
        exchanges,
    })
}

/// Each till sends its whole document, the hub merges it; then the hub sends its whole document
/// to each till, which merges it.
fn snapshots(hub: &[u8], tills: &[Vec<u8>]) -> Result<Way> {
    let mut hub = AutoCommit::load(hub)?;
    let mut docs: Vec<AutoCommit> = tills
        .iter()
        .map(|b| AutoCommit::load(b))
        .collect::<std::result::Result<_, _>>()?;
    let (mut up, mut down) = (0u64, 0u64);
    let started = Instant::now();
    for d in &mut docs {
        let bytes = d.save();
        up += u64::try_from(bytes.len())?;
        hub.load_incremental(&bytes)?;
    }
    let merged = hub.save();
    for d in &mut docs {
        down += u64::try_from(merged.len())?;
        d.load_incremental(&merged)?;
    }
    let took = started.elapsed();
    Ok(Way {
        ms: ms(took),
        micros: micros(took),
        bytes: up + down,
        bytes_up: up,
        bytes_down: down,
        exchanges: u64::try_from(docs.len())?,
    })
}
