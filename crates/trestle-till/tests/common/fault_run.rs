//! The fault run, shared by the CI test (`tests/sync_faults.rs`, a few hundred sales) and the
//! full run (`cargo run --release -p trestle-bench -- sync-faults`, ≥ 10,000 sales), which
//! includes this file as a module: the real hub in-process (real HTTP on 127.0.0.1 port 0, a
//! fresh database), a real TCP proxy (`trestle-netfault`) between it and N tills (real data
//! directories through the `Till` engine) that drops, duplicates, delays, resets and truncates
//! a share of the exchanges (seeded). The tills sell in rounds and sync after each round until
//! a pass completes; a last round on a clean wire; then the checks: every sale at the hub
//! exactly once, every till's replica at the hub's counters, the totals adding up, no `deny`
//! counter below zero. A check that fails is an `Err` saying what was wrong.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use serde_json::{json, Value};
use trestle_core::catalog::Qty;
use trestle_core::tender::Tender;
use trestle_core::{Currency, Money};
use trestle_hub::directory::Directory;
use trestle_hub::{Config, LocalHub};
use trestle_netfault::{Faults, Proxy};
use trestle_till::sell::{LineRequest, SellRequest};
use trestle_till::{InitParams, Till};

/// What to run.
#[derive(Debug, Clone)]
pub struct FaultRun {
    pub tills: usize,
    /// Sales in all, spread evenly over the tills.
    pub sales: usize,
    /// Sales each till makes between two syncs.
    pub per_round: usize,
    pub skus: usize,
    /// Faulty exchanges per million.
    pub faults_per_million: u32,
    pub seed: u64,
    /// Passes a till may take to complete one sync through the faults.
    pub tries: usize,
    /// Where the files go (a temp dir inside it); the system's temp dir when `None`.
    pub dir: Option<PathBuf>,
}

impl FaultRun {
    /// The CI size: 3 tills × 10 rounds × 10 sales over 20 SKUs, 30% faulty exchanges.
    pub fn ci() -> FaultRun {
        FaultRun {
            tills: 3,
            sales: 300,
            per_round: 10,
            skus: 20,
            faults_per_million: 300_000,
            seed: 0x5eed,
            tries: 40,
            dir: None,
        }
    }
}

/// What happened, and what the checks found.
#[derive(Debug, Clone, Serialize)]
pub struct FaultReport {
    pub tills: usize,
    pub sales: usize,
    pub rounds: usize,
    pub skus: usize,
    pub faults_per_million: u32,
    pub seed: u64,
    /// HTTP exchanges through the proxy while faults were on.
    pub exchanges: u64,
    /// Of those, faulty: in all and per kind (drop, duplicate, delay, reset, truncate).
    pub faulty: u64,
    pub faults: BTreeMap<String, u64>,
    /// Sync passes started and those that failed (a fault cut them off).
    pub passes: u64,
    pub failed_passes: u64,
    /// Till events the hub stored (each exactly once).
    pub hub_events: usize,
    /// Holders × variants compared between every till and the hub.
    pub counters_compared: usize,
    pub elapsed_ms: u64,
    /// Time spent selling and syncing (the rest is set-up and checks).
    pub selling_ms: u64,
    pub syncing_ms: u64,
}

/// GBP, prices inclusive of 20% tax, the till named `till`.
fn params(till: &str) -> Result<InitParams> {
    Ok(InitParams::new(
        "Kalima Arts",
        Currency::parse("GBP")?,
        trestle_core::tax::TaxMode::Inclusive,
        trestle_core::tax::TaxRate::parse_percent("20")?,
        till,
        None,
    )?)
}

struct Admin {
    url: String,
    token: String,
    http: reqwest::blocking::Client,
}

impl Admin {
    fn call(&self, method: &str, path: &str, body: Value) -> Result<Value> {
        let m = reqwest::Method::from_bytes(method.as_bytes())?;
        let r = self
            .http
            .request(m, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()?;
        ensure!(r.status().is_success(), "{method} {path}: {}", r.status());
        Ok(r.json().unwrap_or(Value::Null))
    }
}

/// Runs the fault run; `Err` when set-up failed or a check found something wrong.
pub fn run(cfg: &FaultRun) -> Result<FaultReport> {
    ensure!(
        cfg.tills > 0 && cfg.per_round > 0 && cfg.skus > 0,
        "nothing to run"
    );
    let started = Instant::now();
    let dir = match &cfg.dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let db = dir.path().join("hub.sqlite");
    let (shop, admin_token) = Directory::open(&db)?.create_shop(
        "Kalima Arts",
        Currency::parse("GBP")?,
        trestle_core::tax::TaxMode::Inclusive,
        trestle_core::tax::TaxRate::parse_percent("20")?,
    )?;
    let mut hub = LocalHub::start(Config::new(db.clone(), "127.0.0.1:0".parse()?), 2)?;
    let port = hub.port();
    let admin = Admin {
        url: format!("http://127.0.0.1:{port}"),
        token: admin_token,
        http: reqwest::blocking::Client::new(),
    };
    let outcome = (|| -> Result<FaultReport> {
        let per_till = cfg.sales.div_ceil(cfg.tills);
        // Enough stock at each till for every sale it makes (one unit each, SKUs in turn).
        let alloc = per_till.div_ceil(cfg.skus) + 1;
        let at_hub = alloc * cfg.tills + 100;
        let mut csv = String::from(
            "Handle,Title,Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,Variant Price\n",
        );
        for i in 0..cfg.skus {
            csv.push_str(&format!(
                "item-{i:04},Item {i:04},shopify,{at_hub},deny,5.00\n"
            ));
        }
        let r = admin
            .http
            .post(format!("{}/v1/catalog/import", admin.url))
            .bearer_auth(&admin.token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()?;
        ensure!(r.status().is_success(), "catalog import: {}", r.status());
        let catalog = admin.call("GET", "/v1/catalog", Value::Null)?;
        let variants: Vec<String> = catalog["variants"]
            .as_array()
            .ok_or_else(|| anyhow!("no catalog"))?
            .iter()
            .filter_map(|v| v["variant_id"].as_str().map(str::to_string))
            .collect();
        ensure!(variants.len() == cfg.skus, "{} variants", variants.len());

        let proxy = Proxy::start(format!("127.0.0.1:{port}").parse()?, Faults::none())?;
        let mut tills: Vec<Till> = Vec::new();
        for i in 0..cfg.tills {
            let name = format!("Stall {i}");
            let mut till = Till::init(&dir.path().join(format!("till{i}")), &params(&name)?)?;
            let code = admin.call("POST", "/v1/pairing-codes", json!({ "till_name": name }))?
                ["code"]
                .as_str()
                .ok_or_else(|| anyhow!("no pairing code"))?
                .to_string();
            till.pair(&proxy.url(), &code)?;
            let id = till.shop().till_id.to_string();
            let lines: Vec<Value> = variants
                .iter()
                .map(|v| json!({ "variant_id": v, "qty": alloc }))
                .collect();
            admin.call(
                "POST",
                "/v1/transfers",
                json!({ "to_till": id, "lines": lines }),
            )?;
            sync_until_complete(&mut till, 3, &mut Passes::default())?;
            tills.push(till);
        }
        proxy.reset_counts();
        proxy.set_faults(Faults::all(cfg.faults_per_million, cfg.seed));

        let gbp = Currency::parse("GBP")?;
        let mut sold = 0usize;
        let mut left: Vec<usize> = (0..cfg.tills)
            .map(|k| cfg.sales / cfg.tills + usize::from(k < cfg.sales % cfg.tills))
            .collect();
        let mut passes = Passes::default();
        let (mut selling, mut syncing) = (Duration::ZERO, Duration::ZERO);
        let mut rounds = 0;
        while left.iter().any(|&n| n > 0) {
            for (k, till) in tills.iter_mut().enumerate() {
                let n = left[k].min(cfg.per_round);
                let t = Instant::now();
                let done = cfg.sales / cfg.tills + usize::from(k < cfg.sales % cfg.tills) - left[k];
                for j in 0..n {
                    // Each till goes through the SKUs in turn (from its own start).
                    let v = &variants[(done + j + k * 7) % cfg.skus];
                    till.sell(&SellRequest {
                        lines: vec![LineRequest {
                            item: v.clone(),
                            qty: Qty::new(1)?,
                            discount: None,
                        }],
                        tenders: vec![Tender::cash(Money::from_minor(1000, gbp))],
                        ..SellRequest::default()
                    })
                    .with_context(|| format!("sale {sold} at till {k}"))?;
                    sold += 1;
                }
                left[k] -= n;
                selling += t.elapsed();
                let t = Instant::now();
                sync_until_complete(till, cfg.tries, &mut passes)?;
                syncing += t.elapsed();
            }
            rounds += 1;
        }
        let counts = proxy.counts();
        // A last round on a clean wire so every till has every other's sales.
        proxy.set_faults(Faults::none());
        for till in &mut tills {
            sync_until_complete(till, 3, &mut Passes::default())?;
        }

        let hub_events = check_exactly_once(&db, &shop.id.to_string(), &tills, sold)?;
        let counters_compared =
            check_converged(&admin, &tills, (cfg.skus * at_hub) as i64 - sold as i64)?;
        let names = ["drop", "duplicate", "delay", "reset", "truncate"];
        Ok(FaultReport {
            tills: cfg.tills,
            sales: sold,
            rounds,
            skus: cfg.skus,
            faults_per_million: cfg.faults_per_million,
            seed: cfg.seed,
            exchanges: counts.exchanges,
            faulty: counts.total_faults(),
            faults: names
                .iter()
                .zip(counts.faults)
                .map(|(n, c)| ((*n).to_string(), c))
                .collect(),
            passes: passes.started,
            failed_passes: passes.failed,
            hub_events,
            counters_compared,
            elapsed_ms: 0,
            selling_ms: u64::try_from(selling.as_millis()).unwrap_or(u64::MAX),
            syncing_ms: u64::try_from(syncing.as_millis()).unwrap_or(u64::MAX),
        })
    })();
    hub.stop()?;
    let mut report = outcome?;
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

#[derive(Default)]
struct Passes {
    started: u64,
    failed: u64,
}

fn sync_until_complete(till: &mut Till, tries: usize, passes: &mut Passes) -> Result<()> {
    let mut last = String::new();
    for _ in 0..tries {
        passes.started += 1;
        match till.sync() {
            Ok(s) if s.pending == 0 => return Ok(()),
            Ok(s) => last = format!("{} still pending", s.pending),
            Err(e) => {
                passes.failed += 1;
                last = e.to_string();
            }
        }
    }
    bail!("no complete pass in {tries} tries (last: {last})")
}

/// Every till event stored at the hub exactly once, and nothing else; returns how many.
fn check_exactly_once(db: &Path, shop: &str, tills: &[Till], sold: usize) -> Result<usize> {
    let shop_file = {
        let mut p = db.to_path_buf().into_os_string();
        p.push(".shops");
        PathBuf::from(p).join(format!("{shop}.sqlite"))
    };
    let conn = Connection::open_with_flags(&shop_file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let stored: BTreeMap<String, i64> = conn
        .prepare("SELECT event_id, COUNT(*) FROM till_events GROUP BY event_id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    ensure!(
        stored.len() == sold,
        "the hub stored {} events for {sold} sales",
        stored.len()
    );
    ensure!(
        stored.values().all(|&n| n == 1),
        "an event stored more than once"
    );
    for till in tills {
        let conn = Connection::open(till.dir().join("till.sqlite"))?;
        let ids: Vec<String> = conn
            .prepare("SELECT event_id FROM outbox")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in ids {
            ensure!(stored.get(&id) == Some(&1), "{id} is not at the hub once");
        }
    }
    Ok(stored.len())
}

/// The same counters on every till and at the hub, none below zero (all `deny`), adding up to
/// `total`; returns how many counters each comparison covered.
fn check_converged(admin: &Admin, tills: &[Till], total: i64) -> Result<usize> {
    let levels = admin.call("GET", "/v1/inventory", Value::Null)?;
    let mut hub: BTreeMap<(String, String), i64> = BTreeMap::new();
    for level in levels["levels"].as_array().into_iter().flatten() {
        for h in level["holders"].as_array().into_iter().flatten() {
            let free = h["free"].as_i64().unwrap_or(i64::MIN);
            ensure!(free >= 0, "a deny counter below zero: {level}");
            hub.insert(
                (
                    level["variant_id"].as_str().unwrap_or("").to_string(),
                    h["holder"].as_str().unwrap_or("").to_string(),
                ),
                free,
            );
        }
    }
    let sum: i64 = hub.values().sum();
    ensure!(
        sum == total,
        "hub + tills hold {sum}, the starting stock less the sales is {total}"
    );
    for till in tills {
        let mut theirs = BTreeMap::new();
        for l in till.replica().levels()? {
            for h in &l.holders {
                theirs.insert((l.variant.to_string(), h.holder.to_string()), h.free);
            }
        }
        if theirs != hub {
            let differ = hub
                .iter()
                .filter(|(k, v)| theirs.get(*k) != Some(*v))
                .count();
            bail!(
                "till {} has not converged: {differ} counters differ",
                till.shop().till_id
            );
        }
    }
    Ok(hub.len())
}
