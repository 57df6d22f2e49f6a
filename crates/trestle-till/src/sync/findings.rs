//! The till's own audit findings as conflicts (source `till` in the `conflicts` table): what
//! `Till::audit` finds is stored with its facts and the resolutions offered, listed beside the
//! hub's conflicts by `trestle conflicts`, and resolved on the till itself — no hub knows these
//! facts (its ledger against its own counter changes), so no hub is asked (docs/decisions.md 121).
//!
//! Which findings: a `conflict.audit_mismatch` always; stock findings (`negative_stock`,
//! `made_to_order_short`) only on a till that is not paired — a paired till's counters are
//! checked by the hub at every merge and its conflicts fetched every pass, so storing them here
//! too would show each twice.

use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::replica::Finding;
use crate::till::Till;

/// The kind of finding only the till itself can make.
pub const AUDIT_MISMATCH: &str = "conflict.audit_mismatch";

/// RFC 3339 UTC to the second, as the hub writes its conflicts' times.
pub(crate) fn rfc3339(ms: u64) -> String {
    trestle_core::clock::format_utc(ms).replacen(' ', "T", 1)
}

impl Till {
    /// Stores `findings` of this till's audit as conflicts, in one transaction: a finding that
    /// matches an open conflict of the till (same kind, variant, holder) updates its facts; one
    /// that matches a resolved conflict with the same facts stays decided; any other is a new
    /// open conflict. A conflict no longer found stays as it is (a person closes it). Returns
    /// how many were new.
    pub(crate) fn record_findings(&mut self, findings: &[Finding]) -> Result<usize> {
        let paired = self.hub_link()?.is_some();
        let keep: Vec<&Finding> = findings
            .iter()
            .filter(|f| !paired || f.kind == AUDIT_MISMATCH)
            .collect();
        if keep.is_empty() {
            return Ok(0);
        }
        let now = self.now_ms();
        let ids: Vec<uuid::Uuid> = keep.iter().map(|_| self.new_uuid()).collect();
        self.db.write(|tx| {
            let mut added = 0;
            for (f, id) in keep.iter().zip(&ids) {
                if store_finding(tx, f, *id, now)? {
                    added += 1;
                }
            }
            Ok(added)
        })
    }

    /// Resolves a conflict of this till's own audit: stored at once, no hub involved.
    pub(crate) fn resolve_own(&mut self, id: &str, choice: &str, note: Option<&str>) -> Result<()> {
        let at = rfc3339(self.now_ms());
        let now = i64::try_from(self.now_ms()).unwrap_or(i64::MAX);
        self.db.write(|tx| {
            tx.execute(
                "UPDATE conflicts SET status = 'resolved', resolution = ?2, note = ?3,
                     resolved_at = ?4, seen_ms = ?5
                 WHERE id = ?1 AND source = 'till' AND status = 'open'",
                params![id, choice, note, at, now],
            )?;
            Ok(())
        })?;
        tracing::info!(conflict = id, resolution = choice, "till conflict resolved");
        Ok(())
    }
}

/// The facts of a finding as the JSON object the conflicts table keeps (numbers as numbers).
fn facts(f: &Finding) -> Value {
    let mut m = Map::new();
    for (k, v) in &f.facts {
        let value = v
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(v.clone()));
        m.insert(k.clone(), value);
    }
    Value::Object(m)
}

/// Stores one finding; true when it is a new conflict.
fn store_finding(tx: &Transaction<'_>, f: &Finding, id: uuid::Uuid, now: u64) -> Result<bool> {
    let facts = facts(f).to_string();
    let variant = f.variant.to_string();
    let seen = i64::try_from(now).unwrap_or(i64::MAX);
    let open: Option<String> = tx
        .query_row(
            "SELECT id FROM conflicts WHERE source = 'till' AND status = 'open'
                 AND kind = ?1 AND variant_id = ?2 AND holder = ?3",
            params![f.kind, variant, f.holder],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(open) = open {
        tx.execute(
            "UPDATE conflicts SET facts = ?2, seen_ms = ?3 WHERE id = ?1",
            params![open, facts, seen],
        )?;
        return Ok(false);
    }
    let decided: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM conflicts WHERE source = 'till' AND status = 'resolved'
                 AND kind = ?1 AND variant_id = ?2 AND holder = ?3 AND facts = ?4 LIMIT 1",
            params![f.kind, variant, f.holder, facts],
            |r| r.get(0),
        )
        .optional()?;
    if decided.is_some() {
        return Ok(false);
    }
    let resolutions = serde_json::to_string(&f.resolutions).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO conflicts (id, source, kind, variant_id, holder, facts, resolutions, status,
             detected_at, seen_ms)
         VALUES (?1, 'till', ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8)",
        params![
            id.to_string(),
            f.kind,
            variant,
            f.holder,
            facts,
            resolutions,
            rfc3339(now),
            seen
        ],
    )?;
    tracing::info!(conflict = %id, kind = %f.kind, variant = %variant, "audit finding recorded as a conflict");
    Ok(true)
}
