//! Refund planning: which units of a completed sale are given back, how much money and tax that
//! is, and which of the sale's tenders the money goes back to. Pure: the till stores the plan as
//! a refund record that points at the sale.
//!
//! # Amounts: cumulative, so the parts add up to the whole
//! For a line of `q` units whose customer total was `T` (tax `X`), the refundable amount for the
//! first `u` units is `amount_for(u) = round_half_away(T × u, q)` (tax likewise with `X`).
//! Refunding `k` more units when `r` were refunded before returns
//! `amount_for(r + k) − amount_for(r)`. Since `amount_for(q) = T`, refunding a line in any number
//! of steps returns exactly what was paid for it, never a penny more or less, and the tax returned
//! adds up to the tax charged. Discounts are thereby refunded in proportion: the line's `total`
//! already has its line discount and its share of the cart discount taken off.
//!
//! # What is refused
//! * a request when every unit of the sale has been refunded already (`refund.nothing_left`);
//! * an empty list of lines (`refund.empty`);
//! * a line number not on the sale (`refund.unknown_line`);
//! * the same line twice in one request (`refund.duplicate_line`);
//! * more units of a line than remain unrefunded (`refund.too_many`);
//! * earlier refunds that do not fit this sale (`refund.invalid`) — they cannot come from
//!   [`plan_refund`], so this means the records are damaged.
//!
//! # Tenders: back the way it came, last taken first
//! Money goes back to the sale's own tenders, walking them in **reverse order of taking**: the
//! last payment taken is the first one returned, as if the sale were undone step by step. Each
//! tender takes back at most its net amount minus what earlier refunds already returned to it:
//! * a cash tender's net amount is what was handed over minus the change given from it. Change is
//!   charged to the cash tenders last taken first (with one cash tender, as is usual, it simply
//!   comes off that one);
//! * any other tender's net amount is its amount.
//!
//! So a sale paid with a voucher and then a card refunds to the card first and to the voucher
//! last, and cash given back never exceeds the cash kept. Because the tenders' net amounts add up
//! to the sale's total, and refunded amounts never exceed it, the walk always finds room.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::Qty;
use crate::error::{Error, Result};
use crate::ids::VariantId;
use crate::money::Money;
use crate::sale::Sale;
use crate::tax::round_half_away;
use crate::tender::TenderKind;

/// Units of one sale line given back, with the money and tax they return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    /// The sale's line number.
    pub line_no: u32,
    pub variant_id: VariantId,
    pub qty: Qty,
    /// Returned to the customer, tax included.
    pub amount: Money,
    /// The tax within `amount`.
    pub tax: Money,
}

/// Money returned to one of the sale's tenders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundTender {
    /// Index into `sale.tenders`.
    pub tender_index: u32,
    pub kind: TenderKind,
    /// The original tender's reference (card terminal reference, voucher label).
    pub reference: Option<String>,
    pub amount: Money,
}

/// A refund worked out: lines by line number, tenders in the order to pay them back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundPlan {
    pub lines: Vec<RefundLine>,
    pub tenders: Vec<RefundTender>,
    /// Σ line amounts = Σ tender amounts.
    pub total: Money,
    /// Σ line tax.
    pub tax: Money,
}

/// What the cashier asked to refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundRequest {
    /// Everything not yet refunded.
    All,
    /// So many units of these lines (line number, units).
    Lines(Vec<(u32, Qty)>),
}

/// Plans a refund of `request` against `sale`, given the refunds already made (`prior`), by the
/// rules in the module docs.
pub fn plan_refund(
    sale: &Sale,
    prior: &[RefundPlan],
    request: &RefundRequest,
) -> Result<RefundPlan> {
    let damaged = || Error::Refund("the earlier refunds of this sale do not match it".to_string());
    let zero = Money::zero(sale.currency);

    // Units already refunded, per line.
    let mut refunded: BTreeMap<u32, u32> = BTreeMap::new();
    for p in prior {
        for l in &p.lines {
            let line = sale.line(l.line_no).ok_or_else(damaged)?;
            let r = refunded.entry(l.line_no).or_default();
            *r += l.qty.get();
            if *r > line.qty.get() {
                return Err(damaged());
            }
        }
    }
    let remaining = |line_no: u32, q: u32| q - refunded.get(&line_no).copied().unwrap_or(0);
    if sale
        .lines
        .iter()
        .all(|l| remaining(l.line_no, l.qty.get()) == 0)
    {
        return Err(Error::RefundNothingLeft);
    }

    // The units to refund now, per line number.
    let mut wanted: BTreeMap<u32, u32> = BTreeMap::new();
    match request {
        RefundRequest::All => {
            for l in &sale.lines {
                let left = remaining(l.line_no, l.qty.get());
                if left > 0 {
                    wanted.insert(l.line_no, left);
                }
            }
        }
        RefundRequest::Lines(asked) => {
            if asked.is_empty() {
                return Err(Error::RefundEmpty);
            }
            for &(line_no, qty) in asked {
                let line = sale
                    .line(line_no)
                    .ok_or(Error::RefundUnknownLine { line_no })?;
                if wanted.contains_key(&line_no) {
                    return Err(Error::RefundDuplicateLine { line_no });
                }
                let left = remaining(line_no, line.qty.get());
                if qty.get() > left {
                    return Err(Error::RefundTooMany {
                        line_no,
                        requested: qty.get(),
                        remaining: left,
                    });
                }
                wanted.insert(line_no, qty.get());
            }
        }
    }

    // Amounts, cumulative per line.
    let mut lines = Vec::with_capacity(wanted.len());
    let mut total = zero;
    let mut tax = zero;
    for (&line_no, &k) in &wanted {
        let line = sale.line(line_no).ok_or_else(damaged)?;
        let q = line.qty.get();
        let r = refunded.get(&line_no).copied().unwrap_or(0);
        let share = |whole: Money, u: u32| {
            round_half_away(i128::from(whole.minor()) * i128::from(u), i128::from(q))
        };
        let amount = zero.with_minor(Some(share(line.total, r + k) - share(line.total, r)))?;
        let line_tax = zero.with_minor(Some(share(line.tax, r + k) - share(line.tax, r)))?;
        total = total.checked_add(amount)?;
        tax = tax.checked_add(line_tax)?;
        lines.push(RefundLine {
            line_no,
            variant_id: line.variant_id,
            qty: Qty::new(k)?,
            amount,
            tax: line_tax,
        });
    }

    // Tenders, last taken first, each up to what it kept minus what went back to it before.
    let room = tender_room(sale, prior).ok_or_else(damaged)?;
    let mut tenders = Vec::new();
    let mut left = total.minor();
    for (i, t) in sale.tenders.iter().enumerate().rev() {
        if left == 0 {
            break;
        }
        let take = left.min(room[i]);
        if take > 0 {
            tenders.push(RefundTender {
                tender_index: u32::try_from(i).map_err(|_| damaged())?,
                kind: t.kind,
                reference: t.reference.clone(),
                amount: zero.with_minor(Some(take))?,
            });
            left -= take;
        }
    }
    if left != 0 {
        return Err(damaged());
    }
    Ok(RefundPlan {
        lines,
        tenders,
        total,
        tax,
    })
}

/// How much each tender can still take back: its net amount (cash after the change charged to
/// it, last cash tender first) minus what earlier refunds returned to it. `None` when the earlier
/// refunds name a tender the sale does not have or return more than a tender kept.
fn tender_room(sale: &Sale, prior: &[RefundPlan]) -> Option<Vec<i64>> {
    let mut room: Vec<i64> = sale.tenders.iter().map(|t| t.amount.minor()).collect();
    let mut change = sale.change.minor();
    for (i, t) in sale.tenders.iter().enumerate().rev() {
        if t.kind == TenderKind::Cash && change > 0 {
            let c = change.min(room[i]);
            room[i] -= c;
            change -= c;
        }
    }
    if change != 0 {
        return None;
    }
    for p in prior {
        for t in &p.tenders {
            let r = room.get_mut(usize::try_from(t.tender_index).ok()?)?;
            *r = r.checked_sub(t.amount.minor()).filter(|r| *r >= 0)?;
        }
    }
    Some(room)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::{Cart, CartLine};
    use crate::clock::Hlc;
    use crate::ids::{SaleId, TillId};
    use crate::money::Currency;
    use crate::receipt::{ReceiptNo, TillPrefix};
    use crate::sale::{complete, SaleMeta};
    use crate::tax::{TaxMode, TaxRate};
    use crate::tender::Tender;
    use uuid::Uuid;

    fn m(minor: i64) -> Money {
        Money::from_minor(minor, Currency::parse("GBP").unwrap())
    }

    fn q(n: u32) -> Qty {
        Qty::new(n).unwrap()
    }

    fn sample_meta() -> SaleMeta {
        SaleMeta {
            id: SaleId(Uuid::from_u128(9)),
            receipt: ReceiptNo {
                prefix: TillPrefix::parse("A1").unwrap(),
                seq: 7,
            },
            till_id: TillId(Uuid::from_u128(8)),
            at: Hlc::default(),
            staff: None,
            event: None,
        }
    }

    /// Two lines at 0 % tax: 2 × 5.00 and 1 × 3.00, paid 13.00 by card.
    fn sale() -> Sale {
        let line = |n: u128, price: i64, qty: u32| CartLine {
            variant_id: VariantId(Uuid::from_u128(n)),
            sku: None,
            title: format!("Item {n}"),
            unit_price: m(price),
            tax_rate: TaxRate::ZERO,
            qty: q(qty),
            discount: None,
        };
        let cart = Cart {
            currency: Currency::parse("GBP").unwrap(),
            tax_mode: TaxMode::Inclusive,
            lines: vec![line(1, 500, 2), line(2, 300, 1)],
            discount: None,
        };
        complete(
            &cart,
            vec![Tender::card(m(1300), Some("T1"))],
            sample_meta(),
        )
        .unwrap()
    }

    #[test]
    fn refuses_bad_requests() {
        let s = sale();
        let code =
            |prior: &[RefundPlan], r: RefundRequest| plan_refund(&s, prior, &r).unwrap_err().code();
        assert_eq!(
            code(&[], RefundRequest::Lines(vec![(3, q(1))])),
            "refund.unknown_line"
        );
        assert_eq!(
            code(&[], RefundRequest::Lines(vec![(1, q(1)), (1, q(1))])),
            "refund.duplicate_line"
        );
        assert_eq!(
            code(&[], RefundRequest::Lines(vec![(1, q(3))])),
            "refund.too_many"
        );
        assert_eq!(code(&[], RefundRequest::Lines(vec![])), "refund.empty");
        let first = plan_refund(&s, &[], &RefundRequest::Lines(vec![(1, q(1))])).unwrap();
        assert_eq!(
            code(
                std::slice::from_ref(&first),
                RefundRequest::Lines(vec![(1, q(2))])
            ),
            "refund.too_many"
        );
        let rest = plan_refund(&s, std::slice::from_ref(&first), &RefundRequest::All).unwrap();
        assert_eq!(first.total.minor() + rest.total.minor(), 1300);
        let all = [first, rest];
        assert_eq!(code(&all, RefundRequest::All), "refund.nothing_left");
        assert_eq!(
            code(&all, RefundRequest::Lines(vec![(2, q(1))])),
            "refund.nothing_left"
        );
    }

    #[test]
    fn refuses_damaged_prior_refunds() {
        let s = sale();
        let mut p = plan_refund(&s, &[], &RefundRequest::Lines(vec![(2, q(1))])).unwrap();
        p.tenders[0].tender_index = 5;
        let e = plan_refund(&s, &[p], &RefundRequest::All).unwrap_err();
        assert_eq!(e.code(), "refund.invalid");
    }

    /// Generated sales refunded in random steps: the refunds always add up to the sale exactly,
    /// per line, in tax, and per tender (each gets back exactly what it kept).
    #[test]
    fn generated_refunds_add_up() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..300 {
            let g = Currency::parse("GBP").unwrap();
            let mut lines = Vec::new();
            for n in 0..=next(4) {
                let mut l = CartLine {
                    variant_id: VariantId(Uuid::from_u128(u128::from(n))),
                    sku: None,
                    title: String::new(),
                    unit_price: m(1 + next(5000) as i64),
                    tax_rate: TaxRate::from_ppm([0, 50_000, 200_000][next(3) as usize]).unwrap(),
                    qty: q(1 + next(5) as u32),
                    discount: None,
                };
                if next(3) == 0 {
                    l.discount = Some(crate::cart::Discount::Percent(
                        crate::cart::Percent::from_bp(next(5000) as u32).unwrap(),
                    ));
                }
                lines.push(l);
            }
            let mode = [TaxMode::Inclusive, TaxMode::Exclusive][next(2) as usize];
            let mut cart = Cart {
                currency: g,
                tax_mode: mode,
                lines,
                discount: None,
            };
            if next(2) == 0 {
                cart.discount = Some(crate::cart::Discount::Percent(
                    crate::cart::Percent::from_bp(next(3000) as u32).unwrap(),
                ));
            }
            let total = cart.price().unwrap().totals.total.minor();
            let card = next(total as u64 + 1) as i64;
            let mut tenders = Vec::new();
            if card > 0 {
                tenders.push(Tender::card(m(card), None));
            }
            if total > card {
                tenders.push(Tender::cash(m(total - card + next(2000) as i64)));
            }
            let s = complete(&cart, tenders, sample_meta()).unwrap();
            let t = &s.totals;
            let after = t.subtotal.minor() - t.discount.minor();
            let due = match mode {
                TaxMode::Inclusive => after,
                TaxMode::Exclusive => after + t.tax.minor(),
            };
            assert_eq!(due, t.total.minor());
            let mut prior: Vec<RefundPlan> = Vec::new();
            loop {
                let mut asked: Vec<(u32, Qty)> = Vec::new();
                for l in &s.lines {
                    let done: u32 = prior
                        .iter()
                        .flat_map(|p| &p.lines)
                        .filter(|r| r.line_no == l.line_no)
                        .map(|r| r.qty.get())
                        .sum();
                    let left = l.qty.get() - done;
                    if left > 0 && next(2) == 0 {
                        asked.push((l.line_no, q(1 + next(u64::from(left)) as u32)));
                    }
                }
                let req = if asked.is_empty() {
                    RefundRequest::All
                } else {
                    RefundRequest::Lines(asked)
                };
                match plan_refund(&s, &prior, &req) {
                    Ok(p) => {
                        let to_tenders: i64 = p.tenders.iter().map(|t| t.amount.minor()).sum();
                        assert_eq!(to_tenders, p.total.minor());
                        prior.push(p);
                    }
                    Err(Error::RefundNothingLeft) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            let sum = |f: fn(&RefundPlan) -> i64| prior.iter().map(f).sum::<i64>();
            assert_eq!(sum(|p| p.total.minor()), s.totals.total.minor());
            assert_eq!(sum(|p| p.tax.minor()), s.totals.tax.minor());
            for l in &s.lines {
                let back: i64 = prior
                    .iter()
                    .flat_map(|p| &p.lines)
                    .filter(|r| r.line_no == l.line_no)
                    .map(|r| r.amount.minor())
                    .sum();
                assert_eq!(back, l.total.minor());
            }
            let room = tender_room(&s, &prior).unwrap();
            assert!(room.iter().all(|r| *r == 0), "{room:?}");
        }
    }

    #[test]
    fn request_serde() {
        let r = RefundRequest::Lines(vec![(1, q(2))]);
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(j, r#"{"lines":[[1,2]]}"#);
        assert_eq!(serde_json::from_str::<RefundRequest>(&j).unwrap(), r);
        assert_eq!(
            serde_json::to_string(&RefundRequest::All).unwrap(),
            r#""all""#
        );
    }
}
