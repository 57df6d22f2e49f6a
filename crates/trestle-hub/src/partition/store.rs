//! The partition's persistence: loading the writer's state from the shop's file, saving the
//! replica's change bytes in the batch transaction (compacted into a snapshot now and then),
//! taking a batch's ship orders from the hub's stock in one change, and the shop's event log
//! that feeds the live stream, webhooks and device feeds.

use std::collections::{BTreeSet, HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use trestle_core::catalog::Policy;
use trestle_core::ids::VariantId;
use trestle_protocol::{HolderStock, ShopEvent};
use trestle_replica::ids::OrderBatchId;
use trestle_replica::{ConflictKind, Holder, HolderLevel, ShopId, ShopReplica};
use uuid::Uuid;

use super::sync::NewConflict;
use super::{Ctx, State};
use crate::db::{new_id, now_ms, rfc3339};
use crate::directory::Shop;
use crate::error::{HubError, Result};

/// Change rows kept before they are folded into a new snapshot.
const COMPACT_AFTER: i64 = 256;

pub(crate) fn load_state(conn: &Connection, shop: Shop) -> Result<State> {
    let replica = match load_replica(conn)? {
        Some(r) => r,
        None => {
            let mut r = ShopReplica::create(ShopId(shop.id), Holder::Hub)?;
            let bytes = r.save();
            conn.execute(
                "INSERT INTO replica_snapshot (id, bytes) VALUES (1, ?1)",
                [bytes],
            )?;
            r
        }
    };
    let next_order: i64 =
        conn.query_row("SELECT COALESCE(MAX(number), 0) + 1 FROM orders", [], |r| {
            r.get(0)
        })?;
    let next_event_seq: i64 = conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM shop_events",
        [],
        |r| r.get(0),
    )?;
    let mut st = State {
        shop,
        replica,
        catalog: HashMap::new(),
        pending: Vec::new(),
        next_order,
        next_event_seq,
        codes: HashSet::new(),
        sync: HashMap::new(),
        webhooks: Vec::new(),
        stop: false,
        changes: 0,
        touched: BTreeSet::new(),
        free_at: (Vec::new(), HashMap::new()),
    };
    st.changes = conn.query_row("SELECT COUNT(*) FROM replica_changes", [], |r| r.get(0))?;
    refresh(&mut st)?;
    super::webhooks::refresh(conn, &mut st)?;
    Ok(st)
}

fn load_replica(conn: &Connection) -> Result<Option<ShopReplica>> {
    let snapshot: Option<Vec<u8>> = conn
        .query_row("SELECT bytes FROM replica_snapshot WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(snapshot) = snapshot else {
        return Ok(None);
    };
    let mut st = conn.prepare("SELECT bytes FROM replica_changes ORDER BY seq")?;
    let later: Vec<Vec<u8>> = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let refs: Vec<&[u8]> = later.iter().map(Vec::as_slice).collect();
    Ok(Some(ShopReplica::load(Holder::Hub, &snapshot, &refs)?))
}

/// Re-reads what the replica holds that the writer caches (catalog, reservation codes).
pub(crate) fn refresh(st: &mut State) -> Result<()> {
    st.catalog = st.replica.catalog()?.into_iter().collect();
    st.codes = st
        .replica
        .reservations()?
        .into_iter()
        .map(|r| r.code)
        .collect();
    Ok(())
}

/// Rebuilds the replica from what the database holds (inside the batch, `tx` sees the batch's
/// own rows): used when a refused job had already changed the replica.
pub(crate) fn reload_replica(conn: &Connection, st: &mut State) -> Result<()> {
    st.replica = load_replica(conn)?.ok_or_else(|| HubError::internal("replica missing"))?;
    st.changes = conn.query_row("SELECT COUNT(*) FROM replica_changes", [], |r| r.get(0))?;
    refresh(st)
}

/// After a failed batch: everything in memory back to what the file holds.
pub(crate) fn reload(conn: &Connection, st: &mut State) -> Result<()> {
    reload_replica(conn, st)?;
    st.next_order = conn.query_row("SELECT COALESCE(MAX(number), 0) + 1 FROM orders", [], |r| {
        r.get(0)
    })?;
    st.next_event_seq = conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM shop_events",
        [],
        |r| r.get(0),
    )?;
    st.touched.clear();
    super::webhooks::refresh(conn, st)
}

/// Appends the replica's new change bytes; folds them into a snapshot every so often.
pub(crate) fn persist_replica(tx: &Transaction<'_>, st: &mut State) -> Result<()> {
    let bytes = st.replica.take_unsaved_bytes();
    if bytes.is_empty() {
        return Ok(());
    }
    st.changes += 1;
    if st.changes >= COMPACT_AFTER {
        let snapshot = st.replica.save();
        tx.execute(
            "INSERT OR REPLACE INTO replica_snapshot (id, bytes) VALUES (1, ?1)",
            [snapshot],
        )?;
        tx.execute("DELETE FROM replica_changes", [])?;
        st.changes = 0;
    } else {
        tx.prepare_cached("INSERT INTO replica_changes (bytes) VALUES (?1)")?
            .execute([bytes])?;
    }
    Ok(())
}

impl Ctx<'_> {
    /// Takes the batch's ship orders from the hub's `free` in one change; a made-to-order
    /// variant taken below zero becomes a conflict (make more, or tell the customer); then
    /// publishes the new level of every variant the batch touched.
    pub(crate) fn flush_pending(&mut self) -> Result<()> {
        if !self.st.pending.is_empty() {
            let lines = std::mem::take(&mut self.st.pending);
            // Every line was checked against the hub's free minus the batch's earlier lines, so
            // this cannot be short; if it were, the whole batch fails and nothing is answered.
            self.st
                .replica
                .sell_orders(OrderBatchId(new_id()), &lines)?;
            let variants: BTreeSet<VariantId> = lines.iter().map(|(v, _)| *v).collect();
            for v in variants {
                let free = self.cached_free(v);
                let Some(f) = self.st.catalog.get(&v) else {
                    continue;
                };
                if free < 0 && f.track_inventory && f.policy == Policy::Continue {
                    let title = f.title.clone();
                    self.record_conflict(NewConflict {
                        kind: ConflictKind::MadeToOrderShort.code().to_string(),
                        variant: Some(v.0),
                        holder: Some(Holder::Hub.to_string()),
                        facts: json!({
                            "title": title, "free": free,
                            "what_happened": "online orders of a made-to-order item went beyond the stock online",
                        }),
                        resolutions: vec!["make_more".into(), "contact_customer".into()],
                        fingerprint: format!("{}:{v}:{}", ConflictKind::MadeToOrderShort.code(), Holder::Hub),
                    })?;
                }
            }
        }
        self.publish_levels()
    }

    /// Publishes the level of every variant touched so far (`inventory.updated`); none is
    /// touched after.
    pub(crate) fn publish_levels(&mut self) -> Result<()> {
        let touched: Vec<VariantId> = std::mem::take(&mut self.st.touched).into_iter().collect();
        // Many variants (a market day's merge touches all of them) are read in one walk of the
        // stock map; a few, one at a time.
        let levels = self.st.replica.stock_of_many(&touched)?;
        for v in touched {
            let holders = levels.get(&v).map_or(&[][..], Vec::as_slice);
            let data = serde_json::value::to_raw_value(&Levels::of(v, holders))?;
            publish_raw(self.tx, self.st, self.published, "inventory.updated", data)?;
        }
        Ok(())
    }
}

/// A variant's levels as the live stream and webhooks show them (`inventory.updated`), written
/// straight to text: a market day publishes 2,000 of them a pass. Each holder as the inventory
/// API gives it (`HolderStock`).
#[derive(serde::Serialize)]
struct Levels {
    available: i64,
    holders: Vec<HolderStock>,
    on_hand: i64,
    variant_id: Uuid,
}

/// One holder's counters as the API and the events show them.
pub(crate) fn holder_stock(l: &HolderLevel) -> HolderStock {
    HolderStock {
        holder: l.holder.to_string(),
        free: l.free,
        held: l.held,
    }
}

impl Levels {
    fn of(v: VariantId, holders: &[HolderLevel]) -> Levels {
        Levels {
            available: holders
                .iter()
                .find(|l| l.holder == Holder::Hub)
                .map_or(0, |l| l.free),
            holders: holders.iter().map(holder_stock).collect(),
            on_hand: holders.iter().map(|l| l.free + l.held).sum(),
            variant_id: v.0,
        }
    }
}

/// Appends an event to the shop's log, queues its webhook deliveries, and keeps it to be sent to
/// live-stream subscribers once the batch is committed.
pub(crate) fn publish(
    tx: &Transaction<'_>,
    st: &mut State,
    published: &mut Vec<ShopEvent>,
    topic: &str,
    data: Value,
) -> Result<i64> {
    publish_raw(
        tx,
        st,
        published,
        topic,
        serde_json::value::to_raw_value(&data)?,
    )
}

/// [`publish`] with the event's data already serialised (written straight from a typed record:
/// a day's sales are serialised once, and the log, the stream and webhooks pass the text on).
pub(crate) fn publish_raw(
    tx: &Transaction<'_>,
    st: &mut State,
    published: &mut Vec<ShopEvent>,
    topic: &str,
    data: Box<RawValue>,
) -> Result<i64> {
    let seq = st.next_event_seq;
    st.next_event_seq += 1;
    let at = now_ms();
    tx.prepare_cached("INSERT INTO shop_events (seq, topic, at, data) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![seq, topic, at, data.get()])?;
    for (id, topics) in &st.webhooks {
        if topics.iter().any(|t| t == "*" || t == topic) {
            tx.prepare_cached(
                "INSERT INTO deliveries (id, webhook_id, event_seq, status, next_attempt_at)
                 VALUES (?1, ?2, ?3, 'pending', ?4)",
            )?
            .execute(params![new_id().to_string(), id.to_string(), seq, at])?;
        }
    }
    published.push(ShopEvent {
        seq,
        topic: topic.to_string(),
        at: rfc3339(at),
        data,
    });
    Ok(seq)
}

/// Adds an entry to a device's feed; returns its seq.
pub(crate) fn feed(tx: &Transaction<'_>, device: Uuid, kind: &str, body: &Value) -> Result<i64> {
    tx.execute(
        "INSERT INTO device_feed (device_id, kind, at, body) VALUES (?1, ?2, ?3, ?4)",
        params![
            device.to_string(),
            kind,
            now_ms(),
            serde_json::to_string(body)?
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inventory_event_reads_as_its_json_tree_did() {
        let v = VariantId(Uuid::from_u128(7));
        let till = Holder::Till(trestle_core::ids::TillId(Uuid::from_u128(9)));
        let holders = [
            HolderLevel {
                holder: Holder::Hub,
                free: 4,
                held: 1,
            },
            HolderLevel {
                holder: till,
                free: -2,
                held: 0,
            },
        ];
        let text = serde_json::value::to_raw_value(&Levels::of(v, &holders)).unwrap();
        let tree = json!({
            "variant_id": v.0,
            "available": 4,
            "on_hand": 3,
            "holders": [
                {"holder": "hub", "free": 4, "held": 1},
                {"holder": till.to_string(), "free": -2, "held": 0},
            ],
        });
        let read: Value = serde_json::from_str(text.get()).unwrap();
        assert_eq!(read, tree);
    }
}
