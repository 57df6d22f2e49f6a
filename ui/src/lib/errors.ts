//! Errors in words a cashier understands. The till sends `{code, message}` with stable codes; the
//! UI shows a sentence chosen by code (never the code itself, never a stack trace), and for the
//! few codes whose message carries facts the cashier needs (how many are left, what was scanned)
//! that message as the detail.

export interface AppError {
  code: string;
  message: string;
}

export interface Shown {
  /** The sentence to show. */
  text: string;
  /** Facts from the till's message, when they help (e.g. "only 2 of Blue mug left"). */
  detail?: string;
}

const SENTENCES: Record<string, string> = {
  'catalog.unknown_item': 'That item is not in the catalog. Check the code or search by name.',
  'catalog.unknown_variant': 'That item is not in the catalog. Check the code or search by name.',
  'catalog.ambiguous_sku': 'Several items share that code. Scan the barcode or pick the item from the search.',
  'catalog.from_hub': 'This till gets its catalog from the hub; change the catalog there.',
  'stock.insufficient': 'Not enough of that item left at this till.',
  'stock.short': 'Not enough of that item left at this till.',
  'stock.not_held': 'Those units are not set aside at this till.',
  'cart.empty': 'The cart is empty. Scan or pick an item first.',
  'cart.invalid_quantity': 'The quantity must be a whole number from 1 up.',
  'cart.invalid_discount': 'That discount is not valid. Type a percentage from 0 to 100 or an amount.',
  'cart.discount_too_large': 'The discount is larger than the price.',
  'tender.underpaid': 'The payment does not cover the total yet.',
  'tender.change_on_non_cash': 'Only cash can give change. Lower the card amount to what is due.',
  'tender.zero': 'A payment needs an amount above zero.',
  'tender.invalid': 'That payment is not valid. Check the amount and the card reference.',
  'money.invalid_amount': 'That is not an amount. Type it like 12.50.',
  'money.too_precise': 'That amount has too many decimals.',
  'money.out_of_range': 'That amount is too large.',
  'money.currency_mismatch': 'That amount is in another currency than the shop’s.',
  'money.unknown_currency': 'The shop’s currency is not known to this till.',
  'sale.not_found': 'No sale has that receipt number.',
  'sale.voided': 'That sale was already voided.',
  'sale.has_refunds': 'That sale has refunds, so it cannot be voided. Refund what is left instead.',
  'refund.invalid': 'That refund is not possible.',
  'refund.nothing_left': 'Everything on that sale was already refunded.',
  'refund.too_many': 'That is more than is left to refund on the sale.',
  'refund.not_on_sale': 'That item is not on the sale.',
  'reservation.unknown': 'No reservation has that code. Check the code, or search by name, phone or e-mail.',
  'reservation.closed': 'That reservation is already collected or cancelled.',
  'reservation.collect_too_many': 'That is more than is left to hand over on the reservation.',
  'reservation.not_yours': 'That reservation is held by another till or the hub; it cannot be handed over here.',
  'count.zero': 'The count did not change anything.',
  'count.reason_missing': 'Say why the count changed (for example: damaged, found, miscounted).',
  'input.invalid': 'Some of what was typed is not valid.',
  'input.unreadable_file': 'That file could not be read.',
  'value.invalid': 'Some of what was typed is not valid.',
  'sync.not_paired': 'This till is not paired with a hub yet. Pair it on the Setup screen.',
  'sync.already_paired': 'This till is already paired with a hub.',
  'sync.hub_unreachable': 'The hub cannot be reached. Keep selling: everything is saved here and syncs when the connection is back.',
  'sync.hub_failed': 'The hub had a problem. Keep selling: everything is saved here; sync again later.',
  'sync.unauthorised': 'The hub no longer accepts this till. Pair it again with a new code.',
  'sync.refused': 'The hub refused the request.',
  'sync.bad_answer': 'The hub answered something this till does not understand. Keep selling; sync again later.',
  'sync.credentials': 'This till’s hub pairing cannot be read. Pair it again with a new code.',
  'pairing.shop_mismatch': 'That hub’s shop does not match this till’s shop. Set the till up afresh for it.',
  'pairing.invalid_code': 'That pairing code is not valid or has expired. Ask for a new one at the hub.',
  'till.not_initialised': 'This till is not set up yet. Start the demo or pair it with a hub on Setup.',
  'till.already_initialised': 'This till is already set up.',
  'till.data_dir': 'The till cannot use its data folder. Check the disk.',
  'storage.failure': 'The till could not save. Nothing was recorded; try again, and check the disk if it keeps failing.',
  'storage.corrupt': 'The till’s data is damaged. Stop selling on this till and restore it from a backup.',
  'audit.conflicts': 'The stock check found differences that need a decision. See Sync.',
  'pickup.not_found': 'No pickup matches that. Check the code, or search by name, phone or e-mail.',
  'pickup.ambiguous': 'Several pickups match that. Type more of the name or scan the code.',
  'pickup.refused': 'That hand-over is not possible.',
  'staff.sign_in_required': 'Sign in with your PIN first.',
  'staff.unknown': 'Nobody on this till has that name.',
  'staff.wrong_pin': 'That PIN is wrong.',
  'staff.locked_out': 'Too many wrong PINs. Wait a few minutes, then try again.',
  'staff.approval_required': 'This needs a manager’s approval.',
  'staff.not_a_manager': 'Only a manager can approve this.',
  'event.none_open': 'No market event is open on this till. Open the day’s event first.',
  'event.already_open': 'An event is already open on this till.',
  'event.closed': 'That event is closed; this till sells no more for it.',
  'event.unknown': 'This till does not know that event.',
  'conflict.not_found': 'That conflict is not known on this till. Sync, then try again.',
  'conflict.unknown_resolution': 'That is not one of the choices for this conflict.',
  'conflict.resolved': 'That conflict was already resolved.',
  'refund.empty': 'Choose what to refund.',
  'refund.unknown_line': 'That line is not on the sale.',
  'tax.invalid_rate': 'That tax rate is not valid.',
  'ipc.unavailable': 'The till’s engine is not running. Restart the app.',
};

/** Codes whose message is a plain fact worth showing beside the sentence. */
const DETAIL_CODES = new Set([
  'stock.insufficient',
  'catalog.unknown_item',
  'catalog.ambiguous_sku',
  'reservation.collect_too_many',
  'pickup.refused',
  'pickup.ambiguous',
  'staff.approval_required',
  'event.closed',
  'refund.too_many',
  'sync.refused',
]);

const BY_AREA: Record<string, string> = {
  sync: 'Syncing with the hub did not work. Keep selling: everything is saved here.',
  pairing: 'Pairing with the hub did not work. Check the address and the code.',
  tender: 'That payment is not possible. Check the amounts.',
  cart: 'That change to the cart is not possible.',
  reservation: 'That reservation cannot be handed over as asked.',
  stock: 'That stock change is not possible.',
};

const GENERIC = 'Something went wrong on this till. Nothing was changed; try again.';

/** What the cashier was doing, when a code's sentence depends on it. */
export type Doing = 'mark_ready';

/** Sentences for a code while doing something else than its usual action. */
const WHILE: Record<Doing, Record<string, string>> = {
  mark_ready: {
    'pickup.refused': 'That pickup cannot be marked ready.',
  },
};

/** True for `{code, message}` values from the till. */
export function isAppError(e: unknown): e is AppError {
  return typeof e === 'object' && e !== null
    && typeof (e as AppError).code === 'string' && typeof (e as AppError).message === 'string';
}

function sentence(s: string): string {
  const t = s.trim().replace(/`[^`]*`/g, '').replace(/\s+/g, ' ');
  if (t === '') return t;
  return t[0].toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.');
}

/** What to show for anything thrown by a command; `doing` picks the sentence where it differs. */
export function describeError(e: unknown, doing?: Doing): Shown {
  if (!isAppError(e)) return { text: GENERIC };
  const text = (doing && WHILE[doing][e.code]) ?? SENTENCES[e.code] ?? BY_AREA[e.code.split('.')[0]] ?? GENERIC;
  if (DETAIL_CODES.has(e.code) && e.message && !/\n\s+at |panicked|os error/.test(e.message)) {
    return { text, detail: sentence(e.message) };
  }
  return { text };
}

/** The codes with a sentence of their own (for tests and docs). */
export const KNOWN_CODES = Object.keys(SENTENCES);

/** The sentence and its facts as one line, for messages shown inside a form. */
export function errorText(e: unknown): string {
  const s = describeError(e);
  return s.detail ? `${s.text} ${s.detail}` : s.text;
}
