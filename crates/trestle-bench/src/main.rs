//! `trestle-bench`: the benchmarks of design §8, each measured as a ratio against a baseline run
//! in the same process, printed as a table or (with `--json`) as one JSON document. Results and
//! the commands that produced them go in `docs/benchmarks.md`.

// Printing the results is this binary's job.
#![allow(clippy::print_stdout)]

mod day;
// The fault run is shared with trestle-till's CI test of it (tests/sync_faults.rs).
#[path = "../../trestle-till/tests/common/fault_run.rs"]
mod fault_run;
mod live_drop;
mod market_day;
mod outbox_frame;
mod replica;
mod replica_model;
mod sale_commit;
mod search;
mod stats;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use stats::{milli_str, us_str, Summary};

#[derive(Debug, Parser)]
#[command(name = "trestle-bench", version, about)]
struct Cli {
    /// Print one JSON document instead of a table
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The durable sale commit at the till against a bare SQLite transaction with the same
    /// durability (WAL, synchronous=FULL) writing the same rows
    SaleCommit(SaleCommitArgs),
    /// The shop replica with the till's epoch policy against one plain Automerge document kept
    /// for ever: a sale, the hub applying a till's sale as history grows, and the till's stored
    /// size and load time
    Replica(ReplicaArgs),
    /// A live drop at the hub: N concurrent buyers racing for M units of one `deny` variant on
    /// shop A while shop B takes steady checkouts; throughput, latency, oversells (must be 0) and
    /// B's p99 during the drop against B alone
    LiveDrop(LiveDropArgs),
    /// A market day reconciled: three tills × 5,000 offline sales over 2,000 SKUs synced with
    /// the real hub over HTTP on loopback (time and bytes on the wire, outbox included) against
    /// raw Automerge sync and whole-snapshot exchange of the same day
    MarketDay(MarketDayArgs),
    /// The full fault run: three tills sell and sync through a TCP proxy that drops,
    /// duplicates, delays, resets and truncates a share of the exchanges; fails unless every
    /// sale is at the hub exactly once and every replica converged
    SyncFaults(SyncFaultsArgs),
    /// Search as you type at the till over 20,000 variants: every keystroke of typical queries
    /// through `Till::search` against the same LIKE query on the same file with bare rusqlite
    Search(SearchArgs),
}

#[derive(Debug, Args)]
struct SyncFaultsArgs {
    /// Sales in all, spread evenly over the tills
    #[arg(long, default_value_t = 10_000)]
    sales: usize,
    #[arg(long, default_value_t = 3)]
    tills: usize,
    /// Sales each till makes between two syncs
    #[arg(long, default_value_t = 100)]
    per_round: usize,
    #[arg(long, default_value_t = 200)]
    skus: usize,
    /// The share of faulty exchanges: 0.3 or 30%
    #[arg(long, default_value = "30%", value_parser = trestle_netfault::parse_rate)]
    faults: u32,
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,
    /// Where the database files go [default: the system's temporary directory]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct SearchArgs {
    #[arg(long, default_value_t = 20_000)]
    variants: usize,
    /// Rounds over every keystroke of the queries
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Results per keystroke, as the Sell screen asks
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// A quick run for CI (1,000 variants, 2 rounds); the figures mean nothing
    #[arg(long)]
    smoke: bool,
}

#[derive(Debug, Args)]
struct MarketDayArgs {
    #[arg(long, default_value_t = 3)]
    tills: usize,
    /// Offline sales per till
    #[arg(long, default_value_t = 5000)]
    sales: usize,
    #[arg(long, default_value_t = 2000)]
    skus: usize,
    /// A quick run for CI (3 tills × 200 sales over 100 SKUs); fails if the day does not
    /// converge; the figures mean nothing and no claim is made
    #[arg(long)]
    smoke: bool,
    /// Where the database files go [default: the system's temporary directory]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct LiveDropArgs {
    /// Concurrent buyers on shop A, each on its own keep-alive HTTP/1 connection
    #[arg(long, default_value_t = 64)]
    buyers: usize,
    /// Units of the drop variant in stock
    #[arg(long, default_value_t = 100)]
    units: i64,
    /// Checkout attempts of the drop in all
    #[arg(long, default_value_t = 100_000)]
    checkouts: u64,
    /// Shop B's steady checkouts per second
    #[arg(long, default_value_t = 200)]
    b_rate: u64,
    /// The drop's arrival rate, in checkouts per second across all buyers (0: every buyer as
    /// fast as the hub answers)
    #[arg(long, default_value_t = 0)]
    a_rate: u64,
    /// Shop B's checkouts measured alone, before the drop
    #[arg(long, default_value_t = 2_000)]
    b_idle: u64,
    /// Worker threads of the hub's tokio runtime
    #[arg(long, default_value_t = 2)]
    hub_threads: usize,
    /// Worker threads of the load's tokio runtime
    #[arg(long, default_value_t = 2)]
    load_threads: usize,
    /// A quick run for CI (16 buyers, 20 units, 600 attempts); fails on any oversell or if the
    /// accepted orders are not exactly the units; the figures mean nothing and no claim is made
    #[arg(long)]
    smoke: bool,
    /// Where the hub's database files go [default: the system's temporary directory]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ReplicaArgs {
    /// Measured sales of each kind for the sale cost
    #[arg(long, default_value_t = 2000)]
    sales: u64,
    /// Sales of history at which applying a remote sale is measured, ascending (the ratio is
    /// last / first)
    #[arg(long, num_args = 1.., value_delimiter = ',', default_values_t = [1_000, 10_000, 100_000])]
    history: Vec<u64>,
    /// Cap on the raw baseline's history (building it costs more per sale as it grows)
    #[arg(long, default_value_t = 15_000)]
    raw_history: u64,
    /// Sales after which the till's stored size and load time are measured
    #[arg(long, default_value_t = 15_000)]
    size_sales: u64,
    /// Remote sales applied at each history (the default is one whole rebase cycle)
    #[arg(long, default_value_t = 500)]
    applies: u64,
    /// Loads of each kind
    #[arg(long, default_value_t = 20)]
    loads: usize,
    /// Variants in the catalog
    #[arg(long, default_value_t = 200)]
    variants: usize,
    /// A quick run for CI (300 sales, history 100 and 600, 50 variants); the figures mean
    /// nothing and no claim is made
    #[arg(long)]
    smoke: bool,
}

#[derive(Debug, Args)]
struct SaleCommitArgs {
    /// Measured commits of each kind (till and baseline)
    #[arg(long, default_value_t = 2000)]
    sales: usize,
    /// A quick run for CI (50 sales); the figures mean nothing and no claim is made
    #[arg(long, conflicts_with = "sales")]
    smoke: bool,
    /// Where the database files go [default: the system's temporary directory]. Use a directory
    /// on the disk you care about: on tmpfs an fsync costs nothing.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::SaleCommit(a) => {
            let opts = sale_commit::Options {
                sales: if a.smoke { 50 } else { a.sales },
                smoke: a.smoke,
                dir: a.dir,
            };
            let report = sale_commit::run(&opts)?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_sale_commit(&report);
            }
        }
        Command::Replica(a) => {
            let opts = if a.smoke {
                replica::Options::smoke()
            } else {
                replica::Options {
                    sales: a.sales,
                    history: a.history,
                    raw_history: a.raw_history,
                    size_sales: a.size_sales,
                    applies: a.applies,
                    loads: a.loads,
                    variants: a.variants,
                    smoke: false,
                }
            };
            let report = replica::run(&opts)?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_replica(&report);
            }
        }
        Command::Search(a) => {
            let (variants, rounds) = if a.smoke {
                (1000, 2)
            } else {
                (a.variants, a.rounds)
            };
            let r = search::run(variants, rounds, a.limit)?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "search as you type: {} variants, {} keystrokes x {} rounds, {} results each",
                    r.variants, r.keystrokes, r.rounds, r.limit
                );
                for (name, s) in [
                    ("Till::search", &r.till_search),
                    ("bare LIKE", &r.bare_like),
                ] {
                    println!(
                        "  {name:<14} median {} us  p90 {} us  p99 {} us  max {} us",
                        us_str(s.median_ns),
                        us_str(s.p90_ns),
                        us_str(s.p99_ns),
                        us_str(s.max_ns)
                    );
                }
                let goal = u64::try_from(search::GOAL.as_nanos()).unwrap_or(u64::MAX);
                println!(
                    "  ratio {}x the bare query; p99 {} the 5 ms goal",
                    milli_str(r.ratio_milli),
                    if r.till_search.p99_ns <= goal {
                        "within"
                    } else {
                        "ABOVE"
                    }
                );
            }
        }
        Command::MarketDay(a) => {
            let opts = if a.smoke {
                market_day::Options::smoke(a.dir)
            } else {
                market_day::Options {
                    tills: a.tills,
                    sales: a.sales,
                    skus: a.skus,
                    smoke: false,
                    dir: a.dir,
                }
            };
            let report = market_day::run(&opts)?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                market_day::print(&report);
            }
            if !report.converged {
                anyhow::bail!("the market day did not converge");
            }
        }
        Command::SyncFaults(a) => {
            let report = fault_run::run(&fault_run::FaultRun {
                tills: a.tills,
                sales: a.sales,
                per_round: a.per_round,
                skus: a.skus,
                faults_per_million: a.faults,
                seed: a.seed,
                tries: 40,
                dir: a.dir,
            })?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_sync_faults(&report);
            }
        }
        Command::LiveDrop(a) => {
            let opts = if a.smoke {
                live_drop::Options {
                    dir: a.dir,
                    ..live_drop::Options::smoke()
                }
            } else {
                live_drop::Options {
                    buyers: a.buyers,
                    units: a.units,
                    checkouts: a.checkouts,
                    b_rate: a.b_rate,
                    a_rate: a.a_rate,
                    b_idle: a.b_idle,
                    hub_threads: a.hub_threads,
                    load_threads: a.load_threads,
                    dir: a.dir,
                    smoke: false,
                }
            };
            let report = live_drop::run(&opts)?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_live_drop(&report);
            }
            if !report.correct {
                anyhow::bail!(
                    "the drop was not correct: {} accepted for {} units, {} oversold, lowest \
                     level {}, {} errors",
                    report.accepted,
                    report.units,
                    report.oversells,
                    report.min_available,
                    report.errors
                );
            }
        }
    }
    Ok(())
}

fn print_live_drop(r: &live_drop::Report) {
    println!(
        "live-drop: {} buyers racing for {} units of \"{}\" on shop A ({} attempts, {}); shop B: \
         {} checkouts/s of \"{}\"",
        r.buyers,
        r.units,
        live_drop::DROP_VARIANT,
        r.answered + r.errors,
        if r.a_rate == 0 {
            "each buyer as fast as answered".to_string()
        } else {
            format!("arriving at {}/s in all", r.a_rate)
        },
        r.b_rate,
        live_drop::STEADY_VARIANT
    );
    println!(
        "hub in process on 127.0.0.1 ({} runtime threads), load on {} threads, keep-alive HTTP/1; \
         files in {} (WAL, synchronous=FULL)",
        r.hub_threads, r.load_threads, r.dir
    );
    println!();
    println!(
        "throughput: {} checkouts/s ({} answered in {} ms: {} accepted, {} refused; {} errors{})",
        r.throughput,
        r.answered,
        r.drop_ms,
        r.accepted,
        r.refused,
        r.errors,
        r.first_error
            .as_ref()
            .map(|e| format!(", first: {e}"))
            .unwrap_or_default()
    );
    let mean_batch = r.batched_jobs.checked_div(r.batches).unwrap_or(0);
    println!(
        "group commit during the drop: {} transactions, {} jobs, {} jobs per commit on average",
        r.batches, r.batched_jobs, mean_batch
    );
    summary_head("ms per checkout");
    summary_row("shop A drop checkouts", &r.latency, ms_str);
    summary_row(
        &format!("shop B alone ({} accepted)", r.b_idle.samples),
        &r.b_idle,
        ms_str,
    );
    summary_row(
        &format!("shop B during the drop ({} accepted)", r.b_drop.samples),
        &r.b_drop,
        ms_str,
    );
    println!(
        "shop B p99 during / alone: {} ({} of B's checkouts not accepted)",
        milli_str(r.b_ratio_milli),
        r.b_errors
    );
    println!(
        "orders accepted: {} for {} units; oversells: {}; lowest available seen: {} ({} reads \
         during the drop), at the end: {}; replayed keys answered the same order: {}/{}; hub's \
         accepted counter during the drop: {}",
        r.accepted,
        r.units,
        r.oversells,
        r.min_available,
        r.level_samples,
        r.final_available,
        r.replays_ok,
        r.replays,
        r.hub_accepted
    );
    println!("correct: {}", if r.correct { "yes" } else { "NO" });
    goal_line(
        r.meets_goal,
        &format!(
            "≥ {} checkouts/s, p99 ≤ {} ms, exactly {} orders, B's p99 ≤ {}× alone",
            live_drop::GOAL_THROUGHPUT,
            ms_str(live_drop::GOAL_P99_NS),
            r.units,
            milli_str(live_drop::GOAL_B_RATIO_MILLI)
        ),
    );
}

fn print_sale_commit(r: &sale_commit::Report) {
    println!(
        "sale-commit: {} durable commits of each kind in {} interleaved rounds, after {} warm-up \
         commits of each",
        r.sales, r.rounds, r.warmup
    );
    println!(
        "files in {} · SQLite {} · WAL, synchronous=FULL · {} statements per commit",
        r.dir, r.sqlite_version, r.statements_per_commit
    );
    println!(
        "till = Till::sell of a 2-line cash sale (ledger + outbox + replica change); baseline = \
         bare transaction writing the same rows ({} B record, {} B outbox payload, {} B change); \
         baseline+am = the same with a real raw-Automerge change",
        r.record_bytes, r.payload_bytes, r.change_bytes
    );
    println!();
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10} {:>10}   µs per commit",
        "", "median", "p90", "p99", "mean", "max"
    );
    let row = |name: &str, s: &Summary| {
        println!(
            "{:<12} {:>10} {:>10} {:>10} {:>10} {:>10}",
            name,
            us_str(s.median_ns),
            us_str(s.p90_ns),
            us_str(s.p99_ns),
            us_str(s.mean_ns),
            us_str(s.max_ns)
        );
    };
    row("till", &r.till);
    row("baseline", &r.baseline);
    row("baseline+am", &r.baseline_automerge);
    println!();
    println!(
        "ratio till / baseline: median {}, mean {}; till / baseline+am: median {}",
        r.ratio_median, r.ratio_mean, r.ratio_median_automerge
    );
    match r.meets_goal {
        None => println!("smoke run: no claim is made from these figures"),
        Some(met) => println!(
            "goal: median ratio ≤ {} — {}",
            milli_str(sale_commit::GOAL_RATIO_MILLI),
            if met { "met" } else { "NOT met" }
        ),
    }
}

fn goal_line(met: Option<bool>, goal: &str) {
    match met {
        None => println!("smoke run: no claim is made from these figures"),
        Some(met) => println!("goal: {goal} — {}", if met { "met" } else { "NOT met" }),
    }
}

fn summary_row(name: &str, s: &Summary, show: fn(u64) -> String) {
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>9}",
        name,
        show(s.median_ns),
        show(s.p90_ns),
        show(s.p99_ns),
        show(s.mean_ns),
        show(s.max_ns)
    );
}

fn summary_head(unit: &str) {
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>9}   {unit}",
        "", "median", "p90", "p99", "mean", "max"
    );
}

/// Nanoseconds as milliseconds with one decimal.
fn ms_str(ns: u64) -> String {
    us_str(ns / 1000)
}

fn print_replica(r: &replica::Report) {
    println!(
        "replica: {} variants, 1 till + the hub; the till's policy: snapshot every {} actions, \
         rebase every {}",
        r.variants, r.snapshot_every, r.rebase_every
    );
    println!(
        "raw = one plain Automerge document of the same shape kept for ever (no epochs, no \
         invariant check); run took {} s",
        r.total_ms / 1000
    );

    let s = &r.sale;
    println!();
    println!(
        "(1) a 2-line sale at a till working alone: {} of each kind from a fresh document, in {} \
         interleaved rounds after {} warm-up sales",
        s.sales, s.rounds, s.warmup
    );
    summary_head("µs");
    summary_row("replica sell + take_unsaved_bytes", &s.replica, us_str);
    summary_row("raw 2 increments + commit + save_inc", &s.raw, us_str);
    if let Some(x) = &s.snapshot {
        summary_row(&format!("policy snapshot (×{})", x.samples), x, us_str);
    }
    if let Some(x) = &s.rebase {
        summary_row(&format!("policy rebase + save (×{})", x.samples), x, us_str);
    }
    println!(
        "ratio replica / raw (median): {}; replica per sale including snapshots and rebases \
         (mean): {} µs",
        s.ratio_median,
        us_str(s.replica_amortised_mean_ns)
    );

    let a = &r.apply;
    println!();
    println!(
        "(2) the hub applies one till sale (replica: merge_bytes + invariant check; raw: \
         load_incremental): {} per history, {} interleaved rounds",
        a.applies, a.rounds
    );
    summary_head("µs");
    for row in &a.replica {
        let name = format!("replica, history {} (epoch {})", row.history, row.epoch);
        summary_row(&name, &row.apply, us_str);
        if let Some(c) = &row.check {
            summary_row(
                "  full check_stock, for scale (merge_bytes checks only what it touched)",
                c,
                us_str,
            );
        }
    }
    for row in &a.raw {
        summary_row(&format!("raw, history {}", row.history), &row.apply, us_str);
    }
    if let Some(x) = &a.hub_rebase {
        summary_row(&format!("hub rebase + save (×{})", x.samples), x, us_str);
    }
    if let Some(x) = &a.till_adopt {
        summary_row(
            &format!("till adopt_epoch + save (×{})", x.samples),
            x,
            us_str,
        );
    }
    let span = |rows: &[replica::ApplyRow]| match (rows.first(), rows.last()) {
        (Some(f), Some(l)) => format!("{}/{}", l.history, f.history),
        _ => String::new(),
    };
    println!(
        "ratio of medians {}: replica {}; raw {} {} (raw history capped at {})",
        span(&a.replica),
        a.ratio_last_first,
        span(&a.raw),
        a.raw_ratio_last_first,
        a.raw_history_cap
    );
    println!(
        "history generated: replica pair in {} ms (batched per epoch), raw in {} ms",
        a.replica_build_ms, a.raw_build_ms
    );
    goal_line(
        a.meets_goal,
        &format!(
            "replica median ≤ {} µs at every history and last/first ≤ {}",
            us_str(replica::GOAL_APPLY_NS),
            milli_str(replica::GOAL_APPLY_RATIO_MILLI)
        ),
    );

    let z = &r.size;
    println!();
    println!(
        "(3) after {} sales: what the till stores and loads at start (snapshot + later changes) \
         vs the raw document saved whole; {} loads of each",
        z.sales, z.at_end.load.samples
    );
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>9}   bytes; load ms",
        "", "stored", "snapshot", "changes", "median", "p90"
    );
    let stored = |name: String, x: &replica::StoredRow| {
        println!(
            "{:<40} {:>9} {:>9} {:>9} {:>9} {:>9}",
            name,
            x.stored_bytes,
            x.snapshot_bytes,
            format!("{}×{}", x.later_changes, x.later_bytes),
            ms_str(x.load.median_ns),
            ms_str(x.load.p90_ns)
        );
    };
    let at = |x: &replica::StoredRow| format!("epoch {}, action {}", x.epoch, x.actions);
    stored(format!("replica at end ({})", at(&z.at_end)), &z.at_end);
    if let Some(h) = &z.heaviest {
        stored(format!("replica heaviest ({})", at(h)), h);
    }
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "raw, saved whole",
        z.raw_bytes,
        "",
        "",
        ms_str(z.raw_load.median_ns),
        ms_str(z.raw_load.p90_ns)
    );
    if let Some(h) = &z.heaviest {
        println!(
            "heaviest = the policy's largest state (snapshot + {} changes), last passed at {} sales",
            h.later_changes, h.sales
        );
    }
    println!(
        "archives (stored apart, not loaded at start): {} epochs, {} bytes in all",
        z.archives, z.archive_bytes
    );
    goal_line(
        z.meets_goal,
        &format!(
            "stored ≤ {} bytes and load median ≤ {} ms, at the end and at the heaviest point",
            replica::GOAL_STORED_BYTES,
            ms_str(replica::GOAL_LOAD_NS)
        ),
    );
}

fn print_sync_faults(r: &fault_run::FaultReport) {
    println!(
        "sync-faults: {} sales from {} tills over {} SKUs in {} rounds, {} faulty exchanges per million (seed {:#x})",
        r.sales, r.tills, r.skus, r.rounds, r.faults_per_million, r.seed
    );
    let faults: Vec<String> = r.faults.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "exchanges through the proxy   {:>8}   faulty {} ({}.{}%: {})",
        r.exchanges,
        r.faulty,
        r.faulty * 100 / r.exchanges.max(1),
        r.faulty * 1000 / r.exchanges.max(1) % 10,
        faults.join(", ")
    );
    println!(
        "sync passes                   {:>8}   cut off {}",
        r.passes, r.failed_passes
    );
    println!(
        "events at the hub             {:>8}   each exactly once",
        r.hub_events
    );
    println!(
        "counters compared per till    {:>8}   every till at the hub's counters, none below zero",
        r.counters_compared
    );
    println!(
        "time                          {:>8} s   selling {} s, syncing {} s",
        milli_str(r.elapsed_ms),
        milli_str(r.selling_ms),
        milli_str(r.syncing_ms)
    );
}
