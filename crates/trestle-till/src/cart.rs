//! The cart being built at the till before it is paid: lines of catalog items with quantities
//! and discounts, priced by `trestle_core::cart`'s rule, and the step that turns it into a sale.
//! The app keeps one [`CartDraft`] beside the open [`Till`]; every change goes through here so
//! the window holds no pricing logic.

use trestle_core::cart::{Cart, CartLine, Discount, PricedCart};
use trestle_core::catalog::{Qty, Sku};
use trestle_core::sale::Sale;
use trestle_core::tender::{settle, Tender};
use trestle_core::Money;

use crate::catalog::CatalogItem;
use crate::error::{Error, Result};
use crate::sell::{LineRequest, SellRequest};
use crate::till::Till;

/// One line of the cart: the item as the catalog had it when scanned, its quantity and discount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftLine {
    pub item: CatalogItem,
    pub qty: Qty,
    pub discount: Option<Discount>,
}

/// The cart under construction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CartDraft {
    pub lines: Vec<DraftLine>,
    pub discount: Option<Discount>,
}

/// What the tenders taken so far do against the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenderPreview {
    pub total: Money,
    pub paid: Money,
    /// Still to pay (zero once covered).
    pub remaining: Money,
    /// Change to give from cash when the tenders settle the total.
    pub change: Money,
    /// True when these tenders complete the sale.
    pub settles: bool,
}

impl CartDraft {
    fn line_mut(&mut self, line: usize) -> Result<&mut DraftLine> {
        let n = self.lines.len();
        self.lines.get_mut(line).ok_or_else(|| {
            Error::InvalidInput(format!("the cart has no line {} (it has {n})", line + 1))
        })
    }

    /// Adds `qty` units of `item`: to its line when it is already in the cart without a
    /// discount, else as a new line. Returns the line's index.
    pub fn add(&mut self, item: CatalogItem, qty: Qty) -> Result<usize> {
        if let Some(i) = self
            .lines
            .iter()
            .position(|l| l.item.variant_id == item.variant_id && l.discount.is_none())
        {
            let l = &mut self.lines[i];
            let sum = l.qty.get().saturating_add(qty.get());
            l.qty = Qty::new(sum)?;
            return Ok(i);
        }
        self.lines.push(DraftLine {
            item,
            qty,
            discount: None,
        });
        Ok(self.lines.len() - 1)
    }

    /// Sets a line's quantity; zero removes the line.
    pub fn set_qty(&mut self, line: usize, qty: u32) -> Result<()> {
        if qty == 0 {
            return self.remove(line);
        }
        let q = Qty::new(qty)?;
        self.line_mut(line)?.qty = q;
        Ok(())
    }

    pub fn remove(&mut self, line: usize) -> Result<()> {
        self.line_mut(line)?;
        self.lines.remove(line);
        if self.lines.is_empty() {
            self.discount = None;
        }
        Ok(())
    }

    /// Sets or clears a line's discount; refused (and unchanged) when the cart cannot be priced
    /// with it, e.g. a discount larger than the line.
    pub fn set_line_discount(
        &mut self,
        line: usize,
        discount: Option<Discount>,
        till: &Till,
    ) -> Result<()> {
        let mut next = self.clone();
        next.line_mut(line)?.discount = discount;
        till.price_cart(&next)?;
        *self = next;
        Ok(())
    }

    /// Sets or clears the discount on the whole cart (checked like a line discount).
    pub fn set_discount(&mut self, discount: Option<Discount>, till: &Till) -> Result<()> {
        let mut next = self.clone();
        next.discount = discount;
        till.price_cart(&next)?;
        *self = next;
        Ok(())
    }

    pub fn clear(&mut self) {
        *self = CartDraft::default();
    }
}

impl Till {
    /// Resolves what was scanned or typed (barcode, SKU, variant id) and adds `qty` units.
    pub fn cart_add(&self, cart: &mut CartDraft, input: &str, qty: Qty) -> Result<usize> {
        let mut item = self.resolve_item(input)?;
        self.fill_stock(std::slice::from_mut(&mut item))?;
        cart.add(item, qty)
    }

    /// Prices the cart; `None` while it is empty.
    pub fn price_cart(&self, cart: &CartDraft) -> Result<Option<PricedCart>> {
        if cart.lines.is_empty() {
            return Ok(None);
        }
        let priced = Cart {
            currency: self.shop.currency,
            tax_mode: self.shop.tax_mode,
            lines: cart
                .lines
                .iter()
                .map(|l| CartLine {
                    variant_id: l.item.variant_id,
                    sku: l.item.sku.as_deref().and_then(|s| Sku::parse(s).ok()),
                    title: l.item.title.clone(),
                    unit_price: l.item.price,
                    tax_rate: l.item.tax_rate,
                    qty: l.qty,
                    discount: l.discount.clone(),
                })
                .collect(),
            discount: cart.discount.clone(),
        }
        .price()?;
        Ok(Some(priced))
    }

    /// What `tenders` do against the cart's total (nothing is written).
    pub fn preview_tenders(&self, cart: &CartDraft, tenders: &[Tender]) -> Result<TenderPreview> {
        let total = self
            .price_cart(cart)?
            .map_or(Money::zero(self.shop.currency), |p| p.totals.total);
        let zero = Money::zero(self.shop.currency);
        let mut paid = zero;
        for t in tenders {
            paid = paid.checked_add(t.amount)?;
        }
        let remaining = if paid.minor() < total.minor() {
            total.checked_sub(paid)?
        } else {
            zero
        };
        let settled = settle(total, tenders.to_vec()).ok();
        Ok(TenderPreview {
            total,
            paid,
            remaining,
            change: settled.as_ref().map_or(zero, |s| s.change),
            settles: settled.is_some() && !cart.lines.is_empty(),
        })
    }

    /// Completes the cart as a sale paid by `tenders` (see [`Till::sell`]); the cart is emptied
    /// only when the sale is on disk.
    pub fn checkout(&mut self, cart: &mut CartDraft, tenders: Vec<Tender>) -> Result<Sale> {
        let req = SellRequest {
            lines: cart
                .lines
                .iter()
                .map(|l| LineRequest {
                    item: l.item.variant_id.to_string(),
                    qty: l.qty,
                    discount: l.discount.clone(),
                })
                .collect(),
            tenders,
            cart_discount: cart.discount.clone(),
            staff: None,
            event: None,
        };
        let sale = self.sell(&req)?;
        cart.clear();
        Ok(sale)
    }

    /// The items for the favourites grid: this till's best sellers (by units sold), then the
    /// catalog in its order, `n` in all.
    pub fn favourites(&self, n: usize) -> Result<Vec<CatalogItem>> {
        let ids: Vec<String> = {
            let mut st = self.db.conn().prepare_cached(
                "SELECT variant_id FROM sale_lines GROUP BY variant_id
                 ORDER BY SUM(qty) DESC, variant_id LIMIT ?1",
            )?;
            let rows = st
                .query_map([i64::try_from(n).unwrap_or(i64::MAX)], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows
        };
        let mut out: Vec<CatalogItem> = Vec::with_capacity(n);
        for id in ids {
            if let Ok(item) = self.resolve_item(&id) {
                out.push(item);
            }
        }
        self.fill_stock(&mut out)?;
        if out.len() < n {
            // Then the catalog in its order, what this till can sell first (not sold out).
            let mut more = self.first_items(8 * n)?;
            self.fill_stock(&mut more)?;
            more.sort_by_key(|i| i.available == Some(0) || i.available.is_some_and(|a| a < 0));
            for item in more {
                if out.len() >= n {
                    break;
                }
                if !out.iter().any(|o| o.variant_id == item.variant_id) {
                    out.push(item);
                }
            }
        }
        Ok(out)
    }
}

/// Quick cash amounts for a total: the exact amount, then the next round amounts a customer is
/// likely to hand over (the next multiple of 1, 5, 10, 20, 50 and 100 major units), each once.
pub fn quick_cash(total: Money) -> Vec<Money> {
    let scale = total.currency().scale().max(1);
    let mut out = vec![total];
    for step in [1, 5, 10, 20, 50, 100] {
        let unit = step * scale;
        let up = (total.minor() + unit - 1) / unit * unit;
        let m = Money::from_minor(up.max(unit), total.currency());
        if !out.contains(&m) && out.len() < 5 {
            out.push(m);
        }
    }
    out
}
