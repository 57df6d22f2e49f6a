//! The bulk exchange (`/v1/sync/exchange`) as a till uses it: each frame version answered in
//! its own, a frame damaged past its first chunks refused with nothing of it kept, and a refused
//! exchange's stock change neither merged nor published.

use serde_json::json;
use trestle_core::catalog::Qty;
use trestle_core::ids::{SaleId, VariantId};
use uuid::Uuid;

use crate::helpers::*;
use crate::sync::{sale_envelope, tees_at_a_till};

/// Posts an exchange frame; returns the status and the answer decoded (when 200).
async fn post_exchange(
    hub: &Hub,
    device: &str,
    body: Vec<u8>,
) -> (
    u16,
    Option<trestle_protocol::exchange::ExchangeAnswer>,
    String,
) {
    let r = hub
        .client
        .post(format!("{}/v1/sync/exchange", hub.url))
        .bearer_auth(device)
        .header(
            "content-type",
            trestle_protocol::exchange::EXCHANGE_CONTENT_TYPE,
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    let answer = (status == 200)
        .then(|| trestle_protocol::exchange::ExchangeAnswer::decode(&bytes).unwrap());
    (status, answer, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn the_exchange_answers_each_frame_version_in_its_own_and_acknowledges_by_position() {
    use trestle_protocol::exchange::{Acknowledgement, ExchangeRequest, FrameVersion};
    let hub = Hub::start().await;
    let (till, device) = hub.pair("Stall 1").await;
    let entry = |n: u128| serde_json::from_value(sale_envelope(&till, Uuid::from_u128(n))).unwrap();
    let request = |entries| ExchangeRequest {
        heads: Vec::new(),
        changes: Vec::new(),
        entries,
    };
    // An older till's frame (JSON entries) is answered with event ids.
    let (status, answer, body) = post_exchange(
        &hub,
        &device,
        request(vec![entry(200)]).encode_as(FrameVersion::V1),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        answer.unwrap().ack,
        Acknowledgement::Ids(trestle_protocol::OutboxAck {
            accepted: vec![Uuid::from_u128(200)],
            duplicates: Vec::new(),
        })
    );
    // The current frame: by position, the entry sent before a duplicate.
    let (status, answer, body) = post_exchange(
        &hub,
        &device,
        request(vec![entry(201), entry(200), entry(202)]).encode(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        answer.unwrap().ack,
        Acknowledgement::Positions {
            covered: 3,
            duplicates: vec![1],
        }
    );
    // A damaged columnar frame is refused with a reason and stores nothing.
    let good = request(vec![entry(203)]).encode();
    let mut frame = zstd::bulk::decompress(&good, 1 << 20).unwrap();
    let cut = frame.len() - 3;
    frame.truncate(cut);
    let (status, _, body) =
        post_exchange(&hub, &device, zstd::bulk::compress(&frame, 3).unwrap()).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("sync.bad_exchange"), "{body}");
    let (_, answer, _) = post_exchange(&hub, &device, good).await;
    assert_eq!(
        answer.unwrap().ack,
        Acknowledgement::Positions {
            covered: 1,
            duplicates: Vec::new(),
        },
        "the refused frame stored nothing"
    );
}

#[tokio::test]
async fn an_exchange_damaged_or_foreign_past_its_first_chunks_is_refused_and_stores_none_of_them() {
    use trestle_protocol::exchange::{Acknowledgement, ExchangeRequest};
    let hub = Hub::start().await;
    let (till, device) = hub.pair("Stall 1").await;
    // 600 entries: the writer stores the first chunks (256 each) while the rest decode.
    let texts: Vec<String> = (0..600u128)
        .map(|n| sale_envelope(&till, Uuid::from_u128(10_000 + n)).to_string())
        .collect();
    let mut damaged = texts.clone();
    // Entry 550 is an envelope around a record of no kind the hub knows: it only fails when
    // the hub reads it into its types, long after the first entries went to the writer.
    damaged[550] = damaged[550].replace("\"sale_completed\"", "\"sale_teleported\"");
    assert_ne!(damaged[550], texts[550]);
    let frame = |texts: &[String]| {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        ExchangeRequest::encode_stored(&[], &[], &refs).unwrap()
    };
    let (status, _, body) = post_exchange(&hub, &device, frame(&damaged)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("sync.bad_exchange"), "{body}");
    assert!(body.contains("unreadable"), "{body}");
    // Entry 550 of another till: refused where the entries are checked, on the decoder's side,
    // long after the first chunks went to the writer.
    let (other, _) = hub.pair("Stall 2").await;
    let mut foreign = texts.clone();
    foreign[550] = sale_envelope(&other, Uuid::from_u128(10_550)).to_string();
    let (status, _, body) = post_exchange(&hub, &device, frame(&foreign)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("sync.wrong_till"), "{body}");
    // The same entries undamaged: every one is new to the hub.
    let (status, answer, body) = post_exchange(&hub, &device, frame(&texts)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        answer.unwrap().ack,
        Acknowledgement::Positions {
            covered: 600,
            duplicates: Vec::new(),
        },
        "the refused frame stored none of its entries"
    );
    // And sent again, every one is a duplicate (each stored once).
    let (_, answer, _) = post_exchange(&hub, &device, frame(&texts)).await;
    assert_eq!(
        answer.unwrap().ack,
        Acknowledgement::Positions {
            covered: 600,
            duplicates: (0..600).collect(),
        }
    );
}

/// The `inventory.updated` events in the shop's log naming `variant`.
fn level_events(hub: &Hub, variant: &str) -> usize {
    let conn = rusqlite::Connection::open_with_flags(
        hub.shop_file(""),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row(
        "SELECT COUNT(*) FROM shop_events WHERE topic = 'inventory.updated'
         AND json_extract(data, '$.variant_id') = ?1",
        [variant],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn a_refused_exchange_merges_none_of_its_stock_and_publishes_no_level_alone_or_in_a_batch() {
    use trestle_protocol::exchange::ExchangeRequest;
    let hub = std::sync::Arc::new(Hub::start().await);
    let (tee, till, device, mut replica) = tees_at_a_till(&hub).await;
    let base = replica.head_bytes();
    let v = VariantId(Uuid::parse_str(&tee).unwrap());
    replica
        .sell(SaleId(Uuid::from_u128(77)), &[(v, Qty::new(2).unwrap())])
        .unwrap();
    let (heads, changes) = (replica.head_bytes(), replica.bundle_after(&base));
    let levels_before = level_events(&hub, &tee);
    let till_free = |body: &serde_json::Value| {
        body["holders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["holder"] == format!("till:{till}"))
            .map(|h| h["free"].clone())
    };
    // The stock change merges before the entries are stored; entry 550 fails long after.
    let texts: Vec<String> = (0..600u128)
        .map(|n| sale_envelope(&till, Uuid::from_u128(20_000 + n)).to_string())
        .collect();
    let mut damaged = texts.clone();
    damaged[550] = damaged[550].replace("\"sale_completed\"", "\"sale_teleported\"");
    let frame = |texts: &[String]| {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        ExchangeRequest::encode_stored(&heads, &changes, &refs).unwrap()
    };
    let (status, _, body) = post_exchange(&hub, &device, frame(&damaged)).await;
    assert_eq!(status, 422, "{body}");
    let level = hub.get(&format!("/v1/inventory/{tee}"), &hub.admin).await;
    assert_eq!(till_free(&level.body), Some(json!(3)), "{}", level.body);
    assert_eq!(
        level_events(&hub, &tee),
        levels_before,
        "the refused exchange published no level"
    );
    // A count correction queued before the same refused exchange, both taken in one batch:
    // the correction's level is published, the exchange's none.
    let print = hub.variant(PRINT_CONTINUE).await;
    let print_levels = level_events(&hub, &print);
    let held = hub.hold_writer(800);
    let count = {
        let (hub, print) = (hub.clone(), print.clone());
        tokio::spawn(async move { hub.add_stock(&print, 1).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (status, _, body) = post_exchange(&hub, &device, frame(&damaged)).await;
    assert_eq!(status, 422, "{body}");
    held.await.unwrap();
    count.await.unwrap();
    assert_eq!(level_events(&hub, &print), print_levels + 1);
    assert_eq!(level_events(&hub, &tee), levels_before);
    // Sent whole, the same change is merged and its level published once.
    let (status, answer, body) = post_exchange(&hub, &device, frame(&texts)).await;
    assert_eq!(status, 200, "{body}");
    assert!(answer.unwrap().complete);
    let level = hub.get(&format!("/v1/inventory/{tee}"), &hub.admin).await;
    assert_eq!(till_free(&level.body), Some(json!(1)), "{}", level.body);
    assert_eq!(level_events(&hub, &tee), levels_before + 1);
}
