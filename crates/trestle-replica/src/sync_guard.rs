//! The checks a peer's Automerge sync message passes before Automerge keeps it: its `have` Bloom
//! filters must be ones Automerge can probe. Automerge 0.12 stores a received filter in the sync
//! state and probes it when it writes the reply; a filter with entries but zero bits per entry
//! makes that probe divide by zero (a panic), and one with billions of probes makes it allocate
//! and loop for minutes. Such a message is refused as unreadable before it reaches the state.

use automerge::sync;

use crate::error::{Error, Result};

/// More probes than any real filter uses (Automerge writes 7).
const MAX_PROBES: u32 = 64;

/// Refuses a message whose Bloom filters Automerge could not probe safely.
pub(crate) fn check(message: &sync::Message) -> Result<()> {
    for have in &message.have {
        let bytes = have.bloom.to_bytes();
        // An empty filter (no entries) is written as nothing and is never probed.
        if bytes.is_empty() {
            continue;
        }
        let mut input = bytes.as_slice();
        let entries = leb128_u32(&mut input);
        let bits_per_entry = leb128_u32(&mut input);
        let probes = leb128_u32(&mut input);
        let bits = input.len();
        let fits = match (entries, bits_per_entry, probes) {
            (Some(e), Some(b), Some(p)) => {
                e == 0 || (b > 0 && bits > 0 && p <= MAX_PROBES && bits <= (u32::MAX / 8) as usize)
            }
            _ => false,
        };
        if !fits {
            return Err(Error::Unreadable {
                reason: "the sync message has a malformed Bloom filter".into(),
            });
        }
    }
    Ok(())
}

/// One unsigned LEB128 value of at most 32 bits, consumed from the front of `input`.
fn leb128_u32(input: &mut &[u8]) -> Option<u32> {
    let mut value: u64 = 0;
    for shift in [0, 7, 14, 21, 28] {
        let (&b, rest) = input.split_first()?;
        *input = rest;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return u32::try_from(value).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use automerge::sync::{BloomFilter, Have, Message};
    use trestle_core::ids::TillId;
    use uuid::Uuid;

    use crate::{Holder, ShopId, ShopReplica, SyncState};

    /// A till's real first sync message to the hub, with `have` replaced by one filter.
    fn message_with(filter: &[u8]) -> Vec<u8> {
        let mut hub = ShopReplica::create(ShopId(Uuid::from_u128(9)), Holder::Hub).unwrap();
        let mut till =
            ShopReplica::load(Holder::Till(TillId(Uuid::from_u128(1))), &hub.save(), &[]).unwrap();
        let real = till.generate_sync_message(&mut SyncState::new()).unwrap();
        let mut m = Message::decode(&real).unwrap();
        m.have = vec![Have {
            last_sync: Vec::new(),
            bloom: BloomFilter::try_from(filter).unwrap(),
        }];
        m.encode()
    }

    fn hub() -> ShopReplica {
        ShopReplica::create(ShopId(Uuid::from_u128(9)), Holder::Hub).unwrap()
    }

    #[test]
    fn a_filter_with_zero_bits_per_entry_is_refused_not_a_division_by_zero() {
        // 1 entry, 0 bits per entry, 7 probes, no bits: Automerge's probe computes `x % 0`.
        let bad = message_with(&[1, 0, 7]);
        let mut hub = hub();
        let before = hub.heads();
        let mut state = SyncState::new();
        let err = hub.receive_sync_message(&mut state, &bad).unwrap_err();
        assert_eq!(err.code(), "replica.unreadable");
        assert_eq!(hub.heads(), before);
        // The reply is generated without the refused filter (this panicked before the check).
        let _ = hub.generate_sync_message(&mut state);
    }

    #[test]
    fn a_filter_with_billions_of_probes_is_refused() {
        // 1 entry, 10 bits per entry (2 bytes), u32::MAX probes.
        let bad = message_with(&[1, 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0]);
        let mut state = SyncState::new();
        let err = hub().receive_sync_message(&mut state, &bad).unwrap_err();
        assert_eq!(err.code(), "replica.unreadable");
    }

    #[test]
    fn real_filters_pass() {
        // 1 entry, 10 bits per entry, 7 probes, 2 bytes of bits: what Automerge writes.
        let ok = message_with(&[1, 10, 7, 0x12, 0x34]);
        let (mut hub, mut state) = (hub(), SyncState::new());
        hub.receive_sync_message(&mut state, &ok).unwrap();
        let _ = hub.generate_sync_message(&mut state);
    }
}
