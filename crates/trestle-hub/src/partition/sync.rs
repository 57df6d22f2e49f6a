//! The tills' side of the writer: outbox batches applied once per event id, Automerge sync
//! sessions per device, each device's feed, and conflicts — recorded with their facts and the
//! resolutions offered, listed and resolved.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use trestle_core::ids::TillId;
use trestle_core::ledger::{OutboxEnvelope, LEDGER_WIRE_VERSION};
use trestle_protocol::{ConflictRecord, FeedEntry, OutboxAck, MAX_OUTBOX_BATCH};
use trestle_replica::invariants::touched_cells;
use trestle_replica::{Conflict, SyncState};
use uuid::Uuid;

use super::{store, Ctx};
use crate::db::{new_id, now_ms, rfc3339};
use crate::error::{HubError, Result};

/// A till's ledger event as the shop's log records it (`sale.recorded`, …): the record,
/// serialised once, stored only here (`till_events` names the event by its seq).
#[derive(serde::Serialize)]
struct Recorded<'a> {
    event_id: Uuid,
    record: &'a trestle_core::ledger::LedgerEvent,
    till_id: Uuid,
}

/// An outbox entry ready for the writer: the envelope and its log event's data, serialised
/// before the writer takes it (the bulk exchange's decoder thread does it beside the writer,
/// decision 198; a duplicate's serialisation is then wasted, off the writer).
pub struct Prepared {
    entry: OutboxEnvelope,
    data: Box<RawValue>,
}

impl Prepared {
    /// `entry` as device `device` sent it, refused unless it is that device's own and of a
    /// version this hub reads (one refused entry refuses the whole request).
    pub fn new(device: Uuid, entry: OutboxEnvelope) -> Result<Prepared> {
        if entry.v != LEDGER_WIRE_VERSION {
            return Err(HubError::invalid(
                "sync.unsupported_version",
                format!("outbox entries of version {} are not understood (this hub reads {LEDGER_WIRE_VERSION}); update the hub", entry.v),
            ));
        }
        if entry.till_id != TillId(device) {
            return Err(HubError::invalid(
                "sync.wrong_till",
                "the batch holds entries of another till; each till sends only its own",
            ));
        }
        let data = serde_json::value::to_raw_value(&Recorded {
            event_id: entry.event_id.0,
            record: &entry.event,
            till_id: device,
        })?;
        Ok(Prepared { entry, data })
    }

    pub fn event_id(&self) -> Uuid {
        self.entry.event_id.0
    }
}

/// A conflict to record: what kind, about what, the facts and the resolutions offered.
pub struct NewConflict {
    pub kind: String,
    pub variant: Option<Uuid>,
    pub holder: Option<String>,
    pub facts: Value,
    pub resolutions: Vec<String>,
    /// The same open problem found again updates the open conflict instead of adding one.
    pub fingerprint: String,
}

impl From<&Conflict> for NewConflict {
    fn from(c: &Conflict) -> Self {
        let mut facts = Map::new();
        for (k, v) in &c.facts {
            facts.insert((*k).to_string(), Value::String(v.clone()));
        }
        NewConflict {
            kind: c.kind.code().to_string(),
            variant: Some(c.variant.0),
            holder: Some(c.holder.to_string()),
            facts: Value::Object(facts),
            resolutions: c.resolutions.iter().map(|r| r.code().to_string()).collect(),
            fingerprint: format!("{}:{}:{}", c.kind.code(), c.variant, c.holder),
        }
    }
}

impl Ctx<'_> {
    /// Stores each entry once; an entry seen before is a duplicate and changes nothing.
    pub fn ingest_outbox(
        &mut self,
        device: Uuid,
        entries: Vec<OutboxEnvelope>,
    ) -> Result<OutboxAck> {
        if entries.len() > MAX_OUTBOX_BATCH {
            return Err(HubError::invalid(
                "sync.batch_too_large",
                format!("send at most {MAX_OUTBOX_BATCH} outbox entries at once"),
            ));
        }
        self.ingest_entries(device, entries)
    }

    /// [`Self::ingest_outbox`] without the batch's size limit (the bulk exchange has its own).
    pub(super) fn ingest_entries(
        &mut self,
        device: Uuid,
        entries: Vec<OutboxEnvelope>,
    ) -> Result<OutboxAck> {
        let entries = entries
            .into_iter()
            .map(|e| Prepared::new(device, e))
            .collect::<Result<Vec<_>>>()?;
        let mut ack = OutboxAck::default();
        self.store_entries(device, entries, &mut ack)?;
        self.mark_synced(device, None)?;
        Ok(ack)
    }

    /// Stores each of `entries` (checked by [`Prepared::new`]) once, with its `sale.*` event,
    /// adding its id to `ack` as accepted or a duplicate. An error leaves rows written for the
    /// job's savepoint to undo.
    pub(super) fn store_entries(
        &mut self,
        device: Uuid,
        entries: Vec<Prepared>,
        ack: &mut OutboxAck,
    ) -> Result<()> {
        let now = now_ms();
        let device_text = device.to_string();
        for Prepared { entry: e, data } in entries {
            // The record is stored once, in the log's event (migration 0005); this row is the
            // entry's idempotency key, naming that event by the seq it is about to get.
            let seq = self.st.next_event_seq;
            let n = self
                .tx
                .prepare_cached(
                    "INSERT INTO till_events (event_id, till_id, kind, event_seq, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (event_id) DO NOTHING",
                )?
                .execute(params![
                    e.event_id.0.to_string(),
                    device_text,
                    e.event.kind(),
                    seq,
                    now
                ])?;
            if n == 0 {
                ack.duplicates.push(e.event_id.0);
                continue;
            }
            ack.accepted.push(e.event_id.0);
            let topic = match e.event.kind() {
                "sale_completed" => "sale.recorded",
                "sale_refunded" => "sale.refunded",
                _ => "sale.voided",
            };
            let published = store::publish_raw(self.tx, self.st, self.published, topic, data)?;
            if published != seq {
                return Err(HubError::internal(
                    "an outbox entry's event got another seq than its row names",
                ));
            }
        }
        Ok(())
    }

    /// One round of an Automerge sync session: merges the till's message (if any), records the
    /// conflicts the merge revealed, and returns the hub's next message (if it has one).
    pub fn sync_message(
        &mut self,
        device: Uuid,
        session: String,
        message: Vec<u8>,
    ) -> Result<Option<Vec<u8>>> {
        let till = TillId(device);
        let fresh = self.st.sync.get(&till).is_none_or(|(s, _)| *s != session);
        if fresh {
            self.st
                .sync
                .insert(till, (session.clone(), SyncState::new()));
        }
        let (_, mut state) = self
            .st
            .sync
            .remove(&till)
            .unwrap_or((session.clone(), SyncState::new()));
        let result = self.sync_round(&mut state, &message);
        self.st.sync.insert(till, (session, state));
        let reply = result?;
        self.mark_synced(device, None)?;
        Ok(reply)
    }

    fn sync_round(&mut self, state: &mut SyncState, message: &[u8]) -> Result<Option<Vec<u8>>> {
        if !message.is_empty() {
            self.merge_from_till(|replica| replica.receive_sync_message(state, message))?;
        }
        Ok(self.st.replica.generate_sync_message(state))
    }

    /// Merges what a till sent (`merge` applies it to the hub's replica), then publishes what it
    /// changed, announces the reservations it moved and records the conflicts it revealed.
    pub(super) fn merge_from_till(
        &mut self,
        merge: impl FnOnce(
            &mut trestle_replica::ShopReplica,
        ) -> trestle_replica::Result<trestle_replica::MergeReport>,
    ) -> Result<()> {
        let statuses = self.reservation_statuses()?;
        let report = merge(&mut self.st.replica)?;
        for (v, _) in &report.touched {
            self.st.touched.insert(*v);
        }
        // Changes that only moved counters (a day of sales) leave the catalog, reservations and
        // hand-overs as they were: nothing of them to read again.
        if report.heads_changed && !report.only_counters {
            let before = self.st.replica.heads();
            // Hand-overs tills made of reservations the hub still holds: taken in here.
            self.st.replica.settle_handovers()?;
            for (v, _) in touched_cells(&mut self.st.replica, &before)? {
                self.st.touched.insert(v);
            }
            store::refresh(self.st)?;
            self.announce_reservation_changes(&statuses)?;
        }
        for c in &report.conflicts {
            self.record_conflict(NewConflict::from(c))?;
        }
        Ok(())
    }

    /// The hub's whole document, for a newly paired till to start its replica from.
    pub fn snapshot(&mut self, device: Uuid) -> Result<Vec<u8>> {
        self.mark_synced(device, None)?;
        Ok(self.st.replica.save_copy())
    }

    fn reservation_statuses(&self) -> Result<HashMap<Uuid, String>> {
        Ok(self
            .st
            .replica
            .reservations()?
            .into_iter()
            .map(|r| (r.id.0, r.status))
            .collect())
    }

    /// After a merge: what a till did to its reservations is announced (stream and webhooks),
    /// and a hand-over of a reservation whose cancellation was asked for is a conflict.
    fn announce_reservation_changes(&mut self, before: &HashMap<Uuid, String>) -> Result<()> {
        for r in self.st.replica.reservations()? {
            let id = r.id.0;
            self.double_handovers(&r)?;
            if before.get(&id) == Some(&r.status) {
                continue;
            }
            let topic = match r.status.as_str() {
                // Made at a till and reaching the hub for the first time.
                "held" | "ready" if !before.contains_key(&id) => "reservation.created",
                // Packed at the stall: the storefront tells the customer.
                "ready" => "reservation.ready",
                "collected" | "partially_collected" => "reservation.collected",
                "cancelled" => "reservation.cancelled",
                "expired" => "reservation.expired",
                _ => "reservation.updated",
            };
            let asked_to_cancel: bool = self
                .tx
                .query_row(
                    "SELECT cancel_requested FROM reservation_meta WHERE id = ?1",
                    [id.to_string()],
                    |row| row.get::<_, i64>(0),
                )
                .optional()?
                .is_some_and(|c| c != 0);
            if topic == "reservation.collected" && asked_to_cancel {
                self.collect_cancel_race(
                    &r,
                    "cancelled online while it was handed over at the stall",
                )?;
            }
            if topic != "reservation.updated" {
                self.tx.execute(
                    "UPDATE reservation_meta SET cancel_requested = 0 WHERE id = ?1",
                    [id.to_string()],
                )?;
            }
            let data = self.reservation_json(r.id)?;
            store::publish(self.tx, self.st, self.published, topic, data)?;
        }
        Ok(())
    }

    /// A reservation handed over twice (two tills that could not see each other, or a till after
    /// it was cancelled) is a conflict, one per extra hand-over.
    fn double_handovers(&mut self, r: &trestle_replica::ReservationView) -> Result<()> {
        for h in r.double_handovers() {
            self.record_conflict(NewConflict {
                kind: "conflict.double_handover".into(),
                variant: None,
                holder: Some(h.by.to_string()),
                facts: json!({
                    "reservation_id": r.id.0, "code": r.code, "customer": r.customer,
                    "status_at_the_holder": r.status, "handed_over_by": h.by.to_string(),
                    "handover_id": h.id.0, "handover_state": h.state,
                    "lines": h.lines.iter().map(|(v, n)| json!({"variant_id": v.0, "qty": n})).collect::<Vec<_>>(),
                    "what_happened": "the reservation was handed over again at a till that could not see the first hand-over (or after it was cancelled)",
                }),
                resolutions: vec!["charge_customer".into(), "goods_returned".into(), "write_off".into()],
                fingerprint: format!("double_handover:{}:{}", r.id, h.id),
            })?;
        }
        Ok(())
    }

    /// The shop's log after `seq` (at most `limit` events), for a live-stream client resuming.
    pub fn log_after(&mut self, seq: i64, limit: i64) -> Result<Vec<trestle_protocol::ShopEvent>> {
        let sql =
            "SELECT seq, topic, at, data FROM shop_events WHERE seq > ?1 ORDER BY seq LIMIT ?2";
        let rows = log_rows(self.tx, sql, params![seq, limit])?;
        rows.into_iter()
            .map(|(seq, topic, at, data)| {
                Ok(trestle_protocol::ShopEvent {
                    seq,
                    topic,
                    at,
                    data: RawValue::from_string(data)?,
                })
            })
            .collect()
    }

    pub(super) fn mark_synced(&mut self, device: Uuid, feed_seq: Option<i64>) -> Result<()> {
        self.tx.execute(
            "INSERT INTO device_sync (device_id, last_sync_at, last_feed_seq) VALUES (?1, ?2, COALESCE(?3, 0))
             ON CONFLICT (device_id) DO UPDATE SET last_sync_at = ?2,
                 last_feed_seq = COALESCE(?3, last_feed_seq)",
            params![device.to_string(), now_ms(), feed_seq],
        )?;
        Ok(())
    }

    /// The device's feed after `after` (at most 500 entries).
    pub fn feed(&mut self, device: Uuid, after: i64) -> Result<(Vec<FeedEntry>, i64)> {
        let sql = "SELECT seq, kind, at, body FROM device_feed WHERE device_id = ?1 AND seq > ?2
                   ORDER BY seq LIMIT 500";
        let rows = log_rows(self.tx, sql, params![device.to_string(), after])?;
        let out: Vec<FeedEntry> = rows
            .into_iter()
            .map(|(seq, kind, at, body)| {
                Ok(FeedEntry {
                    seq,
                    kind,
                    at,
                    body: serde_json::from_str(&body)?,
                })
            })
            .collect::<Result<_>>()?;
        let next = out.last().map_or(after, |e| e.seq);
        self.mark_synced(device, Some(next))?;
        Ok((out, next))
    }

    /// Milliseconds since each device last synced, for the metrics.
    pub fn sync_lag(&mut self) -> Result<Vec<(Uuid, i64)>> {
        let now = now_ms();
        let mut st = self
            .tx
            .prepare_cached("SELECT device_id, last_sync_at FROM device_sync")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (d, at) = row?;
            if let Ok(id) = Uuid::parse_str(&d) {
                out.push((id, now.saturating_sub(at)));
            }
        }
        Ok(out)
    }

    pub fn record_conflict(&mut self, c: NewConflict) -> Result<Uuid> {
        let open: Option<String> = self
            .tx
            .query_row(
                "SELECT id FROM conflicts WHERE fingerprint = ?1 AND status = 'open'",
                [&c.fingerprint],
                |r| r.get(0),
            )
            .optional()?;
        let facts = c.facts.to_string();
        if let Some(id) = open {
            self.tx.execute(
                "UPDATE conflicts SET facts = ?1 WHERE id = ?2",
                params![facts, id],
            )?;
            return Uuid::parse_str(&id).map_err(HubError::internal);
        }
        let id = new_id();
        self.tx.execute(
            "INSERT INTO conflicts (id, fingerprint, kind, variant_id, holder, facts, resolutions, status, detected_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8)",
            params![
                id.to_string(),
                c.fingerprint,
                c.kind,
                c.variant.map(|v| v.to_string()),
                c.holder,
                facts,
                c.resolutions.join(" "),
                now_ms()
            ],
        )?;
        self.publish_conflict(id, "conflict.detected")?;
        Ok(id)
    }

    /// Publishes a conflict's current record under `topic`; returns the record.
    fn publish_conflict(&mut self, id: Uuid, topic: &str) -> Result<ConflictRecord> {
        let rec = self.conflict(id)?;
        store::publish(self.tx, self.st, self.published, topic, json!(rec))?;
        Ok(rec)
    }

    pub fn conflicts(&mut self, status: Option<&str>) -> Result<Vec<ConflictRecord>> {
        let ids: Vec<String> = {
            let mut st = self.tx.prepare_cached(
                "SELECT id FROM conflicts WHERE (?1 IS NULL OR status = ?1) ORDER BY detected_at, id",
            )?;
            let rows = st.query_map([status], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        ids.iter()
            .map(|id| self.conflict(Uuid::parse_str(id).map_err(HubError::internal)?))
            .collect()
    }

    pub fn conflict(&mut self, id: Uuid) -> Result<ConflictRecord> {
        let row = self
            .tx
            .query_row(
                "SELECT kind, variant_id, holder, facts, resolutions, status, resolution, note, detected_at, resolved_at
                 FROM conflicts WHERE id = ?1",
                [id.to_string()],
                |r| {
                    Ok(ConflictRecord {
                        id,
                        kind: r.get(0)?,
                        variant_id: r
                            .get::<_, Option<String>>(1)?
                            .and_then(|s| Uuid::parse_str(&s).ok()),
                        holder: r.get(2)?,
                        facts: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or(Value::Null),
                        resolutions: r
                            .get::<_, String>(4)?
                            .split_whitespace()
                            .map(str::to_string)
                            .collect(),
                        status: r.get(5)?,
                        resolution: r.get(6)?,
                        note: r.get(7)?,
                        detected_at: rfc3339(r.get(8)?),
                        resolved_at: r.get::<_, Option<i64>>(9)?.map(rfc3339),
                    })
                },
            )
            .optional()?;
        row.ok_or_else(|| HubError::not_found("conflict", id))
    }

    pub fn resolve_conflict(
        &mut self,
        id: Uuid,
        resolution: &str,
        note: Option<String>,
    ) -> Result<ConflictRecord> {
        let c = self.conflict(id)?;
        if c.status != "open" {
            return Err(HubError::Conflict {
                code: "conflict.resolved",
                message: "the conflict is resolved already".into(),
                details: None,
            });
        }
        if !c.resolutions.iter().any(|r| r == resolution) {
            return Err(HubError::invalid(
                "conflict.unknown_resolution",
                format!(
                    "{resolution:?} is not offered for this conflict; choose one of {}",
                    c.resolutions.join(", ")
                ),
            ));
        }
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            return Err(HubError::invalid(
                "request.invalid_text",
                "the note must be at most 500 characters",
            ));
        }
        self.tx.execute(
            "UPDATE conflicts SET status = 'resolved', resolution = ?1, note = ?2, resolved_at = ?3 WHERE id = ?4",
            params![resolution, note, now_ms(), id.to_string()],
        )?;
        if c.kind == "conflict.collect_cancel_race" {
            self.settle_collect_cancel_race(&c.facts, resolution)?;
        }
        let rec = self.publish_conflict(id, "conflict.resolved")?;
        Ok(rec)
    }
}

/// Rows of a log table (`shop_events`, `device_feed`): seq, kind, time and JSON body (text).
fn log_rows(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<(i64, String, String, String)>> {
    let mut st = tx.prepare_cached(sql)?;
    let rows = st.query_map(params, |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, kind, at, body) = row?;
        out.push((seq, kind, rfc3339(at), body));
    }
    Ok(out)
}
