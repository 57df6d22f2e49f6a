//! `trestle reservations list|find|collect|create|cancel|ready`: the pickup services from the command
//! line. Arguments become typed values here, before anything is written.

use std::path::Path;

use clap::{Args, Subcommand};
use trestle_core::catalog::Qty;
use trestle_core::clock::{format_utc, parse_utc};
use trestle_core::tender::Tender;
use trestle_till::pickups::{pickup_receipt, CollectLines, NewPickup, Pickup, StallPayment};
use trestle_till::{Error, Till};

use crate::print_json;

#[derive(Debug, Subcommand)]
pub enum ReservationsCmd {
    /// Today's pickups still to hand over (expired holds are released first)
    List,
    /// Find pickups by code (typed or scanned), or part of a name, email or phone
    Find {
        /// A pickup code like K7Q-M4WX, a scanned TRESTLE:R:… payload, or a fragment
        query: String,
    },
    /// Hand over all or some of a pickup, taking what is left to pay
    Collect(CollectArgs),
    /// Set items aside for a customer at the stall
    Create(CreateArgs),
    /// Cancel a pickup this till holds (its items go back on sale)
    Cancel {
        /// The pickup code
        query: String,
    },
    /// Mark a pickup this till holds packed and ready to hand over (the customer is told)
    Ready {
        /// The pickup code
        query: String,
    },
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// The pickup code (or a scanned payload)
    query: String,
    /// Hand over only these items: SKU_OR_BARCODE=QTY (default: everything left)
    #[arg(long = "line", value_name = "ITEM=QTY")]
    lines: Vec<String>,
    /// A payment for what is left to pay: cash=AMOUNT, card=AMOUNT[:REF], other=AMOUNT[:LABEL]
    #[arg(long = "pay", value_name = "KIND=AMOUNT")]
    pays: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The customer's name
    #[arg(long)]
    customer: String,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    /// An item and quantity: SKU_OR_BARCODE=QTY
    #[arg(long = "line", value_name = "ITEM=QTY", required = true)]
    lines: Vec<String>,
    /// A deposit taken now: cash=AMOUNT, card=AMOUNT[:REF] (default: all paid at pickup)
    #[arg(long)]
    deposit: Option<String>,
    /// Hold until this UTC time (2026-12-05T15:00), then put the items back on sale
    #[arg(long, conflicts_with = "hold_for")]
    until: Option<String>,
    /// Hold for this long (90m, 2h, 3d), then put the items back on sale
    #[arg(long = "for")]
    hold_for: Option<String>,
    /// The market event (its id) it is for
    #[arg(long)]
    event: Option<String>,
}

fn invalid(msg: String) -> Error {
    Error::InvalidInput(msg)
}

fn item_qty(input: &str) -> Result<(String, Qty), Error> {
    let (item, qty) = input
        .rsplit_once('=')
        .filter(|(i, q)| !i.trim().is_empty() && !q.trim().is_empty())
        .ok_or_else(|| {
            invalid(format!(
                "{input:?} should be written ITEM=QTY, like MUG-1=2"
            ))
        })?;
    Ok((item.trim().to_string(), Qty::parse(qty)?))
}

/// `90m`, `2h`, `3d` → milliseconds.
fn duration_ms(input: &str) -> Result<u64, Error> {
    let t = input.trim();
    let bad = || {
        invalid(format!(
            "{input:?} is not a length of time; write it like 90m, 2h or 3d"
        ))
    };
    let (n, unit) = t.split_at(t.len().saturating_sub(1));
    let n: u64 = n.parse().map_err(|_| bad())?;
    let per = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    if n == 0 || n > 366 * 86_400_000 / per {
        return Err(bad());
    }
    Ok(n * per)
}

pub fn run(dir: &Path, cmd: ReservationsCmd, json: bool) -> Result<(), Error> {
    match cmd {
        ReservationsCmd::List => {
            let mut till = Till::open(dir)?;
            let list = till.pickups_today()?;
            if json {
                print_json(&list);
            } else {
                table(&list);
            }
        }
        ReservationsCmd::Find { query } => {
            let till = Till::open(dir)?;
            let list = till.find_pickups(&query)?;
            if list.is_empty() {
                return Err(Error::PickupNotFound(query));
            }
            if json {
                print_json(&list);
            } else {
                for p in &list {
                    detail(p);
                }
            }
        }
        ReservationsCmd::Collect(a) => {
            let lines = if a.lines.is_empty() {
                CollectLines::All
            } else {
                CollectLines::Items(
                    a.lines
                        .iter()
                        .map(|l| item_qty(l))
                        .collect::<Result<_, _>>()?,
                )
            };
            let mut till = Till::open(dir)?;
            let currency = till.shop().currency;
            let tenders: Vec<Tender> = a
                .pays
                .iter()
                .map(|p| Tender::parse(p, currency))
                .collect::<Result<_, _>>()?;
            let done = till.collect_pickup(&a.query, &lines, tenders)?;
            if json {
                print_json(&done);
            } else {
                let at = done.sale.as_ref().map_or(0, |s| s.at.wall_ms);
                let text = pickup_receipt(till.shop(), &done, at);
                out!("{}", text.trim_end());
            }
        }
        ReservationsCmd::Create(a) => {
            let lines: Vec<(String, Qty)> = a
                .lines
                .iter()
                .map(|l| item_qty(l))
                .collect::<Result<_, _>>()?;
            let event = a
                .event
                .as_deref()
                .map(|e| {
                    uuid::Uuid::parse_str(e.trim())
                        .map_err(|_| invalid(format!("{e:?} is not an event id")))
                })
                .transpose()?;
            let until = a
                .until
                .as_deref()
                .map(|u| {
                    parse_utc(u).ok_or_else(|| {
                        invalid(format!(
                            "{u:?} is not a time; write it like 2026-12-05T15:00"
                        ))
                    })
                })
                .transpose()?;
            let hold_for = a.hold_for.as_deref().map(duration_ms).transpose()?;
            let mut till = Till::open(dir)?;
            let currency = till.shop().currency;
            let payment = match &a.deposit {
                None => StallPayment::OnPickup,
                Some(d) => StallPayment::Deposit(Tender::parse(d, currency)?),
            };
            let expires_at = until.or(hold_for.map(|d| till.expiry_now() + d));
            let created = till.create_pickup(&NewPickup {
                customer: a.customer,
                email: a.email,
                phone: a.phone,
                lines,
                payment,
                expires_at,
                event,
            })?;
            if json {
                print_json(&created);
            } else {
                detail(&created.pickup);
                if let Some(d) = &created.deposit {
                    out!("Deposit taken: {} {}", d.kind, d.amount.amount_string());
                }
                out!(
                    "Give the customer the code {} (QR: {}).",
                    created.pickup.code,
                    created.pickup.qr
                );
            }
        }
        ReservationsCmd::Ready { query } => {
            let mut till = Till::open(dir)?;
            let p = till.mark_pickup_ready(&query)?;
            if json {
                print_json(&p);
            } else {
                out!(
                    "Pickup {} for {} is ready to hand over.",
                    p.code,
                    p.customer
                );
            }
        }
        ReservationsCmd::Cancel { query } => {
            let mut till = Till::open(dir)?;
            let p = till.cancel_pickup(&query)?;
            if json {
                print_json(&p);
            } else {
                out!(
                    "Cancelled pickup {} for {}; its items are on sale again.",
                    p.code,
                    p.customer
                );
                if !p.paid.is_zero() {
                    out!("Give back the deposit of {}.", p.paid.amount_string());
                }
            }
        }
    }
    Ok(())
}

fn table(list: &[Pickup]) {
    out!(
        "{:<9} {:<24} {:<20} {:>5} {:<14} {}",
        "CODE",
        "CUSTOMER",
        "STATUS",
        "LEFT",
        "PAYMENT",
        "HELD BY"
    );
    for p in list {
        out!(
            "{:<9} {:<24} {:<20} {:>5} {:<14} {}",
            p.code,
            p.customer.chars().take(24).collect::<String>(),
            p.status,
            p.remaining(),
            p.payment_state,
            if p.held_here {
                "this till".to_string()
            } else {
                p.holder.clone()
            }
        );
    }
    out!("{} pickups to hand over", list.len());
}

fn detail(p: &Pickup) {
    out!(
        "Pickup {} for {} — {} ({})",
        p.code,
        p.customer,
        p.status.replace('_', " "),
        p.payment_state
    );
    for c in [&p.email, &p.phone].into_iter().flatten() {
        out!("  {c}");
    }
    for l in &p.lines {
        out!(
            "  {} x {} at {}: {} collected, {} left",
            l.qty,
            l.title,
            l.unit_price.amount_string(),
            l.collected,
            l.remaining
        );
    }
    if !p.paid.is_zero() {
        out!(
            "  paid before: {} ({} not yet used)",
            p.paid.amount_string(),
            p.credit_left.amount_string()
        );
    }
    if let Some(at) = p.expires_at {
        out!("  held until {}", format_utc(at));
    }
    if p.double_handover {
        out!("  HANDED OVER TWICE: a conflict for the maker to decide");
    }
    if !p.held_here {
        out!(
            "  held by {}; a hand-over here comes from this till's own stock",
            p.holder
        );
    }
}
