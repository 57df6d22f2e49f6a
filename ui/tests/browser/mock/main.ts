//! Entry of the browser-test build: answers the Tauri IPC with the mock backend (through
//! `@tauri-apps/api/mocks`), then starts the real UI unchanged.
import { mockIPC } from '@tauri-apps/api/mocks';
import { MockTill } from './backend';

const params = new URLSearchParams(location.search);
const till = new MockTill({ configured: params.get('fresh') !== '1', online: params.get('offline') !== '1' });
(window as unknown as { mockTill: MockTill }).mockTill = till;
// The app's commands take their arguments as one `args` object (src-tauri/src/lib.rs).
mockIPC((cmd, payload) => {
  const args = ((payload as { args?: unknown } | undefined)?.args ?? {}) as Record<string, unknown>;
  return till.handle(cmd, args);
});
await import('../../../src/main');
