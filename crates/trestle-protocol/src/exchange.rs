//! The bulk sync exchange (`POST /v1/sync/exchange`, docs/sync.md "The bulk exchange"): one
//! request carries a till's whole pending outbox, its heads, and the Automerge changes the hub
//! lacks; one answer carries the acknowledgement, the hub's heads and the changes the till lacks.
//! Both bodies are zstd-compressed frames ([`EXCHANGE_CONTENT_TYPE`]); decoding refuses a body
//! that inflates beyond [`MAX_EXCHANGE_DECODED`] (a zip bomb), has an unknown magic, a length
//! running past its end, or trailing bytes.
//!
//! Frame (after decompression), every length a little-endian u32:
//! request `TSX2` · heads count · 32 bytes per head · changes length · changes · the outbox
//! entries column by column ([`crate::columns`], to the end); answer `TSY2` · flags (bit 0: the
//! hub holds every head the till named) · heads count · heads · changes length · changes ·
//! acknowledgement by position (varints: entries covered, duplicates, then each duplicate's
//! position as the gap from the previous one).
//!
//! Version 1, which tills before decision 106 send and the hub still reads: request `TSX1` · the
//! same heads and changes · the outbox as a JSON array; answer `TSY1` · the same · the
//! acknowledgement as JSON (`accepted` and `duplicates` event ids). The hub answers each request
//! in its own version.

use std::io::Read as _;

use serde::{Deserialize, Serialize};
use trestle_core::ledger::OutboxEnvelope;

use crate::columns::{decode_entries_chunked, encode_entries, encode_stored, put_varint};
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

const REQUEST_MAGIC_V1: &[u8; 4] = b"TSX1";
const REQUEST_MAGIC: &[u8; 4] = b"TSX2";
const ANSWER_MAGIC_V1: &[u8; 4] = b"TSY1";
const ANSWER_MAGIC: &[u8; 4] = b"TSY2";

/// The version of a request frame; the hub answers in the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameVersion {
    /// `TSX1`/`TSY1`: entries and acknowledgement as JSON.
    V1,
    /// `TSX2`/`TSY2`: entries by columns, acknowledgement by position.
    V2,
}

/// Which of the request's entries the hub now holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Acknowledgement {
    /// By event id (a `TSY1` answer, to a `TSX1` request).
    Ids(OutboxAck),
    /// By position in the request (a `TSY2` answer): the first `covered` entries are held by
    /// the hub; those at `duplicates` (ascending) it had before, the others it stored now.
    Positions { covered: u32, duplicates: Vec<u32> },
}

impl Acknowledgement {
    /// The answer to `version` for `ids`, the request's entries in order, of which the hub had
    /// `ack.duplicates` before and stored `ack.accepted` now.
    pub fn for_request(version: FrameVersion, ids: &[uuid::Uuid], ack: OutboxAck) -> Self {
        match version {
            FrameVersion::V1 => Acknowledgement::Ids(ack),
            FrameVersion::V2 => {
                let dups: std::collections::HashSet<uuid::Uuid> =
                    ack.duplicates.iter().copied().collect();
                let known: std::collections::HashSet<uuid::Uuid> = ack
                    .accepted
                    .iter()
                    .copied()
                    .chain(dups.iter().copied())
                    .collect();
                // Covered: the longest prefix of the request the hub holds (all of it, as the
                // hub stores a whole request or refuses it).
                let covered = ids.iter().take_while(|id| known.contains(id)).count();
                let duplicates = ids[..covered]
                    .iter()
                    .enumerate()
                    .filter(|(_, id)| dups.contains(id))
                    .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
                    .collect();
                Acknowledgement::Positions {
                    covered: u32::try_from(covered).unwrap_or(u32::MAX),
                    duplicates,
                }
            }
        }
    }
}

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
    pub ack: Acknowledgement,
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
    /// The current frame (`TSX2`).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_as(FrameVersion::V2)
    }

    /// The frame of `version` (`V1` is what tills before decision 106 sent).
    pub fn encode_as(&self, version: FrameVersion) -> Vec<u8> {
        let magic = match version {
            FrameVersion::V1 => REQUEST_MAGIC_V1,
            FrameVersion::V2 => REQUEST_MAGIC,
        };
        let mut frame = request_head(magic, &self.heads, &self.changes, 64 * self.entries.len());
        match version {
            // Serialising typed entries cannot fail.
            FrameVersion::V1 => {
                let _ = serde_json::to_writer(&mut frame, &EntriesOut(&self.entries));
            }
            FrameVersion::V2 => {
                if !encode_entries(&self.entries, &mut frame) {
                    // Never for serde_json's own output; the older frame carries anything.
                    return self.encode_as(FrameVersion::V1);
                }
            }
        }
        compress(&frame)
    }

    /// The current frame of a request whose entries are given as the till stored them (each an
    /// `OutboxEnvelope`'s JSON): byte for byte what [`Self::encode`] makes of the same entries,
    /// without parsing their records (`columns::encode_stored`). `None` when an entry is not such
    /// a text; the caller then parses the entries and uses [`Self::encode`].
    pub fn encode_stored(heads: &[[u8; 32]], changes: &[u8], entries: &[&str]) -> Option<Vec<u8>> {
        let columns = Self::stored_columns(entries)?;
        Some(Self::encode_columns(heads, changes, &columns))
    }

    /// The entries part of [`Self::encode_stored`] on its own (a till encodes it while it folds
    /// the document whose heads and changes go in front of it); `None` as there.
    pub fn stored_columns(entries: &[&str]) -> Option<Vec<u8>> {
        let mut columns = Vec::with_capacity(entries.iter().map(|e| e.len() / 8).sum());
        encode_stored(entries, &mut columns).then_some(columns)
    }

    /// The current frame of `heads`, `changes` and entries already encoded by
    /// [`Self::stored_columns`].
    pub fn encode_columns(heads: &[[u8; 32]], changes: &[u8], columns: &[u8]) -> Vec<u8> {
        let mut frame = request_head(REQUEST_MAGIC, heads, changes, columns.len());
        frame.extend_from_slice(columns);
        compress(&frame)
    }

    pub fn decode(body: &[u8]) -> Result<ExchangeRequest, FrameError> {
        Self::decode_versioned(body).map(|(r, _)| r)
    }

    /// Decodes either version, saying which it was (the answer must be in the same).
    pub fn decode_versioned(body: &[u8]) -> Result<(ExchangeRequest, FrameVersion), FrameError> {
        let (head, rest) = Self::open(body)?;
        let mut entries = Vec::new();
        rest.decode_chunked(usize::MAX, |chunk| {
            entries.extend(chunk);
            true
        })?;
        Ok((
            ExchangeRequest {
                heads: head.heads,
                changes: head.changes,
                entries,
            },
            head.version,
        ))
    }

    /// Opens a request frame of either version: its head now, its entries to decode after
    /// ([`RequestEntries::decode_chunked`], which a receiver can take as they come).
    pub fn open(body: &[u8]) -> Result<(RequestHead, RequestEntries), FrameError> {
        let frame = decompress(body)?;
        let (mut r, version) = Reader::either(&frame, REQUEST_MAGIC_V1, REQUEST_MAGIC)?;
        let heads = r.heads()?;
        let changes = r.bytes()?.to_vec();
        let at = frame.len() - r.rest().len();
        Ok((
            RequestHead {
                version,
                heads,
                changes,
            },
            RequestEntries { frame, at, version },
        ))
    }
}

/// What comes before a request's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub version: FrameVersion,
    pub heads: Vec<[u8; 32]>,
    pub changes: Vec<u8>,
}

/// A request's entries, still encoded (the frame decompressed, from where they start).
pub struct RequestEntries {
    frame: Vec<u8>,
    at: usize,
    version: FrameVersion,
}

impl RequestEntries {
    /// Decodes the entries, handing them to `sink` at most `chunk` at a time (as
    /// [`crate::columns::decode_entries_chunked`], whose caveat holds: a damage found after some
    /// chunks went is still an error). A `TSX1` frame's JSON array is read whole first.
    pub fn decode_chunked(
        &self,
        chunk: usize,
        mut sink: impl FnMut(Vec<OutboxEnvelope>) -> bool,
    ) -> Result<(), FrameError> {
        let rest = &self.frame[self.at..];
        match self.version {
            FrameVersion::V1 => {
                let EntriesIn(entries) = serde_json::from_slice(rest)
                    .map_err(|e| FrameError::Malformed(format!("outbox entries: {e}")))?;
                if entries.len() > MAX_EXCHANGE_ENTRIES {
                    return Err(FrameError::Malformed(format!(
                        "more than {MAX_EXCHANGE_ENTRIES} outbox entries"
                    )));
                }
                let mut entries = entries.into_iter().peekable();
                while entries.peek().is_some() {
                    if !sink(entries.by_ref().take(chunk.max(1)).collect()) {
                        break;
                    }
                }
                Ok(())
            }
            // The columns' own count is bounded by `MAX_EXCHANGE_ENTRIES`.
            FrameVersion::V2 => decode_entries_chunked(rest, chunk, sink),
        }
    }
}

/// A request frame's magic, heads and changes, with `room` more bytes reserved for its entries.
fn request_head(magic: &[u8], heads: &[[u8; 32]], changes: &[u8], room: usize) -> Vec<u8> {
    let mut frame = Vec::with_capacity(changes.len() + room + 64);
    frame.extend_from_slice(magic);
    put_heads(&mut frame, heads);
    put_bytes(&mut frame, changes);
    frame
}

impl ExchangeAnswer {
    /// `TSY1` for an acknowledgement by ids, `TSY2` for one by position.
    pub fn encode(&self) -> Vec<u8> {
        let mut frame = Vec::with_capacity(self.changes.len() + 64);
        frame.extend_from_slice(match self.ack {
            Acknowledgement::Ids(_) => ANSWER_MAGIC_V1,
            Acknowledgement::Positions { .. } => ANSWER_MAGIC,
        });
        frame.push(u8::from(self.complete));
        put_heads(&mut frame, &self.heads);
        put_bytes(&mut frame, &self.changes);
        match &self.ack {
            Acknowledgement::Ids(ack) => {
                let _ = serde_json::to_writer(&mut frame, ack);
            }
            Acknowledgement::Positions {
                covered,
                duplicates,
            } => {
                put_varint(&mut frame, u64::from(*covered));
                put_varint(&mut frame, duplicates.len() as u64);
                let mut prev = 0;
                for &d in duplicates {
                    put_varint(&mut frame, u64::from(d.saturating_sub(prev)));
                    prev = d;
                }
            }
        }
        compress(&frame)
    }

    pub fn decode(body: &[u8]) -> Result<ExchangeAnswer, FrameError> {
        let frame = decompress(body)?;
        let (mut r, version) = Reader::either(&frame, ANSWER_MAGIC_V1, ANSWER_MAGIC)?;
        let flags = r.take(1)?[0];
        if flags > 1 {
            return Err(FrameError::Malformed("unknown flags".into()));
        }
        let heads = r.heads()?;
        let changes = r.bytes()?.to_vec();
        let ack = match version {
            FrameVersion::V1 => Acknowledgement::Ids(
                serde_json::from_slice(r.rest())
                    .map_err(|e| FrameError::Malformed(format!("acknowledgement: {e}")))?,
            ),
            FrameVersion::V2 => positions(r.rest())?,
        };
        Ok(ExchangeAnswer {
            complete: flags == 1,
            heads,
            changes,
            ack,
        })
    }
}

/// A `TSY2` acknowledgement: covered, the count of duplicates, their positions as gaps.
fn positions(rest: &[u8]) -> Result<Acknowledgement, FrameError> {
    let mut r = crate::columns::Varints(rest);
    let limit = u64::try_from(MAX_EXCHANGE_ENTRIES).unwrap_or(u64::MAX);
    let covered = r.next()?;
    let count = r.next()?;
    if covered > limit || count > covered {
        return Err(FrameError::Malformed(
            "the acknowledgement covers more entries than an exchange holds".into(),
        ));
    }
    let mut duplicates = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut at = 0u64;
    for i in 0..count {
        let gap = r.next()?;
        if i > 0 && gap == 0 {
            return Err(FrameError::Malformed(
                "the acknowledgement names a position twice".into(),
            ));
        }
        at = at.saturating_add(gap);
        if at >= covered {
            return Err(FrameError::Malformed(
                "the acknowledgement names a position it does not cover".into(),
            ));
        }
        duplicates.push(u32::try_from(at).unwrap_or(u32::MAX));
    }
    if !r.0.is_empty() {
        return Err(FrameError::Malformed(
            "trailing bytes after the acknowledgement".into(),
        ));
    }
    Ok(Acknowledgement::Positions {
        covered: u32::try_from(covered).unwrap_or(u32::MAX),
        duplicates,
    })
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
    /// A frame of version 1 (`v1`) or 2 (`v2`).
    fn either(
        frame: &'a [u8],
        v1: &[u8; 4],
        v2: &[u8; 4],
    ) -> Result<(Reader<'a>, FrameVersion), FrameError> {
        match frame.split_first_chunk::<4>() {
            Some((m, rest)) if m == v1 => Ok((Reader { rest }, FrameVersion::V1)),
            Some((m, rest)) if m == v2 => Ok((Reader { rest }, FrameVersion::V2)),
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
            ack: Acknowledgement::Ids(OutboxAck {
                accepted: vec![Uuid::from_u128(1)],
                duplicates: vec![Uuid::from_u128(2)],
            }),
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
