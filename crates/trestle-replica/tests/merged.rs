//! The incremental post-merge check (`check_merged`): after a merge only the cells the merged
//! changes touched are read, and for those cells it reports exactly what the full `check_stock`
//! reports. A property test keeps a running picture on the hub (which only merges) from the merge
//! reports alone and checks it equals the full check after every merge.
//!
//! `TRESTLE_MERGED_CASES` sets the number of schedules (default 1,000).

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use trestle_core::catalog::Policy;
use trestle_core::ids::{RefundId, SaleId, VariantId};
use trestle_replica::ids::{CountId, TransferId};
use trestle_replica::invariants::{check_merged, check_stock, touched_cells};
use trestle_replica::*;

/// The hub with one till, the till holding 2 mugs and no prints.
fn hub_and_till() -> (ShopReplica, ShopReplica) {
    let mut hub = hub_with(1, 10);
    hub.transfer(TransferId(uid()), till(1), &[(MUG, q(2))])
        .unwrap();
    let t = join(&mut hub, till(1));
    (hub, t)
}

#[test]
fn a_merge_that_drives_a_made_to_order_counter_negative_reports_that_cell_only() {
    let (mut hub, mut t) = hub_and_till();
    t.sell(SaleId(uid()), &[(PRINT, q(3))]).unwrap();
    let bytes = t.last_change_bytes().unwrap();
    let report = hub.merge_bytes(&bytes).unwrap();
    assert_eq!(report.conflicts.len(), 1, "{:?}", report.conflicts);
    let c = &report.conflicts[0];
    assert_eq!(c.kind, ConflictKind::MadeToOrderShort);
    assert_eq!((c.variant, c.holder), (PRINT, till(1)));
    assert_eq!(c.facts, vec![("free", "-3".into()), ("held", "0".into())]);
    assert_eq!(
        c.resolutions,
        vec![Resolution::MakeMore, Resolution::ContactCustomer]
    );
    assert_eq!(report.conflicts, check_stock(&hub).unwrap());
}

#[test]
fn a_merge_that_touches_nothing_negative_reports_nothing() {
    let (mut hub, mut t) = hub_and_till();
    // The till's own print goes negative locally; the hub hears of it once.
    t.sell(SaleId(uid()), &[(PRINT, q(1))]).unwrap();
    let report = hub.merge_bytes(&t.last_change_bytes().unwrap()).unwrap();
    assert_eq!(report.conflicts.len(), 1);
    // A mug sale touches only the till's mug counter: nothing to report, though the print is
    // still short (the full check still sees it).
    let before = hub.heads();
    t.sell(SaleId(uid()), &[(MUG, q(1))]).unwrap();
    let report = hub.merge_bytes(&t.last_change_bytes().unwrap()).unwrap();
    assert!(report.heads_changed);
    assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);
    assert_eq!(
        touched_cells(&mut hub, &before).unwrap(),
        vec![(MUG, till(1))]
    );
    assert_eq!(check_stock(&hub).unwrap().len(), 1);
    // Merging the same bytes again changes nothing and reports nothing.
    let report = hub.merge_bytes(&t.last_change_bytes().unwrap()).unwrap();
    assert!(!report.heads_changed && report.conflicts.is_empty());
}

#[test]
fn a_stock_rule_change_rechecks_every_counter_of_that_variant() {
    let (mut hub, mut t) = hub_and_till();
    t.sell(SaleId(uid()), &[(PRINT, q(2))]).unwrap();
    let _ = hub.merge(&mut t).unwrap();
    // The hub makes the print `deny`: the till hears that its print is now oversold.
    hub.set_variant(PRINT, &fields("Print", Policy::Deny, true))
        .unwrap();
    let report = t.merge(&mut hub).unwrap();
    assert_eq!(report.conflicts.len(), 1, "{:?}", report.conflicts);
    assert_eq!(report.conflicts[0].kind, ConflictKind::NegativeStock);
    assert_eq!(report.conflicts, check_stock(&t).unwrap());
}

#[test]
fn a_carry_into_the_new_epoch_is_checked_when_merged() {
    let (mut hub, mut t) = hub_and_till();
    let _ = hub.merge(&mut t).unwrap();
    let (mut next, archive) = hub.rebase().unwrap();
    let mut tn = t.adopt_epoch(&next.save()).unwrap();
    // The till sells a print it does not have in the OLD epoch (offline across the rebase); the
    // hub carries it into the new one, and the till's new-epoch replica merges the carry.
    t.sell(SaleId(uid()), &[(PRINT, q(4))]).unwrap();
    let mut old = ShopReplica::open_archive(Holder::Hub, &archive.bytes).unwrap();
    let _ = old.merge_bytes(&t.save()).unwrap();
    next.carry_over(&mut old, till(1)).unwrap().unwrap();
    let report = tn.merge_bytes(&next.save()).unwrap();
    assert_eq!(report.conflicts.len(), 1, "{:?}", report.conflicts);
    assert_eq!(report.conflicts[0].kind, ConflictKind::MadeToOrderShort);
    assert_eq!(report.conflicts, check_stock(&tn).unwrap());
}

#[test]
fn sync_messages_are_checked_incrementally_too() {
    let (mut hub, mut t) = hub_and_till();
    t.sell(SaleId(uid()), &[(PRINT, q(1))]).unwrap();
    let (mut ours, mut theirs) = (SyncState::new(), SyncState::new());
    let mut seen = Vec::new();
    for _ in 0..10 {
        let a = t.generate_sync_message(&mut theirs);
        if let Some(m) = &a {
            seen.extend(hub.receive_sync_message(&mut ours, m).unwrap().conflicts);
        }
        let b = hub.generate_sync_message(&mut ours);
        if let Some(m) = &b {
            let _ = t.receive_sync_message(&mut theirs, m).unwrap();
        }
        if a.is_none() && b.is_none() {
            break;
        }
    }
    assert_eq!(hub.heads(), t.heads());
    assert_eq!(seen, check_stock(&hub).unwrap());
}

// ---- the property test ----------------------------------------------------------------------

const TILLS: usize = 3; // replicas 1..=3; 0 is the hub, which only merges

#[derive(Clone, Debug)]
enum Op {
    Sell(usize, bool, u32),
    Refund(usize, bool, u32),
    Transfer(usize, usize, bool, u32),
    Count(usize, bool, i64),
    /// A till flips the print between `continue` and `deny`.
    Flip(usize, bool),
    /// `a` merges `b`: 0 in memory, 1 through saved bytes, 2 through the last change's bytes.
    Merge(usize, usize, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let t = 1..=TILLS;
    let r = 0..=TILLS;
    let n = 1u32..4;
    prop_oneof![
        3 => (t.clone(), any::<bool>(), n.clone()).prop_map(|(a, b, c)| Op::Sell(a, b, c)),
        1 => (t.clone(), any::<bool>(), n.clone()).prop_map(|(a, b, c)| Op::Refund(a, b, c)),
        1 => (t.clone(), r.clone(), any::<bool>(), n).prop_map(|(a, b, c, d)| Op::Transfer(a, b, c, d)),
        1 => (t.clone(), any::<bool>(), -3i64..4).prop_map(|(a, b, c)| Op::Count(a, b, c)),
        1 => (t, any::<bool>()).prop_map(|(a, b)| Op::Flip(a, b)),
        5 => (r.clone(), r, 0u8..3).prop_map(|(a, b, c)| Op::Merge(a, b, c)),
    ]
}

fn cases() -> u32 {
    std::env::var("TRESTLE_MERGED_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000)
}

/// What the hub knows from its merge reports alone: the conflict of each cell last reported.
type Picture = BTreeMap<(VariantId, Holder), Conflict>;

/// `a` merges `b`; checks the report against the full check restricted to the touched cells
/// and, on the hub, the picture against the full check.
fn merge(
    reps: &mut [ShopReplica],
    a: usize,
    b: usize,
    how: u8,
    picture: &mut Picture,
) -> Result<(), TestCaseError> {
    if a == b {
        return Ok(());
    }
    let before = reps[a].heads();
    let full_before = check_stock(&reps[a]).unwrap();
    let report = match how {
        0 => {
            let (x, y) = if a < b {
                let (l, r) = reps.split_at_mut(b);
                (&mut l[a], &mut r[0])
            } else {
                let (l, r) = reps.split_at_mut(a);
                (&mut r[0], &mut l[b])
            };
            x.merge(y).unwrap()
        }
        1 => {
            let bytes = reps[b].save();
            reps[a].merge_bytes(&bytes).unwrap()
        }
        _ => match reps[b].last_change_bytes() {
            // The change may depend on ones `a` lacks: Automerge queues it until they arrive.
            Some(bytes) => reps[a].merge_bytes(&bytes).unwrap(),
            None => return Ok(()),
        },
    };
    let r = &mut reps[a];
    let touched = touched_cells(r, &before).unwrap();
    let full = check_stock(r).unwrap();
    let restricted: Vec<Conflict> = full
        .iter()
        .filter(|c| touched.contains(&(c.variant, c.holder)))
        .cloned()
        .collect();
    prop_assert_eq!(&report.conflicts, &restricted);
    prop_assert_eq!(&check_merged(r, &before).unwrap(), &restricted);
    // Nothing the merge did not touch changed its verdict.
    for c in full
        .iter()
        .filter(|c| !touched.contains(&(c.variant, c.holder)))
    {
        prop_assert!(full_before.contains(c), "unreported change: {:?}", c);
    }
    if a == 0 {
        for &cell in &touched {
            picture.remove(&cell);
        }
        for c in report.conflicts {
            picture.insert((c.variant, c.holder), c);
        }
        let known: Vec<&Conflict> = picture.values().collect();
        let mut full: Vec<&Conflict> = full.iter().collect();
        full.sort_by_key(|c| (c.variant, c.holder));
        prop_assert_eq!(known, full);
    }
    Ok(())
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut hub = hub_with(TILLS as u128, 10);
    for t in 1..=TILLS {
        hub.transfer(TransferId(uid()), holder(t), &[(MUG, q(2)), (PRINT, q(1))])
            .unwrap();
    }
    let start = hub.save();
    let mut reps: Vec<ShopReplica> = (0..=TILLS)
        .map(|i| ShopReplica::load(holder(i), &start, &[]).unwrap())
        .collect();
    prop_assert!(check_stock(&reps[0]).unwrap().is_empty());
    let mut picture = Picture::new();
    for op in ops {
        match op {
            Op::Sell(i, m, n) => drop(reps[i].sell(SaleId(uid()), &[(variant(m), q(n))])),
            Op::Refund(i, m, n) => drop(reps[i].refund(RefundId(uid()), &[(variant(m), q(n))])),
            Op::Transfer(i, j, m, n) => {
                drop(reps[i].transfer(TransferId(uid()), holder(j), &[(variant(m), q(n))]))
            }
            Op::Count(i, m, d) => drop(reps[i].count(CountId(uid()), variant(m), d, "count")),
            Op::Flip(i, deny) => {
                let policy = if deny { Policy::Deny } else { Policy::Continue };
                reps[i]
                    .set_variant(PRINT, &fields("Print", policy, true))
                    .unwrap();
            }
            Op::Merge(a, b, how) => merge(&mut reps, a, b, how, &mut picture)?,
        }
    }
    // A full exchange: everyone into the hub, then the hub into everyone.
    for i in 1..=TILLS {
        merge(&mut reps, 0, i, 0, &mut picture)?;
    }
    for i in 1..=TILLS {
        merge(&mut reps, i, 0, 0, &mut picture)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn incremental_check_equals_the_full_check_on_what_the_merge_touched(
        ops in prop::collection::vec(op(), 1..25)
    ) {
        run(ops)?;
    }
}
