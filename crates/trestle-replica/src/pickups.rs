//! Pickup reservations beyond the basic escrow ops: their details (contact, expiry, prices,
//! what was prepaid), the record of every hand-over, a hand-over made by a till that does not
//! hold the reservation (from its own `free`, recorded as *pending*), the holder taking such
//! hand-overs in (or refusing one that would hand the goods over twice), and expiry.
//!
//! Several tills at one event all see every reservation (it is in the shared document); one of
//! them holds its units. Whoever the customer walks up to can hand it over: the holder from its
//! `held`, any other till from its own `free`. Only the holder settles: it releases its held
//! units for a pending hand-over it can still honour, and marks one it cannot (already handed
//! over, cancelled or expired meanwhile) `refused` — a double hand-over that a person decides.

use std::collections::BTreeMap;

use automerge::{transaction::Transactable, AutoCommit, ChangeHash, ObjId as ExId, ObjType};
use trestle_core::catalog::Qty;
use trestle_core::ids::VariantId;

use crate::error::{Error, Result};
use crate::ids::{Cause, CollectId, Holder, ReservationId};
use crate::ops::{tally, Plan};
use crate::replica::{parse_variant, ShopReplica};
use crate::schema::{keys, read_int, read_map, read_str, K_FREE, K_HELD};

/// What a reservation carries beside its lines.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ReservationDetails {
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Unix ms after which the holder releases it (`None`: kept until collected or cancelled).
    pub expires_at: Option<u64>,
    /// Unit price per variant, minor units, as agreed when it was made.
    pub prices: BTreeMap<VariantId, i64>,
    /// What the customer paid before the hand-over (a deposit, or everything), minor units.
    pub paid_minor: i64,
    /// When it was made (Unix ms, the maker's hybrid clock).
    pub created_at: u64,
}

impl ReservationDetails {
    pub(crate) fn write(&self, doc: &mut AutoCommit, obj: &ExId) -> Result<()> {
        doc.put(obj, "email", self.email.clone().unwrap_or_default())?;
        doc.put(obj, "phone", self.phone.clone().unwrap_or_default())?;
        doc.put(obj, "expires_at", to_i64(self.expires_at.unwrap_or(0)))?;
        doc.put(obj, "paid_minor", self.paid_minor)?;
        doc.put(obj, "applied_minor", 0_i64)?;
        doc.put(obj, "created_at", to_i64(self.created_at))?;
        let p = doc.put_object(obj, "prices", ObjType::Map)?;
        for (v, price) in &self.prices {
            doc.put(&p, v.to_string(), *price)?;
        }
        // Created with the reservation, so tills adding hand-overs concurrently add keys to the
        // same map instead of racing to create it.
        doc.put_object(obj, "handovers", ObjType::Map)?;
        Ok(())
    }

    pub(crate) fn read(doc: &AutoCommit, obj: &ExId) -> Result<ReservationDetails> {
        let opt = |k: &str| -> Result<Option<String>> {
            Ok(read_str(doc, obj, k, None)?.filter(|s| !s.is_empty()))
        };
        let mut prices = BTreeMap::new();
        if let Some(p) = read_map(doc, obj, "prices", None)? {
            for k in keys(doc, &p, None) {
                prices.insert(
                    parse_variant(&k)?,
                    read_int(doc, &p, &k, None)?.unwrap_or(0),
                );
            }
        }
        let ms = |k: &str| -> Result<u64> {
            Ok(u64::try_from(read_int(doc, obj, k, None)?.unwrap_or(0)).unwrap_or(0))
        };
        let expires = ms("expires_at")?;
        Ok(ReservationDetails {
            email: opt("email")?,
            phone: opt("phone")?,
            expires_at: (expires > 0).then_some(expires),
            prices,
            paid_minor: read_int(doc, obj, "paid_minor", None)?.unwrap_or(0),
            created_at: ms("created_at")?,
        })
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One hand-over of (part of) a reservation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Handover {
    pub id: CollectId,
    /// The till (or hub) that handed the goods over.
    pub by: Holder,
    pub lines: Vec<(VariantId, i64)>,
    /// `settled` (counted on the reservation), `pending` (made by a till that does not hold it,
    /// not yet taken in by the holder) or `refused` (the holder could not take it in: the goods
    /// went out twice, or after a cancellation).
    pub state: String,
    /// The receipt of the sale that took the payment, if one did.
    pub receipt: String,
    /// Prepaid credit this hand-over used, minor units.
    pub credit_minor: i64,
}

/// Writes a hand-over record under the reservation's `handovers` map.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_handover(
    doc: &mut AutoCommit,
    reservation: &ExId,
    id: CollectId,
    by: Holder,
    lines: &BTreeMap<VariantId, i64>,
    state: &str,
    receipt: &str,
    credit: i64,
) -> Result<()> {
    let map = match read_map(doc, reservation, "handovers", None)? {
        Some(m) => m,
        None => doc.put_object(reservation, "handovers", ObjType::Map)?,
    };
    let h = doc.put_object(&map, id.to_string(), ObjType::Map)?;
    doc.put(&h, "by", by.to_string())?;
    doc.put(&h, "state", state)?;
    doc.put(&h, "receipt", receipt)?;
    doc.put(&h, "credit_minor", credit)?;
    let l = doc.put_object(&h, "lines", ObjType::Map)?;
    for (v, n) in lines {
        doc.put(&l, v.to_string(), *n)?;
    }
    Ok(())
}

pub(crate) fn read_handovers(doc: &AutoCommit, reservation: &ExId) -> Result<Vec<Handover>> {
    let Some(map) = read_map(doc, reservation, "handovers", None)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for k in keys(doc, &map, None) {
        let Some(h) = read_map(doc, &map, &k, None)? else {
            continue;
        };
        let id = uuid::Uuid::parse_str(&k)
            .map(CollectId)
            .map_err(|_| Error::Malformed {
                path: format!("handover {k:?}"),
                reason: "not an id",
            })?;
        let mut lines = Vec::new();
        if let Some(l) = read_map(doc, &h, "lines", None)? {
            for v in keys(doc, &l, None) {
                lines.push((
                    parse_variant(&v)?,
                    read_int(doc, &l, &v, None)?.unwrap_or(0),
                ));
            }
        }
        out.push(Handover {
            id,
            by: Holder::parse(&read_str(doc, &h, "by", None)?.unwrap_or_default())?,
            lines,
            state: read_str(doc, &h, "state", None)?.unwrap_or_default(),
            receipt: read_str(doc, &h, "receipt", None)?.unwrap_or_default(),
            credit_minor: read_int(doc, &h, "credit_minor", None)?.unwrap_or(0),
        });
    }
    Ok(out)
}

/// What the holder did with another till's hand-over.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Settled {
    pub reservation: ReservationId,
    pub handover: CollectId,
    pub by: Holder,
    /// False: refused (the goods went out twice, or after the reservation closed).
    pub accepted: bool,
    /// The reservation's status when the hand-over reached the holder.
    pub status_before: String,
}

impl ShopReplica {
    /// A hand-over by a till that does not hold the reservation: the units come from this
    /// till's own `free` (checked for every policy), and the hand-over is recorded as `pending`
    /// for the holder to take in. Refused when, as far as this till can see, the reservation is
    /// closed or has less left than asked. One change `collect:<id>`.
    pub fn collect_for_holder(
        &mut self,
        id: CollectId,
        reservation: ReservationId,
        lines: &[(VariantId, Qty)],
        receipt: &str,
        credit: i64,
    ) -> Result<ChangeHash> {
        let key = reservation.to_string();
        let obj = read_map(&self.doc, &self.roots.reservations, &key, None)?
            .ok_or_else(|| Error::UnknownReservation { id: key.clone() })?;
        let status = read_str(&self.doc, &obj, "status", None)?.unwrap_or_default();
        if matches!(status.as_str(), "collected" | "cancelled" | "expired") {
            return Err(Error::ReservationClosed { id: key, status });
        }
        let view = self
            .reservation(reservation)?
            .ok_or_else(|| Error::UnknownReservation { id: key.clone() })?;
        let wanted = tally(lines)?;
        let mut plan = Plan::new();
        for (v, n) in &wanted {
            let remaining = view.remaining(*v);
            if remaining < *n {
                return Err(Error::CollectTooMany {
                    id: key,
                    variant: *v,
                    wanted: *n,
                    remaining,
                });
            }
            self.plan_take(&mut plan, *v, K_FREE, *n, true)?;
        }
        let me = self.holder;
        self.write(Cause::Collect(id), |doc| {
            Self::apply(doc, &plan)?;
            record_handover(doc, &obj, id, me, &wanted, "pending", receipt, credit)
        })
    }

    /// The holder takes in the pending hand-overs other tills made of its reservations: for each
    /// it can honour, its own held units go back to `free` (the customer got the other till's)
    /// and the lines count as collected; one it cannot is marked `refused`. One change
    /// `settle:<hand-over>` each.
    pub fn settle_handovers(&mut self) -> Result<Vec<Settled>> {
        let me = self.holder;
        let mut out = Vec::new();
        for r in self.reservations()? {
            if r.holder != me {
                continue;
            }
            for h in r
                .handovers
                .iter()
                .filter(|h| h.state == "pending" && h.by != me)
            {
                out.push(self.settle_one(r.id, h)?);
            }
        }
        Ok(out)
    }

    fn settle_one(&mut self, reservation: ReservationId, h: &Handover) -> Result<Settled> {
        let key = reservation.to_string();
        let obj = read_map(&self.doc, &self.roots.reservations, &key, None)?
            .ok_or_else(|| Error::UnknownReservation { id: key.clone() })?;
        let view = self
            .reservation(reservation)?
            .ok_or_else(|| Error::UnknownReservation { id: key.clone() })?;
        let status_before = view.status.clone();
        let open = matches!(
            status_before.as_str(),
            "held" | "ready" | "partially_collected"
        );
        let fits = h
            .lines
            .iter()
            .all(|(v, n)| view.qty(*v) - view.collected(*v) >= *n);
        let accepted = open && fits;
        let mut plan = Plan::new();
        let mut after: Vec<(VariantId, i64, i64)> = view.lines.clone();
        if accepted {
            for (v, n) in &h.lines {
                if let Some(cell) = self.plan_take(&mut plan, *v, K_HELD, *n, true)? {
                    plan.push((cell, K_FREE, *n));
                }
                if let Some(line) = after.iter_mut().find(|(lv, _, _)| lv == v) {
                    line.2 += n;
                }
            }
        }
        let handovers = read_map(&self.doc, &obj, "handovers", None)?;
        let hobj = match &handovers {
            Some(m) => read_map(&self.doc, m, &h.id.to_string(), None)?,
            None => None,
        }
        .ok_or_else(|| Error::Malformed {
            path: format!("handover {}", h.id),
            reason: "missing",
        })?;
        let credit = h.credit_minor;
        self.write(Cause::Settle(h.id), |doc| {
            Self::apply(doc, &plan)?;
            if !accepted {
                doc.put(&hobj, "state", "refused")?;
                return Ok(());
            }
            doc.put(&hobj, "state", "settled")?;
            let c = match read_map(doc, &obj, "collected", None)? {
                Some(c) => c,
                None => doc.put_object(&obj, "collected", ObjType::Map)?,
            };
            for (v, _, done) in &after {
                doc.put(&c, v.to_string(), *done)?;
            }
            let all = after.iter().all(|(_, q, d)| d >= q);
            doc.put(
                &obj,
                "status",
                if all {
                    "collected"
                } else {
                    "partially_collected"
                },
            )?;
            if credit > 0 {
                let applied = read_int(doc, &obj, "applied_minor", None)?.unwrap_or(0);
                doc.put(&obj, "applied_minor", applied + credit)?;
            }
            Ok(())
        })?;
        Ok(Settled {
            reservation,
            handover: h.id,
            by: h.by,
            accepted,
            status_before,
        })
    }

    /// Marks a reservation this replica holds packed and ready to hand over (`held → ready`;
    /// see `ReservationStatus::after_ready`). No stock moves: its units are already in this
    /// holder's `held`. One change `ready:<id>`.
    pub fn mark_ready(&mut self, reservation: ReservationId) -> Result<ChangeHash> {
        let (obj, _) = self.open_reservation(reservation)?;
        let status = read_str(&self.doc, &obj, "status", None)?.unwrap_or_default();
        let next = trestle_core::reservation::ReservationStatus::parse(&status)
            .and_then(|s| s.after_ready())
            .map_err(|e| Error::NotReadyable {
                id: reservation.to_string(),
                reason: e.to_string(),
            })?;
        self.write(Cause::Ready(reservation), |doc| {
            doc.put(&obj, "status", next.as_str())?;
            Ok(())
        })
    }

    /// Releases a hold whose expiry passed: what is still held goes back to `free` and the
    /// status is `expired`. Holder only; one change `expire:<id>`. (Whether it is due is the
    /// caller's decision, by `trestle_core::reservation::expiry_clock`.)
    pub fn expire(&mut self, reservation: ReservationId) -> Result<ChangeHash> {
        self.close(reservation, "expired", Cause::Expire(reservation))
    }
}

/// Units of a variant in the pending hand-overs among `handovers`.
pub(crate) fn pending_units(handovers: &[Handover], v: VariantId) -> i64 {
    handovers
        .iter()
        .filter(|h| h.state == "pending")
        .flat_map(|h| &h.lines)
        .filter(|l| l.0 == v)
        .map(|l| l.1)
        .sum()
}

impl crate::ReservationView {
    /// Reserved units of a variant.
    pub fn qty(&self, v: VariantId) -> i64 {
        self.lines.iter().filter(|l| l.0 == v).map(|l| l.1).sum()
    }

    /// Units of a variant the holder counts as collected.
    pub fn collected(&self, v: VariantId) -> i64 {
        self.lines.iter().filter(|l| l.0 == v).map(|l| l.2).sum()
    }

    /// Units of a variant in pending hand-overs (made by other tills, not yet taken in).
    pub fn pending(&self, v: VariantId) -> i64 {
        pending_units(&self.handovers, v)
    }

    /// Units of a variant still to hand over, as far as this replica knows.
    pub fn remaining(&self, v: VariantId) -> i64 {
        self.qty(v) - self.collected(v) - self.pending(v)
    }

    /// Prepaid credit not yet used by a hand-over (settled or pending), minor units.
    pub fn credit_left(&self) -> i64 {
        let used: i64 = self
            .handovers
            .iter()
            .filter(|h| h.state != "refused")
            .map(|h| h.credit_minor)
            .sum();
        (self.details.paid_minor - used).max(0)
    }

    /// The hand-overs that gave out more than was reserved: refused ones, and pending ones that
    /// together with what was collected exceed a line. Each is a double hand-over for a person.
    pub fn double_handovers(&self) -> Vec<&Handover> {
        let over = self
            .lines
            .iter()
            .any(|(v, qty, done)| done + self.pending(*v) > *qty);
        let closed = matches!(self.status.as_str(), "cancelled" | "expired");
        self.handovers
            .iter()
            .filter(|h| h.state == "refused" || (h.state == "pending" && (over || closed)))
            .collect()
    }
}
