//! Epochs: a rebase keeps every value; a till offline across the rebase that keeps selling in
//! the old epoch has its late changes carried once — nothing lost, nothing counted twice — and
//! cannot move to the new epoch before they are carried.

mod common;

use std::collections::BTreeMap;

use common::*;
use trestle_core::ids::SaleId;
use trestle_replica::ids::{ReservationId, TransferId};
use trestle_replica::invariants::{audit_ledger, check_stock};
use trestle_replica::*;

fn sell(r: &mut ShopReplica, n: u32) {
    r.sell(SaleId(uid()), &[(MUG, q(n))]).unwrap();
}

fn all_levels(r: &ShopReplica) -> Vec<VariantLevel> {
    let mut l = r.levels().unwrap();
    for v in &mut l {
        v.available = 0;
    }
    l
}

fn reserve(r: &mut ShopReplica, n: u32) -> ReservationId {
    let id = ReservationId(uid());
    r.reserve(&NewReservation {
        id,
        code: "AB12".into(),
        customer: "Grace".into(),
        event: None,
        payment: PaymentState::PayOnPickup,
        lines: vec![(MUG, q(n))],
        details: Default::default(),
    })
    .unwrap();
    id
}

#[test]
fn a_rebase_keeps_every_value_and_the_archive() {
    let mut hub = hub_with(2, 20);
    hub.transfer(TransferId(uid()), till(1), &[(MUG, q(6)), (PRINT, q(2))])
        .unwrap();
    let mut t1 = join(&mut hub, till(1));
    sell(&mut t1, 2);
    let kept = reserve(&mut t1, 1);
    let done = reserve(&mut t1, 1);
    t1.cancel(done).unwrap();
    let _ = hub.merge(&mut t1).unwrap();
    let old_heads = hub.heads();
    let before = all_levels(&hub);

    let (mut next, archive) = hub.rebase().unwrap();
    assert_eq!(next.epoch(), 1);
    assert_eq!(archive.epoch, 0);
    assert_eq!(archive.heads, old_heads);
    assert_eq!(next.prev_heads().unwrap(), old_heads);
    assert_eq!(all_levels(&next), before);
    assert_eq!(next.variant(MUG).unwrap(), hub.variant(MUG).unwrap());
    assert_eq!(next.heads().len(), 1, "one genesis change");
    // The open reservation travelled; the cancelled one stays in the archive.
    let mut t1n = t1.adopt_epoch(&next.save()).unwrap();
    assert_eq!(t1n.cancel(kept).map(|_| ()), Ok(()));
    assert_eq!(t1n.cancel(done).unwrap_err().code(), "reservation.unknown");
    // Counters restart from the captured values and keep counting.
    sell(&mut t1n, 1);
    let _ = next.merge(&mut t1n).unwrap();
    assert_eq!(level(&next, MUG, till(1)), (6 - 2 - 1, 0));
    let mut reopened = ShopReplica::open_archive(Holder::Hub, &archive.bytes).unwrap();
    assert_eq!(reopened.heads(), old_heads);
    assert_eq!(ShopReplica::epoch_of(&archive.bytes).unwrap(), 0);
    // Only the creator rebases.
    assert_eq!(t1.rebase().unwrap_err().code(), "replica.not_creator");
}

#[test]
fn a_till_offline_across_a_rebase_loses_nothing_and_counts_nothing_twice() {
    let mut hub = hub_with(2, 20);
    hub.transfer(TransferId(uid()), till(1), &[(MUG, q(5))])
        .unwrap();
    hub.transfer(TransferId(uid()), till(2), &[(MUG, q(5))])
        .unwrap();
    let mut t1 = join(&mut hub, till(1));
    let mut t2 = join(&mut hub, till(2));
    sell(&mut t1, 1);
    sell(&mut t2, 1);
    let _ = hub.merge(&mut t1).unwrap();
    let _ = hub.merge(&mut t2).unwrap();
    let _ = t1.merge(&mut hub).unwrap();
    let _ = t2.merge(&mut hub).unwrap();
    let mut acks = BTreeMap::new();
    for t in [till(1), till(2)] {
        acks.insert(t, hub.heads());
    }
    assert!(hub.ready_to_rebase(&acks).unwrap());

    // The hub rebases; till 2 is offline and keeps selling in epoch 0.
    let (mut next, archive) = hub.rebase().unwrap();
    sell(&mut t2, 2);
    let r = reserve(&mut t2, 1);
    t2.transfer(TransferId(uid()), Holder::Hub, &[(MUG, q(1))])
        .unwrap();
    // Till 1 was online: its changes are in the genesis, so it moves on at once.
    let mut t1n = t1.adopt_epoch(&next.save()).unwrap();
    sell(&mut t1n, 1);
    let _ = next.merge(&mut t1n).unwrap();
    // Till 2 cannot move on yet: its late changes are not counted in epoch 1.
    assert_eq!(
        t2.adopt_epoch(&next.save()).unwrap_err().code(),
        "epoch.carry_pending"
    );

    // Till 2 comes back: the hub merges its old-epoch changes into the archive and carries them.
    let mut old = ShopReplica::open_archive(Holder::Hub, &archive.bytes).unwrap();
    let report = old.merge_bytes(&t2.bytes_after(&archive.heads)).unwrap();
    assert!(report.conflicts.is_empty());
    let carried = next.carry_over(&mut old, till(2)).unwrap();
    assert!(carried.is_some());
    // Idempotent: again, or after the same bytes arrive twice, nothing more is carried.
    let _ = old.merge_bytes(&t2.save()).unwrap();
    assert_eq!(next.carry_over(&mut old, till(2)).unwrap(), None);

    // Nothing lost, nothing twice: 20 units; 1+1+2 sold in epoch 0, 1 in epoch 1.
    let mug = next
        .levels()
        .unwrap()
        .into_iter()
        .find(|l| l.variant == MUG)
        .unwrap();
    assert_eq!(mug.on_hand, 20 - 5);
    assert_eq!(level(&next, MUG, till(2)), (5 - 1 - 2 - 1 - 1, 1));
    assert_eq!(level(&next, MUG, Holder::Hub), (20 - 10 + 1, 0));
    assert_eq!(level(&next, MUG, till(1)), (5 - 1 - 1, 0));
    assert!(check_stock(&next).unwrap().is_empty());

    // A second late batch (made in epoch 0 after the first carry) is carried on its own.
    t2.count(
        trestle_replica::ids::CountId(uid()),
        MUG,
        2,
        "found in the van",
    )
    .unwrap();
    sell(&mut t2, 1);
    let _ = old.merge_bytes(&t2.save()).unwrap();
    assert!(next.carry_over(&mut old, till(2)).unwrap().is_some());
    assert_eq!(next.carry_over(&mut old, till(2)).unwrap(), None);
    assert_eq!(level(&next, MUG, till(2)), (1, 1));
    let mug = next
        .levels()
        .unwrap()
        .into_iter()
        .find(|l| l.variant == MUG)
        .unwrap();
    assert_eq!(mug.on_hand, 20 - 5 + 2 - 1);

    // Till 2 merges the hub's archive and moves on; its reservation came along.
    let _ = t2.merge_bytes(&old.save()).unwrap();
    let mut t2n = t2.adopt_epoch(&next.save()).unwrap();
    let _ = t2n.merge(&mut next).unwrap();
    assert_eq!(level(&t2n, MUG, till(2)), (1, 1));
    t2n.cancel(r).unwrap();
    assert_eq!(level(&t2n, MUG, till(2)), (2, 0));

    // The audit across epochs: the archive's tally plus the new epoch's.
    let mut trail = AuditTrail::new();
    trail.update(&mut old).unwrap();
    let mut trail_next = AuditTrail::new();
    trail_next.update(&mut next).unwrap();
    trail.absorb(&trail_next);
    let ledger: BTreeMap<_, _> = [(MUG, 1 + 2 + 1)].into_iter().collect();
    assert!(audit_ledger(&next, &trail, till(2), &ledger)
        .unwrap()
        .is_empty());
    let ledger1: BTreeMap<_, _> = [(MUG, 2)].into_iter().collect();
    assert!(audit_ledger(&next, &trail, till(1), &ledger1)
        .unwrap()
        .is_empty());
}

#[test]
fn a_till_alone_rebases_whenever_it_likes() {
    let me = till(1);
    let mut r = ShopReplica::create(SHOP, me).unwrap();
    r.add_variant(
        MUG,
        &fields("Mug", trestle_core::catalog::Policy::Deny, true),
    )
    .unwrap();
    r.ensure_holder(MUG, me).unwrap();
    r.count(trestle_replica::ids::CountId(uid()), MUG, 50, "made")
        .unwrap();
    for _ in 0..10 {
        sell(&mut r, 1);
    }
    assert!(r.ready_to_rebase(&BTreeMap::new()).unwrap());
    let (mut next, _archive) = r.rebase().unwrap();
    assert_eq!(next.role(), Role::Creator);
    sell(&mut next, 1);
    assert_eq!(next.available(MUG).unwrap(), 39);
    // Wrong epochs are refused.
    assert_eq!(next.merge(&mut r).unwrap_err().code(), "epoch.mismatch");
}
