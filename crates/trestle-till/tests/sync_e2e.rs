//! Sync end to end with real processes: the real hub (in-process on port 0, on its own tokio
//! runtime) with the Kalima Arts catalog, two tills run as the real `trestle` binary — one that
//! imported the same export and sold before pairing, one with no catalog of its own — paired,
//! given stock by the hub, selling offline, then syncing. The hub must hold each sale exactly
//! once and each till's counters reduced by exactly what it sold; a second pass sends nothing;
//! with the hub stopped a pass is refused in one sentence and changes nothing.

mod common;

use std::path::PathBuf;

use common::*;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};
use trestle_hub::directory::Directory;
use trestle_hub::{Application, Config};

const KALIMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../demo/kalima-arts_products_export.csv"
);
/// Queen Nefertiti T-shirt XL / Black: tracked, `deny`.
const TEE: &str = "Queen Nefertiti — XL / Black / T-Shirt";
/// Old Soul - 017 #Rihanna print: tracked, `continue`.
const PRINT: &str = "Old Soul - 017 #Rihanna";

struct Hub {
    rt: tokio::runtime::Runtime,
    url: String,
    admin: String,
    shop: String,
    db: PathBuf,
    http: reqwest::blocking::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Hub {
    fn start() -> Hub {
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
                trestle_core::Currency::parse("GBP").unwrap(),
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
        let url = format!("http://127.0.0.1:{}", app.port());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = rt.spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Hub {
            rt,
            url,
            admin,
            shop: shop.id.to_string(),
            db,
            http: reqwest::blocking::Client::new(),
            stop: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            self.rt.block_on(t).unwrap();
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .http
            .request(m, format!("{}{path}", self.url))
            .bearer_auth(&self.admin);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    fn import_kalima(&self) {
        let r = self
            .http
            .post(format!("{}/v1/catalog/import", self.url))
            .bearer_auth(&self.admin)
            .header("content-type", "text/csv")
            .body(std::fs::read(KALIMA).unwrap())
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }

    fn variant(&self, title: &str) -> String {
        let (_, cat) = self.call("GET", "/v1/catalog", None);
        cat["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["title"] == title)
            .unwrap_or_else(|| panic!("no variant {title}"))["variant_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn pairing_code(&self, till_name: &str) -> String {
        let (status, body) = self.call(
            "POST",
            "/v1/pairing-codes",
            Some(json!({ "till_name": till_name })),
        );
        assert_eq!(status, 201, "{body}");
        body["code"].as_str().unwrap().to_string()
    }

    fn allocate(&self, till: &str, lines: &[(&str, u32)]) {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(v, q)| json!({ "variant_id": v, "qty": q }))
            .collect();
        let (status, body) = self.call(
            "POST",
            "/v1/transfers",
            Some(json!({ "to_till": till, "lines": lines })),
        );
        assert_eq!(status, 201, "{body}");
    }

    /// `holder` → (free, held) of one variant at the hub.
    fn holders(&self, variant: &str) -> std::collections::BTreeMap<String, (i64, i64)> {
        let (status, body) = self.call("GET", &format!("/v1/inventory/{variant}"), None);
        assert_eq!(status, 200, "{body}");
        body["holders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["holder"].as_str().unwrap().to_string(),
                    (h["free"].as_i64().unwrap(), h["held"].as_i64().unwrap()),
                )
            })
            .collect()
    }

    /// Event id → how many times the hub stored it, read from the shop's file (read-only).
    fn till_events(&self) -> std::collections::BTreeMap<String, i64> {
        let mut path = self.db.clone().into_os_string();
        path.push(".shops");
        let path = PathBuf::from(path).join(format!("{}.sqlite", self.shop));
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut st = conn
            .prepare("SELECT event_id, COUNT(*) FROM till_events GROUP BY event_id")
            .unwrap();
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        rows
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop();
    }
}

fn sell(till: &Cli, lines: &[(&str, u32)]) -> Value {
    let mut args = vec!["sell".to_string()];
    for (v, q) in lines {
        args.push("--line".into());
        args.push(format!("{v}={q}"));
    }
    args.extend(["--pay".into(), "cash=1000".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    till.json(&args)
}

fn event_ids(till: &Cli) -> Vec<String> {
    till.json(&["outbox"])
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect()
}

fn pair(till: &Cli, hub: &Hub, name: &str) -> Value {
    let code = hub.pairing_code(name);
    till.json(&["pair", "--hub", &hub.url, "--code", &code])
}

#[test]
fn two_tills_sell_offline_and_sync_every_sale_exactly_once() {
    let mut hub = Hub::start();
    hub.import_kalima();
    let tee = hub.variant(TEE);
    let print = hub.variant(PRINT);

    // Till 1 imported the same export and sold one T-shirt before it was paired.
    let t1 = Cli::gbp();
    t1.ok(&["catalog", "import", KALIMA]);
    sell(&t1, &[(&tee, 1)]);
    let mut init2 = GBP_INIT.to_vec();
    let last = init2.len() - 1;
    init2[last] = "Stall 2";
    let t2 = Cli::init_with(&init2);
    let id1 = t1.json(&["outbox"])[0]["payload"]["till_id"]
        .as_str()
        .unwrap()
        .to_string();

    let p1 = pair(&t1, &hub, "Stall 1");
    assert_eq!(p1["till_id"], id1.as_str(), "the till keeps its own id");
    assert_eq!(p1["shop_id"], hub.shop.as_str());
    assert_eq!(p1["outbox_pending"], 1);
    let p2 = pair(&t2, &hub, "Stall 2");
    assert!(
        p2["variants_added"].as_u64().unwrap() > 10,
        "a till without a catalog learns the hub's: {p2}"
    );
    let id2 = p2["till_id"].as_str().unwrap().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(t1.dir.join("hub.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the token is readable by the user only"
        );
    }
    // What cannot work is refused and changes nothing.
    t1.refused_json(&["catalog", "import", KALIMA], "catalog.from_hub");
    t2.refused_json(
        &["pair", "--hub", "http://127.0.0.1:9", "--code", "AAAA-BBBB"],
        "sync.already_paired",
    );

    // The hub allocates to each till; the tills learn it by syncing.
    hub.allocate(&id1, &[(&tee, 2), (&print, 3)]);
    hub.allocate(&id2, &[(&tee, 2), (&print, 3)]);
    let first1 = t1.json(&["sync"]);
    let first2 = t2.json(&["sync"]);
    assert_eq!(
        first1["pushed"], 1,
        "the sale made before pairing: {first1}"
    );
    assert_eq!(first2["pushed"], 0, "{first2}");
    for s in [&first1, &first2] {
        assert!(s["merged"].as_u64().unwrap() > 0, "{s}");
        assert!(s["feed_entries"].as_u64().unwrap() >= 1, "{s}");
    }
    let hub_before = hub.holders(&tee)["hub"];

    // Offline selling (the tills never wait for the hub): till 1 sells its last two T-shirts
    // and is then refused a third; till 2 sells one T-shirt and two prints.
    sell(&t1, &[(&tee, 2), (&print, 1)]);
    t1.refused_json(
        &["sell", "--line", &format!("{tee}=1"), "--pay", "cash=1000"],
        "stock.insufficient",
    );
    sell(&t2, &[(&tee, 1)]);
    sell(&t2, &[(&print, 2)]);

    let s1 = t1.json(&["sync"]);
    let s2 = t2.json(&["sync"]);
    assert_eq!(
        (s1["pushed"].as_u64(), s1["duplicates"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        (s2["pushed"].as_u64(), s2["duplicates"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        (s1["pending"].as_i64(), s2["pending"].as_i64()),
        (Some(0), Some(0))
    );

    // At the hub: every sale exactly once, nothing else.
    let stored = hub.till_events();
    let mut sent: Vec<String> = event_ids(&t1);
    sent.extend(event_ids(&t2));
    assert_eq!(sent.len(), 4);
    assert_eq!(stored.len(), sent.len(), "{stored:?}");
    for id in &sent {
        assert_eq!(stored.get(id), Some(&1), "{id} stored exactly once");
    }
    // Each till's counters reduced by exactly what it sold after pairing (the allocation minus
    // the sales); the hub's own untouched by the tills' sales; nothing below zero.
    let h = hub.holders(&tee);
    assert_eq!(h[&format!("till:{id1}")], (0, 0), "{h:?}");
    assert_eq!(h[&format!("till:{id2}")], (1, 0), "{h:?}");
    assert_eq!(h["hub"], hub_before);
    let p = hub.holders(&print);
    assert_eq!(p[&format!("till:{id1}")], (2, 0), "{p:?}");
    assert_eq!(p[&format!("till:{id2}")], (1, 0), "{p:?}");
    let (_, inventory) = hub.call("GET", "/v1/inventory", None);
    for level in inventory["levels"].as_array().unwrap() {
        for holder in level["holders"].as_array().unwrap() {
            assert!(holder["free"].as_i64().unwrap() >= 0, "{level}");
            assert!(holder["held"].as_i64().unwrap() >= 0, "{level}");
        }
    }
    // The tills agree with the hub.
    let stock1 = t1.stock();
    assert_eq!(
        stock1.get(&tee),
        Some(&3),
        "till 1 sees on hand over every holder"
    );
    assert!(t1.json(&["audit"]).as_array().unwrap().is_empty());

    // A second pass sends nothing new.
    for t in [&t1, &t2] {
        let again = t.json(&["sync"]);
        assert_eq!(
            (again["pushed"].as_u64(), again["duplicates"].as_u64()),
            (Some(0), Some(0))
        );
    }

    // With the hub stopped: one sentence, non-zero exit, nothing changed (files and rows).
    hub.stop();
    sell(&t2, &[(&print, 1)]);
    let said = t2.refused(&["sync"]);
    assert!(said.contains("could not be reached"), "{said}");
    t2.refused_json(&["sync"], "sync.hub_unreachable");
    assert_eq!(
        t2.json(&["outbox", "--pending"]).as_array().unwrap().len(),
        1
    );
}

/// A real local webhook receiver: a TCP listener that answers 200 and records each delivery's
/// topic and body.
struct Receiver {
    url: String,
    got: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>,
}

impl Receiver {
    fn start() -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for stream in l.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut r = BufReader::new(s.try_clone().unwrap());
                let (mut topic, mut len) = (String::new(), 0usize);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("trestle-topic:") {
                        topic = v.trim().to_string();
                    }
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; len];
                let _ = r.read_exact(&mut body);
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                sink.lock().unwrap().push((topic, body));
            }
        });
        Receiver { url, got }
    }

    /// Deliveries of `topic` for reservation `id`, after waiting for the hub to deliver.
    fn count(&self, topic: &str, id: &str) -> usize {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, b)| t == topic && b["data"]["id"] == id)
            .count()
    }
}

fn checkout_pickup(
    hub: &Hub,
    key: &str,
    tee: &str,
    event: &str,
    payment: &str,
    qty: u32,
) -> (u16, Value) {
    let body = json!({
        "lines": [{"variant_id": tee, "qty": qty}],
        "customer": {"name": format!("Customer {key}"), "email": format!("{key}@example.org")},
        "fulfilment": {"type": "pickup", "event_id": event},
        "payment": payment,
    });
    let r = hub
        .http
        .post(format!("{}/v1/checkout", hub.url))
        .bearer_auth(&hub.admin)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn open_conflicts(hub: &Hub, kind: &str) -> Vec<Value> {
    let (_, c) = hub.call("GET", "/v1/conflicts?status=open", None);
    c["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .cloned()
        .collect()
}

#[test]
fn pickups_handed_over_offline_reach_the_hub_once_and_every_race_is_a_conflict() {
    let hub = Hub::start();
    hub.import_kalima();
    let tee = hub.variant(TEE);
    let hook = Receiver::start();
    let (s, b) = hub.call(
        "POST",
        "/v1/webhooks",
        Some(json!({"url": hook.url, "secret": "a-secret-of-sixteen+", "topics": ["reservation.created", "reservation.collected", "reservation.cancelled"]})),
    );
    assert_eq!(s, 201, "{b}");
    let t1 = Cli::gbp();
    let mut init2 = GBP_INIT.to_vec();
    let last = init2.len() - 1;
    init2[last] = "Stall 2";
    let t2 = Cli::init_with(&init2);
    let id1 = pair(&t1, &hub, "Stall 1")["till_id"]
        .as_str()
        .unwrap()
        .to_string();
    let id2 = pair(&t2, &hub, "Stall 2")["till_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, ev) = hub.call(
        "POST",
        "/v1/events",
        Some(json!({"name": "Winter fair", "starts": "2020-01-01", "ends": "2099-01-01"})),
    );
    let event = ev["id"].as_str().unwrap().to_string();
    for t in [&id1, &id2] {
        let (s, b) = hub.call(
            "POST",
            &format!("/v1/events/{event}/tills"),
            Some(json!({"till_id": t})),
        );
        assert_eq!(s, 200, "{b}");
    }
    hub.allocate(&id1, &[(&tee, 1)]);
    hub.allocate(&id2, &[(&tee, 1)]);
    let (s, b) = hub.call("POST", &format!("/v1/events/{event}/open"), None);
    assert_eq!(s, 200, "{b}");
    // Two online pickups: pay on pickup, and paid online. Both go to the event's first till.
    let (s, o1) = checkout_pickup(&hub, "order-1", &tee, &event, "pay_on_pickup", 1);
    assert_eq!(s, 201, "{o1}");
    let (s, o2) = checkout_pickup(&hub, "order-2", &tee, &event, "paid", 1);
    assert_eq!(s, 201, "{o2}");
    let r1 = o1["reservation"]["id"].as_str().unwrap().to_string();
    let r2 = o2["reservation"]["id"].as_str().unwrap().to_string();
    let code1 = o1["reservation"]["code"].as_str().unwrap().to_string();
    let code2 = o2["reservation"]["code"].as_str().unwrap().to_string();
    // An order for more than the hub holds while the rest is at the stall: refused, saying so.
    let free = hub.holders(&tee)["hub"].0;
    let (s, refused) = checkout_pickup(
        &hub,
        "order-3",
        &tee,
        &event,
        "paid",
        u32::try_from(free).unwrap() + 1,
    );
    assert_eq!(s, 409, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at the stall"),
        "{refused}"
    );
    for t in [&t1, &t2] {
        t.json(&["sync"]);
    }
    // Both tills see both pickups, offline, by code typed any way, by name and email.
    let found = t2.json(&[
        "reservations",
        "find",
        &code1.to_lowercase().replace('-', ""),
    ]);
    assert_eq!(found[0]["id"], r1.as_str());
    assert_eq!(found[0]["held_here"], false);
    assert_eq!(
        t1.json(&["reservations", "find", "order-2@example"])[0]["id"],
        r2.as_str()
    );
    let mut typo = code1.clone().into_bytes();
    typo[0] = if typo[0] == b'2' { b'3' } else { b'2' };
    let said = t1.refused(&["reservations", "find", std::str::from_utf8(&typo).unwrap()]);
    assert!(said.contains("mistyped"), "{said}");
    assert_eq!(
        t1.json(&["reservations", "list"]).as_array().unwrap().len(),
        2
    );

    // Offline: till 1 (the holder) hands over pickup 1 and takes the payment; till 2, which
    // cannot see that, hands it over too, from its own stock. Till 1 hands over pickup 2
    // (paid online: no sale) while it is cancelled online.
    let c1 = t1.json(&["reservations", "collect", &code1, "--pay", "cash=1000"]);
    assert_eq!(c1["pickup"]["status"], "collected", "{c1}");
    assert!(c1["sale"].is_object(), "pay on pickup: a sale: {c1}");
    let receipt = t1.json(&["sales"])[0]["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    t2.json(&["reservations", "collect", &code1, "--pay", "cash=20"]);
    let c2 = t1.json(&["reservations", "collect", &code2]);
    assert!(c2["sale"].is_null(), "paid online: nothing to pay: {c2}");
    let (s, b) = hub.call("POST", &format!("/v1/reservations/{r2}/cancel"), None);
    assert_eq!((s, &b["cancel_requested"]), (200, &json!(true)), "{b}");

    t1.json(&["sync"]);
    let (_, got) = hub.call("GET", &format!("/v1/reservations/{r1}"), None);
    assert_eq!(got["status"], "collected");
    assert_eq!(got["handovers"][0]["receipt"], receipt.as_str());
    let (_, order) = hub.call(
        "GET",
        &format!("/v1/orders/{}", o1["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(order["fulfilment_status"], "collected");
    // Collected at the stall while cancelled online: a conflict offering refund or keep.
    let race = open_conflicts(&hub, "conflict.collect_cancel_race");
    assert_eq!(race.len(), 1, "{race:?}");
    assert_eq!(race[0]["facts"]["reservation_id"], r2.as_str());
    assert_eq!(race[0]["resolutions"], json!(["refund", "keep"]));
    // Till 2's hand-over reaches the hub: a double hand-over, never merged silently.
    t2.json(&["sync"]);
    t1.json(&["sync"]);
    t2.json(&["sync"]);
    let double = open_conflicts(&hub, "conflict.double_handover");
    assert_eq!(double.len(), 1, "{double:?}");
    assert_eq!(double[0]["facts"]["reservation_id"], r1.as_str());
    assert_eq!(double[0]["holder"], format!("till:{id2}"));
    let (_, got) = hub.call("GET", &format!("/v1/reservations/{r1}"), None);
    let states: Vec<&str> = got["handovers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"refused") && states.contains(&"settled"),
        "{got}"
    );
    // Each webhook exactly once, however often the tills synced.
    assert_eq!(hook.count("reservation.created", &r1), 1);
    assert_eq!(hook.count("reservation.collected", &r1), 1);
    assert_eq!(hook.count("reservation.collected", &r2), 1);
    assert_eq!(hook.count("reservation.cancelled", &r2), 0);
    // Both pickup sales reached the hub exactly once; the tills' audits agree with their ledgers.
    let stored = hub.till_events();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.values().all(|n| *n == 1));
    for t in [&t1, &t2] {
        assert!(t.json(&["audit"]).as_array().unwrap().is_empty());
    }
    // Bad input changes nothing.
    t1.refused_json(&["reservations", "collect", &code1], "pickup.refused");
    t1.refused_json(
        &["reservations", "cancel", "nobody-at-all"],
        "pickup.not_found",
    );
}
