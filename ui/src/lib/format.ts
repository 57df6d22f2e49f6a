//! Small display formatters: times of day, "x minutes ago", reservation and payment states in
//! words, and amounts in the till's currency through `money.ts`.

import { formatMoney } from './money';
import type { PaymentState, ReservationStatus } from './contract';

export function money(minor: number, currency: string | undefined): string {
  return formatMoney(minor, currency ?? 'GBP');
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
