//! The till's command contract as the UI uses it: command names, arguments and results. Amounts
//! are integer minor units of `currency`. These shapes are the UI's request to the app package
//! (docs/app.md, "Requests from the UI"); once the types generated from Rust land in
//! `./generated/`, this file re-exports them instead and the compiler shows any drift.

export type Minor = number;

export type Discount = { kind: 'percent'; bp: number } | { kind: 'amount'; minor: Minor };

export type Tender =
  | { kind: 'cash'; amount: Minor }
  | { kind: 'card'; amount: Minor; reference: string | null };

export interface EventInfo { id: string; name: string }

export interface TillStatus {
  configured: boolean; // a till exists in the data directory
  demo: boolean; // running on the sample catalog
  shop_name: string;
  currency: string;
  receipt_prefix: string;
  paired: boolean;
  hub_url: string | null;
  event: EventInfo | null;
}

export interface CatalogItem {
  variant_id: string;
  title: string; // product and variant, e.g. "Speckled mug — Blue"
  sku: string | null;
  barcode: string | null;
  price: Minor;
  track_inventory: boolean;
  available: number | null; // this till's free units; null when not tracked
}

export interface CartLine {
  index: number;
  variant_id: string;
  title: string;
  sku: string | null;
  qty: number;
  unit_price: Minor;
  gross: Minor;
  discount: Minor; // line + share of cart discount
  line_discount: Discount | null;
  total: Minor;
}

export interface Cart {
  currency: string;
  lines: CartLine[];
  cart_discount: Discount | null;
  subtotal: Minor;
  discount: Minor;
  tax: Minor;
  total: Minor;
}

export interface TenderQuote {
  due: Minor;
  paid: Minor;
  remaining: Minor; // still to pay, 0 when covered
  change: Minor; // cash to give back
}

export interface ReceiptTender { kind: 'cash' | 'card' | 'other'; amount: Minor; reference: string | null }

export interface Receipt {
  receipt_no: string;
  at_ms: number;
  shop_name: string;
  currency: string;
  lines: { title: string; qty: number; unit_price: Minor; discount: Minor; total: Minor }[];
  subtotal: Minor;
  discount: Minor;
  tax: Minor;
  total: Minor;
  tenders: ReceiptTender[];
  change: Minor;
}

export interface SaleLine {
  variant_id: string;
  title: string;
  qty: number;
  refundable: number; // units not yet refunded
  total: Minor;
}

/** A completed sale looked up by its receipt number, for a refund. */
export interface Sale {
  receipt_no: string;
  at_ms: number;
  currency: string;
  total: Minor;
  refunded: Minor;
  voided: boolean;
  lines: SaleLine[];
  tenders: ReceiptTender[];
}

export interface RefundResult {
  receipt_no: string; // of the sale refunded
  currency: string;
  amount: Minor; // paid back
  tenders: ReceiptTender[]; // how (to the original tenders)
}

export type ReservationStatus =
  | 'held' | 'ready' | 'partially_collected' | 'collected' | 'cancelled' | 'expired';
export type PaymentState = 'paid' | 'deposit' | 'pay_on_pickup';

export interface ReservationSummary {
  code: string;
  customer_name: string;
  phone: string | null;
  email: string | null;
  status: ReservationStatus;
  payment: PaymentState;
  units_left: number;
  remaining: Minor; // still to pay
  pickup_day: string; // YYYY-MM-DD
}

export interface ReservationLine {
  index: number;
  variant_id: string;
  title: string;
  qty: number;
  collected: number;
  unit_price: Minor;
}

export interface Reservation extends ReservationSummary {
  currency: string;
  lines: ReservationLine[];
  total: Minor;
  paid: Minor;
}

export interface HandOver {
  reservation: Reservation;
  receipt: Receipt | null; // the payment taken, when there was one
}

export interface StockRow {
  variant_id: string;
  title: string;
  sku: string | null;
  till_free: number;
  till_held: number;
  event_free: number; // all holders of the event
  event_held: number;
  on_hand: number; // Σ free + Σ held at the event
  available: number; // this till's free
}

export interface Conflict {
  id: string;
  kind: string; // e.g. conflict.made_to_order_short
  summary: string; // one sentence of facts
  facts: { label: string; value: string }[];
  resolutions: { id: string; label: string }[];
  detected_ms: number;
  resolved: { resolution: string; at_ms: number } | null;
}

export interface SyncStatus {
  online: boolean;
  paired: boolean;
  hub_url: string | null;
  pending_events: number;
  last_sync_ms: number | null;
  last_error: { code: string; message: string } | null;
  conflicts: Conflict[];
}

/** Every command: name → [arguments, result]. */
export interface Commands {
  till_status: [Record<string, never>, TillStatus];
  catalog_search: [{ query: string; limit: number }, CatalogItem[]];
  catalog_favourites: [Record<string, never>, CatalogItem[]];
  cart_get: [Record<string, never>, Cart];
  cart_add: [{ item: string; qty: number }, Cart];
  cart_set_qty: [{ index: number; qty: number }, Cart];
  cart_remove: [{ index: number }, Cart];
  cart_line_discount: [{ index: number; discount: Discount | null }, Cart];
  cart_discount: [{ discount: Discount | null }, Cart];
  cart_clear: [Record<string, never>, Cart];
  cart_quote: [{ tenders: Tender[] }, TenderQuote];
  sale_complete: [{ tenders: Tender[] }, Receipt];
  sale_get: [{ receipt_no: string }, Sale];
  refund: [{ receipt_no: string; items: { item: string; qty: number }[] | null; reason: string | null }, RefundResult];
  reservations_today: [Record<string, never>, ReservationSummary[]];
  reservation_find: [{ query: string }, ReservationSummary[]];
  reservation_get: [{ code: string }, Reservation];
  reservation_quote: [{ code: string; tenders: Tender[] }, TenderQuote];
  reservation_hand_over: [{ code: string; lines: { index: number; qty: number }[]; tenders: Tender[] }, HandOver];
  stock_levels: [{ query: string }, StockRow[]];
  stock_count: [{ variant_id: string; counted: number; reason: string }, StockRow];
  sync_status: [Record<string, never>, SyncStatus];
  sync_now: [Record<string, never>, SyncStatus];
  conflict_resolve: [{ id: string; resolution: string }, SyncStatus];
  pair: [{ hub_url: string; code: string }, TillStatus];
  demo_start: [Record<string, never>, TillStatus];
}
