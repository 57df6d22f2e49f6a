// Generated from src-tauri/src/wire.rs by tests/bindings.rs (ts-rs). Do not edit.

export type AppError = { code: string, message: string, };

export type Discount = { "kind": "percent", bp: number, } | { "kind": "amount", minor: number, };

export type Tender = { "kind": "cash", amount: number, } | { "kind": "card", amount: number, reference: string | null, };

export type TenderKind = "cash" | "card" | "other";

export type EventInfo = { id: string, name: string, };

export type TillStatus = { 
/**
 * A till exists in the data directory.
 */
configured: boolean, 
/**
 * Running on the sample catalog.
 */
demo: boolean, shop_name: string, currency: string, receipt_prefix: string, paired: boolean, hub_url: string | null, event: EventInfo | null, };

export type CatalogItem = { variant_id: string, 
/**
 * Product and variant, e.g. "Speckled mug — Blue".
 */
title: string, sku: string | null, barcode: string | null, price: number, track_inventory: boolean, 
/**
 * This till's free units; null when not tracked.
 */
available: number | null, };

export type CartLine = { index: number, variant_id: string, title: string, sku: string | null, qty: number, unit_price: number, gross: number, 
/**
 * The line's own discount plus its share of the cart discount.
 */
discount: number, line_discount: Discount | null, total: number, };

export type Cart = { currency: string, lines: Array<CartLine>, cart_discount: Discount | null, subtotal: number, discount: number, tax: number, total: number, };

export type TenderQuote = { due: number, paid: number, 
/**
 * Still to pay, 0 when covered.
 */
remaining: number, 
/**
 * Cash to give back.
 */
change: number, };

export type ReceiptTender = { kind: TenderKind, amount: number, reference: string | null, };

export type ReceiptLine = { title: string, qty: number, unit_price: number, discount: number, total: number, };

export type Receipt = { receipt_no: string, at_ms: number, shop_name: string, currency: string, lines: Array<ReceiptLine>, subtotal: number, discount: number, tax: number, total: number, tenders: Array<ReceiptTender>, change: number, };

export type SaleLine = { variant_id: string, title: string, qty: number, 
/**
 * Units not yet refunded.
 */
refundable: number, total: number, };

export type Sale = { receipt_no: string, at_ms: number, currency: string, total: number, refunded: number, voided: boolean, lines: Array<SaleLine>, tenders: Array<ReceiptTender>, };

export type RefundResult = { 
/**
 * Of the sale refunded.
 */
receipt_no: string, currency: string, 
/**
 * Paid back.
 */
amount: number, 
/**
 * How: to the original tenders.
 */
tenders: Array<ReceiptTender>, };

export type ReservationStatus = "held" | "ready" | "partially_collected" | "collected" | "cancelled" | "expired";

export type PaymentState = "paid" | "deposit" | "pay_on_pickup";

export type ReservationSummary = { code: string, customer_name: string, phone: string | null, email: string | null, status: ReservationStatus, payment: PaymentState, units_left: number, 
/**
 * Still to pay for everything left.
 */
remaining: number, 
/**
 * YYYY-MM-DD (UTC): the event's day, else the day it was made.
 */
pickup_day: string, };

export type ReservationLine = { index: number, variant_id: string, title: string, qty: number, collected: number, unit_price: number, };

export type Reservation = { currency: string, lines: Array<ReservationLine>, total: number, paid: number, code: string, customer_name: string, phone: string | null, email: string | null, status: ReservationStatus, payment: PaymentState, units_left: number, 
/**
 * Still to pay for everything left.
 */
remaining: number, 
/**
 * YYYY-MM-DD (UTC): the event's day, else the day it was made.
 */
pickup_day: string, };

export type HandOver = { reservation: Reservation, 
/**
 * The payment taken, when there was one.
 */
receipt: Receipt | null, };

export type StockRow = { variant_id: string, title: string, sku: string | null, till_free: number, till_held: number, 
/**
 * All holders of the event (this till's event; the whole shop when none is open).
 */
event_free: number, event_held: number, 
/**
 * Σ free + Σ held at the event.
 */
on_hand: number, 
/**
 * This till's free.
 */
available: number, };

export type Fact = { label: string, value: string, };

export type Resolution = { id: string, label: string, };

export type Resolved = { resolution: string, at_ms: number, };

export type Conflict = { id: string, 
/**
 * e.g. `conflict.made_to_order_short`.
 */
kind: string, 
/**
 * One sentence of facts.
 */
summary: string, facts: Array<Fact>, resolutions: Array<Resolution>, detected_ms: number, resolved: Resolved | null, };

export type SyncStatus = { online: boolean, paired: boolean, hub_url: string | null, pending_events: number, last_sync_ms: number | null, last_error: AppError | null, conflicts: Array<Conflict>, };

export type SearchArgs = { query: string, limit: number, };

export type ItemQty = { item: string, qty: number, };

export type LineQty = { index: number, qty: number, };

export type LineIndex = { index: number, };

export type LineDiscountArgs = { index: number, discount: Discount | null, };

export type DiscountArgs = { discount: Discount | null, };

export type TendersArgs = { tenders: Array<Tender>, };

export type ReceiptArgs = { receipt_no: string, };

export type RefundArgs = { receipt_no: string, 
/**
 * Null: everything not yet refunded.
 */
items: Array<ItemQty> | null, reason: string | null, };

export type QueryArgs = { query: string, };

export type CodeArgs = { code: string, };

export type CodeTendersArgs = { code: string, tenders: Array<Tender>, };

export type HandOverArgs = { code: string, 
/**
 * Lines of the reservation (by index) and units to hand over now.
 */
lines: Array<LineQty>, tenders: Array<Tender>, };

export type CountArgs = { variant_id: string, counted: number, reason: string, };

export type ResolveArgs = { id: string, resolution: string, };

export type PairArgs = { hub_url: string, code: string, };

