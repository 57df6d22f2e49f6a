//! The UI's shared state (Svelte 5 runes): the screen shown, the till's status, the sync badge,
//! the message banner, and the registry through which the shown screen takes keyboard actions
//! and scans. Holds no business data of its own: carts, totals and stock live in the till.

import { call } from './api';
import type { SyncStatus, TillStatus } from './contract';
import { describeError, type Doing, type Shown } from './errors';
import type { Action, Screen } from './shortcuts';
import type { ThemeName } from './theme/tokens';

export const SCREENS: { id: Screen; label: string; key: string }[] = [
  { id: 'sell', label: 'Sell', key: 'Alt+1' },
  { id: 'pickups', label: 'Pickups', key: 'Alt+2' },
  { id: 'stock', label: 'Stock', key: 'Alt+3' },
  { id: 'sync', label: 'Sync', key: 'Alt+4' },
  { id: 'setup', label: 'Setup', key: 'Alt+5' },
];

export interface Banner extends Shown { kind: 'error' | 'info' }

class UiState {
  screen = $state<Screen>('sell');
  till = $state<TillStatus | null>(null);
  sync = $state<SyncStatus | null>(null);
  banner = $state<Banner | null>(null);
  help = $state(false);
  theme = $state<ThemeName>('normal');
  /** A reservation code the Pickups screen should open (set by a scan). */
  openReservation = $state<string | null>(null);
  /** Text the Stock screen should filter by (set by a scan). */
  stockQuery = $state<string | null>(null);
  /** Set by the first screen once it shows its data; with `till` it makes the app ready. */
  screenReady = $state(false);
}

export const ui = new UiState();

type Handler = (a: Action) => boolean;
const handlers = new Map<Screen, Handler>();

/** The shown screen's handler of keyboard actions; returns true when it used the action. */
export function onAction(screen: Screen, h: Handler): () => void {
  handlers.set(screen, h);
  return () => handlers.get(screen) === h && handlers.delete(screen);
}

export function dispatchAction(a: Action): boolean {
  return handlers.get(ui.screen)?.(a) ?? false;
}

export function showError(e: unknown, doing?: Doing): void {
  ui.banner = { kind: 'error', ...describeError(e, doing) };
}

export function showInfo(text: string): void {
  ui.banner = { kind: 'info', text };
}

export async function refreshTill(): Promise<void> {
  ui.till = await call('till_status');
}

export async function refreshSync(): Promise<void> {
  try {
    ui.sync = await call('sync_status');
  } catch (e) {
    // The badge keeps its last state; the Sync screen shows the error when opened.
    console.warn('sync status', e);
  }
}
