//! The market day's outbox on the wire: one till's pending entries, as its bulk exchange sends
//! them, encoded in each frame version (and at a slow zstd level for reference), with the bytes
//! per sale and the time to encode and decode the whole outbox (docs/benchmarks.md, decision 106).

use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;
use trestle_core::ids::EventId;
use trestle_core::ledger::OutboxEnvelope;
use trestle_protocol::exchange::{ExchangeRequest, FrameVersion};
use trestle_till::Till;

/// One way of sending the outbox.
#[derive(Debug, Clone, Serialize)]
pub struct Encoding {
    pub name: String,
    pub bytes: u64,
    /// Thousandths of a byte per entry.
    pub milli_bytes_per_entry: u64,
    /// Encoding plus decoding the whole outbox, the best of three, µs.
    pub round_trip_us: u64,
}

/// The till's unacknowledged entries, as the exchange reads them.
pub fn pending(till: &Till) -> Result<Vec<OutboxEnvelope>> {
    let conn = rusqlite::Connection::open(till.dir().join("till.sqlite"))?;
    let mut st = conn.prepare(
        "SELECT p.payload FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq
         WHERE o.acked_ms IS NULL ORDER BY o.seq",
    )?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for p in rows {
        out.push(serde_json::from_str(&p?).context("an outbox entry")?);
    }
    Ok(out)
}

/// The entries as a till before decision 105 queued them: a second UUIDv7 (same millisecond,
/// other random bits) as the event id.
fn with_own_event_ids(entries: &[OutboxEnvelope]) -> Vec<OutboxEnvelope> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    entries
        .iter()
        .map(|e| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let id = e.event_id.0.as_u128();
            let fresh = (id & !u128::from(u64::MAX)) | u128::from(x);
            OutboxEnvelope {
                event_id: EventId(uuid::Uuid::from_u128(fresh)),
                ..e.clone()
            }
        })
        .collect()
}

fn measure(
    name: &str,
    entries: &[OutboxEnvelope],
    version: FrameVersion,
    level: Option<i32>,
) -> Result<Encoding> {
    best_of_three(name, entries, |req| {
        let mut body = req.encode_as(version);
        if let Some(level) = level {
            let frame = zstd::bulk::decompress(&body, 256 << 20)?;
            body = zstd::bulk::compress(&frame, level)?;
        }
        Ok(body)
    })
}

/// The best of three `encode` + decode of `entries`, each checked to round-trip.
fn best_of_three(
    name: &str,
    entries: &[OutboxEnvelope],
    encode: impl Fn(&ExchangeRequest) -> Result<Vec<u8>>,
) -> Result<Encoding> {
    let req = ExchangeRequest {
        heads: Vec::new(),
        changes: Vec::new(),
        entries: entries.to_vec(),
    };
    let mut best = u64::MAX;
    let mut bytes = 0;
    for _ in 0..3 {
        let t0 = Instant::now();
        let body = encode(&req)?;
        let back = ExchangeRequest::decode(&body)?;
        let took = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
        anyhow::ensure!(back == req, "{name}: the outbox did not round-trip");
        best = best.min(took);
        bytes = u64::try_from(body.len())?;
    }
    let n = u64::try_from(entries.len().max(1))?;
    Ok(Encoding {
        name: name.to_string(),
        bytes,
        milli_bytes_per_entry: bytes * 1000 / n,
        round_trip_us: best,
    })
}

/// Each encoding of `entries`.
pub fn encodings(entries: &[OutboxEnvelope]) -> Result<Vec<Encoding>> {
    let old_ids = with_own_event_ids(entries);
    Ok(vec![
        measure(
            "TSX1 JSON, zstd 3, own event ids (before)",
            &old_ids,
            FrameVersion::V1,
            None,
        )?,
        measure(
            "TSX1 JSON, zstd 3, event id = record id",
            entries,
            FrameVersion::V1,
            None,
        )?,
        measure(
            "TSX1 JSON, zstd 19, event id = record id",
            entries,
            FrameVersion::V1,
            Some(19),
        )?,
        measure(
            "TSX2 columns, zstd 3, own event ids",
            &old_ids,
            FrameVersion::V2,
            None,
        )?,
        measure(
            "TSX2 columns, zstd 3, from typed entries",
            entries,
            FrameVersion::V2,
            None,
        )?,
        measure_stored("TSX2 columns, zstd 3, stored text (sent)", entries)?,
        measure("TSX2 columns, zstd 19", entries, FrameVersion::V2, Some(19))?,
    ])
}

/// The frame the till sends: encoded from each entry's stored JSON (decision 189), which must
/// be the typed entries' frame byte for byte.
fn measure_stored(name: &str, entries: &[OutboxEnvelope]) -> Result<Encoding> {
    let stored = entries
        .iter()
        .map(serde_json::to_string)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let texts: Vec<&str> = stored.iter().map(String::as_str).collect();
    let typed = ExchangeRequest {
        heads: Vec::new(),
        changes: Vec::new(),
        entries: entries.to_vec(),
    }
    .encode();
    anyhow::ensure!(
        ExchangeRequest::encode_stored(&[], &[], &texts).as_ref() == Some(&typed),
        "{name}: not the typed entries' frame"
    );
    best_of_three(name, entries, |_| {
        ExchangeRequest::encode_stored(&[], &[], &texts).context("the stored entries are envelopes")
    })
}
