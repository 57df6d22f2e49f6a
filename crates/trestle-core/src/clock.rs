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
}
