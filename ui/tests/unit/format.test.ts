import { describe, expect, it } from 'vitest';
import { ago, money } from '../../src/lib/format';

describe('ago', () => {
  it('says how long ago in words', () => {
    const now = 1_000_000_000_000;
    expect(ago(null, now)).toBe('never');
    expect(ago(now - 5_000, now)).toBe('just now');
    expect(ago(now - 60_000, now)).toBe('1 minute ago');
    expect(ago(now - 600_000, now)).toBe('10 minutes ago');
    expect(ago(now - 7_200_000, now)).toBe('2 hours ago');
    expect(ago(now - 86_400_000, now)).toBe('yesterday');
  });
});

describe('money', () => {
  it('takes minor units with a currency or a Money object', () => {
    expect(money(1250, 'USD')).toMatch(/12\.50/);
    expect(money({ minor: 1250, currency: 'JPY' })).toMatch(/1,250/);
  });
});
