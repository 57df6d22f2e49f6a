//! The till's SQLite file: opening with the durability the ledger needs (WAL, `synchronous=FULL`),
//! the embedded migrations, and [`Db::write`], the one transaction helper every write goes through.
//! The WAL is checkpointed on a thread of its own (`trestle-wal`), never inside a sale's commit.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use trestle_wal::Checkpointer;

use crate::error::{Error, Result};

/// The migrations of `migrations/till/`, embedded in the binary, applied in order at open.
/// A test checks this list against the folder so a new file cannot be forgotten.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_ledger.sql",
        include_str!("../../../migrations/till/0001_ledger.sql"),
    ),
    (
        "0002_replica.sql",
        include_str!("../../../migrations/till/0002_replica.sql"),
    ),
    (
        "0003_sync.sql",
        include_str!("../../../migrations/till/0003_sync.sql"),
    ),
    (
        "0004_sync_loop.sql",
        include_str!("../../../migrations/till/0004_sync_loop.sql"),
    ),
    (
        "0005_sync_heads.sql",
        include_str!("../../../migrations/till/0005_sync_heads.sql"),
    ),
    (
        "0006_pickups.sql",
        include_str!("../../../migrations/till/0006_pickups.sql"),
    ),
    (
        "0007_market_day.sql",
        include_str!("../../../migrations/till/0007_market_day.sql"),
    ),
    (
        "0008_sent_heads.sql",
        include_str!("../../../migrations/till/0008_sent_heads.sql"),
    ),
    (
        "0009_outbox_pending.sql",
        include_str!("../../../migrations/till/0009_outbox_pending.sql"),
    ),
    (
        "0010_outbox_payloads.sql",
        include_str!("../../../migrations/till/0010_outbox_payloads.sql"),
    ),
];

/// An open till database.
pub struct Db {
    conn: Connection,
    /// Dropped after `conn` (fields drop in order): its last checkpoint finds the writer gone.
    checkpoints: Checkpointer,
}

/// Whether `open` may create the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Yes,
    No,
}

impl Db {
    /// Opens (or with `Create::Yes`, creates) the database at `path` and brings its schema up to
    /// date. With `Create::No` a missing file is `Error::NotInitialised` and nothing is created.
    pub fn open(path: &Path, create: Create) -> Result<Db> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create == Create::Yes {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        if create == Create::No && !path.is_file() {
            return Err(Error::NotInitialised(dir));
        }
        let data_dir = |reason: String| Error::DataDir {
            dir: dir.clone(),
            reason,
        };
        let conn = Connection::open_with_flags(path, flags).map_err(|e| data_dir(e.to_string()))?;
        configure(&conn).map_err(|e| data_dir(e.to_string()))?;
        let checkpoints = Checkpointer::start(&conn, path, "till-checkpoints".into())
            .map_err(|e| data_dir(e.to_string()))?;
        let mut db = Db { conn, checkpoints };
        db.migrate()?;
        Ok(db)
    }

    fn migrate(&mut self) -> Result<()> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version INTEGER PRIMARY KEY,
                 name    TEXT NOT NULL
             ) STRICT;",
        )?;
        let applied: i64 =
            self.conn
                .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))?;
        let applied = usize::try_from(applied).unwrap_or(usize::MAX);
        if applied > MIGRATIONS.len() {
            return Err(Error::Corrupt(format!(
                "it was written by a newer Trestle (schema {applied}, this one knows {})",
                MIGRATIONS.len()
            )));
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(applied) {
            let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
            self.write(|tx| {
                tx.execute_batch(sql)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
                    (version, name),
                )?;
                Ok(())
            })?;
            tracing::info!(migration = name, "applied till migration");
        }
        Ok(())
    }

    /// Runs `f` in one IMMEDIATE transaction and commits it; any error rolls everything back.
    /// Every write to the till goes through here, so a business action is all or nothing.
    pub fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        self.checkpoints.nudge();
        Ok(out)
    }

    /// Read access.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// The settings every till connection has (the sale-commit benchmark's baseline uses them too).
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // WAL + FULL: a committed transaction is on disk (the WAL is fsynced at commit), so a sale
    // reported to the cashier survives power loss.
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "journal_mode is {mode}, WAL needed"
        )));
    }
    conn.execute_batch(
        "PRAGMA synchronous=FULL;
         PRAGMA foreign_keys=ON;
         PRAGMA busy_timeout=5000;",
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/till");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<&str> = MIGRATIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, embedded);
    }

    #[test]
    fn opens_wal_full_and_rolls_back_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        assert!(matches!(
            Db::open(&path, Create::No),
            Err(Error::NotInitialised(_))
        ));
        assert!(!path.exists());
        let mut db = Db::open(&path, Create::Yes).unwrap();
        let sync: i64 = db
            .conn()
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        let r: Result<()> = db.write(|tx| {
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (99, 'x')",
                [],
            )?;
            Err(Error::InvalidInput("stop".into()))
        });
        assert!(r.is_err());
        let n: i64 = db
            .conn()
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, i64::try_from(MIGRATIONS.len()).unwrap());
        drop(db);
        // Re-opening applies nothing twice.
        Db::open(&path, Create::No).unwrap();
    }

    #[test]
    fn outbox_entries_written_before_migration_10_keep_their_payloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        {
            // A till as migration 0009 left it, with one entry acknowledged and one pending.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;",
            )
            .unwrap();
            for (i, (name, sql)) in MIGRATIONS[..9].iter().enumerate() {
                conn.execute_batch(sql).unwrap();
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
                    (i64::try_from(i + 1).unwrap(), name),
                )
                .unwrap();
            }
            assert_eq!(MIGRATIONS[9].0, "0010_outbox_payloads.sql");
            conn.execute_batch(
                "INSERT INTO outbox (event_id, kind, ref, payload, hlc, acked_ms)
                     VALUES ('e1', 'sale_completed', 'r1', '{\"n\":1}', 'h1', 5);
                 INSERT INTO outbox (event_id, kind, ref, payload, hlc)
                     VALUES ('e2', 'sale_completed', 'r2', '{\"n\":2}', 'h2');",
            )
            .unwrap();
        }
        let db = Db::open(&path, Create::No).unwrap();
        let rows: Vec<(i64, String, Option<i64>, String)> = db
            .conn()
            .prepare(
                "SELECT o.seq, o.event_id, o.acked_ms, p.payload
                 FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq ORDER BY o.seq",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, "e1".into(), Some(5), "{\"n\":1}".into()),
                (2, "e2".into(), None, "{\"n\":2}".into()),
            ]
        );
    }

    #[test]
    fn a_pass_reads_the_pending_outbox_through_its_index_not_the_whole_history() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite"), Create::Yes).unwrap();
        for q in [
            "SELECT o.seq, o.event_id, p.payload FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq
             WHERE o.acked_ms IS NULL ORDER BY o.seq LIMIT 5",
            "SELECT COUNT(*) FROM outbox WHERE acked_ms IS NULL",
        ] {
            let plan: String = db
                .conn()
                .query_row(&format!("EXPLAIN QUERY PLAN {q}"), [], |r| r.get(3))
                .unwrap();
            assert!(plan.contains("outbox_pending"), "{q}: {plan}");
        }
    }
}
