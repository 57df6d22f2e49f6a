//! A small W3C WebDriver client over blocking HTTP: the few commands the end-to-end tests use
//! (elements by CSS, their text, scripts, key actions, screenshots), against tauri-driver.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The W3C name of an element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a wait for the page lasts before the test fails, saying what it waited for.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// WebDriver's code points for the keys the till uses.
pub mod key {
    pub const ENTER: char = '\u{E007}';
    pub const ESCAPE: char = '\u{E00C}';
    pub const TAB: char = '\u{E004}';
    pub const SPACE: char = ' ';
    pub const ALT: char = '\u{E00A}';
    pub const SHIFT: char = '\u{E008}';
    pub const F4: char = '\u{E034}';
    pub const F8: char = '\u{E038}';
    pub const F10: char = '\u{E03A}';
}

/// One open session: the app's window.
pub struct Session {
    http: reqwest::blocking::Client,
    base: String,
}

/// A found element.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Session {
    /// Opens a session on the app binary at `application` through the driver at `driver_url`.
    pub fn open(driver_url: &str, application: &str) -> Session {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "tauri:options": {"application": application}
        }}});
        let r: Value = http
            .post(format!("{driver_url}/session"))
            .json(&caps)
            .send()
            .expect("tauri-driver answers")
            .json()
            .expect("a JSON answer");
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session opened: {r}"))
            .to_string();
        Session {
            http,
            base: format!("{driver_url}/session/{id}"),
        }
    }

    fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r: Value = rb
            .send()
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
            .json()
            .unwrap_or_else(|e| panic!("WebDriver {path}: not JSON: {e}"));
        r["value"].clone()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let v = self.send(reqwest::Method::POST, path, Some(body));
        if let Some(err) = v.get("error") {
            panic!("WebDriver {path}: {err}: {}", v["message"]);
        }
        v
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page and returns its value.
    pub fn js(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
    }

    /// The elements matching the CSS `selector`, now.
    pub fn all(&self, selector: &str) -> Vec<Element> {
        let v = self.send(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": selector})),
        );
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(|s| Element(s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Elements by `data-testid`, now.
    pub fn all_ids(&self, testid: &str) -> Vec<Element> {
        self.all(&format!("[data-testid=\"{testid}\"]"))
    }

    /// Waits until `cond` holds, or fails saying what it waited for.
    pub fn wait_for<T>(&self, what: &str, mut cond: impl FnMut(&Session) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(t) = cond(self) {
                return t;
            }
            if start.elapsed() > PATIENCE {
                let shown = self.js("return document.body.innerText.slice(0, 2000)", json!([]));
                panic!("waited {PATIENCE:?} for {what}; the window shows:\n{shown}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the element with `data-testid` `testid` and returns it.
    pub fn id(&self, testid: &str) -> Element {
        self.wait_for(&format!("[data-testid={testid}]"), |s| {
            s.all_ids(testid).into_iter().next()
        })
    }

    /// Waits until no element has `data-testid` `testid`.
    pub fn gone(&self, testid: &str) {
        self.wait_for(&format!("[data-testid={testid}] to go"), |s| {
            s.all_ids(testid).is_empty().then_some(())
        })
    }

    /// Waits until the element with `testid` shows text for which `ok` holds; returns the text.
    pub fn text_when(&self, testid: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_for(&format!("[data-testid={testid}] {what}"), |s| {
            let e = s.all_ids(testid).into_iter().next()?;
            let t = s.text(&e);
            ok(&t).then_some(t)
        })
    }

    pub fn text(&self, e: &Element) -> String {
        self.send(
            reqwest::Method::GET,
            &format!("/element/{}/text", e.0),
            None,
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Presses the keys of `text` on the focused element, `gap_ms` apart. WebDriver's key code
    /// points (`key::ENTER` …) press those keys; `key::ALT` and `key::SHIFT` are held for the key
    /// that follows them only.
    pub fn keys(&self, text: &str, gap_ms: u64) {
        let mut actions = Vec::new();
        let mut held: Option<char> = None;
        for c in text.chars() {
            if gap_ms > 0 && !actions.is_empty() && held.is_none() {
                actions.push(json!({"type": "pause", "duration": gap_ms}));
            }
            if c == key::ALT || c == key::SHIFT {
                held = Some(c);
                actions.push(json!({"type": "keyDown", "value": c.to_string()}));
                continue;
            }
            actions.push(json!({"type": "keyDown", "value": c.to_string()}));
            actions.push(json!({"type": "keyUp", "value": c.to_string()}));
            if let Some(m) = held.take() {
                actions.push(json!({"type": "keyUp", "value": m.to_string()}));
            }
        }
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        );
        self.send(reqwest::Method::DELETE, "/actions", None);
    }

    /// Ends the session (the app closes).
    pub fn close(&self) {
        let _ = self
            .http
            .delete(&self.base)
            .timeout(Duration::from_secs(10))
            .send();
    }
}
