//! The cart as the till's cart service holds it: the UI keeps the last `Cart` the till returned
//! and sends intents (add, quantity, discount, clear); it never adds up anything itself.

import { call } from './api';
import type { Cart, Discount } from './contract';
import { showError, ui } from './state.svelte';

class CartView {
  cart = $state<Cart | null>(null);
  selected = $state(0);
  busy = $state(false);
}

export const cartView = new CartView();

function take(c: Cart): Cart {
  cartView.cart = c;
  if (cartView.selected >= c.lines.length) cartView.selected = Math.max(0, c.lines.length - 1);
  return c;
}

async function intent(p: Promise<Cart>): Promise<boolean> {
  cartView.busy = true;
  try {
    take(await p);
    ui.banner = null;
    return true;
  } catch (e) {
    showError(e);
    return false;
  } finally {
    cartView.busy = false;
  }
}

export async function loadCart(): Promise<void> {
  await intent(call('cart_get'));
}

/** Adds what was scanned or picked (barcode, SKU or variant id); selects its line. */
export async function addItem(item: string, qty = 1): Promise<boolean> {
  const ok = await intent(call('cart_add', { item, qty }));
  if (ok && cartView.cart) {
    const i = cartView.cart.lines.findIndex((l) => l.variant_id === item || l.sku === item);
    cartView.selected = i >= 0 ? i : cartView.cart.lines.length - 1;
  }
  return ok;
}

export function setQty(index: number, qty: number): Promise<boolean> {
  return intent(qty <= 0 ? call('cart_remove', { index }) : call('cart_set_qty', { index, qty }));
}

export function removeLine(index: number): Promise<boolean> {
  return intent(call('cart_remove', { index }));
}

export function lineDiscount(index: number, discount: Discount | null): Promise<boolean> {
  return intent(call('cart_line_discount', { index, discount }));
}

export function cartDiscount(discount: Discount | null): Promise<boolean> {
  return intent(call('cart_discount', { discount }));
}

export function clearCart(): Promise<boolean> {
  return intent(call('cart_clear'));
}
