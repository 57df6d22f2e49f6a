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
mod print;
mod replica;
mod replica_model;
mod sale_commit;
mod search;
mod stats;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use print::{
    print_live_drop, print_market_day, print_replica, print_sale_commit, print_sync_faults,
};
use stats::{milli_str, us_str};

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
                print_market_day(&report);
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
