//! The sync commands: one pass or the loop (`sync [--watch]`), the conflicts (`conflicts`,
//! `conflicts resolve`) and the hub's feed as the till acted on it (`feed`).

use std::path::Path;

use clap::{Args, Subcommand};
use trestle_till::sync::conflicts::short;
use trestle_till::sync::{AgentOptions, ConflictItem, FeedItem, SyncAgent, SyncStatus};
use trestle_till::{Error, Till};

use crate::{print_json, render};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Keep syncing in the background until Ctrl-C or SIGTERM, printing each change of status
    #[arg(long)]
    watch: bool,
}

#[derive(Debug, Args)]
pub struct ConflictsArgs {
    /// Include the resolved ones
    #[arg(long)]
    all: bool,
    #[command(subcommand)]
    action: Option<ConflictsCmd>,
}

#[derive(Debug, Subcommand)]
pub enum ConflictsCmd {
    /// Resolve one conflict at the hub with one of the resolutions it offers
    Resolve {
        /// The conflict's id as `trestle conflicts` shows it (its last 8 characters, or more)
        id: String,
        /// One of the resolutions the conflict offers, e.g. make_more
        #[arg(long = "with", value_name = "CHOICE")]
        choice: String,
        /// Why, in a few words (kept with the resolution at the hub)
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct FeedArgs {
    /// Only the entries not acted on yet
    #[arg(long)]
    pending: bool,
}

pub fn sync(dir: &Path, a: SyncArgs, json: bool) -> Result<(), Error> {
    if !a.watch {
        let mut till = Till::open(dir)?;
        let summary = till.sync()?;
        if json {
            print_json(&summary);
        } else {
            render::synced(&summary);
        }
        return Ok(());
    }
    let agent = SyncAgent::start(AgentOptions::new(dir))?;
    let changes = agent.subscribe();
    std::thread::spawn(move || {
        let mut last: Option<SyncStatus> = None;
        for s in changes {
            let shown = |x: &SyncStatus| {
                (
                    x.connectivity,
                    x.live,
                    x.pending,
                    x.open_conflicts,
                    x.last_error.clone(),
                )
            };
            if last.as_ref().map(shown) == Some(shown(&s)) {
                continue;
            }
            if json {
                if let Ok(line) = serde_json::to_string(&s) {
                    out!("{line}");
                }
            } else {
                out!("{}", status_line(&s));
            }
            last = Some(s);
        }
    });
    wait_for_signal();
    tracing::info!("stopping the sync loop");
    agent.stop();
    Ok(())
}

/// Blocks until Ctrl-C or SIGTERM.
fn wait_for_signal() {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    });
}

fn status_line(s: &SyncStatus) -> String {
    let state = match s.connectivity {
        trestle_till::sync::Connectivity::Starting => "starting",
        trestle_till::sync::Connectivity::Online if s.live => "online (live)",
        trestle_till::sync::Connectivity::Online => "online",
        trestle_till::sync::Connectivity::Offline => "offline",
    };
    let mut line = format!(
        "{state}: {} waiting to be sent, {} open conflicts",
        s.pending, s.open_conflicts
    );
    if let Some(e) = &s.last_error {
        line.push_str(" — ");
        line.push_str(e);
    }
    line
}

pub fn conflicts(dir: &Path, a: ConflictsArgs, json: bool) -> Result<(), Error> {
    match a.action {
        None => {
            let mut till = Till::open(dir)?;
            // This till's own findings (its ledger against its counters) join the hub's.
            till.audit()?;
            let list = till.conflicts(a.all)?;
            if json {
                print_json(&list);
            } else if list.is_empty() {
                out!("No conflicts{}.", if a.all { "" } else { " open" });
            } else {
                for c in &list {
                    out!("{}", conflict_line(c));
                }
            }
        }
        Some(ConflictsCmd::Resolve { id, choice, note }) => {
            let mut till = Till::open(dir)?;
            let c = till.resolve_conflict(&id, &choice, note.as_deref())?;
            if json {
                print_json(&c);
            } else {
                out!("{}", conflict_line(&c));
            }
        }
    }
    Ok(())
}

/// One conflict on one line: id, status, what, about what, the facts, the choices.
pub fn conflict_line(item: &ConflictItem) -> String {
    let c = &item.record;
    let about = item.about();
    let facts: Vec<String> = item
        .fact_list()
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let mut line = format!(
        "{}  {:<8}  {}",
        short(&c.id.to_string()),
        c.status,
        item.what()
    );
    if !about.is_empty() {
        line.push_str(&format!(" — {about}"));
    }
    if let Some(h) = &c.holder {
        line.push_str(&format!(" at {h}"));
    }
    if item.source == "till" {
        line.push_str(" [found by this till's audit]");
    }
    if !facts.is_empty() {
        line.push_str(&format!(" ({})", facts.join(", ")));
    }
    match &c.resolution {
        Some(r) => line.push_str(&format!("; resolved: {r}")),
        None => line.push_str(&format!("; choose {}", c.resolutions.join(" or "))),
    }
    line
}

pub fn feed(dir: &Path, a: FeedArgs, json: bool) -> Result<(), Error> {
    let till = Till::open(dir)?;
    let items: Vec<FeedItem> = till.feed(a.pending)?;
    if json {
        print_json(&items);
    } else if items.is_empty() {
        out!(
            "Nothing from the hub{}.",
            if a.pending { " waits" } else { " yet" }
        );
    } else {
        for i in &items {
            out!(
                "{:>6}  {:<28}  {}",
                i.seq,
                i.kind,
                i.outcome.as_deref().unwrap_or("waiting for the next sync")
            );
        }
    }
    Ok(())
}
