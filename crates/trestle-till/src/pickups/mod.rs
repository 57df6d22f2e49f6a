//! Pickup reservations at the till, offline: today's list, finding one by code, QR payload,
//! name, email or phone, handing over all or some of it (taking what is left to pay as a sale
//! linked to it, in the same transaction as the stock change), making one for a customer at the
//! stall, cancelling, and — in [`reconcile`] — what sync brings (another till's
//! hand-overs, expiries). The desktop app's Pickups screen calls these.

pub mod quote;
pub mod reconcile;
pub mod view;

use std::collections::BTreeMap;

use trestle_core::cart::{Cart, CartLine};
use trestle_core::catalog::Qty;
use trestle_core::code::ReservationCode;
use trestle_core::ids::{EventId, SaleId, VariantId};
use trestle_core::ledger::LedgerEvent;
use trestle_core::reservation::{due_at_handover, Query, ReservationStatus};
use trestle_core::sale::complete;
use trestle_core::tender::Tender;
use trestle_core::Money;
use trestle_replica::ids::{CollectId, MarketEventId, ReservationId};
use trestle_replica::{NewReservation, PaymentState, ReservationDetails, ReservationView};
use uuid::Uuid;

use crate::catalog::resolve;
use crate::error::{Error, Result};
use crate::ledger::{insert_movement, insert_outbox, insert_sale};
use crate::shop::{new_sale_meta, save_hlc};
use crate::till::Till;
pub use view::{pickup_receipt, Collected, Created, Pickup, PickupHandover, PickupLine};

/// What to hand over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectLines {
    /// Everything still to collect.
    All,
    /// Some items (SKU, barcode or variant id, as scanned or typed) with quantities.
    Items(Vec<(String, Qty)>),
}

/// How a reservation made at the stall is paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StallPayment {
    /// Nothing now; everything at the hand-over.
    OnPickup,
    /// Part now (this tender), the rest at the hand-over.
    Deposit(Tender),
}

/// A reservation to make at the stall, validated by the caller into typed values.
#[derive(Debug, Clone)]
pub struct NewPickup {
    pub customer: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Items as scanned or typed, with quantities.
    pub lines: Vec<(String, Qty)>,
    pub payment: StallPayment,
    /// Unix ms: a *hold* — released to sale when it passes uncollected (by the expiry clock).
    pub expires_at: Option<u64>,
    pub event: Option<Uuid>,
}

impl Till {
    fn pickup(&self, r: &ReservationView) -> Pickup {
        let conn = self.db.conn();
        let currency = self.shop.currency;
        Pickup::from_view(r, self.replica.holder(), currency, |v| {
            match resolve(conn, currency, &v.to_string()) {
                Ok(i) => (i.title, i.sku, i.price.minor()),
                Err(_) => (v.to_string(), None, 0),
            }
        })
    }

    /// Today's pickups: every reservation still to hand over (at an event running today, or
    /// with no event), the ready ones first, then by customer. Expired holds are released first.
    pub fn pickups_today(&mut self) -> Result<Vec<Pickup>> {
        self.release_expired()?;
        let now = self.now_ms();
        let events = self.replica().events()?;
        let today = |e: Option<MarketEventId>| match e {
            None => true,
            Some(id) => events.iter().find(|x| x.id == id).is_none_or(|x| {
                let day = 86_400_000;
                let (s, end) = (x.fields.starts.max(0), x.fields.ends.max(0));
                let (s, end) = (
                    u64::try_from(s).unwrap_or(0),
                    u64::try_from(end).unwrap_or(0),
                );
                x.status != "closed" && s / day <= now / day && now / day <= end / day.max(1)
            }),
        };
        let mut out: Vec<Pickup> = self
            .replica()
            .reservations()?
            .iter()
            .filter(|r| status(r).is_some_and(|s| s.is_open()) && today(r.event))
            .map(|r| self.pickup(r))
            .collect();
        // Packed and ready first: those can be handed over the moment the customer asks.
        out.sort_by_key(|a| (a.status != "ready", a.customer.to_lowercase()));
        Ok(out)
    }

    /// Every reservation matching what was typed or scanned: a pickup code (any case, with or
    /// without the dash; a typo is refused by the check symbol), a QR payload, or part of the
    /// customer's name, email or phone. Open ones first.
    pub fn find_pickups(&self, query: &str) -> Result<Vec<Pickup>> {
        let q = Query::parse(query)?;
        let mut out: Vec<Pickup> = self
            .replica()
            .reservations()?
            .iter()
            .filter(|r| {
                q.matches(
                    &r.code,
                    &r.customer,
                    r.details.email.as_deref(),
                    r.details.phone.as_deref(),
                )
            })
            .map(|r| self.pickup(r))
            .collect();
        out.sort_by_key(|p| (!is_open(&p.status), p.customer.to_lowercase()));
        Ok(out)
    }

    /// The one reservation `query` names: a code, an id, or a fragment matching exactly one.
    pub fn find_pickup(&self, query: &str) -> Result<Pickup> {
        if let Ok(id) = Uuid::parse_str(query.trim()) {
            let r = self
                .replica()
                .reservation(ReservationId(id))?
                .ok_or_else(|| Error::PickupNotFound(query.to_string()))?;
            return Ok(self.pickup(&r));
        }
        let mut found = self.find_pickups(query)?;
        let open = found.iter().filter(|p| is_open(&p.status)).count();
        if open == 1 && found.len() > 1 {
            found.retain(|p| is_open(&p.status));
        }
        match found.len() {
            0 => Err(Error::PickupNotFound(query.to_string())),
            1 => Ok(found.remove(0)),
            n => Err(Error::PickupAmbiguous {
                query: query.to_string(),
                count: n,
                examples: found
                    .iter()
                    .take(3)
                    .map(|p| format!("{} {}", p.code, p.customer))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Hands over all or some of a pickup, durably: the stock change (this till's `held` when it
    /// holds the pickup, else its own `free`), the hand-over record and — unless it was paid in
    /// full online — a sale for the goods with the prepaid credit as a tender and `tenders` for
    /// the rest, all in ONE transaction. Refused with nothing written when too little is paid.
    pub fn collect_pickup(
        &mut self,
        query: &str,
        lines: &CollectLines,
        tenders: Vec<Tender>,
    ) -> Result<Collected> {
        let p = self.find_pickup(query)?;
        let r = self
            .replica()
            .reservation(ReservationId(p.id))?
            .ok_or_else(|| Error::PickupNotFound(query.to_string()))?;
        if status(&r).is_none_or(|s| !s.is_open()) {
            return Err(Error::Pickup(format!(
                "pickup {} is {}; there is nothing to hand over",
                p.code,
                p.status.replace('_', " ")
            )));
        }
        let wanted = self.collect_lines(&p, lines)?;
        // Who hands it over: the signed-in person once staff exist (the owner before that).
        let staff = self.actor()?.stamp();
        let currency = self.shop.currency;
        let shop = self.shop.clone();
        let cart = self.handover_cart(&p, &wanted)?;
        let goods = cart.price()?.totals.total;
        let (due, credit) = due_at_handover(goods.minor(), p.credit_left.minor());
        let paid_online = p.payment_state == "paid";
        if due == 0 && !tenders.is_empty() {
            return Err(Error::Pickup(format!(
                "nothing is left to pay for this hand-over of pickup {}; take no payment",
                p.code
            )));
        }
        let mut all_tenders = Vec::new();
        if credit > 0 {
            all_tenders.push(Tender::other(
                Money::from_minor(credit, currency),
                Some(&format!("prepaid {}", p.code)),
            ));
        }
        all_tenders.extend(tenders);
        let at = self.tick();
        let collect = CollectId(self.new_uuid());
        let sale_id = SaleId(self.new_uuid());
        let event_id = EventId(sale_id.0);
        let reservation = ReservationId(p.id);
        let held_here = p.held_here;
        let units: Vec<(VariantId, Qty)> = wanted.clone();
        let make_sale = !(paid_online && due == 0);
        let sale = self.write_with_replica(&format!("collect:{collect}"), |tx, replica| {
            let sale = if make_sale {
                let meta = new_sale_meta(
                    tx,
                    &shop,
                    sale_id,
                    at,
                    staff.clone(),
                    p.event_id.map(|e| e.to_string()),
                )?;
                Some(complete(&cart, all_tenders, meta)?)
            } else {
                save_hlc(tx, at)?;
                None
            };
            let receipt = sale.as_ref().map(|s| s.receipt.to_string()).unwrap_or_default();
            if held_here {
                replica.collect_paid(collect, reservation, &units, &receipt, credit)?;
            } else {
                replica.collect_for_holder(collect, reservation, &units, &receipt, credit)?;
            }
            let reference = collect.to_string();
            for (v, n) in &units {
                if resolve(tx, shop.currency, &v.to_string())?.track_inventory {
                    insert_movement(tx, *v, -i64::from(n.get()), "pickup", &reference, at)?;
                }
            }
            if let Some(s) = &sale {
                insert_sale(tx, s)?;
                tx.prepare_cached(
                    "INSERT INTO pickup_sales (sale_id, reservation_id, collect_id) VALUES (?1, ?2, ?3)",
                )?
                .execute(rusqlite::params![s.id.to_string(), p.id.to_string(), reference])?;
                insert_outbox(
                    tx,
                    event_id,
                    shop.till_id,
                    LedgerEvent::SaleCompleted(s.clone()),
                    &s.id.to_string(),
                    at,
                )?;
            }
            Ok(sale)
        });
        let sale = sale.map_err(|e| self.plain(e, &p))?;
        let after = self
            .replica()
            .reservation(reservation)?
            .ok_or_else(|| Error::PickupNotFound(query.to_string()))?;
        Ok(Collected {
            pickup: self.pickup(&after),
            handed_over: wanted
                .iter()
                .map(|(v, n)| {
                    let title = p
                        .lines
                        .iter()
                        .find(|l| l.variant_id == *v)
                        .map_or(v.to_string(), |l| l.title.clone());
                    (title, i64::from(n.get()))
                })
                .collect(),
            goods,
            credit_used: Money::from_minor(credit, currency),
            sale,
            for_another_till: !held_here,
        })
    }

    /// The lines of a hand-over, checked against what is left.
    pub(crate) fn collect_lines(
        &self,
        p: &Pickup,
        lines: &CollectLines,
    ) -> Result<Vec<(VariantId, Qty)>> {
        let mut wanted: BTreeMap<VariantId, u32> = BTreeMap::new();
        match lines {
            CollectLines::All => {
                for l in &p.lines {
                    if l.remaining > 0 {
                        wanted.insert(l.variant_id, u32::try_from(l.remaining).unwrap_or(0));
                    }
                }
                if wanted.is_empty() {
                    return Err(Error::Pickup(format!(
                        "everything on pickup {} was handed over already",
                        p.code
                    )));
                }
            }
            CollectLines::Items(items) => {
                for (item, n) in items {
                    let found = resolve(self.db.conn(), self.shop.currency, item)?;
                    *wanted.entry(found.variant_id).or_default() += n.get();
                }
            }
        }
        let mut out = Vec::new();
        for (v, n) in wanted {
            let line =
                p.lines.iter().find(|l| l.variant_id == v).ok_or_else(|| {
                    Error::Pickup(format!("that item is not on pickup {}", p.code))
                })?;
            if i64::from(n) > line.remaining {
                return Err(Error::Pickup(format!(
                    "pickup {} has {} of {} left to hand over, not {n}",
                    p.code, line.remaining, line.title
                )));
            }
            out.push((v, Qty::new(n)?));
        }
        Ok(out)
    }

    /// A replica refusal in words for the cashier, naming the pickup rather than ids.
    fn plain(&self, e: Error, p: &Pickup) -> Error {
        match e {
            Error::Replica(trestle_replica::Error::ReservationClosed { status, .. }) => {
                Error::Pickup(format!("pickup {} is already {}", p.code, status.replace('_', " ")))
            }
            Error::Replica(trestle_replica::Error::CollectTooMany { remaining, .. }) => {
                Error::Pickup(format!(
                    "pickup {} has only {} left to hand over (another till may have handed some over)",
                    p.code,
                    remaining.max(0)
                ))
            }
            Error::Replica(trestle_replica::Error::NoStock { .. }) => Error::Pickup(format!(
                "this till holds none of the items of pickup {}; hand it over at {}",
                p.code, p.holder
            )),
            other => other,
        }
    }

    /// Makes a reservation at the stall: the units go from this till's `free` to its `held`
    /// (refused if it has not enough), with a new pickup code; a deposit is recorded with it, in
    /// the same transaction.
    pub fn create_pickup(&mut self, req: &NewPickup) -> Result<Created> {
        let customer = clean("customer's name", &req.customer, true)?;
        let email = req
            .email
            .as_deref()
            .map(|e| clean("email", e, false))
            .transpose()?;
        let phone = req
            .phone
            .as_deref()
            .map(|e| clean("phone", e, false))
            .transpose()?;
        if req.lines.is_empty() {
            return Err(trestle_core::Error::EmptyCart.into());
        }
        let now = self.expiry_now();
        if let Some(at) = req.expires_at {
            if at <= now {
                return Err(Error::InvalidInput(
                    "the hold would end before now; give a later time".into(),
                ));
            }
        }
        let currency = self.shop.currency;
        let mut cart = Cart::new(currency, self.shop.tax_mode);
        let mut lines = Vec::new();
        let mut prices = BTreeMap::new();
        for (item, n) in &req.lines {
            let i = resolve(self.db.conn(), currency, item)?;
            prices.insert(i.variant_id, i.price.minor());
            lines.push((i.variant_id, *n));
            cart.lines.push(CartLine {
                variant_id: i.variant_id,
                sku: None,
                title: i.title,
                unit_price: i.price,
                tax_rate: i.tax_rate,
                qty: *n,
                discount: None,
            });
        }
        let total = cart.price()?.totals.total;
        let (payment, deposit) = match &req.payment {
            StallPayment::OnPickup => (PaymentState::PayOnPickup, None),
            StallPayment::Deposit(t) => {
                if t.amount.minor() >= total.minor() {
                    return Err(Error::InvalidInput(format!(
                        "a deposit must be less than the total of {}; take the whole payment as a sale instead",
                        total.amount_string()
                    )));
                }
                (PaymentState::Deposit, Some(t.clone()))
            }
        };
        let codes: Vec<String> = self
            .replica()
            .reservations()?
            .into_iter()
            .map(|r| r.code)
            .collect();
        let code = loop {
            let mut b = [0u8; 6];
            getrandom::fill(&mut b)
                .map_err(|e| Error::Corrupt(format!("no random source: {e}")))?;
            let c = ReservationCode::from_random(b);
            if !codes.iter().any(|x| x == c.as_str()) {
                break c;
            }
        };
        let at = self.tick();
        let id = ReservationId(self.new_uuid());
        let new = NewReservation {
            id,
            code: code.as_str().to_string(),
            customer,
            event: req.event.map(MarketEventId),
            payment,
            lines,
            details: ReservationDetails {
                email,
                phone,
                expires_at: req.expires_at,
                prices,
                paid_minor: deposit.as_ref().map_or(0, |t| t.amount.minor()),
                created_at: at.wall_ms,
            },
        };
        let dep = deposit.clone();
        self.write_with_replica(&format!("reserve:{id}"), |tx, replica| {
            replica.reserve(&new)?;
            if let Some(t) = &dep {
                tx.execute(
                    "INSERT INTO pickup_deposits (reservation_id, kind, amount_minor, reference, hlc)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![
                        id.to_string(),
                        t.kind.as_str(),
                        t.amount.minor(),
                        t.reference,
                        at.encode()
                    ],
                )?;
            }
            save_hlc(tx, at)
        })?;
        let r = self
            .replica()
            .reservation(id)?
            .ok_or_else(|| Error::PickupNotFound(id.to_string()))?;
        Ok(Created {
            pickup: self.pickup(&r),
            deposit,
        })
    }

    /// Marks a pickup this till holds packed and ready to hand over (`held → ready`): the
    /// storefront tells the customer once the tills sync, and today's list shows it first.
    pub fn mark_pickup_ready(&mut self, query: &str) -> Result<Pickup> {
        let p = self.find_pickup(query)?;
        if !p.held_here {
            return Err(Error::Pickup(format!(
                "pickup {} is held by {}; mark it ready there",
                p.code, p.holder
            )));
        }
        let st = ReservationStatus::parse(&p.status)?;
        st.after_ready().map_err(|_| {
            Error::Pickup(match st {
                ReservationStatus::Ready => format!("pickup {} is marked ready already", p.code),
                ReservationStatus::PartiallyCollected => format!(
                    "part of pickup {} was handed over already; hand over the rest",
                    p.code
                ),
                _ => format!(
                    "pickup {} is already {}",
                    p.code,
                    p.status.replace('_', " ")
                ),
            })
        })?;
        self.change_status(&p, "ready", |replica, id| replica.mark_ready(id).map(drop))
    }

    /// Cancels a pickup this till holds that nothing was handed over from: its units go back on
    /// sale. A deposit taken is to be given back by hand (the receipt says so).
    pub fn cancel_pickup(&mut self, query: &str) -> Result<Pickup> {
        let p = self.find_pickup(query)?;
        if !p.held_here {
            return Err(Error::Pickup(format!(
                "pickup {} is held by {}; cancel it there, or online",
                p.code, p.holder
            )));
        }
        let st = ReservationStatus::parse(&p.status)?;
        st.after_cancel().map_err(|_| {
            Error::Pickup(if st == ReservationStatus::PartiallyCollected {
                format!(
                    "part of pickup {} was handed over already; hand over the rest or refund its sale",
                    p.code
                )
            } else {
                format!("pickup {} is already {}", p.code, p.status.replace('_', " "))
            })
        })?;
        self.change_status(&p, "cancel", |replica, id| replica.cancel(id).map(drop))
    }

    /// A status change of a pickup this till holds, already checked: one change `<cause>:<id>`
    /// in its own transaction; answers the pickup as it is after.
    fn change_status(
        &mut self,
        p: &Pickup,
        cause: &str,
        change: impl FnOnce(
            &mut trestle_replica::ShopReplica,
            ReservationId,
        ) -> trestle_replica::Result<()>,
    ) -> Result<Pickup> {
        let id = ReservationId(p.id);
        let at = self.tick();
        self.write_with_replica(&format!("{cause}:{id}"), |tx, replica| {
            change(replica, id)?;
            save_hlc(tx, at)
        })?;
        let r = self
            .replica()
            .reservation(id)?
            .ok_or_else(|| Error::PickupNotFound(p.code.clone()))?;
        Ok(self.pickup(&r))
    }
}

fn status(r: &ReservationView) -> Option<ReservationStatus> {
    ReservationStatus::parse(&r.status).ok()
}

fn is_open(s: &str) -> bool {
    ReservationStatus::parse(s).is_ok_and(|s| s.is_open())
}

fn clean(what: &str, input: &str, required: bool) -> Result<String> {
    let t = input.trim();
    if (required && t.is_empty()) || t.chars().count() > 200 || t.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!(
            "the {what} must be 1 to 200 characters without control characters"
        )));
    }
    Ok(t.to_string())
}
