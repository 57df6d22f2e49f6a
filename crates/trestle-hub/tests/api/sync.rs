//! The tills' side: outbox batches applied once per event id however often they are sent,
//! Automerge sync from a till's replica over HTTP until both sides agree, the conflicts a merge
//! reveals, and the device feed.

use serde_json::json;
use trestle_core::catalog::Qty;
use trestle_core::ids::{SaleId, TillId, VariantId};
use trestle_replica::{Holder, ShopReplica, SyncState};
use uuid::Uuid;

use crate::helpers::*;

/// A till's replica started from the hub's snapshot.
pub(crate) async fn till_replica(hub: &Hub, till: &str, device: &str) -> ShopReplica {
    let r = hub
        .client
        .get(format!("{}/v1/sync/snapshot", hub.url))
        .bearer_auth(device)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await.unwrap();
    let t = Holder::Till(TillId(Uuid::parse_str(till).unwrap()));
    ShopReplica::load(t, &bytes, &[]).unwrap()
}

/// The Kalima catalog imported, a till paired and given 3 of the tee: the tee's id, the till's
/// id and device token, and its replica started from the hub's snapshot.
pub(crate) async fn tees_at_a_till(hub: &Hub) -> (String, String, String, ShopReplica) {
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let (till, device) = hub.pair("Stall 1").await;
    let t = hub
        .post(
            "/v1/transfers",
            &hub.admin,
            json!({"to_till": till, "lines": [{"variant_id": tee, "qty": 3}]}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    let replica = till_replica(hub, &till, &device).await;
    (tee, till, device, replica)
}

/// Runs a sync session until neither side has anything to say; returns the rounds taken.
async fn sync(hub: &Hub, device: &str, replica: &mut ShopReplica) -> usize {
    let session = trestle_hub::db::new_id().to_string();
    let mut state = SyncState::new();
    for round in 1..50 {
        let ours = replica
            .generate_sync_message(&mut state)
            .unwrap_or_default();
        let r = hub
            .client
            .post(format!("{}/v1/sync/automerge", hub.url))
            .bearer_auth(device)
            .header("trestle-sync-session", &session)
            .header("content-type", "application/octet-stream")
            .body(ours.clone())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!(status == 200 || status == 204, "sync answered {status}");
        if status == 204 && ours.is_empty() {
            return round;
        }
        if status == 200 {
            let theirs = r.bytes().await.unwrap();
            replica.receive_sync_message(&mut state, &theirs).unwrap();
        }
    }
    panic!("sync did not settle");
}

#[tokio::test]
async fn a_till_syncs_its_sales_and_both_sides_agree() {
    let hub = Hub::start().await;
    let (tee, till, device, mut replica) = tees_at_a_till(&hub).await;
    let v = VariantId(Uuid::parse_str(&tee).unwrap());
    assert_eq!(
        replica.available(v).unwrap(),
        3,
        "the allocation is in the snapshot"
    );
    replica
        .sell(SaleId(Uuid::from_u128(42)), &[(v, Qty::new(2).unwrap())])
        .unwrap();
    sync(&hub, &device, &mut replica).await;
    let level = hub.get(&format!("/v1/inventory/{tee}"), &hub.admin).await;
    let at_till = level.body["holders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["holder"] == format!("till:{till}"))
        .cloned()
        .unwrap();
    assert_eq!(at_till["free"], 1, "{}", level.body);
    assert_eq!(level.body["available"], 2, "the hub kept its own 2");
    // Nothing left to say: a new session settles at once.
    assert!(sync(&hub, &device, &mut replica).await <= 2);
    // A restart keeps what was merged.
    let hub = hub.restart().await;
    let level = hub.get(&format!("/v1/inventory/{tee}"), &hub.admin).await;
    assert_eq!(level.body["on_hand"], 3);
}

#[tokio::test]
async fn a_made_to_order_shortfall_at_a_till_becomes_a_conflict_to_resolve() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let print = hub.variant(PRINT_CONTINUE).await;
    let (till, device) = hub.pair("Stall 1").await;
    let t = hub
        .post(
            "/v1/transfers",
            &hub.admin,
            json!({"to_till": till, "lines": [{"variant_id": print, "qty": 2}]}),
        )
        .await;
    assert_eq!(t.status, 201);
    let mut replica = till_replica(&hub, &till, &device).await;
    let v = VariantId(Uuid::parse_str(&print).unwrap());
    replica
        .sell(SaleId(Uuid::from_u128(7)), &[(v, Qty::new(5).unwrap())])
        .unwrap();
    sync(&hub, &device, &mut replica).await;
    let c = hub.get("/v1/conflicts?status=open", &hub.admin).await;
    let list = c.body["conflicts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", c.body);
    assert_eq!(list[0]["kind"], "conflict.made_to_order_short");
    assert_eq!(list[0]["variant_id"], print.as_str());
    let id = list[0]["id"].as_str().unwrap();
    let offered: Vec<String> = list[0]["resolutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    assert!(offered.contains(&"make_more".to_string()), "{offered:?}");
    let bad = hub
        .post(
            &format!("/v1/conflicts/{id}/resolve"),
            &hub.admin,
            json!({"resolution": "ignore"}),
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (422, "conflict.unknown_resolution")
    );
    let ok = hub
        .post(
            &format!("/v1/conflicts/{id}/resolve"),
            &hub.admin,
            json!({"resolution": "make_more", "note": "3 more printed"}),
        )
        .await;
    assert_eq!(
        (ok.status, ok.body["status"].as_str()),
        (200, Some("resolved"))
    );
    let again = hub
        .post(
            &format!("/v1/conflicts/{id}/resolve"),
            &hub.admin,
            json!({"resolution": "make_more"}),
        )
        .await;
    assert_eq!((again.status, again.code()), (409, "conflict.resolved"));
    assert_eq!(
        hub.get("/v1/conflicts?status=open", &hub.admin).await.body["conflicts"],
        json!([])
    );
}

pub(crate) fn sale_envelope(till: &str, event_id: Uuid) -> serde_json::Value {
    // A real sale as the till's ledger records it.
    use trestle_core::cart::{Cart, CartLine};
    use trestle_core::sale::{complete, SaleMeta};
    use trestle_core::tender::Tender;
    let gbp = trestle_core::Currency::parse("GBP").unwrap();
    let mut cart = Cart::new(gbp, trestle_core::tax::TaxMode::Inclusive);
    cart.lines.push(CartLine {
        variant_id: VariantId(Uuid::from_u128(5)),
        sku: None,
        title: "Mug".into(),
        unit_price: trestle_core::Money::from_minor(1200, gbp),
        tax_rate: trestle_core::tax::TaxRate::from_ppm(0).unwrap(),
        qty: Qty::new(1).unwrap(),
        discount: None,
    });
    let meta = SaleMeta {
        id: SaleId(event_id),
        receipt: trestle_core::receipt::ReceiptNo::parse("STALL1-000001").unwrap(),
        till_id: TillId(Uuid::parse_str(till).unwrap()),
        at: trestle_core::clock::Hlc {
            wall_ms: 1_764_000_000_000,
            counter: 0,
        },
        staff: None,
        event: None,
    };
    let sale = complete(
        &cart,
        vec![Tender::cash(trestle_core::Money::from_minor(1200, gbp))],
        meta,
    )
    .unwrap();
    serde_json::to_value(trestle_core::ledger::OutboxEnvelope {
        v: trestle_core::ledger::LEDGER_WIRE_VERSION,
        event_id: trestle_core::ids::EventId(event_id),
        till_id: TillId(Uuid::parse_str(till).unwrap()),
        event: trestle_core::ledger::LedgerEvent::SaleCompleted(sale),
    })
    .unwrap()
}

#[tokio::test]
async fn outbox_entries_are_applied_once_however_often_they_are_sent() {
    let hub = Hub::start().await;
    let (till, device) = hub.pair("Stall 1").await;
    let (other_till, _) = hub.pair("Stall 2").await;
    let e1 = sale_envelope(&till, Uuid::from_u128(100));
    let e2 = sale_envelope(&till, Uuid::from_u128(101));
    let first = hub
        .post("/v1/sync/outbox", &device, json!({"entries": [e1]}))
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["accepted"].as_array().unwrap().len(), 1);
    let again = hub
        .post("/v1/sync/outbox", &device, json!({"entries": [e1, e2]}))
        .await;
    assert_eq!(again.body["duplicates"], json!([Uuid::from_u128(100)]));
    assert_eq!(again.body["accepted"], json!([Uuid::from_u128(101)]));
    let foreign = hub
        .post(
            "/v1/sync/outbox",
            &device,
            json!({"entries": [sale_envelope(&other_till, Uuid::from_u128(102))]}),
        )
        .await;
    assert_eq!((foreign.status, foreign.code()), (422, "sync.wrong_till"));
    let mut old = sale_envelope(&till, Uuid::from_u128(103));
    old["v"] = json!(99);
    let r = hub
        .post("/v1/sync/outbox", &device, json!({"entries": [old]}))
        .await;
    assert_eq!((r.status, r.code()), (422, "sync.unsupported_version"));
    let junk = hub
        .post("/v1/sync/outbox", &device, json!({"entries": [{"v": 1}]}))
        .await;
    assert_eq!((junk.status, junk.code()), (422, "request.invalid_body"));
}

#[tokio::test]
async fn damaged_sync_messages_are_refused_and_change_nothing() {
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let (_, device) = hub.pair("Stall 1").await;
    let before = hub.get("/v1/inventory", &hub.admin).await.body;
    let r = hub
        .client
        .post(format!("{}/v1/sync/automerge", hub.url))
        .bearer_auth(&device)
        .header("trestle-sync-session", "s1")
        .body(vec![0x42u8, 0x00, 0xff, 0x13, 0x37])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "replica.unreadable");
    let no_session = hub
        .client
        .post(format!("{}/v1/sync/automerge", hub.url))
        .bearer_auth(&device)
        .send()
        .await
        .unwrap();
    assert_eq!(no_session.status().as_u16(), 422);
    assert_eq!(hub.get("/v1/inventory", &hub.admin).await.body, before);
}

#[tokio::test]
async fn a_pickup_handed_over_at_the_stall_while_cancelled_online_is_a_conflict() {
    use trestle_replica::ids::{CollectId, ReservationId};
    let hub = Hub::start().await;
    hub.import_kalima().await;
    let tee = hub.variant(TEE).await;
    let (till, device) = hub.pair("Stall 1").await;
    let event = hub.event_with_till(&till).await;
    let p = hub
        .checkout(&hub.admin, "p1", pickup(&tee, 1, &event, "paid"))
        .await;
    let rid = p.body["reservation"]["id"].as_str().unwrap().to_string();
    let t = hub
        .post(
            "/v1/transfers",
            &hub.admin,
            json!({"to_till": till, "lines": [{"variant_id": tee, "qty": 1}]}),
        )
        .await;
    assert_eq!(t.body["reservations_moved"], json!([rid]));
    let mut replica = till_replica(&hub, &till, &device).await;
    // Online: the customer cancels; the till holds it, so this is a request.
    let c = hub
        .post(
            &format!("/v1/reservations/{rid}/cancel"),
            &hub.admin,
            json!({}),
        )
        .await;
    assert_eq!(c.body["cancel_requested"], true);
    // Meanwhile at the stall, offline: handed over.
    let v = VariantId(Uuid::parse_str(&tee).unwrap());
    replica
        .collect(
            CollectId(Uuid::from_u128(9)),
            ReservationId(Uuid::parse_str(&rid).unwrap()),
            &[(v, Qty::new(1).unwrap())],
        )
        .unwrap();
    sync(&hub, &device, &mut replica).await;
    let r = hub
        .get(&format!("/v1/reservations/{rid}"), &hub.admin)
        .await;
    assert_eq!(r.body["status"], "collected");
    assert_eq!(r.body["cancel_requested"], false);
    let open = hub.get("/v1/conflicts?status=open", &hub.admin).await;
    let list = open.body["conflicts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", open.body);
    assert_eq!(list[0]["kind"], "conflict.collect_cancel_race");
    assert_eq!(list[0]["facts"]["reservation_id"], rid.as_str());
    assert_eq!(list[0]["resolutions"], json!(["refund", "keep"]));
    // Syncing again announces nothing twice and records nothing twice.
    sync(&hub, &device, &mut replica).await;
    let log = hub.get("/v1/conflicts", &hub.admin).await;
    assert_eq!(log.body["conflicts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_outbox_entry_is_stored_once_its_row_naming_the_log_event_that_holds_its_record() {
    let hub = Hub::start().await;
    let (till, device) = hub.pair("Stall 1").await;
    let entries: Vec<_> = (0..3u128)
        .map(|n| sale_envelope(&till, Uuid::from_u128(300 + n)))
        .collect();
    let r = hub
        .post("/v1/sync/outbox", &device, json!({ "entries": entries }))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let conn = rusqlite::Connection::open_with_flags(
        hub.shop_file(""),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let rows: Vec<(String, Option<String>, String, String)> = conn
        .prepare(
            "SELECT t.event_id, t.body, e.topic, e.data FROM till_events t
             JOIN shop_events e ON e.seq = t.event_seq ORDER BY t.event_id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(rows.len(), 3, "every entry's row names its event");
    for ((id, body, topic, data), sent) in rows.iter().zip(&entries) {
        assert_eq!(body, &None, "the record is not stored a second time");
        assert_eq!(topic, "sale.recorded");
        let data: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(&data["event_id"].as_str().unwrap(), id);
        assert_eq!(
            data["record"], sent["event"],
            "the log holds the record as sent"
        );
    }
}
