//! Webhooks on the writer: registrations, the delivery log, leasing the deliveries that are due
//! to the delivery worker, and recording each attempt with its backoff.

use rusqlite::{params, Connection, OptionalExtension};
use trestle_protocol::{CreateWebhook, Delivery, Webhook};
use uuid::Uuid;

use super::{Ctx, State};
use crate::db::{new_id, now_ms, random, rfc3339};
use crate::error::{HubError, Result};

/// Attempts before a delivery is given up as `failed`.
pub const MAX_ATTEMPTS: i64 = 10;
/// How long a leased delivery is not handed out again (the worker's request timeout is shorter).
const LEASE_MS: i64 = 30_000;

/// Topics a webhook may subscribe to.
pub const TOPICS: &[&str] = &[
    "*",
    "order.created",
    "inventory.updated",
    "reservation.created",
    "reservation.ready",
    "reservation.collected",
    "reservation.cancelled",
    "reservation.cancel_requested",
    "reservation.expired",
    "reservation.updated",
    "transfer.created",
    "event.updated",
    "catalog.updated",
    "sale.recorded",
    "sale.refunded",
    "sale.voided",
    "conflict.detected",
    "conflict.resolved",
];

/// A delivery handed to the worker.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: Uuid,
    pub url: String,
    pub secret: String,
    pub topic: String,
    /// The `ShopEvent` JSON, exactly the bytes that are signed and sent.
    pub body: String,
    pub attempts: i64,
}

pub(crate) fn refresh(conn: &Connection, st: &mut State) -> Result<()> {
    let mut s = conn.prepare("SELECT id, topics FROM webhooks WHERE deleted_at IS NULL")?;
    let rows = s.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    st.webhooks.clear();
    for row in rows {
        let (id, topics) = row?;
        let id = Uuid::parse_str(&id).map_err(HubError::internal)?;
        st.webhooks
            .push((id, topics.split_whitespace().map(str::to_string).collect()));
    }
    Ok(())
}

fn dto(r: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        id: Uuid::parse_str(&r.get::<_, String>(0)?).unwrap_or_default(),
        url: r.get(1)?,
        topics: r
            .get::<_, String>(2)?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        created_at: rfc3339(r.get(3)?),
    })
}

/// Checks a webhook registration: an http(s) URL, a secret of 16–256 characters, known topics.
pub fn validate(req: &CreateWebhook) -> Result<()> {
    let url = req.url.trim();
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.len() > 2000 || reqwest::Url::parse(url).is_err() {
        return Err(HubError::invalid(
            "webhook.invalid_url",
            "the webhook URL must be an http:// or https:// address",
        ));
    }
    let n = req.secret.chars().count();
    if !(16..=256).contains(&n) {
        return Err(HubError::invalid(
            "webhook.invalid_secret",
            "the webhook secret must be 16 to 256 characters",
        ));
    }
    if req.topics.is_empty() {
        return Err(HubError::invalid(
            "webhook.no_topics",
            "choose at least one topic, or \"*\"",
        ));
    }
    for t in &req.topics {
        if !TOPICS.contains(&t.as_str()) {
            return Err(HubError::invalid(
                "webhook.unknown_topic",
                format!("{t:?} is not a topic; see the API documentation for the list"),
            ));
        }
    }
    Ok(())
}

impl Ctx<'_> {
    pub fn create_webhook(&mut self, req: CreateWebhook) -> Result<Webhook> {
        validate(&req)?;
        let id = new_id();
        self.tx.execute(
            "INSERT INTO webhooks (id, url, secret, topics, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id.to_string(),
                req.url.trim(),
                req.secret,
                req.topics.join(" "),
                now_ms()
            ],
        )?;
        refresh(self.tx, self.st)?;
        self.webhook(id)
    }

    fn webhook(&mut self, id: Uuid) -> Result<Webhook> {
        self.tx
            .query_row(
                "SELECT id, url, topics, created_at FROM webhooks WHERE id = ?1 AND deleted_at IS NULL",
                [id.to_string()],
                dto,
            )
            .optional()?
            .ok_or_else(|| HubError::not_found("webhook", id))
    }

    pub fn webhooks(&mut self) -> Result<Vec<Webhook>> {
        let mut st = self.tx.prepare_cached(
            "SELECT id, url, topics, created_at FROM webhooks WHERE deleted_at IS NULL ORDER BY created_at",
        )?;
        let rows = st.query_map([], dto)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Stops a webhook: no new deliveries; pending ones are dropped as failed.
    pub fn delete_webhook(&mut self, id: Uuid) -> Result<()> {
        self.webhook(id)?;
        self.tx.execute(
            "UPDATE webhooks SET deleted_at = ?1 WHERE id = ?2",
            params![now_ms(), id.to_string()],
        )?;
        self.tx.execute(
            "UPDATE deliveries SET status = 'failed', last_error = 'webhook deleted', next_attempt_at = NULL
             WHERE webhook_id = ?1 AND status = 'pending'",
            [id.to_string()],
        )?;
        refresh(self.tx, self.st)
    }

    pub fn deliveries(&mut self, webhook: Uuid) -> Result<Vec<Delivery>> {
        self.webhook(webhook)?;
        let mut st = self.tx.prepare_cached(
            "SELECT d.id, d.event_seq, e.topic, d.status, d.attempts, d.last_status_code, d.last_error,
                    d.next_attempt_at, d.delivered_at
             FROM deliveries d JOIN shop_events e ON e.seq = d.event_seq
             WHERE d.webhook_id = ?1 ORDER BY d.event_seq DESC LIMIT 500",
        )?;
        let rows = st.query_map([webhook.to_string()], |r| {
            Ok(Delivery {
                id: Uuid::parse_str(&r.get::<_, String>(0)?).unwrap_or_default(),
                webhook_id: webhook,
                event_seq: r.get(1)?,
                topic: r.get(2)?,
                status: r.get(3)?,
                attempts: r.get(4)?,
                last_status_code: r.get(5)?,
                last_error: r.get(6)?,
                next_attempt_at: r.get::<_, Option<i64>>(7)?.map(rfc3339),
                delivered_at: r.get::<_, Option<i64>>(8)?.map(rfc3339),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Leases up to `limit` due deliveries to the worker, with the time of the next one due.
    pub fn lease_due(&mut self, limit: i64) -> Result<(Vec<DueDelivery>, Option<i64>)> {
        let now = now_ms();
        let due: Vec<DueDelivery> = {
            let mut st = self.tx.prepare_cached(
                "SELECT d.id, w.url, w.secret, e.topic, e.seq, e.at, e.data, d.attempts
                 FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
                 JOIN shop_events e ON e.seq = d.event_seq
                 WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
                 ORDER BY d.next_attempt_at, d.event_seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![now, limit], |r| {
                let data: String = r.get(6)?;
                let event = trestle_protocol::ShopEvent {
                    seq: r.get(4)?,
                    topic: r.get(3)?,
                    at: rfc3339(r.get(5)?),
                    data: serde_json::value::RawValue::from_string(data).unwrap_or_default(),
                };
                Ok(DueDelivery {
                    id: Uuid::parse_str(&r.get::<_, String>(0)?).unwrap_or_default(),
                    url: r.get(1)?,
                    secret: r.get(2)?,
                    topic: r.get(3)?,
                    body: serde_json::to_string(&event).unwrap_or_default(),
                    attempts: r.get(7)?,
                })
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for d in &due {
            self.tx.execute(
                "UPDATE deliveries SET next_attempt_at = ?1 WHERE id = ?2",
                params![now + LEASE_MS, d.id.to_string()],
            )?;
        }
        let next: Option<i64> = self.tx.query_row(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )?;
        Ok((due, next))
    }

    /// Records one attempt: delivered on a 2xx, else retried with exponential backoff and
    /// jitter from `base_ms`, and failed after [`MAX_ATTEMPTS`]. Returns whether it gave up.
    pub fn record_attempt(
        &mut self,
        id: Uuid,
        status: Option<u16>,
        error: Option<String>,
        base_ms: i64,
    ) -> Result<bool> {
        let attempts: i64 = self.tx.query_row(
            "SELECT attempts FROM deliveries WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        let attempts = attempts + 1;
        let now = now_ms();
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let code = status.map(i64::from);
        if ok {
            self.tx.execute(
                "UPDATE deliveries SET status = 'delivered', attempts = ?1, last_status_code = ?2,
                     last_error = NULL, delivered_at = ?3, next_attempt_at = NULL WHERE id = ?4",
                params![attempts, code, now, id.to_string()],
            )?;
            return Ok(false);
        }
        let error = error.or_else(|| status.map(|s| format!("the endpoint answered {s}")));
        if attempts >= MAX_ATTEMPTS {
            self.tx.execute(
                "UPDATE deliveries SET status = 'failed', attempts = ?1, last_status_code = ?2,
                     last_error = ?3, next_attempt_at = NULL WHERE id = ?4",
                params![attempts, code, error, id.to_string()],
            )?;
            return Ok(true);
        }
        let shift = u32::try_from(attempts - 1).unwrap_or(0).min(20);
        let backoff = base_ms.saturating_mul(1 << shift);
        let jitter = i64::from(u16::from_le_bytes(random::<2>())) % (backoff / 4 + 1);
        self.tx.execute(
            "UPDATE deliveries SET attempts = ?1, last_status_code = ?2, last_error = ?3,
                 next_attempt_at = ?4 WHERE id = ?5",
            params![
                attempts,
                code,
                error,
                now + backoff + jitter,
                id.to_string()
            ],
        )?;
        Ok(false)
    }
}
