//! Human-readable output of the CLI: receipts and tables. (`--json` prints the typed values
//! instead.)

use std::path::Path;

use trestle_core::clock::format_utc;
use trestle_core::ledger::Refund;
use trestle_core::sale::Sale;
use trestle_core::Money;
use trestle_till::catalog::{CatalogItem, ImportSummary};
use trestle_till::queries::{OutboxItem, SaleSummary, StockLevel};
use trestle_till::replica::Finding;
use trestle_till::sync::{PairSummary, SyncSummary};
use trestle_till::Shop;

const WIDTH: usize = 48;

fn row(label: &str, value: &str) {
    let pad = WIDTH
        .saturating_sub(label.chars().count() + value.chars().count())
        .max(1);
    out!("{label}{}{value}", " ".repeat(pad));
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

fn neg(m: Money) -> String {
    format!("-{}", m.amount_string())
}

pub fn shop(shop: &Shop, dir: &Path) {
    out!(
        "Till {:?} of {} is set up in {}.",
        shop.till_name,
        shop.name,
        dir.display()
    );
    out!(
        "Currency {}, prices {} of tax (default rate {}), receipts numbered {}-000001 on.",
        shop.currency,
        shop.tax_mode.as_str(),
        shop.default_tax_rate,
        shop.prefix
    );
}

pub fn import(s: &ImportSummary) {
    for r in &s.rows {
        out!(
            "line {:>5}  {:<32}  {}",
            r.line,
            cut(&r.handle, 32),
            r.outcome.summary()
        );
    }
    out!(
        "\nProducts: {} new, {} updated. Variants: {} new, {} updated. Rows: {}.",
        s.products_created,
        s.products_updated,
        s.variants_created,
        s.variants_updated,
        s.rows.len()
    );
}

pub fn catalog(items: &[CatalogItem]) {
    out!(
        "{:<14} {:<44} {:>10} {:>6}",
        "SKU",
        "ITEM",
        "PRICE",
        "STOCK"
    );
    for i in items {
        out!(
            "{:<14} {:<44} {:>10} {:>6}",
            cut(i.sku.as_deref().unwrap_or("-"), 14),
            cut(&i.title, 44),
            i.price.amount_string(),
            i.on_hand.map_or("-".to_string(), |n| n.to_string())
        );
    }
    out!("{} items", items.len());
}

pub fn stock(levels: &[StockLevel]) {
    out!(
        "{:<10} {:<40} {:>8} {:>8} {:>9}  HOLDERS (free/held)",
        "SKU",
        "ITEM",
        "POLICY",
        "ON HAND",
        "AVAILABLE"
    );
    for l in levels {
        let holders: Vec<String> = l
            .holders
            .iter()
            .map(|h| format!("{} {}/{}", short_holder(&h.holder), h.free, h.held))
            .collect();
        out!(
            "{:<10} {:<40} {:>8} {:>8} {:>9}  {}",
            cut(l.sku.as_deref().unwrap_or("-"), 10),
            cut(&l.title, 40),
            l.policy.as_str(),
            l.on_hand,
            l.available,
            holders.join(", ")
        );
    }
    let total: i64 = levels.iter().map(|l| l.on_hand).sum();
    let mine: i64 = levels.iter().map(|l| l.available).sum();
    out!(
        "{} tracked variants, {} units on hand, {} available at this till",
        levels.len(),
        total,
        mine
    );
}

/// `till:0195…-…` → `till:0195…` so the table stays readable; `hub` stays.
fn short_holder(h: &str) -> String {
    match h.strip_prefix("till:") {
        Some(id) => format!("till:{}", cut(id, 9)),
        None => h.to_string(),
    }
}

pub fn audit(findings: &[Finding]) {
    if findings.is_empty() {
        out!("The ledger and the stock replica agree: no conflicts.");
        return;
    }
    for f in findings {
        let facts: Vec<String> = f.facts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        out!(
            "{} {} at {}: {}",
            f.kind,
            f.variant,
            f.holder,
            facts.join(", ")
        );
        out!("  resolutions: {}", f.resolutions.join(", "));
    }
    out!("{} conflicts", findings.len());
}

pub fn receipt(shop: &Shop, sale: &Sale, refunds: &[Refund], voided: bool) {
    out!("{}", shop.name);
    row(
        &format!("Receipt {}", sale.receipt),
        &format_utc(sale.at.wall_ms),
    );
    out!("{}", "-".repeat(WIDTH));
    for l in &sale.lines {
        out!("{}", cut(&l.title, WIDTH));
        row(
            &format!("  {} x {}", l.qty.get(), l.unit_price.amount_string()),
            &l.gross.amount_string(),
        );
        if !l.line_discount.is_zero() {
            row("  line discount", &neg(l.line_discount));
        }
    }
    out!("{}", "-".repeat(WIDTH));
    row("Subtotal", &sale.totals.subtotal.amount_string());
    if !sale.totals.discount.is_zero() {
        row("Discounts", &neg(sale.totals.discount));
    }
    for band in sale.tax_by_rate() {
        if !band.rate.is_zero() {
            let word = match sale.tax_mode {
                trestle_core::tax::TaxMode::Inclusive => "incl.",
                trestle_core::tax::TaxMode::Exclusive => "tax",
            };
            row(
                &format!("  {word} {} on {}", band.rate, band.net.amount_string()),
                &band.tax.amount_string(),
            );
        }
    }
    row(
        &format!("TOTAL {}", sale.currency),
        &sale.totals.total.amount_string(),
    );
    for t in &sale.tenders {
        let label = match &t.reference {
            Some(r) => format!("{} ({r})", t.kind),
            None => t.kind.to_string(),
        };
        row(&label, &t.amount.amount_string());
    }
    if !sale.change.is_zero() {
        row("Change", &sale.change.amount_string());
    }
    for r in refunds {
        row(
            &format!("Refunded {}", format_utc(r.at.wall_ms)),
            &neg(r.plan.total),
        );
    }
    if voided {
        out!("*** VOIDED ***");
    }
}

pub fn refund(shop: &Shop, r: &Refund) {
    out!("{}", shop.name);
    row(
        &format!("Refund of {}", r.sale_receipt),
        &format_utc(r.at.wall_ms),
    );
    for l in &r.plan.lines {
        row(
            &format!("  line {} x {}", l.line_no, l.qty.get()),
            &neg(l.amount),
        );
    }
    row("Refund total", &neg(r.plan.total));
    for t in &r.plan.tenders {
        row(&format!("  back to {}", t.kind), &t.amount.amount_string());
    }
}

pub fn sales(sales: &[SaleSummary]) {
    out!(
        "{:<16} {:<21} {:>5} {:>11} {:>10}  {}",
        "RECEIPT",
        "TIME (UTC)",
        "ITEMS",
        "TOTAL",
        "REFUNDED",
        "PAID BY"
    );
    for s in sales {
        let state = if s.voided { " (voided)" } else { "" };
        out!(
            "{:<16} {:<21} {:>5} {:>11} {:>10}  {}{state}",
            s.receipt,
            format_utc(s.at.wall_ms),
            s.items,
            s.total.amount_string(),
            if s.refunded.is_zero() {
                "-".to_string()
            } else {
                s.refunded.amount_string()
            },
            s.tenders.join("+")
        );
    }
    out!("{} sales", sales.len());
}

pub fn outbox(items: &[OutboxItem]) {
    out!(
        "{:>6}  {:<15} {:<38} {:<8}",
        "SEQ",
        "KIND",
        "EVENT ID",
        "STATE"
    );
    for i in items {
        out!(
            "{:>6}  {:<15} {:<38} {:<8}",
            i.seq,
            i.kind,
            i.event_id,
            if i.acked { "sent" } else { "pending" }
        );
    }
    let pending = items.iter().filter(|i| !i.acked).count();
    out!("{} events, {} waiting for the hub", items.len(), pending);
}

pub fn paired(s: &PairSummary) {
    if s.renewed {
        out!(
            "Till {:?} has a new device token for {} at {} (valid until {}).",
            s.till_name,
            s.shop_name,
            s.hub_url,
            s.token_expires_at
        );
        return;
    }
    out!(
        "Till {:?} is paired with {} at {} (token valid until {}).",
        s.till_name,
        s.shop_name,
        s.hub_url,
        s.token_expires_at
    );
    out!(
        "The catalog and stock now come from the hub; {} variants were new to this till.",
        s.variants_added
    );
    if s.outbox_pending > 0 {
        out!(
            "{} sales, refunds or voids made before pairing will be sent at the next `trestle sync`.",
            s.outbox_pending
        );
    }
}

pub fn synced(s: &SyncSummary) {
    out!("Synced with {}.", s.hub_url);
    row("pushed", &s.pushed.to_string());
    row("duplicates (sent before)", &s.duplicates.to_string());
    row("merged changes", &s.merged.to_string());
    row("feed entries", &s.feed_entries.to_string());
    row("feed entries acted on", &s.feed_applied.to_string());
    row(
        "open conflicts (see `trestle conflicts`)",
        &s.open_conflicts.to_string(),
    );
    if s.conflicts > 0 {
        row(
            "stock conflicts (see `trestle audit`)",
            &s.conflicts.to_string(),
        );
    }
    row("still waiting in the outbox", &s.pending.to_string());
}
