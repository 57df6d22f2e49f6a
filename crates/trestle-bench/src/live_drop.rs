//! The live drop at the hub (design §8): a real hub in this process on 127.0.0.1 (its own tokio
//! runtime), N buyers on keep-alive HTTP/1 connections racing for M units of one `deny` variant
//! of shop A while shop B takes steady checkouts; throughput, latency, oversells (checked by
//! count and by the hub's own stock level), and B's tail latency during the drop against B alone.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use serde_json::Value;
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::Currency;
use trestle_hub::directory::Directory;
use trestle_hub::{Config, LocalHub};

use crate::stats::{ratio_milli, Summary};

/// The Kalima Arts export every shop of the run imports.
const KALIMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../demo/kalima-arts_products_export.csv"
);
/// Tracked, `deny`: the drop's variant (its stock is set to exactly M).
pub const DROP_VARIANT: &str = "Queen Nefertiti — XL / Black / T-Shirt";
/// Tracked, `continue` (made to order): shop B's steady traffic, always accepted.
pub const STEADY_VARIANT: &str = "Old Soul - 017 #Rihanna";

/// Goals (full runs only).
pub const GOAL_THROUGHPUT: u64 = 10_000;
pub const GOAL_P99_NS: u64 = 25_000_000;
pub const GOAL_B_RATIO_MILLI: u64 = 1_200;

/// How the drop is run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Concurrent buyers on shop A, each on its own keep-alive connection.
    pub buyers: usize,
    /// Units of the drop variant in stock (M).
    pub units: i64,
    /// Checkout attempts of the drop in all (each with its own idempotency key).
    pub checkouts: u64,
    /// Shop B's steady checkouts per second (alone, then during the drop).
    pub b_rate: u64,
    /// The drop's arrival rate across all buyers, per second; 0 = as fast as answered.
    pub a_rate: u64,
    /// Shop B's checkouts measured alone before the dr.
    pub b_idle: u64,
    /// Worker threads of the hub's runtime and of the load's runtime.
    pub hub_threads: usize,
    pub load_threads: usize,
    pub dir: Option<PathBuf>,
    pub smoke: bool,
}

impl Options {
    pub fn smoke() -> Options {
        Options {
            buyers: 16,
            units: 20,
            checkouts: 600,
            b_rate: 100,
            a_rate: 0,
            b_idle: 50,
            hub_threads: 2,
            load_threads: 2,
            dir: None,
            smoke: true,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub dir: String,
    pub buyers: usize,
    /// The drop's paced arrival rate (0: unpaced).
    pub a_rate: u64,
    pub units: i64,
    pub hub_threads: usize,
    pub load_threads: usize,
    /// Drop checkouts answered (accepted + refused) and those answered otherwise.
    pub answered: u64,
    pub accepted: u64,
    pub refused: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Accepted beyond the units in stock.
    pub oversells: u64,
    /// The lowest `available` the hub reported during and after the drop, and at the end.
    pub min_available: i64,
    pub final_available: i64,
    pub level_samples: u64,
    /// Replays of accepted keys that answered the same order without taking stock again.
    pub replays_ok: u64,
    pub replays: u64,
    /// Checkouts the hub's own counter accepted during the drop (A + B), for the cross-check.
    pub hub_accepted: u64,
    pub drop_ms: u64,
    /// Answered drop checkouts per second.
    pub throughput: u64,
    pub latency: Summary,
    /// Group-commit transactions and jobs committed during the drop (both shops).
    pub batches: u64,
    pub batched_jobs: u64,
    pub b_rate: u64,
    pub b_idle: Summary,
    pub b_drop: Summary,
    pub b_errors: u64,
    /// B's p99 during the drop / alone, in thousandths.
    pub b_ratio_milli: u64,
    pub correct: bool,
    /// `None` in a smoke run (no claim is made).
    pub meets_goal: Option<bool>,
}

/// Runs the whole benchmark: set-up, B alone, then the drop with B alongside.
pub fn run(o: &Options) -> Result<Report> {
    let tmp = match &o.dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let db = tmp.path().join("hub.sqlite");
    let (admin_a, admin_b) = {
        let d = Directory::open(&db)?;
        let gbp = Currency::parse("GBP")?;
        let rate = TaxRate::parse_percent("20")?;
        let (_, a) = d.create_shop("Drop Shop", gbp, TaxMode::Inclusive, rate)?;
        let (_, b) = d.create_shop("Steady Shop", gbp, TaxMode::Inclusive, rate)?;
        (a, b)
    };
    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.load_threads)
        .thread_name("load")
        .enable_all()
        .build()?;
    let mut hub = LocalHub::start(Config::new(db, "127.0.0.1:0".parse()?), o.hub_threads)?;
    let port = hub.port();
    let state = hub.state().clone();
    let checkouts = move || state.metrics.checkouts();
    let result = load_rt.block_on(drive(o, port, admin_a, admin_b, &checkouts));
    hub.stop()?;
    let mut report = result?;
    report.dir = tmp.path().display().to_string();
    Ok(report)
}

/// One shop as the load sees it.
#[derive(Clone)]
struct Shop {
    client: reqwest::Client,
    base: Arc<str>,
    token: Arc<str>,
}

impl Shop {
    async fn send(&self, rb: reqwest::RequestBuilder) -> Result<(u16, Value)> {
        let r = rb.bearer_auth(&*self.token).send().await?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let (s, v) = self
            .send(self.client.get(format!("{}{path}", self.base)))
            .await?;
        if s != 200 {
            bail!("GET {path}: {s} {v}");
        }
        Ok(v)
    }

    async fn variant(&self, title: &str) -> Result<String> {
        let cat = self.get("/v1/catalog").await?;
        cat["variants"]
            .as_array()
            .and_then(|vs| vs.iter().find(|v| v["title"].as_str() == Some(title)))
            .and_then(|v| v["variant_id"].as_str())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no variant {title} in the catalog"))
    }

    async fn available(&self, variant: &str) -> Result<i64> {
        let v = self.get(&format!("/v1/inventory/{variant}")).await?;
        v["available"]
            .as_i64()
            .ok_or_else(|| anyhow!("no available in {v}"))
    }

    /// One checkout of `body` with `key`: (status, latency, replayed).
    async fn checkout(&self, key: &str, body: &'static [u8]) -> Result<(u16, Duration, bool)> {
        let started = Instant::now();
        let r = self
            .client
            .post(format!("{}/v1/checkout", self.base))
            .bearer_auth(&*self.token)
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body)
            .send()
            .await?;
        let status = r.status().as_u16();
        let replayed = r.headers().contains_key("idempotent-replayed");
        let _ = r.bytes().await?;
        Ok((status, started.elapsed(), replayed))
    }
}

/// A ship order of one unit of `variant`, built once for the whole run (leaked, so every
/// request's body is a pointer to it, not a copy).
fn order_body(variant: &str) -> &'static [u8] {
    let s = format!(
        r#"{{"lines":[{{"variant_id":"{variant}","qty":1}}],"customer":{{"name":"Ada"}},"fulfilment":{{"type":"ship"}}}}"#
    );
    Box::leak(s.into_bytes().into_boxed_slice())
}

/// A keep-alive HTTP/1 client for loopback (no proxy, connections kept for the whole run).
fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(None)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Shop B's customers are not shop A's buyers: their traffic runs on its own thread, runtime
/// and connections, so B's latencies do not include A's buyers queueing in the load's runtime.
async fn steady_apart(
    b: &Shop,
    body: &'static [u8],
    rate: u64,
    count: Option<u64>,
    done: Option<Arc<AtomicBool>>,
    label: &'static str,
) -> Result<(Summary, u64)> {
    let (base, token) = (b.base.clone(), b.token.clone());
    let thread = std::thread::Builder::new()
        .name("load-b".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let b = Shop {
                    client: http_client()?,
                    base,
                    token,
                };
                steady(&b, body, rate, count, done, label).await
            })
        })?;
    tokio::task::spawn_blocking(move || thread.join())
        .await?
        .map_err(|_| anyhow!("shop B's load thread panicked"))?
}

async fn drive(
    o: &Options,
    port: u16,
    admin_a: String,
    admin_b: String,
    hub_checkouts: &(dyn Fn() -> u64 + Sync),
) -> Result<Report> {
    let client = http_client()?;
    let base: Arc<str> = format!("http://127.0.0.1:{port}").into();
    let a = Shop {
        client: client.clone(),
        base: base.clone(),
        token: admin_a.into(),
    };
    let b = Shop {
        client,
        base,
        token: admin_b.into(),
    };
    // Set-up: both catalogs, exactly M units of the drop variant.
    let csv = std::fs::read(KALIMA).with_context(|| format!("reading {KALIMA}"))?;
    for s in [&a, &b] {
        let rb = s
            .client
            .post(format!("{}/v1/catalog/import", s.base))
            .header("content-type", "text/csv")
            .body(csv.clone());
        let (st, v) = s.send(rb).await?;
        if st != 200 {
            bail!("catalog import: {st} {v}");
        }
    }
    let tee = a.variant(DROP_VARIANT).await?;
    let print = b.variant(STEADY_VARIANT).await?;
    let delta = o.units - a.available(&tee).await?;
    if delta != 0 {
        let body = serde_json::json!({ "variant_id": tee, "delta": delta, "reason": "the drop" });
        let rb = a
            .client
            .post(format!("{}/v1/inventory/counts", a.base))
            .json(&body);
        let (st, v) = a.send(rb).await?;
        if st != 200 {
            bail!("stock count: {st} {v}");
        }
    }
    if a.available(&tee).await? != o.units {
        bail!("the drop variant does not have exactly {} units", o.units);
    }
    let a_body = order_body(&tee);
    let b_body = order_body(&print);

    // Shop B alone: warm-up, then measured.
    let warm = o.b_idle.clamp(10, 200);
    steady_apart(&b, b_body, o.b_rate, Some(warm), None, "warm").await?;
    let (b_idle, idle_errors) =
        steady_apart(&b, b_body, o.b_rate, Some(o.b_idle), None, "idle").await?;

    // The drop, with B alongside and the level watched.
    let batches_before = batch_counters(&a).await?;
    let hub_before = hub_checkouts();
    let done = Arc::new(AtomicBool::new(false));
    let min_seen = Arc::new(AtomicI64::new(i64::MAX));
    let b_task = {
        let (b, body, done) = (b.clone(), b_body, done.clone());
        let rate = o.b_rate;
        tokio::spawn(async move { steady_apart(&b, body, rate, None, Some(done), "drop").await })
    };
    let watch_task = {
        let (a, tee, done, min_seen) = (a.clone(), tee.clone(), done.clone(), min_seen.clone());
        tokio::spawn(async move { watch(&a, &tee, &done, &min_seen).await })
    };
    let dr = buyers(&a, a_body, o.buyers, o.checkouts, o.a_rate).await;
    done.store(true, Relaxed);
    let (b_drop, b_drop_errors) = b_task.await??;
    let level_samples = watch_task.await??;
    let dr = dr?;
    let hub_accepted = hub_checkouts() - hub_before;
    let batches_after = batch_counters(&a).await?;

    // After: the level, and replays of accepted keys take nothing again.
    let final_available = a.available(&tee).await?;
    min_seen.fetch_min(final_available, Relaxed);
    let (mut replays, mut replays_ok) = (0, 0);
    for key in dr.accepted_keys.iter().take(5) {
        replays += 1;
        let (st, _, replayed) = a.checkout(key, a_body).await?;
        if st == 201 && replayed {
            replays_ok += 1;
        }
    }
    let after_replays = a.available(&tee).await?;

    let units = u64::try_from(o.units).unwrap_or(0);
    let oversells = dr.accepted.saturating_sub(units);
    let min_available = min_seen.load(Relaxed);
    let correct = oversells == 0
        && dr.accepted == units
        && min_available >= 0
        && final_available == 0
        && after_replays == final_available
        && replays_ok == replays
        && dr.errors == 0
        && hub_accepted == dr.accepted + b_drop.samples as u64;
    let answered = dr.accepted + dr.refused;
    let drop_ns = u64::try_from(dr.elapsed.as_nanos())
        .unwrap_or(u64::MAX)
        .max(1);
    let throughput = u64::try_from(u128::from(answered) * 1_000_000_000 / u128::from(drop_ns))
        .unwrap_or(u64::MAX);
    let latency = Summary::of(&dr.latencies);
    let b_ratio_milli = ratio_milli(b_drop.p99_ns, b_idle.p99_ns);
    let meets_goal = (!o.smoke).then_some(
        correct
            && throughput >= GOAL_THROUGHPUT
            && latency.p99_ns <= GOAL_P99_NS
            && b_ratio_milli <= GOAL_B_RATIO_MILLI,
    );
    Ok(Report {
        dir: String::new(),
        buyers: o.buyers,
        a_rate: o.a_rate,
        units: o.units,
        hub_threads: o.hub_threads,
        load_threads: o.load_threads,
        answered,
        accepted: dr.accepted,
        refused: dr.refused,
        errors: dr.errors,
        first_error: dr.first_error,
        oversells,
        min_available,
        final_available,
        level_samples,
        replays_ok,
        replays,
        hub_accepted,
        drop_ms: drop_ns / 1_000_000,
        throughput,
        latency,
        batches: batches_after.0.saturating_sub(batches_before.0),
        batched_jobs: batches_after.1.saturating_sub(batches_before.1),
        b_rate: o.b_rate,
        b_idle,
        b_drop,
        b_errors: idle_errors + b_drop_errors,
        b_ratio_milli,
        correct,
        meets_goal,
    })
}

struct DropRun {
    accepted: u64,
    refused: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
    accepted_keys: Vec<String>,
    elapsed: Duration,
}

/// `n` buyers take attempts from one counter until `total` have been made; each opens its
/// connection first (a GET) and all start together.
async fn buyers(a: &Shop, body: &'static [u8], n: usize, total: u64, rate: u64) -> Result<DropRun> {
    // Paced: each buyer sends one checkout every n/rate s (arrivals as in a real drop, where
    // people click at their own pace); unpaced: each sends the next as soon as it is answered.
    let period = (rate > 0).then(|| {
        let per_buyer = (rate / u64::try_from(n.max(1)).unwrap_or(1)).max(1);
        Duration::from_nanos(1_000_000_000 / per_buyer)
    });
    let next = Arc::new(AtomicU64::new(0));
    let start = Arc::new(tokio::sync::Barrier::new(n + 1));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let (a, next, start) = (a.clone(), next.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            let warm = a.get("/healthz").await;
            start.wait().await;
            warm?;
            let mut out = Vec::new();
            let mut tick = period.map(|p| {
                let mut t = tokio::time::interval(p);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            loop {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let i = next.fetch_add(1, Relaxed);
                if i >= total {
                    break;
                }
                let key = format!("drop-{i}");
                let r = a.checkout(&key, body).await;
                out.push((key, r));
            }
            anyhow::Ok(out)
        }));
    }
    start.wait().await;
    let t0 = Instant::now();
    let mut d = DropRun {
        accepted: 0,
        refused: 0,
        errors: 0,
        first_error: None,
        latencies: Vec::with_capacity(usize::try_from(total).unwrap_or(0)),
        accepted_keys: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let mut results = Vec::with_capacity(n);
    for t in tasks {
        results.push(t.await??);
    }
    d.elapsed = t0.elapsed();
    for (key, r) in results.into_iter().flatten() {
        match r {
            Ok((201, lat, _)) => {
                d.accepted += 1;
                d.latencies.push(lat);
                d.accepted_keys.push(key);
            }
            Ok((409, lat, _)) => {
                d.refused += 1;
                d.latencies.push(lat);
            }
            Ok((st, _, _)) => {
                d.errors += 1;
                d.first_error.get_or_insert_with(|| format!("status {st}"));
            }
            Err(e) => {
                d.errors += 1;
                d.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    Ok(d)
}

/// Shop B's steady traffic: one checkout every `1/rate` s, each on its own task (open loop, so
/// a slow answer does not delay the next), until `count` were sent or `done` is set. Returns
/// the latencies of the accepted ones and how many were not accepted.
async fn steady(
    b: &Shop,
    body: &'static [u8],
    rate: u64,
    count: Option<u64>,
    done: Option<Arc<AtomicBool>>,
    label: &str,
) -> Result<(Summary, u64)> {
    let period = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tasks = Vec::new();
    // Bounded: at most `count`, or ten minutes of ticks.
    let limit = count.unwrap_or(rate.max(1) * 600);
    for i in 0..limit {
        tick.tick().await;
        if done.as_ref().is_some_and(|d| d.load(Relaxed)) {
            break;
        }
        let b = b.clone();
        let key = format!("steady-{label}-{i}");
        tasks.push(tokio::spawn(async move { b.checkout(&key, body).await }));
    }
    let mut lat = Vec::with_capacity(tasks.len());
    let mut errors = 0;
    for t in tasks {
        match t.await? {
            Ok((201, d, _)) => lat.push(d),
            _ => errors += 1,
        }
    }
    if lat.is_empty() {
        bail!("shop B answered no checkout ({label})");
    }
    Ok((Summary::of(&lat), errors))
}

/// Reads the drop variant's level every 20 ms until `done`; keeps the lowest seen.
async fn watch(a: &Shop, tee: &str, done: &AtomicBool, min_seen: &AtomicI64) -> Result<u64> {
    let mut samples = 0;
    // Bounded: ten minutes of samples at most.
    for _ in 0..30_000u32 {
        if done.load(Relaxed) {
            break;
        }
        min_seen.fetch_min(a.available(tee).await?, Relaxed);
        samples += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(samples)
}

/// (batches, batched jobs) from the hub's `/metrics`.
async fn batch_counters(a: &Shop) -> Result<(u64, u64)> {
    let r = a
        .client
        .get(format!("{}/metrics", a.base))
        .send()
        .await?
        .text()
        .await?;
    let find = |name: &str| {
        r.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((
        find("trestle_commit_batches_total "),
        find("trestle_commit_batched_jobs_total "),
    ))
}
