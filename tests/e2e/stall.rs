//! A market stall for one test, all real: the hub (`trestle_hub` in-process on 127.0.0.1 port 0
//! with a fresh SQLite file) with the demo catalog; a till data directory set up with the real
//! `trestle` CLI (init, catalog import of the demo export, pairing, sync) and stock allocated to
//! an open event over the hub's HTTP API; an online pickup order placed through the hub's
//! checkout and synced to the till; then the built app opened on that directory through
//! tauri-driver under Xvfb, and the till's SQLite file read back read-only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};
use trestle_hub::directory::Directory;
use trestle_hub::{Config, LocalHub};

use crate::procs::{Display, Driver};
use crate::webdriver::Session;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub const APP: &str = env!("CARGO_BIN_EXE_trestle-app");

/// The demo catalog (the Kalima Arts Shopify export the repository ships).
pub fn demo_csv() -> PathBuf {
    Path::new(ROOT).join("demo/kalima-arts_products_export.csv")
}

/// The real hub on its own runtime; stopped on drop.
pub struct Hub {
    /// Declared before the files: stopped before they go.
    _served: LocalHub,
    pub url: String,
    admin: String,
    http: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

impl Hub {
    pub fn start() -> Hub {
        let dir = tempfile::tempdir().expect("a temp dir");
        let db = dir.path().join("hub.sqlite");
        let (_, admin) = Directory::open(&db)
            .expect("the hub's directory")
            .create_shop(
                "Kalima Arts",
                trestle_core::Currency::parse("GBP").expect("GBP"),
                trestle_core::tax::TaxMode::Inclusive,
                trestle_core::tax::TaxRate::parse_percent("20").expect("20%"),
            )
            .expect("a shop");
        let served = LocalHub::start(
            Config::new(db, "127.0.0.1:0".parse().expect("an address")),
            2,
        )
        .expect("the hub starts");
        Hub {
            url: served.url(),
            _served: served,
            admin,
            http: reqwest::blocking::Client::new(),
            _dir: dir,
        }
    }

    /// An admin request; `key` is sent as the `Idempotency-Key` (checkout needs one).
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut rb = self
            .http
            .request(m, format!("{}{path}", self.url))
            .bearer_auth(&self.admin);
        if let Some(b) = body {
            rb = rb
                .header("idempotency-key", uuid::Uuid::now_v7().to_string())
                .json(&b);
        }
        let r = rb.send().expect("the hub answers");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (s, b) = self.call(method, path, body);
        assert!((200..300).contains(&s), "{method} {path}: {s} {b}");
        b
    }
}

/// The real `trestle` binary of this checkout, built once per test run by cargo (a no-op when it
/// is up to date). It gets a target directory of its own beside the app's: built with this
/// test's feature set into the shared one, crates such as ring would be rebuilt in place and the
/// next `cargo test` would rebuild them again.
fn trestle_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let profile_dir = Path::new(APP).parent().expect("the app's directory");
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let target = profile_dir
            .parent()
            .expect("the target directory")
            .join("e2e-cli");
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        // Without the CARGO_* variables cargo set for this test (CARGO_PKG_NAME …), which build
        // scripts watch.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("CARGO_") && k != "CARGO_HOME" {
                cmd.env_remove(k);
            }
        }
        cmd.current_dir(ROOT)
            .args(["build", "--quiet", "-p", "trestle-till", "--bin", "trestle"])
            .env("CARGO_TARGET_DIR", &target);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building the trestle CLI failed");
        target
            .join(if release { "release" } else { "debug" })
            .join("trestle")
    })
}

/// Runs `trestle --json --data-dir dir args…` and returns its JSON.
pub fn trestle(dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(trestle_bin())
        .arg("--data-dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env_remove("TRESTLE_DATA_DIR")
        .output()
        .expect("the trestle CLI runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "trestle {args:?} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A variant of the demo catalog the flows sell.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: String,
    pub title: String,
    pub price: i64,
}

/// Everything a flow needs: the hub, the till's data directory, the items, the pickup code.
pub struct Stall {
    _hub: Hub,
    pub dir: tempfile::TempDir,
    /// Three tracked items (`deny`: never sold below zero) with stock allocated to the till.
    pub tee: Item,
    pub hoodie: Item,
    pub small_tee: Item,
    /// An online order to pick up at the stall, to pay on pickup: its code and what is due.
    pub pickup_code: String,
    pub pickup_due: i64,
    display: Display,
}

fn item(catalog: &Value, title: &str) -> Item {
    let v = catalog["variants"]
        .as_array()
        .expect("the hub's catalog")
        .iter()
        .find(|v| v["title"] == title)
        .unwrap_or_else(|| panic!("the demo catalog has no {title}"));
    Item {
        id: v["variant_id"].as_str().expect("an id").to_string(),
        title: title.to_string(),
        price: v["price_minor"].as_i64().expect("a price"),
    }
}

impl Stall {
    /// Sets everything up as a maker would: hub, till, event, allocation, an online pickup.
    pub fn new() -> Stall {
        let display = Display::start();
        let hub = Hub::start();
        let csv = std::fs::read(demo_csv()).expect("the demo catalog");
        let r = hub
            .http
            .post(format!("{}/v1/catalog/import", hub.url))
            .bearer_auth(&hub.admin)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .expect("the hub answers");
        assert_eq!(r.status().as_u16(), 200, "the hub imports the demo catalog");
        let catalog = hub.ok("GET", "/v1/catalog", None);
        let tee = item(&catalog, "Queen Nefertiti — XL / Black / T-Shirt");
        let hoodie = item(&catalog, "THE IMPORTANT CALL #PK — M / White / Hoodie");
        let small_tee = item(&catalog, "Queen Nefertiti — S / White / T-Shirt");
        let pickup = item(&catalog, "Queen Nefertiti — L / White / T-Shirt");

        let dir = tempfile::tempdir().expect("a temp dir");
        let d = dir.path();
        trestle(
            d,
            &[
                "init",
                "--shop",
                "Kalima Arts",
                "--currency",
                "GBP",
                "--tax",
                "inclusive",
                "--tax-rate",
                "20",
                "--till",
                "Stall 1",
            ],
        );
        trestle(d, &["catalog", "import", &demo_csv().to_string_lossy()]);
        let code = hub.ok(
            "POST",
            "/v1/pairing-codes",
            Some(json!({"till_name": "Stall 1"})),
        )["code"]
            .as_str()
            .expect("a pairing code")
            .to_string();
        let paired = trestle(d, &["pair", "--hub", &hub.url, "--code", &code]);
        let till_id = paired["till_id"].as_str().expect("a till id").to_string();
        let ev = hub.ok(
            "POST",
            "/v1/events",
            Some(
                json!({"name": "Winter Makers Fair", "place": "Corn Exchange",
                "starts": "2020-01-01T09:00:00Z", "ends": "2099-01-01T17:00:00Z"}),
            ),
        );
        let event_id = ev["id"].as_str().expect("an event id").to_string();
        hub.ok(
            "POST",
            &format!("/v1/events/{event_id}/tills"),
            Some(json!({"till_id": till_id})),
        );
        hub.ok(
            "POST",
            "/v1/transfers",
            Some(json!({"to_till": till_id, "lines": [
                {"variant_id": tee.id, "qty": 3},
                {"variant_id": hoodie.id, "qty": 3},
                {"variant_id": small_tee.id, "qty": 3},
            ]})),
        );
        hub.ok("POST", &format!("/v1/events/{event_id}/open"), None);
        let order = hub.ok(
            "POST",
            "/v1/checkout",
            Some(json!({
                "lines": [{"variant_id": pickup.id, "qty": 1}],
                "customer": {"name": "Amara Okafor", "email": "amara@example.org",
                    "phone": "+44 7700 900123"},
                "fulfilment": {"type": "pickup", "event_id": event_id},
                "payment": "pay_on_pickup",
            })),
        );
        let pickup_code = order["reservation"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("a pickup code: {order}"))
            .to_string();
        trestle(d, &["sync"]);
        Stall {
            _hub: hub,
            dir,
            tee,
            hoodie,
            small_tee,
            pickup_code,
            pickup_due: pickup.price,
            display,
        }
    }

    /// Opens the built app on this till's data directory and waits for its ready signal.
    pub fn open_app(&self) -> App {
        let driver = Driver::start(&self.display, &[("TRESTLE_DATA_DIR", self.dir.path())]);
        let session = Session::open(&driver.url, APP);
        session.wait_for("the ready signal (document.body.dataset.ready)", |s| {
            (s.js("return document.body.dataset.ready || ''", json!([])) == "1").then_some(())
        });
        // The window takes the X keyboard focus, where the scanner's keys arrive (no window
        // manager runs under Xvfb to give it).
        let status = Command::new("xdotool")
            .env("DISPLAY", &self.display.name)
            .args([
                "search",
                "--onlyvisible",
                "--name",
                "^Trestle$",
                "windowfocus",
            ])
            .status()
            .expect("xdotool runs (scripts/test installs it)");
        assert!(status.success(), "xdotool found no Trestle window");
        App {
            session,
            _driver: driver,
            display: self.display.name.clone(),
            actions: 0,
        }
    }

    /// The till's database, read-only.
    pub fn db(&self) -> Connection {
        Connection::open_with_flags(
            self.dir.path().join("till.sqlite"),
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("the till's database opens")
    }
}

/// The X keysym of a character of a code (letters and digits are their own).
fn keysym(c: char) -> String {
    match c {
        '-' => "minus".into(),
        ':' => "colon".into(),
        '_' => "underscore".into(),
        '.' => "period".into(),
        '/' => "slash".into(),
        c if c.is_ascii_alphanumeric() => c.to_string(),
        c => panic!("a scanner code with {c:?}"),
    }
}

/// The app's window and the count of the cashier's actions in it.
pub struct App {
    pub session: Session,
    _driver: Driver,
    display: String,
    /// Key presses and clicks the cashier made (a scan is not counted: the scanner does it).
    pub actions: u32,
}

impl App {
    /// Scans `code` as a keyboard-wedge scanner does: real key events from the X server
    /// (XTEST, through one `xdotool key` run, no pause), ending in Return. WebDriver's key
    /// actions are not used for this: each is a round trip through the driver, stamped when it
    /// is dispatched, so on a loaded machine their gaps exceed the 40 ms that tell a scanner from
    /// a person; X events carry the time the key was pressed.
    pub fn scan(&self, code: &str) {
        let mut keys: Vec<String> = code.chars().map(keysym).collect();
        keys.push("Return".into());
        let status = Command::new("xdotool")
            .env("DISPLAY", &self.display)
            .args(["key", "--delay", "0"])
            .args(&keys)
            .status()
            .expect("xdotool runs (scripts/test installs it)");
        assert!(status.success(), "xdotool could not type {code}");
    }

    /// The cashier presses a key or a chord: one action.
    pub fn press(&mut self, key: &str) {
        self.actions += 1;
        self.session.keys(key, 0);
    }

    /// The cashier types `text` into the focused field: one action, at a person's speed (80 ms
    /// a key, so the scanner wedge rightly does not take it for a scan).
    pub fn type_text(&mut self, text: &str) {
        self.actions += 1;
        self.session.keys(text, 80);
    }

    /// Saves the window as `docs/screenshots/<name>.png`, once what the page shows has been
    /// painted (the picture is of the last painted frame, which lags a DOM change). The X
    /// server's picture of its screen (the window fills it), not WebDriver's: WebKitWebDriver's
    /// screenshot never answers when WebKit paints without its compositor, as the app has it
    /// (decision 181).
    pub fn screenshot(&self, name: &str) {
        std::thread::sleep(std::time::Duration::from_millis(800));
        let dir = Path::new(ROOT).join("docs/screenshots");
        std::fs::create_dir_all(&dir).expect("docs/screenshots");
        let path = dir.join(format!("{name}.png"));
        let status = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(&path)
            .status()
            .expect("ImageMagick's import runs (scripts/test installs it)");
        assert!(status.success(), "the screenshot {name} could not be taken");
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.session.close();
    }
}
