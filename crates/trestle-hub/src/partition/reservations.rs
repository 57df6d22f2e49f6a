//! Pickup reservations on the writer: listing and finding them, and the two status changes the
//! online side makes — cancel and collected. Only the current holder changes a reservation: when
//! a till holds it, a cancellation becomes a request in the till's feed, decided by the till.

use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};
use trestle_core::code::ReservationCode;
use trestle_core::reservation::Query;
use trestle_protocol::{HandoverRecord, LineRequest, Reservation, ReservationLine};
use trestle_replica::ids::{CollectId, ReservationId};
use trestle_replica::{Holder, ReservationView};
use uuid::Uuid;

use super::checkout::typed_lines;
use super::{store, Ctx};
use crate::db::{new_id, rfc3339};
use crate::error::{HubError, Result};

/// What a reservation list is filtered by.
#[derive(Debug, Default, Clone)]
pub struct ReservationFilter {
    pub event: Option<Uuid>,
    pub status: Option<String>,
    /// A pickup code, or a fragment of the customer's name, email or phone.
    pub q: Option<String>,
}

impl Ctx<'_> {
    fn dto(&self, r: &ReservationView) -> Result<Reservation> {
        let meta: Option<(Option<String>, i64)> = self
            .tx
            .query_row(
                "SELECT order_id, cancel_requested FROM reservation_meta WHERE id = ?1",
                [r.id.0.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let (order, cancel) = meta.unwrap_or((None, 0));
        let code = ReservationCode::parse(&r.code).ok();
        Ok(Reservation {
            id: r.id.0,
            code: code.as_ref().map_or(r.code.clone(), |c| c.display()),
            qr: code.as_ref().map_or(String::new(), |c| c.qr_payload()),
            customer: r.customer.clone(),
            event_id: r.event.map(|e| e.0),
            holder: r.holder.to_string(),
            status: r.status.clone(),
            payment_state: r.payment_state.clone(),
            order_id: order.and_then(|o| Uuid::parse_str(&o).ok()),
            lines: r
                .lines
                .iter()
                .map(|(v, qty, done)| ReservationLine {
                    variant_id: v.0,
                    title: self
                        .st
                        .catalog
                        .get(v)
                        .map(|f| f.title.clone())
                        .unwrap_or_default(),
                    qty: *qty,
                    collected: *done,
                })
                .collect(),
            cancel_requested: cancel != 0,
            expires_at: r
                .details
                .expires_at
                .map(|ms| rfc3339(i64::try_from(ms).unwrap_or(i64::MAX))),
            paid_minor: r.details.paid_minor,
            handovers: r
                .handovers
                .iter()
                .map(|h| HandoverRecord {
                    id: h.id.0,
                    by: h.by.to_string(),
                    lines: h
                        .lines
                        .iter()
                        .map(|(v, n)| LineRequest {
                            variant_id: v.0,
                            qty: u32::try_from(*n).unwrap_or(0),
                        })
                        .collect(),
                    state: h.state.clone(),
                    receipt: Some(h.receipt.clone()).filter(|s| !s.is_empty()),
                })
                .collect(),
        })
    }

    pub(crate) fn reservation_json(&self, id: ReservationId) -> Result<Value> {
        let r = self.view(id.0)?;
        Ok(serde_json::to_value(self.dto(&r)?)?)
    }

    fn view(&self, id: Uuid) -> Result<ReservationView> {
        self.st
            .replica
            .reservation(ReservationId(id))?
            .ok_or_else(|| HubError::not_found("reservation", id))
    }

    pub fn reservations(&mut self, f: &ReservationFilter) -> Result<Vec<Reservation>> {
        let query = f.q.as_deref().map(Query::parse).transpose()?;
        let mut out = Vec::new();
        for r in self.st.replica.reservations()? {
            if f.event.is_some_and(|e| r.event.map(|x| x.0) != Some(e)) {
                continue;
            }
            if f.status.as_deref().is_some_and(|s| s != r.status) {
                continue;
            }
            if let Some(q) = &query {
                let (email, phone) = self.contact(&r)?;
                if !q.matches(&r.code, &r.customer, email.as_deref(), phone.as_deref()) {
                    continue;
                }
            }
            out.push(self.dto(&r)?);
        }
        Ok(out)
    }

    /// The customer's email and phone: from the document, or (reservations made before it
    /// carried them) the hub's own record.
    fn contact(&self, r: &ReservationView) -> Result<(Option<String>, Option<String>)> {
        if r.details.email.is_some() || r.details.phone.is_some() {
            return Ok((r.details.email.clone(), r.details.phone.clone()));
        }
        let row: Option<(Option<String>, Option<String>)> = self
            .tx
            .query_row(
                "SELECT email, phone FROM reservation_meta WHERE id = ?1",
                [r.id.0.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        Ok(row.unwrap_or((None, None)))
    }

    pub fn reservation(&mut self, id: Uuid) -> Result<Reservation> {
        let r = self.view(id)?;
        self.dto(&r)
    }

    /// Cancels a reservation the hub holds (its units back to `free`), or asks the till that
    /// holds it to (answered with `cancel_requested: true`).
    pub fn cancel_reservation(&mut self, id: Uuid) -> Result<Reservation> {
        let r = self.view(id)?;
        if matches!(r.status.as_str(), "collected" | "cancelled" | "expired") {
            return Err(HubError::Conflict {
                code: "reservation.closed",
                message: format!("the reservation is already {}", r.status),
                details: None,
            });
        }
        // Part of it left with the customer: nothing is cancelled silently; a person decides
        // (the race's refund: the rest is cancelled; keep: the rest stays to collect).
        let partly = r.status == "partially_collected";
        match r.holder {
            Holder::Hub if !partly => self.cancel_at_hub(&r)?,
            holder => {
                self.tx.execute(
                    "INSERT INTO reservation_meta (id, cancel_requested) VALUES (?1, 1)
                     ON CONFLICT (id) DO UPDATE SET cancel_requested = 1",
                    [id.to_string()],
                )?;
                if partly {
                    let what = "cancelled online after part of it was handed over";
                    self.collect_cancel_race(&r, what)?;
                }
                if let Holder::Till(t) = holder {
                    let body = json!({ "reservation_id": id, "code": r.code });
                    store::feed(self.tx, t.0, "reservation.cancel_requested", &body)?;
                }
                let data = self.reservation_json(r.id)?;
                store::publish(
                    self.tx,
                    self.st,
                    self.published,
                    "reservation.cancel_requested",
                    data,
                )?;
            }
        }
        self.reservation(id)
    }

    /// Marks a reservation the hub holds packed and ready to hand over (at the maker's door),
    /// published as `reservation.ready`. Marking a ready one again changes nothing; one a till
    /// holds is marked ready there.
    pub fn ready_reservation(&mut self, id: Uuid) -> Result<Reservation> {
        let r = self.view(id)?;
        if r.status == "ready" {
            return self.reservation(id);
        }
        held_by_hub(&r, "marked ready")?;
        self.st.replica.mark_ready(r.id)?;
        let data = self.reservation_json(r.id)?;
        store::publish(self.tx, self.st, self.published, "reservation.ready", data)?;
        self.reservation(id)
    }

    /// Records a hand-over done by the hub itself (a pickup at the maker's door): some lines or
    /// everything left. A reservation a till holds is the till's to hand over.
    pub fn collect_reservation(
        &mut self,
        id: Uuid,
        lines: Option<Vec<LineRequest>>,
    ) -> Result<Reservation> {
        let r = self.view(id)?;
        held_by_hub(&r, "handed over")?;
        let typed = match lines {
            Some(l) => typed_lines(&l)?,
            None => {
                let mut all = Vec::new();
                for (v, qty, done) in &r.lines {
                    if qty - done > 0 {
                        let n = u32::try_from(qty - done).map_err(HubError::internal)?;
                        all.push((*v, trestle_core::catalog::Qty::new(n)?));
                    }
                }
                if all.is_empty() {
                    return Err(HubError::Conflict {
                        code: "reservation.closed",
                        message: "everything on the reservation has been collected".into(),
                        details: None,
                    });
                }
                all
            }
        };
        self.st.replica.collect(CollectId(new_id()), r.id, &typed)?;
        self.st.touched.extend(typed.iter().map(|(v, _)| *v));
        let data = self.reservation_json(r.id)?;
        store::publish(
            self.tx,
            self.st,
            self.published,
            "reservation.collected",
            data,
        )?;
        self.tx.execute(
            "UPDATE reservation_meta SET cancel_requested = 0 WHERE id = ?1",
            params![id.to_string()],
        )?;
        self.reservation(id)
    }
}

/// Only the holder changes a reservation: one a till holds is `done` there (409 `not_yours`).
fn held_by_hub(r: &ReservationView, done: &str) -> Result<()> {
    match r.holder {
        Holder::Hub => Ok(()),
        Holder::Till(_) => Err(HubError::Conflict {
            code: "reservation.not_yours",
            message: format!(
                "the reservation is with {} at the event; it is {done} there",
                r.holder
            ),
            details: None,
        }),
    }
}

impl Ctx<'_> {
    /// Records that a reservation was cancelled online while (part of) it was handed over at the
    /// stall: `conflict.collect_cancel_race`, resolved by `refund` or `keep`.
    pub(crate) fn collect_cancel_race(&mut self, r: &ReservationView, what: &str) -> Result<()> {
        let collected: Vec<Value> = r
            .lines
            .iter()
            .map(|(v, qty, done)| json!({"variant_id": v.0, "qty": qty, "collected": done}))
            .collect();
        self.record_conflict(super::sync::NewConflict {
            kind: "conflict.collect_cancel_race".into(),
            variant: None,
            holder: Some(r.holder.to_string()),
            facts: json!({
                "reservation_id": r.id.0, "code": r.code, "customer": r.customer,
                "status_at_the_till": r.status, "lines": collected,
                "what_happened": what,
            }),
            resolutions: vec!["refund".into(), "keep".into()],
            fingerprint: format!("collect_cancel_race:{}", r.id),
        })?;
        Ok(())
    }

    /// Cancels a reservation the hub holds: what is still held goes back to `free`, published
    /// as `reservation.cancelled`.
    fn cancel_at_hub(&mut self, r: &ReservationView) -> Result<()> {
        self.st.replica.cancel(r.id)?;
        self.st.touched.extend(r.lines.iter().map(|(v, _, _)| *v));
        let data = self.reservation_json(r.id)?;
        store::publish(
            self.tx,
            self.st,
            self.published,
            "reservation.cancelled",
            data,
        )
        .map(drop)
    }

    /// Carries out a collect/cancel race's resolution. `refund` of a reservation still open
    /// (partly collected): what is left is cancelled — by the hub when it holds it, else asked of
    /// the till that does (a request it carries out, `rest: true`). `keep`: the rest stays to
    /// collect, and the cancellation request is withdrawn.
    pub(crate) fn settle_collect_cancel_race(
        &mut self,
        facts: &Value,
        resolution: &str,
    ) -> Result<()> {
        let Some(id) = facts["reservation_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            return Ok(());
        };
        let Ok(r) = self.view(id) else {
            return Ok(());
        };
        let open = matches!(r.status.as_str(), "held" | "ready" | "partially_collected");
        if resolution != "refund" || !open {
            self.tx.execute(
                "UPDATE reservation_meta SET cancel_requested = 0 WHERE id = ?1",
                [id.to_string()],
            )?;
            return Ok(());
        }
        match r.holder {
            Holder::Hub => {
                self.tx.execute(
                    "UPDATE reservation_meta SET cancel_requested = 0 WHERE id = ?1",
                    [id.to_string()],
                )?;
                self.cancel_at_hub(&r)?;
            }
            Holder::Till(t) => {
                let body = json!({ "reservation_id": id, "code": r.code, "rest": true });
                store::feed(self.tx, t.0, "reservation.cancel_requested", &body)?;
            }
        }
        Ok(())
    }
}
