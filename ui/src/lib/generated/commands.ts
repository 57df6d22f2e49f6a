// Generated from the command table in src-tauri/src/lib.rs by tests/bindings.rs.
// Do not edit.

import type { Cart, CatalogItem, CodeArgs, CodeTendersArgs, CountArgs, DiscountArgs, HandOver, HandOverArgs, ItemQty, LineDiscountArgs, LineIndex, LineQty, PairArgs, QueryArgs, Receipt, ReceiptArgs, RefundArgs, RefundResult, Reservation, ReservationSummary, ResolveArgs, Sale, SearchArgs, StockRow, SyncStatus, TenderQuote, TendersArgs, TillStatus } from './types';

/** Every command: name → [arguments, result]. */
export interface Commands {
  till_status: [Record<string, never>, TillStatus];
  catalog_search: [SearchArgs, Array<CatalogItem>];
  catalog_favourites: [Record<string, never>, Array<CatalogItem>];
  cart_get: [Record<string, never>, Cart];
  cart_add: [ItemQty, Cart];
  cart_set_qty: [LineQty, Cart];
  cart_remove: [LineIndex, Cart];
  cart_line_discount: [LineDiscountArgs, Cart];
  cart_discount: [DiscountArgs, Cart];
  cart_clear: [Record<string, never>, Cart];
  cart_quote: [TendersArgs, TenderQuote];
  sale_complete: [TendersArgs, Receipt];
  sale_get: [ReceiptArgs, Sale];
  refund: [RefundArgs, RefundResult];
  reservations_today: [Record<string, never>, Array<ReservationSummary>];
  reservation_find: [QueryArgs, Array<ReservationSummary>];
  reservation_get: [CodeArgs, Reservation];
  reservation_quote: [CodeTendersArgs, TenderQuote];
  reservation_hand_over: [HandOverArgs, HandOver];
  reservation_mark_ready: [CodeArgs, Reservation];
  stock_levels: [QueryArgs, Array<StockRow>];
  stock_count: [CountArgs, StockRow];
  sync_status: [Record<string, never>, SyncStatus];
  sync_now: [Record<string, never>, SyncStatus];
  conflict_resolve: [ResolveArgs, SyncStatus];
  pair: [PairArgs, TillStatus];
  demo_start: [Record<string, never>, TillStatus];
  app_ready: [Record<string, never>, number];
}

export const COMMANDS = [
  'till_status',
  'catalog_search',
  'catalog_favourites',
  'cart_get',
  'cart_add',
  'cart_set_qty',
  'cart_remove',
  'cart_line_discount',
  'cart_discount',
  'cart_clear',
  'cart_quote',
  'sale_complete',
  'sale_get',
  'refund',
  'reservations_today',
  'reservation_find',
  'reservation_get',
  'reservation_quote',
  'reservation_hand_over',
  'reservation_mark_ready',
  'stock_levels',
  'stock_count',
  'sync_status',
  'sync_now',
  'conflict_resolve',
  'pair',
  'demo_start',
  'app_ready',
] as const;
