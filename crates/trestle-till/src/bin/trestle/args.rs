//! The CLI's arguments (clap) and, per command, the step from strings to typed values to one
//! `Till` service call. Validation happens here, once, before anything is written.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use trestle_core::cart::Discount;
use trestle_core::catalog::Qty;
use trestle_core::receipt::{ReceiptNo, TillPrefix};
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::tender::Tender;
use trestle_core::Currency;
use trestle_till::returns::RefundItems;
use trestle_till::sell::{LineRequest, SellRequest};
use trestle_till::{Error, InitParams, Till};

use crate::{print_json, render};

/// Trestle: the point of sale for makers at markets — the till engine from the command line.
#[derive(Debug, Parser)]
#[command(name = "trestle", version, about)]
pub struct Cli {
    /// The till's data directory [default: ~/.local/share/trestle]
    #[arg(long, global = true, env = "TRESTLE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print one JSON document on stdout instead of a table
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up a new till in the data directory
    Init(InitArgs),
    /// Import or list the catalog
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Stock levels: every holder's free and held, on hand, and what this till may sell
    Stock,
    /// Check that the ledger and the stock replica agree (exit 1 when they do not)
    Audit,
    /// Ring up a sale and print its receipt
    Sell(SellArgs),
    /// Refund all or some of a sale to its original payment
    Refund(RefundArgs),
    /// Void a whole sale (all units back in stock, all payments reversed)
    Void(VoidArgs),
    /// List sales
    Sales(SalesArgs),
    /// Show one sale's receipt
    Receipt(ReceiptArgs),
    /// The events waiting to be sent to the hub
    Outbox(OutboxArgs),
    /// Pair this till with a hub, using the code the hub's admin gives
    Pair(PairArgs),
    /// One sync pass with the paired hub (outbox, shop document, feed, conflicts), or with
    /// --watch the background loop until Ctrl-C
    Sync(crate::sync_cmds::SyncArgs),
    /// Conflicts a person must decide, and resolving them
    Conflicts(crate::sync_cmds::ConflictsArgs),
    /// What the hub's feed asked of this till and what the till did
    Feed(crate::sync_cmds::FeedArgs),
    /// Staff: sign in and out, the roster, the refund limit
    #[command(subcommand)]
    Staff(crate::market::StaffCmd),
    /// The market day: open an event, cash in and out, X and Z reports, close
    #[command(subcommand)]
    Event(crate::market::EventCmd),
    /// Exports for the accountant
    #[command(subcommand)]
    Export(crate::market::ExportCmd),
    /// Pickup reservations: list, find, hand over, create, cancel, mark ready
    #[command(subcommand)]
    Reservations(crate::pickups::ReservationsCmd),
}

#[derive(Debug, Args)]
pub struct PairArgs {
    /// The hub's address, e.g. https://hub.example.org
    #[arg(long)]
    hub: String,
    /// The pairing code the hub showed, e.g. K7QM-4WXP
    #[arg(long)]
    code: String,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The shop's name, as on receipts
    #[arg(long)]
    shop: String,
    /// ISO 4217 currency code (GBP, EUR, USD, JPY, KWD, …)
    #[arg(long)]
    currency: String,
    /// Whether catalog prices include tax: inclusive or exclusive
    #[arg(long)]
    tax: String,
    /// The default tax rate for taxable products, in percent
    #[arg(long, default_value = "0")]
    tax_rate: String,
    /// This till's name
    #[arg(long)]
    till: String,
    /// Receipt number prefix (default: from the till's name)
    #[arg(long)]
    prefix: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCmd {
    /// Import a Shopify product CSV export (re-importing updates, never duplicates)
    Import {
        /// The CSV file
        file: PathBuf,
    },
    /// List the catalog
    List {
        /// Only items whose title, SKU or barcode contains this
        #[arg(long)]
        search: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct SellArgs {
    /// An item and quantity: SKU_OR_BARCODE=QTY, with an optional line discount: =QTY@10% or =QTY@2.50
    #[arg(long = "line", value_name = "ITEM=QTY[@DISCOUNT]", required = true)]
    lines: Vec<String>,
    /// A payment: cash=AMOUNT, card=AMOUNT[:REFERENCE], other=AMOUNT[:LABEL]
    #[arg(long = "pay", value_name = "KIND=AMOUNT")]
    pays: Vec<String>,
    /// A discount on the whole cart: 10% or 2.50
    #[arg(long)]
    discount: Option<String>,
    /// Sell a line at another unit price: LINE=AMOUNT (lines count from 1; needs a manager)
    #[arg(long = "price", value_name = "LINE=AMOUNT")]
    prices: Vec<String>,
    /// Sell beyond the stock this till holds (needs a manager; becomes a conflict to resolve)
    #[arg(long)]
    beyond_holding: bool,
    #[command(flatten)]
    approval: crate::market::ApprovalArgs,
}

#[derive(Debug, Args)]
pub struct RefundArgs {
    /// The receipt number, e.g. STALL1-000042
    receipt: String,
    /// Refund only these items: SKU_OR_BARCODE=QTY (default: everything not yet refunded)
    #[arg(long = "line", value_name = "ITEM=QTY")]
    lines: Vec<String>,
    /// Why
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    approval: crate::market::ApprovalArgs,
}

#[derive(Debug, Args)]
pub struct VoidArgs {
    /// The receipt number
    receipt: String,
    /// Why the sale is voided
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    approval: crate::market::ApprovalArgs,
}

#[derive(Debug, Args)]
pub struct SalesArgs {
    /// Only sales at or after this UTC time: 2026-11-22 or 2026-11-22T14:00
    #[arg(long)]
    since: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReceiptArgs {
    /// The receipt number
    receipt: String,
}

#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// Only what the hub has not acknowledged yet
    #[arg(long)]
    pending: bool,
}

fn invalid(msg: String) -> Error {
    Error::InvalidInput(msg)
}

pub fn init(dir: &Path, a: InitArgs, json: bool) -> Result<(), Error> {
    let currency = Currency::parse(&a.currency)?;
    let mode = TaxMode::parse(&a.tax)?;
    let rate = TaxRate::parse_percent(&a.tax_rate)?;
    let prefix = a.prefix.as_deref().map(TillPrefix::parse).transpose()?;
    let params = InitParams::new(&a.shop, currency, mode, rate, &a.till, prefix)?;
    let till = Till::init(dir, &params)?;
    if json {
        print_json(till.shop());
    } else {
        render::shop(till.shop(), dir);
    }
    Ok(())
}

pub fn catalog(dir: &Path, cmd: CatalogCmd, json: bool) -> Result<(), Error> {
    match cmd {
        CatalogCmd::Import { file } => {
            let bytes = std::fs::read(&file).map_err(|e| Error::ReadFile {
                path: file.clone(),
                reason: trestle_till::error::plain_io(&e),
            })?;
            let mut till = Till::open(dir)?;
            let summary = till.import_catalog(&bytes)?;
            if json {
                print_json(&summary);
            } else {
                render::import(&summary);
            }
        }
        CatalogCmd::List { search } => {
            let till = Till::open(dir)?;
            let items = till.catalog(search.as_deref())?;
            if json {
                print_json(&items);
            } else {
                render::catalog(&items);
            }
        }
    }
    Ok(())
}

pub fn audit(dir: &Path, json: bool) -> Result<(), Error> {
    let mut till = Till::open(dir)?;
    let findings = till.audit()?;
    if json {
        print_json(&findings);
    } else {
        render::audit(&findings);
    }
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::Conflicts(findings.len()))
    }
}

pub fn stock(dir: &Path, json: bool) -> Result<(), Error> {
    let till = Till::open(dir)?;
    let levels = till.stock()?;
    if json {
        print_json(&levels);
    } else {
        render::stock(&levels);
    }
    Ok(())
}

/// Splits `ITEM=REST` at the last `=` (SKUs may contain `=` only before it).
fn split_item(input: &str) -> Result<(&str, &str), Error> {
    input
        .rsplit_once('=')
        .filter(|(item, rest)| !item.trim().is_empty() && !rest.trim().is_empty())
        .ok_or_else(|| {
            invalid(format!(
                "{input:?} should be written ITEM=QTY, like MUG-1=2"
            ))
        })
}

fn parse_line(input: &str, currency: Currency) -> Result<LineRequest, Error> {
    let (item, rest) = split_item(input)?;
    let (qty, discount) = match rest.split_once('@') {
        Some((q, d)) => (q, Some(Discount::parse(d, currency)?)),
        None => (rest, None),
    };
    Ok(LineRequest {
        item: item.trim().to_string(),
        qty: Qty::parse(qty)?,
        discount,
    })
}

pub fn sell(dir: &Path, a: SellArgs, json: bool) -> Result<(), Error> {
    let mut till = Till::open(dir)?;
    let currency = till.shop().currency;
    let req = SellRequest {
        lines: a
            .lines
            .iter()
            .map(|l| parse_line(l, currency))
            .collect::<Result<_, _>>()?,
        tenders: a
            .pays
            .iter()
            .map(|p| Tender::parse(p, currency))
            .collect::<Result<_, _>>()?,
        cart_discount: a
            .discount
            .as_deref()
            .map(|d| Discount::parse(d, currency))
            .transpose()?,
        staff: None,
        event: None,
    };
    let opts = trestle_till::sell::SellOptions {
        price_overrides: a
            .prices
            .iter()
            .map(|p| {
                let (line, amount) = split_item(p)?;
                let n: usize = line
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| invalid(format!("{line:?} is not a line number")))?;
                Ok(trestle_till::sell::PriceOverride {
                    line: n - 1,
                    unit_price: trestle_core::Money::parse(amount, currency)?,
                })
            })
            .collect::<Result<_, Error>>()?,
        beyond_holding: a.beyond_holding,
        approval: a.approval.approval()?,
    };
    let sale = till.sell_with(&req, &opts)?;
    if json {
        print_json(&sale);
    } else {
        render::receipt(till.shop(), &sale, &[], false);
    }
    Ok(())
}

pub fn refund(dir: &Path, a: RefundArgs, json: bool) -> Result<(), Error> {
    let receipt = ReceiptNo::parse(&a.receipt)?;
    let items = if a.lines.is_empty() {
        RefundItems::All
    } else {
        RefundItems::Items(
            a.lines
                .iter()
                .map(|l| {
                    let (item, qty) = split_item(l)?;
                    Ok((item.trim().to_string(), Qty::parse(qty)?))
                })
                .collect::<Result<_, Error>>()?,
        )
    };
    let mut till = Till::open(dir)?;
    let approval = a.approval.approval()?;
    let refund = till.refund_approved(&receipt, &items, a.reason, approval.as_ref())?;
    if json {
        print_json(&refund);
    } else {
        render::refund(till.shop(), &refund);
    }
    Ok(())
}

pub fn void(dir: &Path, a: VoidArgs, json: bool) -> Result<(), Error> {
    let receipt = ReceiptNo::parse(&a.receipt)?;
    let mut till = Till::open(dir)?;
    let approval = a.approval.approval()?;
    let void = till.void_approved(&receipt, &a.reason, approval.as_ref())?;
    if json {
        print_json(&void);
    } else {
        out!("Voided {}: {}", void.sale_receipt, void.reason);
    }
    Ok(())
}

pub fn sales(dir: &Path, a: SalesArgs, json: bool) -> Result<(), Error> {
    let since = match a.since.as_deref() {
        None => None,
        Some(s) => Some(trestle_core::clock::parse_utc(s).ok_or_else(|| {
            invalid(format!(
                "{s:?} is not a date; write it like 2026-11-22 or 2026-11-22T14:00"
            ))
        })?),
    };
    let till = Till::open(dir)?;
    let sales = till.sales(since)?;
    if json {
        print_json(&sales);
    } else {
        render::sales(&sales);
    }
    Ok(())
}

pub fn receipt(dir: &Path, a: ReceiptArgs, json: bool) -> Result<(), Error> {
    let receipt = ReceiptNo::parse(&a.receipt)?;
    let till = Till::open(dir)?;
    let detail = till.sale(&receipt)?;
    if json {
        print_json(&detail);
    } else {
        render::receipt(till.shop(), &detail.sale, &detail.refunds, detail.voided);
    }
    Ok(())
}

pub fn outbox(dir: &Path, a: OutboxArgs, json: bool) -> Result<(), Error> {
    let till = Till::open(dir)?;
    let items = till.outbox(a.pending)?;
    if json {
        print_json(&items);
    } else {
        render::outbox(&items);
    }
    Ok(())
}

pub fn pair(dir: &Path, a: PairArgs, json: bool) -> Result<(), Error> {
    let mut till = Till::open(dir)?;
    let summary = till.pair(&a.hub, &a.code)?;
    if json {
        print_json(&summary);
    } else {
        render::paired(&summary);
    }
    Ok(())
}
