//! The processes of the end-to-end sync test (`sync_processes.rs`): the real `trestle-hub`
//! binary serving a database file that outlives it, the hub's HTTP API as an admin uses it, and
//! tills as the real `trestle` binary on their own data directories.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{stderr, stdout, GBP_INIT};

/// The `trestle-hub` binary beside this test's own target directory, built first by the cargo
/// that runs this test (a no-op when it is fresh), so the test never runs a stale hub.
pub fn hub_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/<this test>
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let target = profile_dir.parent().unwrap().to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "--quiet",
            "-p",
            "trestle-hub",
            "--bin",
            "trestle-hub",
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .env("CARGO_TARGET_DIR", &target);
    if release {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "the trestle-hub binary builds");
    let bin = profile_dir.join(format!("trestle-hub{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "{} exists", bin.display());
    bin
}

/// The hub as a child process on a database file that outlives it.
pub struct HubProcess {
    pub bin: PathBuf,
    pub db: PathBuf,
    pub port: u16,
    pub child: Option<Child>,
    pub logs: PathBuf,
}

impl HubProcess {
    /// `trestle-hub serve` on `db`, on `port` (0: a free one, read from its first line).
    pub fn serve(bin: &Path, db: &Path, port: u16, logs: &Path) -> HubProcess {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs)
            .unwrap();
        let mut child = Command::new(bin)
            .args(["serve", "--log-format", "text", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--db")
            .arg(db)
            .env_remove("TRESTLE_HUB_DB")
            .env_remove("TRESTLE_HUB_LISTEN")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("the hub starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "the hub did not say where it listens: {line:?}; {}",
                    std::fs::read_to_string(logs).unwrap_or_default()
                )
            });
        HubProcess {
            bin: bin.to_path_buf(),
            db: db.to_path_buf(),
            port,
            child: Some(child),
            logs: logs.to_path_buf(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGTERM, and wait for the graceful shutdown (in-flight writes are committed first).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "the hub stopped cleanly: {status}");
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the hub did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The same database on the same port again (the tills know the hub by its URL).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stopped first");
        // The port was free a moment ago; wait until no one else holds it.
        for _ in 0..100 {
            if TcpListener::bind(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let again = HubProcess::serve(&self.bin, &self.db, self.port, &self.logs);
        assert_eq!(again.port, self.port);
        let mut again = again;
        self.child = again.child.take();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Admin calls to the hub over real HTTP.
pub struct Admin {
    pub url: String,
    pub token: String,
    pub http: reqwest::blocking::Client,
}

impl Admin {
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .http
            .request(m, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    pub fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (s, b) = self.call(method, path, Some(body));
        assert!((200..300).contains(&s), "{method} {path}: {s} {b}");
        b
    }

    pub fn get(&self, path: &str) -> Value {
        let (s, b) = self.call("GET", path, None);
        assert_eq!(s, 200, "GET {path}: {b}");
        b
    }

    /// `holder` → free of one variant.
    pub fn free(&self, variant: &str) -> BTreeMap<String, i64> {
        self.get(&format!("/v1/inventory/{variant}"))["holders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                assert_eq!(h["held"], 0, "nothing reserved in this day: {h}");
                (
                    h["holder"].as_str().unwrap().to_string(),
                    h["free"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    pub fn checkout(&self, key: &str, variant: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/checkout", self.url))
            .bearer_auth(&self.token)
            .header("idempotency-key", key)
            .json(&json!({
                "lines": [{"variant_id": variant, "qty": 1}],
                "customer": {"name": "Ada Lovelace", "email": "ada@example.org"},
                "fulfilment": {"type": "ship", "address": "12 St James's Square, London"}
            }))
            .send()
            .unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }
}

/// A till data directory run through the real `trestle` binary.
pub struct Till {
    pub _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub id: String,
}

impl Till {
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_trestle"));
        c.arg("--data-dir").arg(&self.dir).args(args);
        for v in [
            "TRESTLE_DATA_DIR",
            "TRESTLE_LOG",
            "TRESTLE_PIN",
            "TRESTLE_MANAGER_PIN",
        ] {
            c.env_remove(v);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        c.stdin(Stdio::null()).output().expect("trestle runs")
    }

    pub fn json_env(&self, args: &[&str], env: &[(&str, &str)]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let o = self.run(&all, env);
        assert!(
            o.status.success(),
            "trestle {all:?}: {}{}",
            stderr(&o),
            stdout(&o)
        );
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{all:?}: {e}"))
    }

    pub fn json(&self, args: &[&str]) -> Value {
        self.json_env(args, &[])
    }

    pub fn sell(&self, lines: &[(&str, u32)], extra: &[&str], env: &[(&str, &str)]) -> Value {
        let mut args = vec!["sell".to_string()];
        for (v, q) in lines {
            args.push("--line".into());
            args.push(format!("{v}={q}"));
        }
        args.extend(["--pay".into(), "cash=1000".into()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.json_env(&args, env)
    }

    /// Event ids of every entry in this till's outbox.
    pub fn event_ids(&self) -> Vec<String> {
        self.json(&["outbox"])
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event_id"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn pending(&self) -> usize {
        self.json(&["outbox", "--pending"])
            .as_array()
            .unwrap()
            .len()
    }

    /// (kind, variant, holder, source) of every conflict this till lists, open or not.
    pub fn conflicts(&self) -> BTreeSet<(String, String, String, String)> {
        self.json(&["conflicts", "--all"])
            .as_array()
            .unwrap()
            .iter()
            .map(|c| conflict_key(c, c["source"].as_str().unwrap()))
            .collect()
    }
}

/// What a conflict is about, to compare sets of them: (kind, variant, holder, who found it).
pub fn conflict_key(c: &Value, source: &str) -> (String, String, String, String) {
    (
        c["kind"].as_str().unwrap().to_string(),
        c["variant_id"].as_str().unwrap_or("").to_string(),
        c["holder"].as_str().unwrap_or("").to_string(),
        source.to_string(),
    )
}

pub fn new_till(admin: &Admin, name: &str) -> Till {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("till");
    let mut init = GBP_INIT.to_vec();
    let last = init.len() - 1;
    init[last] = name;
    let mut till = Till {
        _tmp: tmp,
        dir,
        id: String::new(),
    };
    let mut args = vec!["init"];
    args.extend_from_slice(&init);
    till.json(&args);
    let code = admin.ok("POST", "/v1/pairing-codes", json!({ "till_name": name }))["code"]
        .as_str()
        .unwrap()
        .to_string();
    let paired = till.json(&["pair", "--hub", &admin.url, "--code", &code]);
    till.id = paired["till_id"].as_str().unwrap().to_string();
    till
}
