//! The bulk sync exchange (`POST /v1/sync/exchange`, docs/sync.md "The bulk exchange"): one
//! request carries a till's whole pending outbox, its heads, and the Automerge changes the hub
//! lacks; one answer carries the acknowledgement, the hub's heads and the changes the till lacks.
//! Both bodies are zstd-compressed frames ([`EXCHANGE_CONTENT_TYPE`]); decoding refuses a body
//! that inflates beyond [`MAX_EXCHANGE_DECODED`] (a zip bomb), has an unknown magic, a length
//! running past its end, or trailing bytes.
//!
//! Frame (after decompression), every length a little-endian u32:
//! request `TSX1` · heads count · 32 bytes per head · changes length · changes · outbox JSON
//! (an array of entries, to the end); answer `TSY1` · flags (bit 0: the hub holds every head the
//! till named) · heads count · heads · changes length · changes · acknowledgement JSON.

use std::io::Read as _;

use serde::{Deserialize, Serialize};
use trestle_core::ledger::OutboxEnvelope;

use crate::sync::OutboxAck;

/// The largest compressed exchange body either side accepts.
pub const MAX_EXCHANGE_BODY: usize = 16 * 1024 * 1024;
/// The largest exchange frame once decompressed.
pub const MAX_EXCHANGE_DECODED: usize = 256 * 1024 * 1024;
/// The most outbox entries in one exchange.
pub const MAX_EXCHANGE_ENTRIES: usize = 20_000;
/// The most heads a side names (a document has a handful).
pub const MAX_HEADS: usize = 1024;
/// The content type of both bodies (the frame is itself the zstd stream, so no
/// `Content-Encoding` is set for a client or proxy to undo).
pub const EXCHANGE_CONTENT_TYPE: &str = "application/vnd.trestle.exchange+zstd";
/// zstd level: 3 compresses a day's outbox ~14× at hundreds of MB/s.
const LEVEL: i32 = 3;

const REQUEST_MAGIC: &[u8; 4] = b"TSX1";
const ANSWER_MAGIC: &[u8; 4] = b"TSY1";

/// What a till sends.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeRequest {
    /// The till's heads after its changes: what the hub must answer changes after.
    pub heads: Vec<[u8; 32]>,
    /// Automerge changes (or a bundle) the hub lacks, as `load_incremental` reads them.
    pub changes: Vec<u8>,
    pub entries: Vec<OutboxEnvelope>,
}

/// What the hub answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeAnswer {
    /// The hub holds every head the till named: `changes` are exactly what the till lacks, and
    /// after merging them the till has everything the hub has up to `heads`. When false the till
    /// falls back to Automerge sync sessions (`/v1/sync/automerge`).
    pub complete: bool,
    pub heads: Vec<[u8; 32]>,
    pub changes: Vec<u8>,
    pub ack: OutboxAck,
}

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    TooLarge,
    Malformed(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooLarge => write!(
                f,
                "the exchange inflates to more than {MAX_EXCHANGE_DECODED} bytes"
            ),
            FrameError::Malformed(why) => write!(f, "the exchange is unreadable: {why}"),
        }
    }
}

impl std::error::Error for FrameError {}

#[derive(Serialize)]
struct EntriesOut<'a>(&'a [OutboxEnvelope]);

#[derive(Deserialize)]
struct EntriesIn(Vec<OutboxEnvelope>);

impl ExchangeRequest {
    pub fn encode(&self) -> Vec<u8> {
        let mut frame = Vec::with_capacity(self.changes.len() + 64 * self.entries.len() + 64);
        frame.extend_from_slice(REQUEST_MAGIC);
        put_heads(&mut frame, &self.heads);
        put_bytes(&mut frame, &self.changes);
        // Serialising typed entries cannot fail.
        let _ = serde_json::to_writer(&mut frame, &EntriesOut(&self.entries));
        compress(&frame)
    }

    pub fn decode(body: &[u8]) -> Result<ExchangeRequest, FrameError> {
        let frame = decompress(body)?;
        let mut r = Reader::new(&frame, REQUEST_MAGIC)?;
        let heads = r.heads()?;
        let changes = r.bytes()?.to_vec();
        let EntriesIn(entries) = serde_json::from_slice(r.rest())
            .map_err(|e| FrameError::Malformed(format!("outbox entries: {e}")))?;
        if entries.len() > MAX_EXCHANGE_ENTRIES {
            return Err(FrameError::Malformed(format!(
                "more than {MAX_EXCHANGE_ENTRIES} outbox entries"
            )));
        }
        Ok(ExchangeRequest {
            heads,
            changes,
            entries,
        })
    }
}

impl ExchangeAnswer {
    pub fn encode(&self) -> Vec<u8> {
        let mut frame = Vec::with_capacity(self.changes.len() + 40 * self.ack.accepted.len() + 64);
        frame.extend_from_slice(ANSWER_MAGIC);
        frame.push(u8::from(self.complete));
        put_heads(&mut frame, &self.heads);
        put_bytes(&mut frame, &self.changes);
        let _ = serde_json::to_writer(&mut frame, &self.ack);
        compress(&frame)
    }

    pub fn decode(body: &[u8]) -> Result<ExchangeAnswer, FrameError> {
        let frame = decompress(body)?;
        let mut r = Reader::new(&frame, ANSWER_MAGIC)?;
        let flags = r.take(1)?[0];
        if flags > 1 {
            return Err(FrameError::Malformed("unknown flags".into()));
        }
        let heads = r.heads()?;
        let changes = r.bytes()?.to_vec();
        let ack: OutboxAck = serde_json::from_slice(r.rest())
            .map_err(|e| FrameError::Malformed(format!("acknowledgement: {e}")))?;
        Ok(ExchangeAnswer {
            complete: flags == 1,
            heads,
            changes,
            ack,
        })
    }
}

fn compress(frame: &[u8]) -> Vec<u8> {
    // Compressing into memory cannot fail but for allocation.
    zstd::bulk::compress(frame, LEVEL).unwrap_or_else(|_| frame.to_vec())
}

/// Decompresses at most [`MAX_EXCHANGE_DECODED`] bytes, streaming, so a bomb costs no more
/// memory than the cap.
fn decompress(body: &[u8]) -> Result<Vec<u8>, FrameError> {
    if body.len() > MAX_EXCHANGE_BODY {
        return Err(FrameError::TooLarge);
    }
    let decoder = zstd::stream::read::Decoder::new(body)
        .map_err(|e| FrameError::Malformed(format!("zstd: {e}")))?;
    let mut out = Vec::new();
    decoder
        .take(u64::try_from(MAX_EXCHANGE_DECODED).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut out)
        .map_err(|e| FrameError::Malformed(format!("zstd: {e}")))?;
    if out.len() > MAX_EXCHANGE_DECODED {
        return Err(FrameError::TooLarge);
    }
    Ok(out)
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_heads(out: &mut Vec<u8>, heads: &[[u8; 32]]) {
    put_u32(out, heads.len());
    for h in heads {
        out.extend_from_slice(h);
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(frame: &'a [u8], magic: &[u8; 4]) -> Result<Reader<'a>, FrameError> {
        match frame.split_first_chunk::<4>() {
            Some((m, rest)) if m == magic => Ok(Reader { rest }),
            _ => Err(FrameError::Malformed("not an exchange frame".into())),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.rest.len() < n {
            return Err(FrameError::Malformed("a length runs past the end".into()));
        }
        let (a, b) = self.rest.split_at(n);
        self.rest = b;
        Ok(a)
    }

    fn u32(&mut self) -> Result<usize, FrameError> {
        let b = self.take(4)?;
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        usize::try_from(n).map_err(|_| FrameError::Malformed("a length is too large".into()))
    }

    fn heads(&mut self) -> Result<Vec<[u8; 32]>, FrameError> {
        let n = self.u32()?;
        if n > MAX_HEADS {
            return Err(FrameError::Malformed(format!(
                "more than {MAX_HEADS} heads"
            )));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let mut h = [0u8; 32];
            h.copy_from_slice(self.take(32)?);
            out.push(h);
        }
        Ok(out)
    }

    fn bytes(&mut self) -> Result<&'a [u8], FrameError> {
        let n = self.u32()?;
        self.take(n)
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn answer() -> ExchangeAnswer {
        ExchangeAnswer {
            complete: true,
            heads: vec![[7; 32], [9; 32]],
            changes: vec![1, 2, 3],
            ack: OutboxAck {
                accepted: vec![Uuid::from_u128(1)],
                duplicates: vec![Uuid::from_u128(2)],
            },
        }
    }

    #[test]
    fn frames_round_trip() {
        let a = answer();
        assert_eq!(ExchangeAnswer::decode(&a.encode()), Ok(a));
        let r = ExchangeRequest {
            heads: vec![[1; 32]],
            changes: vec![5; 1000],
            entries: Vec::new(),
        };
        assert_eq!(ExchangeRequest::decode(&r.encode()), Ok(r));
    }

    #[test]
    fn a_bomb_is_refused_at_the_cap_not_inflated() {
        // 300 MiB of zeros compress to a few KB.
        let zeros = vec![0u8; MAX_EXCHANGE_DECODED + 1024];
        let bomb = zstd::bulk::compress(&zeros, 3).unwrap();
        assert!(bomb.len() < 1024 * 1024);
        assert_eq!(ExchangeRequest::decode(&bomb), Err(FrameError::TooLarge));
    }

    #[test]
    fn damaged_frames_are_refused() {
        let good = answer().encode();
        assert!(ExchangeAnswer::decode(&good[..good.len() / 2]).is_err());
        assert!(ExchangeAnswer::decode(b"").is_err());
        assert!(
            ExchangeRequest::decode(&good).is_err(),
            "an answer is not a request"
        );
        // A head count past the end.
        let mut frame = b"TSY1\x01".to_vec();
        frame.extend_from_slice(&u32::MAX.to_le_bytes());
        let body = zstd::bulk::compress(&frame, 3).unwrap();
        assert!(matches!(
            ExchangeAnswer::decode(&body),
            Err(FrameError::Malformed(_))
        ));
    }
}
