//! Selling: the catalog search and favourites, the cart, tenders, the sale, and refunds.

use tauri::State;
use trestle_core::receipt::ReceiptNo;
use trestle_till::returns::RefundItems;

use super::{index, qty};
use crate::convert::*;
use crate::error::CmdResult;
use crate::state::AppState;
use crate::wire::*;

/// How many items the favourites grid shows.
const FAVOURITES: usize = 12;
/// The most a search answers.
const MAX_RESULTS: u32 = 50;

fn cart_now(till: &trestle_till::Till, cart: &trestle_till::cart::CartDraft) -> CmdResult<Cart> {
    let priced = till.price_cart(cart)?;
    Ok(cart_out(cart, priced.as_ref(), till.shop().currency))
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn catalog_search(args: SearchArgs, state: State<'_, AppState>) -> CmdResult<Vec<CatalogItem>> {
    let limit = usize::try_from(args.limit.clamp(1, MAX_RESULTS)).unwrap_or(1);
    state.with(|t, _| {
        Ok(t.search(&args.query, limit)?
            .into_iter()
            .map(item_out)
            .collect())
    })
}

#[tauri::command(async)]
pub fn catalog_favourites(state: State<'_, AppState>) -> CmdResult<Vec<CatalogItem>> {
    state.with(|t, _| {
        Ok(t.favourites(FAVOURITES)?
            .into_iter()
            .map(item_out)
            .collect())
    })
}

#[tauri::command(async)]
pub fn cart_get(state: State<'_, AppState>) -> CmdResult<Cart> {
    state.with(|t, c| cart_now(t, c))
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn cart_add(args: ItemQty, state: State<'_, AppState>) -> CmdResult<Cart> {
    state.with(|t, c| {
        t.cart_add(c, &args.item, qty(args.qty)?)?;
        cart_now(t, c)
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn cart_set_qty(args: LineQty, state: State<'_, AppState>) -> CmdResult<Cart> {
    state.with(|t, c| {
        c.set_qty(index(args.index), args.qty)?;
        cart_now(t, c)
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn cart_remove(args: LineIndex, state: State<'_, AppState>) -> CmdResult<Cart> {
    state.with(|t, c| {
        c.remove(index(args.index))?;
        cart_now(t, c)
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn cart_line_discount(args: LineDiscountArgs, state: State<'_, AppState>) -> CmdResult<Cart> {
    state.with(|t, c| {
        let d = discount_of(args.discount.as_ref(), t)?;
        c.set_line_discount(index(args.index), d, t)?;
        cart_now(t, c)
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn cart_discount(args: DiscountArgs, state: State<'_, AppState>) -> CmdResult<Cart> {
    state.with(|t, c| {
        let d = discount_of(args.discount.as_ref(), t)?;
        c.set_discount(d, t)?;
        cart_now(t, c)
    })
}

#[tauri::command(async)]
pub fn cart_clear(state: State<'_, AppState>) -> CmdResult<Cart> {
    state.with(|t, c| {
        c.clear();
        cart_now(t, c)
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn cart_quote(args: TendersArgs, state: State<'_, AppState>) -> CmdResult<TenderQuote> {
    state.with(|t, c| {
        let p = t.preview_tenders(c, &tenders_in(&args.tenders, t.shop().currency)?)?;
        Ok(TenderQuote {
            due: p.total.minor(),
            paid: p.paid.minor(),
            remaining: p.remaining.minor(),
            change: p.change.minor(),
        })
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn sale_complete(args: TendersArgs, state: State<'_, AppState>) -> CmdResult<Receipt> {
    state.with(|t, c| {
        let tenders = tenders_in(&args.tenders, t.shop().currency)?;
        let sale = t.checkout(c, tenders)?;
        Ok(receipt_out(&t.shop().name, &sale))
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn sale_get(args: ReceiptArgs, state: State<'_, AppState>) -> CmdResult<Sale> {
    let receipt = ReceiptNo::parse(args.receipt_no.trim())?;
    state.with(|t, _| Ok(sale_out(&t.sale(&receipt)?)))
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn refund(args: RefundArgs, state: State<'_, AppState>) -> CmdResult<RefundResult> {
    let receipt = ReceiptNo::parse(args.receipt_no.trim())?;
    let items = match &args.items {
        None => RefundItems::All,
        Some(list) => RefundItems::Items(
            list.iter()
                .map(|i| Ok((i.item.clone(), qty(i.qty)?)))
                .collect::<CmdResult<_>>()?,
        ),
    };
    let reason = args
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    state.with(|t, _| Ok(refund_out(&t.refund(&receipt, &items, reason)?)))
}

/// A discount from the UI, in the shop's currency (none: take it off).
fn discount_of(
    d: Option<&Discount>,
    t: &trestle_till::Till,
) -> CmdResult<Option<trestle_core::cart::Discount>> {
    d.map(|d| discount_in(d, t.shop().currency)).transpose()
}
