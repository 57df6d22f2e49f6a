import { describe, expect, it } from 'vitest';
import { exponentOf, formatMoney, parseAmount, quickCashAmounts } from '../../src/lib/money';

describe('formatMoney', () => {
  it('formats minor units in the locale pattern', () => {
    expect(formatMoney(123456, 'GBP', 'en-GB')).toBe('£1,234.56');
    expect(formatMoney(5, 'GBP', 'en-GB')).toBe('£0.05');
    expect(formatMoney(0, 'EUR', 'en-GB')).toBe('€0.00');
    expect(formatMoney(123456, 'EUR', 'de-DE')).toBe('1.234,56\u00a0€');
  });
  it('keeps the sign of small negatives', () => {
    expect(formatMoney(-5, 'GBP', 'en-GB')).toBe('-£0.05');
    expect(formatMoney(-123456, 'GBP', 'en-GB')).toBe('-£1,234.56');
  });
  it('uses the currency exponent', () => {
    expect(formatMoney(1500, 'JPY', 'en-GB')).toBe('JP¥1,500');
    expect(formatMoney(1234, 'KWD', 'en-GB')).toBe('KWD\u00a01.234');
  });
  it('is exact beyond double precision', () => {
    expect(formatMoney(9007199254740993n, 'GBP', 'en-GB')).toBe('£90,071,992,547,409.93');
    expect(formatMoney(Number.MAX_SAFE_INTEGER, 'USD', 'en-US')).toBe('$90,071,992,547,409.91');
  });
  it('refuses a non-integer', () => {
    expect(() => formatMoney(1.5, 'GBP')).toThrow(RangeError);
  });
});

describe('parseAmount', () => {
  const ok = (s: string, c = 'GBP') => {
    const r = parseAmount(s, c);
    if (!r.ok) throw new Error(r.message);
    return r.minor;
  };
  it('reads what cashiers type', () => {
    expect(ok('12')).toBe(1200);
    expect(ok('12.5')).toBe(1250);
    expect(ok('12,50')).toBe(1250);
    expect(ok('£12.50')).toBe(1250);
    expect(ok(' 0.07 ')).toBe(7);
    expect(ok('.5')).toBe(50);
    expect(ok('1,234.50')).toBe(123450);
    expect(ok('1.234,50', 'EUR')).toBe(123450);
    expect(ok('1,234')).toBe(123400);
    expect(ok('1,234,567')).toBe(123456700);
    expect(ok('20 €', 'EUR')).toBe(2000);
    expect(ok('1500', 'JPY')).toBe(1500);
    expect(ok('1.234', 'KWD')).toBe(1234);
  });
  it('refuses with a sentence', () => {
    expect(parseAmount('', 'GBP')).toEqual({ ok: false, message: 'Type an amount, for example 12.50.' });
    expect(parseAmount('-3', 'GBP')).toEqual({ ok: false, message: 'The amount cannot be negative.' });
    expect(parseAmount('1.234', 'GBP')).toMatchObject({ ok: true, minor: 123400 });
    expect(parseAmount('1.2345', 'GBP')).toEqual({ ok: false, message: 'Use at most 2 decimals.' });
    expect(parseAmount('12.5', 'JPY')).toEqual({ ok: false, message: 'JPY has no smaller unit: type a whole amount.' });
    expect(parseAmount('abc', 'GBP')).toEqual({ ok: false, message: '“abc” is not an amount.' });
    expect(parseAmount('1,2,3', 'GBP').ok).toBe(false);
    expect(parseAmount('99999999999999999', 'GBP')).toEqual({ ok: false, message: 'That amount is too large.' });
  });
});

describe('quickCashAmounts', () => {
  it('offers exact then round notes', () => {
    expect(quickCashAmounts(1234, 'GBP')).toEqual([1234, 1300, 1500, 2000]);
    expect(quickCashAmounts(2000, 'GBP')).toEqual([2000, 5000, 10000, 20000]);
    expect(quickCashAmounts(450, 'JPY')).toEqual([450, 460, 500, 600]);
    expect(quickCashAmounts(0, 'GBP')).toEqual([]);
  });
  it('knows exponents', () => {
    expect(exponentOf('gbp')).toBe(2);
    expect(exponentOf('JPY')).toBe(0);
  });
});
