//! The harness: a real hub on 127.0.0.1 port 0 with a fresh database per test, real HTTP
//! through reqwest, and helpers for the set-up most tests share (a shop with the real Kalima
//! Arts catalog, paired tills, an event, stock).

use std::path::PathBuf;

use serde_json::{json, Value};
use tokio::sync::oneshot;
use trestle_hub::directory::Directory;
use trestle_hub::{Application, Config};

pub struct Hub {
    pub url: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub shop: String,
    pub db: PathBuf,
    /// The running hub's state, for tests that hold its shop writer still.
    pub state: trestle_hub::AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// The response of a call: status and JSON body (Null when empty or not JSON).
pub struct Res {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Res {
    /// Status, headers and JSON body (Null when empty or not JSON) of a response.
    pub async fn read(r: reqwest::Response) -> Res {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        Res {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        }
    }

    /// The `error.code` of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

pub const KALIMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../demo/kalima-arts_products_export.csv"
);

/// Queen Nefertiti T-shirt XL / Black: 5 in the export, tracked, `deny`.
pub const TEE: &str = "Queen Nefertiti — XL / Black / T-Shirt";
/// Old Soul - 017 #Rihanna print: 50 in the export, tracked, `continue` (made to order).
pub const PRINT_CONTINUE: &str = "Old Soul - 017 #Rihanna";

pub fn config(db: PathBuf) -> Config {
    let mut c = Config::new(db, "127.0.0.1:0".parse().unwrap());
    c.webhook_retry_base_ms = 50;
    c.webhook_timeout = std::time::Duration::from_secs(2);
    c
}

impl Hub {
    /// A hub with one shop (GBP, prices including 20% tax) and its admin token.
    pub async fn start() -> Hub {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hub.sqlite");
        let directory = Directory::open(&db).unwrap();
        let (shop, admin) = directory
            .create_shop(
                "Kalima Arts",
                trestle_core::Currency::parse("GBP").unwrap(),
                trestle_core::tax::TaxMode::Inclusive,
                trestle_core::tax::TaxRate::parse_percent("20").unwrap(),
            )
            .unwrap();
        drop(directory);
        let mut hub = Hub::serve(dir, db).await;
        hub.admin = admin;
        hub.shop = shop.id.to_string();
        hub
    }

    async fn serve(dir: tempfile::TempDir, db: PathBuf) -> Hub {
        let app = Application::build(config(db.clone())).await.unwrap();
        let url = format!("http://127.0.0.1:{}", app.port());
        let state = app.state();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Hub {
            url,
            client: reqwest::Client::new(),
            admin: String::new(),
            shop: String::new(),
            db,
            state,
            stop: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops the hub gracefully and starts it again on the same files (a new port).
    pub async fn restart(mut self) -> Hub {
        self.shutdown().await;
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
        let mut hub = Hub::serve(dir, self.db.clone()).await;
        hub.admin = self.admin.clone();
        hub.shop = self.shop.clone();
        hub
    }

    pub async fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }

    /// Keeps the shop's writer busy for `ms` so that the requests sent meanwhile all land in
    /// its next batch (one transaction).
    pub fn hold_writer(&self, ms: u64) -> tokio::task::JoinHandle<()> {
        let p = self
            .state
            .partition(uuid::Uuid::parse_str(&self.shop).unwrap())
            .unwrap();
        let h = tokio::spawn(async move {
            p.run(move |_| {
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Ok(())
            })
            .await
            .unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        h
    }

    /// A second shop on the same hub, with its own admin token.
    pub fn other_shop(&self) -> (String, String) {
        let d = Directory::open(&self.db).unwrap();
        let (shop, admin) = d
            .create_shop(
                "Other Maker",
                trestle_core::Currency::parse("EUR").unwrap(),
                trestle_core::tax::TaxMode::Inclusive,
                trestle_core::tax::TaxRate::parse_percent("0").unwrap(),
            )
            .unwrap();
        (shop.id.to_string(), admin)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Res {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.client.request(m, format!("{}{path}", self.url));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        Res::read(rb.send().await.unwrap()).await
    }

    /// The Prometheus text of `/metrics`.
    /// The shop's own database file, `<db>.shops/<shop>.sqlite` (its WAL beside it).
    pub fn shop_file(&self, suffix: &str) -> PathBuf {
        let mut dir = self.db.clone().into_os_string();
        dir.push(".shops");
        PathBuf::from(dir).join(format!("{}.sqlite{suffix}", self.shop))
    }

    pub async fn metrics(&self) -> String {
        let r = self
            .client
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .unwrap();
        r.text().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.call("GET", path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Res {
        self.call("POST", path, Some(token), Some(body), &[]).await
    }

    /// Imports the real Kalima Arts export; returns the variant ids by (handle-derived) title.
    pub async fn import_kalima(&self) -> Value {
        let csv = std::fs::read(KALIMA).unwrap();
        let r = self
            .client
            .post(format!("{}/v1/catalog/import", self.url))
            .bearer_auth(&self.admin)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.json().await.unwrap()
    }

    /// The id of the variant with this title.
    pub async fn variant(&self, needle: &str) -> String {
        let cat = self.get("/v1/catalog", &self.admin).await;
        cat.body["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["title"].as_str().unwrap() == needle)
            .unwrap_or_else(|| panic!("no variant {needle}"))["variant_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Sets the hub's free stock of a variant by a count correction of `delta`.
    pub async fn add_stock(&self, variant: &str, delta: i64) {
        let r = self
            .post(
                "/v1/inventory/counts",
                &self.admin,
                json!({ "variant_id": variant, "delta": delta, "reason": "made more" }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// The hub's free (available online) stock of a variant.
    pub async fn available(&self, variant: &str) -> i64 {
        let r = self
            .get(&format!("/v1/inventory/{variant}"), &self.admin)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["available"].as_i64().unwrap()
    }

    /// Pairs a till; returns (till id, device token).
    pub async fn pair(&self, name: &str) -> (String, String) {
        let code = self
            .post(
                "/v1/pairing-codes",
                &self.admin,
                json!({ "till_name": name }),
            )
            .await;
        assert_eq!(code.status, 201, "{}", code.body);
        let r = self
            .call(
                "POST",
                "/v1/pair",
                None,
                Some(json!({ "code": code.body["code"] })),
                &[],
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        (
            r.body["till_id"].as_str().unwrap().to_string(),
            r.body["device_token"].as_str().unwrap().to_string(),
        )
    }

    /// An event with one till assigned; returns its id.
    pub async fn event_with_till(&self, till: &str) -> String {
        let e = self
            .post(
                "/v1/events",
                &self.admin,
                json!({ "name": "Winter Makers Fair", "place": "Corn Exchange",
                        "starts": "2026-12-05T09:00:00Z", "ends": "2026-12-05T17:00:00Z" }),
            )
            .await;
        assert_eq!(e.status, 201, "{}", e.body);
        let id = e.body["id"].as_str().unwrap().to_string();
        let a = self
            .post(
                &format!("/v1/events/{id}/tills"),
                &self.admin,
                json!({ "till_id": till }),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        id
    }

    pub async fn checkout(&self, token: &str, key: &str, body: Value) -> Res {
        self.call(
            "POST",
            "/v1/checkout",
            Some(token),
            Some(body),
            &[("idempotency-key", key)],
        )
        .await
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A ship order of `qty` of `variant` for Ada.
pub fn ship(variant: &str, qty: u32) -> Value {
    json!({
        "lines": [{ "variant_id": variant, "qty": qty }],
        "customer": { "name": "Ada Lovelace", "email": "ada@example.org" },
        "fulfilment": { "type": "ship", "address": "12 St James's Square, London" }
    })
}

/// A pickup order at `event`.
pub fn pickup(variant: &str, qty: u32, event: &str, payment: &str) -> Value {
    json!({
        "lines": [{ "variant_id": variant, "qty": qty }],
        "customer": { "name": "Grace Hopper", "email": "grace@example.org", "phone": "+44 7700 900123" },
        "fulfilment": { "type": "pickup", "event_id": event },
        "payment": payment
    })
}
