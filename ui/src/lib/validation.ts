//! Form checks before an intent is sent, with the message shown beside the field. They catch
//! what a cashier mistypes (an empty reason, a letter in a quantity); the till checks again and
//! its answer is shown through `errors.ts`.

import { parseAmount } from './money';

export type Check<T> = { ok: true; value: T } | { ok: false; message: string };

/** A whole quantity from `min` (default 1) to 9 999. */
export function checkQuantity(input: string, min = 1): Check<number> {
  const s = input.trim();
  if (!/^\d+$/.test(s)) return { ok: false, message: 'Type a whole number.' };
  const n = Number(s);
  if (n < min) return { ok: false, message: min === 0 ? 'The number cannot be negative.' : `The quantity must be at least ${min}.` };
  if (n > 9999) return { ok: false, message: 'That is more than 9,999.' };
  return { ok: true, value: n };
}

export type DiscountInput = { kind: 'percent'; bp: number } | { kind: 'amount'; minor: number };

/** A discount as typed: `10%` (or `10 %`) is a percentage, anything else an amount. */
export function checkDiscount(input: string, currency: string): Check<DiscountInput> {
  const s = input.trim();
  if (s === '') return { ok: false, message: 'Type a percentage like 10% or an amount like 2.50.' };
  if (s.endsWith('%')) {
    const m = /^(\d{1,3})(?:[.,](\d{1,2}))?\s*%$/.exec(s);
    if (!m) return { ok: false, message: 'Type the percentage like 10% or 12.5%.' };
    const bp = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
    if (bp > 10000) return { ok: false, message: 'A discount cannot be more than 100%.' };
    return { ok: true, value: { kind: 'percent', bp } };
  }
  const a = parseAmount(s, currency);
  if (!a.ok) return a;
  return { ok: true, value: { kind: 'amount', minor: a.minor } };
}

/** The reason for a stock count correction: required, short. */
export function checkReason(input: string): Check<string> {
  const s = input.trim().replace(/\s+/g, ' ');
  if (s.length < 3) return { ok: false, message: 'Say why the count changed (for example: damaged, found, miscounted).' };
  if (s.length > 200) return { ok: false, message: 'Keep the reason under 200 characters.' };
  return { ok: true, value: s };
}

/** The hub's address: http(s) with a host. */
export function checkHubUrl(input: string): Check<string> {
  const s = input.trim();
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(s) ? s : `https://${s}`);
  } catch {
    return { ok: false, message: 'Type the hub’s address, for example https://hub.example.com.' };
  }
  if (!/^https?:$/.test(u.protocol) || u.hostname === '' || s === '') {
    return { ok: false, message: 'Type the hub’s address, for example https://hub.example.com.' };
  }
  return { ok: true, value: u.toString().replace(/\/$/, '') };
}

/** A pairing code as the hub shows it: letters and digits, dashes and spaces ignored. */
export function checkPairCode(input: string): Check<string> {
  const s = input.toUpperCase().replace(/[\s-]/g, '');
  if (!/^[A-Z0-9]{4,32}$/.test(s)) return { ok: false, message: 'Type the pairing code shown at the hub (letters and digits).' };
  return { ok: true, value: s };
}

/** A card terminal's reference: optional, at most 64 printable characters. */
export function checkCardReference(input: string): Check<string | null> {
  const s = input.trim();
  if (s === '') return { ok: true, value: null };
  if (s.length > 64 || /[\u0000-\u001f]/.test(s)) return { ok: false, message: 'The card reference is at most 64 characters.' };
  return { ok: true, value: s };
}
