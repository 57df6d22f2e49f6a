//! A stand-in for the till engine behind the IPC, for the UI's browser tests only: it keeps a
//! cart, stock, reservations and sync state in memory and answers every command of the contract
//! with the shapes the real commands return, including `{code, message}` errors with the real
//! codes. Totals here are simple test arithmetic (integers), not the till's pricing rules.

import type {
  Cart, CatalogItem, Commands, Conflict, Discount, Receipt, Reservation, StockRow, SyncStatus, Tender, TenderQuote, TillStatus,
} from '../../../src/lib/contract';
import { CATALOG } from './catalog';

type Err = { code: string; message: string };
const fail = (code: string, message: string): never => { throw { code, message } satisfies Err; };

const CURRENCY = 'USD';
const TAX_BP = 1000; // 10 %, prices include tax

function taxIncluded(total: number): number {
  // total × rate / (1 + rate), rounded half away from zero, in integers.
  const num = total * TAX_BP;
  const den = 10000 + TAX_BP;
  return Math.floor((2 * num + den) / (2 * den));
}

function off(amount: number, d: Discount | null): number {
  if (!d) return 0;
  if (d.kind === 'amount') {
    if (d.minor > amount) fail('cart.discount_too_large', `the discount ${d.minor} is larger than ${amount}`);
    return d.minor;
  }
  return Math.floor((amount * d.bp * 2 + 10000) / 20000);
}

interface Line { variant_id: string; qty: number; discount: Discount | null }

export class MockTill {
  status: TillStatus;
  sync: SyncStatus;
  lines: Line[] = [];
  cartDiscount: Discount | null = null;
  stock = new Map<string, { free: number; held: number; eventFree: number; eventHeld: number }>();
  reservations: Reservation[];
  seq = 41;
  sales: { receipt: Receipt; lines: { variant_id: string; title: string; qty: number; refunded: number; total: number }[]; refunded: number }[] = [];
  /** Commands made to fail once with this error (set by tests). */
  failNext = new Map<string, Err>();
  calls: { cmd: string; args: Record<string, unknown> }[] = [];

  constructor(opts: { configured: boolean; online: boolean }) {
    this.status = {
      configured: opts.configured, demo: opts.configured, shop_name: 'Kalima Arts', currency: CURRENCY,
      receipt_prefix: 'A1', paired: opts.configured, hub_url: opts.configured ? 'http://127.0.0.1:8460' : null,
      event: opts.configured ? { id: 'ev-1', name: 'Riverside Makers Market' } : null,
    };
    for (const c of CATALOG) {
      this.stock.set(c.item.variant_id, { free: c.item.available ?? 0, held: 0, eventFree: (c.item.available ?? 0) + 4, eventHeld: 0 });
    }
    const today = new Date().toISOString().slice(0, 10);
    const item = (n: number) => CATALOG[n].item;
    this.reservations = [
      this.reservation('K7MQ4', 'Amani Uwase', '+250 788 123 456', 'amani@example.com', 'pay_on_pickup', [[item(3), 1], [item(4), 2]], 0, today),
      this.reservation('P3ZX9', 'Jean Habimana', null, 'jean.h@example.com', 'paid', [[item(0), 1]], 8600, today),
      this.reservation('R2TT8', 'Grace Mukamana', '+250 722 555 010', null, 'deposit', [[item(7), 2]], 2000, today),
    ];
    this.reservations[1].status = 'held'; // not packed yet
    for (const r of this.reservations) for (const l of r.lines) this.stock.get(l.variant_id)!.held += l.qty;
    const conflict: Conflict = {
      id: 'cf-1', kind: 'conflict.made_to_order_short',
      summary: 'Old Soul - 017 #Rihanna was sold beyond the stock: 2 more than there were.',
      facts: [{ label: 'Item', value: 'Old Soul - 017 #Rihanna' }, { label: 'Short by', value: '2' }, { label: 'Sold at', value: 'Riverside Makers Market' }],
      resolutions: [{ id: 'make_more', label: 'Make 2 more' }, { id: 'contact_customer', label: 'Contact the customers' }],
      detected_ms: Date.now() - 3_600_000, resolved: null,
    };
    this.sync = {
      online: opts.online, paired: opts.configured, hub_url: this.status.hub_url, pending_events: 3,
      last_sync_ms: Date.now() - 12 * 60_000, last_error: null, conflicts: opts.configured ? [conflict] : [],
    };
  }

  private reservation(code: string, name: string, phone: string | null, email: string | null, payment: Reservation['payment'],
    items: [CatalogItem, number][], paid: number, day: string): Reservation {
    const total = items.reduce((a, [i, q]) => a + i.price * q, 0);
    return {
      code, customer_name: name, phone, email, status: 'ready', payment, pickup_day: day, currency: CURRENCY,
      lines: items.map(([i, q], index) => ({ index, variant_id: i.variant_id, title: i.title, qty: q, collected: 0, unit_price: i.price })),
      total, paid, remaining: total - paid, units_left: items.reduce((a, [, q]) => a + q, 0),
    };
  }

  private find(item: string): CatalogItem {
    const c = CATALOG.find((c) => c.item.variant_id === item || c.item.barcode === item || c.item.sku === item);
    if (!c) fail('catalog.unknown_item', `no product has the SKU, barcode or id ${JSON.stringify(item)}`);
    return { ...c!.item, available: this.stock.get(c!.item.variant_id)!.free };
  }

  cart(): Cart {
    const priced = this.lines.map((l, index) => {
      const it = this.find(l.variant_id);
      const gross = it.price * l.qty;
      return { l, it, index, gross, lineOff: off(gross, l.discount) };
    });
    const after = priced.reduce((a, p) => a + p.gross - p.lineOff, 0);
    const cartOff = off(after, this.cartDiscount);
    let left = cartOff;
    const lines = priced.map((p, i) => {
      const base = p.gross - p.lineOff;
      const share = i === priced.length - 1 ? left : after === 0 ? 0 : Math.floor((cartOff * base) / after);
      left -= share;
      const total = base - share;
      return { index: p.index, variant_id: p.it.variant_id, title: p.it.title, sku: p.it.sku, qty: p.l.qty, unit_price: p.it.price,
        gross: p.gross, discount: p.lineOff + share, line_discount: p.l.discount, total };
    });
    const total = lines.reduce((a, l) => a + l.total, 0);
    return {
      currency: CURRENCY, lines, cart_discount: this.cartDiscount,
      subtotal: lines.reduce((a, l) => a + l.gross, 0), discount: lines.reduce((a, l) => a + l.discount, 0),
      tax: lines.reduce((a, l) => a + taxIncluded(l.total), 0), total,
    };
  }

  private quote(due: number, tenders: Tender[]): TenderQuote {
    const paid = tenders.reduce((a, t) => a + t.amount, 0);
    const cash = tenders.filter((t) => t.kind === 'cash').reduce((a, t) => a + t.amount, 0);
    const card = paid - cash;
    if (card > due) fail('tender.change_on_non_cash', 'the card amount is more than is due');
    return { due, paid, remaining: Math.max(0, due - paid), change: Math.max(0, paid - due) };
  }

  private receipt(lines: Receipt['lines'], totals: { subtotal: number; discount: number; tax: number; total: number }, tenders: Tender[], change: number): Receipt {
    this.seq += 1;
    this.sync.pending_events += 1;
    return {
      receipt_no: `A1-${String(this.seq).padStart(6, '0')}`, at_ms: Date.now(), shop_name: 'Kalima Arts', currency: CURRENCY,
      lines, ...totals, tenders: tenders.map((t) => ({ kind: t.kind, amount: t.amount, reference: t.kind === 'card' ? t.reference : null })), change,
    };
  }

  private summary(r: Reservation) {
    const { lines: _l, currency: _c, total: _t, paid: _p, ...s } = r;
    return s;
  }

  private res(code: string): Reservation {
    const r = this.reservations.find((r) => r.code === code.toUpperCase());
    if (!r) fail('reservation.unknown', `no reservation has the code ${code}`);
    return r!;
  }

  handle(cmd: string, a: Record<string, unknown>): unknown {
    this.calls.push({ cmd, args: a });
    const injected = this.failNext.get(cmd);
    if (injected) { this.failNext.delete(cmd); throw injected; }
    const c = cmd as keyof Commands;
    switch (c) {
      case 'till_status': return this.status;
      case 'catalog_search': {
        const q = String(a.query).toLowerCase();
        return CATALOG.map((x) => this.find(x.item.variant_id))
          .filter((i) => i.title.toLowerCase().includes(q) || i.sku?.toLowerCase().includes(q) || i.barcode === q)
          .slice(0, Number(a.limit));
      }
      case 'catalog_favourites': return CATALOG.filter((x) => x.favourite).map((x) => this.find(x.item.variant_id));
      case 'cart_get': return this.cart();
      case 'cart_add': {
        const it = this.find(String(a.item));
        const qty = Number(a.qty);
        const line = this.lines.find((l) => l.variant_id === it.variant_id);
        const want = (line?.qty ?? 0) + qty;
        if (want > (it.available ?? 0)) fail('stock.insufficient', `only ${it.available} of ${it.title} left at this till, ${want} wanted`);
        if (line) line.qty = want; else this.lines.push({ variant_id: it.variant_id, qty, discount: null });
        return this.cart();
      }
      case 'cart_set_qty': {
        const l = this.lines[Number(a.index)] ?? fail('input.invalid', 'no such line');
        const it = this.find(l.variant_id);
        if (Number(a.qty) > (it.available ?? 0)) fail('stock.insufficient', `only ${it.available} of ${it.title} left at this till, ${a.qty} wanted`);
        l.qty = Number(a.qty);
        return this.cart();
      }
      case 'cart_remove': this.lines.splice(Number(a.index), 1); return this.cart();
      case 'cart_line_discount': this.lines[Number(a.index)].discount = (a.discount as Discount) ?? null; this.cart(); return this.cart();
      case 'cart_discount': {
        const before = this.cartDiscount;
        this.cartDiscount = (a.discount as Discount) ?? null;
        try { return this.cart(); } catch (e) { this.cartDiscount = before; throw e; }
      }
      case 'cart_clear': this.lines = []; this.cartDiscount = null; return this.cart();
      case 'cart_quote': return this.quote(this.cart().total, a.tenders as Tender[]);
      case 'sale_complete': {
        const cart = this.cart();
        if (cart.lines.length === 0) fail('cart.empty', 'the cart is empty');
        const tenders = a.tenders as Tender[];
        const q = this.quote(cart.total, tenders);
        if (q.remaining > 0) fail('tender.underpaid', `the tenders are ${q.remaining} short of the total`);
        for (const l of cart.lines) this.stock.get(l.variant_id)!.free -= l.qty;
        this.lines = [];
        this.cartDiscount = null;
        const receipt = this.receipt(cart.lines.map((l) => ({ title: l.title, qty: l.qty, unit_price: l.unit_price, discount: l.discount, total: l.total })),
          cart, tenders, q.change);
        this.sales.push({ receipt, refunded: 0, lines: cart.lines.map((l) => ({ variant_id: l.variant_id, title: l.title, qty: l.qty, refunded: 0, total: l.total })) });
        return receipt;
      }
      case 'sale_get': {
        const s = this.sales.find((x) => x.receipt.receipt_no === a.receipt_no) ?? fail('sale.not_found', `no sale has the receipt number ${a.receipt_no}`);
        return { receipt_no: s.receipt.receipt_no, at_ms: s.receipt.at_ms, currency: CURRENCY, total: s.receipt.total, refunded: s.refunded, voided: false,
          lines: s.lines.map((l) => ({ variant_id: l.variant_id, title: l.title, qty: l.qty, refundable: l.qty - l.refunded, total: l.total })),
          tenders: s.receipt.tenders };
      }
      case 'refund': {
        const s = this.sales.find((x) => x.receipt.receipt_no === a.receipt_no) ?? fail('sale.not_found', `no sale has the receipt number ${a.receipt_no}`);
        const items = (a.items as { item: string; qty: number }[] | null) ?? s.lines.map((l) => ({ item: l.variant_id, qty: l.qty - l.refunded }));
        let amount = 0;
        for (const it of items) {
          const l = s.lines.find((l) => l.variant_id === it.item) ?? fail('refund.not_on_sale', `${it.item} is not on the sale`);
          if (l.refunded + it.qty > l.qty) fail('refund.too_many', `only ${l.qty - l.refunded} of ${l.title} left to refund`);
          l.refunded += it.qty;
          amount += Math.floor((l.total * it.qty) / l.qty);
          this.stock.get(l.variant_id)!.free += it.qty;
        }
        if (amount === 0) fail('refund.nothing_left', 'nothing is left to refund');
        s.refunded += amount;
        this.sync.pending_events += 1;
        const t = s.receipt.tenders[0];
        return { receipt_no: s.receipt.receipt_no, currency: CURRENCY, amount, tenders: [{ kind: t.kind, amount, reference: t.reference }] };
      }
      case 'reservations_today': return this.reservations.filter((r) => r.status !== 'collected').map((r) => this.summary(r));
      case 'reservation_find': {
        const q = String(a.query).toLowerCase().replace(/[\s()-]/g, '');
        return this.reservations.filter((r) => r.code.toLowerCase() === q || r.customer_name.toLowerCase().replace(/\s/g, '').includes(q)
          || (r.phone ?? '').replace(/[\s()-]/g, '').includes(q) || (r.email ?? '').includes(q)).map((r) => this.summary(r));
      }
      case 'reservation_get': return this.res(String(a.code));
      case 'reservation_quote': return this.quote(this.res(String(a.code)).remaining, a.tenders as Tender[]);
      case 'reservation_mark_ready': {
        const r = this.res(String(a.code));
        if (r.status === 'ready') fail('pickup.refused', `pickup ${r.code} is marked ready already`);
        if (r.status !== 'held') fail('pickup.refused', `pickup ${r.code} is already ${r.status.replace('_', ' ')}`);
        r.status = 'ready';
        this.sync.pending_events += 1;
        return r;
      }
      case 'reservation_hand_over': {
        const r = this.res(String(a.code));
        if (r.status === 'collected') fail('reservation.closed', 'the reservation is collected');
        const tenders = a.tenders as Tender[];
        const q = this.quote(r.remaining, tenders);
        if (q.remaining > 0) fail('tender.underpaid', `the tenders are ${q.remaining} short`);
        for (const { index, qty } of a.lines as { index: number; qty: number }[]) {
          const l = r.lines[index];
          if (l.collected + qty > l.qty) fail('reservation.collect_too_many', `only ${l.qty - l.collected} of ${l.title} left on the reservation`);
          l.collected += qty;
          this.stock.get(l.variant_id)!.held -= qty;
        }
        const left = r.lines.reduce((s, l) => s + l.qty - l.collected, 0);
        r.units_left = left;
        r.status = left === 0 ? 'collected' : 'partially_collected';
        let receipt: Receipt | null = null;
        if (tenders.length > 0) {
          receipt = this.receipt([{ title: `Pickup ${r.code}: what was left to pay`, qty: 1, unit_price: r.remaining, discount: 0, total: r.remaining }],
            { subtotal: r.remaining, discount: 0, tax: taxIncluded(r.remaining), total: r.remaining }, tenders, q.change);
          r.paid = r.total;
          r.remaining = 0;
          r.payment = 'paid';
        } else this.sync.pending_events += 1;
        return { reservation: r, receipt };
      }
      case 'stock_levels': {
        const q = String(a.query).toLowerCase();
        return CATALOG.map((x) => this.row(x.item.variant_id)).filter((r) => r.title.toLowerCase().includes(q) || (r.sku ?? '').toLowerCase().includes(q)
          || CATALOG.find((x) => x.item.variant_id === r.variant_id)!.item.barcode === q);
      }
      case 'stock_count': {
        const s = this.stock.get(String(a.variant_id)) ?? fail('catalog.unknown_variant', 'no such variant');
        const counted = Number(a.counted);
        if (counted === s.free + s.held) fail('count.zero', 'the count is what the till already has');
        if (counted < s.held) fail('stock.not_held', 'fewer than are held for reservations');
        s.eventFree += counted - s.held - s.free;
        s.free = counted - s.held;
        this.sync.pending_events += 1;
        return this.row(String(a.variant_id));
      }
      case 'sync_status': return this.sync;
      case 'sync_now': {
        if (!this.sync.paired) fail('sync.not_paired', 'this till is not paired with a hub');
        if (!this.sync.online) fail('sync.hub_unreachable', 'the hub at http://127.0.0.1:8460 could not be reached (connection refused); nothing was changed here, so sync again when there is a connection');
        this.sync.pending_events = 0;
        this.sync.last_sync_ms = Date.now();
        return this.sync;
      }
      case 'conflict_resolve': {
        const cf = this.sync.conflicts.find((x) => x.id === a.id) ?? fail('input.invalid', 'no such conflict');
        cf.resolved = { resolution: String(a.resolution), at_ms: Date.now() };
        this.sync.pending_events += 1;
        return this.sync;
      }
      case 'pair': {
        if (String(a.code) !== 'AB12CD34') fail('pairing.invalid_code', 'the hub refused the code');
        this.status = { ...this.status, configured: true, paired: true, hub_url: String(a.hub_url), demo: false };
        this.sync = { ...this.sync, paired: true, hub_url: String(a.hub_url) };
        return this.status;
      }
      case 'demo_start':
        this.status = { ...this.status, configured: true, demo: true };
        return this.status;
      default:
        throw new Error(`the mock does not know the command ${cmd}`);
    }
  }

  private row(id: string): StockRow {
    const c = CATALOG.find((x) => x.item.variant_id === id)!.item;
    const s = this.stock.get(id)!;
    return { variant_id: id, title: c.title, sku: c.sku, till_free: s.free, till_held: s.held, event_free: s.eventFree, event_held: s.held + s.eventHeld,
      on_hand: s.eventFree + s.held + s.eventHeld, available: s.free };
  }
}
