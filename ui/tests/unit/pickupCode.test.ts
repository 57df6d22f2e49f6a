import { describe, expect, it } from 'vitest';
import { classifyPickupQuery, normaliseCode, reservationFromQr } from '../../src/lib/pickupCode';

describe('pickup codes', () => {
  it('reads our QR payload', () => {
    expect(reservationFromQr('TRESTLE:R:K7MQ4')).toBe('K7MQ4');
    expect(reservationFromQr('trestle:r:k7-mq4')).toBe('K7MQ4');
    expect(reservationFromQr('TRESTLE:R:')).toBeNull();
    expect(reservationFromQr('5012345678900')).toBeNull();
    expect(reservationFromQr('TRESTLE:S:K7MQ4')).toBeNull();
  });
  it('normalises codes', () => {
    expect(normaliseCode(' k7 mq-4 ')).toBe('K7MQ4');
  });
  it('classifies what was typed', () => {
    expect(classifyPickupQuery('')).toBeNull();
    expect(classifyPickupQuery('K7MQ4')).toEqual({ kind: 'code', code: 'K7MQ4' });
    expect(classifyPickupQuery('k7-mq4')).toEqual({ kind: 'code', code: 'K7MQ4' });
    expect(classifyPickupQuery('Ana@Example.com')).toEqual({ kind: 'email', text: 'ana@example.com' });
    expect(classifyPickupQuery('+44 7700 900123')).toEqual({ kind: 'phone', text: '+447700900123' });
    expect(classifyPickupQuery('Ana Lima')).toEqual({ kind: 'name', text: 'Ana Lima' });
  });
});
