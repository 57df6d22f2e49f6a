//! Sync with the hub (design §6, docs/sync.md): pairing ([`pair`]), the HTTP client
//! ([`client`]), and one reconcile pass — push the outbox in order in batches (acknowledged
//! entries only are marked), exchange Automerge sync messages until both sides have nothing to
//! say (each merge stored in its own transaction, like every other change of the replica), and
//! pull the device's feed (stored with the last seq, in one transaction per page).
//!
//! Every step is safe to cut at any byte: the hub applies each outbox entry once by its event id,
//! a new Automerge session starts from a fresh state on both sides, and the feed is read after
//! the last seq stored. So a pass that fails part-way keeps what was confirmed and the next pass
//! finishes the rest.

pub mod agent;
mod bulk;
pub mod client;
pub mod conflicts;
mod epoch;
pub mod feed;
pub mod findings;
pub mod pair;
mod seal;
pub mod stream;
pub mod words;

use rusqlite::params;
use serde::Serialize;
use serde_json::Value;
use trestle_protocol::{Feed, OutboxAck, EPOCH_HEADER, MAX_OUTBOX_BATCH, SYNC_SESSION_HEADER};
use trestle_replica::SyncState;
use uuid::Uuid;

use crate::catalog::fill_from_replica;
use crate::error::{Error, Result};
use crate::till::Till;
use client::{HubClient, ATTEMPTS};

pub use agent::{AgentOptions, Connectivity, SyncAgent, SyncStatus};
pub use conflicts::ConflictItem;
pub use feed::FeedItem;
pub use pair::{Credentials, HubLink, PairSummary, CREDENTIALS_FILE};

/// The most rounds of one Automerge session before the pass gives up (a settled exchange takes
/// a handful).
const MAX_ROUNDS: usize = 100;
/// Automerge sessions started afresh within one pass after a lost exchange.
const SESSIONS: u32 = 3;
/// Feed entries per page (the hub's limit).
const FEED_PAGE: usize = 500;

/// An outbox entry waiting for the hub's acknowledgement.
struct Pending {
    seq: i64,
    event_id: String,
    payload: String,
}

/// Marks acknowledged the entries of `batch` that `ids` names (an id the till did not send is
/// ignored); returns how many were newly marked. By `seq`, the outbox's key: `event_id` has no
/// index, and a day's outbox marked by it scanned the table once per entry.
fn mark_acked(
    tx: &rusqlite::Transaction<'_>,
    batch: &[Pending],
    ids: &[Uuid],
    now: i64,
) -> Result<usize> {
    let seq_of: std::collections::HashMap<&str, i64> =
        batch.iter().map(|p| (p.event_id.as_str(), p.seq)).collect();
    let mut st =
        tx.prepare_cached("UPDATE outbox SET acked_ms = ?1 WHERE seq = ?2 AND acked_ms IS NULL")?;
    let mut n = 0;
    for id in ids {
        if let Some(seq) = seq_of.get(id.to_string().as_str()) {
            n += st.execute(params![now, seq])?;
        }
    }
    Ok(n)
}

/// The first `limit` unacknowledged outbox entries, in order.
fn pending_in(conn: &rusqlite::Connection, limit: usize) -> Result<Vec<Pending>> {
    let mut st = conn.prepare_cached(
        "SELECT o.seq, o.event_id, p.payload FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq
         WHERE o.acked_ms IS NULL ORDER BY o.seq LIMIT ?1",
    )?;
    let rows = st
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(Pending {
                seq: r.get(0)?,
                event_id: r.get(1)?,
                payload: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    pub hub_url: String,
    /// Outbox entries the hub stored for the first time.
    pub pushed: usize,
    /// Outbox entries the hub had already (sent before; applied once).
    pub duplicates: usize,
    /// Changes of the shop document merged into this till's replica.
    pub merged: usize,
    /// Automerge messages exchanged.
    pub rounds: usize,
    /// Feed entries received.
    pub feed_entries: usize,
    /// Stock conflicts the merges revealed (see `trestle audit`).
    pub conflicts: usize,
    /// Feed entries acted on (stock given back, pickups cancelled, the rest noted).
    pub feed_applied: usize,
    /// Conflicts open at the hub for this shop after the pass (`trestle conflicts`).
    pub open_conflicts: i64,
    /// Outbox entries still waiting (0 after a complete pass).
    pub pending: i64,
    /// Staff members in the roster pulled from the hub.
    pub staff: usize,
    /// What this till decided about its pickups after the feed.
    pub pickups: crate::pickups::reconcile::PickupsReconciled,
    /// The hub's new epoch of the shop document this pass moved the till to, if it did.
    pub epoch: Option<u64>,
}

impl Till {
    /// One reconcile pass with the paired hub. When the hub cannot be reached at all, returns
    /// `sync.hub_unreachable` having changed nothing.
    pub fn sync(&mut self) -> Result<SyncSummary> {
        // A pass may change catalog rows on this connection; nothing searches while it runs
        // (it holds the till), so forgetting the index now makes the next search read them.
        self.search_cache.forget();
        let (link, creds) = self.credentials()?;
        // What the app's connection committed since (a sale a moment ago) goes in this pass.
        self.refresh()?;
        let hub = HubClient::new(&link.hub_url, Some(creds.device_token))?;
        let mut s = SyncSummary {
            hub_url: link.hub_url.clone(),
            ..SyncSummary::default()
        };
        // The feed first: it is read-only at the hub, so an unreachable hub is found before
        // this pass writes anything here (the seal before the exchange writes).
        self.pull_feed(&hub, link.feed_after, &mut s)?;
        if !self.bulk_exchange(&hub, &mut s)? {
            self.push_outbox(&hub, &mut s)?;
            self.exchange(&hub, &mut s)?;
        }
        s.staff = self.pull_roster(&hub)?;
        let applied = self.apply_feed()?;
        s.feed_applied = applied.entries;
        // Pickups this till decides on (other tills' hand-overs, expiries) after the feed's
        // requests; what either decided reaches the hub in the same pass.
        let heads = self.replica.replica.heads();
        s.pickups = self.reconcile_pickups(&hub)?;
        if applied.changed > 0 || self.replica.replica.heads() != heads {
            // What the feed made this till do (stock given back, a pickup cancelled) goes now.
            self.exchange(&hub, &mut s)?;
        }
        s.open_conflicts = self.fetch_conflicts(&hub)?;
        let now = i64::try_from(self.now_ms()).unwrap_or(i64::MAX);
        self.db.write(|tx| {
            tx.execute(
                "UPDATE sync_state SET last_sync_ms = ?1 WHERE id = 1",
                [now],
            )?;
            Ok(())
        })?;
        s.pending = self.pending_outbox()?;
        tracing::info!(
            pushed = s.pushed,
            duplicates = s.duplicates,
            merged = s.merged,
            feed = s.feed_entries,
            "sync pass done"
        );
        Ok(s)
    }

    /// Sends the pending outbox in order, `MAX_OUTBOX_BATCH` at a time; an entry is marked
    /// acknowledged only when the hub's answer names it.
    fn push_outbox(&mut self, hub: &HubClient, s: &mut SyncSummary) -> Result<()> {
        loop {
            let batch = self.pending_batch(MAX_OUTBOX_BATCH)?;
            if batch.is_empty() {
                return Ok(());
            }
            let entries: Vec<Value> = batch
                .iter()
                .map(|p| serde_json::from_str(&p.payload))
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| Error::Corrupt("an outbox entry is unreadable".into()))?;
            let body = serde_json::json!({ "entries": entries });
            let ack: OutboxAck = hub
                .send("/v1/sync/outbox", ATTEMPTS, |c, u| c.post(u).json(&body))?
                .json("the outbox acknowledgement")?;
            let now = i64::try_from(self.now_ms()).unwrap_or(i64::MAX);
            let (accepted, duplicates) = self.db.write(|tx| {
                Ok((
                    mark_acked(tx, &batch, &ack.accepted, now)?,
                    mark_acked(tx, &batch, &ack.duplicates, now)?,
                ))
            })?;
            if accepted + duplicates == 0 {
                return Err(Error::HubAnswer(
                    "it acknowledged none of the outbox entries sent".into(),
                ));
            }
            s.pushed += accepted;
            s.duplicates += duplicates;
        }
    }

    /// The first `limit` unacknowledged outbox entries, in order.
    fn pending_batch(&self, limit: usize) -> Result<Vec<Pending>> {
        pending_in(self.db.conn(), limit)
    }

    /// Automerge sync until neither side has anything to say. A session whose exchange is lost
    /// is started afresh (new session id, fresh state on both sides) rather than resent.
    fn exchange(&mut self, hub: &HubClient, s: &mut SyncSummary) -> Result<()> {
        self.seal(true)?;
        let mut before = self.replica.replica.heads();
        let mut session = 0;
        let mut adopted = false;
        loop {
            session += 1;
            match self.session(hub, s) {
                Ok(()) => break,
                // The hub started a new epoch: move to it (once a pass), then sync in it.
                Err(Error::HubRefused { code, .. }) if code == "sync.new_epoch" && !adopted => {
                    adopted = true;
                    session -= 1;
                    let epoch = self.adopt_hub_epoch(hub)?;
                    s.epoch = Some(epoch);
                    before = self.replica.replica.heads();
                }
                Err(e @ (Error::HubUnreachable { .. } | Error::HubFailed { .. }))
                    if session < SESSIONS =>
                {
                    tracing::debug!(error = %e, "sync session lost; starting a new one");
                }
                Err(e) => return Err(e),
            }
        }
        s.merged += self.replica.replica.changes_after(&before);
        Ok(())
    }

    fn session(&mut self, hub: &HubClient, s: &mut SyncSummary) -> Result<()> {
        let id = self.new_uuid().to_string();
        let epoch = self.replica.replica.epoch();
        let mut state = SyncState::new();
        for _ in 0..MAX_ROUNDS {
            // What this message may carry counts as sent from now on (never folded again).
            self.seal(false)?;
            let ours = self
                .replica
                .replica
                .generate_sync_message(&mut state)
                .unwrap_or_default();
            let answer = hub.send("/v1/sync/automerge", 1, |c, u| {
                c.post(u)
                    .header(SYNC_SESSION_HEADER, &id)
                    .header(EPOCH_HEADER, epoch.to_string())
                    .header("content-type", "application/octet-stream")
                    .body(ours.clone())
            })?;
            s.rounds += 1;
            match answer.status {
                204 if ours.is_empty() => return Ok(()),
                204 => {}
                _ => {
                    let cause = format!("sync:{id}");
                    let conflicts = self.write_with_replica(&cause, |tx, replica| {
                        let report = replica.receive_sync_message(&mut state, &answer.body)?;
                        if report.heads_changed && !report.only_counters {
                            fill_from_replica(tx, replica)?;
                        }
                        Ok(report.conflicts.len())
                    })?;
                    s.conflicts += conflicts;
                }
            }
        }
        Err(Error::HubAnswer(format!(
            "the hub and the till did not agree after {MAX_ROUNDS} sync messages"
        )))
    }

    /// The device's feed after the last seq stored, page by page; each page and the new last seq
    /// in one transaction.
    fn pull_feed(&mut self, hub: &HubClient, mut after: i64, s: &mut SyncSummary) -> Result<()> {
        loop {
            let feed: Feed = hub
                .send(&format!("/v1/sync/feed?after={after}"), ATTEMPTS, |c, u| {
                    c.get(u)
                })?
                .json("the feed")?;
            let fresh: Vec<_> = feed.entries.iter().filter(|e| e.seq > after).collect();
            let last = fresh.iter().map(|e| e.seq).max().unwrap_or(after);
            let now = i64::try_from(self.now_ms()).unwrap_or(i64::MAX);
            let n = self.db.write(|tx| {
                let mut n = 0;
                for e in &fresh {
                    n += tx
                        .prepare_cached(
                            "INSERT INTO hub_feed (seq, kind, at, body, received_ms)
                             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (seq) DO NOTHING",
                        )?
                        .execute(params![e.seq, e.kind, e.at, e.body.to_string(), now])?;
                }
                tx.execute("UPDATE sync_state SET feed_after = ?1 WHERE id = 1", [last])?;
                Ok(n)
            })?;
            s.feed_entries += n;
            if feed.entries.len() < FEED_PAGE || last == after {
                return Ok(());
            }
            after = last;
        }
    }
}
