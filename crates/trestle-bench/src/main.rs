//! `trestle-bench`: the benchmarks of design §8, each measured as a ratio against a baseline run
//! in the same process, printed as a table or (with `--json`) as one JSON document. Results and
//! the commands that produced them go in `docs/benchmarks.md`.

// Printing the results is this binary's job.
#![allow(clippy::print_stdout)]

mod sale_commit;
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
    }
    Ok(())
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
        "till = Till::sell of a 2-line cash sale; baseline = bare transaction writing the same \
         rows ({} B record, {} B outbox payload)",
        r.record_bytes, r.payload_bytes
    );
    println!();
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10} {:>10}   µs per commit",
        "", "median", "p90", "p99", "mean", "max"
    );
    let row = |name: &str, s: &Summary| {
        println!(
            "{:<10} {:>10} {:>10} {:>10} {:>10} {:>10}",
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
    println!();
    println!(
        "ratio till / baseline: median {}, mean {}",
        r.ratio_median, r.ratio_mean
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
