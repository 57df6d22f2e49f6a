//! Barcode-scanner (keyboard wedge) detection: a scanner types its code as a burst of keystrokes a
//! few milliseconds apart and ends it with Enter; a person types far slower. The detector sees
//! every key with its time and says when a burst ending in Enter was a scan. Pure: the DOM glue
//! (`installWedge`) feeds it from a capture-phase listener on the window, so scans are recognised
//! from any screen and any focus.

export interface WedgeOptions {
  /** Longest gap between two keystrokes of one scan, in ms. */
  maxGapMs: number;
  /** Fewest characters a scan has (shorter bursts ending in Enter are typing). */
  minLength: number;
}

export const DEFAULT_WEDGE: WedgeOptions = { maxGapMs: 40, minLength: 4 };

export type WedgeStep =
  | { kind: 'char'; startsBurst: boolean }
  | { kind: 'scan'; code: string }
  | { kind: 'enter' }
  | { kind: 'ignored' };

export class WedgeDetector {
  private buf = '';
  private last = -Infinity;
  constructor(private readonly opts: WedgeOptions = DEFAULT_WEDGE) {}

  /** Feeds one key (`KeyboardEvent.key`) pressed at `t` ms. */
  key(key: string, t: number): WedgeStep {
    const fast = t - this.last <= this.opts.maxGapMs;
    if (key === 'Enter') {
      const code = this.buf;
      const scan = fast && code.length >= this.opts.minLength;
      this.reset();
      return scan ? { kind: 'scan', code } : { kind: 'enter' };
    }
    if (key.length !== 1) {
      // Shift and other modifiers come with scanned capitals; they do not break a burst.
      if (key === 'Shift') return { kind: 'ignored' };
      this.reset();
      return { kind: 'ignored' };
    }
    const startsBurst = !fast || this.buf === '';
    if (startsBurst) this.buf = '';
    this.buf += key;
    this.last = t;
    return { kind: 'char', startsBurst };
  }

  /** True while the keys so far look like the start of a scan (two or more fast keys). */
  get scanning(): boolean {
    return this.buf.length >= 2;
  }

  reset(): void {
    this.buf = '';
    this.last = -Infinity;
  }
}

type Editable = HTMLInputElement | HTMLTextAreaElement;

function editable(el: EventTarget | null): Editable | null {
  if (el instanceof HTMLTextAreaElement) return el;
  if (el instanceof HTMLInputElement && /^(text|search|tel|email|number|url|password|)$/.test(el.type)) {
    return el;
  }
  return null;
}

/**
 * Listens on `win` for scans and calls `onScan(code)`. Keys of a burst typed into a text field
 * reach it as usual; when the burst turns out to be a scan, the field gets back the value it had
 * before the burst, and the Enter never reaches the page. Returns the function that stops it.
 */
export function installWedge(
  win: Window,
  onScan: (code: string) => void,
  opts: WedgeOptions = DEFAULT_WEDGE,
  now: () => number = () => performance.now(),
): () => void {
  const det = new WedgeDetector(opts);
  let before: { el: Editable; value: string } | null = null;
  const handler = (e: KeyboardEvent) => {
    if (e.ctrlKey || e.altKey || e.metaKey || e.isComposing) {
      det.reset();
      return;
    }
    const t = e.timeStamp > 0 ? e.timeStamp : now();
    const step = det.key(e.key, t);
    if (step.kind === 'char' && step.startsBurst) {
      const el = editable(e.target);
      before = el ? { el, value: el.value } : null;
    } else if (step.kind === 'scan') {
      e.preventDefault();
      e.stopImmediatePropagation();
      if (before && before.el.value !== before.value) {
        before.el.value = before.value;
        before.el.dispatchEvent(new Event('input', { bubbles: true }));
      }
      before = null;
      onScan(step.code);
    } else if (step.kind === 'enter') {
      before = null;
    }
  };
  win.addEventListener('keydown', handler, { capture: true });
  return () => win.removeEventListener('keydown', handler, { capture: true });
}
