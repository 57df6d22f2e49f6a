//! The `TSX2`/`TSY2` exchange frames: any outbox round-trips to exactly the envelopes stored
//! (property test), a till encoding its entries from their stored JSON sends the very same frame,
//! version 1 frames still decode, acknowledgements by position round-trip, and damaged frames are
//! refused with a reason, never a panic.

use proptest::prelude::*;
use trestle_core::cart::{Cart, CartLine};
use trestle_core::catalog::{Qty, Sku};
use trestle_core::clock::Hlc;
use trestle_core::ids::{EventId, SaleId, TillId, VariantId, VoidId};
use trestle_core::ledger::{LedgerEvent, OutboxEnvelope, Void, LEDGER_WIRE_VERSION};
use trestle_core::receipt::ReceiptNo;
use trestle_core::sale::{complete, SaleMeta};
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::tender::Tender;
use trestle_core::{Currency, Money};
use trestle_protocol::exchange::{
    Acknowledgement, ExchangeAnswer, ExchangeRequest, FrameError, FrameVersion,
};
use trestle_protocol::OutboxAck;
use uuid::Uuid;

const TILL: u128 = 0x0190_0000_0000_7000_8000_0000_0000_0001;

#[derive(Debug, Clone)]
struct Line {
    variant: u16,
    qty: u32,
    price: i64,
    sku: bool,
    title: String,
}

#[derive(Debug, Clone)]
struct Entry {
    id: u128,
    own_event_id: bool,
    event_id: u128,
    wall_ms: u64,
    counter: u32,
    seq: u64,
    staff: Option<String>,
    event: Option<String>,
    lines: Vec<Line>,
    void: bool,
    extra_cash: i64,
}

fn line() -> impl Strategy<Value = Line> {
    (
        0u16..50,
        1u32..5,
        1i64..500_000,
        any::<bool>(),
        "[a-zA-Z é\"\\\\]{0,12}",
    )
        .prop_map(|(variant, qty, price, sku, title)| Line {
            variant,
            qty,
            price,
            sku,
            title,
        })
}

prop_compose! {
    fn entry()(
        id in any::<u128>(),
        own_event_id in any::<bool>(),
        event_id in any::<u128>(),
        wall_ms in 1_700_000_000_000u64..1_800_000_000_000,
        counter in 0u32..1000,
        seq in 1u64..1_000_000,
        staff in proptest::option::of("[A-Za-z]{1,8}"),
        event in proptest::option::of("[A-Za-z ]{1,16}"),
        lines in proptest::collection::vec(line(), 1..4),
        void in any::<bool>(),
        extra_cash in 0i64..10_000,
    ) -> Entry {
        Entry { id, own_event_id, event_id, wall_ms, counter, seq, staff, event, lines, void, extra_cash }
    }
}

fn envelope(e: &Entry) -> OutboxEnvelope {
    let gbp = Currency::parse("GBP").unwrap();
    let at = Hlc {
        wall_ms: e.wall_ms,
        counter: e.counter,
    };
    let receipt = ReceiptNo::parse(&format!("STALL1-{:06}", e.seq)).unwrap();
    let event = if e.void {
        LedgerEvent::SaleVoided(Void {
            id: VoidId(Uuid::from_u128(e.id)),
            sale_id: SaleId(Uuid::from_u128(e.event_id)),
            sale_receipt: receipt,
            till_id: TillId(Uuid::from_u128(TILL)),
            at,
            reason: e.lines[0].title.clone(),
            staff: e.staff.clone(),
        })
    } else {
        let mut cart = Cart::new(gbp, TaxMode::Inclusive);
        for (i, l) in e.lines.iter().enumerate() {
            cart.lines.push(CartLine {
                variant_id: VariantId(Uuid::from_u128(u128::from(l.variant) + 77)),
                sku: l
                    .sku
                    .then(|| Sku::parse(&format!("SKU{:05}", l.variant)).unwrap()),
                title: l.title.clone(),
                unit_price: Money::from_minor(l.price, gbp),
                tax_rate: TaxRate::from_ppm(if i % 2 == 0 { 200_000 } else { 50_000 }).unwrap(),
                qty: Qty::new(l.qty).unwrap(),
                discount: None,
            });
        }
        let total = cart.price().unwrap().totals.total.minor();
        let meta = SaleMeta {
            id: SaleId(Uuid::from_u128(e.id)),
            receipt,
            till_id: TillId(Uuid::from_u128(TILL)),
            at,
            staff: e.staff.clone(),
            event: e.event.clone(),
        };
        let tenders = vec![Tender::cash(Money::from_minor(total + e.extra_cash, gbp))];
        LedgerEvent::SaleCompleted(complete(&cart, tenders, meta).unwrap())
    };
    OutboxEnvelope {
        v: LEDGER_WIRE_VERSION,
        event_id: EventId(Uuid::from_u128(if e.own_event_id {
            e.id
        } else {
            e.event_id
        })),
        till_id: TillId(Uuid::from_u128(TILL)),
        event,
    }
}

fn request(entries: Vec<OutboxEnvelope>) -> ExchangeRequest {
    ExchangeRequest {
        heads: vec![[3; 32], [4; 32]],
        changes: vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3],
        entries,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_outbox_round_trips_exactly(entries in proptest::collection::vec(entry(), 0..40)) {
        let r = request(entries.iter().map(envelope).collect());
        for version in [FrameVersion::V2, FrameVersion::V1] {
            let (back, v) = ExchangeRequest::decode_versioned(&r.encode_as(version)).unwrap();
            prop_assert_eq!(v, version);
            prop_assert_eq!(&back, &r);
        }
    }

    #[test]
    fn a_till_encoding_its_stored_entries_sends_the_same_frame(entries in proptest::collection::vec(entry(), 0..40)) {
        let r = request(entries.iter().map(envelope).collect());
        let stored: Vec<String> = r.entries.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
        let texts: Vec<&str> = stored.iter().map(String::as_str).collect();
        let frame = ExchangeRequest::encode_stored(&r.heads, &r.changes, &texts).unwrap();
        prop_assert_eq!(&frame, &r.encode());
        prop_assert_eq!(ExchangeRequest::decode(&frame).unwrap(), r);
    }

    #[test]
    fn acknowledgements_by_position_round_trip(covered in 0u32..20_000, dups in proptest::collection::btree_set(0u32..20_000, 0..50)) {
        let duplicates: Vec<u32> = dups.into_iter().filter(|d| *d < covered).collect();
        let a = ExchangeAnswer {
            complete: covered % 2 == 0,
            heads: vec![[1; 32]],
            changes: vec![9; 10],
            ack: Acknowledgement::Positions { covered, duplicates },
        };
        prop_assert_eq!(ExchangeAnswer::decode(&a.encode()).unwrap(), a);
    }

    #[test]
    fn damaged_v2_frames_are_refused_not_panicking(cut in 0usize..4000, flip in 0usize..4000, byte in any::<u8>()) {
        let entries: Vec<OutboxEnvelope> = (0..5u128)
            .map(|i| envelope(&Entry {
                id: TILL + i, own_event_id: i != 2, event_id: i, wall_ms: 1_764_000_000_000 + i as u64,
                counter: 0, seq: 1 + i as u64, staff: None, event: Some("Fair".into()),
                lines: vec![Line { variant: 1, qty: 1, price: 1200, sku: true, title: "Mug".into() }],
                void: i == 4, extra_cash: 0,
            }))
            .collect();
        let frame = zstd::bulk::decompress(&request(entries).encode(), 1 << 20).unwrap();
        let mut damaged = frame[..cut.min(frame.len())].to_vec();
        if !damaged.is_empty() {
            let i = flip % damaged.len();
            damaged[i] ^= byte;
        }
        let body = zstd::bulk::compress(&damaged, 3).unwrap();
        // Ok (a flip that still reads) or a refusal with a reason; never a panic.
        if let Err(e) = ExchangeRequest::decode(&body) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

/// Stored ids in capitals are written as serde writes them: the frame of the typed entries all the
/// same. Pretty-printed text is not encoded from its text at all.
#[test]
fn stored_entries_laid_out_another_way_send_the_same_frame() {
    let entries: Vec<OutboxEnvelope> = (0..4u128)
        .map(|i| {
            envelope(&Entry {
                id: TILL + i,
                own_event_id: i % 2 == 0,
                event_id: i,
                wall_ms: 1_764_000_000_000 + i as u64,
                counter: 0,
                seq: 1 + i as u64,
                staff: None,
                event: None,
                lines: vec![Line {
                    variant: 1,
                    qty: 2,
                    price: 1200,
                    sku: true,
                    title: "Mug".into(),
                }],
                void: i == 3,
                extra_cash: 0,
            })
        })
        .collect();
    let r = request(entries);
    let capitals = |e: &OutboxEnvelope| {
        let text = serde_json::to_string(e).unwrap();
        let (event_id, till_id) = (e.event_id.0.to_string(), e.till_id.0.to_string());
        let head = format!(
            r#"{{"v":{},"event_id":"{event_id}","till_id":"{till_id}","#,
            e.v
        );
        assert!(text.starts_with(&head), "{text}");
        let upper = format!(
            r#"{{"v":{},"event_id":"{}","till_id":"{}","#,
            e.v,
            event_id.to_uppercase(),
            till_id.to_uppercase()
        );
        text.replacen(&head, &upper, 1)
    };
    let texts = |layout: &dyn Fn(&OutboxEnvelope) -> String| -> Vec<String> {
        r.entries.iter().map(layout).collect()
    };
    let capitalised = texts(&capitals);
    let refs: Vec<&str> = capitalised.iter().map(String::as_str).collect();
    let frame = ExchangeRequest::encode_stored(&r.heads, &r.changes, &refs).unwrap();
    assert_eq!(frame, r.encode());
    // Whitespace is not walked: not encoded from the text (the till encodes the typed entries).
    let pretty = texts(&|e| serde_json::to_string_pretty(e).unwrap());
    let refs: Vec<&str> = pretty.iter().map(String::as_str).collect();
    assert_eq!(
        ExchangeRequest::encode_stored(&r.heads, &r.changes, &refs),
        None
    );
}

#[test]
fn a_stored_entry_that_is_not_an_envelope_is_not_encoded_from_its_text() {
    let r = request(Vec::new());
    for bad in [
        "",
        "{}",
        "[1]",
        r#"{"v":1,"event_id":"x","till_id":"y","event":{}}"#,
        // Laid out as a till writes it, but the record is not JSON.
        r#"{"v":1,"event_id":"0190f3a0-0000-7000-8000-000000000001","till_id":"0190f3a0-0000-7000-8000-000000000002","event":{"kind":"sale_completed","record":{"id":"0190f3a0-0000-7000-8000-000000000001",]}}"#,
    ] {
        assert_eq!(
            ExchangeRequest::encode_stored(&r.heads, &r.changes, &[bad]),
            None
        );
    }
}

#[test]
fn the_hub_answers_a_request_in_its_own_version() {
    let ids = [Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3)];
    let ack = OutboxAck {
        accepted: vec![ids[0], ids[2]],
        duplicates: vec![ids[1]],
    };
    assert_eq!(
        Acknowledgement::for_request(FrameVersion::V2, &ids, ack.clone()),
        Acknowledgement::Positions {
            covered: 3,
            duplicates: vec![1]
        }
    );
    assert_eq!(
        Acknowledgement::for_request(FrameVersion::V1, &ids, ack.clone()),
        Acknowledgement::Ids(ack)
    );
}

#[test]
fn an_entry_whose_event_id_is_its_own_id_costs_no_id_on_the_wire() {
    let mut e = Entry {
        id: 0x0190_1234_5678_7abc_8def_0123_4567_89ab,
        own_event_id: true,
        event_id: 0x0190_1234_5678_7abc_8def_fedc_ba98_7654,
        wall_ms: 1_764_000_000_000,
        counter: 0,
        seq: 1,
        staff: None,
        event: None,
        lines: vec![Line {
            variant: 1,
            qty: 1,
            price: 1200,
            sku: false,
            title: "Mug".into(),
        }],
        void: false,
        extra_cash: 0,
    };
    let own = request(vec![envelope(&e)]).encode();
    e.own_event_id = false;
    let other = request(vec![envelope(&e)]).encode();
    let inflate = |b: &[u8]| zstd::bulk::decompress(b, 1 << 20).unwrap().len();
    assert_eq!(inflate(&other) - inflate(&own), 16, "one id of 16 bytes");
}

#[test]
fn bad_acknowledgements_are_refused() {
    let frame = |ack: &[u8]| {
        let mut f = b"TSY2\x01".to_vec();
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(ack);
        ExchangeAnswer::decode(&zstd::bulk::compress(&f, 3).unwrap())
    };
    assert!(frame(&[3, 1, 1]).is_ok());
    for (bad, why) in [
        (&[3u8, 1, 3][..], "a position it does not cover"),
        (&[3, 2, 1, 0], "a position twice"),
        (&[3, 4, 0, 1, 1, 1], "covers more"),
        (&[3, 0, 7], "trailing"),
        (&[0xff, 0xff, 0xff, 0x7f, 0], "covers more"),
        (&[3], "past the end"),
    ] {
        match frame(bad) {
            Err(FrameError::Malformed(m)) => assert!(m.contains(why), "{bad:?}: {m}"),
            other => panic!("{bad:?} was {other:?}"),
        }
    }
}
