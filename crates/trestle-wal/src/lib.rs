//! WAL checkpoints off the writer's thread, for the hub's shop files and the till's database: the
//! writer's connection never checkpoints (`wal_autocheckpoint=0`, set by [`Checkpointer::start`]);
//! after each commit it nudges this thread, which copies the committed pages into the database
//! file on its own connection (`wal_checkpoint(PASSIVE)`, which never blocks the writer). So a
//! commit — a till's pass at the hub, a sale at the till — waits for the WAL's fsync alone, not
//! also for the copy of earlier pages and the file's fsync (decisions 190–191). It can also keep
//! the WAL file written ahead to a size ([`Checkpointer::start_reserving`], decision 201), so a
//! large commit's frames overwrite blocks the file already has instead of growing it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
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
        Checkpointer::start_reserving(writer, path, name, 0)
    }

    /// [`Checkpointer::start`], and the thread first writes the WAL file ahead with zeros to
    /// `reserve` bytes when it is shorter ([`reserve_wal`]). SQLite reuses its WAL from the start
    /// after a checkpoint and never shrinks it while the file is open, so the reserve stays.
    pub fn start_reserving(
        writer: &Connection,
        path: &Path,
        name: String,
        reserve: u64,
    ) -> Result<Checkpointer, WalError> {
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
        let path = path.to_path_buf();
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            if reserve > 0 {
                match reserve_wal(&conn, &wal_path(&path), reserve) {
                    Ok(written) => tracing::debug!(written, reserve, "WAL written ahead"),
                    // Only slower: the WAL grows as its frames come, as without a reserve.
                    Err(e) => tracing::warn!(error = %e, "WAL not written ahead"),
                }
            }
            run(&conn, &theirs)
        })?;
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

/// The WAL file of the database at `path`.
fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// What [`reserve_wal`] could not do.
#[derive(Debug, thiserror::Error)]
enum ReserveError {
    #[error("the WAL's write lock was not taken: {0}")]
    Lock(#[from] rusqlite::Error),
    #[error("the WAL file could not be written ahead: {0}")]
    Io(#[from] std::io::Error),
}

/// Appends zeros to the WAL file at `wal` until it is `reserve` bytes long; returns how many it
/// wrote. A fresh WAL grows with every frame a commit writes, and each write past the end of the
/// file costs the file system a new block, zeroed first, and the commit's fsync the file's new
/// size (measured: a third of a shop writer's time in a market day's first passes, decision
/// 201). Zeros past SQLite's last frame are never read as frames: recovery stops at the first
/// frame whose salt does not match the header's.
///
/// The append happens under the WAL's write lock (`BEGIN IMMEDIATE` on this connection), so no
/// frame is written at the end meanwhile; the writer waits for it (its busy timeout), once. The
/// zeros reach the disk after the lock is let go: nothing reads them, and a frame the writer puts
/// over them is synced by its own commit.
fn reserve_wal(conn: &Connection, wal: &Path, reserve: u64) -> Result<u64, ReserveError> {
    const CHUNK: usize = 1 << 20;
    let mut file = OpenOptions::new().append(true).open(wal)?;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let appended = file.metadata().and_then(|m| {
        let written = reserve.saturating_sub(m.len());
        let zeros = vec![0u8; CHUNK];
        let mut left = written;
        while left > 0 {
            let n = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
            file.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        Ok(written)
    });
    let unlocked = conn.execute_batch("COMMIT");
    if unlocked.is_err() {
        // Never left holding the lock: the writer would wait on it for good.
        let _ = conn.execute_batch("ROLLBACK");
    }
    unlocked?;
    let written = appended?;
    if written > 0 {
        file.sync_data()?;
    }
    Ok(written)
}

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

    #[test]
    fn a_reserved_wal_is_written_ahead_and_its_frames_are_read_back_over_the_zeros() {
        const RESERVE: u64 = 4 << 20;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sqlite");
        let wal = wal_path(&path);
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER, pad BLOB);")
            .unwrap();
        // Frames before the reserve: appending zeros must leave them as they are.
        for i in 0..100 {
            writer
                .execute("INSERT INTO t VALUES (?1, zeroblob(100))", [i])
                .unwrap();
        }
        let before = std::fs::metadata(&wal).unwrap().len();
        assert!(before > 0 && before < RESERVE);
        let ckpt =
            Checkpointer::start_reserving(&writer, &path, "ckpt-test".into(), RESERVE).unwrap();
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while std::fs::metadata(&wal).unwrap().len() < RESERVE {
            assert!(std::time::Instant::now() < until, "never written ahead");
            std::thread::sleep(Duration::from_millis(10));
        }
        // About 1 MB of frames in one commit, never nudged: they go into the reserved bytes.
        let tx = writer.unchecked_transaction().unwrap();
        for i in 100..400 {
            tx.execute("INSERT INTO t VALUES (?1, zeroblob(3000))", [i])
                .unwrap();
        }
        tx.commit().unwrap();
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), RESERVE);
        assert_eq!(rows_in_file(&path), 0, "nothing checkpointed yet");
        // The files as a crash would leave them: recovery reads the frames and stops at the zeros.
        let copy = dir.path().join("copy.sqlite");
        std::fs::copy(&path, &copy).unwrap();
        std::fs::copy(&wal, wal_path(&copy)).unwrap();
        let reopened = Connection::open(&copy).unwrap();
        let (n, sum): (i64, i64) = reopened
            .query_row("SELECT COUNT(*), SUM(x) FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, sum), (400, 399 * 400 / 2));
        drop(ckpt);
        assert_eq!(rows_in_file(&path), 400);
    }
}
