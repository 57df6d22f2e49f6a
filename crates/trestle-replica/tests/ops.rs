//! Every operation's success and refusal (a refusal writes nothing: same heads before and after),
//! the lost-increment hazard the creator-only rule prevents, loading garbage, and the invariant
//! and audit conflicts.

mod common;

use std::collections::BTreeMap;

use automerge::{transaction::Transactable, AutoCommit, ObjType, ReadDoc, ScalarValue, Value};
use common::*;
use trestle_core::ids::{RefundId, SaleId, VoidId};
use trestle_replica::ids::{CollectId, CountId, ReservationId, TransferId};
use trestle_replica::invariants::{audit_ledger, check_stock};
use trestle_replica::*;

fn sale() -> SaleId {
    SaleId(uid())
}

fn reservation(
    lines: Vec<(trestle_core::ids::VariantId, trestle_core::catalog::Qty)>,
) -> NewReservation {
    NewReservation {
        id: ReservationId(uid()),
        code: "K7Q2".into(),
        customer: "Ada".into(),
        event: None,
        payment: PaymentState::Deposit,
        lines,
        details: Default::default(),
    }
}

/// A till holding 5 mugs and 5 prints, allocated by the hub.
fn till_with_stock() -> (ShopReplica, ShopReplica) {
    let mut hub = hub_with(1, 10);
    hub.transfer(TransferId(uid()), till(1), &[(MUG, q(5)), (PRINT, q(5))])
        .unwrap();
    let t = join(&mut hub, till(1));
    (hub, t)
}

#[test]
fn a_sale_is_one_change_named_by_its_id_and_decrements_only_tracked_variants() {
    let (_, mut t) = till_with_stock();
    let id = sale();
    let before = t.heads();
    t.sell(id, &[(MUG, q(2)), (CARD, q(1)), (MUG, q(1)), (PRINT, q(1))])
        .unwrap();
    assert_eq!(level(&t, MUG, till(1)), (2, 0));
    assert_eq!(level(&t, PRINT, till(1)), (4, 0));
    assert!(
        t.stock_of(CARD).unwrap().is_empty(),
        "untracked: no counters"
    );
    let change = t.last_change_bytes().unwrap();
    let mut other = ShopReplica::load(till(2), &t.save(), &[]).unwrap();
    let _ = other.merge_bytes(&change).unwrap();
    let heads = t.heads();
    assert_eq!(heads.len(), 1);
    assert_ne!(heads, before);
    // The change's message names the sale.
    let doc = AutoCommit::load(&t.save()).unwrap();
    let last = doc.get_change_by_hash(&heads[0]).unwrap();
    assert_eq!(last.message(), Some(format!("sale:{id}").as_str()));
}

#[test]
fn a_refused_sale_names_the_variant_and_the_shortfall_and_writes_nothing() {
    let (_, mut t) = till_with_stock();
    let before = t.heads();
    let err = t.sell(sale(), &[(PRINT, q(1)), (MUG, q(6))]).unwrap_err();
    match &err {
        Error::Short {
            variant,
            title,
            wanted,
            available,
            holder,
        } => {
            assert_eq!(
                (*variant, title.as_str(), *wanted, *available),
                (MUG, "Mug", 6, 5)
            );
            assert_eq!(*holder, till(1));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.code(), "stock.short");
    assert_eq!(t.heads(), before);
    assert_eq!(level(&t, PRINT, till(1)), (5, 0), "no partial change");
    // Nothing pending either: the next change is clean.
    t.sell(sale(), &[(MUG, q(5))]).unwrap();
    assert_eq!(level(&t, PRINT, till(1)), (5, 0));
}

#[test]
fn made_to_order_variants_sell_below_zero_but_cannot_be_given_away() {
    let (_, mut t) = till_with_stock();
    t.sell(sale(), &[(PRINT, q(8))]).unwrap();
    assert_eq!(level(&t, PRINT, till(1)), (-3, 0));
    let before = t.heads();
    let err = t
        .transfer(TransferId(uid()), Holder::Hub, &[(PRINT, q(1))])
        .unwrap_err();
    assert_eq!(err.code(), "stock.short");
    assert_eq!(t.heads(), before);
    let conflicts = check_stock(&t).unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].kind, ConflictKind::MadeToOrderShort);
}

#[test]
fn a_holder_without_counters_gets_no_stock_and_nothing_is_created() {
    let mut hub = hub_with(1, 10);
    let mut stranger = join(&mut hub, till(9));
    let before = stranger.heads();
    let err = stranger.sell(sale(), &[(MUG, q(1))]).unwrap_err();
    assert_eq!(err.code(), "stock.not_held");
    assert_eq!(stranger.heads(), before);
    assert!(stranger
        .stock_of(MUG)
        .unwrap()
        .iter()
        .all(|l| l.holder != till(9)));
    let err = hub
        .transfer(TransferId(uid()), till(9), &[(MUG, q(1))])
        .unwrap_err();
    assert_eq!(err.code(), "stock.not_held");
    // Only the creator may create counters.
    let err = stranger.ensure_holder(MUG, till(9)).unwrap_err();
    assert_eq!(err.code(), "replica.not_creator");
    assert_eq!(stranger.heads(), before);
}

#[test]
fn refund_and_void_put_units_back_on_the_holders_free() {
    let (_, mut t) = till_with_stock();
    t.sell(sale(), &[(MUG, q(3))]).unwrap();
    t.refund(RefundId(uid()), &[(MUG, q(1)), (CARD, q(1))])
        .unwrap();
    t.void(VoidId(uid()), &[(MUG, q(2))]).unwrap();
    assert_eq!(level(&t, MUG, till(1)), (5, 0));
    let before = t.heads();
    assert_eq!(
        t.refund(RefundId(uid()), &[]).unwrap_err().code(),
        "ops.no_lines"
    );
    assert_eq!(t.heads(), before);
}

#[test]
fn reserve_collect_and_cancel_move_units_between_free_and_held() {
    let (_, mut t) = till_with_stock();
    let r = reservation(vec![(MUG, q(3)), (CARD, q(1))]);
    t.reserve(&r).unwrap();
    assert_eq!(level(&t, MUG, till(1)), (2, 3));
    t.collect(CollectId(uid()), r.id, &[(MUG, q(1))]).unwrap();
    assert_eq!(level(&t, MUG, till(1)), (2, 2));
    // Refusals write nothing.
    let before = t.heads();
    let err = t
        .collect(CollectId(uid()), r.id, &[(MUG, q(3))])
        .unwrap_err();
    assert_eq!(err.code(), "reservation.collect_too_many");
    assert_eq!(t.reserve(&r).unwrap_err().code(), "replica.already_exists");
    let big = reservation(vec![(PRINT, q(6))]);
    assert_eq!(
        t.reserve(&big).unwrap_err().code(),
        "stock.short",
        "reserve checks continue too"
    );
    assert_eq!(t.heads(), before);
    t.cancel(r.id).unwrap();
    assert_eq!(level(&t, MUG, till(1)), (4, 0));
    let before = t.heads();
    assert_eq!(t.cancel(r.id).unwrap_err().code(), "reservation.closed");
    assert_eq!(
        t.collect(CollectId(uid()), ReservationId(uid()), &[(MUG, q(1))])
            .unwrap_err()
            .code(),
        "reservation.unknown"
    );
    assert_eq!(t.heads(), before);
    // Collect everything: the reservation closes.
    let r2 = reservation(vec![(MUG, q(2))]);
    t.reserve(&r2).unwrap();
    t.collect(CollectId(uid()), r2.id, &[(MUG, q(2))]).unwrap();
    assert_eq!(level(&t, MUG, till(1)), (2, 0));
    assert_eq!(t.cancel(r2.id).unwrap_err().code(), "reservation.closed");
}

#[test]
fn only_the_holder_changes_its_reservation() {
    let (mut hub, mut t) = till_with_stock();
    let r = reservation(vec![(MUG, q(1))]);
    t.reserve(&r).unwrap();
    let _ = hub.merge(&mut t).unwrap();
    let before = hub.heads();
    assert_eq!(
        hub.cancel(r.id).unwrap_err().code(),
        "reservation.not_yours"
    );
    assert_eq!(hub.heads(), before);
}

#[test]
fn a_transfer_moves_free_between_holders_in_one_change() {
    let (mut hub, mut t) = till_with_stock();
    assert_eq!(level(&hub, MUG, Holder::Hub), (5, 0));
    t.transfer(TransferId(uid()), Holder::Hub, &[(MUG, q(2)), (CARD, q(1))])
        .unwrap();
    let _ = hub.merge(&mut t).unwrap();
    assert_eq!(level(&hub, MUG, Holder::Hub), (7, 0));
    assert_eq!(level(&hub, MUG, till(1)), (3, 0));
    let before = t.heads();
    let err = t
        .transfer(TransferId(uid()), till(1), &[(MUG, q(1))])
        .unwrap_err();
    assert_eq!(err.code(), "transfer.to_self");
    let err = t
        .transfer(TransferId(uid()), Holder::Hub, &[(MUG, q(4))])
        .unwrap_err();
    assert_eq!(err.code(), "stock.short");
    assert_eq!(t.heads(), before);
}

#[test]
fn a_count_is_a_delta_with_a_reason_and_cannot_take_deny_stock_below_zero() {
    let (_, mut t) = till_with_stock();
    t.count(CountId(uid()), MUG, -2, "broken in the van")
        .unwrap();
    t.count(CountId(uid()), MUG, 1, "found under the table")
        .unwrap();
    assert_eq!(level(&t, MUG, till(1)), (4, 0));
    let before = t.heads();
    assert_eq!(
        t.count(CountId(uid()), MUG, -5, "x").unwrap_err().code(),
        "stock.short"
    );
    assert_eq!(
        t.count(CountId(uid()), MUG, 0, "x").unwrap_err().code(),
        "count.zero"
    );
    assert_eq!(t.heads(), before);
    t.count(CountId(uid()), PRINT, -7, "misprint").unwrap();
    assert_eq!(level(&t, PRINT, till(1)), (-2, 0));
}

#[test]
fn levels_sum_on_hand_over_holders_and_available_is_own_free() {
    let (_, mut t) = till_with_stock();
    t.reserve(&reservation(vec![(MUG, q(1))])).unwrap();
    let mug = t
        .levels()
        .unwrap()
        .into_iter()
        .find(|l| l.variant == MUG)
        .unwrap();
    assert_eq!((mug.on_hand, mug.available), (10, 4));
    assert_eq!(t.available(MUG).unwrap(), 4);
}

/// Two actors creating the same counter key concurrently: on merge one creation wins and the
/// other side's increments are lost. This is why only the creator creates counters.
#[test]
fn concurrently_created_counters_lose_increments_which_the_api_prevents() {
    let mut base = AutoCommit::new();
    let cell = base
        .put_object(automerge::ROOT, "cell", ObjType::Map)
        .unwrap();
    base.commit();
    let mut a = base.fork().with_actor(automerge::ActorId::from([1u8; 16]));
    let mut b = base.fork().with_actor(automerge::ActorId::from([2u8; 16]));
    a.put(&cell, "free", ScalarValue::counter(0)).unwrap();
    a.increment(&cell, "free", 5).unwrap();
    a.commit();
    b.put(&cell, "free", ScalarValue::counter(0)).unwrap();
    b.increment(&cell, "free", 3).unwrap();
    b.commit();
    a.merge(&mut b).unwrap();
    let value = match a.get(&cell, "free").unwrap() {
        Some((Value::Scalar(s), _)) => s.as_i64().unwrap(),
        other => panic!("{other:?}"),
    };
    assert_ne!(value, 8, "one side's increments are lost");
    assert!(value == 5 || value == 3);

    // With the replica, a till cannot create counters, and operating on missing ones fails:
    // every counter has exactly one creation op, so increments from everyone add up.
    let mut hub = hub_with(2, 10);
    let mut t1 = join(&mut hub, till(1));
    let mut t2 = join(&mut hub, till(2));
    assert_eq!(
        hub.ensure_holder(MUG, till(1)).unwrap(),
        None,
        "exists: no-op"
    );
    assert_eq!(
        t1.ensure_holder(MUG, till(1)).unwrap_err().code(),
        "replica.not_creator"
    );
    assert_eq!(
        t1.ensure_holder(PRINT, till(7)).unwrap_err().code(),
        "replica.not_creator"
    );
    hub.transfer(TransferId(uid()), till(1), &[(MUG, q(4))])
        .unwrap();
    t1.count(CountId(uid()), MUG, 5, "found").unwrap();
    t2.count(CountId(uid()), MUG, 3, "found").unwrap();
    t2.transfer(TransferId(uid()), till(1), &[(MUG, q(2))])
        .unwrap();
    let _ = t1.merge(&mut t2).unwrap();
    let _ = t1.merge(&mut hub).unwrap();
    assert_eq!(level(&t1, MUG, till(1)), (4 + 5 + 2, 0));
}

#[test]
fn garbage_bytes_give_errors_never_panics() {
    let mut hub = hub_with(1, 3);
    let good = hub.save();
    for bad in [
        &b""[..],
        &b"\x85\x6f\x4a\x83garbage"[..],
        &good[..good.len() / 2],
        &[0u8; 64][..],
    ] {
        let e = ShopReplica::load(till(1), bad, &[]).unwrap_err();
        assert!(
            matches!(e.code(), "replica.unreadable" | "replica.malformed"),
            "{e:?}"
        );
        let before = hub.heads();
        if let Err(e) = hub.merge_bytes(bad) {
            assert_eq!(e.code(), "replica.unreadable");
        }
        assert_eq!(hub.heads(), before);
    }
    let mut corrupted = good.clone();
    let mid = corrupted.len() / 2;
    corrupted[mid] ^= 0xFF;
    assert!(ShopReplica::load(till(1), &corrupted, &[]).is_err());
    // A valid Automerge document that is not a shop.
    let mut other = AutoCommit::new();
    other.put(automerge::ROOT, "x", 1).unwrap();
    assert_eq!(
        ShopReplica::load(till(1), &other.save(), &[])
            .unwrap_err()
            .code(),
        "replica.malformed"
    );
    // Another shop's document merged in is undone.
    let mut foreign = ShopReplica::create(ShopId(uuid::Uuid::from_u128(77)), till(5)).unwrap();
    let before = hub.heads();
    assert_eq!(
        hub.merge_bytes(&foreign.save()).unwrap_err().code(),
        "replica.foreign_document"
    );
    assert_eq!(hub.heads(), before);
    // Same actor, other document: Automerge itself refuses (a duplicate change sequence).
    let mut foreign = ShopReplica::create(ShopId(uuid::Uuid::from_u128(78)), Holder::Hub).unwrap();
    assert!(hub.merge_bytes(&foreign.save()).is_err());
    assert_eq!(hub.heads(), before);
    assert_eq!(level(&hub, MUG, Holder::Hub), (3, 0));
}

#[test]
fn a_negative_deny_counter_becomes_a_conflict_not_a_panic() {
    // Forge what the escrow rule forbids: another actor decrementing the till's counter.
    let (mut hub, t) = till_with_stock();
    let mut raw = AutoCommit::load(&hub.save()).unwrap();
    let stock = match raw.get(automerge::ROOT, "stock").unwrap() {
        Some((_, id)) => id,
        None => unreachable!(),
    };
    let per = raw.get(&stock, MUG.to_string()).unwrap().unwrap().1;
    let cell = raw.get(&per, till(1).to_string()).unwrap().unwrap().1;
    raw.increment(&cell, "free", -9).unwrap();
    raw.commit();
    let report = hub.merge_bytes(&raw.save()).unwrap();
    assert_eq!(report.conflicts.len(), 1);
    let c = &report.conflicts[0];
    assert_eq!(c.kind, ConflictKind::NegativeStock);
    assert_eq!((c.variant, c.holder), (MUG, till(1)));
    assert!(c.facts.contains(&("free", "-4".to_string())));
    assert!(c.resolutions.contains(&Resolution::RecountStock));
    drop(t);
}

#[test]
fn the_audit_matches_a_tills_ledger_and_reports_differences() {
    let (mut hub, mut t) = till_with_stock();
    t.sell(sale(), &[(MUG, q(2)), (PRINT, q(1)), (CARD, q(4))])
        .unwrap();
    t.sell(sale(), &[(MUG, q(1))]).unwrap();
    t.refund(RefundId(uid()), &[(MUG, q(1))]).unwrap();
    t.transfer(TransferId(uid()), Holder::Hub, &[(MUG, q(1))])
        .unwrap();
    t.count(CountId(uid()), PRINT, -1, "lost").unwrap();
    hub.sell(sale(), &[(MUG, q(1))]).unwrap();
    let _ = hub.merge(&mut t).unwrap();

    let mut trail = AuditTrail::new();
    assert!(trail.update(&mut hub).unwrap() > 0);
    let ledger: BTreeMap<_, _> = [(MUG, 2), (PRINT, 1), (CARD, 4)].into_iter().collect();
    assert!(audit_ledger(&hub, &trail, till(1), &ledger)
        .unwrap()
        .is_empty());
    assert_eq!(trail.net_sold(Holder::Hub).get(&MUG), Some(&1));

    // A sale the ledger has but the stock never saw (or the other way round) is a conflict.
    let short: BTreeMap<_, _> = [(MUG, 3), (PRINT, 1)].into_iter().collect();
    let conflicts = audit_ledger(&hub, &trail, till(1), &short).unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].kind, ConflictKind::AuditMismatch);
    assert!(conflicts[0]
        .facts
        .contains(&("difference", "1".to_string())));

    // Incremental: only new changes are read.
    assert_eq!(trail.update(&mut hub).unwrap(), 0);
    t.sell(sale(), &[(MUG, q(1))]).unwrap();
    let _ = hub.merge(&mut t).unwrap();
    assert_eq!(trail.update(&mut hub).unwrap(), 1);
    assert_eq!(trail.net_sold(till(1)).get(&MUG), Some(&3));
}

#[test]
fn sync_messages_bring_two_replicas_to_the_same_heads() {
    let (mut hub, mut t) = till_with_stock();
    t.sell(sale(), &[(MUG, q(1))]).unwrap();
    hub.sell(sale(), &[(MUG, q(2))]).unwrap();
    let (mut s1, mut s2) = (SyncState::new(), SyncState::new());
    for _ in 0..10 {
        let mut quiet = true;
        if let Some(m) = t.generate_sync_message(&mut s1) {
            let _ = hub.receive_sync_message(&mut s2, &m).unwrap();
            quiet = false;
        }
        if let Some(m) = hub.generate_sync_message(&mut s2) {
            let _ = t.receive_sync_message(&mut s1, &m).unwrap();
            quiet = false;
        }
        if quiet {
            break;
        }
    }
    assert_eq!(t.heads(), hub.heads());
    assert_eq!(level(&t, MUG, Holder::Hub), (3, 0));
    assert_eq!(
        hub.receive_sync_message(&mut s2, b"nonsense")
            .unwrap_err()
            .code(),
        "replica.unreadable"
    );
}
