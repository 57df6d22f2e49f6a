//! Hand-overs at an event with several tills: any till may hand a reservation over (the holder
//! from its `held`, another from its own `free`); the holder takes the other's in or, when the
//! goods already went out, refuses it — a double hand-over that is never merged silently. And
//! expiry releases what is still held.

mod common;

use common::*;
use trestle_replica::ids::{CollectId, ReservationId, TransferId};
use trestle_replica::*;

/// The hub, holder till 1 and other till 2, both with 3 mugs free; a reservation of 2 mugs
/// handed to till 1. Returns (hub, till 1, till 2, reservation).
fn event() -> (ShopReplica, ShopReplica, ShopReplica, ReservationId) {
    let mut hub = hub_with(2, 20);
    hub.transfer(TransferId(uid()), till(1), &[(MUG, q(3))])
        .unwrap();
    hub.transfer(TransferId(uid()), till(2), &[(MUG, q(3))])
        .unwrap();
    let id = ReservationId(uid());
    hub.reserve(&NewReservation {
        id,
        code: "K7QM4WX".into(),
        customer: "Grace".into(),
        event: None,
        payment: PaymentState::PayOnPickup,
        lines: vec![(MUG, q(2))],
        details: ReservationDetails {
            paid_minor: 500,
            ..Default::default()
        },
    })
    .unwrap();
    hub.hand_over_reservation(TransferId(uid()), id, till(1))
        .unwrap();
    let t1 = join(&mut hub, till(1));
    let t2 = join(&mut hub, till(2));
    (hub, t1, t2, id)
}

#[test]
fn another_till_hands_over_from_its_own_stock_and_the_holder_takes_it_in() {
    let (_, mut t1, mut t2, id) = event();
    t2.collect_for_holder(CollectId(uid()), id, &[(MUG, q(2))], "S2-000001", 500)
        .unwrap();
    assert_eq!(level(&t2, MUG, till(2)), (1, 0), "from till 2's free");
    let r = t2.reservation(id).unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.remaining(MUG), r.credit_left()),
        ("held", 0, 0)
    );
    // Till 2 itself cannot hand it over again.
    let again = t2.collect_for_holder(CollectId(uid()), id, &[(MUG, q(1))], "", 0);
    assert_eq!(again.unwrap_err().code(), "reservation.collect_too_many");
    t1.merge(&mut t2).unwrap();
    let settled = t1.settle_handovers().unwrap();
    assert_eq!(settled.len(), 1);
    assert!(settled[0].accepted);
    let r = t1.reservation(id).unwrap().unwrap();
    assert_eq!(r.status, "collected");
    assert_eq!(r.applied_minor, 500);
    assert_eq!(
        level(&t1, MUG, till(1)),
        (5, 0),
        "the holder's held units are free again"
    );
    assert!(r.double_handovers().is_empty());
    assert!(t1.settle_handovers().unwrap().is_empty(), "once");
}

#[test]
fn two_tills_that_could_not_see_each_other_make_a_conflict_not_a_silent_double_hand_over() {
    let (mut hub, mut t1, mut t2, id) = event();
    t1.collect(CollectId(uid()), id, &[(MUG, q(2))]).unwrap();
    t2.collect_for_holder(CollectId(uid()), id, &[(MUG, q(2))], "", 0)
        .unwrap();
    // The hub sees both before the holder settles: already a double hand-over.
    hub.merge(&mut t1).unwrap();
    hub.merge(&mut t2).unwrap();
    let r = hub.reservation(id).unwrap().unwrap();
    assert_eq!(r.double_handovers().len(), 1);
    // The holder refuses the second; the record stays for a person to decide.
    t1.merge(&mut t2).unwrap();
    let settled = t1.settle_handovers().unwrap();
    assert_eq!(settled.len(), 1);
    assert!(!settled[0].accepted);
    assert_eq!(settled[0].status_before, "collected");
    let r = t1.reservation(id).unwrap().unwrap();
    assert_eq!(r.double_handovers()[0].state, "refused");
    assert_eq!(level(&t1, MUG, till(1)), (3, 0), "nothing released twice");
    // The holder itself will not hand over what another till's pending hand-over covers.
    let (_, mut t1b, mut t2b, id2) = event();
    t2b.collect_for_holder(CollectId(uid()), id2, &[(MUG, q(1))], "", 0)
        .unwrap();
    t1b.merge(&mut t2b).unwrap();
    let e = t1b
        .collect(CollectId(uid()), id2, &[(MUG, q(2))])
        .unwrap_err();
    assert_eq!(e.code(), "reservation.collect_too_many");
}

#[test]
fn an_expired_hold_goes_back_on_sale_once() {
    let (_, mut t1, _, id) = event();
    t1.expire(id).unwrap();
    assert_eq!(level(&t1, MUG, till(1)), (5, 0));
    assert_eq!(t1.reservation(id).unwrap().unwrap().status, "expired");
    assert_eq!(t1.expire(id).unwrap_err().code(), "reservation.closed");
    assert_eq!(
        t1.collect(CollectId(uid()), id, &[(MUG, q(1))])
            .unwrap_err()
            .code(),
        "reservation.closed"
    );
}
