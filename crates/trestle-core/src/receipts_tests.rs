//! Hand-worked receipts: each test's comment shows the arithmetic done on paper, and the test
//! checks that the cart, tender, sale and refund modules reach the same figures.
//!
//! Notation: amounts in minor units unless written with a decimal point; "→" is rounding half
//! away from zero; "incl." / "excl." is the shop's price mode.

use uuid::Uuid;

use crate::cart::{Cart, CartLine, Discount, Percent, PricedLine};
use crate::catalog::Qty;
use crate::clock::Hlc;
use crate::ids::{SaleId, TillId, VariantId};
use crate::money::{Currency, Money};
use crate::receipt::{ReceiptNo, TillPrefix};
use crate::refund::{plan_refund, RefundPlan, RefundRequest};
use crate::sale::{complete, Sale, SaleMeta};
use crate::tax::{TaxMode, TaxRate};
use crate::tender::{Tender, TenderKind};

fn cur(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn rate(pct: &str) -> TaxRate {
    TaxRate::parse_percent(pct).unwrap()
}

fn pct(p: &str) -> Option<Discount> {
    Some(Discount::Percent(Percent::parse(p).unwrap()))
}

/// A line: `n` identifies the variant; `price` in minor units of `c`.
fn line(c: Currency, n: u128, price: i64, qty: u32, tax: &str) -> CartLine {
    CartLine {
        variant_id: VariantId(Uuid::from_u128(n)),
        sku: None,
        title: format!("Item {n}"),
        unit_price: Money::from_minor(price, c),
        tax_rate: rate(tax),
        qty: Qty::new(qty).unwrap(),
        discount: None,
    }
}

fn cart(c: Currency, mode: TaxMode, lines: Vec<CartLine>) -> Cart {
    Cart {
        currency: c,
        tax_mode: mode,
        lines,
        discount: None,
    }
}

fn meta() -> SaleMeta {
    SaleMeta {
        id: SaleId(Uuid::from_u128(0x5a1e)),
        receipt: ReceiptNo {
            prefix: TillPrefix::parse("A1").unwrap(),
            seq: 42,
        },
        till_id: TillId(Uuid::from_u128(0x7111)),
        at: Hlc {
            wall_ms: 1_700_000_000_000,
            counter: 0,
        },
        staff: Some("Ada".into()),
        event: Some("Winter Makers Market".into()),
    }
}

/// `[gross, line_discount, cart_discount, net, tax, total]` of a priced line, in minor units.
fn figures(l: &PricedLine) -> [i64; 6] {
    [
        l.gross.minor(),
        l.line_discount.minor(),
        l.cart_discount.minor(),
        l.net.minor(),
        l.tax.minor(),
        l.total.minor(),
    ]
}

/// `[subtotal, discount, tax, total]` of a sale, in minor units.
fn totals(s: &Sale) -> [i64; 4] {
    [
        s.totals.subtotal.minor(),
        s.totals.discount.minor(),
        s.totals.tax.minor(),
        s.totals.total.minor(),
    ]
}

/// Refund figures: `(line_no, qty, amount, tax)` per line and `(tender_index, amount)` per tender.
type RefundFigures = (Vec<(u32, u32, i64, i64)>, Vec<(u32, i64)>);

fn refund_figures(p: &RefundPlan) -> RefundFigures {
    (
        p.lines
            .iter()
            .map(|l| (l.line_no, l.qty.get(), l.amount.minor(), l.tax.minor()))
            .collect(),
        p.tenders
            .iter()
            .map(|t| (t.tender_index, t.amount.minor()))
            .collect(),
    )
}

/// R1 — GBP, incl. 20 %, one line, cash with change.
///   2 × 12.00 = 24.00 gross; tax = 24.00 × 20/120 = 4.00 exactly; net 20.00.
///   Cash 30.00 − 24.00 = 6.00 change.
#[test]
fn r01_inclusive_single_line_cash_change() {
    let g = cur("GBP");
    let c = cart(g, TaxMode::Inclusive, vec![line(g, 1, 1200, 2, "20")]);
    let s = complete(&c, vec![Tender::cash(Money::from_minor(3000, g))], meta()).unwrap();
    assert_eq!(figures(&s.lines[0]), [2400, 0, 0, 2000, 400, 2400]);
    assert_eq!(totals(&s), [2400, 0, 400, 2400]);
    assert_eq!(s.change.minor(), 600);
}

/// R2 — USD, excl. 8.875 %, tax exactly on a half cent.
///   A: 3 × 4.99 = 14.97; tax 1497 × 0.08875 = 132.85875 → 133; total 16.30.
///   B: 1 × 20.00;        tax 2000 × 0.08875 = 177.5 → 178 (half away); total 21.78.
///   Subtotal 34.97, tax 3.11, total 38.08; card exact, no change.
#[test]
fn r02_exclusive_half_cent_tax() {
    let u = cur("USD");
    let c = cart(
        u,
        TaxMode::Exclusive,
        vec![line(u, 1, 499, 3, "8.875"), line(u, 2, 2000, 1, "8.875")],
    );
    let s = complete(
        &c,
        vec![Tender::card(Money::from_minor(3808, u), Some("AUTH1"))],
        meta(),
    )
    .unwrap();
    assert_eq!(figures(&s.lines[0]), [1497, 0, 0, 1497, 133, 1630]);
    assert_eq!(figures(&s.lines[1]), [2000, 0, 0, 2000, 178, 2178]);
    assert_eq!(totals(&s), [3497, 0, 311, 3808]);
    assert_eq!(s.change.minor(), 0);
}

/// R3 — GBP, incl. 20 %, line discounts: an amount and a percentage.
///   A: 1 × 25.00, 5.00 off → 20.00; tax 2000/6 = 333.33 → 333; net 1667.
///   B: 1 × 8.00, 10 % off = 0.80 → 7.20; tax 720/6 = 120 exactly; net 600.
///   Subtotal 33.00, discount 5.80, tax 4.53, total 27.20.
#[test]
fn r03_inclusive_line_discounts() {
    let g = cur("GBP");
    let mut a = line(g, 1, 2500, 1, "20");
    a.discount = Some(Discount::Amount(Money::from_minor(500, g)));
    let mut b = line(g, 2, 800, 1, "20");
    b.discount = pct("10");
    let p = cart(g, TaxMode::Inclusive, vec![a, b]).price().unwrap();
    assert_eq!(figures(&p.lines[0]), [2500, 500, 0, 1667, 333, 2000]);
    assert_eq!(figures(&p.lines[1]), [800, 80, 0, 600, 120, 720]);
    assert_eq!(
        [
            p.totals.subtotal,
            p.totals.discount,
            p.totals.tax,
            p.totals.total
        ]
        .map(|m| m.minor()),
        [3300, 580, 453, 2720]
    );
}

/// R4 — GBP, incl. 20 %, halves: a percentage discount and an inclusive tax on .5 exactly.
///   A: 3 × 0.45 = 1.35; 10 % off = 13.5p → 14p (half away); 1.21; tax 121/6 = 20.17 → 20;
///      net 101.
///   B: 1 × 0.15; tax 15/6 = 2.5p → 3p (half away); net 12.
///   Subtotal 1.50, discount 0.14, tax 0.23, total 1.36.
#[test]
fn r04_rounding_on_half_edges() {
    let g = cur("GBP");
    let mut a = line(g, 1, 45, 3, "20");
    a.discount = pct("10");
    let c = cart(g, TaxMode::Inclusive, vec![a, line(g, 2, 15, 1, "20")]);
    let s = complete(&c, vec![Tender::cash(Money::from_minor(200, g))], meta()).unwrap();
    assert_eq!(figures(&s.lines[0]), [135, 14, 0, 101, 20, 121]);
    assert_eq!(figures(&s.lines[1]), [15, 0, 0, 12, 3, 15]);
    assert_eq!(totals(&s), [150, 14, 23, 136]);
    assert_eq!(s.change.minor(), 64);
}

/// R5 — GBP, incl. 20 %, cart discount amount, largest remainder with a three-way tie.
///   3 × (1 × 10.00); cart 1.00 off. Each line: 100 × 1000 / 3000 = 33 rem 1000.
///   Σ floors 99, 1p left; remainders tie → the earliest line: shares 34, 33, 33.
///   A: 966, tax 966/6 = 161 exactly, net 805.
///   B, C: 967, tax 161.17 → 161, net 806.
///   Subtotal 30.00, discount 1.00, tax 4.83, total 29.00.
#[test]
fn r05_cart_amount_discount_tie_to_earlier_line() {
    let g = cur("GBP");
    let mut c = cart(
        g,
        TaxMode::Inclusive,
        (1..=3).map(|n| line(g, n, 1000, 1, "20")).collect(),
    );
    c.discount = Some(Discount::Amount(Money::from_minor(100, g)));
    let s = complete(
        &c,
        vec![Tender::card(Money::from_minor(2900, g), None)],
        meta(),
    )
    .unwrap();
    assert_eq!(figures(&s.lines[0]), [1000, 0, 34, 805, 161, 966]);
    assert_eq!(figures(&s.lines[1]), [1000, 0, 33, 806, 161, 967]);
    assert_eq!(figures(&s.lines[2]), [1000, 0, 33, 806, 161, 967]);
    assert_eq!(totals(&s), [3000, 100, 483, 2900]);
}

/// R6 — GBP, excl. 20 %, cart 15 % rounded once, largest remainder skipping the bigger line.
///   A: 1 × 7.00 = 700.   B: 2 × 3.35 = 670.   C: 1 × 1.99 − 0.48 = 151 (48 line discount).
///   Base 1521; 15 % = 228.15 → 228.
///   A: 228 × 700 = 159600 = 104 × 1521 + 1416.
///   B: 228 × 670 = 152760 = 100 × 1521 + 660.
///   C: 228 × 151 =  34428 =  22 × 1521 + 966.
///   Floors 226, 2 left → largest remainders A (1416) and C (966): shares 105, 100, 23.
///   A: 595, tax 119.0 → 119, total 714.
///   B: 570, tax 114.0 → 114, total 684.
///   C: 128, tax 25.6 → 26, total 154.
///   Subtotal 15.69, discount 0.48 + 2.28 = 2.76, tax 2.59, total 15.52.
#[test]
fn r06_cart_percent_discount_largest_remainder() {
    let g = cur("GBP");
    let mut lc = line(g, 3, 199, 1, "20");
    lc.discount = Some(Discount::Amount(Money::from_minor(48, g)));
    let mut c = cart(
        g,
        TaxMode::Exclusive,
        vec![line(g, 1, 700, 1, "20"), line(g, 2, 335, 2, "20"), lc],
    );
    c.discount = pct("15");
    let p = c.price().unwrap();
    assert_eq!(figures(&p.lines[0]), [700, 0, 105, 595, 119, 714]);
    assert_eq!(figures(&p.lines[1]), [670, 0, 100, 570, 114, 684]);
    assert_eq!(figures(&p.lines[2]), [199, 48, 23, 128, 26, 154]);
    assert_eq!(
        [
            p.totals.subtotal,
            p.totals.discount,
            p.totals.tax,
            p.totals.total
        ]
        .map(|m| m.minor()),
        [1569, 276, 259, 1552]
    );
}

/// R7 — JPY (no decimals), incl., two rates, cart 3 %, cash with change; tax table.
///   A: 2 × ¥1,650 = ¥3,300 at 10 %.   B: 1 × ¥880 at 8 %.   Base ¥4,180.
///   3 % = 125.4 → ¥125.  A: 125 × 3300 = 412500 = 98 × 4180 + 2860.
///                        B: 125 ×  880 = 110000 = 26 × 4180 + 1320.
///   Floors 124, ¥1 left → A: shares 99, 26.
///   A: 3201; tax 3201 × 10/110 = 291 exactly; net 2910.
///   B:  854; tax  854 × 8/108 = 63.26 → 63; net 791.
///   Subtotal 4180, discount 125, tax 354, total 4055; cash ¥5,000 → change ¥945.
///   Tax table: 8 %: net 791 tax 63 total 854; 10 %: net 2910 tax 291 total 3201.
#[test]
fn r07_jpy_two_rates_tax_table() {
    let y = cur("JPY");
    let mut c = cart(
        y,
        TaxMode::Inclusive,
        vec![line(y, 1, 1650, 2, "10"), line(y, 2, 880, 1, "8")],
    );
    c.discount = pct("3");
    let s = complete(&c, vec![Tender::cash(Money::from_minor(5000, y))], meta()).unwrap();
    assert_eq!(figures(&s.lines[0]), [3300, 0, 99, 2910, 291, 3201]);
    assert_eq!(figures(&s.lines[1]), [880, 0, 26, 791, 63, 854]);
    assert_eq!(totals(&s), [4180, 125, 354, 4055]);
    assert_eq!(s.change.minor(), 945);
    let bands: Vec<_> = s
        .tax_by_rate()
        .iter()
        .map(|b| (b.rate, b.net.minor(), b.tax.minor(), b.total.minor()))
        .collect();
    assert_eq!(
        bands,
        vec![(rate("8"), 791, 63, 854), (rate("10"), 2910, 291, 3201)]
    );
}

/// R8 — KWD (3 decimals), excl. 5 %, a tax on .5 fils, split card + cash with change.
///   A: 1 × 1.255 = 1255 fils; tax 62.75 → 63; total 1318.
///   B: 3 × 0.333 = 999, 0.009 off → 990; tax 49.5 → 50 (half away); total 1040.
///   Subtotal 2.254, discount 0.009, tax 0.113, total 2.358.
///   Card 2.000 + cash 0.500 = 2.500; over 0.142 ≤ cash 0.500 → change 0.142.
#[test]
fn r08_kwd_three_decimals_split_tender() {
    let k = cur("KWD");
    let mut b = line(k, 2, 333, 3, "5");
    b.discount = Some(Discount::parse("0.009", k).unwrap());
    let c = cart(k, TaxMode::Exclusive, vec![line(k, 1, 1255, 1, "5"), b]);
    let tenders = vec![
        Tender::parse("card=2:K-77", k).unwrap(),
        Tender::parse("cash=0.500", k).unwrap(),
    ];
    let s = complete(&c, tenders, meta()).unwrap();
    assert_eq!(figures(&s.lines[0]), [1255, 0, 0, 1255, 63, 1318]);
    assert_eq!(figures(&s.lines[1]), [999, 9, 0, 990, 50, 1040]);
    assert_eq!(totals(&s), [2254, 9, 113, 2358]);
    assert_eq!(s.change.minor(), 142);
    assert_eq!(s.change.amount_string(), "0.142");
}

/// R9 — GBP, incl. 20 %, split tender card then cash, change from the cash.
///   1 × 45.00; tax 45.00/6 = 7.50; net 37.50.
///   Card 30.00 + cash 20.00 = 50.00; over 5.00 ≤ cash 20.00 → change 5.00.
///   Also the brief's case: 25.00 paid card 20.00 + cash 10.00 → change 5.00.
#[test]
fn r09_split_tender_change_from_cash() {
    let g = cur("GBP");
    let c = cart(g, TaxMode::Inclusive, vec![line(g, 1, 4500, 1, "20")]);
    let tenders = vec![
        Tender::parse("card=30:AUTH123", g).unwrap(),
        Tender::parse("cash=20", g).unwrap(),
    ];
    let s = complete(&c, tenders, meta()).unwrap();
    assert_eq!(figures(&s.lines[0]), [4500, 0, 0, 3750, 750, 4500]);
    assert_eq!(s.change.minor(), 500);
    assert_eq!(s.paid().minor(), 5000);

    let c = cart(g, TaxMode::Inclusive, vec![line(g, 1, 2500, 1, "20")]);
    let tenders = vec![
        Tender::parse("card=20", g).unwrap(),
        Tender::parse("cash=10", g).unwrap(),
    ];
    assert_eq!(complete(&c, tenders, meta()).unwrap().change.minor(), 500);
}

/// R10 — GBP, underpaid: total 25.00, cash 10.00 + card 12.50 = 22.50, 2.50 short.
#[test]
fn r10_underpaid_is_refused() {
    let g = cur("GBP");
    let c = cart(g, TaxMode::Inclusive, vec![line(g, 1, 2500, 1, "20")]);
    let tenders = vec![
        Tender::parse("cash=10", g).unwrap(),
        Tender::parse("card=12.50", g).unwrap(),
    ];
    let e = complete(&c, tenders, meta()).unwrap_err();
    assert_eq!(e.code(), "tender.underpaid");
    assert_eq!(
        e.to_string(),
        "the payment is 2.50 GBP short of the total 25.00 GBP"
    );
}

/// R11 — GBP, change on a card: total 25.00.
///   Card 30.00 → over 5.00 > cash 0 → refused.
///   Cash 2.00 + card 30.00 = 32.00 → over 7.00 > cash 2.00 → refused.
#[test]
fn r11_change_on_card_is_refused() {
    let g = cur("GBP");
    let c = cart(g, TaxMode::Inclusive, vec![line(g, 1, 2500, 1, "20")]);
    let e = complete(&c, vec![Tender::parse("card=30", g).unwrap()], meta()).unwrap_err();
    assert_eq!(e.code(), "tender.change_on_non_cash");
    assert_eq!(
        e.to_string(),
        "change can only be given from cash: the card payment is 5.00 GBP more than what is due"
    );
    let tenders = vec![
        Tender::parse("cash=2", g).unwrap(),
        Tender::parse("card=30", g).unwrap(),
    ];
    let e = complete(&c, tenders, meta()).unwrap_err();
    assert_eq!(e.code(), "tender.change_on_non_cash");
}

/// R12 — GBP, incl. 20 %, refund one unit, another, then the rest: sums to the sale exactly.
///   Sale: line 1: 3 × 10.00 − 1.00 = 29.00; tax 2900/6 = 483.33 → 483.
///         line 2: 1 × 5.00; tax 500/6 = 83.33 → 83.
///         Total 34.00, tax 5.66. Cash 40.00 → change 6.00, cash kept 34.00.
///   Refund 1 of line 1: amount_for(1) = 2900/3 = 966.67 → 967; tax 483/3 = 161.
///   Refund 1 more:      amount_for(2) = 5800/3 = 1933.33 → 1933; 1933 − 967 = 966;
///                       tax 966/3 = 322; 322 − 161 = 161.
///   Refund all the rest: line 1: 2900 − 1933 = 967, tax 483 − 322 = 161;
///                        line 2: 500, tax 83; total 1467, tax 244.
///   Σ amounts 967 + 966 + 1467 = 3400 = the sale's total; Σ tax 161 + 161 + 244 = 566.
///   All of it goes back to the cash, which kept exactly 34.00.
#[test]
fn r12_partial_refunds_then_the_rest_sum_to_the_sale() {
    let g = cur("GBP");
    let mut a = line(g, 1, 1000, 3, "20");
    a.discount = Some(Discount::parse("1", g).unwrap());
    let c = cart(g, TaxMode::Inclusive, vec![a, line(g, 2, 500, 1, "20")]);
    let s = complete(&c, vec![Tender::parse("cash=40", g).unwrap()], meta()).unwrap();
    assert_eq!(figures(&s.lines[0]), [3000, 100, 0, 2417, 483, 2900]);
    assert_eq!(figures(&s.lines[1]), [500, 0, 0, 417, 83, 500]);
    assert_eq!(totals(&s), [3500, 100, 566, 3400]);
    assert_eq!(s.change.minor(), 600);

    let one = RefundRequest::Lines(vec![(1, Qty::new(1).unwrap())]);
    let r1 = plan_refund(&s, &[], &one).unwrap();
    assert_eq!(
        refund_figures(&r1),
        (vec![(1, 1, 967, 161)], vec![(0, 967)])
    );
    let r2 = plan_refund(&s, std::slice::from_ref(&r1), &one).unwrap();
    assert_eq!(
        refund_figures(&r2),
        (vec![(1, 1, 966, 161)], vec![(0, 966)])
    );
    let prior = [r1, r2];
    let r3 = plan_refund(&s, &prior, &RefundRequest::All).unwrap();
    assert_eq!(
        refund_figures(&r3),
        (vec![(1, 1, 967, 161), (2, 1, 500, 83)], vec![(0, 1467)])
    );
    assert_eq!((r3.total.minor(), r3.tax.minor()), (1467, 244));
    let all = [prior[0].clone(), prior[1].clone(), r3];
    let sum: i64 = all.iter().map(|r| r.total.minor()).sum();
    let tax: i64 = all.iter().map(|r| r.tax.minor()).sum();
    assert_eq!((sum, tax), (3400, 566));
    assert_eq!(
        plan_refund(&s, &all, &RefundRequest::All)
            .unwrap_err()
            .code(),
        "refund.nothing_left"
    );
}

/// R13 — GBP, incl. 20 %, refund to a split tender, last tender taken first.
///   Sale: 2 × 15.00 = 30.00; tax 3000/6 = 500. Paid voucher 5.00, card 20.00, cash 10.00
///   = 35.00 → change 5.00 from the cash. Kept: voucher 500, card 2000, cash 1000 − 500 = 500.
///   Refund 1 unit: amount_for(1) = 3000/2 = 1500; tax 500/2 = 250.
///     Walk back: cash (#2) takes 500, card (#1) takes 1000.
///   Refund the rest: 3000 − 1500 = 1500; tax 250.
///     Cash has 500 − 500 = 0 left; card 2000 − 1000 = 1000; voucher (#0) the last 500.
///   Σ to each tender = what it kept: cash 500, card 2000, voucher 500.
#[test]
fn r13_refund_to_a_split_tender() {
    let g = cur("GBP");
    let c = cart(g, TaxMode::Inclusive, vec![line(g, 1, 1500, 2, "20")]);
    let tenders = vec![
        Tender::parse("other=5:voucher", g).unwrap(),
        Tender::parse("card=20:AUTH9", g).unwrap(),
        Tender::parse("cash=10", g).unwrap(),
    ];
    let s = complete(&c, tenders, meta()).unwrap();
    assert_eq!(figures(&s.lines[0]), [3000, 0, 0, 2500, 500, 3000]);
    assert_eq!(s.change.minor(), 500);

    let r1 = plan_refund(
        &s,
        &[],
        &RefundRequest::Lines(vec![(1, Qty::new(1).unwrap())]),
    )
    .unwrap();
    assert_eq!(
        refund_figures(&r1),
        (vec![(1, 1, 1500, 250)], vec![(2, 500), (1, 1000)])
    );
    assert_eq!(r1.tenders[0].kind, TenderKind::Cash);
    assert_eq!(r1.tenders[1].reference.as_deref(), Some("AUTH9"));
    let r2 = plan_refund(&s, std::slice::from_ref(&r1), &RefundRequest::All).unwrap();
    assert_eq!(
        refund_figures(&r2),
        (vec![(1, 1, 1500, 250)], vec![(1, 1000), (0, 500)])
    );
    assert_eq!(r2.tenders[1].kind, TenderKind::Other);
    assert_eq!(r2.tenders[1].reference.as_deref(), Some("voucher"));
}

/// R14 — GBP, excl. 20 %, 100 % cart discount: a zero total settled with no tenders.
///   1 × 5.00; 100 % of 500 = 500 → amount 0; tax 0; total 0. No payment, no change.
///   A refund returns 0 to no tender.
#[test]
fn r14_free_sale_needs_no_tender() {
    let g = cur("GBP");
    let mut c = cart(g, TaxMode::Exclusive, vec![line(g, 1, 500, 1, "20")]);
    c.discount = pct("100%");
    let s = complete(&c, vec![], meta()).unwrap();
    assert_eq!(figures(&s.lines[0]), [500, 0, 500, 0, 0, 0]);
    assert_eq!(totals(&s), [500, 500, 0, 0]);
    assert_eq!(s.change.minor(), 0);
    let r = plan_refund(&s, &[], &RefundRequest::All).unwrap();
    assert_eq!(refund_figures(&r), (vec![(1, 1, 0, 0)], vec![]));
}

/// R15 — GBP, excl. 20 %, a zero-price line takes no share of a cart discount.
///   A: 1 × 0.00 (free gift).  B: 2 × 2.50 = 5.00.  Cart 1.00 off, all on B (weight 500 of 500).
///   B: 400; tax 80; total 480. Subtotal 5.00, discount 1.00, tax 0.80, total 4.80.
#[test]
fn r15_free_line_takes_no_cart_discount() {
    let g = cur("GBP");
    let mut c = cart(
        g,
        TaxMode::Exclusive,
        vec![line(g, 1, 0, 1, "20"), line(g, 2, 250, 2, "20")],
    );
    c.discount = Some(Discount::parse("1.00", g).unwrap());
    let p = c.price().unwrap();
    assert_eq!(figures(&p.lines[0]), [0, 0, 0, 0, 0, 0]);
    assert_eq!(figures(&p.lines[1]), [500, 0, 100, 400, 80, 480]);
    assert_eq!(p.totals.total.minor(), 480);
}
