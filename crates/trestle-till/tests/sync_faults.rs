//! Sync through a faulty network, CI size: the shared fault run (`common/fault_run.rs`: the
//! real hub in-process on 127.0.0.1 port 0, a real TCP proxy that drops, duplicates, delays,
//! resets and truncates 30% of the exchanges, seeded; three real till directories) with
//! 3 tills × 10 rounds × 10 sales. Every sale must be at the hub exactly once and every replica
//! at the hub's counters. The full run (≥ 10,000 sales) is
//! `cargo run --release -p trestle-bench -- sync-faults` (docs/benchmarks.md).

#[path = "common/fault_run.rs"]
mod fault_run;

#[test]
fn every_sale_reaches_the_hub_exactly_once_through_30_percent_faulty_exchanges() {
    let report = fault_run::run(&fault_run::FaultRun::ci()).unwrap();
    assert_eq!(report.sales, 300);
    assert_eq!(report.hub_events, 300);
    assert!(
        report.faulty * 5 >= report.exchanges,
        "at least a fifth of the exchanges were faulty: {report:?}"
    );
    assert!(
        report.faults.values().all(|&n| n > 0),
        "every kind of fault happened: {report:?}"
    );
    assert!(report.counters_compared >= 20 * 4, "{report:?}");
}
