//! The fuzz target of the till's live-stream reader on stable: every checked-in seed of
//! `fuzz/corpus/sse_stream/` and a few thousand deterministic mutations of them go through
//! `trestle_till::sync::stream::fuzz_reader` (the function the libFuzzer target calls), which
//! panics when the reader does (or breaks one of its promises). The seeds themselves must read
//! as the hub's events they are. `TRESTLE_DECODER_MUTATIONS=n` sets the mutations per seed.

use std::path::PathBuf;

use trestle_till::sync::stream::{fuzz_reader, hub_event, SseReader};

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/sse_stream"
    ));
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("the seeds are checked in")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-"))
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 5, "{out:?}");
    out
}

#[test]
fn the_seeds_read_as_the_hubs_events() {
    let seqs = |bytes: &[u8]| -> Vec<i64> {
        SseReader::new()
            .feed(bytes)
            .iter()
            .filter_map(hub_event)
            .map(|e| e.0)
            .collect()
    };
    for (name, bytes) in seeds() {
        let expected: &[i64] = match name.as_str() {
            "seed-sale" => &[12],
            "seed-keep-alive" => &[],
            "seed-two-events" => &[13, 14],
            "seed-crlf-multiline" => &[15],
            "seed-cut-mid-message" => &[16],
            other => panic!("a seed this test does not know: {other}"),
        };
        assert_eq!(seqs(&bytes), expected, "{name}");
        fuzz_reader(&bytes);
    }
}

#[test]
fn mutations_of_the_seeds_never_panic_the_reader() {
    let per_seed: usize = std::env::var("TRESTLE_DECODER_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let seeds = seeds();
    for (_, seed) in &seeds {
        for _ in 0..per_seed {
            let mut b = seed.clone();
            for _ in 0..(next() % 8 + 1) {
                let at = (next() as usize) % (b.len() + 1);
                match next() % 5 {
                    0 if !b.is_empty() => {
                        b.remove(at.min(b.len() - 1));
                    }
                    1 => b.insert(at, (next() & 0xff) as u8),
                    2 => b.insert(at, [b'\n', b'\r', b':', b' '][(next() % 4) as usize]),
                    3 if !b.is_empty() => {
                        let i = at.min(b.len() - 1);
                        b[i] ^= 1 << (next() % 8);
                    }
                    _ => {
                        // Splice in a piece of another seed.
                        let other = &seeds[(next() as usize) % seeds.len()].1;
                        let from = (next() as usize) % (other.len() + 1);
                        let to = (from + (next() as usize) % 64).min(other.len());
                        b.splice(at..at, other[from..to].iter().copied());
                    }
                }
            }
            fuzz_reader(&b);
        }
    }
    fuzz_reader(&[]);
    fuzz_reader(&vec![b'\n'; 10_000]);
}
