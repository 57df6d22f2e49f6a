//! The till's command contract as the UI uses it: the wire types and the `Commands` map
//! (name → [arguments, result]), generated from the Rust shell (`src-tauri/src/wire.rs` and
//! its command table) into `./generated/`. `cargo test --test bindings` fails when they drift,
//! and the TypeScript compiler then shows every screen the change touches. Amounts are integer
//! minor units of the `currency` beside them.

export type * from './generated/types';
export type { Commands } from './generated/commands';
export { COMMANDS } from './generated/commands';

/** An amount in minor units (cents). */
export type Minor = number;
