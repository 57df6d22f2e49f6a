//! The real hub for the till's tests: `trestle_hub` in-process on 127.0.0.1 port 0 with a fresh
//! database in a temp dir, on its own tokio runtime, the Kalima Arts catalog, and the admin calls
//! the tests make (pairing codes, allocations, returns, cancellations, levels, what tills sent).
//! Included by the sync tests as `#[path = "common/hub.rs"] mod hub;` (the other tests do not
//! link the hub).

#![allow(dead_code)]

use std::path::PathBuf;

use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};
use trestle_hub::directory::Directory;
use trestle_hub::{Config, LocalHub};

use crate::common::{Cli, GBP_INIT};

pub const KALIMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../demo/kalima-arts_products_export.csv"
);
/// Queen Nefertiti T-shirt XL / Black: tracked, `deny`.
pub const TEE: &str = "Queen Nefertiti — XL / Black / T-Shirt";
/// Old Soul - 017 #Rihanna print: tracked, `continue`.
pub const PRINT: &str = "Old Soul - 017 #Rihanna";

pub struct Hub {
    served: LocalHub,
    pub url: String,
    pub admin: String,
    pub shop: String,
    pub db: PathBuf,
    http: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

impl Hub {
    pub fn start() -> Hub {
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
        let served =
            LocalHub::start(Config::new(db.clone(), "127.0.0.1:0".parse().unwrap()), 2).unwrap();
        Hub {
            url: served.url(),
            served,
            admin,
            shop: shop.id.to_string(),
            db,
            http: reqwest::blocking::Client::new(),
            _dir: dir,
        }
    }

    /// Stops the hub gracefully (its files stay, until the hub is dropped).
    pub fn stop(&mut self) {
        self.served.stop().unwrap();
    }

    /// A request with `token`; a body goes as JSON with a fresh `Idempotency-Key`.
    pub fn call_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .http
            .request(m, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(b) = body {
            let key = format!("test-{}", uuid::Uuid::now_v7());
            rb = rb.json(&b).header("Idempotency-Key", key);
        }
        let r = rb.send().unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
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

    pub fn import_kalima(&self) {
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

    pub fn variant(&self, title: &str) -> String {
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

    pub fn pairing_code(&self, till_name: &str) -> String {
        let (status, body) = self.call(
            "POST",
            "/v1/pairing-codes",
            Some(json!({ "till_name": till_name })),
        );
        assert_eq!(status, 201, "{body}");
        body["code"].as_str().unwrap().to_string()
    }

    pub fn allocate(&self, till: &str, lines: &[(&str, u32)]) {
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
    pub fn holders(&self, variant: &str) -> std::collections::BTreeMap<String, (i64, i64)> {
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
    pub fn till_events(&self) -> std::collections::BTreeMap<String, i64> {
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

/// Pairs the till run by `till` with `hub` as `name` (the real `trestle pair`).
pub fn pair(till: &Cli, hub: &Hub, name: &str) -> Value {
    let code = hub.pairing_code(name);
    till.json(&["pair", "--hub", &hub.url, "--code", &code])
}

/// Rings up a cash sale of `lines` (variant id, qty) with the real `trestle sell`.
pub fn sell(till: &Cli, lines: &[(&str, u32)]) -> Value {
    let mut args = vec!["sell".to_string()];
    for (v, q) in lines {
        args.push("--line".into());
        args.push(format!("{v}={q}"));
    }
    args.extend(["--pay".into(), "cash=1000".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    till.json(&args)
}

impl Hub {
    /// `POST /v1/checkout` as the admin with `key` as its idempotency key.
    pub fn checkout(&self, key: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/checkout", self.url))
            .bearer_auth(&self.admin)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// An open market event with `till` assigned; returns its id.
    pub fn open_event(&self, till: &str) -> String {
        let (s, e) = self.call(
            "POST",
            "/v1/events",
            Some(
                json!({ "name": "Winter Makers Fair", "place": "Corn Exchange",
                "starts": "2026-12-05T09:00:00Z", "ends": "2026-12-05T17:00:00Z" }),
            ),
        );
        assert_eq!(s, 201, "{e}");
        let id = e["id"].as_str().unwrap().to_string();
        let (s, b) = self.call(
            "POST",
            &format!("/v1/events/{id}/tills"),
            Some(json!({ "till_id": till })),
        );
        assert_eq!(s, 200, "{b}");
        let (s, b) = self.call("POST", &format!("/v1/events/{id}/open"), None);
        assert_eq!(s, 200, "{b}");
        id
    }

    /// The ids of the catalog's tracked variants of `policy`, cheapest first.
    pub fn tracked(&self, policy: &str) -> Vec<String> {
        let (_, cat) = self.call("GET", "/v1/catalog", None);
        let mut v: Vec<(i64, String)> = cat["variants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["policy"] == policy && v["track_inventory"] == true)
            .map(|v| {
                (
                    v["price_minor"].as_i64().unwrap(),
                    v["variant_id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    }
}

/// Two new tills, "Stall 1" and "Stall 2", paired with `hub`: (till 1, its id, till 2, its id).
pub fn two_paired_tills(hub: &Hub) -> (Cli, String, Cli, String) {
    let t1 = Cli::gbp();
    let mut init2 = GBP_INIT.to_vec();
    let last = init2.len() - 1;
    init2[last] = "Stall 2";
    let t2 = Cli::init_with(&init2);
    let id = |v: Value| v["till_id"].as_str().unwrap().to_string();
    let id1 = id(pair(&t1, hub, "Stall 1"));
    let id2 = id(pair(&t2, hub, "Stall 2"));
    (t1, id1, t2, id2)
}
