//! Prometheus metrics: requests and latency histograms per route, checkouts, refused
//! oversells, group-commit batches, webhook failures, live-stream drops, and each device's sync
//! lag — rendered in the text exposition format at `/metrics`. Integer arithmetic throughout
//! (microseconds), formatted as seconds.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Latency bucket bounds in microseconds.
const BUCKETS_US: [u64; 12] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000,
];

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS_US.len()],
    count: u64,
    sum_us: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    checkouts: AtomicU64,
    oversells_refused: AtomicU64,
    batches: AtomicU64,
    batched_jobs: AtomicU64,
    webhook_attempt_failures: AtomicU64,
    webhook_failures: AtomicU64,
    stream_dropped: AtomicU64,
}

/// `us` microseconds as seconds: `0.001234`.
fn seconds(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// Milliseconds as whole seconds and millis, for gauges: `12.345`.
pub fn ms_to_seconds(ms: i64) -> String {
    let ms = ms.max(0);
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

impl Metrics {
    pub fn observe_request(&self, method: &str, route: &str, status: u16, us: u64) {
        let mut r = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *r.entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        drop(r);
        let mut l = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = l
            .entry((method.to_string(), route.to_string()))
            .or_default();
        for (i, b) in BUCKETS_US.iter().enumerate() {
            if us <= *b {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum_us += us;
    }

    pub fn checkout_accepted(&self) {
        self.checkouts.fetch_add(1, Relaxed);
    }
    pub fn oversell_refused(&self) {
        self.oversells_refused.fetch_add(1, Relaxed);
    }
    pub fn observe_batch(&self, jobs: usize) {
        self.batches.fetch_add(1, Relaxed);
        self.batched_jobs
            .fetch_add(u64::try_from(jobs).unwrap_or(0), Relaxed);
    }
    pub fn webhook_attempt_failed(&self, gave_up: bool) {
        self.webhook_attempt_failures.fetch_add(1, Relaxed);
        if gave_up {
            self.webhook_failures.fetch_add(1, Relaxed);
        }
    }
    pub fn stream_client_dropped(&self) {
        self.stream_dropped.fetch_add(1, Relaxed);
    }

    /// Checkouts accepted so far (for the load generator's cross-check).
    pub fn checkouts(&self) -> u64 {
        self.checkouts.load(Relaxed)
    }

    /// The exposition text; `lag` is (shop, device, milliseconds since its last sync).
    pub fn render(&self, lag: &[(uuid::Uuid, uuid::Uuid, i64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP trestle_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE trestle_http_requests_total counter");
        for ((m, r, s), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "trestle_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP trestle_http_request_duration_seconds Request latency by route."
        );
        let _ = writeln!(
            out,
            "# TYPE trestle_http_request_duration_seconds histogram"
        );
        for ((m, r), h) in self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let labels = format!("method=\"{m}\",route=\"{r}\"");
            for (i, b) in BUCKETS_US.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "trestle_http_request_duration_seconds_bucket{{{labels},le=\"{}\"}} {}",
                    seconds(*b),
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "trestle_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "trestle_http_request_duration_seconds_sum{{{labels}}} {}",
                seconds(h.sum_us)
            );
            let _ = writeln!(
                out,
                "trestle_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        let counters = [
            (
                "trestle_checkouts_total",
                "Checkouts accepted.",
                &self.checkouts,
            ),
            (
                "trestle_oversells_refused_total",
                "Checkouts refused because stock was short.",
                &self.oversells_refused,
            ),
            (
                "trestle_commit_batches_total",
                "Group-commit transactions of the shop writers.",
                &self.batches,
            ),
            (
                "trestle_commit_batched_jobs_total",
                "Jobs committed in those transactions.",
                &self.batched_jobs,
            ),
            (
                "trestle_webhook_attempt_failures_total",
                "Webhook delivery attempts that failed.",
                &self.webhook_attempt_failures,
            ),
            (
                "trestle_webhook_failures_total",
                "Webhook deliveries given up after the last retry.",
                &self.webhook_failures,
            ),
            (
                "trestle_stream_clients_dropped_total",
                "Live-stream clients dropped for falling behind.",
                &self.stream_dropped,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP trestle_sync_lag_seconds Seconds since each device last synced."
        );
        let _ = writeln!(out, "# TYPE trestle_sync_lag_seconds gauge");
        for (shop, device, ms) in lag {
            let _ = writeln!(
                out,
                "trestle_sync_lag_seconds{{shop=\"{shop}\",device=\"{device}\"}} {}",
                ms_to_seconds(*ms)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_in_seconds() {
        let m = Metrics::default();
        m.observe_request("POST", "/v1/checkout", 201, 700);
        m.observe_request("POST", "/v1/checkout", 409, 30_000);
        let text = m.render(&[]);
        assert!(
            text.contains("route=\"/v1/checkout\",le=\"0.001000\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("route=\"/v1/checkout\",le=\"0.050000\"} 2"),
            "{text}"
        );
        assert!(text.contains("trestle_http_request_duration_seconds_sum{method=\"POST\",route=\"/v1/checkout\"} 0.030700"));
        assert_eq!(ms_to_seconds(12_345), "12.345");
    }
}
