//! The fuzz targets: one function per decoder of network input, each running the code the
//! server runs on those bytes and asserting that it answers (never panics) and keeps its
//! promises. `fuzz/` (cargo-fuzz) and `tests/decoders.rs` (stable CI) both call these; see
//! docs/fuzzing.md. Not part of the hub's API.

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Method, Request};
use futures_util::FutureExt;
use trestle_core::catalog::Policy;
use trestle_core::code::{normalise_pairing_code, ReservationCode};
use trestle_core::ids::{TillId, VariantId};
use trestle_core::import::{parse_shopify_csv, ImportSettings};
use trestle_protocol::{CheckoutRequest, OutboxBatch};
use trestle_replica::ids::{CountId, TransferId};
use trestle_replica::invariants::{check_stock, touched_cells};
use trestle_replica::{Holder, ShopId, ShopReplica, SyncState, VariantFields};
use uuid::Uuid;

use crate::directory::clean_name;
use crate::error::HubError;
use crate::extract::ApiJson;

mod api;
pub use api::api_request;

/// A body through the server's own JSON extractor (`ApiJson`): the same content-type check,
/// size limit, decoding and refusal mapping a route runs. A refusal must be a 4xx.
fn through_api_json<T: serde::de::DeserializeOwned>(data: &[u8]) -> Option<T> {
    let req = Request::builder()
        .method(Method::POST)
        .header("content-type", "application/json")
        .body(Body::from(data.to_vec()))
        .unwrap_or_else(|e| unreachable!("a fixed request builds: {e}"));
    let decoded = ApiJson::<T>::from_request(req, &())
        .now_or_never()
        .unwrap_or_else(|| unreachable!("a body already in memory is read at once"));
    // The same bytes as axum's `Json::from_bytes` sees them, which the extractor must agree with.
    let direct = axum::Json::<T>::from_bytes(data);
    match decoded {
        Ok(ApiJson(v)) => {
            assert!(direct.is_ok(), "ApiJson accepted what Json refuses");
            Some(v)
        }
        Err(e) => {
            assert!(direct.is_err(), "ApiJson refused what Json accepts");
            assert_refusal(&e);
            None
        }
    }
}

/// A refusal of input is a client error with a code and a sentence.
fn assert_refusal(e: &HubError) {
    assert!(
        e.status().is_client_error(),
        "input refused with {} ({e:?})",
        e.status()
    );
    let body = e.body();
    assert!(!body.error.code.is_empty() && !body.error.message.is_empty());
}

/// `POST /v1/checkout`'s body: decoded by the route's extractor, hashed as the route hashes it
/// (re-encoded, which must give back the same request); then, as the writer's validation
/// (`typed_lines`, `clean_name`, the optional texts, the event) is private to the partition,
/// the decoded body is sent to the real router's checkout with a fresh `Idempotency-Key`.
pub fn checkout_body(data: &[u8]) {
    let Some(req) = through_api_json::<CheckoutRequest>(data) else {
        return;
    };
    let encoded = serde_json::to_vec(&req).expect("a decoded checkout request encodes");
    let again: CheckoutRequest =
        serde_json::from_slice(&encoded).expect("a re-encoded checkout request decodes");
    assert_eq!(again, req, "the idempotency hash covers what was decoded");
    if let Err(e) = clean_name("customer name", &req.customer.name) {
        assert_refusal(&e);
    }
    api::checkout(data);
}

/// `POST /v1/sync/outbox`'s body: decoded by the route's extractor; every entry's event is
/// re-encoded for storage (as `ingest_outbox` does) and must decode to the same entry.
pub fn outbox_batch(data: &[u8]) {
    let Some(batch) = through_api_json::<OutboxBatch>(data) else {
        return;
    };
    for e in &batch.entries {
        let stored = serde_json::to_string(&e.event).expect("a decoded event encodes");
        let back: trestle_core::ledger::LedgerEvent =
            serde_json::from_str(&stored).expect("a stored event decodes");
        assert_eq!(back, e.event, "the stored event is the one received");
        assert!(!e.event.kind().is_empty());
        let _ = TillId(e.till_id.0);
    }
}

/// The hub's replica before any sync message: one deny and one made-to-order variant with
/// stock at the hub and at one till (built once: its snapshot is the starting point).
struct HubFixture {
    snapshot: Vec<u8>,
    heads: usize,
}

/// The till the sync fixture's stock was moved to.
pub const FUZZ_TILL: Uuid = Uuid::from_u128(0x7e57_0000_0000_0000_0000_0000_0000_0001);
const FUZZ_SHOP: Uuid = Uuid::from_u128(0x7e57_0000_0000_0000_0000_0000_0000_0002);

/// The fuzzed hub replica's variants (deny, then made to order).
pub const FUZZ_VARIANTS: [Uuid; 2] = [
    Uuid::from_u128(0x7e57_0000_0000_0000_0000_0000_0000_0010),
    Uuid::from_u128(0x7e57_0000_0000_0000_0000_0000_0000_0011),
];

/// The hub replica the sync target starts from, built as the hub builds its shop document.
pub fn sync_fixture_replica() -> ShopReplica {
    let till = Holder::Till(TillId(FUZZ_TILL));
    let mut r = ShopReplica::create(ShopId(FUZZ_SHOP), Holder::Hub).expect("a new replica");
    for (i, v) in FUZZ_VARIANTS.iter().enumerate() {
        let v = VariantId(*v);
        let fields = VariantFields {
            title: format!("Fuzz print {i}"),
            sku: Some(format!("FZ-{i}")),
            barcode: None,
            price_minor: 1200,
            tax_ppm: 200_000,
            policy: if i == 0 {
                Policy::Deny
            } else {
                Policy::Continue
            },
            track_inventory: true,
        };
        r.add_variant(v, &fields).expect("a variant");
        r.ensure_holder(v, Holder::Hub).expect("hub stock");
        r.ensure_holder(v, till).expect("till stock");
        r.count(CountId(Uuid::from_u128(100 + i as u128)), v, 10, "opening")
            .expect("opening stock");
        let three = trestle_core::catalog::Qty::new(3).expect("3");
        r.transfer(
            TransferId(Uuid::from_u128(200 + i as u128)),
            till,
            &[(v, three)],
        )
        .expect("stock to the till");
    }
    r
}

fn hub_fixture() -> &'static HubFixture {
    static FIXTURE: OnceLock<HubFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut r = sync_fixture_replica();
        let heads = r.heads().len();
        HubFixture {
            snapshot: r.save(),
            heads,
        }
    })
}

/// Arbitrary bytes as a till's Automerge sync message to the hub's replica (a fresh session):
/// `Ok` or `Err`, never a panic. A refused message leaves the replica exactly as it was; an
/// accepted one leaves a replica the hub can read, persist and reload, whose post-merge check
/// found every negative counter the full check finds.
pub fn sync_message(data: &[u8]) {
    let fixture = hub_fixture();
    let mut replica = ShopReplica::load(Holder::Hub, &fixture.snapshot, &[])
        .expect("the fixture's snapshot loads");
    assert_eq!(replica.heads().len(), fixture.heads);
    let before = replica.heads();
    let mut state = SyncState::new();
    let received = replica.receive_sync_message(&mut state, data);
    let (shop, epoch) = (replica.shop(), replica.epoch());
    assert_eq!(
        (shop, epoch),
        (ShopId(FUZZ_SHOP), 0),
        "the document is still this shop's"
    );
    match received {
        Err(_) => {
            assert_eq!(
                replica.heads(),
                before,
                "a refused message changed the replica"
            );
            assert!(replica.take_unsaved_bytes().is_empty());
        }
        Ok(report) => {
            // What the partition does next: the touched cells, the catalog and codes, a reply.
            if report.heads_changed {
                let _ = touched_cells(&mut replica, &before);
                let _ = replica.catalog();
                let _ = replica.reservations();
                let _ = replica.events();
                let _ = replica.levels();
            } else {
                assert_eq!(replica.heads(), before);
            }
            let _ = replica.generate_sync_message(&mut state);
            // The fixture has no negative counter: every one after the merge is the merge's,
            // and the post-merge check must have reported it (an oversell is never silent).
            if let Ok(all) = check_stock(&replica) {
                for c in &all {
                    assert!(
                        report.conflicts.contains(c),
                        "the merge hid a conflict: {c:?} (reported: {:?})",
                        report.conflicts
                    );
                }
            }
            // Persisted as the hub persists it, the replica reloads to the same document.
            let heads = replica.heads();
            let later = replica.take_unsaved_bytes();
            let mut reloaded = ShopReplica::load(Holder::Hub, &fixture.snapshot, &[&later])
                .expect("an accepted merge reloads from what the hub stores");
            assert_eq!(reloaded.heads(), heads, "the reload is the same document");
        }
    }
}

/// `POST /v1/sync/exchange`'s body (a zstd frame): decoded with the decompression cap, `Ok` or
/// `Err`, never a panic; a decoded frame re-encodes to one that decodes the same, its outbox
/// entries store and decode like a batch's, and its changes merge into the hub's replica (or
/// are refused leaving it as it was). Both versions (`TSX1` JSON, `TSX2` columns): a request
/// decoded from either re-encodes in each and decodes the same; an answer (`TSY1` ids, `TSY2`
/// positions) re-encodes and decodes the same. `data` is tried both as it is and compressed, so
/// the mutations reach the frame's own structure and not only zstd's.
pub fn sync_exchange(data: &[u8]) {
    use trestle_protocol::exchange::{ExchangeAnswer, ExchangeRequest, FrameVersion};
    let compressed = zstd::bulk::compress(data, 1).unwrap_or_default();
    for body in [data, &compressed[..]] {
        if let Ok(answer) = ExchangeAnswer::decode(body) {
            assert_eq!(
                ExchangeAnswer::decode(&answer.encode()).as_ref(),
                Ok(&answer),
                "the answer round-trips"
            );
        }
        let Ok(req) = ExchangeRequest::decode(body) else {
            continue;
        };
        for version in [FrameVersion::V1, FrameVersion::V2] {
            let (again, v) = ExchangeRequest::decode_versioned(&req.encode_as(version))
                .expect("a decoded frame re-encodes");
            assert_eq!(v, version);
            assert_eq!(again, req, "the frame round-trips");
        }
        for e in &req.entries {
            let stored = serde_json::to_string(&e.event).expect("a decoded event encodes");
            let back: trestle_core::ledger::LedgerEvent =
                serde_json::from_str(&stored).expect("a stored event decodes");
            assert_eq!(back, e.event);
        }
        let fixture = hub_fixture();
        let mut replica = ShopReplica::load(Holder::Hub, &fixture.snapshot, &[])
            .expect("the fixture's snapshot loads");
        let before = replica.heads();
        if replica.merge_bytes(&req.changes).is_err() {
            assert_eq!(
                replica.heads(),
                before,
                "a refused merge changed the replica"
            );
        }
        let _ = replica.knows(&req.heads);
        let _ = replica.bundle_after(&req.heads);
    }
}

/// `POST /v1/catalog/import`'s body through the core's Shopify CSV parser, with the settings of
/// a GBP shop with 20% tax.
pub fn catalog_csv(data: &[u8]) {
    let settings = ImportSettings {
        currency: trestle_core::Currency::parse("GBP").expect("GBP"),
        default_tax_rate: trestle_core::tax::TaxRate::from_ppm(200_000).expect("20%"),
    };
    match parse_shopify_csv(data, &settings) {
        Err(e) => assert!(!e.code().is_empty()),
        Ok(report) => {
            for r in &report.rows {
                assert!(!r.outcome.summary().is_empty());
            }
            for p in &report.products {
                assert!(!p.variants.is_empty(), "a product without variants");
            }
        }
    }
}

/// The short texts a request carries: pickup codes (typed or scanned), pairing codes, clock
/// stamps, holders and times. Each parse that accepts must round-trip.
pub fn pickup_code(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(code) = ReservationCode::parse(&text) {
        assert_eq!(code.as_str().len(), 7);
        let shown = ReservationCode::parse(&code.display()).expect("a shown code parses");
        let scanned = ReservationCode::parse(&code.qr_payload()).expect("a QR payload parses");
        assert_eq!((&shown, &scanned), (&code, &code));
    }
    let _ = normalise_pairing_code(&text);
    if let Some(h) = trestle_core::clock::Hlc::decode(&text) {
        assert_eq!(trestle_core::clock::Hlc::decode(&h.encode()), Some(h));
    }
    if let Ok(h) = Holder::parse(&text) {
        assert_eq!(Holder::parse(&h.to_string()).ok(), Some(h));
    }
    let _ = trestle_core::clock::parse_utc(&text);
    if let Err(e) = clean_name("name", &text) {
        assert_refusal(&e);
    }
}

/// `Trestle-Signature` checking (`delivery::verify`) on arbitrary header text: the first line
/// is the header, the rest the body. Never a panic; a fresh signature of the body verifies.
pub fn webhook_signature(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (header, body) = text.split_once('\n').unwrap_or((&text, ""));
    let secret = "whsec-fuzz-fuzz-fuzz";
    let now = 1_700_000_000;
    let _ = crate::delivery::verify(secret, header, body, now, 300);
    let _ = crate::delivery::verify(secret, header, body, i64::MIN, i64::MAX);
    let _ = crate::delivery::verify(body, header, header, i64::MAX, 0);
    let signed = crate::delivery::sign(secret, now, body);
    assert!(crate::delivery::verify(secret, &signed, body, now, 0));
}
