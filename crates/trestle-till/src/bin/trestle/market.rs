//! The market-day commands: `trestle staff …` (sign in and out, the roster, the refund limit),
//! `trestle event …` (list, open with a float, cash in and out, X and Z reports, the guided
//! close) and `trestle export sales`. PINs are read from the environment (`TRESTLE_PIN`,
//! `TRESTLE_MANAGER_PIN`) or one line of stdin, never from the command line.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use trestle_core::staff::Pin;
use trestle_core::Money;
use trestle_till::event::{CashKind, CountLine};
use trestle_till::export::report_html;
use trestle_till::report::ZReport;
use trestle_till::staff::Approval;
use trestle_till::{Error, Till};

use crate::print_json;

/// A manager's approval: their name here, their PIN from `TRESTLE_MANAGER_PIN` or stdin.
#[derive(Debug, Args, Default)]
pub struct ApprovalArgs {
    /// A manager approving this (their PIN from TRESTLE_MANAGER_PIN or one line of stdin)
    #[arg(long, value_name = "NAME")]
    approve_by: Option<String>,
}

impl ApprovalArgs {
    pub fn approval(&self) -> Result<Option<Approval>, Error> {
        match &self.approve_by {
            None => Ok(None),
            Some(m) => Ok(Some(Approval {
                manager: m.clone(),
                pin: read_pin("TRESTLE_MANAGER_PIN")?,
            })),
        }
    }
}

fn read_pin(var: &str) -> Result<Pin, Error> {
    let text = match std::env::var(var) {
        Ok(v) => v,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|_| Error::InvalidInput("the PIN could not be read".into()))?;
            line
        }
    };
    Ok(Pin::parse(&text)?)
}

#[derive(Debug, Subcommand)]
pub enum StaffCmd {
    /// The staff on this till (from the hub's roster, pulled at each sync)
    List,
    /// Sign in (or switch to) a staff member; the PIN from TRESTLE_PIN or one line of stdin
    SignIn {
        /// The staff member's name
        name: String,
    },
    /// Sign out whoever is signed in
    SignOut,
    /// Who is acting on this till now
    Whoami,
    /// Set the refund total above which a cashier needs a manager (managers only)
    RefundLimit {
        /// The amount, e.g. 50.00
        amount: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventCmd {
    /// The events the hub assigned this till
    List,
    /// Open an event: shows what the till holds; the counted opening float
    Open {
        /// The event's id or name
        event: String,
        /// The counted opening cash float, e.g. 50.00
        #[arg(long)]
        float: String,
    },
    /// What this till holds now
    Stock,
    /// Cash into the drawer (in) or out of it (out), with a reason
    Cash {
        /// in or out
        direction: String,
        /// The amount, e.g. 20.00
        amount: String,
        #[arg(long)]
        reason: String,
    },
    /// The X report of the open event (no event named), or the Z report of a closed one
    Report(ReportArgs),
    /// Close the open event: stocktake, cash count, Z report, unsold stock back to the hub
    Close(CloseArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A closed event's id or name (default: the X report of the open event)
    event: Option<String>,
    /// Write the report as a printable HTML page to this file
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CloseArgs {
    /// A counted item: ITEM=COUNT, with a reason when it differs: ITEM=COUNT:REASON
    #[arg(long = "count", value_name = "ITEM=COUNT[:REASON]")]
    counts: Vec<String>,
    /// The cash counted in the drawer, e.g. 312.40
    #[arg(long)]
    cash: String,
    #[command(flatten)]
    approval: ApprovalArgs,
    /// Write the Z report as a printable HTML page to this file
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ExportCmd {
    /// An event's sales and refunds as CSV (stable columns; see docs/market-day.md)
    Sales {
        #[arg(long)]
        event: String,
        /// Write to this file instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn money(till: &Till, s: &str) -> Result<Money, Error> {
    Ok(Money::parse(s, till.shop().currency)?)
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::DataDir {
        dir: path.to_path_buf(),
        reason: trestle_till::error::plain_io(&e),
    })
}

pub fn staff(dir: &Path, cmd: StaffCmd, json: bool) -> Result<(), Error> {
    let mut till = Till::open(dir)?;
    match cmd {
        StaffCmd::List => {
            let staff = till.staff()?;
            if json {
                print_json(&staff);
            } else if staff.is_empty() {
                out!("No staff: this till runs as the owner. Add staff at the hub and sync.");
            } else {
                for s in staff {
                    let state = if s.active { "" } else { " (no longer active)" };
                    out!("{:<24} {}{state}", s.name, s.role.as_str());
                }
            }
        }
        StaffCmd::SignIn { name } => {
            let pin = read_pin("TRESTLE_PIN")?;
            let s = till.sign_in(&name, &pin)?;
            if json {
                print_json(&s);
            } else {
                out!("Signed in: {} ({})", s.name, s.role.as_str());
            }
        }
        StaffCmd::SignOut => {
            till.sign_out()?;
            if !json {
                out!("Signed out.");
            }
        }
        StaffCmd::Whoami => {
            let a = till.actor()?;
            if json {
                print_json(&a);
            } else {
                match a {
                    trestle_till::staff::Actor::Owner => out!("The owner (no staff on this till)."),
                    trestle_till::staff::Actor::Staff(s) => {
                        out!("{} ({})", s.name, s.role.as_str())
                    }
                }
            }
        }
        StaffCmd::RefundLimit { amount } => {
            let m = money(&till, &amount)?;
            till.set_refund_threshold(m)?;
            if !json {
                out!("Refunds above {m} now need a manager.");
            }
        }
    }
    Ok(())
}

pub fn event(dir: &Path, cmd: EventCmd, json: bool) -> Result<(), Error> {
    let mut till = Till::open(dir)?;
    match cmd {
        EventCmd::List => {
            let events = till.events()?;
            if json {
                print_json(&events);
            } else if events.is_empty() {
                out!("No events for this till yet; the maker assigns it at the hub, then sync.");
            } else {
                for e in events {
                    out!(
                        "{}  {:<30} hub: {:<8} here: {}",
                        e.id,
                        e.name,
                        e.hub_status,
                        e.till_status
                    );
                }
            }
        }
        EventCmd::Open { event, float } => {
            let float = money(&till, &float)?;
            let opened = till.open_event(&event, float)?;
            if json {
                print_json(&opened);
            } else {
                out!(
                    "Opened {} with a float of {float}. This till holds:",
                    opened.name
                );
                for h in &opened.holding {
                    out!(
                        "  {:<40} {:>5} free {:>5} reserved",
                        h.title,
                        h.free,
                        h.held
                    );
                }
            }
        }
        EventCmd::Stock => {
            let h = till.holding()?;
            if json {
                print_json(&h);
            } else {
                for h in &h {
                    out!(
                        "  {:<40} {:>5} free {:>5} reserved",
                        h.title,
                        h.free,
                        h.held
                    );
                }
            }
        }
        EventCmd::Cash {
            direction,
            amount,
            reason,
        } => {
            let kind = match direction.trim().to_ascii_lowercase().as_str() {
                "in" => CashKind::In,
                "out" => CashKind::Out,
                _ => return Err(Error::InvalidInput("say in or out".into())),
            };
            let m = money(&till, &amount)?;
            till.cash_move(kind, m, &reason)?;
            if !json {
                out!("Cash {direction} {m}: {reason}");
            }
        }
        EventCmd::Report(a) => {
            let z = match &a.event {
                None => till.x_report()?,
                Some(e) => till.z_report(e)?,
            };
            show(&z, a.html.as_deref(), json)?;
        }
        EventCmd::Close(a) => {
            let counts = a
                .counts
                .iter()
                .map(|c| parse_count(c))
                .collect::<Result<Vec<_>, _>>()?;
            let cash = money(&till, &a.cash)?;
            let approval = a.approval.approval()?;
            till.stocktake(&counts, approval.as_ref())?;
            let z = till.close_event(cash)?;
            show(&z, a.html.as_deref(), json)?;
        }
    }
    Ok(())
}

fn parse_count(input: &str) -> Result<CountLine, Error> {
    let (item, rest) = input
        .rsplit_once('=')
        .or_else(|| input.split_once('='))
        .ok_or_else(|| Error::InvalidInput(format!("{input:?} should be written ITEM=COUNT")))?;
    let (n, reason) = match rest.split_once(':') {
        Some((n, r)) => (n, Some(r.trim().to_string())),
        None => (rest, None),
    };
    let counted: i64 = n
        .trim()
        .parse()
        .map_err(|_| Error::InvalidInput(format!("{n:?} is not a count of units")))?;
    Ok(CountLine {
        item: item.trim().to_string(),
        counted,
        reason,
    })
}

fn show(z: &ZReport, html: Option<&Path>, json: bool) -> Result<(), Error> {
    if let Some(path) = html {
        write_file(path, &report_html(z)?)?;
    }
    if json {
        print_json(z);
        return Ok(());
    }
    let cur = trestle_core::Currency::parse(&z.currency)?;
    let m = |n: i64| Money::from_minor(n, cur).to_string();
    out!("{} report: {} ({})", z.kind, z.event_name, z.till_name);
    out!(
        "  sales {:>4}  {:>12}",
        z.sales.count,
        m(z.sales.total_minor)
    );
    out!(
        "  refunds {:>2}  {:>12}",
        z.refunds.count,
        m(z.refunds.total_minor)
    );
    out!(
        "  voids {:>4}  {:>12}",
        z.voids.count,
        m(z.voids.total_minor)
    );
    for t in &z.tenders {
        out!("  {:<10} {:>12}", t.kind, m(t.net_minor));
    }
    out!("  cash expected {:>12}", m(z.cash.expected_minor));
    if let (Some(c), Some(v)) = (z.cash.counted_minor, z.cash.variance_minor) {
        out!("  cash counted  {:>12}  variance {}", m(c), m(v));
    }
    for v in &z.variances {
        out!(
            "  variance {}: {} expected, {} counted ({:+})",
            v.title,
            v.expected,
            v.counted,
            v.delta
        );
    }
    Ok(())
}

pub fn export(dir: &Path, cmd: ExportCmd) -> Result<(), Error> {
    let till = Till::open(dir)?;
    match cmd {
        ExportCmd::Sales { event, out } => {
            let csv = till.export_sales_csv(&event)?;
            match out {
                Some(p) => write_file(&p, &csv)?,
                None => out!("{}", csv.trim_end()),
            }
        }
    }
    Ok(())
}
