//! The background sync loop against the real hub (in-process, port 0): two tills, each running
//! a `SyncAgent` on its own data directory, sell through the real `trestle` binary (another
//! process, another connection, as the app would be); a sale at one till must show in the
//! other's stock through the hub's live stream — the idle timer is set to two minutes, so
//! nothing else could bring it within the ten seconds allowed. The latency is printed (and
//! recorded in docs/benchmarks.md: well under a second on a quiet machine; the assertion is not
//! a timing test, which a loaded CI machine would make flaky). Then the hub goes away: the loop
//! says so in a cashier's words, keeps the sale, and stops cleanly.

mod common;
#[path = "common/hub.rs"]
mod hub;

use std::time::{Duration, Instant};

use common::*;
use hub::*;
use trestle_till::sync::{AgentOptions, Connectivity, SyncAgent, SyncStatus};
use trestle_till::Till;

fn agent(dir: &std::path::Path) -> SyncAgent {
    let mut o = AgentOptions::new(dir);
    o.idle = Duration::from_secs(120);
    SyncAgent::start(o).unwrap()
}

fn wait_for(agent: &SyncAgent, what: &str, ok: impl Fn(&SyncStatus) -> bool) -> SyncStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = agent.status();
        if ok(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "waited 30 s for {what}: {s:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn on_hand(till: &mut Till, variant: &str) -> i64 {
    till.refresh().unwrap();
    till.stock()
        .unwrap()
        .iter()
        .find(|l| l.variant_id.to_string() == variant)
        .map_or(0, |l| l.on_hand)
}

/// Sells one unit at `seller` and returns how long until `observer` shows it.
fn latency(seller: &Cli, observer: &mut Till, variant: &str) -> Duration {
    let before = on_hand(observer, variant);
    let t0 = Instant::now();
    sell(seller, &[(variant, 1)]);
    loop {
        if on_hand(observer, variant) == before - 1 {
            return t0.elapsed();
        }
        if t0.elapsed() > Duration::from_secs(10) {
            observer.refresh().unwrap();
            panic!(
                "the sale never reached the other till: {:?}",
                observer
                    .stock()
                    .unwrap()
                    .iter()
                    .find(|l| l.variant_id.to_string() == variant)
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_sale_at_one_till_reaches_the_other_through_the_live_stream_and_offline_is_said_plainly() {
    let mut hub = Hub::start();
    hub.import_kalima();
    let tee = hub.variant(TEE);
    let (t1, id1, t2, id2) = two_paired_tills(&hub);
    // The export has 5 of these T-shirts: 3 to till 1, 2 to till 2.
    hub.allocate(&id1, &[(&tee, 3)]);
    hub.allocate(&id2, &[(&tee, 2)]);

    let a1 = agent(&t1.dir);
    let a2 = agent(&t2.dir);
    let changes = a2.subscribe();
    for a in [&a1, &a2] {
        wait_for(a, "online and live", |s| {
            s.connectivity == Connectivity::Online && s.live && s.passes >= 1 && !s.syncing
        });
    }
    let mut o1 = Till::open(&t1.dir).unwrap();
    let mut o2 = Till::open(&t2.dir).unwrap();
    assert_eq!(on_hand(&mut o2, &tee), on_hand(&mut o1, &tee));

    // Sales alternate between the tills; each must reach the other through the hub.
    let mut took = Vec::new();
    for i in 0..4 {
        let d = if i % 2 == 0 {
            latency(&t1, &mut o2, &tee)
        } else {
            latency(&t2, &mut o1, &tee)
        };
        took.push(d);
    }
    took.sort();
    let ms: Vec<u128> = took.iter().map(Duration::as_millis).collect();
    tracing::info!(?ms, "sale to other till");
    eprintln!("sale at one till → shown at the other (ms, sorted): {ms:?}");
    let s1 = wait_for(&a1, "outbox empty", |s| s.pending == 0 && !s.syncing);
    assert!(
        s1.last_sync_ms.is_some() && s1.last_error.is_none(),
        "{s1:?}"
    );
    assert!(
        changes.try_iter().count() > 0,
        "status changes were published"
    );
    // Both tills and the hub agree on every holder's counters.
    let h = hub.holders(&tee);
    assert_eq!(h[&format!("till:{id1}")], (1, 0), "{h:?}");
    assert_eq!(h[&format!("till:{id2}")], (0, 0), "{h:?}");
    assert_eq!(
        hub.till_events().len(),
        4,
        "each sale stored once at the hub"
    );

    // The hub goes away: the loop notices, says it in words for the cashier, keeps the sale.
    hub.stop();
    sell(&t1, &[(&tee, 1)]);
    let off = wait_for(&a1, "offline", |s| {
        s.connectivity == Connectivity::Offline && !s.live && s.pending == 1
    });
    let words = off.last_error.clone().unwrap();
    assert!(words.starts_with("No connection to the hub"), "{words}");
    assert_eq!(off.last_error_code.as_deref(), Some("sync.hub_unreachable"));
    assert!(off.failures >= 1);
    // A pass asked for now fails the same way and loses nothing.
    let again = a1.sync_now_and_wait(Duration::from_secs(20));
    assert_eq!(again.pending, 1, "{again:?}");

    // Stopping is prompt even while retrying.
    let t0 = Instant::now();
    a1.stop();
    a2.stop();
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert_eq!(
        t1.json(&["outbox", "--pending"]).as_array().unwrap().len(),
        1
    );
}

#[test]
fn the_loop_refuses_to_start_on_a_till_that_is_not_paired() {
    let t = Cli::gbp();
    let err = SyncAgent::start(AgentOptions::new(&t.dir)).err().unwrap();
    assert_eq!(err.code(), "sync.not_paired");
    let empty = tempfile::tempdir().unwrap();
    let err = SyncAgent::start(AgentOptions::new(empty.path()))
        .err()
        .unwrap();
    assert_eq!(err.code(), "till.not_initialised");
}

#[test]
fn sync_watch_reports_its_status_and_stops_on_sigterm() {
    use std::io::BufRead as _;
    let hub = Hub::start();
    hub.import_kalima();
    let t = Cli::gbp();
    pair(&t, &hub, "Stall 1");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trestle"))
        .args(["--data-dir", t.dir.to_str().unwrap(), "sync", "--watch"])
        .env_remove("TRESTLE_LOG")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first_online = loop {
        let line = lines.next().expect("a status line").unwrap();
        if line.starts_with("online") {
            break line;
        }
    };
    assert!(
        first_online.contains("0 waiting to be sent"),
        "{first_online}"
    );
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
