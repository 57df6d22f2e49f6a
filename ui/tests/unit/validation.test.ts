import { describe, expect, it } from 'vitest';
import { checkCardReference, checkDiscount, checkHubUrl, checkPairCode, checkQuantity, checkReason } from '../../src/lib/validation';

describe('form checks', () => {
  it('quantities', () => {
    expect(checkQuantity('3')).toEqual({ ok: true, value: 3 });
    expect(checkQuantity('0')).toEqual({ ok: false, message: 'The quantity must be at least 1.' });
    expect(checkQuantity('0', 0)).toEqual({ ok: true, value: 0 });
    expect(checkQuantity('2.5')).toEqual({ ok: false, message: 'Type a whole number.' });
    expect(checkQuantity('10000').ok).toBe(false);
  });
  it('discounts', () => {
    expect(checkDiscount('10%', 'GBP')).toEqual({ ok: true, value: { kind: 'percent', bp: 1000 } });
    expect(checkDiscount('12.5 %', 'GBP')).toEqual({ ok: true, value: { kind: 'percent', bp: 1250 } });
    expect(checkDiscount('2.50', 'GBP')).toEqual({ ok: true, value: { kind: 'amount', minor: 250 } });
    expect(checkDiscount('120%', 'GBP')).toEqual({ ok: false, message: 'A discount cannot be more than 100%.' });
    expect(checkDiscount('', 'GBP').ok).toBe(false);
    expect(checkDiscount('ten', 'GBP').ok).toBe(false);
  });
  it('count reasons', () => {
    expect(checkReason('  found   two ')).toEqual({ ok: true, value: 'found two' });
    expect(checkReason('x').ok).toBe(false);
  });
  it('hub address and pairing code', () => {
    expect(checkHubUrl('hub.example.com')).toEqual({ ok: true, value: 'https://hub.example.com' });
    expect(checkHubUrl('http://127.0.0.1:8080/')).toEqual({ ok: true, value: 'http://127.0.0.1:8080' });
    expect(checkHubUrl('ftp://x').ok).toBe(false);
    expect(checkHubUrl('').ok).toBe(false);
    expect(checkPairCode('ab12-cd34')).toEqual({ ok: true, value: 'AB12CD34' });
    expect(checkPairCode('a!').ok).toBe(false);
  });
  it('card references', () => {
    expect(checkCardReference(' ')).toEqual({ ok: true, value: null });
    expect(checkCardReference('AUTH 123456')).toEqual({ ok: true, value: 'AUTH 123456' });
    expect(checkCardReference('x'.repeat(65)).ok).toBe(false);
  });
});
