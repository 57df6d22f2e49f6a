//! The background sync loop the app runs ([`SyncAgent`]): reconcile passes on a thread of its
//! own with its own connection to the till's file, so selling never waits on the network; a
//! listener of the hub's live stream that starts a pass as soon as another device's news
//! arrives; passes after every local change (seen through SQLite's `data_version`), on a timer
//! while idle, and again with backoff and jitter after a failure; and a status snapshot the UI
//! polls ([`SyncAgent::status`]) or subscribes to ([`SyncAgent::subscribe`]).
//!
//! Nothing here blocks a sale: the loop's connection writes only short transactions between
//! network exchanges (never during one), and SQLite in WAL mode lets the app's connection read
//! and write meanwhile (a write waits at most for one of those short transactions).

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::client::jittered;
use super::stream::{self, Target};
use super::SyncSummary;
use crate::error::{Error, Result};
use crate::till::Till;

/// How the loop runs. [`AgentOptions::new`] gives the defaults the app uses.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The till's data directory (it must be paired: `hub.json` holds the hub and token).
    pub data_dir: PathBuf,
    /// A pass this often while nothing happens (default 30 s).
    pub idle: Duration,
    /// How often the loop looks for local changes to send (default 100 ms; one pragma).
    pub watch: Duration,
    /// Listen to the hub's live stream while online (default true).
    pub live: bool,
}

impl AgentOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> AgentOptions {
        AgentOptions {
            data_dir: data_dir.into(),
            idle: Duration::from_secs(30),
            watch: Duration::from_millis(100),
            live: true,
        }
    }
}

/// Whether the till can reach its hub, as of the last pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connectivity {
    /// No pass has finished yet.
    Starting,
    /// The last pass reached the hub.
    Online,
    /// The last pass could not reach the hub (or the hub refused this till's token).
    Offline,
}

/// What the UI shows about sync. Plain data, serialisable (the app generates TypeScript from it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub hub_url: String,
    pub connectivity: Connectivity,
    /// A pass is running now.
    pub syncing: bool,
    /// The hub's live stream is open (news from other devices arrives within a second).
    pub live: bool,
    /// Sales, refunds and voids not yet confirmed by the hub.
    pub pending: i64,
    /// When the last complete pass ended (Unix ms).
    pub last_sync_ms: Option<i64>,
    /// Why the last pass failed, in words for the cashier; `None` after a good pass.
    pub last_error: Option<String>,
    /// The stable code of that failure (e.g. `sync.hub_unreachable`).
    pub last_error_code: Option<String>,
    /// Conflicts waiting for a person (`trestle conflicts`).
    pub open_conflicts: i64,
    /// Passes finished since the loop started.
    pub passes: u64,
    /// Failed passes in a row.
    pub failures: u32,
    /// What the last good pass did.
    pub last_pass: Option<SyncSummary>,
}

/// The background sync loop of one till. Dropping it stops it (as [`SyncAgent::stop`]).
pub struct SyncAgent {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    cv: Condvar,
    pub(crate) stop_signal: tokio::sync::Notify,
    subscribers: Mutex<Vec<mpsc::Sender<SyncStatus>>>,
}

struct Inner {
    status: SyncStatus,
    wake: bool,
    stop: bool,
    /// The last live-stream seq seen (resumed with `Last-Event-ID`).
    stream_after: i64,
    started: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn wake(&self) {
        lock(&self.inner).wake = true;
        self.cv.notify_all();
    }

    pub(crate) fn stopping(&self) -> bool {
        lock(&self.inner).stop
    }

    pub(crate) fn stream_after(&self) -> i64 {
        lock(&self.inner).stream_after
    }

    pub(crate) fn saw_event(&self, seq: i64) {
        let mut g = lock(&self.inner);
        g.stream_after = g.stream_after.max(seq);
    }

    pub(crate) fn set_live(&self, live: bool) {
        self.update(|s| s.live = live);
    }

    /// Changes the status; subscribers and the log hear of it when it differs.
    fn update(&self, f: impl FnOnce(&mut SyncStatus)) {
        let (before, after) = {
            let mut g = lock(&self.inner);
            let before = g.status.clone();
            f(&mut g.status);
            (before, g.status.clone())
        };
        self.cv.notify_all();
        if before == after {
            return;
        }
        if (
            before.connectivity,
            before.live,
            &before.last_error,
            before.open_conflicts,
        ) != (
            after.connectivity,
            after.live,
            &after.last_error,
            after.open_conflicts,
        ) {
            tracing::info!(
                connectivity = ?after.connectivity,
                live = after.live,
                pending = after.pending,
                open_conflicts = after.open_conflicts,
                error = after.last_error.as_deref().unwrap_or(""),
                "sync status"
            );
        }
        lock(&self.subscribers).retain(|tx| tx.send(after.clone()).is_ok());
    }
}

impl SyncAgent {
    /// Starts the loop for the paired till in `options.data_dir`: a first pass at once, the live
    /// stream if asked. Refused (nothing started) when there is no till or it is not paired.
    pub fn start(options: AgentOptions) -> Result<SyncAgent> {
        let till = Till::open(&options.data_dir)?;
        let (link, creds) = till.credentials()?;
        let stream_after: i64 = till.db().conn().query_row(
            "SELECT stream_after FROM sync_state WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        let status = SyncStatus {
            hub_url: link.hub_url.clone(),
            connectivity: Connectivity::Starting,
            syncing: false,
            live: false,
            pending: till.pending_outbox()?,
            last_sync_ms: link.last_sync_ms,
            last_error: None,
            last_error_code: None,
            open_conflicts: till.open_conflicts()?,
            passes: 0,
            failures: 0,
            last_pass: None,
        };
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                status,
                wake: true,
                stop: false,
                stream_after,
                started: 0,
            }),
            cv: Condvar::new(),
            stop_signal: tokio::sync::Notify::new(),
            subscribers: Mutex::new(Vec::new()),
        });
        let mut threads = Vec::new();
        let s = shared.clone();
        let opts = options.clone();
        threads.push(
            std::thread::Builder::new()
                .name("trestle-sync".into())
                .spawn(move || passes(&s, till, &opts))
                .map_err(|e| Error::DataDir {
                    dir: options.data_dir.clone(),
                    reason: format!("the sync loop could not start: {e}"),
                })?,
        );
        if options.live {
            let s = shared.clone();
            let target = Target {
                url: link.hub_url,
                token: creds.device_token,
                till_id: creds.till_id.to_string(),
            };
            match std::thread::Builder::new()
                .name("trestle-stream".into())
                .spawn(move || stream::listen(s, target))
            {
                Ok(t) => threads.push(t),
                Err(e) => tracing::warn!(error = %e, "no live stream; syncing on a timer"),
            }
        }
        Ok(SyncAgent { shared, threads })
    }

    /// The status now.
    pub fn status(&self) -> SyncStatus {
        lock(&self.shared.inner).status.clone()
    }

    /// Every change of the status from now on (the receiver ends when the loop stops).
    pub fn subscribe(&self) -> mpsc::Receiver<SyncStatus> {
        let (tx, rx) = mpsc::channel();
        lock(&self.shared.subscribers).push(tx);
        rx
    }

    /// Asks for a pass now (returns at once; a pass running now is followed by another).
    pub fn sync_now(&self) {
        self.shared.wake();
    }

    /// Asks for a pass and waits until one that started after this call has finished, at most
    /// `timeout`; returns the status then (look at `last_error` and `passes`).
    pub fn sync_now_and_wait(&self, timeout: Duration) -> SyncStatus {
        let deadline = Instant::now() + timeout;
        let mut g = lock(&self.shared.inner);
        let target = g.started + 1;
        g.wake = true;
        self.shared.cv.notify_all();
        while g.status.passes < target && !g.stop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            g = self
                .shared
                .cv
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        g.status.clone()
    }

    /// Stops the loop: a pass in progress finishes its current request (each has a timeout),
    /// nothing is cut half-written; then the threads are joined.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        lock(&self.shared.inner).stop = true;
        self.shared.cv.notify_all();
        self.shared.stop_signal.notify_one();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        lock(&self.shared.subscribers).clear();
    }
}

impl Drop for SyncAgent {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Why the loop wakes up.
enum Wake {
    Pass,
    Stop,
}

/// The pass thread: waits for a reason (asked, news from the hub, a local change, the timer or
/// the retry time), runs a pass, records the outcome.
fn passes(shared: &Shared, mut till: Till, opts: &AgentOptions) {
    let mut next = Instant::now() + opts.idle;
    let mut seen_version = data_version(&till);
    let mut stored_after = shared.stream_after();
    let mut failures = 0u32;
    loop {
        match wait(shared, &till, opts, next, &mut seen_version) {
            Wake::Stop => return,
            Wake::Pass => {}
        }
        {
            let mut g = lock(&shared.inner);
            g.started += 1;
            g.status.syncing = true;
        }
        shared.update(|_| {});
        // Read before the pass: a sale committed while it runs moves the version again, so the
        // loop passes once more rather than missing it until the timer.
        seen_version = data_version(&till);
        let outcome = till.sync();
        let after = shared.stream_after();
        if after != stored_after && till.store_stream_after(after).is_ok() {
            stored_after = after;
        }
        let pending = till.pending_outbox().ok();
        let conflicts = till.open_conflicts().ok();
        match outcome {
            Ok(summary) => {
                failures = 0;
                next = Instant::now() + opts.idle;
                shared.update(|s| {
                    s.connectivity = Connectivity::Online;
                    s.last_sync_ms = till.hub_link().ok().flatten().and_then(|l| l.last_sync_ms);
                    s.last_error = None;
                    s.last_error_code = None;
                    s.last_pass = Some(summary);
                });
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let wait = jittered(1_000, failures, 60_000);
                next = Instant::now() + wait;
                tracing::debug!(error = %e, code = e.code(), retry_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "sync pass failed");
                let offline = matches!(
                    e,
                    Error::HubUnreachable { .. }
                        | Error::HubFailed { .. }
                        | Error::HubUnauthorised
                        | Error::Credentials { .. }
                );
                shared.update(|s| {
                    if offline {
                        s.connectivity = Connectivity::Offline;
                    }
                    s.last_error = Some(cashier_words(&e));
                    s.last_error_code = Some(e.code().to_string());
                });
            }
        }
        shared.update(|s| {
            s.syncing = false;
            s.passes += 1;
            s.failures = failures;
            if let Some(p) = pending {
                s.pending = p;
            }
            if let Some(c) = conflicts {
                s.open_conflicts = c;
            }
        });
    }
}

fn wait(
    shared: &Shared,
    till: &Till,
    opts: &AgentOptions,
    next: Instant,
    seen_version: &mut i64,
) -> Wake {
    loop {
        {
            let mut g = lock(&shared.inner);
            if g.stop {
                return Wake::Stop;
            }
            if std::mem::take(&mut g.wake) {
                return Wake::Pass;
            }
            let now = Instant::now();
            if now >= next {
                return Wake::Pass;
            }
            let (mut g, _) = shared
                .cv
                .wait_timeout(g, (next - now).min(opts.watch))
                .unwrap_or_else(|p| p.into_inner());
            if g.stop {
                return Wake::Stop;
            }
            if std::mem::take(&mut g.wake) {
                return Wake::Pass;
            }
        }
        // Another connection (the app) committed something: a sale to send, most likely.
        let v = data_version(till);
        if v != *seen_version {
            *seen_version = v;
            return Wake::Pass;
        }
    }
}

fn data_version(till: &Till) -> i64 {
    till.db()
        .conn()
        .query_row("PRAGMA data_version", [], |r| r.get(0))
        .unwrap_or(0)
}

/// A failed pass as the cashier reads it: what it means for the stall, not how it failed.
pub fn cashier_words(e: &Error) -> String {
    match e {
        Error::HubUnreachable { .. } => {
            "No connection to the hub. Selling goes on; sales are kept on this till and sent when the connection is back.".into()
        }
        Error::HubFailed { .. } => {
            "The hub is not answering properly just now. Selling goes on; sales are kept on this till and sent when it recovers.".into()
        }
        Error::HubUnauthorised => {
            "The hub no longer accepts this till. Selling goes on; ask the shop's admin for a pairing code and pair the till again.".into()
        }
        other => {
            let text = other.to_string();
            let mut c = text.chars();
            match c.next() {
                Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str().trim_end_matches('.')),
                None => "Sync failed.".into(),
            }
        }
    }
}

impl Till {
    /// Conflicts still open (fetched from the hub or found by this till).
    pub fn open_conflicts(&self) -> Result<i64> {
        Ok(self.db.conn().query_row(
            "SELECT COUNT(*) FROM conflicts WHERE status = 'open'",
            [],
            |r| r.get(0),
        )?)
    }

    fn store_stream_after(&mut self, seq: i64) -> Result<()> {
        self.db.write(|tx| {
            tx.execute(
                "UPDATE sync_state SET stream_after = MAX(stream_after, ?1) WHERE id = 1",
                [seq],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_can_keep_the_agent_in_shared_state_and_show_its_status() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<SyncAgent>();
        let s = SyncStatus {
            hub_url: "https://hub.example.org".into(),
            connectivity: Connectivity::Offline,
            syncing: false,
            live: false,
            pending: 2,
            last_sync_ms: None,
            last_error: Some(cashier_words(&Error::HubUnreachable {
                url: "https://hub.example.org".into(),
                reason: "no connection".into(),
            })),
            last_error_code: Some("sync.hub_unreachable".into()),
            open_conflicts: 0,
            passes: 1,
            failures: 1,
            last_pass: None,
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["connectivity"], "offline");
        assert!(v["last_error"]
            .as_str()
            .unwrap()
            .starts_with("No connection to the hub."));
        assert_eq!(
            cashier_words(&Error::NotPaired),
            "This till is not paired with a hub; run `trestle pair --hub URL --code CODE` first."
        );
    }
}
