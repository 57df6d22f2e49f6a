//! What the pickup services answer — serialisable for the CLI's `--json` and the desktop app —
//! and the pickup receipt as text.

use serde::Serialize;
use trestle_core::clock::format_utc;
use trestle_core::code::ReservationCode;
use trestle_core::ids::VariantId;
use trestle_core::sale::Sale;
use trestle_core::Money;
use trestle_replica::{Holder, ReservationView};
use uuid::Uuid;

use crate::shop::Shop;

/// One line of a pickup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PickupLine {
    pub variant_id: VariantId,
    pub title: String,
    pub sku: Option<String>,
    pub qty: i64,
    pub collected: i64,
    /// Handed over at another till, not yet taken in by the holder.
    pub pending: i64,
    /// Still to hand over.
    pub remaining: i64,
    pub unit_price: Money,
}

/// One hand-over of a pickup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PickupHandover {
    pub id: Uuid,
    pub by: String,
    pub by_this_till: bool,
    /// `settled`, `pending` or `refused` (handed over twice: a conflict).
    pub state: String,
    pub receipt: Option<String>,
    pub lines: Vec<(VariantId, i64)>,
}

/// A pickup reservation as the till shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pickup {
    pub id: Uuid,
    /// As people read it: `K7Q-M4WX`.
    pub code: String,
    /// What the customer's QR code encodes.
    pub qr: String,
    pub customer: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub event_id: Option<Uuid>,
    /// `hub` or `till:<id>`: who holds the units and decides the status.
    pub holder: String,
    /// True when this till holds it (else a hand-over here comes from this till's own stock).
    pub held_here: bool,
    pub status: String,
    /// `paid`, `deposit` or `pay_on_pickup`.
    pub payment_state: String,
    /// Paid before the hand-over (a deposit, or everything).
    pub paid: Money,
    /// Of that, not yet used by a hand-over.
    pub credit_left: Money,
    /// Unix ms; when the holder releases it if not collected.
    pub expires_at: Option<u64>,
    pub created_at: u64,
    pub lines: Vec<PickupLine>,
    pub handovers: Vec<PickupHandover>,
    /// A hand-over was made twice (or after a cancellation): a person decides.
    pub double_handover: bool,
}

impl Pickup {
    pub(crate) fn from_view(
        r: &ReservationView,
        me: Holder,
        currency: trestle_core::Currency,
        line: impl Fn(VariantId) -> (String, Option<String>, i64),
    ) -> Pickup {
        let code = ReservationCode::parse(&r.code).ok();
        let lines = r
            .lines
            .iter()
            .map(|(v, qty, done)| {
                let (title, sku, catalog_price) = line(*v);
                let price = r.details.prices.get(v).copied().unwrap_or(catalog_price);
                PickupLine {
                    variant_id: *v,
                    title,
                    sku,
                    qty: *qty,
                    collected: *done,
                    pending: r.pending(*v),
                    remaining: r.remaining(*v).max(0),
                    unit_price: Money::from_minor(price, currency),
                }
            })
            .collect();
        Pickup {
            id: r.id.0,
            code: code.as_ref().map_or(r.code.clone(), |c| c.display()),
            qr: code.as_ref().map_or(String::new(), |c| c.qr_payload()),
            customer: r.customer.clone(),
            email: r.details.email.clone(),
            phone: r.details.phone.clone(),
            event_id: r.event.map(|e| e.0),
            holder: r.holder.to_string(),
            held_here: r.holder == me,
            status: r.status.clone(),
            payment_state: r.payment_state.clone(),
            paid: Money::from_minor(r.details.paid_minor, currency),
            credit_left: Money::from_minor(r.credit_left(), currency),
            expires_at: r.details.expires_at,
            created_at: r.details.created_at,
            lines,
            handovers: r
                .handovers
                .iter()
                .map(|h| PickupHandover {
                    id: h.id.0,
                    by: h.by.to_string(),
                    by_this_till: h.by == me,
                    state: h.state.clone(),
                    receipt: Some(h.receipt.clone()).filter(|s| !s.is_empty()),
                    lines: h.lines.clone(),
                })
                .collect(),
            double_handover: !r.double_handovers().is_empty(),
        }
    }

    /// Units still to hand over, over every line.
    pub fn remaining(&self) -> i64 {
        self.lines.iter().map(|l| l.remaining).sum()
    }
}

/// What a hand-over did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collected {
    /// The pickup after the hand-over.
    pub pickup: Pickup,
    /// What was handed over now: (title, units).
    pub handed_over: Vec<(String, i64)>,
    /// The goods' value of this hand-over (tax included).
    pub goods: Money,
    /// Prepaid credit (deposit, or paid online) this hand-over used.
    pub credit_used: Money,
    /// The sale that took the payment, linked to the pickup (none when it was paid online).
    pub sale: Option<Sale>,
    /// True when another till holds the pickup: the units came from this till's own stock and
    /// the holder takes the hand-over in when the tills sync.
    pub for_another_till: bool,
}

/// A reservation made at this till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Created {
    pub pickup: Pickup,
    /// The deposit taken now, if any.
    pub deposit: Option<trestle_core::tender::Tender>,
}

const WIDTH: usize = 48;

fn row(out: &mut String, label: &str, value: &str) {
    let pad = WIDTH
        .saturating_sub(label.chars().count() + value.chars().count())
        .max(1);
    out.push_str(&format!("{label}{}{value}\n", " ".repeat(pad)));
}

/// The pickup receipt: what was handed over, what was paid before and now, what is left.
pub fn pickup_receipt(shop: &Shop, c: &Collected, at_ms: u64) -> String {
    let p = &c.pickup;
    let mut out = String::new();
    out.push_str(&format!("{}\n", shop.name));
    row(&mut out, &format!("Pickup {}", p.code), &format_utc(at_ms));
    out.push_str(&format!("For {}\n", p.customer));
    out.push_str(&format!("{}\n", "-".repeat(WIDTH)));
    for (title, n) in &c.handed_over {
        row(
            &mut out,
            &format!("  {n} x {}", cut(title, 36)),
            "handed over",
        );
    }
    out.push_str(&format!("{}\n", "-".repeat(WIDTH)));
    row(&mut out, "Goods", &c.goods.amount_string());
    if !c.credit_used.is_zero() {
        let label = if p.payment_state == "paid" {
            "Paid online"
        } else {
            "Deposit"
        };
        row(
            &mut out,
            label,
            &format!("-{}", c.credit_used.amount_string()),
        );
    }
    match &c.sale {
        Some(s) => {
            row(&mut out, &format!("Receipt {}", s.receipt), "");
            for t in s.tenders.iter().filter(|t| {
                !(t.kind == trestle_core::tender::TenderKind::Other
                    && t.reference
                        .as_deref()
                        .is_some_and(|r| r.starts_with("prepaid ")))
            }) {
                row(
                    &mut out,
                    &format!("  {}", t.kind),
                    &t.amount.amount_string(),
                );
            }
            if !s.change.is_zero() {
                row(&mut out, "  Change", &s.change.amount_string());
            }
        }
        None => row(&mut out, "Nothing to pay", ""),
    }
    let left = p.remaining();
    if left > 0 {
        row(&mut out, "Still to collect", &format!("{left} items"));
    } else {
        out.push_str("Everything collected. Thank you!\n");
    }
    if c.for_another_till {
        out.push_str(&format!("(held by {}; handed over here)\n", p.holder));
    }
    out
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
