//! The till's copy of the shop document (`trestle_replica`): loading it (snapshot + later
//! changes), bootstrapping it for a till set up before it existed, writing each business
//! action's change bytes in that action's own transaction, compaction, epochs while the till is
//! alone, and the audit of the replica against the ledger.
//!
//! The replica is the truth for stock counters; `stock_movements` is this till's ledger of why
//! its own counters moved. After a crash the replica is rebuilt from exactly the bytes that were
//! committed with the ledger rows, so the two always agree (the crash test checks it).

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use trestle_core::catalog::Policy;
use trestle_core::ids::{uuid_v5, TillId, VariantId};
use trestle_replica::ids::CountId;
use trestle_replica::invariants::{audit_ledger, check_stock};
use trestle_replica::{
    AuditTrail, Conflict, Holder, Role, ShopId, ShopReplica, VariantFields, REBASE_EVERY,
    SNAPSHOT_EVERY,
};

use crate::db::Db;
use crate::error::{Error, Result};
use crate::till::Till;

/// The replica and how many actions its epoch holds (for compaction and rebasing).
pub(crate) struct ReplicaStore {
    pub(crate) replica: ShopReplica,
    /// Business actions in the current epoch.
    epoch_actions: u64,
    /// Actions written since the last snapshot.
    since_snapshot: u64,
    /// What this connection has read of the file: the snapshot's generation, the last change
    /// row, and SQLite's `data_version` (which moves when ANOTHER connection commits — the
    /// app's and the sync loop's connections share the file).
    seen: Seen,
}

#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    generation: i64,
    last_seq: i64,
    data_version: i64,
}

impl ReplicaStore {
    pub(crate) fn holder(&self) -> Holder {
        self.replica.holder()
    }

    /// Brings the in-memory replica up to what other connections committed to the file since
    /// this one last looked: their change rows are merged (or, after their compaction or a new
    /// epoch, the whole replica reloaded). Run inside every transaction that writes the replica
    /// (so nothing another connection stored is compacted away or overlooked) and by
    /// [`Till::refresh`]. Returns whether anything was new.
    pub(crate) fn catch_up(&mut self, conn: &rusqlite::Connection) -> Result<bool> {
        let dv: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if dv == self.seen.data_version {
            return Ok(false);
        }
        let generation: Option<i64> = conn
            .query_row(
                "SELECT generation FROM replica_snapshot WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if generation != Some(self.seen.generation) {
            let fresh = load_as(conn, self.replica.holder())?
                .ok_or_else(|| Error::Corrupt("the stock replica vanished".into()))?;
            *self = fresh;
            return Ok(true);
        }
        let rows: Vec<(i64, Vec<u8>)> = {
            let mut st = conn.prepare_cached(
                "SELECT seq, bytes FROM replica_changes WHERE seq > ?1 AND epoch = ?2 ORDER BY seq",
            )?;
            let rows = st
                .query_map(
                    params![
                        self.seen.last_seq,
                        i64::try_from(self.replica.epoch()).unwrap_or(i64::MAX)
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows
        };
        self.seen.data_version = dv;
        if rows.is_empty() {
            return Ok(false);
        }
        for (seq, bytes) in &rows {
            self.replica.merge_bytes(bytes).map_err(corrupt)?;
            // Another connection's sale (the app's, read by the sync loop): noted for the fold.
            self.replica.note_moves(bytes);
            self.seen.last_seq = *seq;
            self.epoch_actions += 1;
            self.since_snapshot += 1;
        }
        // Those bytes are stored already; this connection's next row must hold only its own.
        let _ = self.replica.take_unsaved_bytes();
        Ok(true)
    }

    /// After this connection rewrote the snapshot (inside the same transaction).
    fn snapshot_written(&mut self, conn: &rusqlite::Connection) -> Result<()> {
        self.seen.generation = conn.query_row(
            "SELECT generation FROM replica_snapshot WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        self.seen.last_seq = conn.query_row(
            "SELECT COALESCE(MAX(seq), 0) FROM replica_changes",
            [],
            |r| r.get(0),
        )?;
        Ok(())
    }
}

fn corrupt(e: trestle_replica::Error) -> Error {
    Error::Corrupt(format!("the stock replica does not load: {e}"))
}

/// Loads the replica from its snapshot and later changes; `None` when the file has none yet.
pub(crate) fn load(conn: &rusqlite::Connection, till: TillId) -> Result<Option<ReplicaStore>> {
    load_as(conn, Holder::Till(till))
}

fn load_as(conn: &rusqlite::Connection, holder: Holder) -> Result<Option<ReplicaStore>> {
    let data_version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
    let snapshot: Option<(i64, i64, Vec<u8>, i64)> = conn
        .query_row(
            "SELECT epoch, actions, bytes, generation FROM replica_snapshot WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((epoch, actions, bytes, generation)) = snapshot else {
        return Ok(None);
    };
    let mut st =
        conn.prepare("SELECT seq, bytes FROM replica_changes WHERE epoch = ?1 ORDER BY seq")?;
    let later = st
        .query_map([epoch], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let refs: Vec<&[u8]> = later.iter().map(|(_, b)| b.as_slice()).collect();
    let replica = ShopReplica::load(holder, &bytes, &refs).map_err(corrupt)?;
    let n = u64::try_from(later.len()).unwrap_or(u64::MAX);
    Ok(Some(ReplicaStore {
        replica,
        epoch_actions: u64::try_from(actions).unwrap_or(0) + n,
        since_snapshot: n,
        seen: Seen {
            generation,
            last_seq: later.last().map_or(0, |(s, _)| *s),
            data_version,
        },
    }))
}

/// Creates the replica of a till that has none: this till is the document's creator (it works
/// alone until it pairs with a hub); every catalog variant is added, and every tracked variant's
/// counter starts at the sum of this till's stock movements.
pub(crate) fn bootstrap(db: &mut Db, till: TillId, shop_id: ShopId) -> Result<ReplicaStore> {
    let holder = Holder::Till(till);
    let mut replica = ShopReplica::create(shop_id, holder).map_err(Error::from)?;
    let rows: Vec<(String, VariantFields, i64)> = {
        let mut st = db.conn().prepare(
            "SELECT v.id, v.title, v.sku, v.barcode, v.price_minor, v.tax_ppm, v.policy,
                    v.track_inventory,
                    (SELECT COALESCE(SUM(delta), 0) FROM stock_movements m WHERE m.variant_id = v.id)
             FROM variants v ORDER BY v.id",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, u32>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, bool>(7)?,
                    r.get::<_, i64>(8)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(
                |(id, title, sku, barcode, price_minor, tax_ppm, policy, track, qty)| {
                    let policy = Policy::parse(&policy)
                        .map_err(|_| Error::Corrupt("a variant's policy is unreadable".into()))?;
                    Ok((
                        id,
                        VariantFields {
                            title,
                            sku,
                            barcode,
                            price_minor,
                            tax_ppm,
                            policy,
                            track_inventory: track,
                        },
                        qty,
                    ))
                },
            )
            .collect::<Result<_>>()?
    };
    for (id, fields, qty) in &rows {
        let variant = VariantId::parse(id)
            .map_err(|_| Error::Corrupt("a variant's id is unreadable".into()))?;
        add_variant(
            &mut replica,
            variant,
            fields,
            *qty,
            "opening stock from the ledger",
        )?;
    }
    let bytes = replica.save();
    let epoch = i64::try_from(replica.epoch()).unwrap_or(i64::MAX);
    db.write(|tx| {
        tx.execute(
            "UPDATE shop SET shop_id = ?1 WHERE id = 1",
            [shop_id.0.to_string()],
        )?;
        tx.execute(
            "INSERT INTO replica_snapshot (id, epoch, actions, bytes) VALUES (1, ?1, 0, ?2)",
            params![epoch, bytes],
        )?;
        Ok(())
    })?;
    let mut store = ReplicaStore {
        replica,
        epoch_actions: 0,
        since_snapshot: 0,
        seen: Seen::default(),
    };
    store.snapshot_written(db.conn())?;
    store.seen.data_version = db
        .conn()
        .query_row("PRAGMA data_version", [], |r| r.get(0))?;
    Ok(store)
}

/// Adds a variant to the catalog and, when tracked, this till's counters at `qty` (a count
/// correction naming `reason`, with an id derived from the variant so it is the same on retry).
pub(crate) fn add_variant(
    replica: &mut ShopReplica,
    variant: VariantId,
    fields: &VariantFields,
    qty: i64,
    reason: &str,
) -> Result<()> {
    replica.add_variant(variant, fields)?;
    if fields.track_inventory {
        replica.ensure_holder(variant, replica.holder())?;
        if qty != 0 {
            let id = CountId(uuid_v5(&format!("opening-count:{variant}")));
            replica.count(id, variant, qty, reason)?;
        }
    }
    Ok(())
}

/// Appends the replica's changes made by the current action, in the action's transaction.
pub(crate) fn append(tx: &Transaction<'_>, store: &mut ReplicaStore, cause: &str) -> Result<()> {
    let bytes = store.replica.take_unsaved_bytes();
    if bytes.is_empty() {
        return Ok(());
    }
    tx.prepare_cached("INSERT INTO replica_changes (epoch, cause, bytes) VALUES (?1, ?2, ?3)")?
        .execute(params![
            i64::try_from(store.replica.epoch()).unwrap_or(i64::MAX),
            cause,
            bytes
        ])?;
    store.seen.last_seq = tx.last_insert_rowid();
    // A sale's change, noted for the next fold (`ShopReplica::note_moves`).
    store.replica.note_moves(&bytes);
    store.epoch_actions += 1;
    store.since_snapshot += 1;
    Ok(())
}

impl Till {
    /// Runs a business action that changes the ledger and the replica: `f` writes both inside one
    /// transaction, then the replica's new change bytes are appended to it. If anything fails after
    /// the replica changed, the in-memory replica is reloaded from the file, so it never holds what
    /// was not committed.
    pub(crate) fn write_with_replica<T>(
        &mut self,
        cause: &str,
        f: impl FnOnce(&Transaction<'_>, &mut ShopReplica) -> Result<T>,
    ) -> Result<T> {
        let store = &mut self.replica;
        let heads_before = store.replica.heads();
        let out = self.db.write(|tx| {
            store.catch_up(tx)?;
            let out = f(tx, &mut store.replica)?;
            append(tx, store, cause)?;
            Ok(out)
        });
        match out {
            Ok(v) => {
                self.maintain_replica();
                Ok(v)
            }
            // A refusal (under-payment, not enough stock) changed nothing in the replica; only
            // a failure after the replica moved needs it reloaded from what was committed.
            Err(e) if self.replica.replica.heads() == heads_before => Err(e),
            Err(e) => {
                match load(self.db.conn(), self.shop.till_id) {
                    Ok(Some(fresh)) => self.replica = fresh,
                    Ok(None) => tracing::error!("the stock replica vanished from the database"),
                    Err(reload) => tracing::error!(error = %reload, "reloading the replica failed"),
                }
                Err(e)
            }
        }
    }

    /// After a committed action: a snapshot every `SNAPSHOT_EVERY` actions, and, while the till
    /// is alone (the document's creator), a new epoch every `REBASE_EVERY` actions. Both are
    /// their own transactions after the sale's; if one fails the till goes on (its data is
    /// whole either way) and tries again after the next action.
    fn maintain_replica(&mut self) {
        let store = &mut self.replica;
        let result = if store.replica.role() == Role::Creator && store.epoch_actions >= REBASE_EVERY
        {
            rebase(&mut self.db, store)
        } else if store.since_snapshot >= SNAPSHOT_EVERY {
            compact(&mut self.db, store)
        } else {
            Ok(())
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "replica compaction postponed");
        }
    }

    /// Takes in what another connection to this till's file (the background sync loop, or the
    /// app while the loop runs) committed since this one last looked: a long-lived `Till` that
    /// shows stock calls this before reading. Cheap when nothing changed (one pragma). Returns
    /// whether anything was new.
    pub fn refresh(&mut self) -> Result<bool> {
        self.replica.catch_up(self.db.conn())
    }

    /// This till's replica (read access).
    pub fn replica(&self) -> &ShopReplica {
        &self.replica.replica
    }

    /// The audit: the replica's counters stay valid, and the units this till's own changes took
    /// from its counters for sales (minus refunds and voids), over every epoch, equal the units in
    /// its ledger. Every finding is a conflict for a person to resolve: those only this till can
    /// make are stored in `conflicts` (source `till`, see `sync::findings`), listed by
    /// `trestle conflicts` and resolved there.
    pub fn audit(&mut self) -> Result<Vec<Finding>> {
        let findings = self.find_audit()?;
        self.record_findings(&findings)?;
        Ok(findings)
    }

    fn find_audit(&mut self) -> Result<Vec<Finding>> {
        let holder = self.replica.holder();
        let mut trail = AuditTrail::new();
        let archives: Vec<Vec<u8>> = {
            let mut st = self
                .db
                .conn()
                .prepare("SELECT bytes FROM replica_archive ORDER BY seq")?;
            let rows = st
                .query_map([], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows
        };
        for bytes in archives {
            let mut old = ShopReplica::open_archive(holder, &bytes).map_err(corrupt)?;
            let mut t = AuditTrail::new();
            t.update(&mut old)?;
            trail.absorb(&t);
        }
        trail.update(&mut self.replica.replica)?;
        let ledger = ledger_net_sold(self.db.conn())?;
        let mut conflicts = check_stock(&self.replica.replica)?;
        conflicts.extend(audit_ledger(
            &self.replica.replica,
            &trail,
            holder,
            &ledger,
        )?);
        Ok(conflicts.iter().map(Finding::from).collect())
    }
}

fn compact(db: &mut Db, store: &mut ReplicaStore) -> Result<()> {
    db.write(|tx| {
        // What another connection stored since must be in the snapshot before its rows go.
        store.catch_up(tx)?;
        write_snapshot(tx, store)
    })
}

/// Stores the in-memory replica whole as the snapshot and drops the change rows it contains,
/// inside the caller's transaction (which has caught up with the file first). Other connections
/// see the snapshot's new generation and reload.
pub(crate) fn write_snapshot(tx: &Transaction<'_>, store: &mut ReplicaStore) -> Result<()> {
    let bytes = store.replica.save_local();
    let epoch = i64::try_from(store.replica.epoch()).unwrap_or(i64::MAX);
    let actions = i64::try_from(store.epoch_actions).unwrap_or(i64::MAX);
    tx.execute(
        "UPDATE replica_snapshot SET epoch = ?1, actions = ?2, bytes = ?3 WHERE id = 1",
        params![epoch, actions, bytes],
    )?;
    tx.execute("DELETE FROM replica_changes WHERE epoch <= ?1", [epoch])?;
    store.snapshot_written(tx)?;
    store.since_snapshot = 0;
    Ok(())
}

fn rebase(db: &mut Db, store: &mut ReplicaStore) -> Result<()> {
    let seen = db.write(|tx| {
        store.catch_up(tx)?;
        let (mut next, archive) = store.replica.rebase()?;
        let heads: Vec<String> = archive.heads.iter().map(|h| h.to_string()).collect();
        let shop = store.replica.shop();
        let bytes = next.save();
        let epoch = i64::try_from(next.epoch()).unwrap_or(i64::MAX);
        insert_archive(tx, shop, archive.epoch, &heads, &archive.bytes)?;
        tx.execute(
            "UPDATE replica_snapshot SET epoch = ?1, actions = 0, bytes = ?2 WHERE id = 1",
            params![epoch, bytes],
        )?;
        tx.execute("DELETE FROM replica_changes", [])?;
        let mut fresh = fresh_store(tx, next)?;
        std::mem::swap(store, &mut fresh);
        Ok(())
    });
    seen?;
    tracing::info!(
        epoch = store.replica.epoch(),
        "replica rebased into a new epoch"
    );
    Ok(())
}

/// Stores a closed document (a past epoch, or a till's own document from before it paired) in
/// the archive, the audit trail of every counter change it holds.
pub(crate) fn insert_archive(
    tx: &Transaction<'_>,
    shop: ShopId,
    epoch: u64,
    heads: &[String],
    bytes: &[u8],
) -> Result<()> {
    let heads = serde_json::to_string(heads).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO replica_archive (shop_id, epoch, heads, bytes) VALUES (?1, ?2, ?3, ?4)",
        params![
            shop.0.to_string(),
            i64::try_from(epoch).unwrap_or(i64::MAX),
            heads,
            bytes
        ],
    )?;
    Ok(())
}

/// A store for a replica just written whole as the snapshot (no changes after it), inside the
/// transaction that wrote it.
pub(crate) fn fresh_store(
    conn: &rusqlite::Connection,
    replica: ShopReplica,
) -> Result<ReplicaStore> {
    let mut store = ReplicaStore {
        replica,
        epoch_actions: 0,
        since_snapshot: 0,
        seen: Seen::default(),
    };
    store.snapshot_written(conn)?;
    store.seen.data_version = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
    Ok(store)
}

/// Net units of each tracked variant the ledger says this till sold: sales minus refunds minus
/// voided sales.
fn ledger_net_sold(conn: &rusqlite::Connection) -> Result<BTreeMap<VariantId, i64>> {
    let mut st = conn.prepare(
        "SELECT variant_id, SUM(q) FROM (
             SELECT l.variant_id, l.qty AS q FROM sale_lines l
                 WHERE l.sale_id NOT IN (SELECT sale_id FROM pickup_sales)
             UNION ALL SELECT r.variant_id, -r.qty FROM refund_lines r
             UNION ALL SELECT l.variant_id, -l.qty FROM voids v JOIN sale_lines l ON l.sale_id = v.sale_id
         ) JOIN variants ON variants.id = variant_id
         WHERE variants.track_inventory = 1
         GROUP BY variant_id",
    )?;
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, n)| {
            Ok((
                VariantId::parse(&id)
                    .map_err(|_| Error::Corrupt("a sale line's variant is unreadable".into()))?,
                n,
            ))
        })
        .collect()
}

/// A conflict found by the audit, as the CLI and app show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: String,
    pub variant: VariantId,
    pub holder: String,
    pub facts: Vec<(String, String)>,
    pub resolutions: Vec<String>,
}

impl From<&Conflict> for Finding {
    fn from(c: &Conflict) -> Finding {
        Finding {
            kind: c.kind.code().to_string(),
            variant: c.variant,
            holder: c.holder.to_string(),
            facts: c
                .facts
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
            resolutions: c.resolutions.iter().map(|r| r.code().to_string()).collect(),
        }
    }
}
