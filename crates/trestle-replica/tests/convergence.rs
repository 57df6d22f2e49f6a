//! Property test: random schedules of operations on three tills and the hub, with random
//! partitions and merges in random orders and pairings (in memory or through saved bytes),
//! never break the `deny` invariant on any replica at any point, conserve stock exactly, and
//! converge to the same heads and counter values after a final full exchange.
//!
//! CI runs `TRESTLE_PROPTEST_CASES` schedules (default 10,000; about a minute in a debug build).
//! The long run:
//! `TRESTLE_PROPTEST_CASES=200000 cargo test --release -p trestle-replica --test convergence`

mod common;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use trestle_core::ids::{RefundId, SaleId};
use trestle_replica::ids::{CollectId, CountId, ReservationId, TransferId};
use trestle_replica::invariants::check_stock;
use trestle_replica::*;

const REPLICAS: usize = 4; // 0 = hub, 1..=3 = tills
const START: i64 = 10; // units of each variant, spread over the holders

#[derive(Clone, Debug)]
enum Op {
    Sell(usize, bool, u32),
    Refund(usize, bool, u32),
    Reserve(usize, bool, u32),
    Collect(usize, usize, u32),
    Cancel(usize, usize),
    Transfer(usize, usize, bool, u32),
    Count(usize, bool, i64),
    Merge(usize, usize, bool),
    /// The replica folds its changes that have not left it yet (a till before it sends).
    Fold(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..REPLICAS;
    let n = 1u32..4;
    prop_oneof![
        3 => (r.clone(), any::<bool>(), n.clone()).prop_map(|(a, b, c)| Op::Sell(a, b, c)),
        1 => (r.clone(), any::<bool>(), n.clone()).prop_map(|(a, b, c)| Op::Refund(a, b, c)),
        2 => (r.clone(), any::<bool>(), n.clone()).prop_map(|(a, b, c)| Op::Reserve(a, b, c)),
        1 => (r.clone(), 0usize..4, n.clone()).prop_map(|(a, b, c)| Op::Collect(a, b, c)),
        1 => (r.clone(), 0usize..4).prop_map(|(a, b)| Op::Cancel(a, b)),
        2 => (r.clone(), r.clone(), any::<bool>(), n).prop_map(|(a, b, c, d)| Op::Transfer(a, b, c, d)),
        1 => (r.clone(), any::<bool>(), -3i64..4).prop_map(|(a, b, c)| Op::Count(a, b, c)),
        4 => (r.clone(), r.clone(), any::<bool>()).prop_map(|(a, b, c)| Op::Merge(a, b, c)),
        2 => r.prop_map(Op::Fold),
    ]
}

/// The starting document: the hub with counters for three tills, each till allocated 2 of each
/// variant (the hub keeps 4).
fn start() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut hub = hub_with(3, START);
        for t in 1..=3 {
            hub.transfer(TransferId(uid()), till(t), &[(MUG, q(2)), (PRINT, q(2))])
                .unwrap();
        }
        hub.save()
    })
}

fn no_oversell(r: &ShopReplica) -> Result<(), TestCaseError> {
    let bad: Vec<_> = check_stock(r)
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == ConflictKind::NegativeStock)
        .collect();
    prop_assert!(
        bad.is_empty(),
        "deny invariant broken on {:?}: {:?}",
        r.holder(),
        bad
    );
    Ok(())
}

fn cases() -> u32 {
    std::env::var("TRESTLE_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

/// One schedule: run it, checking the invariant after every step, then exchange everything.
fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut reps: Vec<ShopReplica> = (0..REPLICAS)
        .map(|i| ShopReplica::load(holder(i), start(), &[]).unwrap())
        .collect();
    let mut reservations: Vec<Vec<ReservationId>> = vec![Vec::new(); REPLICAS];
    // Per replica, the heads of everything that has left it (its changes beyond them are its
    // alone, so it may fold them).
    let mut sent: Vec<Vec<automerge::ChangeHash>> = reps.iter_mut().map(|r| r.heads()).collect();
    // Expected on_hand per variant (mug, print) from the operations that succeeded.
    let mut on_hand = [START, START];
    for op in ops {
        let acted = match op {
            Op::Sell(i, m, n) => {
                if reps[i].sell(SaleId(uid()), &[(variant(m), q(n))]).is_ok() {
                    on_hand[usize::from(!m)] -= i64::from(n);
                }
                i
            }
            Op::Refund(i, m, n) => {
                reps[i]
                    .refund(RefundId(uid()), &[(variant(m), q(n))])
                    .unwrap();
                on_hand[usize::from(!m)] += i64::from(n);
                i
            }
            Op::Reserve(i, m, n) => {
                let id = ReservationId(uid());
                let r = NewReservation {
                    id,
                    code: "R".into(),
                    customer: "C".into(),
                    event: None,
                    payment: PaymentState::Paid,
                    lines: vec![(variant(m), q(n))],
                    details: Default::default(),
                };
                if reps[i].reserve(&r).is_ok() {
                    reservations[i].push(id);
                }
                i
            }
            Op::Collect(i, k, n) => {
                if let Some(id) = reservations[i].get(k).copied() {
                    for m in [true, false] {
                        if reps[i]
                            .collect(CollectId(uid()), id, &[(variant(m), q(n))])
                            .is_ok()
                        {
                            on_hand[usize::from(!m)] -= i64::from(n);
                        }
                    }
                }
                i
            }
            Op::Cancel(i, k) => {
                if let Some(id) = reservations[i].get(k).copied() {
                    let _ = reps[i].cancel(id);
                }
                i
            }
            Op::Transfer(i, j, m, n) => {
                let _ = reps[i].transfer(TransferId(uid()), holder(j), &[(variant(m), q(n))]);
                i
            }
            Op::Count(i, m, d) => {
                if d != 0
                    && reps[i]
                        .count(CountId(uid()), variant(m), d, "count")
                        .is_ok()
                {
                    on_hand[usize::from(!m)] += d;
                }
                i
            }
            Op::Fold(i) => {
                let _ = reps[i].fold_unsent(&sent[i]).unwrap();
                i
            }
            Op::Merge(a, b, via_bytes) => {
                if a != b {
                    sent[b] = reps[b].heads();
                    let report = if via_bytes {
                        let bytes = reps[b].save();
                        reps[a].merge_bytes(&bytes).unwrap()
                    } else {
                        let (x, y) = if a < b {
                            let (l, r) = reps.split_at_mut(b);
                            (&mut l[a], &mut r[0])
                        } else {
                            let (l, r) = reps.split_at_mut(a);
                            (&mut r[0], &mut l[b])
                        };
                        x.merge(y).unwrap()
                    };
                    prop_assert!(report
                        .conflicts
                        .iter()
                        .all(|c| c.kind != ConflictKind::NegativeStock));
                }
                a
            }
        };
        no_oversell(&reps[acted])?;
    }
    // Final full exchange: everyone into the hub, then the hub into everyone.
    for i in 1..REPLICAS {
        let (l, r) = reps.split_at_mut(i);
        l[0].merge(&mut r[0]).unwrap();
    }
    for i in 1..REPLICAS {
        let (l, r) = reps.split_at_mut(i);
        r[0].merge(&mut l[0]).unwrap();
    }
    let heads = reps[0].heads();
    let mut levels = reps[0].levels().unwrap();
    for l in &mut levels {
        l.available = 0;
    }
    for r in reps.iter_mut() {
        prop_assert_eq!(r.heads(), heads.clone());
        let mut mine = r.levels().unwrap();
        for l in &mut mine {
            l.available = 0;
        }
        prop_assert_eq!(&mine, &levels);
        no_oversell(r)?;
        prop_assert!(check_stock(r)
            .unwrap()
            .iter()
            .all(|c| c.kind != ConflictKind::NegativeStock));
    }
    for l in levels
        .iter()
        .filter(|l| l.variant == MUG || l.variant == PRINT)
    {
        let expected = on_hand[usize::from(l.variant != MUG)];
        prop_assert_eq!(l.on_hand, expected, "stock conserved for {:?}", l.variant);
    }
    Ok(())
}

// Two shards of `TRESTLE_PROPTEST_CASES / 2` schedules each, so the test harness runs them on two
// cores.
proptest! {
    #![proptest_config(ProptestConfig { cases: cases() / 2, ..ProptestConfig::default() })]

    #[test]
    fn schedules_converge_and_never_oversell_a(ops in prop::collection::vec(op(), 1..17)) {
        run(ops)?;
    }

    #[test]
    fn schedules_converge_and_never_oversell_b(ops in prop::collection::vec(op(), 1..17)) {
        run(ops)?;
    }
}
