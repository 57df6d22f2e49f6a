//! Sync through a faulty network: the real hub (in-process, real HTTP on 127.0.0.1 port 0), a
//! real TCP proxy between it and three tills (real data directories through the `Till` engine)
//! that drops, duplicates, delays, resets and truncates 30% of the exchanges (seeded).
//! The tills sell in rounds and sync after each round until a pass completes. Every sale must
//! be at the hub exactly once and every replica at the same counters as the hub's.
//! This CI-size run is 3 tills × 10 rounds × 10 sales; the 10,000-sale run the issue asks for is
//! not yet a command (see docs/benchmarks.md).

mod common;

use std::collections::BTreeMap;

use common::engine::params;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};
use trestle_core::catalog::Qty;
use trestle_core::tender::Tender;
use trestle_core::{Currency, Money};
use trestle_hub::directory::Directory;
use trestle_hub::{Application, Config};
use trestle_netfault::{Faults, Proxy};
use trestle_till::sell::{LineRequest, SellRequest};
use trestle_till::Till;

const TILLS: usize = 3;
const ROUNDS: usize = 10;
const SALES_PER_ROUND: usize = 10;
const SKUS: usize = 20;

#[test]
fn every_sale_reaches_the_hub_exactly_once_through_30_percent_faulty_exchanges() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite");
    let (shop, admin) = Directory::open(&db)
        .unwrap()
        .create_shop(
            "Kalima Arts",
            Currency::parse("GBP").unwrap(),
            trestle_core::tax::TaxMode::Inclusive,
            trestle_core::tax::TaxRate::parse_percent("20").unwrap(),
        )
        .unwrap();
    let app = rt
        .block_on(Application::build(Config::new(
            db.clone(),
            "127.0.0.1:0".parse().unwrap(),
        )))
        .unwrap();
    let port = app.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = rt.spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let hub = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::new();
    let call = |method: &str, path: &str, body: Value| -> Value {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = http
            .request(m, format!("{hub}{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{method} {path}: {}", r.status());
        r.json().unwrap_or(Value::Null)
    };

    // A catalog of SKUS tracked `deny` variants, 1,000 each at the hub.
    let mut csv = String::from(
        "Handle,Title,Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,Variant Price\n",
    );
    for i in 0..SKUS {
        csv.push_str(&format!("item-{i:02},Item {i:02},shopify,1000,deny,5.00\n"));
    }
    let r = http
        .post(format!("{hub}/v1/catalog/import"))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let catalog = call("GET", "/v1/catalog", Value::Null);
    let variants: Vec<String> = catalog["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["variant_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(variants.len(), SKUS);

    let proxy = Proxy::start(format!("127.0.0.1:{port}").parse().unwrap(), Faults::none()).unwrap();
    let mut tills: Vec<(Till, String)> = Vec::new();
    for i in 0..TILLS {
        let name = format!("Stall {i}");
        let mut till = Till::init(&dir.path().join(format!("till{i}")), &params(&name)).unwrap();
        let code = call("POST", "/v1/pairing-codes", json!({ "till_name": name }))["code"]
            .as_str()
            .unwrap()
            .to_string();
        till.pair(&proxy.url(), &code).unwrap();
        let id = till.shop().till_id.to_string();
        let lines: Vec<Value> = variants
            .iter()
            .map(|v| json!({ "variant_id": v, "qty": 100 }))
            .collect();
        call(
            "POST",
            "/v1/transfers",
            json!({ "to_till": id, "lines": lines }),
        );
        sync_until_complete(&mut till, 3);
        tills.push((till, id));
    }
    proxy.reset_counts();
    proxy.set_faults(Faults::all(300_000, 0x5eed));

    let gbp = Currency::parse("GBP").unwrap();
    let mut sold = 0usize;
    for round in 0..ROUNDS {
        for (k, (till, _)) in tills.iter_mut().enumerate() {
            for j in 0..SALES_PER_ROUND {
                let v = &variants[(round * 7 + j + k * 3) % SKUS];
                till.sell(&SellRequest {
                    lines: vec![LineRequest {
                        item: v.clone(),
                        qty: Qty::new(1).unwrap(),
                        discount: None,
                    }],
                    tenders: vec![Tender::cash(Money::from_minor(1000, gbp))],
                    ..SellRequest::default()
                })
                .unwrap();
                sold += 1;
            }
            sync_until_complete(till, 40);
        }
    }
    let counts = proxy.counts();
    assert!(
        counts.total_faults() * 5 >= counts.exchanges,
        "at least a fifth of the exchanges were faulty: {counts:?}"
    );
    for kind in 0..5 {
        assert!(
            counts.faults[kind] > 0,
            "every kind of fault happened: {counts:?}"
        );
    }
    // A last round on a clean wire so every till has every other's sales.
    proxy.set_faults(Faults::none());
    for (till, _) in &mut tills {
        sync_until_complete(till, 3);
    }

    // Every sale exactly once at the hub.
    let shop_file = {
        let mut p = db.clone().into_os_string();
        p.push(".shops");
        std::path::PathBuf::from(p).join(format!("{}.sqlite", shop.id))
    };
    let conn = Connection::open_with_flags(&shop_file, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let stored: BTreeMap<String, i64> = conn
        .prepare("SELECT event_id, COUNT(*) FROM till_events GROUP BY event_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(stored.len(), sold);
    assert!(stored.values().all(|&n| n == 1));
    for (till, _) in &tills {
        let conn = Connection::open(till.dir().join("till.sqlite")).unwrap();
        let ids: Vec<String> = conn
            .prepare("SELECT event_id FROM outbox")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for id in ids {
            assert_eq!(stored.get(&id), Some(&1), "{id} at the hub once");
        }
    }

    // Replicas converge: the same counters on every till and at the hub; the totals add up.
    let hub_levels = call("GET", "/v1/inventory", Value::Null);
    let mut hub_free: BTreeMap<(String, String), i64> = BTreeMap::new();
    for level in hub_levels["levels"].as_array().unwrap() {
        for h in level["holders"].as_array().unwrap() {
            let free = h["free"].as_i64().unwrap();
            assert!(free >= 0, "no deny counter below zero: {level}");
            hub_free.insert(
                (
                    level["variant_id"].as_str().unwrap().to_string(),
                    h["holder"].as_str().unwrap().to_string(),
                ),
                free,
            );
        }
    }
    let total: i64 = hub_free.values().sum();
    assert_eq!(
        total,
        (SKUS * 1000 - sold) as i64,
        "hub + tills + sold = the starting stock"
    );
    for (till, _) in &tills {
        let mut theirs = BTreeMap::new();
        for l in till.replica().levels().unwrap() {
            for h in &l.holders {
                theirs.insert((l.variant.to_string(), h.holder.to_string()), h.free);
            }
        }
        assert_eq!(
            theirs, hub_free,
            "the till's replica converged to the hub's"
        );
    }

    let _ = stop.send(());
    rt.block_on(served).unwrap().unwrap();
}

fn sync_until_complete(till: &mut Till, tries: usize) {
    for _ in 0..tries {
        if let Ok(s) = till.sync() {
            if s.pending == 0 {
                return;
            }
        }
    }
    panic!("no complete pass in {tries} tries");
}
