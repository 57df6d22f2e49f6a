import { describe, expect, it, vi } from 'vitest';
import { LatestSearch, rankForDisplay } from '../../src/lib/search';

describe('LatestSearch', () => {
  it('debounces and shows only the newest answer', async () => {
    vi.useFakeTimers();
    const resolvers: Record<string, (v: string) => void> = {};
    const run = vi.fn((q: string) => new Promise<string>((r) => (resolvers[q] = r)));
    const shown: string[] = [];
    const s = new LatestSearch(run, (_q, r) => shown.push(r), () => {}, 50);
    s.push('m');
    s.push('mu');
    vi.advanceTimersByTime(49);
    expect(run).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(run).toHaveBeenCalledTimes(1);
    s.push('mug');
    vi.advanceTimersByTime(50);
    resolvers['mug']('new');
    resolvers['mu']('old');
    await Promise.resolve();
    await Promise.resolve();
    expect(shown).toEqual(['new']);
    vi.useRealTimers();
  });
  it('reports only the newest failure and forgets on cancel', async () => {
    vi.useFakeTimers();
    const errs: unknown[] = [];
    const shown: string[] = [];
    const s = new LatestSearch(async (q) => { if (q === 'x') throw new Error('bad'); return q; },
      (_q, r) => shown.push(r), (_q, e) => errs.push(e), 10);
    s.push('x');
    vi.advanceTimersByTime(10);
    await Promise.resolve(); await Promise.resolve();
    expect(errs).toHaveLength(1);
    s.push('y');
    s.cancel();
    vi.advanceTimersByTime(10);
    await Promise.resolve(); await Promise.resolve();
    expect(shown).toEqual([]);
    vi.useRealTimers();
  });
});

describe('rankForDisplay', () => {
  const items = [
    { title: 'Blue mug', sku: 'MUG-B' },
    { title: 'Mug, speckled', sku: 'MUG-S' },
    { title: 'Tea towel', sku: 'TT', barcode: 'mug' },
    { title: 'Smugglers tote', sku: 'TOTE' },
  ];
  it('puts exact codes, then prefixes, then the rest', () => {
    expect(rankForDisplay('mug', items).map((i) => i.sku)).toEqual(['TT', 'MUG-S', 'MUG-B', 'TOTE']);
  });
  it('keeps the till order for an empty query', () => {
    expect(rankForDisplay(' ', items)).toBe(items);
  });
});
