//! The till's HTTP client for the hub: blocking reqwest (rustls) with a timeout on every request,
//! retries with exponential backoff and jitter for what may pass on its own (no connection, a
//! timeout, a 5xx or 429), and defensive decoding — the hub's answers are input like any other.

use std::io::Read as _;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder};
use serde::de::DeserializeOwned;
use trestle_protocol::ErrorBody;

use crate::error::{Error, Result};

/// Time allowed to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for a whole request, answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts of a request that may be resent as it is (outbox batches, reads).
pub const ATTEMPTS: u32 = 3;
/// The first retry waits this long plus up to as much again (jitter); each next one doubles.
const BACKOFF_MS: u64 = 200;
/// The largest answer read from the hub (a whole shop document is far smaller).
const MAX_ANSWER: u64 = 256 * 1024 * 1024;

/// A successful answer: its status (2xx) and body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// The hub's clock when it answered (its `Date` header, whole seconds), Unix ms.
    pub date_ms: Option<u64>,
}

impl Answer {
    /// The body as JSON of type `T`; anything else is `sync.bad_answer`.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::HubAnswer(format!(
                "{what} was not what the till expects: {}",
                short(&e)
            ))
        })
    }
}

/// The hub at one base URL, with the device token once there is one.
pub struct HubClient {
    client: Client,
    url: String,
    token: Option<String>,
}

/// One failed attempt: whether trying again may help.
enum Failure {
    Transient(Error),
    Final(Error),
}

impl HubClient {
    pub fn new(url: &str, token: Option<String>) -> Result<HubClient> {
        let client = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("trestle-till/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::HubUnreachable {
                url: url.to_string(),
                reason: format!("no HTTP client: {}", short(&e)),
            })?;
        Ok(HubClient {
            client,
            url: url.to_string(),
            token,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends the request `build` makes for `path`, up to `attempts` times while the failure may
    /// pass on its own, waiting with backoff and jitter in between.
    pub fn send(
        &self,
        path: &str,
        attempts: u32,
        build: impl Fn(&Client, String) -> RequestBuilder,
    ) -> Result<Answer> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut rb = build(&self.client, format!("{}{path}", self.url));
            if let Some(t) = &self.token {
                rb = rb.bearer_auth(t);
            }
            match self.once(rb) {
                Ok(a) => return Ok(a),
                Err(Failure::Final(e)) => return Err(e),
                Err(Failure::Transient(e)) if attempt >= attempts => return Err(e),
                Err(Failure::Transient(e)) => {
                    let wait = backoff(attempt);
                    tracing::debug!(path, attempt, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), error = %e, "retrying");
                    std::thread::sleep(wait);
                }
            }
        }
    }

    fn once(&self, rb: RequestBuilder) -> std::result::Result<Answer, Failure> {
        let resp = rb.send().map_err(|e| {
            Failure::Transient(Error::HubUnreachable {
                url: self.url.clone(),
                reason: reason(&e),
            })
        })?;
        let status = resp.status().as_u16();
        let date_ms = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(trestle_core::clock::parse_http_date);
        let mut body = Vec::new();
        resp.take(MAX_ANSWER + 1)
            .read_to_end(&mut body)
            .map_err(|e| {
                Failure::Transient(Error::HubUnreachable {
                    url: self.url.clone(),
                    reason: format!("the answer was cut off: {}", crate::error::plain_io(&e)),
                })
            })?;
        if u64::try_from(body.len()).unwrap_or(u64::MAX) > MAX_ANSWER {
            return Err(Failure::Final(Error::HubAnswer(
                "the answer is larger than a till accepts".into(),
            )));
        }
        match status {
            200..=299 => Ok(Answer {
                status,
                body,
                date_ms,
            }),
            401 => Err(Failure::Final(Error::HubUnauthorised)),
            429 | 500..=599 => Err(Failure::Transient(Error::HubFailed {
                url: self.url.clone(),
                status,
            })),
            _ => Err(Failure::Final(refusal(status, &body))),
        }
    }
}

/// A 4xx answer as the hub's own code and sentence, or the status when it sent no error body.
fn refusal(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => Error::HubRefused {
            code: clean(&e.error.code, 60),
            message: clean(e.error.message.trim_end_matches('.'), 300),
        },
        Err(_) => Error::HubRefused {
            code: format!("http.{status}"),
            message: format!("it answered HTTP {status}"),
        },
    }
}

/// Text from the hub made safe to print: no control characters, at most `max` characters.
fn clean(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
}

/// Why a request got no answer, in a few words.
fn reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer in time".into()
    } else if e.is_connect() {
        "no connection".into()
    } else {
        short(e)
    }
}

fn short(e: &dyn std::fmt::Display) -> String {
    clean(&e.to_string(), 200)
}

/// The wait before retry `attempt` (1-based): 200 ms, 400 ms, 800 ms, … plus up to as much again.
fn backoff(attempt: u32) -> Duration {
    jittered(BACKOFF_MS, attempt, u64::MAX)
}

/// `first_ms` doubled for each attempt after the first (at most `cap_ms`), plus a random jitter
/// of up to as much again, so tills that lost the hub together do not come back in step.
pub(crate) fn jittered(first_ms: u64, attempt: u32, cap_ms: u64) -> Duration {
    let base = first_ms
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(20))
        .min(cap_ms);
    let mut b = [0u8; 8];
    let jitter = if getrandom::fill(&mut b).is_ok() {
        u64::from_le_bytes(b) % base.max(1)
    } else {
        base / 2
    };
    Duration::from_millis(base.saturating_add(jitter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_below_twice_the_base() {
        for attempt in 1..=4u32 {
            let base = 200u64 << (attempt - 1);
            let w = u64::try_from(backoff(attempt).as_millis()).unwrap();
            assert!((base..2 * base).contains(&w), "attempt {attempt}: {w} ms");
        }
    }

    #[test]
    fn a_refusal_keeps_the_hubs_code_and_sentence_but_no_control_characters() {
        let body =
            br#"{"error":{"code":"pairing.invalid_code","message":"that code is used.\u001b[2J"}}"#;
        match refusal(422, body) {
            Error::HubRefused { code, message } => {
                assert_eq!(code, "pairing.invalid_code");
                assert!(!message.chars().any(char::is_control), "{message:?}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(refusal(404, b"<html>"), Error::HubRefused { code, .. } if code == "http.404")
        );
    }
}
