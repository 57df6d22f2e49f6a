//! The typed stock operations a holder performs on its own counters — sell, refund, void,
//! reserve, collect, cancel, transfer, count — each ONE Automerge change whose message names its
//! cause. Every check happens before anything is written, so a refused operation writes nothing.
//!
//! The escrow rule: a holder only ever decrements its own counters, after checking them. Others
//! only increment them, so the local value is a lower bound of the merged value and a `deny`
//! counter can never go below zero however replicas merge.

use std::collections::BTreeMap;

use automerge::{transaction::Transactable, ChangeHash, ObjId as ExId, ObjType};
use trestle_core::catalog::{Policy, Qty};
use trestle_core::ids::{RefundId, SaleId, VariantId, VoidId};

use crate::error::{Error, Result};
use crate::ids::{Cause, CollectId, CountId, Holder, MarketEventId, ReservationId, TransferId};
use crate::replica::ShopReplica;
use crate::schema::{keys, read_int, read_map, read_str, K_FREE, K_HELD};

/// How a reservation is paid.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PaymentState {
    Paid,
    Deposit,
    PayOnPickup,
}

impl PaymentState {
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentState::Paid => "paid",
            PaymentState::Deposit => "deposit",
            PaymentState::PayOnPickup => "pay_on_pickup",
        }
    }
}

/// A new pickup reservation held by this replica's holder.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NewReservation {
    pub id: ReservationId,
    /// The short human code (also shown as a QR code).
    pub code: String,
    pub customer: String,
    pub event: Option<MarketEventId>,
    pub payment: PaymentState,
    pub lines: Vec<(VariantId, Qty)>,
    /// Contact details, expiry, prices and what was paid already.
    pub details: crate::pickups::ReservationDetails,
}

/// A reservation's lines: per variant, (reserved, collected).
pub(crate) type Lines = BTreeMap<VariantId, (i64, i64)>;

/// One counter increment planned by a check, written only when every check passed.
pub(crate) type Plan = Vec<(ExId, &'static str, i64)>;

/// Sums the lines per variant (the same variant on two lines counts once, with both quantities).
pub(crate) fn tally(lines: &[(VariantId, Qty)]) -> Result<BTreeMap<VariantId, i64>> {
    if lines.is_empty() {
        return Err(Error::NoLines);
    }
    let mut out = BTreeMap::new();
    for (v, q) in lines {
        *out.entry(*v).or_insert(0) += i64::from(q.get());
    }
    Ok(out)
}

impl ShopReplica {
    pub(crate) fn short(
        &self,
        variant: VariantId,
        holder: Holder,
        wanted: i64,
        available: i64,
    ) -> Error {
        Error::Short {
            variant,
            title: self.title(variant),
            holder,
            wanted,
            available,
        }
    }

    /// Checks that this holder's `field` of `variant` has `n` (for `deny` variants, or always
    /// when `always` is set) and plans `field -= n`. Untracked variants plan nothing.
    pub(crate) fn plan_take(
        &mut self,
        plan: &mut Plan,
        variant: VariantId,
        field: &'static str,
        n: i64,
        always: bool,
    ) -> Result<Option<ExId>> {
        let Some(policy) = self.rule(variant)? else {
            return Ok(None);
        };
        let me = self.holder;
        let cell = self.cell(variant, me)?;
        if always || policy == Policy::Deny {
            let have = self.counter(&cell, field)?;
            if have < n {
                return Err(self.short(variant, me, n, have));
            }
        }
        plan.push((cell.clone(), field, -n));
        Ok(Some(cell))
    }

    pub(crate) fn apply(doc: &mut automerge::AutoCommit, plan: &Plan) -> Result<()> {
        for (cell, field, by) in plan {
            doc.increment(cell, *field, *by)?;
        }
        Ok(())
    }

    /// A sale: this holder's `free` of each tracked variant goes down; `deny` variants are
    /// checked first (`Short`). One change `sale:<id>` for the whole sale.
    pub fn sell(&mut self, sale: SaleId, lines: &[(VariantId, Qty)]) -> Result<ChangeHash> {
        let mut plan = Plan::new();
        for (v, n) in tally(lines)? {
            self.plan_take(&mut plan, v, K_FREE, n, false)?;
        }
        self.write(Cause::Sale(sale), |doc| Self::apply(doc, &plan))
    }

    /// A sale a manager approved beyond this holder's `free` of `deny` variants: taken without
    /// the check, so the counter may go below zero — which [`crate::invariants::check_stock`]
    /// and every merge report as a conflict for a person to resolve. One change `sale:<id>`.
    pub fn sell_beyond(&mut self, sale: SaleId, lines: &[(VariantId, Qty)]) -> Result<ChangeHash> {
        let mut plan = Plan::new();
        for (v, n) in tally(lines)? {
            if self.rule(v)?.is_some() {
                let cell = self.cell(v, self.holder)?;
                plan.push((cell, K_FREE, -n));
            }
        }
        self.write(Cause::Sale(sale), |doc| Self::apply(doc, &plan))
    }

    /// Units of a refunded sale put back on the shelf: `free` goes up. `refund:<id>`.
    pub fn refund(&mut self, refund: RefundId, lines: &[(VariantId, Qty)]) -> Result<ChangeHash> {
        let plan = self.plan_give(lines)?;
        self.write(Cause::Refund(refund), |doc| Self::apply(doc, &plan))
    }

    /// A voided sale's units back on the shelf: `free` goes up. `void:<id>`.
    pub fn void(&mut self, void: VoidId, lines: &[(VariantId, Qty)]) -> Result<ChangeHash> {
        let plan = self.plan_give(lines)?;
        self.write(Cause::Void(void), |doc| Self::apply(doc, &plan))
    }

    fn plan_give(&mut self, lines: &[(VariantId, Qty)]) -> Result<Plan> {
        let mut plan = Plan::new();
        for (v, n) in tally(lines)? {
            if self.rule(v)?.is_some() {
                let cell = self.cell(v, self.holder)?;
                plan.push((cell, K_FREE, n));
            }
        }
        Ok(plan)
    }

    /// Sets units aside for a pickup: `free → held` on this holder, checked for every policy (a
    /// reservation promises real units). `reserve:<id>`.
    pub fn reserve(&mut self, r: &NewReservation) -> Result<ChangeHash> {
        let key = r.id.to_string();
        if read_map(&self.doc, &self.roots.reservations, &key, None)?.is_some() {
            return Err(Error::AlreadyExists {
                what: "reservation",
                id: key,
            });
        }
        let lines = tally(&r.lines)?;
        let mut plan = Plan::new();
        for (v, n) in &lines {
            if let Some(cell) = self.plan_take(&mut plan, *v, K_FREE, *n, true)? {
                plan.push((cell, K_HELD, *n));
            }
        }
        let (reservations, holder) = (self.roots.reservations.clone(), self.holder);
        self.write(Cause::Reserve(r.id), |doc| {
            Self::apply(doc, &plan)?;
            let obj = doc.put_object(&reservations, key.as_str(), ObjType::Map)?;
            doc.put(&obj, "code", r.code.as_str())?;
            doc.put(&obj, "customer", r.customer.as_str())?;
            let event = r.event.map(|e| e.to_string()).unwrap_or_default();
            doc.put(&obj, "event", event)?;
            doc.put(&obj, "holder", holder.to_string())?;
            doc.put(&obj, "status", "held")?;
            doc.put(&obj, "payment_state", r.payment.as_str())?;
            let l = doc.put_object(&obj, "lines", ObjType::Map)?;
            let c = doc.put_object(&obj, "collected", ObjType::Map)?;
            for (v, n) in &lines {
                doc.put(&l, v.to_string(), *n)?;
                doc.put(&c, v.to_string(), 0_i64)?;
            }
            r.details.write(doc, &obj)?;
            Ok(())
        })
    }

    /// An open reservation of this holder: its map and, per variant, (reserved, collected).
    pub(crate) fn open_reservation(&self, id: ReservationId) -> Result<(ExId, Lines)> {
        let key = id.to_string();
        let obj = read_map(&self.doc, &self.roots.reservations, &key, None)?
            .ok_or_else(|| Error::UnknownReservation { id: key.clone() })?;
        let holder = read_str(&self.doc, &obj, "holder", None)?.unwrap_or_default();
        if holder != self.holder.to_string() {
            return Err(Error::NotYourReservation { id: key, holder });
        }
        let status = read_str(&self.doc, &obj, "status", None)?.unwrap_or_default();
        if matches!(status.as_str(), "collected" | "cancelled" | "expired") {
            return Err(Error::ReservationClosed { id: key, status });
        }
        let lines = read_map(&self.doc, &obj, "lines", None)?.unwrap_or(obj.clone());
        let collected = read_map(&self.doc, &obj, "collected", None)?;
        let mut out = BTreeMap::new();
        for k in keys(&self.doc, &lines, None) {
            let v = crate::replica::parse_variant(&k)?;
            let qty = read_int(&self.doc, &lines, &k, None)?.unwrap_or(0);
            let done = match &collected {
                Some(c) => read_int(&self.doc, c, &k, None)?.unwrap_or(0),
                None => 0,
            };
            out.insert(v, (qty, done));
        }
        Ok((obj, out))
    }

    /// The customer picks up some or all of a reservation: `held` goes down. `collect:<id>`.
    pub fn collect(
        &mut self,
        id: CollectId,
        reservation: ReservationId,
        lines: &[(VariantId, Qty)],
    ) -> Result<ChangeHash> {
        self.collect_paid(id, reservation, lines, "", 0)
    }

    /// [`ShopReplica::collect`] with the receipt of the sale that took the rest of the payment
    /// (empty for none) and how much of the reservation's prepaid credit it used.
    pub fn collect_paid(
        &mut self,
        id: CollectId,
        reservation: ReservationId,
        lines: &[(VariantId, Qty)],
        receipt: &str,
        credit: i64,
    ) -> Result<ChangeHash> {
        let holder = self.holder;
        let (obj, current) = self.open_reservation(reservation)?;
        // Hand-overs other tills made and this holder has not taken in yet count as gone.
        let pending = crate::pickups::read_handovers(&self.doc, &obj)?;
        let wanted = tally(lines)?;
        let mut plan = Plan::new();
        let mut after = current.clone();
        for (v, n) in &wanted {
            let (qty, done) = current.get(v).copied().unwrap_or((0, 0));
            let elsewhere = crate::pickups::pending_units(&pending, *v);
            if qty - done - elsewhere < *n {
                return Err(Error::CollectTooMany {
                    id: reservation.to_string(),
                    variant: *v,
                    wanted: *n,
                    remaining: qty - done - elsewhere,
                });
            }
            self.plan_take(&mut plan, *v, K_HELD, *n, true)?;
            after.insert(*v, (qty, done + n));
        }
        let all_done = after.values().all(|(q, d)| d >= q);
        self.write(Cause::Collect(id), |doc| {
            Self::apply(doc, &plan)?;
            let c = match read_map(doc, &obj, "collected", None)? {
                Some(c) => c,
                None => doc.put_object(&obj, "collected", ObjType::Map)?,
            };
            for v in wanted.keys() {
                let done = after.get(v).map_or(0, |(_, d)| *d);
                doc.put(&c, v.to_string(), done)?;
            }
            let status = if all_done {
                "collected"
            } else {
                "partially_collected"
            };
            doc.put(&obj, "status", status)?;
            crate::pickups::record_handover(
                doc, &obj, id, holder, &wanted, "settled", receipt, credit,
            )?;
            if credit > 0 {
                let applied = read_int(doc, &obj, "applied_minor", None)?.unwrap_or(0);
                doc.put(&obj, "applied_minor", applied + credit)?;
            }
            Ok(())
        })
    }

    /// Cancels a reservation: what is still held goes back to `free`. `cancel:<id>`.
    pub fn cancel(&mut self, reservation: ReservationId) -> Result<ChangeHash> {
        self.close(reservation, "cancelled", Cause::Cancel(reservation))
    }

    /// Closes an open reservation of this holder with `status`: what is still held goes back to
    /// `free`, in one change named `cause`.
    pub(crate) fn close(
        &mut self,
        reservation: ReservationId,
        status: &'static str,
        cause: Cause,
    ) -> Result<ChangeHash> {
        let (obj, current) = self.open_reservation(reservation)?;
        let mut plan = Plan::new();
        for (v, (qty, done)) in &current {
            let n = qty - done;
            if n > 0 {
                if let Some(cell) = self.plan_take(&mut plan, *v, K_HELD, n, true)? {
                    plan.push((cell, K_FREE, n));
                }
            }
        }
        self.write(cause, |doc| {
            Self::apply(doc, &plan)?;
            doc.put(&obj, "status", status)?;
            Ok(())
        })
    }

    /// Moves units from this holder's `free` to `to`'s `free` in one change `transfer:<id>`.
    /// Checked for every policy: a holder cannot give what it does not hold.
    pub fn transfer(
        &mut self,
        id: TransferId,
        to: Holder,
        lines: &[(VariantId, Qty)],
    ) -> Result<ChangeHash> {
        if to == self.holder {
            return Err(Error::TransferToSelf { holder: to });
        }
        let mut plan = Plan::new();
        for (v, n) in tally(lines)? {
            if self.plan_take(&mut plan, v, K_FREE, n, true)?.is_some() {
                let theirs = self.cell(v, to)?;
                plan.push((theirs, K_FREE, n));
            }
        }
        self.write(Cause::Transfer(id), |doc| Self::apply(doc, &plan))
    }

    /// A count correction by this holder on its own `free`: a delta (never an overwrite), with
    /// the reason recorded under `counts/<id>`. A `deny` variant cannot be corrected below zero.
    pub fn count(
        &mut self,
        id: CountId,
        variant: VariantId,
        delta: i64,
        reason: &str,
    ) -> Result<ChangeHash> {
        if delta == 0 {
            return Err(Error::ZeroCorrection);
        }
        let mut plan = Plan::new();
        if let Some(policy) = self.rule(variant)? {
            let cell = self.cell(variant, self.holder)?;
            if delta < 0 && policy == Policy::Deny {
                let have = self.counter(&cell, K_FREE)?;
                if have + delta < 0 {
                    return Err(self.short(variant, self.holder, -delta, have));
                }
            }
            plan.push((cell, K_FREE, delta));
        }
        let (counts, holder) = (self.roots.counts.clone(), self.holder);
        self.write(Cause::Count(id), |doc| {
            Self::apply(doc, &plan)?;
            let obj = doc.put_object(&counts, id.to_string(), ObjType::Map)?;
            doc.put(&obj, "holder", holder.to_string())?;
            doc.put(&obj, "variant", variant.to_string())?;
            doc.put(&obj, "delta", delta)?;
            doc.put(&obj, "reason", reason)?;
            Ok(())
        })
    }

    /// What this holder may sell of a variant now (its `free`), or `NoStock`.
    pub fn available(&mut self, variant: VariantId) -> Result<i64> {
        let cell = self.cell(variant, self.holder)?;
        self.counter(&cell, K_FREE)
    }
}
