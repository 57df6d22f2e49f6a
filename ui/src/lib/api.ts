//! The one door to the till engine: typed `invoke` of the commands in `contract.ts` (generated
//! from the Rust command table). A command's arguments travel as one `args` object; a command
//! without arguments gets none. Errors come back as `{code, message}`; anything else thrown (no
//! IPC, a bug) becomes a code the error map knows, so the screens only ever show sentences.

import { invoke } from '@tauri-apps/api/core';
import type { Commands } from './contract';
import { isAppError, type AppError } from './errors';

export async function call<K extends keyof Commands>(
  cmd: K,
  ...rest: Commands[K][0] extends Record<string, never> ? [] : [Commands[K][0]]
): Promise<Commands[K][1]> {
  try {
    const payload = rest.length > 0 ? { args: rest[0] } : {};
    return (await invoke(cmd, payload)) as Commands[K][1];
  } catch (e) {
    if (isAppError(e)) throw e;
    const err: AppError = { code: 'ipc.unavailable', message: String(e) };
    console.error('command failed', cmd, e);
    throw err;
  }
}
