//! The seeds of each fuzz target, built from real inputs: checkout bodies as shops send them, a
//! till's real sale in an outbox batch, the sync messages of a real Automerge session between a
//! till and the sync target's hub replica, a few rows of the demo catalog export, real pickup
//! codes and signatures, and whole requests for the router.

use trestle_core::cart::{Cart, CartLine};
use trestle_core::catalog::Qty;
use trestle_core::clock::Hlc;
use trestle_core::code::ReservationCode;
use trestle_core::ids::{EventId, SaleId, TillId, VariantId};
use trestle_core::ledger::{LedgerEvent, OutboxEnvelope, LEDGER_WIRE_VERSION};
use trestle_core::sale::{complete, SaleMeta};
use trestle_core::tender::Tender;
use trestle_core::Money;
use trestle_hub::fuzz_targets::{sync_fixture_replica, FUZZ_TILL, FUZZ_VARIANTS};
use trestle_replica::{Holder, ShopReplica, SyncState};
use uuid::Uuid;

type Files = Vec<(String, Vec<u8>)>;

const DEMO_CSV: &str = include_str!("../../../../demo/kalima-arts_products_export.csv");

fn file(name: &str, bytes: impl Into<Vec<u8>>) -> (String, Vec<u8>) {
    (name.to_string(), bytes.into())
}

pub fn all() -> Vec<(&'static str, Files)> {
    let sync = sync_messages();
    vec![
        ("checkout_body", checkout_bodies()),
        ("outbox_batch", outbox_batches()),
        ("catalog_csv", catalog_csvs()),
        ("pickup_code", pickup_codes()),
        ("webhook_signature", signatures()),
        ("api_request", requests(&sync)),
        ("sync_message", sync),
        ("sync_exchange", exchanges()),
    ]
}

/// Bulk exchange frames, `TSX2` and `TSX1`: empty, with the outbox seeds' entries, with a head
/// and changes bytes; and answers by position (`TSY2`) and by ids (`TSY1`).
fn exchanges() -> Files {
    use trestle_protocol::exchange::{
        Acknowledgement, ExchangeAnswer, ExchangeRequest, FrameVersion,
    };
    let entries = outbox_batches()
        .into_iter()
        .filter_map(|(_, b)| serde_json::from_slice::<trestle_protocol::OutboxBatch>(&b).ok())
        .flat_map(|b| b.entries)
        .collect::<Vec<_>>();
    let empty = ExchangeRequest {
        heads: Vec::new(),
        changes: Vec::new(),
        entries: Vec::new(),
    };
    let full = ExchangeRequest {
        heads: vec![[7; 32]],
        changes: vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 0],
        entries,
    };
    let answer = |ack| ExchangeAnswer {
        complete: true,
        heads: vec![[9; 32]],
        changes: vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 0],
        ack,
    };
    let by_position = answer(Acknowledgement::Positions {
        covered: 5,
        duplicates: vec![1, 3],
    });
    let by_ids = answer(Acknowledgement::Ids(trestle_protocol::OutboxAck {
        accepted: vec![Uuid::from_u128(101)],
        duplicates: vec![Uuid::from_u128(102)],
    }));
    // A till's folded day: its sales as one sales sheet, merged into the target's replica.
    let mut hub = sync_fixture_replica();
    let mut till = ShopReplica::load(Holder::Till(TillId(FUZZ_TILL)), &hub.save(), &[]).unwrap();
    let sent = till.heads();
    for i in 0..5u128 {
        let v = VariantId(FUZZ_VARIANTS[(i % 2) as usize]);
        till.sell(
            SaleId(Uuid::from_u128(300 + i)),
            &[(v, Qty::new(1).unwrap())],
        )
        .unwrap();
    }
    assert!(matches!(
        till.fold_unsent(&sent).unwrap(),
        trestle_replica::Fold::Folded { .. }
    ));
    let sheet = ExchangeRequest {
        heads: till.head_bytes(),
        changes: till.bytes_after(&sent),
        entries: Vec::new(),
    };
    vec![
        ("empty".to_string(), empty.encode()),
        ("entries".to_string(), full.encode()),
        ("sheet".to_string(), sheet.encode()),
        ("empty-v1".to_string(), empty.encode_as(FrameVersion::V1)),
        ("entries-v1".to_string(), full.encode_as(FrameVersion::V1)),
        ("answer".to_string(), by_position.encode()),
        ("answer-v1".to_string(), by_ids.encode()),
    ]
}

fn checkout_bodies() -> Files {
    let v = Uuid::from_u128(0x1234);
    vec![
        file(
            "ship",
            format!(
                r#"{{"lines":[{{"variant_id":"{v}","qty":1}}],"customer":{{"name":"Ada Lovelace","email":"ada@example.org"}},"fulfilment":{{"type":"ship","address":"12 St James's Square, London"}}}}"#
            ),
        ),
        file(
            "pickup",
            format!(
                r#"{{"lines":[{{"variant_id":"{v}","qty":2}},{{"variant_id":"{v}","qty":1}}],"customer":{{"name":"Grace Hopper","email":"grace@example.org","phone":"+44 7700 900123"}},"fulfilment":{{"type":"pickup","event_id":"{v}"}},"payment":"deposit"}}"#
            ),
        ),
        file(
            "no-lines",
            r#"{"lines":[],"customer":{"name":" "},"fulfilment":{"type":"ship"},"payment":"pay_on_pickup"}"#,
        ),
    ]
}

fn sale_envelope(event: u128) -> OutboxEnvelope {
    let gbp = trestle_core::Currency::parse("GBP").unwrap();
    let mut cart = Cart::new(gbp, trestle_core::tax::TaxMode::Inclusive);
    cart.lines.push(CartLine {
        variant_id: VariantId(FUZZ_VARIANTS[0]),
        sku: None,
        title: "Fuzz print 0".into(),
        unit_price: Money::from_minor(1200, gbp),
        tax_rate: trestle_core::tax::TaxRate::from_ppm(200_000).unwrap(),
        qty: Qty::new(2).unwrap(),
        discount: None,
    });
    let meta = SaleMeta {
        id: SaleId(Uuid::from_u128(event)),
        receipt: trestle_core::receipt::ReceiptNo::parse("STALL1-000001").unwrap(),
        till_id: TillId(FUZZ_TILL),
        at: Hlc {
            wall_ms: 1_764_000_000_000,
            counter: 3,
        },
        staff: Some("Ada".into()),
        event: Some("Winter Makers Fair".into()),
    };
    let sale = complete(
        &cart,
        vec![Tender::cash(Money::from_minor(2400, gbp))],
        meta,
    )
    .unwrap();
    OutboxEnvelope {
        v: LEDGER_WIRE_VERSION,
        event_id: EventId(Uuid::from_u128(event)),
        till_id: TillId(FUZZ_TILL),
        event: LedgerEvent::SaleCompleted(sale),
    }
}

fn outbox_batches() -> Files {
    let one = serde_json::json!({ "entries": [sale_envelope(100)] });
    let two = serde_json::json!({ "entries": [sale_envelope(101), sale_envelope(102)] });
    vec![
        file("one-sale", one.to_string()),
        file("two-sales", serde_json::to_string_pretty(&two).unwrap()),
        file("empty", r#"{"entries":[]}"#),
    ]
}

/// A real session: the till (loaded from the hub's document) sells, then both sides exchange
/// messages until neither has more to say. Every message the till sends is a seed.
fn sync_messages() -> Files {
    let mut hub = sync_fixture_replica();
    let snapshot = hub.save();
    let till = Holder::Till(TillId(FUZZ_TILL));
    let mut t = ShopReplica::load(till, &snapshot, &[]).unwrap();
    let (deny, made) = (VariantId(FUZZ_VARIANTS[0]), VariantId(FUZZ_VARIANTS[1]));
    t.sell(SaleId(Uuid::from_u128(7)), &[(deny, Qty::new(2).unwrap())])
        .unwrap();
    // Made to order: the till may sell more than it holds (a conflict for the hub to record).
    t.sell(SaleId(Uuid::from_u128(8)), &[(made, Qty::new(5).unwrap())])
        .unwrap();
    let (mut ts, mut hs) = (SyncState::new(), SyncState::new());
    let mut out = Files::new();
    for round in 0..8 {
        let from_till = t.generate_sync_message(&mut ts);
        if let Some(m) = &from_till {
            out.push(file(&format!("round{round}"), m.clone()));
            hub.receive_sync_message(&mut hs, m).unwrap();
        }
        let from_hub = hub.generate_sync_message(&mut hs);
        if let Some(m) = &from_hub {
            t.receive_sync_message(&mut ts, m).unwrap();
        }
        if from_till.is_none() && from_hub.is_none() {
            break;
        }
    }
    assert!(out.len() >= 2, "a session of at least two messages");
    out
}

fn catalog_csvs() -> Files {
    let rows: Vec<&str> = DEMO_CSV.lines().take(9).collect();
    vec![
        file("kalima-head", rows.join("\n") + "\n"),
        file(
            "doc-example",
            "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\nmug,Blue Mug,Title,Default Title,'10,12.50\n",
        ),
    ]
}

fn pickup_codes() -> Files {
    let code = ReservationCode::from_random([3, 1, 4, 1, 5, 9]);
    vec![
        file("display", code.display()),
        file("qr", code.qr_payload()),
        file(
            "hlc",
            Hlc {
                wall_ms: 1_764_000_000_000,
                counter: 12,
            }
            .encode(),
        ),
        file("holder", format!("till:{FUZZ_TILL}")),
        file("time", "2026-12-05T09:00:00Z"),
        file("pairing", "k7qm-4wxa"),
    ]
}

fn signatures() -> Files {
    let body = r#"{"id":"1","topic":"order.created","data":{}}"#;
    let header = trestle_hub::delivery::sign("whsec-fuzz-fuzz-fuzz", 1_700_000_000, body);
    vec![
        file("signed", format!("{header}\n{body}")),
        file("stale", format!("t=-9,v1=00ff,t=1700000000\n{body}")),
    ]
}

/// `[method, token, content type] path \n headers \n\n body` (see `fuzz_targets::api_request`):
/// method 0 GET 1 POST 2 DELETE; token 0 none 1 admin 2 device 3 staff; type 1 JSON 2 CSV 3 bytes.
fn req(m: u8, t: u8, c: u8, path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut v = vec![m, t, c];
    v.extend_from_slice(path.as_bytes());
    v.push(b'\n');
    v.extend_from_slice(headers.as_bytes());
    v.push(b'\n');
    v.extend_from_slice(body);
    v
}

fn requests(sync: &Files) -> Files {
    let csv = DEMO_CSV.lines().take(4).collect::<Vec<_>>().join("\n");
    let ship = br#"{"lines":[{"variant_id":"@V","qty":1}],"customer":{"name":"Ada Lovelace"},"fulfilment":{"type":"ship"}}"#;
    let pickup = br#"{"lines":[{"variant_id":"@V","qty":1}],"customer":{"name":"Grace"},"fulfilment":{"type":"pickup","event_id":"@E"},"payment":"pay_on_pickup"}"#;
    // The device's own till id, so the batch is accepted.
    let outbox = serde_json::json!({ "entries": [sale_envelope(300)] })
        .to_string()
        .replace(&FUZZ_TILL.to_string(), "@T");
    vec![
        file(
            "checkout",
            req(1, 1, 1, "/v1/checkout", "Idempotency-Key: k-1\n", ship),
        ),
        file(
            "pickup-staff",
            req(1, 3, 1, "/v1/checkout", "Idempotency-Key: k-2\n", pickup),
        ),
        file("inventory", req(0, 1, 0, "/v1/inventory/@V", "", b"")),
        file("orders", req(0, 1, 0, "/v1/orders?limit=5", "", b"")),
        file(
            "reservation",
            req(
                1,
                3,
                1,
                "/v1/reservations/@R/collected",
                "",
                br#"{"lines":[{"variant_id":"@V","qty":1}]}"#,
            ),
        ),
        file("event-open", req(1, 1, 1, "/v1/events/@E/open", "", b"{}")),
        file(
            "import",
            req(1, 1, 2, "/v1/catalog/import", "", csv.as_bytes()),
        ),
        file(
            "count",
            req(
                1,
                1,
                1,
                "/v1/inventory/counts",
                "",
                br#"{"variant_id":"@V","delta":-1,"reason":"broken"}"#,
            ),
        ),
        file(
            "outbox",
            req(1, 2, 1, "/v1/sync/outbox", "", outbox.as_bytes()),
        ),
        file(
            "automerge",
            req(
                1,
                2,
                3,
                "/v1/sync/automerge",
                "Trestle-Sync-Session: s1\n",
                &sync[0].1,
            ),
        ),
        file("feed", req(0, 2, 0, "/v1/sync/feed?after=0", "", b"")),
        file(
            "no-token",
            req(0, 0, 0, "/v1/conflicts?status=open", "", b""),
        ),
    ]
}
