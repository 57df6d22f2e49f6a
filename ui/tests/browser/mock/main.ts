//! Entry of the browser-test build: answers the Tauri IPC with the mock backend (through
//! `@tauri-apps/api/mocks`), then starts the real UI unchanged.
import { mockIPC } from '@tauri-apps/api/mocks';
import { MockTill } from './backend';

const params = new URLSearchParams(location.search);
const till = new MockTill({ configured: params.get('fresh') !== '1', online: params.get('offline') !== '1' });
(window as unknown as { mockTill: MockTill }).mockTill = till;
mockIPC((cmd, args) => till.handle(cmd, (args ?? {}) as Record<string, unknown>));
await import('../../../src/main');
