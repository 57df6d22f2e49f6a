//! The real hub for the till's end-to-end tests: in process on 127.0.0.1 port 0, a fresh
//! database per test, the Kalima Arts catalog on request, calls with the admin or any token.

use std::path::PathBuf;

use serde_json::{json, Value};
use trestle_hub::directory::Directory;
use trestle_hub::{Application, Config};

pub const KALIMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../demo/kalima-arts_products_export.csv"
);

/// The real hub, in process on port 0 (its own tokio runtime) with a fresh database and a GBP
/// shop (prices inclusive of 20% tax); stopped when dropped.
pub struct Hub {
    pub rt: tokio::runtime::Runtime,
    pub url: String,
    pub admin: String,
    pub shop: String,
    pub db: PathBuf,
    pub http: reqwest::blocking::Client,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<()>>,
    pub _dir: tempfile::TempDir,
}

impl Hub {
    pub fn start() -> Hub {
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

    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            self.rt.block_on(t).unwrap();
        }
    }

    /// A request with the admin token: (status, JSON body or null).
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(&self.admin, method, path, body)
    }

    /// A request with `token`; a body is sent as JSON with a fresh `Idempotency-Key`.
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
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop();
    }
}
