//! Checkout on the writer: idempotency by key and request hash, pricing by the core's rules,
//! the escrow check against the hub's own `free` (minus what earlier orders of the same batch
//! took), pickup orders held as reservations, and reading orders back.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, OptionalExtension};
use serde_json::json;
use trestle_core::cart::{Cart, CartLine};
use trestle_core::catalog::{Policy, Qty, Sku};
use trestle_core::code::ReservationCode;
use trestle_core::ids::VariantId;
use trestle_core::tax::TaxRate;
use trestle_core::Money;
use trestle_protocol::{
    CheckoutRequest, Fulfilment, Order, OrderLine, OrderTotals, Payment, ReservationRef, ShortLine,
    MAX_LINES,
};
use trestle_replica::ids::{MarketEventId, ReservationId, TransferId};
use trestle_replica::{Holder, NewReservation, PaymentState, ReservationDetails};
use uuid::Uuid;

use super::{store, Ctx};
use crate::db::{new_id, now_ms, random, rfc3339};
use crate::directory::clean_name;
use crate::error::{HubError, Result};

/// What a checkout answered: the order, and whether it is a replay of an earlier request.
pub struct CheckoutOutcome {
    pub order: Order,
    pub replayed: bool,
}

/// Validates and tallies request lines into typed lines (at most [`MAX_LINES`]).
pub(crate) fn typed_lines(
    lines: &[trestle_protocol::LineRequest],
) -> Result<Vec<(VariantId, Qty)>> {
    if lines.is_empty() {
        return Err(HubError::invalid(
            "request.no_lines",
            "choose at least one item",
        ));
    }
    if lines.len() > MAX_LINES {
        return Err(HubError::invalid(
            "request.too_many_lines",
            format!("at most {MAX_LINES} lines at once"),
        ));
    }
    lines
        .iter()
        .map(|l| Ok((VariantId(l.variant_id), Qty::new(l.qty)?)))
        .collect()
}

fn optional_text(what: &'static str, v: &Option<String>) -> Result<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() <= 200 && !s.chars().any(char::is_control) => {
            Ok(Some(s.to_string()))
        }
        Some(_) => Err(HubError::invalid(
            "request.invalid_text",
            format!("the {what} must be at most 200 characters without control characters"),
        )),
    }
}

impl Ctx<'_> {
    pub fn checkout(
        &mut self,
        req: CheckoutRequest,
        key: String,
        hash: [u8; 32],
        token: Uuid,
    ) -> Result<CheckoutOutcome> {
        // 1. The same key again: the same answer, or a refusal if the body differs.
        let seen: Option<(Vec<u8>, String)> = self
            .tx
            .prepare_cached("SELECT request_hash, body FROM orders WHERE idempotency_key = ?1")?
            .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((h, body)) = seen {
            if h.as_slice() != hash.as_slice() {
                return Err(HubError::IdempotencyMismatch);
            }
            return Ok(CheckoutOutcome {
                order: serde_json::from_str(&body)?,
                replayed: true,
            });
        }
        // 2. Validate into typed values.
        let lines = typed_lines(&req.lines)?;
        let name = clean_name("customer name", &req.customer.name)?;
        let email = optional_text("email", &req.customer.email)?;
        let phone = optional_text("phone", &req.customer.phone)?;
        let payment = req.payment.unwrap_or(Payment::Paid);
        let pickup_event = match &req.fulfilment {
            Fulfilment::Ship { .. } if payment != Payment::Paid => return Err(HubError::invalid(
                "checkout.payment_for_ship",
                "orders that are posted must be paid; deposit and pay on pickup are for pickups",
            )),
            Fulfilment::Ship { address } => {
                optional_text("address", address)?;
                None
            }
            Fulfilment::Pickup { event_id } => Some(self.pickup_event(*event_id)?),
        };
        // 3. Price by the core's rules.
        let shop = self.st.shop.clone();
        let mut cart = Cart::new(shop.currency, shop.tax_mode);
        for (v, q) in &lines {
            let f = self.st.catalog.get(v).ok_or_else(|| {
                HubError::invalid(
                    "catalog.unknown_variant",
                    format!("{} is not in this shop's catalog", v.0),
                )
            })?;
            cart.lines.push(CartLine {
                variant_id: *v,
                sku: f.sku.as_deref().and_then(|s| Sku::parse(s).ok()),
                title: f.title.clone(),
                unit_price: Money::from_minor(f.price_minor, shop.currency),
                tax_rate: TaxRate::from_ppm(f.tax_ppm)?,
                qty: *q,
                discount: None,
            });
        }
        let priced = cart.price()?;
        match (payment, req.deposit_minor) {
            (Payment::Deposit, None) => {}
            (Payment::Deposit, Some(d)) if d > 0 && d < priced.totals.total.minor() => {}
            (Payment::Deposit, Some(_)) => {
                return Err(HubError::invalid(
                    "checkout.invalid_deposit",
                    "deposit_minor must be more than 0 and less than the order's total",
                ))
            }
            (_, Some(_)) => {
                return Err(HubError::invalid(
                    "checkout.invalid_deposit",
                    "deposit_minor is only for orders paid by deposit",
                ))
            }
            (_, None) => {}
        }
        // 4. The escrow check: only the hub's own free, minus this batch's earlier orders.
        let mut wanted: BTreeMap<VariantId, i64> = BTreeMap::new();
        for (v, q) in &lines {
            *wanted.entry(*v).or_default() += i64::from(q.get());
        }
        let mut short = Vec::new();
        for (v, n) in &wanted {
            let f = &self.st.catalog[v];
            let checked = f.track_inventory && (f.policy == Policy::Deny || pickup_event.is_some());
            if !checked {
                continue;
            }
            let free = self.free_after_batch(*v);
            if free < *n {
                short.push(ShortLine {
                    variant_id: v.0,
                    title: self.st.catalog[v].title.clone(),
                    wanted: *n,
                    available: free.max(0),
                });
            }
        }
        if !short.is_empty() {
            self.metrics.oversell_refused();
            let names: Vec<String> = short.iter().map(|s| s.title.clone()).collect();
            // A pickup for an event whose stock is all at its tills is refused, never taken from
            // a till (only a holder takes from its own counters): the customer is told where the
            // stock is.
            let at_stall = match &pickup_event {
                Some((event, _)) => self.at_event_tills(*event, &short)?,
                None => 0,
            };
            let message = if at_stall > 0 {
                format!(
                    "not enough stock online of {}; what is left is at the stall of the event, so buy it there",
                    names.join(", ")
                )
            } else {
                format!("not enough stock online of {}", names.join(", "))
            };
            return Err(HubError::Conflict {
                code: "stock.short",
                message,
                details: Some(json!({ "short": short, "at_event_tills": at_stall })),
            });
        }
        // 5. Take the stock: ship orders at the batch's end; pickups as a reservation now.
        let order_id = new_id();
        let reservation = match pickup_event {
            None => {
                self.st.pending.extend(lines.iter().copied());
                None
            }
            Some((event, till)) => {
                let prices = priced
                    .lines
                    .iter()
                    .map(|l| (l.variant_id, l.unit_price.minor()))
                    .collect();
                let paid = match payment {
                    Payment::Paid => priced.totals.total.minor(),
                    Payment::Deposit => req.deposit_minor.unwrap_or(0),
                    Payment::PayOnPickup => 0,
                };
                let details = ReservationDetails {
                    email: email.clone(),
                    phone: phone.clone(),
                    expires_at: None,
                    prices,
                    paid_minor: paid,
                    created_at: now_ms().try_into().unwrap_or(0),
                };
                Some(self.hold_for_pickup(order_id, &name, payment, event, till, &lines, details)?)
            }
        };
        self.st.touched.extend(wanted.keys().copied());
        // 6. The order, answered and stored with its key.
        let number = self.st.next_order;
        self.st.next_order += 1;
        let now = now_ms();
        let order = Order {
            id: order_id,
            number,
            created_at: rfc3339(now),
            currency: shop.currency.code().to_string(),
            customer: trestle_protocol::Customer { name, email, phone },
            fulfilment: req.fulfilment,
            payment,
            lines: priced
                .lines
                .iter()
                .map(|l| OrderLine {
                    variant_id: l.variant_id.0,
                    title: l.title.clone(),
                    sku: l.sku.as_ref().map(|s| s.as_str().to_string()),
                    qty: l.qty.get(),
                    unit_price_minor: l.unit_price.minor(),
                    net_minor: l.net.minor(),
                    tax_minor: l.tax.minor(),
                    total_minor: l.total.minor(),
                })
                .collect(),
            totals: OrderTotals {
                subtotal_minor: priced.totals.subtotal.minor(),
                tax_minor: priced.totals.tax.minor(),
                total_minor: priced.totals.total.minor(),
            },
            reservation,
            fulfilment_status: None,
        };
        let body = serde_json::to_string(&order)?;
        self.tx.prepare_cached(
            "INSERT INTO orders (id, number, idempotency_key, request_hash, token_id, body, reservation_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?.execute(
            params![
                order_id.to_string(),
                number,
                key,
                hash.as_slice(),
                token.to_string(),
                body,
                order.reservation.as_ref().map(|r| r.id.to_string()),
                now
            ],
        )?;
        store::publish(
            self.tx,
            self.st,
            self.published,
            "order.created",
            json!(order),
        )?;
        if let Some(r) = &order.reservation {
            let data = self.reservation_json(ReservationId(r.id))?;
            store::publish(
                self.tx,
                self.st,
                self.published,
                "reservation.created",
                data,
            )?;
        }
        self.metrics.checkout_accepted();
        Ok(CheckoutOutcome {
            order,
            replayed: false,
        })
    }

    /// Units of the short variants free at the event's tills.
    fn at_event_tills(&self, event: MarketEventId, short: &[ShortLine]) -> Result<i64> {
        let Some(e) = self.st.replica.event(event)? else {
            return Ok(0);
        };
        let mut n = 0;
        for s in short {
            for l in self.st.replica.stock_of(VariantId(s.variant_id))? {
                if e.fields.tills.contains(&l.holder) {
                    n += l.free.max(0);
                }
            }
        }
        Ok(n)
    }

    /// The hub's own `free` of a variant (0 when it holds none of it), read from the replica
    /// once per state of the replica (see `State::free_at`).
    pub(crate) fn cached_free(&mut self, v: VariantId) -> i64 {
        let heads = self.st.replica.heads();
        if heads != self.st.free_at.0 {
            self.st.free_at = (heads, HashMap::new());
        }
        if let Some(free) = self.st.free_at.1.get(&v) {
            return *free;
        }
        let free = self.st.replica.available(v).unwrap_or(0);
        self.st.free_at.1.insert(v, free);
        free
    }

    /// The event a pickup is for, if it still takes pickups, with the till to hand it to now
    /// (an open event with a till) or `None` (it travels with the next allocation).
    fn pickup_event(&self, id: Uuid) -> Result<(MarketEventId, Option<Holder>)> {
        let e = self.st.replica.event(MarketEventId(id))?.ok_or_else(|| {
            HubError::invalid("checkout.unknown_event", format!("there is no event {id}"))
        })?;
        if e.status == "closed" {
            return Err(HubError::invalid(
                "checkout.event_closed",
                format!(
                    "{} is over; choose another event or shipping",
                    e.fields.name
                ),
            ));
        }
        let till = if e.status == "open" {
            e.fields.tills.first().copied()
        } else {
            None
        };
        Ok((e.id, till))
    }

    #[allow(clippy::too_many_arguments)]
    fn hold_for_pickup(
        &mut self,
        order: Uuid,
        name: &str,
        payment: Payment,
        event: MarketEventId,
        till: Option<Holder>,
        lines: &[(VariantId, Qty)],
        details: ReservationDetails,
    ) -> Result<ReservationRef> {
        let (email, phone) = (details.email.clone(), details.phone.clone());
        let id = ReservationId(new_id());
        let code = loop {
            let c = ReservationCode::from_random(random::<6>());
            if !self.st.codes.contains(c.as_str()) {
                break c;
            }
        };
        let new = NewReservation {
            id,
            code: code.as_str().to_string(),
            customer: name.to_string(),
            event: Some(event),
            payment: match payment {
                Payment::Paid => PaymentState::Paid,
                Payment::Deposit => PaymentState::Deposit,
                Payment::PayOnPickup => PaymentState::PayOnPickup,
            },
            lines: lines.to_vec(),
            details,
        };
        self.st.replica.reserve(&new).map_err(|e| match e {
            trestle_replica::Error::Short {
                variant,
                title,
                wanted,
                available,
                ..
            } => HubError::Conflict {
                code: "stock.short",
                message: format!("not enough stock online of {title}"),
                details: Some(json!({ "short": [ShortLine {
                    variant_id: variant.0, title, wanted, available: available.max(0)
                }] })),
            },
            other => other.into(),
        })?;
        self.st.codes.insert(code.as_str().to_string());
        self.tx.execute(
            "INSERT INTO reservation_meta (id, order_id, email, phone) VALUES (?1, ?2, ?3, ?4)",
            params![id.0.to_string(), order.to_string(), email, phone],
        )?;
        if let Some(till) = till {
            self.hand_over(id, till)?;
        }
        Ok(ReservationRef {
            id: id.0,
            code: code.display(),
            qr: code.qr_payload(),
        })
    }

    /// Hands a hub-held reservation to a till (its held units go with it) and tells the till.
    pub(crate) fn hand_over(&mut self, id: ReservationId, till: Holder) -> Result<()> {
        let r = self
            .st
            .replica
            .reservation(id)?
            .ok_or_else(|| HubError::not_found("reservation", id.0))?;
        for (v, _, _) in &r.lines {
            self.st.replica.ensure_holder(*v, till)?;
        }
        self.st
            .replica
            .hand_over_reservation(TransferId(new_id()), id, till)?;
        if let Holder::Till(t) = till {
            let body = self.reservation_json(id)?;
            store::feed(self.tx, t.0, "reservation.assigned", &body)?;
        }
        self.st.touched.extend(r.lines.iter().map(|(v, _, _)| *v));
        Ok(())
    }

    /// Orders, newest first (at most `limit`).
    pub fn orders(&mut self, limit: i64) -> Result<Vec<Order>> {
        let mut st = self
            .tx
            .prepare_cached("SELECT body FROM orders ORDER BY number DESC LIMIT ?1")?;
        let rows = st.query_map([limit], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        let bodies: Vec<String> = rows.collect::<rusqlite::Result<_>>()?;
        drop(st);
        for body in bodies {
            out.push(self.live_order(serde_json::from_str(&body)?)?);
        }
        Ok(out)
    }

    /// An order as stored, with its pickup's status read now.
    fn live_order(&self, mut order: Order) -> Result<Order> {
        if let Some(r) = &order.reservation {
            order.fulfilment_status = self
                .st
                .replica
                .reservation(ReservationId(r.id))?
                .map(|v| v.status);
        }
        Ok(order)
    }

    pub fn order(&mut self, id: Uuid) -> Result<Order> {
        let body: Option<String> = self
            .tx
            .query_row(
                "SELECT body FROM orders WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let body = body.ok_or_else(|| HubError::not_found("order", id))?;
        self.live_order(serde_json::from_str(&body)?)
    }
}
