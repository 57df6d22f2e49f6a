import { describe, expect, it } from 'vitest';
import { SHORTCUTS, keyName, match, type KeyLike } from '../../src/lib/shortcuts';

const k = (key: string, mods: Partial<KeyLike> = {}): KeyLike => ({
  key, altKey: false, ctrlKey: false, metaKey: false, shiftKey: false, ...mods,
});

describe('shortcuts', () => {
  it('names keys', () => {
    expect(keyName(k('1', { altKey: true }))).toBe('Alt+1');
    expect(keyName(k('p', { ctrlKey: true }))).toBe('Ctrl+P');
    expect(keyName(k('F8'))).toBe('F8');
  });
  it('maps the selling steps', () => {
    expect(match(k('F8'), true)).toBe('pay.cash');
    expect(match(k('F9'), false)).toBe('pay.card');
    expect(match(k('F10'), false)).toBe('pay.split');
    expect(match(k('2', { altKey: true }), true)).toBe('screen.pickups');
    expect(match(k('h', { altKey: true }), true)).toBe('theme.toggle');
    expect(match(k('p', { ctrlKey: true }), false)).toBe('receipt.print');
  });
  it('keeps plain characters for typing inside fields', () => {
    expect(match(k('?'), false)).toBe('help');
    expect(match(k('?'), true)).toBeNull();
    expect(match(k('+'), true)).toBeNull();
    expect(match(k('+'), false)).toBe('line.more');
    expect(match(k('Delete'), true)).toBeNull();
    expect(match(k('ArrowUp'), true)).toBeNull();
    expect(match(k('ArrowUp', { altKey: true }), true)).toBe('line.prev');
    expect(match(k('F1'), true)).toBe('help');
  });
  it('has no key bound twice and every action documented', () => {
    const keys = SHORTCUTS.flatMap((s) => s.keys);
    expect(new Set(keys).size).toBe(keys.length);
    for (const s of SHORTCUTS) expect(s.what.length).toBeGreaterThan(3);
  });
  it('ignores unbound keys', () => {
    expect(match(k('x'), false)).toBeNull();
  });
});
