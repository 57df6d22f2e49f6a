//! Rough costs (not a benchmark; the formal one lives in trestle-bench): a local sale and
//! applying a remote sale at small and large history, with and without a rebase, plus the
//! building blocks the property test uses. Run with
//! `cargo test --release -p trestle-replica --test cost -- --ignored --nocapture`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use trestle_core::ids::SaleId;
use trestle_replica::ids::TransferId;
use trestle_replica::invariants::check_stock;
use trestle_replica::*;

fn per(total: Duration, n: u32) -> String {
    format!(
        "{:>8.1} µs",
        total.as_nanos() / u128::from(n) / 100 * 100 / 1000
    )
}

/// Hub and till with `history` sales already made by the till and merged into the hub.
fn with_history(history: u32) -> (ShopReplica, ShopReplica) {
    let mut hub = hub_with(1, 1_000_000);
    hub.transfer(
        TransferId(uid()),
        till(1),
        &[(MUG, q(100_000)), (PRINT, q(100_000))],
    )
    .unwrap();
    let mut t = join(&mut hub, till(1));
    for _ in 0..history {
        t.sell(SaleId(uid()), &[(MUG, q(1))]).unwrap();
    }
    let _ = hub.merge(&mut t).unwrap();
    (hub, t)
}

fn measure(label: &str, hub: &mut ShopReplica, t: &mut ShopReplica) {
    let n = 200;
    let mut local = Duration::ZERO;
    let mut remote = Duration::ZERO;
    let mut fetch = Duration::ZERO;
    for _ in 0..n {
        let start = Instant::now();
        t.sell(SaleId(uid()), &[(MUG, q(1))]).unwrap();
        local += start.elapsed();
        let start = Instant::now();
        let bytes = t.last_change_bytes().unwrap();
        fetch += start.elapsed();
        let start = Instant::now();
        let _ = hub.merge_bytes(&bytes).unwrap();
        remote += start.elapsed();
    }
    eprintln!(
        "{label:<34} local sale {}   last_change_bytes {}   apply remote sale (+ check) {}",
        per(local, n),
        per(fetch, n),
        per(remote, n)
    );
}

#[test]
#[ignore = "timing; run explicitly in release"]
fn cost_of_a_sale_as_history_grows() {
    for history in [1_000, 10_000, 30_000] {
        let (mut hub, mut t) = with_history(history);
        measure(&format!("history {history}"), &mut hub, &mut t);
        let (mut next, _archive) = hub.rebase().unwrap();
        let mut tn = t.adopt_epoch(&next.save()).unwrap();
        measure(
            &format!("history {history}, after rebase"),
            &mut next,
            &mut tn,
        );
    }
}

#[test]
#[ignore = "timing; run explicitly in release"]
fn cost_of_the_building_blocks() {
    let mut hub = hub_with(3, 10);
    let bytes = hub.save();
    let n = 200;
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        per(start.elapsed(), n)
    };
    eprintln!(
        "load snapshot   {}",
        time(&mut || drop(ShopReplica::load(Holder::Hub, &bytes, &[]).unwrap()))
    );
    eprintln!("save            {}", time(&mut || drop(hub.save())));
    eprintln!(
        "check_stock     {}",
        time(&mut || drop(check_stock(&hub).unwrap()))
    );
    let mut t = join(&mut hub, till(1));
    eprintln!(
        "merge (same)    {}",
        time(&mut || drop(hub.merge(&mut t).unwrap()))
    );
    eprintln!(
        "count op        {}",
        time(&mut || {
            hub.count(trestle_replica::ids::CountId(uid()), MUG, 1, "x")
                .unwrap();
        })
    );
}

#[test]
#[ignore = "timing; run explicitly in release"]
fn cost_of_the_check_after_a_merge_with_many_counters() {
    use trestle_core::catalog::Policy;
    use trestle_replica::invariants::{check_merged, touched_cells};
    for variants in [200u128, 2_000] {
        let mut hub = ShopReplica::create(SHOP, Holder::Hub).unwrap();
        let ids: Vec<_> = (0..variants)
            .map(|i| trestle_core::ids::VariantId(uuid::Uuid::from_u128(0xB000 + i)))
            .collect();
        for (i, v) in ids.iter().enumerate() {
            hub.add_variant(*v, &fields(&format!("v{i}"), Policy::Deny, true))
                .unwrap();
            hub.ensure_holder(*v, Holder::Hub).unwrap();
            hub.ensure_holder(*v, till(1)).unwrap();
            hub.count(trestle_replica::ids::CountId(uid()), *v, 2_000, "x")
                .unwrap();
        }
        for chunk in ids.chunks(50) {
            let lines: Vec<_> = chunk.iter().map(|v| (*v, q(1_000))).collect();
            hub.transfer(TransferId(uid()), till(1), &lines).unwrap();
        }
        let mut t = join(&mut hub, till(1));
        let n = 200;
        let mut touched = Duration::ZERO;
        let (mut merge, mut full, mut incremental) =
            (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for k in 0..n {
            let lines = [
                (ids[k as usize % ids.len()], q(1)),
                (ids[(k as usize * 7 + 3) % ids.len()], q(1)),
            ];
            t.sell(SaleId(uid()), &lines).unwrap();
            let bytes = t.last_change_bytes().unwrap();
            let before = hub.heads();
            let start = Instant::now();
            let _ = hub.merge_bytes(&bytes).unwrap();
            merge += start.elapsed();
            let start = Instant::now();
            drop(check_merged(&mut hub, &before).unwrap());
            incremental += start.elapsed();
            let start = Instant::now();
            assert_eq!(touched_cells(&mut hub, &before).unwrap().len(), 2);
            touched += start.elapsed();
            let start = Instant::now();
            drop(check_stock(&hub).unwrap());
            full += start.elapsed();
        }
        eprintln!(
            "{variants:>5} variants × 2 holders: merge_bytes (+ incremental check) {}   check_stock alone {}   check_merged alone {}",
            per(merge, n),
            per(full, n),
            per(incremental, n)
        );
        eprintln!("   of which touched_cells {}", per(touched, n));
    }
}
