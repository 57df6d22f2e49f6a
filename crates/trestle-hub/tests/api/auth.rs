//! Every endpoint against every kind of bad token: none, garbage, expired, revoked, lacking the
//! scope, and another shop's — all refused, and another shop's token never sees this shop.

use serde_json::{json, Value};

use crate::helpers::*;

/// (method, path, body, the scope it needs).
fn endpoints(ids: &Ids) -> Vec<(&'static str, String, Option<Value>, &'static str)> {
    let v = &ids.variant;
    vec![
        (
            "POST",
            "/v1/pairing-codes".into(),
            Some(json!({"till_name": "X"})),
            "tokens:write",
        ),
        (
            "POST",
            "/v1/tokens".into(),
            Some(json!({"kind": "integration", "scopes": ["inventory:read"]})),
            "tokens:write",
        ),
        ("GET", "/v1/tokens".into(), None, "tokens:write"),
        (
            "DELETE",
            format!("/v1/tokens/{}", ids.token),
            None,
            "tokens:write",
        ),
        ("GET", "/v1/catalog".into(), None, "catalog:read"),
        ("POST", "/v1/catalog/import".into(), None, "catalog:write"),
        ("GET", "/v1/inventory".into(), None, "inventory:read"),
        ("GET", format!("/v1/inventory/{v}"), None, "inventory:read"),
        (
            "GET",
            "/v1/inventory/locations".into(),
            None,
            "inventory:read",
        ),
        (
            "POST",
            "/v1/inventory/counts".into(),
            Some(json!({"variant_id": v, "delta": 1, "reason": "x"})),
            "inventory:write",
        ),
        (
            "POST",
            "/v1/transfers".into(),
            Some(json!({"to_till": ids.till, "lines": [{"variant_id": v, "qty": 1}]})),
            "inventory:write",
        ),
        ("GET", "/v1/transfers".into(), None, "inventory:read"),
        (
            "POST",
            "/v1/returns".into(),
            Some(json!({"till_id": ids.till})),
            "inventory:write",
        ),
        (
            "POST",
            "/v1/events".into(),
            Some(json!({"name": "E", "starts": "2026-12-05", "ends": "2026-12-06"})),
            "events:write",
        ),
        ("GET", "/v1/events".into(), None, "events:read"),
        (
            "GET",
            format!("/v1/events/{}", ids.event),
            None,
            "events:read",
        ),
        (
            "POST",
            format!("/v1/events/{}/tills", ids.event),
            Some(json!({"till_id": ids.till})),
            "events:write",
        ),
        (
            "POST",
            format!("/v1/events/{}/open", ids.event),
            None,
            "events:write",
        ),
        (
            "POST",
            format!("/v1/events/{}/close", ids.event),
            None,
            "events:write",
        ),
        (
            "POST",
            "/v1/checkout".into(),
            Some(ship(v, 1)),
            "checkout:write",
        ),
        ("GET", "/v1/orders".into(), None, "orders:read"),
        (
            "GET",
            format!("/v1/orders/{}", ids.order),
            None,
            "orders:read",
        ),
        ("GET", "/v1/reservations".into(), None, "reservations:read"),
        (
            "GET",
            format!("/v1/reservations/{}", ids.reservation),
            None,
            "reservations:read",
        ),
        (
            "POST",
            format!("/v1/reservations/{}/cancel", ids.reservation),
            None,
            "reservations:write",
        ),
        (
            "POST",
            format!("/v1/reservations/{}/collected", ids.reservation),
            Some(json!({})),
            "reservations:write",
        ),
        (
            "POST",
            format!("/v1/reservations/{}/ready", ids.reservation),
            None,
            "reservations:write",
        ),
        (
            "POST",
            "/v1/sync/outbox".into(),
            Some(json!({"entries": []})),
            "sync",
        ),
        ("POST", "/v1/sync/automerge".into(), None, "sync"),
        ("POST", "/v1/sync/exchange".into(), None, "sync"),
        ("GET", "/v1/sync/feed".into(), None, "sync"),
        ("GET", "/v1/sync/snapshot".into(), None, "sync"),
        ("GET", "/v1/sync/staff".into(), None, "sync"),
        (
            "POST",
            "/v1/sync/staff-sessions".into(),
            Some(json!({"staff_id": ids.token, "event_id": ids.event})),
            "sync",
        ),
        (
            "POST",
            "/v1/staff".into(),
            Some(json!({"name": "Ana", "role": "cashier", "pin": "1234"})),
            "staff:write",
        ),
        ("GET", "/v1/staff".into(), None, "staff:write"),
        (
            "PATCH",
            format!("/v1/staff/{}", ids.token),
            Some(json!({"active": false})),
            "staff:write",
        ),
        ("POST", "/v1/sync/carry".into(), None, "sync"),
        ("POST", "/v1/epochs".into(), None, "inventory:write"),
        (
            "POST",
            "/v1/webhooks".into(),
            Some(
                json!({"url": "http://127.0.0.1:9/x", "secret": "0123456789abcdef", "topics": ["*"]}),
            ),
            "webhooks:write",
        ),
        ("GET", "/v1/webhooks".into(), None, "webhooks:read"),
        (
            "DELETE",
            format!("/v1/webhooks/{}", ids.webhook),
            None,
            "webhooks:write",
        ),
        (
            "GET",
            format!("/v1/webhooks/{}/deliveries", ids.webhook),
            None,
            "webhooks:read",
        ),
        ("GET", "/v1/stream".into(), None, "stream:read"),
        ("GET", "/v1/conflicts".into(), None, "conflicts:read"),
        (
            "POST",
            format!("/v1/conflicts/{}/resolve", ids.reservation),
            Some(json!({"resolution": "recount_stock"})),
            "conflicts:write",
        ),
        ("GET", "/v1/shop".into(), None, ""),
    ]
}

struct Ids {
    variant: String,
    till: String,
    event: String,
    order: String,
    reservation: String,
    webhook: String,
    token: String,
}

async fn setup(hub: &Hub) -> Ids {
    hub.import_kalima().await;
    let variant = hub.variant(TEE).await;
    let (till, _) = hub.pair("Stall 1").await;
    let event = hub.event_with_till(&till).await;
    let order = hub.checkout(&hub.admin, "o1", ship(&variant, 1)).await;
    let p = hub
        .checkout(&hub.admin, "o2", pickup(&variant, 1, &event, "paid"))
        .await;
    let w = hub
        .post(
            "/v1/webhooks",
            &hub.admin,
            json!({"url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef", "topics": ["order.created"]}),
        )
        .await;
    let t = hub
        .post(
            "/v1/tokens",
            &hub.admin,
            json!({"kind": "integration", "scopes": ["orders:read"]}),
        )
        .await;
    Ids {
        variant,
        till,
        event,
        order: order.body["id"].as_str().unwrap().into(),
        reservation: p.body["reservation"]["id"].as_str().unwrap().into(),
        webhook: w.body["id"].as_str().unwrap().into(),
        token: t.body["id"].as_str().unwrap().into(),
    }
}

async fn integration(hub: &Hub, scopes: &[&str], ttl: Option<u64>) -> (String, String) {
    let mut body = json!({"kind": "integration", "scopes": scopes});
    if let Some(t) = ttl {
        body["ttl_seconds"] = json!(t);
    }
    let r = hub.post("/v1/tokens", &hub.admin, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (
        r.body["token"].as_str().unwrap().into(),
        r.body["id"].as_str().unwrap().into(),
    )
}

#[tokio::test]
async fn every_endpoint_refuses_missing_garbage_expired_and_revoked_tokens() {
    let hub = Hub::start().await;
    let ids = setup(&hub).await;
    // Every scope an integration may have (all but the admin's own).
    let all: Vec<&str> = trestle_hub::directory::ALL_SCOPES
        .iter()
        .copied()
        .filter(|s| !["tokens:write", "sync", "staff:write"].contains(s))
        .collect();
    let (expired, _) = integration(&hub, &all, Some(1)).await;
    let (revoked, revoked_id) = integration(&hub, &all, None).await;
    assert_eq!(
        hub.get("/v1/catalog", &revoked).await.status,
        200,
        "works before revocation"
    );
    let r = hub
        .call(
            "DELETE",
            &format!("/v1/tokens/{revoked_id}"),
            Some(&hub.admin),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for (method, path, body, _) in endpoints(&ids) {
        for (what, token) in [
            ("none", None),
            ("garbage", Some("trs_a_nonsense")),
            ("expired", Some(expired.as_str())),
            ("revoked", Some(revoked.as_str())),
        ] {
            let r = hub
                .call(
                    method,
                    &path,
                    token,
                    body.clone(),
                    &[("idempotency-key", "k")],
                )
                .await;
            assert_eq!(
                r.status, 401,
                "{method} {path} with a {what} token: {}",
                r.body
            );
            let want = if what == "none" {
                "auth.missing_token"
            } else {
                "auth.invalid_token"
            };
            assert_eq!(r.code(), want, "{method} {path} ({what})");
        }
    }
}

#[tokio::test]
async fn every_endpoint_refuses_a_token_without_its_scope() {
    let hub = Hub::start().await;
    let ids = setup(&hub).await;
    let (orders_only, _) = integration(&hub, &["orders:read"], None).await;
    let (catalog_only, _) = integration(&hub, &["catalog:read"], None).await;
    for (method, path, body, scope) in endpoints(&ids) {
        if scope.is_empty() {
            continue;
        }
        let token = if scope == "orders:read" {
            &catalog_only
        } else {
            &orders_only
        };
        let r = hub
            .call(
                method,
                &path,
                Some(token),
                body.clone(),
                &[("idempotency-key", "k")],
            )
            .await;
        assert_eq!(r.status, 403, "{method} {path} without {scope}: {}", r.body);
        assert_eq!(r.code(), "auth.missing_scope", "{method} {path}");
    }
    // Sync is for paired tills only, even for the admin.
    for (method, path) in [
        ("POST", "/v1/sync/automerge"),
        ("POST", "/v1/sync/exchange"),
        ("GET", "/v1/sync/feed"),
        ("GET", "/v1/sync/snapshot"),
        ("GET", "/v1/sync/staff"),
        ("POST", "/v1/sync/carry"),
    ] {
        let r = hub.call(method, path, Some(&hub.admin), None, &[]).await;
        assert_eq!(r.status, 403, "{method} {path} with the admin token");
        assert_eq!(r.code(), "auth.device_only");
    }
}

#[tokio::test]
async fn another_shops_token_never_reaches_this_shop() {
    let hub = Hub::start().await;
    let ids = setup(&hub).await;
    let (other_shop, other_admin) = hub.other_shop();
    assert_ne!(other_shop, hub.shop);
    for (method, path, body, _) in endpoints(&ids) {
        if path == "/v1/stream" {
            continue; // a stream never ends; the stream tests check it carries only its shop
        }
        let r = hub
            .call(
                method,
                &path,
                Some(&other_admin),
                body.clone(),
                &[("idempotency-key", "k")],
            )
            .await;
        let text = r.body.to_string();
        let asked = format!("{path} {}", body.clone().unwrap_or_default());
        for id in [
            &ids.order,
            &ids.reservation,
            &ids.webhook,
            &ids.event,
            &ids.variant,
            &ids.till,
        ] {
            // An error naming the id the request itself gave is an echo, not a leak.
            if asked.contains(id.as_str()) {
                continue;
            }
            assert!(
                !text.contains(id.as_str()),
                "{method} {path} leaked {id}: {text}"
            );
        }
        if path.contains(&ids.order)
            || path.contains(&ids.reservation)
            || path.contains(&ids.event)
            || path.contains(&ids.webhook)
            || path.contains(&ids.token)
            || path.contains(&ids.variant)
        {
            assert!(
                r.status == 404 || r.status == 422,
                "{method} {path}: {} {}",
                r.status,
                r.body
            );
        }
    }
    // This shop is untouched: its order, its reservation and its webhook are as they were.
    let o = hub
        .get(&format!("/v1/orders/{}", ids.order), &hub.admin)
        .await;
    assert_eq!(o.status, 200);
    let r = hub
        .get(&format!("/v1/reservations/{}", ids.reservation), &hub.admin)
        .await;
    assert_eq!(r.body["status"], "held");
    let w = hub.get("/v1/webhooks", &hub.admin).await;
    assert_eq!(w.body["webhooks"].as_array().unwrap().len(), 1);
    let e = hub
        .get(&format!("/v1/events/{}", ids.event), &hub.admin)
        .await;
    assert_eq!(e.body["status"], "planned");
}

#[tokio::test]
async fn staff_sessions_are_short_lived_and_limited_to_their_event() {
    let hub = Hub::start().await;
    let ids = setup(&hub).await;
    let other = hub
        .post(
            "/v1/events",
            &hub.admin,
            json!({"name": "Spring fair", "starts": "2027-03-01", "ends": "2027-03-01"}),
        )
        .await;
    let other_event = other.body["id"].as_str().unwrap().to_string();
    let long = hub
        .post(
            "/v1/tokens",
            &hub.admin,
            json!({"kind": "staff", "event_id": ids.event, "ttl_seconds": 90000}),
        )
        .await;
    assert_eq!((long.status, long.code()), (422, "token.invalid_ttl"));
    let no_event = hub
        .post("/v1/tokens", &hub.admin, json!({"kind": "staff"}))
        .await;
    assert_eq!(
        (no_event.status, no_event.code()),
        (422, "token.event_required")
    );
    let s = hub
        .post(
            "/v1/tokens",
            &hub.admin,
            json!({"kind": "staff", "event_id": ids.event, "label": "Sam"}),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.body);
    let staff = s.body["token"].as_str().unwrap().to_string();
    let mine = hub.get("/v1/reservations", &staff).await;
    assert_eq!(mine.body["reservations"].as_array().unwrap().len(), 1);
    let theirs = hub
        .get(&format!("/v1/reservations?event_id={other_event}"), &staff)
        .await;
    assert_eq!((theirs.status, theirs.code()), (403, "auth.wrong_event"));
    let checkout = hub.checkout(&staff, "s1", ship(&ids.variant, 1)).await;
    assert_eq!(checkout.status, 403);
    let admin_kinds = hub
        .post("/v1/tokens", &hub.admin, json!({"kind": "admin"}))
        .await;
    assert_eq!(admin_kinds.status, 422);
    let sneaky = hub
        .post(
            "/v1/tokens",
            &hub.admin,
            json!({"kind": "integration", "scopes": ["tokens:write"]}),
        )
        .await;
    assert_eq!((sneaky.status, sneaky.code()), (422, "token.invalid_scope"));
}

#[tokio::test]
async fn every_documented_endpoint_is_in_the_auth_table() {
    let hub = Hub::start().await;
    let ids = Ids {
        variant: "{variant_id}".into(),
        till: "{till}".into(),
        event: "{id}".into(),
        order: "{id}".into(),
        reservation: "{id}".into(),
        webhook: "{id}".into(),
        token: "{id}".into(),
    };
    let table: Vec<(String, String)> = endpoints(&ids)
        .into_iter()
        .map(|(m, p, _, _)| (m.to_string(), p))
        .collect();
    let doc = hub.call("GET", "/v1/openapi.json", None, None, &[]).await;
    let open = ["/healthz", "/metrics", "/v1/pair"];
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if open.contains(&path.as_str()) {
                continue;
            }
            let m = method.to_uppercase();
            assert!(
                table.iter().any(|(tm, tp)| *tm == m && tp == path),
                "{m} {path} is in the API but not in the auth table: add it to endpoints()"
            );
        }
    }
}
