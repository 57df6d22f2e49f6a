//! Money at the edge: formats integer minor units for display and parses what a cashier types
//! into minor units. Never uses floating point: digits are split as integers (BigInt) and the
//! locale only supplies the symbol, separators and their order.

/** Minor-unit exponents of currencies whose exponent is not 2 (ISO 4217). */
const EXPONENTS: Record<string, number> = {
  BHD: 3, BIF: 0, CLP: 0, DJF: 0, GNF: 0, IQD: 3, ISK: 0, JOD: 3, JPY: 0, KMF: 0, KRW: 0,
  KWD: 3, LYD: 3, OMR: 3, PYG: 0, RWF: 0, TND: 3, UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0,
  XOF: 0, XPF: 0,
};

/** The number of minor-unit digits of `currency` (2 unless ISO 4217 says otherwise). */
export function exponentOf(currency: string): number {
  return EXPONENTS[currency.toUpperCase()] ?? 2;
}

const formatters = new Map<string, { money: Intl.NumberFormat; int: Intl.NumberFormat }>();

function formattersFor(currency: string, locale: string | undefined, exp: number) {
  const key = `${locale ?? ''}|${currency}|${exp}`;
  let f = formatters.get(key);
  if (!f) {
    f = {
      money: new Intl.NumberFormat(locale, {
        style: 'currency',
        currency,
        minimumFractionDigits: exp,
        maximumFractionDigits: exp,
      }),
      int: new Intl.NumberFormat(locale, { maximumFractionDigits: 0, useGrouping: true }),
    };
    formatters.set(key, f);
  }
  return f;
}

/**
 * Formats an amount in minor units, e.g. `formatMoney(123456, 'GBP', 'en-GB')` → `£1,234.56`.
 * Exact for any safe integer or bigint: the major and minor parts are split as integers and put
 * into the locale's pattern for a template amount.
 */
export function formatMoney(minor: number | bigint, currency: string, locale?: string): string {
  if (typeof minor === 'number' && !Number.isSafeInteger(minor)) {
    throw new RangeError(`not an integer amount of minor units: ${minor}`);
  }
  const exp = exponentOf(currency);
  const value = BigInt(minor);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const scale = 10n ** BigInt(exp);
  const major = abs / scale;
  const fraction = (abs % scale).toString().padStart(exp, '0');
  const f = formattersFor(currency, locale, exp);
  // The template "1" (or "-1") gives the locale's order of sign, symbol, digits and decimal mark.
  const parts = f.money.formatToParts(negative ? -1 : 1);
  let out = '';
  let integerDone = false;
  for (const p of parts) {
    if (p.type === 'integer') {
      if (!integerDone) out += f.int.format(major);
      integerDone = true;
    } else if (p.type === 'group') {
      // not present in the template amount
    } else if (p.type === 'fraction') {
      out += fraction;
    } else {
      out += p.value;
    }
  }
  return out;
}

export type Parsed = { ok: true; minor: number } | { ok: false; message: string };

/**
 * Parses an amount as a cashier types it — `12`, `12.5`, `12,50`, `£12.50`, `1,234.50`,
 * `1.234,50` — into minor units of `currency`. With both `.` and `,` the last one is the decimal
 * mark; a single separator followed by exactly three digits groups thousands (unless the currency
 * has three decimals); a separator used twice groups thousands. Refuses negative amounts, more
 * decimals than the currency has and anything that is not a number, with a sentence to show.
 */
export function parseAmount(input: string, currency: string): Parsed {
  const exp = exponentOf(currency);
  const shown = input.trim();
  const notAmount: Parsed = { ok: false, message: `“${shown}” is not an amount.` };
  const s = input.replace(/[\s\u00a0']/g, '').replace(/^[^\d.,-]+/, '').replace(/[^\d.,]+$/, '');
  if (shown === '') return { ok: false, message: 'Type an amount, for example 12.50.' };
  if (s.startsWith('-')) return { ok: false, message: 'The amount cannot be negative.' };
  if (s === '' || !/^[\d.,]+$/.test(s)) return notAmount;
  const dots = (s.match(/\./g) ?? []).length;
  const commas = (s.match(/,/g) ?? []).length;
  let int = s;
  let frac = '';
  if (dots > 0 && commas > 0) {
    const mark = s.lastIndexOf('.') > s.lastIndexOf(',') ? '.' : ',';
    const at = s.lastIndexOf(mark);
    int = s.slice(0, at);
    frac = s.slice(at + 1);
    if (int.includes(mark)) return notAmount;
    int = int.replace(/[.,]/g, '');
  } else if (dots + commas === 1) {
    const at = Math.max(s.indexOf('.'), s.indexOf(','));
    const after = s.slice(at + 1);
    if (after.length === 3 && exp !== 3 && at > 0) {
      int = s.slice(0, at) + after;
    } else {
      int = s.slice(0, at);
      frac = after;
    }
  } else if (dots + commas > 1) {
    const groups = s.split(/[.,]/);
    if (groups.slice(1).some((g) => g.length !== 3) || groups[0].length === 0) return notAmount;
    int = groups.join('');
  }
  if (!/^\d*$/.test(int) || !/^\d*$/.test(frac) || (int === '' && frac === '')) return notAmount;
  if (frac.length > exp) {
    return exp === 0
      ? { ok: false, message: `${currency} has no smaller unit: type a whole amount.` }
      : { ok: false, message: `Use at most ${exp} decimals.` };
  }
  const value = BigInt((int || '0') + frac.padEnd(exp, '0'));
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, message: 'That amount is too large.' };
  return { ok: true, minor: Number(value) };
}

/**
 * Suggested cash amounts for the quick buttons: the exact amount, then the next round amounts a
 * customer is likely to hand over (next whole unit, next 5, 10, 20, 50, 100 …), at most `count`.
 */
export function quickCashAmounts(dueMinor: number, currency: string, count = 4): number[] {
  if (!Number.isSafeInteger(dueMinor) || dueMinor <= 0) return [];
  const unit = 10 ** exponentOf(currency);
  const steps = [1, 5, 10, 20, 50, 100, 200, 500, 1000].map((s) => s * unit);
  const out = [dueMinor];
  for (const step of steps) {
    const up = dueMinor + ((step - (dueMinor % step)) % step); // integers: next multiple
    if (up > dueMinor && !out.includes(up)) out.push(up);
    if (out.length >= count) break;
  }
  return out;
}
