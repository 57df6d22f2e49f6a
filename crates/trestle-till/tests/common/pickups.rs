//! Shared by the pickup tests: a real local webhook receiver (a TCP listener recording each
//! delivery), an online pickup checkout, and the hub's open conflicts of a kind. Included as
//! `#[path = "common/pickups.rs"] mod pickups;` beside `common/hub.rs`.

#![allow(dead_code)]

use serde_json::{json, Value};

use crate::hub::Hub;

/// A real local webhook receiver: a TCP listener that answers 200 and records each delivery's
/// topic and body.
pub struct Receiver {
    pub url: String,
    pub got: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
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

    /// Subscribes this receiver to `topics` at the hub.
    pub fn subscribe(&self, hub: &Hub, topics: &[&str]) {
        let (s, b) = hub.call(
            "POST",
            "/v1/webhooks",
            Some(json!({"url": self.url, "secret": "a-secret-of-sixteen+", "topics": topics})),
        );
        assert_eq!(s, 201, "{b}");
    }

    /// Deliveries of `topic` for reservation `id`, after waiting for the hub to deliver.
    pub fn count(&self, topic: &str, id: &str) -> usize {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, b)| t == topic && b["data"]["id"] == id)
            .count()
    }
}

pub fn checkout_pickup(
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
    hub.checkout(key, body)
}

pub fn open_conflicts(hub: &Hub, kind: &str) -> Vec<Value> {
    let (_, c) = hub.call("GET", "/v1/conflicts?status=open", None);
    c["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .cloned()
        .collect()
}
