//! The hybrid logical clock: timestamps that follow wall time but never go backwards and order
//! causally across tills and hub even when a laptop's clock is wrong.
//!
//! A timestamp is `(wall_ms, counter)`; `tick` advances for a local event, `observe` merges a
//! remote timestamp. The physical time is passed in (core does no I/O); the caller owns the
//! [`WallClock`]. A remote clock far in the future is refused beyond [`MAX_DRIFT_MS`] so one bad
//! laptop cannot drag every replica's clock forward.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where physical time comes from; the till and hub implement it over the system clock, tests
/// over a settable value.
pub trait WallClock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// How far ahead of our own wall clock a remote timestamp may be before `observe` refuses it.
pub const MAX_DRIFT_MS: u64 = 5 * 60 * 1000;

/// A hybrid logical timestamp. Orders by wall time, then counter.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Hlc {
    pub wall_ms: u64,
    pub counter: u32,
}

impl Hlc {
    /// Encodes as one sortable integer-like string `wall_ms.counter` for storage.
    pub fn encode(&self) -> String {
        format!("{:013}.{:06}", self.wall_ms, self.counter)
    }

    /// Decodes [`Hlc::encode`]'s form.
    pub fn decode(s: &str) -> Option<Hlc> {
        let (w, c) = s.split_once('.')?;
        Some(Hlc {
            wall_ms: w.parse().ok()?,
            counter: c.parse().ok()?,
        })
    }
}

impl fmt::Debug for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// The clock's state: the last timestamp issued or seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HlcState {
    last: Hlc,
}

/// A remote timestamp too far in the future was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockDrift {
    pub remote: Hlc,
    pub ahead_ms: u64,
}

impl HlcState {
    /// Resumes from the last persisted timestamp.
    pub fn resume(last: Hlc) -> HlcState {
        HlcState { last }
    }

    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A new timestamp for a local event at physical time `now_ms`: strictly after every
    /// timestamp issued or observed before.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        self.last = if now_ms > self.last.wall_ms {
            Hlc {
                wall_ms: now_ms,
                counter: 0,
            }
        } else {
            self.bump(self.last.wall_ms, self.last.counter)
        };
        self.last
    }

    /// Merges a remote timestamp; the next `tick` is after both.
    pub fn observe(&mut self, remote: Hlc, now_ms: u64) -> Result<Hlc, ClockDrift> {
        if remote.wall_ms > now_ms.saturating_add(MAX_DRIFT_MS) {
            return Err(ClockDrift {
                remote,
                ahead_ms: remote.wall_ms - now_ms,
            });
        }
        let wall = now_ms.max(self.last.wall_ms).max(remote.wall_ms);
        self.last = if wall == self.last.wall_ms && wall == remote.wall_ms {
            self.bump(wall, self.last.counter.max(remote.counter))
        } else if wall == self.last.wall_ms {
            self.bump(wall, self.last.counter)
        } else if wall == remote.wall_ms {
            self.bump(wall, remote.counter)
        } else {
            Hlc {
                wall_ms: wall,
                counter: 0,
            }
        };
        Ok(self.last)
    }

    fn bump(&self, wall_ms: u64, counter: u32) -> Hlc {
        match counter.checked_add(1) {
            Some(counter) => Hlc { wall_ms, counter },
            // 4 billion events in one millisecond: borrow the next millisecond.
            None => Hlc {
                wall_ms: wall_ms + 1,
                counter: 0,
            },
        }
    }
}

/// Formats Unix milliseconds as UTC, `2026-11-22 14:03:05Z`.
pub fn format_utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let (y, m, d) = civil_from_days(days);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses a UTC date or date-time as people type it — `2026-11-22`, `2026-11-22 14:03`,
/// `2026-11-22T14:03:05Z` — into Unix milliseconds. `None` when it is not one.
pub fn parse_utc(input: &str) -> Option<u64> {
    let s = input.trim().trim_end_matches(['Z', 'z']);
    let (date, time) = match s.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y: i64 = num(dp.next()?, 4)?;
    let m: u32 = num(dp.next()?, 2)?;
    let d: u32 = num(dp.next()?, 2)?;
    if dp.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut secs: i64 = 0;
    if let Some(t) = time {
        let mut tp = t.split(':');
        let h: i64 = num(tp.next()?, 2)?;
        let mi: i64 = num(tp.next()?, 2)?;
        let se: i64 = match tp.next() {
            Some(x) => num(x, 2)?,
            None => 0,
        };
        if tp.next().is_some() || h > 23 || mi > 59 || se > 59 {
            return None;
        }
        secs = h * 3600 + mi * 60 + se;
    }
    let total = days_from_civil(y, m, d) * 86_400 + secs;
    u64::try_from(total).ok()?.checked_mul(1000)
}

/// Parses an HTTP date (`Tue, 01 Dec 2026 22:01:08 GMT`, RFC 9110's IMF-fixdate) into Unix
/// milliseconds. `None` when it is not one.
pub fn parse_http_date(input: &str) -> Option<u64> {
    let rest = input.trim().split_once(", ")?.1;
    let mut p = rest.split(' ');
    let (d, mon, y, t, zone) = (p.next()?, p.next()?, p.next()?, p.next()?, p.next()?);
    if zone != "GMT" || p.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| *x == mon)? + 1;
    parse_utc(&format!("{y}-{m:02}-{d}T{t}Z"))
}

fn num<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards() {
        let mut c = HlcState::default();
        let a = c.tick(1000);
        let b = c.tick(900); // wall clock stepped back
        let d = c.tick(1000);
        assert!(a < b && b < d);
        assert_eq!(b.wall_ms, 1000);
    }

    #[test]
    fn observes_remote() {
        let mut c = HlcState::default();
        c.tick(1000);
        let r = Hlc {
            wall_ms: 2000,
            counter: 7,
        };
        let seen = c.observe(r, 1500).unwrap();
        assert!(seen > r);
        assert!(c.tick(1500) > seen);
        let far = Hlc {
            wall_ms: 1500 + MAX_DRIFT_MS + 1,
            counter: 0,
        };
        assert!(c.observe(far, 1500).is_err());
    }

    #[test]
    fn encodes_sortably() {
        let a = Hlc {
            wall_ms: 999,
            counter: 12,
        };
        let b = Hlc {
            wall_ms: 1000,
            counter: 1,
        };
        assert!(a.encode() < b.encode());
        assert_eq!(Hlc::decode(&a.encode()), Some(a));
        assert_eq!(Hlc::decode("x"), None);
    }

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00Z");
        let t = parse_utc("2026-11-22T14:03:05Z").unwrap();
        assert_eq!(format_utc(t), "2026-11-22 14:03:05Z");
        assert_eq!(
            parse_utc("2024-02-29").map(format_utc).unwrap(),
            "2024-02-29 00:00:00Z"
        );
        assert_eq!(parse_utc("2026-11-22 14:03"), Some(t - 5000));
        assert_eq!(parse_http_date("Sun, 22 Nov 2026 14:03:05 GMT"), Some(t));
        assert_eq!(parse_http_date("Sun, 22 Nov 2026 14:03:05 CET"), None);
        assert_eq!(parse_http_date("yesterday"), None);
        for bad in [
            "",
            "2026-13-01",
            "2025-02-29",
            "2026-11-22T25:00",
            "yesterday",
            "2026-1-2",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }
}
