//! Latency summaries of a benchmark's samples (median, p90, p99, mean) and ratios between two
//! of them, all in integer nanoseconds: no floating point anywhere.

use std::time::Duration;

use serde::Serialize;

/// The distribution of one measured operation's latencies.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub samples: usize,
    pub median_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub mean_ns: u64,
    pub min_ns: u64,
    pub max_ns: u64,
}

impl Summary {
    /// Summarises `samples` (at least one).
    pub fn of(samples: &[Duration]) -> Summary {
        let mut ns: Vec<u64> = samples
            .iter()
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .collect();
        ns.sort_unstable();
        let n = ns.len().max(1);
        let sum: u128 = ns.iter().map(|&x| u128::from(x)).sum();
        let mean = u64::try_from(sum / n as u128).unwrap_or(u64::MAX);
        Summary {
            samples: ns.len(),
            median_ns: percentile(&ns, 50),
            p90_ns: percentile(&ns, 90),
            p99_ns: percentile(&ns, 99),
            mean_ns: mean,
            min_ns: ns.first().copied().unwrap_or(0),
            max_ns: ns.last().copied().unwrap_or(0),
        }
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

/// `a / b` in thousandths (1000 = equal), rounded half up.
pub fn ratio_milli(a: u64, b: u64) -> u64 {
    if b == 0 {
        return u64::MAX;
    }
    let r = (u128::from(a) * 1000 + u128::from(b) / 2) / u128::from(b);
    u64::try_from(r).unwrap_or(u64::MAX)
}

/// Thousandths as a decimal: 1234 → "1.234".
pub fn milli_str(m: u64) -> String {
    format!("{}.{:03}", m / 1000, m % 1000)
}

/// Nanoseconds as microseconds with one decimal: 1_234_567 → "1234.6".
pub fn us_str(ns: u64) -> String {
    let tenths = (ns + 50) / 100;
    format!("{}.{}", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_nanos).collect();
        let s = Summary::of(&v);
        assert_eq!(
            (s.median_ns, s.p90_ns, s.p99_ns, s.min_ns, s.max_ns),
            (50, 90, 99, 1, 100)
        );
        assert_eq!(s.mean_ns, 50);
        let one = Summary::of(&[Duration::from_nanos(7)]);
        assert_eq!((one.median_ns, one.p99_ns), (7, 7));
    }

    #[test]
    fn ratios_and_formatting_use_integers() {
        assert_eq!(ratio_milli(1200, 1000), 1200);
        assert_eq!(ratio_milli(2, 3), 667);
        assert_eq!(milli_str(1234), "1.234");
        assert_eq!(milli_str(987), "0.987");
        assert_eq!(us_str(1_234_567), "1234.6");
        assert_eq!(us_str(40), "0.0");
    }
}
