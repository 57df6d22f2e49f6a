//! Search as you type, view side: a debouncer that drops stale answers (only the newest query's
//! results are shown), and the display order of results — exact code matches first, then titles
//! that start with the query, then the rest in the order the till returned them.

/**
 * Calls `run(query)` `delayMs` after the last `push`, and hands `show` only the result of the
 * newest query: an older answer arriving late is dropped.
 */
export class LatestSearch<T> {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private seq = 0;
  constructor(
    private readonly run: (q: string) => Promise<T>,
    private readonly show: (q: string, result: T) => void,
    private readonly fail: (q: string, err: unknown) => void,
    private readonly delayMs = 60,
  ) {}

  push(query: string): void {
    if (this.timer) clearTimeout(this.timer);
    const mine = ++this.seq;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run(query).then(
        (r) => mine === this.seq && this.show(query, r),
        (e) => mine === this.seq && this.fail(query, e),
      );
    }, this.delayMs);
  }

  /** Forgets any pending query and any answer still on its way. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.seq++;
  }
}

export interface Rankable {
  title: string;
  sku?: string | null;
  barcode?: string | null;
}

/** Orders results for display: exact SKU/barcode, then title prefix, then word prefix, then rest. */
export function rankForDisplay<T extends Rankable>(query: string, items: T[]): T[] {
  const q = query.trim().toLowerCase();
  if (q === '') return items;
  const rank = (it: T): number => {
    if (it.sku?.toLowerCase() === q || it.barcode?.toLowerCase() === q) return 0;
    const title = it.title.toLowerCase();
    if (title.startsWith(q)) return 1;
    if (title.split(/[\s\-–/]+/).some((w) => w.startsWith(q))) return 2;
    return 3;
  };
  return items
    .map((it, i) => ({ it, i, r: rank(it) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.it);
}
