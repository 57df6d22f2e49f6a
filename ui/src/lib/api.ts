//! The one door to the till engine: typed `invoke` of the commands in `contract.ts`. Errors come
//! back as `{code, message}`; anything else thrown (no IPC, a bug) becomes a code the error map
//! knows, so the screens only ever show sentences.

import { invoke } from '@tauri-apps/api/core';
import type { Commands } from './contract';
import { isAppError, type AppError } from './errors';

export async function call<K extends keyof Commands>(
  cmd: K,
  args: Commands[K][0] = {} as Commands[K][0],
): Promise<Commands[K][1]> {
  try {
    return (await invoke(cmd, args as Record<string, unknown>)) as Commands[K][1];
  } catch (e) {
    if (isAppError(e)) throw e;
    const err: AppError = { code: 'ipc.unavailable', message: String(e) };
    console.error('command failed', cmd, e);
    throw err;
  }
}
