//! The hub's SQLite files: opening them with the durability an order needs (WAL,
//! `synchronous=FULL`), the embedded migrations of the directory and of a shop partition, and the
//! clock, id and random helpers every writer uses.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use trestle_core::ids::uuid_v7;
use uuid::Uuid;

use crate::error::{HubError, Result};

/// `migrations/hub/`: the directory (shops, tokens, pairing, devices).
pub const DIRECTORY_MIGRATIONS: &[(&str, &str)] = &[(
    "0001_directory.sql",
    include_str!("../../../migrations/hub/0001_directory.sql"),
)];

/// `migrations/hub/shop/`: one shop's partition.
pub const SHOP_MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_shop.sql",
        include_str!("../../../migrations/hub/shop/0001_shop.sql"),
    ),
    (
        "0003_staff.sql",
        include_str!("../../../migrations/hub/shop/0003_staff.sql"),
    ),
    (
        "0004_epochs.sql",
        include_str!("../../../migrations/hub/shop/0004_epochs.sql"),
    ),
    (
        "0005_till_events_once.sql",
        include_str!("../../../migrations/hub/shop/0005_till_events_once.sql"),
    ),
];

/// Opens (creating if needed) a database and applies `migrations` not yet applied.
pub fn open(path: &Path, migrations: &[(&str, &str)]) -> Result<Connection> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| HubError::internal(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(HubError::internal(format!(
            "journal_mode is {mode}, WAL needed"
        )));
    }
    // FULL: a committed order is on disk before it is answered.
    conn.execute_batch(
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
    )?;
    conn.set_prepared_statement_cache_capacity(128);
    migrate(&mut conn, migrations)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, migrations: &[(&str, &str)]) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;",
    )?;
    let applied: i64 =
        conn.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > migrations.len() {
        return Err(HubError::internal(format!(
            "the database was written by a newer hub (schema {applied}, this one knows {})",
            migrations.len()
        )));
    }
    for (i, (name, sql)) in migrations.iter().enumerate().skip(applied) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
            (i64::try_from(i + 1).unwrap_or(i64::MAX), name),
        )?;
        tx.commit()?;
        tracing::info!(migration = name, "applied hub migration");
    }
    Ok(())
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// RFC 3339 UTC, to the second: `2026-12-01T19:20:00Z`.
pub fn rfc3339(ms: i64) -> String {
    trestle_core::clock::format_utc(u64::try_from(ms).unwrap_or(0)).replacen(' ', "T", 1)
}

/// Random bytes from the OS.
pub fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS random source failing is not recoverable for a server that issues secrets.
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("the OS random source failed: {e}"));
    b
}

/// A new UUIDv7.
pub fn new_id() -> Uuid {
    uuid_v7(u64::try_from(now_ms()).unwrap_or(0), random::<10>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded() {
        for (dir, list) in [("", DIRECTORY_MIGRATIONS), ("shop/", SHOP_MIGRATIONS)] {
            let folder = format!("{}/../../migrations/hub/{dir}", env!("CARGO_MANIFEST_DIR"));
            let mut files: Vec<String> = std::fs::read_dir(&folder)
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect();
            files.sort();
            let embedded: Vec<String> = list.iter().map(|(n, _)| n.to_string()).collect();
            assert_eq!(files, embedded, "{folder}");
        }
    }

    #[test]
    fn opening_twice_applies_migrations_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.sqlite");
        drop(open(&p, SHOP_MIGRATIONS).unwrap());
        let c = open(&p, SHOP_MIGRATIONS).unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, i64::try_from(SHOP_MIGRATIONS.len()).unwrap());
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn till_events_stored_before_migration_5_keep_their_body_and_stay_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.sqlite");
        let before = &SHOP_MIGRATIONS[..3];
        assert_eq!(before[2].0, "0004_epochs.sql");
        let c = open(&p, before).unwrap();
        c.execute(
            "INSERT INTO till_events (event_id, till_id, kind, body, received_at)
             VALUES ('e1', 't1', 'sale_completed', '{\"kind\":\"sale_completed\"}', 7)",
            [],
        )
        .unwrap();
        drop(c);
        let c = open(&p, SHOP_MIGRATIONS).unwrap();
        let row: (String, Option<i64>, Option<String>, i64) = c
            .query_row(
                "SELECT till_id, event_seq, body, received_at FROM till_events WHERE event_id = 'e1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            (
                "t1".into(),
                None,
                Some("{\"kind\":\"sale_completed\"}".into()),
                7
            )
        );
        // The hub's insert: the old entry sent again is a duplicate, a new one is stored.
        let insert = "INSERT INTO till_events (event_id, till_id, kind, event_seq, received_at)
                      VALUES (?1, 't1', 'sale_completed', ?2, 8) ON CONFLICT (event_id) DO NOTHING";
        assert_eq!(c.execute(insert, ("e1", 1)).unwrap(), 0);
        assert_eq!(c.execute(insert, ("e2", 1)).unwrap(), 1);
        // A row names its record one way or the other, never neither.
        assert!(c
            .execute(
                "INSERT INTO till_events (event_id, till_id, kind, received_at)
                 VALUES ('e3', 't1', 'sale_completed', 9)",
                [],
            )
            .is_err());
    }
}
