//! What a hand-over costs before it is made: the goods of the lines handed over, the prepaid
//! credit it uses, what is left to pay, and what the tenders offered so far do against it. The
//! Pickups screen asks this while the cashier picks lines; nothing is written.

use trestle_core::cart::{Cart, CartLine};
use trestle_core::catalog::{Qty, Sku};
use trestle_core::clock::format_utc;
use trestle_core::ids::VariantId;
use trestle_core::reservation::due_at_handover;
use trestle_core::tender::{settle, Tender};
use trestle_core::Money;

use trestle_replica::ids::MarketEventId;

use super::{CollectLines, Pickup};
use crate::catalog::resolve;
use crate::error::Result;
use crate::till::Till;

/// A hand-over priced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HandoverQuote {
    /// The goods handed over, tax included.
    pub goods: Money,
    /// Prepaid credit (deposit, or paid online) this hand-over uses.
    pub credit: Money,
    /// What the customer pays now.
    pub due: Money,
    /// Σ of the tenders offered.
    pub paid: Money,
    /// Still to pay (zero once covered).
    pub remaining: Money,
    /// Cash to give back when the tenders cover `due`.
    pub change: Money,
}

impl Till {
    /// Prices a hand-over of `lines` of the pickup `query` names and what `tenders` do against
    /// it. Refused like [`Till::collect_pickup`] refuses (unknown pickup, more than is left).
    pub fn quote_pickup(
        &self,
        query: &str,
        lines: &CollectLines,
        tenders: &[Tender],
    ) -> Result<HandoverQuote> {
        self.quote_of(&self.find_pickup(query)?, lines, tenders)
    }

    /// [`Till::quote_pickup`] of a pickup already in hand.
    fn quote_of(
        &self,
        p: &Pickup,
        lines: &CollectLines,
        tenders: &[Tender],
    ) -> Result<HandoverQuote> {
        let currency = self.shop.currency;
        let zero = Money::zero(currency);
        let goods = if lines == &CollectLines::All && p.remaining() == 0 {
            zero
        } else {
            let wanted = self.collect_lines(p, lines)?;
            self.handover_cart(p, &wanted)?.price()?.totals.total
        };
        let (due, credit) = due_at_handover(goods.minor(), p.credit_left.minor());
        let due = Money::from_minor(due, currency);
        let mut paid = zero;
        for t in tenders {
            paid = paid.checked_add(t.amount)?;
        }
        let remaining = if paid.minor() < due.minor() {
            due.checked_sub(paid)?
        } else {
            zero
        };
        let change = match settle(due, tenders.to_vec()) {
            Ok(s) if due.minor() > 0 => s.change,
            _ => zero,
        };
        Ok(HandoverQuote {
            goods,
            credit: Money::from_minor(credit, currency),
            due,
            paid,
            remaining,
            change,
        })
    }

    /// What is left to pay for everything still to hand over of `p`.
    pub fn pickup_due(&self, p: &Pickup) -> Result<Money> {
        Ok(self
            .quote_pickup(&p.id.to_string(), &CollectLines::All, &[])?
            .due)
    }

    /// The day `p` is to be picked up (UTC, `YYYY-MM-DD`): its event's first day, else the day
    /// it was made.
    pub fn pickup_day(&self, p: &Pickup) -> Result<String> {
        let starts = match p.event_id {
            Some(id) => self
                .replica()
                .event(MarketEventId(id))?
                .and_then(|e| u64::try_from(e.fields.starts).ok()),
            None => None,
        };
        let at = format_utc(starts.unwrap_or(p.created_at));
        Ok(at.chars().take(10).collect())
    }

    /// The cart of a hand-over: each line at the price the reservation was made at.
    pub(crate) fn handover_cart(&self, p: &Pickup, wanted: &[(VariantId, Qty)]) -> Result<Cart> {
        let currency = self.shop.currency;
        let mut cart = Cart::new(currency, self.shop.tax_mode);
        for (v, n) in wanted {
            let line = p.lines.iter().find(|l| l.variant_id == *v);
            let item = resolve(self.db.conn(), currency, &v.to_string())?;
            cart.lines.push(CartLine {
                variant_id: *v,
                sku: item.sku.as_deref().and_then(|s| Sku::parse(s).ok()),
                title: item.title.clone(),
                unit_price: line.map_or(item.price, |l| l.unit_price),
                tax_rate: item.tax_rate,
                qty: *n,
                discount: None,
            });
        }
        Ok(cart)
    }
}
