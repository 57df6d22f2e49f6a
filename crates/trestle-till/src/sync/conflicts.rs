//! Conflicts on the till: those the hub recorded (fetched at every pass and stored with their
//! facts, the resolutions offered and, once decided, the resolution), listed for the person at
//! the stall and resolved through the hub — online only: a resolution is a decision on the
//! hub's current facts, so the till never queues one that could land on a conflict the shop's
//! admin has meanwhile decided differently (docs/decisions.md 31).

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use trestle_protocol::{ConflictList, ConflictRecord, ResolveConflict};

use super::client::{HubClient, ATTEMPTS};
use crate::error::{Error, Result};
use crate::till::Till;

/// A conflict as the till shows it: the record (the hub's, or one of this till's own audit
/// findings), the variant's title when the till knows it, and who found it: `hub` or `till`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictItem {
    #[serde(flatten)]
    pub record: ConflictRecord,
    pub title: Option<String>,
    pub source: String,
}

impl Till {
    /// Stores the hub's conflicts (new ones added, known ones updated), in one transaction.
    pub(crate) fn fetch_conflicts(&mut self, hub: &HubClient) -> Result<i64> {
        let list: ConflictList = hub
            .send("/v1/conflicts", ATTEMPTS, |c, u| c.get(u))?
            .json("the conflicts")?;
        let now = i64::try_from(self.now_ms()).unwrap_or(i64::MAX);
        self.db.write(|tx| {
            for c in &list.conflicts {
                store(tx, c, now)?;
            }
            Ok(())
        })?;
        self.open_conflicts()
    }

    /// The conflicts this till knows, oldest first; `all` includes the resolved ones.
    pub fn conflicts(&self, all: bool) -> Result<Vec<ConflictItem>> {
        let mut st = self.db.conn().prepare(
            "SELECT c.id, c.kind, c.variant_id, v.title, c.holder, c.facts, c.resolutions, c.status,
                    c.resolution, c.note, c.detected_at, c.resolved_at, c.source
             FROM conflicts c LEFT JOIN variants v ON v.id = c.variant_id
             WHERE (?1 = 1 OR c.status = 'open') ORDER BY c.detected_at, c.id",
        )?;
        let rows = st
            .query_map([i64::from(all)], |r| {
                let uuid = |s: Option<String>| s.and_then(|s| uuid::Uuid::parse_str(&s).ok());
                Ok(ConflictItem {
                    record: ConflictRecord {
                        id: uuid(r.get(0)?).unwrap_or_default(),
                        kind: r.get(1)?,
                        variant_id: uuid(r.get(2)?),
                        holder: r.get(4)?,
                        facts: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or(Value::Null),
                        resolutions: serde_json::from_str(&r.get::<_, String>(6)?)
                            .unwrap_or_default(),
                        status: r.get(7)?,
                        resolution: r.get(8)?,
                        note: r.get(9)?,
                        detected_at: r.get(10)?,
                        resolved_at: r.get(11)?,
                    },
                    title: r.get(3)?,
                    source: r.get(12)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Resolves the conflict `id` (its full id or its last 8 or more characters, as
    /// `trestle conflicts` shows it) with `choice`, one of the resolutions it offers, at the hub; the
    /// hub's answer is stored. A bad id or choice, or a conflict resolved already, is refused
    /// before anything is sent; an unreachable hub leaves it open and changes nothing. A
    /// conflict of this till's own audit (source `till`) is resolved here, with no hub.
    pub fn resolve_conflict(
        &mut self,
        id: &str,
        choice: &str,
        note: Option<&str>,
    ) -> Result<ConflictItem> {
        let item = self.find_conflict(id)?;
        let c = item.record.clone();
        let cid = c.id.to_string();
        if c.status != "open" {
            return Err(Error::ConflictResolved {
                id: short(&cid),
                resolution: c.resolution.unwrap_or_default(),
            });
        }
        let choice = choice.trim();
        if !c.resolutions.iter().any(|r| r == choice) {
            return Err(Error::ConflictChoice {
                choice: choice.chars().take(60).collect(),
                offered: c.resolutions.join(", "),
            });
        }
        if note.is_some_and(|n| n.chars().count() > 500) {
            return Err(Error::InvalidInput(
                "the note must be at most 500 characters".into(),
            ));
        }
        if item.source == "till" {
            self.resolve_own(&cid, choice, note)?;
            return self.find_conflict(&cid);
        }
        let (link, creds) = self.credentials()?;
        let hub = HubClient::new(&link.hub_url, Some(creds.device_token))?;
        let body = ResolveConflict {
            resolution: choice.to_string(),
            note: note.map(str::to_string),
        };
        let path = format!("/v1/conflicts/{}/resolve", c.id);
        let rec: ConflictRecord = hub
            .send(&path, ATTEMPTS, |cl, u| cl.post(u).json(&body))?
            .json("the resolved conflict")?;
        let now = i64::try_from(self.now_ms()).unwrap_or(i64::MAX);
        self.db.write(|tx| store(tx, &rec, now))?;
        tracing::info!(conflict = %c.id, resolution = choice, "conflict resolved");
        self.find_conflict(&cid)
    }

    fn find_conflict(&self, id: &str) -> Result<ConflictItem> {
        let id = id.trim().to_ascii_lowercase();
        let not_found = || Error::ConflictNotFound(id.chars().take(40).collect());
        if id.len() < 8 || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(not_found());
        }
        let matches: Vec<String> = {
            let mut st = self
                .db
                .conn()
                .prepare("SELECT id FROM conflicts WHERE id LIKE '%' || ?1 ORDER BY id LIMIT 2")?;
            let rows = st
                .query_map([&id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            rows
        };
        match matches.as_slice() {
            [one] => self
                .conflicts(true)?
                .into_iter()
                .find(|c| c.record.id.to_string() == *one)
                .ok_or_else(not_found),
            [] => Err(not_found()),
            _ => Err(Error::InvalidInput(format!(
                "several conflicts have ids ending with {id}; give more of the id"
            ))),
        }
    }
}

/// A conflict id as `trestle conflicts` shows it: its last 8 characters (the ids are UUIDv7s,
/// whose first characters are the time and so shared by conflicts found together).
pub fn short(id: &str) -> String {
    let n = id.chars().count();
    id.chars().skip(n.saturating_sub(8)).collect()
}

fn store(tx: &rusqlite::Transaction<'_>, c: &ConflictRecord, now: i64) -> Result<()> {
    let resolutions = serde_json::to_string(&c.resolutions).unwrap_or_else(|_| "[]".into());
    let known: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM conflicts WHERE id = ?1",
            [c.id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    if known.is_some() {
        tx.prepare_cached(
            "UPDATE conflicts SET facts = ?2, resolutions = ?3, status = ?4, resolution = ?5,
                 note = ?6, resolved_at = ?7, seen_ms = ?8 WHERE id = ?1",
        )?
        .execute(params![
            c.id.to_string(),
            c.facts.to_string(),
            resolutions,
            c.status,
            c.resolution,
            c.note,
            c.resolved_at,
            now
        ])?;
    } else {
        tx.prepare_cached(
            "INSERT INTO conflicts (id, source, kind, variant_id, holder, facts, resolutions, status,
                 resolution, note, detected_at, resolved_at, seen_ms)
             VALUES (?1, 'hub', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            c.id.to_string(),
            c.kind,
            c.variant_id.map(|v| v.to_string()),
            c.holder,
            c.facts.to_string(),
            resolutions,
            c.status,
            c.resolution,
            c.note,
            c.detected_at,
            c.resolved_at,
            now
        ])?;
    }
    Ok(())
}
