//! The keyboard map of the till: every step of selling, pickups and the other screens has a key.
//! One table drives both the key handler (`match`) and the in-app `?` overlay and docs/ui.md, so
//! they cannot disagree. Function keys and Alt-combinations work while a text field has focus;
//! single keys (`?`, `+`, `-`, Delete) only outside text fields, where they would otherwise type.

export type Screen = 'sell' | 'pickups' | 'stock' | 'sync' | 'setup';

export type Action =
  | 'help'
  | 'screen.sell'
  | 'screen.pickups'
  | 'screen.stock'
  | 'screen.sync'
  | 'screen.setup'
  | 'theme.toggle'
  | 'search.focus'
  | 'line.prev'
  | 'line.next'
  | 'line.more'
  | 'line.less'
  | 'line.remove'
  | 'line.discount'
  | 'cart.discount'
  | 'cart.clear'
  | 'pay.cash'
  | 'pay.card'
  | 'pay.split'
  | 'receipt.print'
  | 'refund'
  | 'pickup.ready'
  | 'close';

export interface Shortcut {
  action: Action;
  /** Keys as shown to people, e.g. `Alt+1`; the first is the main one. */
  keys: string[];
  what: string;
  /** Where it applies; absent = everywhere. */
  group: 'Everywhere' | 'Sell' | 'Pickups' | 'Pay and receipt';
  /** True when it also works while typing in a text field. */
  inFields: boolean;
}

export const SHORTCUTS: Shortcut[] = [
  { action: 'help', keys: ['F1', '?'], what: 'Show or hide these shortcuts', group: 'Everywhere', inFields: true },
  { action: 'screen.sell', keys: ['Alt+1'], what: 'Sell', group: 'Everywhere', inFields: true },
  { action: 'screen.pickups', keys: ['Alt+2'], what: 'Pickups', group: 'Everywhere', inFields: true },
  { action: 'screen.stock', keys: ['Alt+3'], what: 'Stock', group: 'Everywhere', inFields: true },
  { action: 'screen.sync', keys: ['Alt+4'], what: 'Sync', group: 'Everywhere', inFields: true },
  { action: 'screen.setup', keys: ['Alt+5'], what: 'Setup', group: 'Everywhere', inFields: true },
  { action: 'theme.toggle', keys: ['Alt+H'], what: 'High-contrast theme on or off', group: 'Everywhere', inFields: true },
  { action: 'close', keys: ['Escape'], what: 'Close the open panel or dialog', group: 'Everywhere', inFields: true },
  { action: 'search.focus', keys: ['F2', '/'], what: 'Search (products on Sell, reservations on Pickups)', group: 'Everywhere', inFields: true },
  { action: 'line.prev', keys: ['Alt+ArrowUp', 'ArrowUp'], what: 'Select the previous cart line', group: 'Sell', inFields: true },
  { action: 'line.next', keys: ['Alt+ArrowDown', 'ArrowDown'], what: 'Select the next cart line', group: 'Sell', inFields: true },
  { action: 'line.more', keys: ['Alt+=', '+'], what: 'One more of the selected line', group: 'Sell', inFields: true },
  { action: 'line.less', keys: ['Alt+-', '-'], what: 'One fewer of the selected line', group: 'Sell', inFields: true },
  { action: 'line.remove', keys: ['Alt+Backspace', 'Delete'], what: 'Remove the selected line', group: 'Sell', inFields: true },
  { action: 'line.discount', keys: ['F6'], what: 'Discount on the selected line', group: 'Sell', inFields: true },
  { action: 'cart.discount', keys: ['F7'], what: 'Discount on the whole cart', group: 'Sell', inFields: true },
  { action: 'cart.clear', keys: ['Alt+N'], what: 'New sale (empty the cart)', group: 'Sell', inFields: true },
  { action: 'pickup.ready', keys: ['F4'], what: 'Mark the open pickup packed and ready', group: 'Pickups', inFields: true },
  { action: 'pay.cash', keys: ['F8'], what: 'Pay cash (then Enter for the exact amount, or 1–4 for a quick amount)', group: 'Pay and receipt', inFields: true },
  { action: 'pay.card', keys: ['F9'], what: 'Pay by card (type the terminal reference, Enter)', group: 'Pay and receipt', inFields: true },
  { action: 'pay.split', keys: ['F10'], what: 'Split between cash and card', group: 'Pay and receipt', inFields: true },
  { action: 'refund', keys: ['Alt+R'], what: 'Refund a sale by its receipt number', group: 'Pay and receipt', inFields: true },
  { action: 'receipt.print', keys: ['Ctrl+P'], what: 'Print the receipt', group: 'Pay and receipt', inFields: true },
];

export interface KeyLike {
  key: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
}

/** The name of a pressed key in the table's notation (`Alt+1`, `F8`, `Ctrl+P`, `?`). */
export function keyName(e: KeyLike): string {
  let key = e.key;
  if (key.length === 1 && (e.altKey || e.ctrlKey)) key = key.toUpperCase();
  // Alt+digit and Alt+letter give other characters on some layouts; `code` is not portable, so
  // the caller passes `key` from `e.code` for Alt combinations (see `fromEvent`).
  const mods = [e.ctrlKey ? 'Ctrl' : '', e.altKey ? 'Alt' : '', e.metaKey ? 'Meta' : '']
    .filter(Boolean)
    .join('+');
  return mods ? `${mods}+${key}` : key;
}

/** A KeyboardEvent read as the table writes keys (Alt combinations by physical key). */
export function fromEvent(e: KeyboardEvent): KeyLike {
  let key = e.key;
  if (e.altKey || e.ctrlKey) {
    if (/^Digit\d$/.test(e.code)) key = e.code.slice(5);
    else if (/^Key[A-Z]$/.test(e.code)) key = e.code.slice(3);
    else if (e.code === 'Equal' || e.code === 'NumpadAdd') key = '=';
    else if (e.code === 'Minus' || e.code === 'NumpadSubtract') key = '-';
  }
  return { key, altKey: e.altKey, ctrlKey: e.ctrlKey, metaKey: e.metaKey, shiftKey: e.shiftKey };
}

const BY_KEY = new Map<string, Shortcut>();
for (const s of SHORTCUTS) {
  s.keys.forEach((k, i) => {
    // Keys after the first that are plain characters or plain arrows only act outside fields.
    BY_KEY.set(k, i === 0 ? s : { ...s, inFields: s.inFields && /^(Alt|Ctrl|F\d)/.test(k) });
  });
}

/** The action a key press asks for, or null. `inField`: focus is in a text field. */
export function match(e: KeyLike, inField: boolean): Action | null {
  const s = BY_KEY.get(keyName(e));
  if (!s) return null;
  if (inField && !s.inFields) return null;
  return s.action;
}
