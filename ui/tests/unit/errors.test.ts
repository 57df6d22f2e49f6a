import { describe, expect, it } from 'vitest';
import { describeError, KNOWN_CODES } from '../../src/lib/errors';

describe('describeError', () => {
  it('maps stable codes to sentences', () => {
    expect(describeError({ code: 'cart.empty', message: 'the cart is empty' }).text)
      .toBe('The cart is empty. Scan or pick an item first.');
  });
  it('adds the facts for stock', () => {
    expect(describeError({ code: 'stock.insufficient', message: 'only 2 of Blue mug left at this till, 3 wanted' }))
      .toEqual({ text: 'Not enough of that item left at this till.', detail: 'Only 2 of Blue mug left at this till, 3 wanted.' });
  });
  it('never shows a code, a stack or an exception', () => {
    for (const e of [new Error('boom\n    at x.js:1'), 'panicked at src/lib.rs', { code: 'weird.thing', message: 'x' }, null]) {
      const s = describeError(e);
      expect(s.text).toBe('Something went wrong on this till. Nothing was changed; try again.');
      expect(s.detail).toBeUndefined();
    }
    for (const code of KNOWN_CODES) {
      const s = describeError({ code, message: 'm' });
      expect(s.text).not.toContain(code);
      expect(s.text).toMatch(/^[A-Z].*[.]$/);
    }
  });
  it('words a refusal by what the cashier was doing', () => {
    const e = { code: 'pickup.refused', message: 'pickup K7MQ4 is held by hub; mark it ready there' };
    expect(describeError(e, 'mark_ready'))
      .toEqual({ text: 'That pickup cannot be marked ready.', detail: 'Pickup K7MQ4 is held by hub; mark it ready there.' });
    expect(describeError(e).text).toBe('That hand-over is not possible.');
    expect(describeError({ code: 'pickup.not_found', message: 'x' }, 'mark_ready').text).toMatch(/^No pickup matches/);
  });
  it('falls back by area', () => {
    expect(describeError({ code: 'sync.something_new', message: 'x' }).text).toMatch(/Keep selling/);
  });
  it('drops commands from details', () => {
    expect(describeError({ code: 'catalog.unknown_item', message: 'no product has the SKU, barcode or id "X1"' }).detail)
      .toBe('No product has the SKU, barcode or id "X1".');
  });
});
