//! The fuzz targets on stable, in every `cargo test`: each checked-in seed under `fuzz/corpus/`
//! and a few thousand deterministic mutations of the seeds (a xorshift generator) go through the
//! same `trestle_hub::fuzz_targets` functions cargo-fuzz runs, so a decoder that regresses into
//! a panic fails here. `TRESTLE_DECODER_MUTATIONS=n` changes the number of mutations per target.
//! The seeds are written by the ignored test `write_seeds` (see docs/fuzzing.md).

use std::path::{Path, PathBuf};

use trestle_hub::fuzz_targets as targets;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// The checked-in seeds of a target (files named `seed-*`), in name order.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("seed-")
                .then(|| (name, std::fs::read(e.path()).unwrap()))
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

/// xorshift64: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Bytes that tend to matter to a parser.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\n",
    b"\r\n",
    b"\0",
    b"\\u0000",
    b"-1",
    b"0",
    b"4294967296",
    b"18446744073709551616",
    b"-9223372036854775808",
    b"1e999",
    b"null",
    b"true",
    b"\xff",
    b"\xc3\xa9",
    b"=",
    b"t=",
    b"v1=",
    b"-",
    b"TRESTLE:R:",
    b"till:",
    b"hub",
    b".",
    b"@V",
    b"@E",
    b"@R",
    b"\"qty\":",
    b"\"type\":\"pickup\"",
    b"\"entries\":",
    b"Handle,Variant Price\n",
];

fn mutate(rng: &mut Rng, seed: &[u8], all: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(8) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 => v.insert(at, rng.next() as u8),
            3 => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            4 => {
                let end = (at + 1 + rng.below(32)).min(v.len());
                let piece = v[at.min(end)..end].to_vec();
                let to = rng.below(v.len() + 1);
                v.splice(to..to, piece);
            }
            5 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            6 => v.truncate(at),
            _ => {
                let other = &all[rng.below(all.len())].1;
                let from = rng.below(other.len() + 1);
                let end = (from + rng.below(64)).min(other.len());
                v.splice(at..at, other[from..end].iter().copied());
            }
        }
    }
    v
}

fn mutations(default: usize) -> usize {
    std::env::var("TRESTLE_DECODER_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Every seed, then `n` mutations, through `f`; a panic names the input (hex) that caused it.
fn run(target: &str, n: usize, f: fn(&[u8])) {
    let all = seeds(target);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    let inputs = all
        .iter()
        .map(|(_, s)| s.clone())
        .chain((0..mutations(n)).map(|_| {
            let seed = &all[rng.below(all.len())].1;
            mutate(&mut rng, seed, &all)
        }));
    for input in inputs {
        let outcome = std::panic::catch_unwind(|| f(&input));
        if outcome.is_err() {
            let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
            panic!("{target} panicked on input (hex) {hex}");
        }
    }
}

#[test]
fn checkout_body() {
    run("checkout_body", 3000, targets::checkout_body);
}

#[test]
fn outbox_batch() {
    run("outbox_batch", 5000, targets::outbox_batch);
}

#[test]
fn sync_message() {
    run("sync_message", 4000, targets::sync_message);
}

#[test]
fn catalog_csv() {
    run("catalog_csv", 5000, targets::catalog_csv);
}

#[test]
fn pickup_code() {
    run("pickup_code", 10000, targets::pickup_code);
}

#[test]
fn webhook_signature() {
    run("webhook_signature", 10000, targets::webhook_signature);
}

#[test]
fn sync_exchange() {
    run("sync_exchange", 2000, targets::sync_exchange);
}

#[test]
fn api_request() {
    run("api_request", 4000, targets::api_request);
}

// ---- the seeds -----------------------------------------------------------------------------

#[path = "decoders/seeds.rs"]
mod seeds;

/// Writes the checked-in seeds: `cargo test -p trestle-hub --test decoders -- --ignored write_seeds`.
#[test]
#[ignore = "writes fuzz/corpus/*/seed-*; run by hand when the wire formats change"]
fn write_seeds() {
    for (target, files) in seeds::all() {
        let dir = corpus(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
        }
    }
}
