//! The webhook delivery worker of one shop: leases due deliveries from the shop's writer, POSTs
//! each signed with HMAC-SHA256, and records the outcome (retried with backoff until the last
//! attempt). A slow or dead endpoint delays only its own deliveries, never a checkout.
//!
//! Signature header: `Trestle-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
//! Receivers recompute it over the raw body and refuse a `t` too far from their clock.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::app::AppState;
use crate::db::now_ms;
use crate::partition::{DueDelivery, Partition};

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "trestle-signature";

/// `t=<unix seconds>,v1=<hex>` for `body` sent at `unix_seconds`.
pub fn sign(secret: &str, unix_seconds: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Checks a signature header against `body` (for receivers and tests): the `v1` must match
/// and `t` be within `tolerance_s` of `now_s`.
pub fn verify(secret: &str, header: &str, body: &str, now_s: i64, tolerance_s: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = Some(x),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    // Checked: a `t` near i64::MIN or MAX (from the header) would overflow the subtraction.
    if now_s
        .checked_sub(t)
        .and_then(i64::checked_abs)
        .is_none_or(|d| d > tolerance_s)
    {
        return false;
    }
    let Ok(given) = hex::decode(v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// Runs until the shop's writer stops.
pub async fn run(state: AppState, shop: Arc<Partition>) {
    loop {
        let leased = shop.run(|ctx| ctx.lease_due(32)).await;
        let (due, next) = match leased {
            Ok(x) => x,
            Err(_) => return, // the writer has stopped
        };
        if due.is_empty() {
            let wait = next.map_or(Duration::from_secs(5), |at| {
                Duration::from_millis(u64::try_from((at - now_ms()).clamp(5, 5_000)).unwrap_or(5))
            });
            tokio::select! {
                _ = shop.deliveries.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        let sends = due.into_iter().map(|d| attempt(&state, &shop, d));
        futures_util::future::join_all(sends).await;
    }
}

async fn attempt(state: &AppState, shop: &Partition, d: DueDelivery) {
    let t = now_ms() / 1000;
    let sent = state
        .http
        .post(&d.url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, sign(&d.secret, t, &d.body))
        .header("trestle-topic", &d.topic)
        .header("trestle-delivery", d.id.to_string())
        .body(d.body.clone())
        .send()
        .await;
    let (status, error) = match sent {
        Ok(r) => (Some(r.status().as_u16()), None),
        Err(e) => (None, Some(short_error(&e))),
    };
    let ok = status.is_some_and(|s| (200..300).contains(&s));
    let base = state.config.webhook_retry_base_ms;
    let id = d.id;
    match shop
        .run(move |ctx| ctx.record_attempt(id, status, error, base))
        .await
    {
        Ok(gave_up) if !ok => {
            state.metrics.webhook_attempt_failed(gave_up);
            tracing::warn!(delivery = %d.id, topic = %d.topic, attempt = d.attempts + 1, ?status, gave_up, "webhook delivery failed");
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(delivery = %d.id, error = %e, "recording a webhook attempt failed")
        }
    }
}

/// A reqwest error without the URL (which may carry credentials).
fn short_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the endpoint did not answer in time".into()
    } else if e.is_connect() {
        "the endpoint could not be reached".into()
    } else {
        "the request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_time() {
        let h = sign("s3cret-s3cret-s3cret", 1_700_000_000, "{\"a\":1}");
        assert!(verify(
            "s3cret-s3cret-s3cret",
            &h,
            "{\"a\":1}",
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "other-secret-xxxxxx",
            &h,
            "{\"a\":1}",
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "s3cret-s3cret-s3cret",
            &h,
            "{\"a\":2}",
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "s3cret-s3cret-s3cret",
            &h,
            "{\"a\":1}",
            1_700_009_000,
            300
        ));
        assert!(!verify("s3cret-s3cret-s3cret", "garbage", "{}", 0, 300));
    }

    #[test]
    fn a_time_at_the_ends_of_i64_is_refused_not_overflowed() {
        let h = format!("t={},v1=00", i64::MIN);
        assert!(!verify(
            "s3cret-s3cret-s3cret",
            &h,
            "{}",
            1_700_000_000,
            300
        ));
        let h = format!("t={},v1=00", i64::MAX);
        assert!(!verify("s3cret-s3cret-s3cret", &h, "{}", -1, 300));
    }
}
