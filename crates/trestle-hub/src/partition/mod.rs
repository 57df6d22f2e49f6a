//! A shop's partition: the one writer of a shop. A dedicated thread owns the shop's SQLite file
//! and its authoritative replica; requests reach it as jobs on a bounded queue. The writer takes
//! every job waiting (up to [`MAX_BATCH`]) into ONE transaction — each job in its own savepoint,
//! so a refused job undoes only itself — commits once, and only then answers every job of the
//! batch and publishes their events (group commit: a burst of checkouts costs a few fsyncs, not
//! one each). Shops never share a writer, a file or a lock, so one shop's burst never slows
//! another.

mod checkout;
mod epochs;
mod exchange;
mod reservations;
mod staff;
mod stock;
mod store;
mod sync;
mod webhooks;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use automerge::ChangeHash;
use rusqlite::{Connection, Transaction};
use tokio::sync::{broadcast, oneshot, Notify};
use trestle_core::catalog::Qty;
use trestle_core::ids::{TillId, VariantId};
use trestle_protocol::ShopEvent;
use trestle_replica::{ShopReplica, SyncState, VariantFields};
use trestle_wal::Checkpointer;
use uuid::Uuid;

use crate::directory::Shop;
use crate::error::{HubError, Result};
use crate::metrics::Metrics;

pub use checkout::CheckoutOutcome;
pub use exchange::Decoded;
pub use reservations::ReservationFilter;
pub use staff::StaffChange;
pub use sync::NewConflict;
pub use sync::Prepared;
pub use webhooks::DueDelivery;

/// The most jobs one transaction takes.
pub const MAX_BATCH: usize = 512;
/// Jobs that may wait for the writer before new ones are refused with 503.
const QUEUE: usize = 16_384;
/// Live-stream messages buffered per subscriber; a subscriber further behind is dropped.
pub const STREAM_BUFFER: usize = 1024;
/// The bytes each shop's WAL file is written ahead to when its writer starts, unless the hub is
/// told otherwise (`--wal-reserve-mib`; decision 201): a
/// market day's pass writes 6–9 MB of frames in one commit, and two in a row before a checkpoint
/// resets the WAL reached 24 MB. Disk it costs: this much per shop while the hub runs (SQLite
/// deletes the WAL when the hub closes the shop's file).
pub const WAL_RESERVE: u64 = 32 << 20;

type Reply = Box<dyn FnOnce(Result<()>) + Send>;
/// A job says whether it succeeded (so its savepoint is kept or undone) and how to answer.
type Job = Box<dyn FnOnce(&mut Ctx<'_>) -> (bool, Reply) + Send>;

/// What the writer keeps in memory between jobs.
pub(crate) struct State {
    pub shop: Shop,
    pub replica: ShopReplica,
    /// The catalog as the replica has it (refreshed when the replica changes it).
    pub catalog: HashMap<VariantId, VariantFields>,
    /// Lines of ship orders accepted in this batch, taken from the hub's `free` at batch end in
    /// one replica change.
    pub pending: Vec<(VariantId, Qty)>,
    pub next_order: i64,
    pub next_event_seq: i64,
    pub codes: HashSet<String>,
    /// Automerge sync state per (device, session).
    pub sync: HashMap<TillId, (String, SyncState)>,
    pub webhooks: Vec<(Uuid, Vec<String>)>,
    /// Set by the stop job: the writer leaves after this batch.
    pub stop: bool,
    /// Change rows since the last snapshot.
    pub changes: i64,
    /// Variants whose levels this batch changed (published once at its end).
    pub touched: BTreeSet<VariantId>,
    /// The hub's own `free` per variant as read from the replica at these heads: valid while
    /// the replica's heads are the same (a refused checkout changes nothing, so a stampede of
    /// refusals reads the document once, not once each).
    pub free_at: (Vec<ChangeHash>, HashMap<VariantId, i64>),
}

/// What a job works with: the batch transaction, the writer's state, and what to publish.
pub struct Ctx<'a> {
    pub(crate) tx: &'a Transaction<'a>,
    pub(crate) st: &'a mut State,
    pub(crate) published: &'a mut Vec<ShopEvent>,
    pub(crate) metrics: &'a Metrics,
}

/// The handle requests use to reach a shop's writer.
pub struct Partition {
    pub shop: Shop,
    queue: SyncSender<Job>,
    stream: broadcast::Sender<Arc<ShopEvent>>,
    /// Woken after a commit that queued webhook deliveries.
    pub deliveries: Arc<Notify>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Partition {
    /// Opens the shop's file (creating it and the shop's replica the first time) and starts its
    /// writer thread; the file's WAL is written ahead to `wal_reserve` bytes.
    pub fn start(
        shop: Shop,
        path: PathBuf,
        metrics: Arc<Metrics>,
        wal_reserve: u64,
    ) -> Result<Arc<Partition>> {
        let conn = crate::db::open(&path, crate::db::SHOP_MIGRATIONS)?;
        // Checkpoints run on their own thread (`trestle-wal`), never inside a commit; it first
        // writes the WAL ahead to `wal_reserve`.
        let tag = shop.id.to_string()[..8].to_string();
        let checkpoints =
            Checkpointer::start_reserving(&conn, &path, format!("ckpt-{tag}"), wal_reserve)
                .map_err(|e| HubError::internal(format!("{}: {e}", e.code())))?;
        let state = store::load_state(&conn, shop.clone())?;
        let (queue, jobs) = mpsc::sync_channel::<Job>(QUEUE);
        let (stream, _) = broadcast::channel(STREAM_BUFFER);
        let deliveries = Arc::new(Notify::new());
        let writer = Writer {
            conn,
            checkpoints,
            state,
            jobs,
            stream: stream.clone(),
            deliveries: deliveries.clone(),
            metrics,
        };
        let thread = std::thread::Builder::new()
            .name(format!("shop-{tag}"))
            .spawn(move || writer.run())
            .map_err(HubError::internal)?;
        Ok(Arc::new(Partition {
            shop,
            queue,
            stream,
            deliveries,
            thread: Mutex::new(Some(thread)),
        }))
    }

    /// Runs `f` on the writer inside the next batch; its result is returned once the batch is
    /// committed (or the error that refused it, with nothing of it written).
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx<'_>) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |ctx| {
            let out = f(ctx);
            let ok = out.is_ok();
            let reply: Reply = Box::new(move |committed: Result<()>| {
                let _ = tx.send(committed.and(out));
            });
            (ok, reply)
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                return Err(HubError::Unavailable)
            }
        }
        rx.await.map_err(|_| HubError::Unavailable)?
    }

    /// A new live-stream subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ShopEvent>> {
        self.stream.subscribe()
    }

    /// Lets the writer finish the jobs queued before this call, commit them, and stop; waits for
    /// it (graceful shutdown: no in-flight write is lost).
    pub fn stop(&self) {
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let stop: Job = Box::new(|ctx| {
                ctx.st.stop = true;
                (true, Box::new(|_| {}))
            });
            let _ = self.queue.send(stop);
            let _ = h.join();
        }
    }
}

struct Writer {
    conn: Connection,
    /// Dropped after `conn` (fields drop in order): its last checkpoint finds the writer gone.
    checkpoints: Checkpointer,
    state: State,
    jobs: Receiver<Job>,
    stream: broadcast::Sender<Arc<ShopEvent>>,
    deliveries: Arc<Notify>,
    metrics: Arc<Metrics>,
}

impl Writer {
    fn run(mut self) {
        while let Ok(first) = self.jobs.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match self.jobs.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            self.metrics.observe_batch(batch.len());
            self.run_batch(batch);
            if self.state.stop {
                break;
            }
        }
        tracing::info!(shop = %self.state.shop.id, "shop writer stopped");
    }

    fn run_batch(&mut self, batch: Vec<Job>) {
        let mut published = Vec::new();
        let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
        let outcome = (|| -> Result<()> {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for job in batch {
                let (reply, stored) =
                    run_job(&tx, &mut self.state, &mut published, &self.metrics, job);
                replies.push(reply);
                // A job whose replica change could not be stored fails the whole batch: its
                // rows must not be committed without the stock change they describe.
                stored?;
            }
            Ctx {
                tx: &tx,
                st: &mut self.state,
                published: &mut published,
                metrics: &self.metrics,
            }
            .flush_pending()?;
            store::persist_replica(&tx, &mut self.state)?;
            tx.commit()?;
            Ok(())
        })();
        match &outcome {
            Ok(()) => {
                self.checkpoints.nudge();
                let any = !published.is_empty();
                for e in published {
                    let _ = self.stream.send(Arc::new(e));
                }
                if any && !self.state.webhooks.is_empty() {
                    self.deliveries.notify_one();
                }
            }
            Err(e) => {
                tracing::error!(shop = %self.state.shop.id, error = %e, "batch failed; reloading");
                self.state.pending.clear();
                if let Err(e) = store::reload(&self.conn, &mut self.state) {
                    tracing::error!(error = %e, "reload after a failed batch failed");
                }
            }
        }
        for reply in replies {
            let r = match &outcome {
                Ok(()) => Ok(()),
                Err(_) => Err(HubError::internal("the batch could not be committed")),
            };
            reply(r);
        }
    }
}

/// Runs one job in its own savepoint: on error, its rows, its replica changes, its pending
/// lines, the variants it touched and its events are undone, and the rest of the batch goes on.
fn run_job(
    tx: &Transaction<'_>,
    st: &mut State,
    published: &mut Vec<ShopEvent>,
    metrics: &Metrics,
    job: Job,
) -> (Reply, Result<()>) {
    let marks = (
        st.pending.len(),
        published.len(),
        st.next_event_seq,
        st.next_order,
        st.replica.heads(),
        st.touched.clone(),
    );
    if let Err(e) = exec_cached(tx, "SAVEPOINT job") {
        // The job never ran; dropping it tells its caller the hub could not take it.
        drop(job);
        return (Box::new(|_| {}), Err(e.into()));
    }
    let (ok, reply) = {
        let mut ctx = Ctx {
            tx,
            st: &mut *st,
            published: &mut *published,
            metrics,
        };
        job(&mut ctx)
    };
    let stored = if ok {
        exec_cached(tx, "RELEASE job")
            .map_err(HubError::from)
            .and_then(|_| store::persist_replica(tx, st))
    } else {
        st.pending.truncate(marks.0);
        published.truncate(marks.1);
        st.next_event_seq = marks.2;
        st.next_order = marks.3;
        // What earlier jobs of the batch touched is still published at its end; nothing of
        // this job's (its levels published early among its undone events, decision 203).
        st.touched = marks.5;
        let undone = exec_cached(tx, "ROLLBACK TO job")
            .and_then(|_| exec_cached(tx, "RELEASE job"))
            .map_err(HubError::from);
        if undone.is_ok() && st.replica.heads() != marks.4 {
            store::reload_replica(tx, st)
        } else {
            undone.map(|_| ())
        }
    };
    (reply, stored)
}

/// Runs a statement without parameters through the connection's statement cache (the savepoint
/// statements run twice per job; parsing them each time showed in profiles).
fn exec_cached(tx: &Transaction<'_>, sql: &str) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute([])
}
