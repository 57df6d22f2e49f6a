//! The request target's hub: a runtime and the real router over a fresh database, built once
//! per process, and whole requests decoded from fuzz bytes and sent into it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;
use trestle_protocol::ErrorBody;

use crate::{AppState, Config};

/// The demo catalog the request target's shop starts with (the API tests' catalog).
const KALIMA_CSV: &[u8] = include_bytes!("../../../../demo/kalima-arts_products_export.csv");

/// A checkout body as `POST /v1/checkout` with the admin token and a fresh `Idempotency-Key`.
pub(super) fn checkout(data: &[u8]) {
    static KEYS: AtomicU64 = AtomicU64::new(0);
    let key = format!("fuzz-{}", KEYS.fetch_add(1, Ordering::Relaxed));
    let fx = api_fixture();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/checkout")
        .header("authorization", format!("Bearer {}", fx.tokens[0]))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(data.to_vec()))
        .unwrap_or_else(|e| unreachable!("a fixed request builds: {e}"));
    let (status, bytes) = send(fx, req, false);
    assert_answer("POST", "/v1/checkout", status, &bytes, false);
}

/// The hub the request target talks to: a runtime, the real router over a fresh database, a shop
/// with the demo catalog, a paired till, an open event with a pickup reservation, and tokens.
struct ApiFixture {
    rt: tokio::runtime::Runtime,
    router: Router,
    tokens: [String; 3],
    /// `@V`, `@E`, `@T`, `@R`, `@O` in a path or body become these ids.
    ids: Vec<(&'static [u8], String)>,
    _dir: PathBuf,
}

fn api_fixture() -> &'static ApiFixture {
    static FIXTURE: OnceLock<ApiFixture> = OnceLock::new();
    FIXTURE.get_or_init(build_api_fixture)
}

async fn call(
    router: &Router,
    method: &str,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .header("idempotency-key", format!("setup-{path}"))
        .body(Body::from(body))
        .expect("a set-up request");
    let res = router.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .expect("a set-up body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn post_json(router: &Router, path: &str, token: &str, body: Value) -> Value {
    let (status, v) = call(
        router,
        "POST",
        path,
        token,
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert!(status.is_success(), "set-up {path}: {status} {v}");
    v
}

fn build_api_fixture() -> ApiFixture {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    remove_stale_scratch();
    let dir = std::env::temp_dir().join(format!("{SCRATCH}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let mut config = Config::new(dir.join("hub.sqlite"), ([127, 0, 0, 1], 0).into());
    config.webhook_timeout = Duration::from_millis(500);
    let (router, tokens, ids) = rt.block_on(async {
        let state = AppState::open(config).expect("the hub opens");
        let (shop, admin) = state
            .directory
            .create_shop(
                "Kalima Arts",
                trestle_core::Currency::parse("GBP").expect("GBP"),
                trestle_core::tax::TaxMode::Inclusive,
                trestle_core::tax::TaxRate::from_ppm(200_000).expect("20%"),
            )
            .expect("a shop");
        state.partition(shop.id).expect("the shop's writer");
        let (router, _) = crate::routes::router(state);
        let r = &router;
        let (status, _) = call(
            r,
            "POST",
            "/v1/catalog/import",
            &admin,
            "text/csv",
            KALIMA_CSV.to_vec(),
        )
        .await;
        assert!(status.is_success(), "set-up import: {status}");
        let (_, catalog) = call(r, "GET", "/v1/catalog", &admin, "", Vec::new()).await;
        let variant = catalog["variants"][0]["variant_id"]
            .as_str()
            .expect("a variant")
            .to_string();
        post_json(
            r,
            "/v1/inventory/counts",
            &admin,
            json!({"variant_id": variant, "delta": 1000, "reason": "fuzz"}),
        )
        .await;
        let code = post_json(
            r,
            "/v1/pairing-codes",
            &admin,
            json!({"till_name": "Stall 1"}),
        )
        .await;
        let paired = post_json(r, "/v1/pair", "", json!({"code": code["code"]})).await;
        let till = paired["till_id"].as_str().expect("a till").to_string();
        let device = paired["device_token"]
            .as_str()
            .expect("a device token")
            .to_string();
        let event = post_json(
            r,
            "/v1/events",
            &admin,
            json!({"name": "Winter Makers Fair", "place": "Corn Exchange",
            "starts": "2026-12-05T09:00:00Z", "ends": "2026-12-05T17:00:00Z"}),
        )
        .await;
        let event = event["id"].as_str().expect("an event").to_string();
        post_json(
            r,
            &format!("/v1/events/{event}/tills"),
            &admin,
            json!({"till_id": till}),
        )
        .await;
        let staff = post_json(
            r,
            "/v1/tokens",
            &admin,
            json!({"kind": "staff", "event_id": event}),
        )
        .await;
        let staff = staff["token"].as_str().expect("a staff token").to_string();
        let order = post_json(
            r,
            "/v1/checkout",
            &admin,
            json!({
            "lines": [{"variant_id": variant, "qty": 1}],
            "customer": {"name": "Grace Hopper"},
            "fulfilment": {"type": "pickup", "event_id": event}}),
        )
        .await;
        let reservation = order["reservation"]["id"]
            .as_str()
            .expect("a reservation")
            .to_string();
        let order = order["id"].as_str().expect("an order").to_string();
        let ids: Vec<(&'static [u8], String)> = vec![
            (b"@V", variant),
            (b"@E", event),
            (b"@T", till),
            (b"@R", reservation),
            (b"@O", order),
        ];
        (router, [admin, device, staff], ids)
    });
    ApiFixture {
        rt,
        router,
        tokens,
        ids,
        _dir: dir,
    }
}

/// The prefix of each process's scratch directory (its databases outlive the process).
const SCRATCH: &str = "trestle-hub-fuzz-";

/// Removes the scratch directories of processes that have ended (where `/proc` says so).
fn remove_stale_scratch() {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let pid = name.to_str().and_then(|n| n.strip_prefix(SCRATCH));
        if pid.is_some_and(|p| !std::path::Path::new("/proc").join(p).exists()) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Replaces each placeholder with its id.
fn expand(input: &[u8], ids: &[(&'static [u8], String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    'outer: while i < input.len() {
        for (tag, id) in ids {
            if input[i..].starts_with(tag) {
                out.extend_from_slice(id.as_bytes());
                i += tag.len();
                continue 'outer;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

const METHODS: [&str; 7] = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"];
const CONTENT_TYPES: [&str; 5] = [
    "",
    "application/json",
    "text/csv",
    "application/octet-stream",
    "application/json; charset=utf-8",
];

/// A whole request into the real router. The bytes: a method selector, a token selector (none,
/// admin, device, staff, bogus), a content-type selector, then `path\n`, `Name: value` header
/// lines, an empty line and the body; `@V @E @T @R @O` stand for a real variant, event, till,
/// reservation and order. The hub must answer in time with no 5xx but 503, and every 4xx must be
/// `{"error":{"code","message"}}`.
pub fn api_request(data: &[u8]) {
    let [m, t, c, rest @ ..] = data else {
        return;
    };
    let fx = api_fixture();
    let method = METHODS[usize::from(*m) % METHODS.len()];
    let rest = expand(rest, &fx.ids);
    let (path, rest) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&rest[..], &[][..]),
    };
    let path = String::from_utf8_lossy(path);
    let path = if path.starts_with('/') {
        path.into_owned()
    } else {
        format!("/{path}")
    };
    let mut builder = Request::builder().method(method).uri(path.as_str());
    match usize::from(*t) % 5 {
        0 => {}
        4 => builder = builder.header("authorization", "Bearer trs_a_0000"),
        n => builder = builder.header("authorization", format!("Bearer {}", fx.tokens[n - 1])),
    }
    let ctype = CONTENT_TYPES[usize::from(*c) % CONTENT_TYPES.len()];
    if !ctype.is_empty() {
        builder = builder.header("content-type", ctype);
    }
    let mut body = rest;
    let mut headers = HashMap::new();
    for _ in 0..16 {
        let Some(end) = body.iter().position(|b| *b == b'\n') else {
            break;
        };
        let line = &body[..end];
        body = &body[end + 1..];
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.insert(name, value);
    }
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    // What hyper would refuse before the router (a bad path or header) never reaches the hub.
    let Ok(req) = builder.body(Body::from(body.to_vec())) else {
        return;
    };
    let head = method == "HEAD";
    let (status, bytes) = send(fx, req, head);
    assert_answer(method, &path, status, &bytes, head);
}

/// Sends a request to the fixture's router: its status, and its body when it is a 4xx (a 2xx
/// may be an endless event stream). A request that is not answered in 10 s panics.
fn send(fx: &ApiFixture, req: Request<Body>, head: bool) -> (StatusCode, Vec<u8>) {
    let what = format!("{} {}", req.method(), req.uri());
    let router = fx.router.clone();
    fx.rt.block_on(async move {
        let answer = tokio::time::timeout(Duration::from_secs(10), router.oneshot(req)).await;
        let res = answer
            .unwrap_or_else(|_| panic!("{what}: no answer in 10 s"))
            .unwrap_or_else(|e| match e {});
        let status = res.status();
        if !status.is_client_error() || head {
            return (status, Vec::new());
        }
        let body = axum::body::to_bytes(res.into_body(), 1 << 20);
        let bytes = tokio::time::timeout(Duration::from_secs(10), body)
            .await
            .unwrap_or_else(|_| panic!("{what}: a {status} body that does not end"));
        (status, bytes.map(|b| b.to_vec()).unwrap_or_default())
    })
}

/// No 5xx but 503; every 4xx (with a body: not for HEAD) is `{"error":{"code","message"}}`.
fn assert_answer(method: &str, path: &str, status: StatusCode, bytes: &[u8], head: bool) {
    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "{method} {path} answered {status}"
    );
    if status.is_client_error() && !head {
        let parsed: Result<ErrorBody, _> = serde_json::from_slice(bytes);
        assert!(
            parsed.is_ok_and(|e| !e.error.code.is_empty() && !e.error.message.is_empty()),
            "{method} {path} answered {status} with a body that is not an error body: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}
