//! Crash safety, proven: a child process sells (and now and then refunds and voids) in a loop and
//! is killed with SIGKILL at random instants; after every kill the ledger must hold every record
//! the child reported done, whole, and no partial sale, refund or void.
//!
//! The child is this test binary re-run on itself (`crash_child`, which does nothing unless
//! `TRESTLE_CRASH_CHILD` names a data directory), so no test-only code ships in the till.
//! `TRESTLE_CRASH_KILLS` sets the number of kills (default 50); the long run is
//! `TRESTLE_CRASH_KILLS=1000 cargo test --release -p trestle-till --test crash`.
//!
//! The invariants, checked after every kill (see `crash/verify.rs`):
//! (a) every sale, refund and void reported done is in the database, as reported;
//! (b) every sale, refund and void is whole: its lines, tenders, totals, one outbox row, and stock
//!     movements matching its tracked lines;
//! (c) every outbox row and stock movement points at an existing record;
//! (d) every variant's stock equals the sum of its movements;
//! (e) `PRAGMA integrity_check` and `foreign_key_check` pass (on every full check, see `scope`);
//! (f) receipt numbers are 1..=n without gaps and the counter is at n + 1;
//! (g) the clock only moves forward, across restarts too.

#[path = "crash/verify.rs"]
mod verify;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rand::Rng;
use trestle_core::cart::{Cart, CartLine, Discount, Percent};
use trestle_core::catalog::{Qty, Sku};
use trestle_core::receipt::ReceiptNo;
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::tender::Tender;
use trestle_core::{Currency, Money};
use trestle_till::catalog::CatalogItem;
use trestle_till::returns::RefundItems;
use trestle_till::sell::{LineRequest, SellRequest};
use trestle_till::{InitParams, Till};

use verify::{Progress, Reported, Scope};

/// Set (to the data directory) only in the child.
const CHILD_ENV: &str = "TRESTLE_CRASH_CHILD";
const KILLS_ENV: &str = "TRESTLE_CRASH_KILLS";
const DEFAULT_KILLS: u32 = 50;
/// A child that is never killed stops by itself after this long (a parent that died early).
const CHILD_LIFETIME: Duration = Duration::from_secs(120);

/// Tracked `continue` variants (stock may go below zero), one tracked `deny` variant with more
/// stock than a run can sell, and untracked ones, so no sale is ever refused for stock.
const CATALOG: &str = "\
Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,Variant Price,Variant Taxable
tee,Tee,Size,S,TEE-S,shopify,5,continue,12.50,true
tee,,Size,M,TEE-M,shopify,0,continue,12.50,true
tee,,Size,L,TEE-L,shopify,-3,continue,13.99,true
card,Greeting card,Title,Default Title,CARD,,,deny,3.50,false
sticker,Sticker,Title,Default Title,STICKER,,,continue,0.35,true
mug,Mug,Title,Default Title,MUG,shopify,1000000000,deny,7.00,true
";
const SKUS: &[&str] = &["TEE-S", "TEE-M", "TEE-L", "CARD", "STICKER", "MUG"];

fn gbp() -> Currency {
    Currency::parse("GBP").unwrap()
}

// ---------------------------------------------------------------------------------------------
// The child.

/// The child's body; returns at once in a normal test run.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    child_loop(Path::new(&dir));
}

fn child_loop(dir: &Path) {
    let mut till = Till::open(dir).expect("the child opens the till");
    let items: Vec<CatalogItem> = SKUS
        .iter()
        .map(|s| {
            till.resolve_item(s)
                .expect("the catalog has every test SKU")
        })
        .collect();
    let tax_mode = till.shop().tax_mode;
    let mut rng = rand::rng();
    let mut out = std::io::stdout().lock();
    // The test harness has written `test crash_child ... ` without a newline: end that line so
    // every report starts one of its own.
    writeln!(out).and_then(|()| out.flush()).expect("stdout");
    // This run's sales that have neither refund nor void yet: receipt and its lines' SKUs.
    let mut open: Vec<(ReceiptNo, Vec<String>)> = Vec::new();
    let started = Instant::now();
    // A refund every 7th sale and a void every 11th, each of an earlier sale of this run.
    let (mut until_refund, mut until_void) = (7, 11);
    while started.elapsed() < CHILD_LIFETIME {
        let (req, expected_total) = random_sale(&mut rng, &items, tax_mode);
        let sale = till
            .sell(&req)
            .unwrap_or_else(|e| panic!("a sale was refused: {e} ({req:?})"));
        assert_eq!(
            sale.totals.total, expected_total,
            "the till priced the sale differently from trestle_core's pricing"
        );
        writeln!(
            out,
            "DONE {} {} {}",
            sale.receipt,
            sale.totals.total.minor(),
            sale.lines.len()
        )
        .and_then(|()| out.flush())
        .expect("stdout");
        until_refund -= 1;
        until_void -= 1;
        let skus = sale
            .lines
            .iter()
            .filter_map(|l| l.sku.as_ref().map(|s| s.as_str().to_string()))
            .collect();
        open.push((sale.receipt.clone(), skus));
        if until_refund <= 0 && open.len() > 1 {
            until_refund = 7;
            let (receipt, skus) = open.swap_remove(rng.random_range(0..open.len() - 1));
            let items = if rng.random_bool(0.3) {
                RefundItems::All
            } else {
                let sku = skus[rng.random_range(0..skus.len())].clone();
                RefundItems::Items(vec![(sku, Qty::new(1).unwrap())])
            };
            let refund = till
                .refund(&receipt, &items, Some("crash test".into()))
                .unwrap_or_else(|e| panic!("refund of {receipt} refused: {e}"));
            writeln!(out, "REFUND {}", refund.id)
                .and_then(|()| out.flush())
                .expect("stdout");
        }
        if until_void <= 0 && open.len() > 1 {
            until_void = 11;
            let (receipt, _) = open.swap_remove(rng.random_range(0..open.len() - 1));
            let void = till
                .void(&receipt, "crash test")
                .unwrap_or_else(|e| panic!("void of {receipt} refused: {e}"));
            writeln!(out, "VOID {}", void.id)
                .and_then(|()| out.flush())
                .expect("stdout");
        }
    }
}

/// 1–3 random lines (sometimes with a discount) and tenders paying at least the total, which is
/// computed with trestle_core's pricing so card tenders can be exact.
fn random_sale(
    rng: &mut impl Rng,
    items: &[CatalogItem],
    tax_mode: TaxMode,
) -> (SellRequest, Money) {
    let currency = gbp();
    let ten_percent = || Discount::Percent(Percent::parse("10%").unwrap());
    let mut cart = Cart::new(currency, tax_mode);
    let mut lines = Vec::new();
    for _ in 0..rng.random_range(1..=3) {
        let item = &items[rng.random_range(0..items.len())];
        let qty = Qty::new(rng.random_range(1..=3)).unwrap();
        let discount = rng.random_bool(0.2).then(ten_percent);
        cart.lines.push(CartLine {
            variant_id: item.variant_id,
            sku: item.sku.as_deref().map(|s| Sku::parse(s).unwrap()),
            title: item.title.clone(),
            unit_price: item.price,
            tax_rate: item.tax_rate,
            qty,
            discount: discount.clone(),
        });
        lines.push(LineRequest {
            item: item.sku.clone().expect("test variants have SKUs"),
            qty,
            discount,
        });
    }
    cart.discount = rng.random_bool(0.1).then(ten_percent);
    let total = cart.price().expect("the test cart prices").totals.total;
    let t = total.minor();
    let m = |minor: i64| Money::from_minor(minor, currency);
    let tenders = match rng.random_range(0..3) {
        1 if t > 0 => vec![Tender::card(total, Some("AUTH42"))],
        2 if t > 1 => {
            let card = rng.random_range(1..t);
            vec![
                Tender::card(m(card), None),
                Tender::cash(m(t - card + rng.random_range(0..=500))),
            ]
        }
        _ => vec![Tender::cash(m(t + rng.random_range(0..=2000)))],
    };
    let req = SellRequest {
        lines,
        tenders,
        cart_discount: cart.discount.clone(),
        staff: Some("Crash".into()),
        event: None,
    };
    (req, total)
}

// ---------------------------------------------------------------------------------------------
// The parent.

/// Kills the child if the parent panics before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sales_survive_sigkill_at_random_instants() {
    let kills: u32 = match std::env::var(KILLS_ENV) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{KILLS_ENV} must be a whole number, not {v:?}")),
        Err(_) => DEFAULT_KILLS,
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("till");
    {
        let params = InitParams::new(
            "Crash Test Shop",
            gbp(),
            TaxMode::Exclusive,
            TaxRate::parse_percent("20").unwrap(),
            "Till One",
            None,
        )
        .unwrap();
        let mut till = Till::init(&dir, &params).unwrap();
        let summary = till.import_catalog(CATALOG.as_bytes()).unwrap();
        assert_eq!(summary.variants_created, SKUS.len(), "{:?}", summary.rows);
    }
    let db = dir.join(trestle_till::till::DB_FILE);
    let exe = std::env::current_exe().unwrap();
    let mut reported = Reported::default();
    let mut progress = Progress::default();
    let mut rng = rand::rng();
    let mut killed_mid_run = 0u32;
    // How long a child takes to open the till before it sells: learnt from the cycles whose kill
    // came before any sale, so that on a loaded machine the kills still land mid-run.
    let mut startup_ms = 0u64;
    let mut counts = verify::Counts::default();
    let started = Instant::now();
    for cycle in 1..=kills {
        let mut child = KillOnDrop(
            Command::new(&exe)
                .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
                .env(CHILD_ENV, &dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the child starts"),
        );
        let stdout = child.0.stdout.take().unwrap();
        let mut stderr = child.0.stderr.take().unwrap();
        let lines = thread::spawn(move || complete_lines(stdout));
        let errors = thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        thread::sleep(Duration::from_millis(
            startup_ms + rng.random_range(5..=120),
        ));
        let alive = child.0.try_wait().unwrap().is_none();
        child.0.kill().unwrap();
        let status = child.0.wait().unwrap();
        let lines = lines.join().unwrap();
        let errors = errors.join().unwrap();
        assert!(
            alive,
            "cycle {cycle}: the child stopped before it was killed ({status}); it said:\n{errors}"
        );
        let mut done_this_cycle = 0;
        let mut reports_this_cycle = 0;
        for line in &lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["DONE", receipt, total, count] => {
                    let parsed = (total.parse().unwrap(), count.parse().unwrap());
                    let before = reported.sales.insert(receipt.to_string(), parsed);
                    assert!(
                        before.is_none(),
                        "cycle {cycle}: receipt {receipt} reported twice"
                    );
                    done_this_cycle += 1;
                    reports_this_cycle += 1;
                }
                ["REFUND", id] => {
                    assert!(reported.refunds.insert(id.to_string()));
                    reports_this_cycle += 1;
                }
                ["VOID", id] => {
                    assert!(reported.voids.insert(id.to_string()));
                    reports_this_cycle += 1;
                }
                _ => assert!(
                    !["DONE", "REFUND", "VOID"].iter().any(|w| line.contains(w)),
                    "cycle {cycle}: the child wrote a report the test cannot read: {line:?}"
                ),
            }
        }
        if done_this_cycle > 0 {
            killed_mid_run += 1;
        } else {
            startup_ms = (startup_ms * 3 / 2 + 20).min(3_000);
        }
        let before = counts.records();
        counts = verify::check(&db, &reported, &mut progress, scope(cycle, kills))
            .unwrap_or_else(|broken| panic!("after kill {cycle} of {kills}: {broken}"));
        verify::check_replica(&dir)
            .unwrap_or_else(|broken| panic!("after kill {cycle} of {kills}: {broken}"));
        // (a) Only the one action in flight at the kill may be in the database unreported.
        let unreported = counts.records() - before - reports_this_cycle;
        assert!(
            unreported == 0 || unreported == 1,
            "after kill {cycle} of {kills}: (a) {unreported} records appeared that the child \
             never reported (at most the one in flight at the kill may)"
        );
    }
    // The till still opens and sells after the last kill.
    let mut till = Till::open(&dir).expect("the till opens after the last kill");
    let mug = till.resolve_item("MUG").unwrap();
    let sale = till
        .sell(&SellRequest {
            lines: vec![LineRequest {
                item: "MUG".into(),
                qty: Qty::new(1).unwrap(),
                discount: None,
            }],
            tenders: vec![Tender::cash(Money::from_minor(10_000, gbp()))],
            ..SellRequest::default()
        })
        .expect("the till sells after the last kill");
    assert_eq!(sale.lines[0].variant_id, mug.variant_id);
    assert_eq!(sale.receipt.seq, u64::try_from(counts.sales).unwrap() + 1);
    drop(till);
    verify::check(&db, &reported, &mut progress, Scope::Full)
        .unwrap_or_else(|broken| panic!("after the final sale: {broken}"));

    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "crash test: {kills} kills ({killed_mid_run} after the child had sold), {} sales, {} \
         refunds, {} voids reported; the database holds {counts:?}; {:?}",
        reported.sales.len(),
        reported.refunds.len(),
        reported.voids.len(),
        started.elapsed()
    );
    assert!(
        !reported.sales.is_empty(),
        "no sale was reported done in {kills} cycles: the test proved nothing"
    );
    assert!(
        killed_mid_run * 2 >= kills,
        "only {killed_mid_run} of {kills} kills hit a child that had started selling"
    );
}

/// Every row is checked after each of the first 100 kills and the last; after that, every 25th
/// kill, and the others check the rows written since (keeping a 1000-kill run linear).
fn scope(cycle: u32, kills: u32) -> Scope {
    if cycle <= 100 || cycle == kills || cycle / 25 * 25 == cycle {
        Scope::Full
    } else {
        Scope::New
    }
}

/// The complete (newline-terminated) lines a child wrote before it was killed.
fn complete_lines(stdout: impl Read) -> Vec<String> {
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) if buf.ends_with(b"\n") => lines.push(String::from_utf8_lossy(&buf).into_owned()),
            Ok(_) => break,
        }
    }
    lines
}
