//! The `trestle` command: the till engine without a window. Parses arguments into typed values,
//! calls one `Till` service, and prints a table (or one JSON document with `--json`). On error it
//! prints one sentence, exits non-zero, and has written nothing.

// Errors go to stderr as one sentence; that is this binary's job.
#![allow(clippy::print_stderr)]

/// `println!` that never panics: a closed pipe (`trestle sales | head`) just ends the output.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

mod args;
mod market;
mod pickups;
mod render;
mod sync_cmds;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;
use trestle_till::Error;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let sentence = usage_sentence(&e.render().to_string());
            // `--json` was asked for even though the rest could not be read: keep the promise
            // of one JSON document on stdout.
            if std::env::args_os().skip(1).any(|a| a == "--json") {
                print_json(&serde_json::json!({
                    "error": {"code": "input.invalid", "message": sentence}
                }));
            }
            eprintln!("trestle: {sentence} (see `trestle --help`).");
            return ExitCode::from(2);
        }
    };
    init_logging();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::debug!(error = ?e, code = e.code(), "command failed");
            if json {
                print_json(
                    &serde_json::json!({"error": {"code": e.code(), "message": e.to_string()}}),
                );
            }
            eprintln!("trestle: {}.", e.to_string().trim_end_matches('.'));
            ExitCode::FAILURE
        }
    }
}

/// One sentence from clap's error: its first paragraph (the message and, for missing arguments,
/// the indented names on the following lines), without the usage block and tips.
fn usage_sentence(rendered: &str) -> String {
    let words: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let text = words.join(" ");
    let text = text
        .trim_start_matches("error: ")
        .trim_end_matches('.')
        .trim();
    if text.is_empty() {
        "the arguments could not be read".to_string()
    } else {
        text.to_string()
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRESTLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person at a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => out!("{s}"),
        Err(e) => eprintln!("trestle: the result could not be written as JSON ({e})."),
    }
}

fn data_dir(cli: &Cli) -> PathBuf {
    if let Some(d) = &cli.data_dir {
        return d.clone();
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/trestle"),
        None => PathBuf::from(".trestle"),
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let dir = data_dir(&cli);
    let json = cli.json;
    match cli.command {
        Command::Init(a) => args::init(&dir, a, json),
        Command::Catalog(a) => args::catalog(&dir, a, json),
        Command::Stock => args::stock(&dir, json),
        Command::Audit => args::audit(&dir, json),
        Command::Sell(a) => args::sell(&dir, a, json),
        Command::Refund(a) => args::refund(&dir, a, json),
        Command::Void(a) => args::void(&dir, a, json),
        Command::Sales(a) => args::sales(&dir, a, json),
        Command::Receipt(a) => args::receipt(&dir, a, json),
        Command::Outbox(a) => args::outbox(&dir, a, json),
        Command::Pair(a) => args::pair(&dir, a, json),
        Command::Staff(c) => market::staff(&dir, c, json),
        Command::Event(c) => market::event(&dir, c, json),
        Command::Export(c) => market::export(&dir, c),
        Command::Sync(a) => sync_cmds::sync(&dir, a, json),
        Command::Conflicts(a) => sync_cmds::conflicts(&dir, a, json),
        Command::Feed(a) => sync_cmds::feed(&dir, a, json),
        Command::Reservations(c) => pickups::run(&dir, c, json),
    }
}
