//! Small display formatters: times of day, "x minutes ago", reservation and payment states in
//! words, and amounts in the till's currency through `money.ts`.

import { formatMoney } from './money';
import type { PaymentState, ReservationStatus } from './contract';

/** An amount as the till sends it: minor units (with the currency beside it) or a Money object. */
export type Amount = number | { minor: number; currency: string };

/** Formats an amount for display; `currency` is used when the amount does not carry one. */
export function money(amount: Amount, currency?: string): string {
  if (typeof amount === 'number') return formatMoney(amount, currency ?? 'GBP');
  return formatMoney(amount.minor, amount.currency);
}

export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return 'just now';
  const m = Math.floor(s / 60);
  if (m < 60) return m === 1 ? '1 minute ago' : `${m} minutes ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return h === 1 ? '1 hour ago' : `${h} hours ago`;
  const d = Math.floor(h / 24);
  return d === 1 ? 'yesterday' : `${d} days ago`;
}

export function timeOfDay(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export const STATUS_WORDS: Record<ReservationStatus, string> = {
  held: 'Held',
  ready: 'Ready',
  partially_collected: 'Partly collected',
  collected: 'Collected',
  cancelled: 'Cancelled',
  expired: 'Expired',
};

export const PAYMENT_WORDS: Record<PaymentState, string> = {
  paid: 'Paid',
  deposit: 'Deposit paid',
  pay_on_pickup: 'Pay on pickup',
};
