//! WAL checkpoints off the writer's thread, for the hub's shop files and the till's database: the
//! writer's connection never checkpoints (`wal_autocheckpoint=0`, set by [`Checkpointer::start`]);
//! after each commit it nudges this thread, which copies the committed pages into the database
//! file on its own connection (`wal_checkpoint(PASSIVE)`, which never blocks the writer). So a
//! commit — a till's pass at the hub, a sale at the till — waits for the WAL's fsync alone, not
//! also for the copy of earlier pages and the file's fsync (decisions 190–191).

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// Why the checkpoint thread could not start.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("the database file could not be opened for checkpoints: {0}")]
    Open(#[from] rusqlite::Error),
    #[error("the checkpoint thread could not start: {0}")]
    Thread(#[from] std::io::Error),
}

impl WalError {
    /// A stable code for logs and error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            WalError::Open(_) => "wal.open",
            WalError::Thread(_) => "wal.thread",
        }
    }
}

/// What the writer asked for since the thread last looked.
#[derive(Default)]
struct Asked {
    /// A commit happened: its pages are in the WAL only.
    dirty: bool,
    /// The writer is gone: one last checkpoint, then leave.
    stop: bool,
}

type Shared = Arc<(Mutex<Asked>, Condvar)>;

/// The checkpoint thread of one database file; dropping it checkpoints once more and waits for it.
pub struct Checkpointer {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Turns off `writer`'s own checkpoints, opens a second connection to `path` (the writer's
    /// file, in WAL mode) and starts the thread, named `name`.
    pub fn start(writer: &Connection, path: &Path, name: String) -> Result<Checkpointer, WalError> {
        writer.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // The file's own fsync after the copy: the WAL may be reused only once it is on disk.
        conn.execute_batch("PRAGMA synchronous=FULL;")?;
        let shared: Shared = Arc::default();
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || run(&conn, &theirs))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Asks for a checkpoint, at most one every [`GAP`] (never waits: a checkpoint under way
    /// takes this commit's pages next time round).
    pub fn nudge(&self) {
        self.ask(|a| a.dirty = true);
    }

    fn ask(&self, f: impl FnOnce(&mut Asked)) {
        let (lock, wake) = &*self.shared;
        f(&mut lock.lock().unwrap_or_else(PoisonError::into_inner));
        wake.notify_one();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.ask(|a| a.stop = true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The least time between two checkpoints. Each one ends with the file's fsync: one after every
/// commit would double a sale's fsyncs on the stall's disk (measured: the median sale +20%),
/// while the WAL holds at most this long's commits between them.
pub const GAP: Duration = Duration::from_millis(500);

fn run(conn: &Connection, shared: &Shared) {
    let (lock, wake) = &**shared;
    let mut last: Option<Instant> = None;
    loop {
        let stop = {
            let mut asked = lock.lock().unwrap_or_else(PoisonError::into_inner);
            while !asked.dirty && !asked.stop {
                asked = wake.wait(asked).unwrap_or_else(PoisonError::into_inner);
            }
            // Paced: the commits of the rest of the gap go in the same checkpoint.
            let rest = last.map_or(Duration::ZERO, |t| GAP.saturating_sub(t.elapsed()));
            if !rest.is_zero() && !asked.stop {
                asked = wake
                    .wait_timeout_while(asked, rest, |a| !a.stop)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            asked.dirty = false;
            asked.stop
        };
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        last = Some(Instant::now());
        match done {
            Ok((frames, copied)) => tracing::debug!(frames, copied, "WAL checkpointed"),
            // The pages stay in the WAL, whole and durable; the next nudge tries again.
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint postponed"),
        }
        if stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of `t` as the database file holds them, ignoring the WAL (`immutable=1`).
    fn rows_in_file(path: &Path) -> i64 {
        let uri = format!("file:{}?immutable=1", path.display());
        let c = Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )
        .unwrap();
        c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap_or(0)
    }

    #[test]
    fn a_commit_reaches_the_database_file_only_through_the_checkpoint_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sqlite");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER);")
            .unwrap();
        let ckpt = Checkpointer::start(&writer, &path, "ckpt-test".into()).unwrap();
        for i in 0..2_000 {
            writer.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
        }
        // Without a nudge the writer's commits stay in the WAL: the file has none of them.
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(rows_in_file(&path), 0);
        ckpt.nudge();
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while rows_in_file(&path) != 2_000 {
            assert!(std::time::Instant::now() < until, "never checkpointed");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The writer goes on while the thread runs; dropping the thread checkpoints the rest.
        writer.execute("INSERT INTO t VALUES (-1)", []).unwrap();
        drop(ckpt);
        assert_eq!(rows_in_file(&path), 2_001);
    }
}
