//! The operations the online side needs beside the stall's: a batch of online orders taken from
//! the hub's own `free` in one change, handing a pickup reservation (and its held units) to the
//! till that will hand it over, editing a market event's tills and status, and reading
//! reservations and events back out of the document.
//!
//! The escrow rule holds here as everywhere: the giver decrements its own counters (after a
//! check) and increments the receiver's; nobody decrements another holder's counters.

use automerge::{transaction::Transactable, ChangeHash, ObjType, ReadDoc};
use trestle_core::catalog::Qty;
use trestle_core::ids::VariantId;

use crate::error::{Error, Result};
use crate::ids::{Cause, Holder, MarketEventId, OrderBatchId, ReservationId, TransferId};
use crate::ops::{tally, Plan};
use crate::replica::{parse_variant, EventFields, ShopReplica};
use crate::schema::{keys, read_int, read_map, read_str, K_FREE, K_HELD};

/// A reservation as the document holds it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReservationView {
    pub id: ReservationId,
    pub code: String,
    pub customer: String,
    pub event: Option<MarketEventId>,
    pub holder: Holder,
    pub status: String,
    pub payment_state: String,
    /// Per variant: (reserved, collected).
    pub lines: Vec<(VariantId, i64, i64)>,
    pub details: crate::pickups::ReservationDetails,
    /// Prepaid credit already used by settled hand-overs (the holder's count).
    pub applied_minor: i64,
    /// Every hand-over, settled, pending or refused.
    pub handovers: Vec<crate::pickups::Handover>,
}

/// A market event as the document holds it, with its status (`planned`, `open`, `closed`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EventView {
    pub id: MarketEventId,
    pub fields: EventFields,
    pub status: String,
}

impl ShopReplica {
    /// Online orders taken from this holder's `free` (the hub's), many orders in one change
    /// `orders:<batch>`; `deny` variants are checked first against the whole batch (`Short`).
    pub fn sell_orders(
        &mut self,
        batch: OrderBatchId,
        lines: &[(VariantId, Qty)],
    ) -> Result<ChangeHash> {
        let mut plan = Plan::new();
        for (v, n) in tally(lines)? {
            self.plan_take(&mut plan, v, K_FREE, n, false)?;
        }
        self.write(Cause::Orders(batch), |doc| Self::apply(doc, &plan))
    }

    /// Hands an open reservation of this holder to `to`: what is still to be collected moves
    /// from this holder's `held` to `to`'s `held`, and `to` becomes the reservation's holder
    /// (the only one who may change its status from now on). One change `transfer:<id>`.
    pub fn hand_over_reservation(
        &mut self,
        transfer: TransferId,
        reservation: ReservationId,
        to: Holder,
    ) -> Result<ChangeHash> {
        if to == self.holder {
            return Err(Error::TransferToSelf { holder: to });
        }
        let (obj, current) = self.open_reservation(reservation)?;
        let mut plan = Plan::new();
        for (v, (qty, done)) in &current {
            let n = qty - done;
            if n > 0 && self.plan_take(&mut plan, *v, K_HELD, n, true)?.is_some() {
                let theirs = self.cell(*v, to)?;
                plan.push((theirs, K_HELD, n));
            }
        }
        self.write(Cause::Transfer(transfer), |doc| {
            Self::apply(doc, &plan)?;
            doc.put(&obj, "holder", to.to_string())?;
            Ok(())
        })
    }

    /// Sets a market event's tills and status (`planned`, `open`, `closed`). Creator only.
    pub fn update_event(
        &mut self,
        id: MarketEventId,
        tills: &[Holder],
        status: &str,
    ) -> Result<ChangeHash> {
        self.require_creator("change a market event")?;
        let key = id.to_string();
        let obj = read_map(&self.doc, &self.roots.events, &key, None)?.ok_or_else(|| {
            Error::Malformed {
                path: format!("event {key}"),
                reason: "missing",
            }
        })?;
        self.write(Cause::Setup(format!("event:{key}")), |doc| {
            let list = doc.put_object(&obj, "tills", ObjType::List)?;
            for (i, t) in tills.iter().enumerate() {
                doc.insert(&list, i, t.to_string())?;
            }
            doc.put(&obj, "status", status)?;
            Ok(())
        })
    }

    /// One market event.
    pub fn event(&self, id: MarketEventId) -> Result<Option<EventView>> {
        let Some(obj) = read_map(&self.doc, &self.roots.events, &id.to_string(), None)? else {
            return Ok(None);
        };
        let text = |k: &str| read_str(&self.doc, &obj, k, None).map(|s| s.unwrap_or_default());
        let mut tills = Vec::new();
        if let Some((automerge::Value::Object(ObjType::List), list)) =
            self.doc.get(&obj, "tills")?
        {
            for i in 0..self.doc.length(&list) {
                if let Some((v, _)) = self.doc.get(&list, i)? {
                    if let Some(s) = v.as_str() {
                        tills.push(Holder::parse(s)?);
                    }
                }
            }
        }
        let status = text("status")?;
        Ok(Some(EventView {
            id,
            fields: EventFields {
                name: text("name")?,
                place: text("place")?,
                starts: read_int(&self.doc, &obj, "starts", None)?.unwrap_or(0),
                ends: read_int(&self.doc, &obj, "ends", None)?.unwrap_or(0),
                tills,
            },
            status: if status.is_empty() {
                "planned".into()
            } else {
                status
            },
        }))
    }

    /// Every market event, by id.
    pub fn events(&self) -> Result<Vec<EventView>> {
        let mut out = Vec::new();
        for key in keys(&self.doc, &self.roots.events, None) {
            let id = parse_uuid(&key).map(MarketEventId)?;
            if let Some(e) = self.event(id)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// One reservation.
    pub fn reservation(&self, id: ReservationId) -> Result<Option<ReservationView>> {
        let Some(obj) = read_map(&self.doc, &self.roots.reservations, &id.to_string(), None)?
        else {
            return Ok(None);
        };
        let text = |k: &str| read_str(&self.doc, &obj, k, None).map(|s| s.unwrap_or_default());
        let event = text("event")?;
        let event = if event.is_empty() {
            None
        } else {
            Some(MarketEventId(parse_uuid(&event)?))
        };
        let mut lines = Vec::new();
        if let Some(l) = read_map(&self.doc, &obj, "lines", None)? {
            let collected = read_map(&self.doc, &obj, "collected", None)?;
            for k in keys(&self.doc, &l, None) {
                let qty = read_int(&self.doc, &l, &k, None)?.unwrap_or(0);
                let done = match &collected {
                    Some(c) => read_int(&self.doc, c, &k, None)?.unwrap_or(0),
                    None => 0,
                };
                lines.push((parse_variant(&k)?, qty, done));
            }
        }
        Ok(Some(ReservationView {
            id,
            code: text("code")?,
            customer: text("customer")?,
            event,
            holder: Holder::parse(&text("holder")?)?,
            status: text("status")?,
            payment_state: text("payment_state")?,
            lines,
            details: crate::pickups::ReservationDetails::read(&self.doc, &obj)?,
            applied_minor: read_int(&self.doc, &obj, "applied_minor", None)?.unwrap_or(0),
            handovers: crate::pickups::read_handovers(&self.doc, &obj)?,
        }))
    }

    /// Every reservation, by id.
    pub fn reservations(&self) -> Result<Vec<ReservationView>> {
        let mut out = Vec::new();
        for key in keys(&self.doc, &self.roots.reservations, None) {
            let id = ReservationId(parse_uuid(&key)?);
            if let Some(r) = self.reservation(id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Every variant in the catalog with its fields.
    pub fn catalog(&self) -> Result<Vec<(VariantId, crate::schema::VariantFields)>> {
        let mut out = Vec::new();
        for key in keys(&self.doc, &self.roots.catalog, None) {
            let v = parse_variant(&key)?;
            if let Some(f) = self.variant(v)? {
                out.push((v, f));
            }
        }
        Ok(out)
    }
}

fn parse_uuid(key: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(key).map_err(|_| Error::Malformed {
        path: format!("key {key:?}"),
        reason: "not an id",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{NewReservation, PaymentState};
    use crate::schema::VariantFields;
    use crate::ShopId;
    use trestle_core::catalog::Policy;
    use trestle_core::ids::TillId;
    use uuid::Uuid;

    fn shop() -> (ShopReplica, VariantId, Holder) {
        let mut hub = ShopReplica::create(ShopId(Uuid::from_u128(1)), Holder::Hub).unwrap();
        let v = VariantId(Uuid::from_u128(2));
        let fields = VariantFields {
            title: "Mug".into(),
            sku: None,
            barcode: None,
            price_minor: 1200,
            tax_ppm: 0,
            policy: Policy::Deny,
            track_inventory: true,
        };
        hub.add_variant(v, &fields).unwrap();
        let till = Holder::Till(TillId(Uuid::from_u128(3)));
        hub.ensure_holder(v, Holder::Hub).unwrap();
        hub.ensure_holder(v, till).unwrap();
        hub.count(crate::ids::CountId(Uuid::from_u128(4)), v, 5, "opening")
            .unwrap();
        (hub, v, till)
    }

    fn q(n: u32) -> Qty {
        Qty::new(n).unwrap()
    }

    #[test]
    fn a_batch_of_orders_is_one_change_and_refuses_beyond_the_hubs_free() {
        let (mut hub, v, _) = shop();
        let before = hub.heads();
        let err = hub
            .sell_orders(OrderBatchId(Uuid::from_u128(9)), &[(v, q(4)), (v, q(2))])
            .unwrap_err();
        assert_eq!(err.code(), "stock.short");
        assert_eq!(hub.heads(), before, "a refused batch writes nothing");
        hub.sell_orders(OrderBatchId(Uuid::from_u128(9)), &[(v, q(3)), (v, q(2))])
            .unwrap();
        assert_eq!(hub.available(v).unwrap(), 0);
    }

    #[test]
    fn a_handed_over_reservation_moves_its_held_units_and_its_holder() {
        let (mut hub, v, till) = shop();
        let r = ReservationId(Uuid::from_u128(10));
        hub.reserve(&NewReservation {
            id: r,
            code: "ABC".into(),
            customer: "Ada".into(),
            event: None,
            payment: PaymentState::Paid,
            lines: vec![(v, q(2))],
            details: Default::default(),
        })
        .unwrap();
        hub.hand_over_reservation(TransferId(Uuid::from_u128(11)), r, till)
            .unwrap();
        let levels = hub.stock_of(v).unwrap();
        let of = |h: Holder| levels.iter().find(|l| l.holder == h).copied().unwrap();
        assert_eq!((of(Holder::Hub).free, of(Holder::Hub).held), (3, 0));
        assert_eq!((of(till).free, of(till).held), (0, 2));
        assert_eq!(hub.reservation(r).unwrap().unwrap().holder, till);
        // The hub no longer decides: it cannot cancel it.
        assert_eq!(hub.cancel(r).unwrap_err().code(), "reservation.not_yours");
    }

    #[test]
    fn events_read_back_with_their_tills_and_status() {
        let (mut hub, _, till) = shop();
        let id = MarketEventId(Uuid::from_u128(20));
        let fields = EventFields {
            name: "Winter fair".into(),
            place: "Town hall".into(),
            starts: 1,
            ends: 2,
            tills: vec![],
        };
        hub.add_event(id, &fields).unwrap();
        assert_eq!(hub.event(id).unwrap().unwrap().status, "planned");
        hub.update_event(id, &[till], "open").unwrap();
        let e = hub.event(id).unwrap().unwrap();
        assert_eq!((e.fields.tills, e.status.as_str()), (vec![till], "open"));
        assert_eq!(hub.events().unwrap().len(), 1);
    }
}
