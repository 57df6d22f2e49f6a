//! Folding a till's unsent changes before sending (`ShopReplica::fold_unsent`): the same
//! counters, reservations and counts afterwards, two changes instead of many, the audit's net
//! sales unchanged, a peer that merges the fold ends where it would have ended with the
//! originals, and nothing that may have been sent — a received change, another actor's — folded.

mod common;

use automerge::{AutoCommit, ReadDoc};
use common::*;
use trestle_core::ids::{RefundId, SaleId, VoidId};
use trestle_replica::ids::{CollectId, CountId, ReservationId, TransferId};
use trestle_replica::*;

fn new_reservation(
    lines: Vec<(trestle_core::ids::VariantId, trestle_core::catalog::Qty)>,
) -> NewReservation {
    NewReservation {
        id: ReservationId(uid()),
        code: "F0LD".into(),
        customer: "Ada".into(),
        event: None,
        payment: PaymentState::Paid,
        lines,
        details: Default::default(),
    }
}

/// What a person can see of a replica: every holder's counters and the reservations.
fn picture(r: &ShopReplica) -> (Vec<VariantLevel>, Vec<ReservationView>) {
    (r.levels().unwrap(), r.reservations().unwrap())
}

/// Every holder's counters (what every replica must agree on; `available` is the reader's own).
fn holders(r: &ShopReplica) -> Vec<Vec<HolderLevel>> {
    r.levels().unwrap().into_iter().map(|l| l.holders).collect()
}

fn net_sold(
    r: &mut ShopReplica,
    holder: Holder,
) -> std::collections::BTreeMap<trestle_core::ids::VariantId, i64> {
    let mut trail = AuditTrail::new();
    trail.update(r).unwrap();
    trail.net_sold(holder)
}

fn messages(r: &mut ShopReplica, after: &[automerge::ChangeHash]) -> Vec<String> {
    let doc = AutoCommit::load(&r.save_copy()).unwrap();
    let mut doc = doc;
    doc.get_changes(after)
        .iter()
        .map(|c| c.message().unwrap_or_default().to_string())
        .collect()
}

/// The hub with 20 mugs and 20 prints, 10 of each given to till 1, which joined then.
fn shop() -> (ShopReplica, ShopReplica) {
    let mut hub = hub_with(2, 20);
    hub.transfer(TransferId(uid()), till(1), &[(MUG, q(10)), (PRINT, q(10))])
        .unwrap();
    let t = join(&mut hub, till(1));
    (hub, t)
}

#[test]
fn a_day_of_mixed_changes_folds_into_two_that_read_the_same_and_audit_the_same() {
    let (mut hub, mut t) = shop();
    let sent = t.heads();
    let mut sales = Vec::new();
    for i in 0..16 {
        let id = SaleId(uid());
        t.sell(id, &[(if i % 2 == 0 { MUG } else { PRINT }, q(1))])
            .unwrap_or_else(|e| panic!("sale {i}: {e}"));
        sales.push(id);
    }
    t.refund(RefundId(uid()), &[(PRINT, q(1))]).unwrap();
    t.void(VoidId(uid()), &[(MUG, q(1))]).unwrap();
    let pickup = new_reservation(vec![(PRINT, q(2)), (MUG, q(1))]);
    t.reserve(&pickup).unwrap();
    t.collect(CollectId(uid()), pickup.id, &[(PRINT, q(1))])
        .unwrap();
    t.count(CountId(uid()), MUG, -1, "dropped one").unwrap();
    t.transfer(TransferId(uid()), Holder::Hub, &[(PRINT, q(1))])
        .unwrap();
    // Beyond the holding (a manager's override) stays visible after the fold.
    t.sell_beyond(SaleId(uid()), &[(PRINT, q(20))]).unwrap();

    let before = picture(&t);
    let sold_before = net_sold(&mut t, till(1));
    let unfolded = t.bytes_after(&sent).len();
    let folded = t.fold_unsent(&sent).unwrap();
    assert_eq!(
        folded,
        Fold::Folded {
            changes: 23,
            sales: 19,
            noted: false,
        }
    );
    assert_eq!(
        picture(&t),
        before,
        "the fold changes nothing a person sees"
    );
    assert_eq!(
        net_sold(&mut t, till(1)),
        sold_before,
        "the audit counts the same"
    );
    assert_eq!(
        messages(&mut t, &sent),
        vec!["sales:19".to_string(), "fold:4".to_string()]
    );
    let bytes = t.bytes_after(&sent);
    assert!(bytes.len() * 3 < unfolded, "{} vs {unfolded}", bytes.len());

    // The hub merging the two ends where the till is, and its audit of the till agrees.
    let report = hub.merge_bytes(&bytes).unwrap();
    assert!(report.heads_changed);
    assert_eq!(holders(&hub), holders(&t));
    assert_eq!(hub.reservations().unwrap(), t.reservations().unwrap());
    assert_eq!(net_sold(&mut hub, till(1)), sold_before);
    // The over-sale of the made-to-order print is still reported by the merge.
    assert!(
        report
            .conflicts
            .iter()
            .any(|c| c.kind == ConflictKind::MadeToOrderShort && c.variant == PRINT),
        "{:?}",
        report.conflicts
    );

    // Folding again finds nothing new; the document still loads from its own save.
    let sent = t.heads();
    assert_eq!(t.fold_unsent(&sent).unwrap(), Fold::Nothing);
    let again = ShopReplica::load(till(1), &t.save(), &[]).unwrap();
    assert_eq!(picture(&again), before);
    // And the till goes on selling on the folded document; the next fold starts from the copy
    // kept after the send (not a rebuilt document) and gives the same.
    t.keep_fold_base();
    for _ in 0..3 {
        t.sell(SaleId(uid()), &[(PRINT, q(1))]).unwrap();
    }
    let before = picture(&t);
    assert_eq!(
        t.fold_unsent(&sent).unwrap(),
        Fold::Folded {
            changes: 3,
            sales: 3,
            noted: false,
        }
    );
    assert_eq!(picture(&t), before);
    hub.merge_bytes(&t.bytes_after(&sent)).unwrap();
    assert_eq!(holders(&hub), holders(&t));
    assert_eq!(hub.changes_after(&sent), 1);
}

#[test]
fn changes_received_after_the_last_send_stay_and_the_own_ones_around_them_fold() {
    let (mut hub, mut t1) = shop();
    hub.transfer(TransferId(uid()), till(2), &[(MUG, q(5))])
        .unwrap();
    let mut t2 = join(&mut hub, till(2));
    // Till 1 knows the hub's latest too (its own copy from the same moment).
    t1.merge_bytes(&hub.save_copy()).unwrap();
    let sent = t1.heads();
    t1.sell(SaleId(uid()), &[(MUG, q(1))]).unwrap();
    t1.sell(SaleId(uid()), &[(MUG, q(2))]).unwrap();
    // Till 2 sells and syncs through the hub; till 1 receives it in between its own sales.
    let t2_before = t2.heads();
    t2.sell(SaleId(uid()), &[(MUG, q(4))]).unwrap();
    hub.merge_bytes(&t2.bytes_after(&t2_before)).unwrap();
    let hub_heads = hub.heads();
    t1.merge_bytes(&hub.bytes_after(&sent)).unwrap();
    t1.sell(SaleId(uid()), &[(MUG, q(3))]).unwrap();
    let before = picture(&t1);

    assert_eq!(
        t1.fold_unsent(&sent).unwrap(),
        Fold::Folded {
            changes: 3,
            sales: 3,
            noted: false,
        }
    );
    assert_eq!(picture(&t1), before);
    assert_eq!(level(&t1, MUG, till(1)), (4, 0));
    assert_eq!(level(&t1, MUG, till(2)), (1, 0));
    // The received sale is still there under its own hash: the hub sees only the fold as new.
    let doc = AutoCommit::load(&t1.save_copy()).unwrap();
    for h in &hub_heads {
        assert!(doc.get_change_by_hash(h).is_some());
    }
    hub.merge_bytes(&t1.bytes_after(&hub_heads)).unwrap();
    assert_eq!(holders(&hub), holders(&t1));
    assert_eq!(hub.changes_after(&hub_heads), 1);
}

#[test]
fn own_changes_another_replica_built_on_are_not_folded() {
    let (mut hub, mut t) = shop();
    let sent = t.heads();
    t.sell(SaleId(uid()), &[(MUG, q(1))]).unwrap();
    t.sell(SaleId(uid()), &[(MUG, q(1))]).unwrap();
    // The two sales reached the hub without being recorded as sent (say, through a path that
    // does not seal), and the hub built on them; the till receives that change.
    hub.merge_bytes(&t.bytes_after(&sent)).unwrap();
    let hub_before = hub.heads();
    hub.count(CountId(uid()), PRINT, 1, "found").unwrap();
    t.merge_bytes(&hub.bytes_after(&hub_before)).unwrap();
    let before = picture(&t);
    assert_eq!(
        t.fold_unsent(&sent).unwrap(),
        Fold::Kept("a change received depends on an unsent one")
    );
    assert_eq!(picture(&t), before);
    // The kept base (taken after a send) holds none of them: the same answer from it.
    t.keep_fold_base();
    assert_eq!(
        t.fold_unsent(&sent).unwrap(),
        Fold::Kept("a change received depends on an unsent one")
    );
}

#[test]
fn nothing_is_folded_that_may_have_left_or_that_is_not_this_tills() {
    let (mut hub, mut t) = shop();
    let sent = t.heads();
    t.sell(SaleId(uid()), &[(MUG, q(1))]).unwrap();
    assert_eq!(
        t.fold_unsent(&sent).unwrap(),
        Fold::Nothing,
        "one change: nothing to gain"
    );
    t.sell(SaleId(uid()), &[(MUG, q(1))]).unwrap();
    // Heads this document does not know (another epoch, a damaged record): kept.
    assert!(matches!(
        t.fold_unsent(&[automerge::ChangeHash([7; 32])]).unwrap(),
        Fold::Kept(_)
    ));
    // The creator never folds (its changes are everyone's set-up).
    let hub_sent = hub.heads();
    hub.count(CountId(uid()), MUG, 1, "found").unwrap();
    hub.count(CountId(uid()), MUG, 1, "found").unwrap();
    assert!(matches!(hub.fold_unsent(&hub_sent).unwrap(), Fold::Kept(_)));
    // Sent up to the current heads: nothing outside them.
    let all = t.heads();
    assert_eq!(t.fold_unsent(&all).unwrap(), Fold::Nothing);
}

/// Sells as the till does: the sale's change bytes taken for storing, and noted.
fn sell_noted(
    t: &mut ShopReplica,
    lines: &[(trestle_core::ids::VariantId, trestle_core::catalog::Qty)],
) {
    t.sell(SaleId(uid()), lines).unwrap();
    let bytes = t.take_unsaved_bytes();
    t.note_moves(&bytes);
}

#[test]
fn noted_sales_fold_from_their_notes_into_what_the_long_way_gives() {
    let (mut hub, mut t) = shop();
    let sent = t.heads();
    let _ = t.take_unsaved_bytes();
    for i in 0..12 {
        sell_noted(&mut t, &[(if i % 3 == 0 { PRINT } else { MUG }, q(1))]);
    }
    t.refund(RefundId(uid()), &[(MUG, q(1))]).unwrap();
    let refund = t.take_unsaved_bytes();
    t.note_moves(&refund);
    t.void(VoidId(uid()), &[(PRINT, q(1))]).unwrap();
    let void = t.take_unsaved_bytes();
    t.note_moves(&void);
    assert_eq!(t.noted_moves(), 14);
    // The same document, loaded: no notes, so its fold takes the long way.
    let mut long = ShopReplica::load(till(1), &t.save_copy(), &[]).unwrap();
    assert_eq!(long.noted_moves(), 0);
    let before = picture(&t);
    let sold = net_sold(&mut t, till(1));

    assert_eq!(
        t.fold_unsent(&sent).unwrap(),
        Fold::Folded {
            changes: 14,
            sales: 14,
            noted: true
        }
    );
    assert_eq!(
        long.fold_unsent(&sent).unwrap(),
        Fold::Folded {
            changes: 14,
            sales: 14,
            noted: false
        }
    );
    assert_eq!(t.noted_moves(), 0, "the notes go with the fold");
    assert_eq!(picture(&t), before);
    assert_eq!(picture(&long), before);
    assert_eq!(net_sold(&mut t, till(1)), sold);
    assert_eq!(messages(&mut t, &sent), vec!["sales:14".to_string()]);
    hub.merge_bytes(&t.bytes_after(&sent)).unwrap();
    assert_eq!(holders(&hub), holders(&t));
    assert_eq!(net_sold(&mut hub, till(1)), sold);
}

#[test]
fn a_change_not_noted_sends_the_fold_the_long_way() {
    let (_hub, mut t) = shop();
    let sent = t.heads();
    let _ = t.take_unsaved_bytes();
    sell_noted(&mut t, &[(MUG, q(1))]);
    sell_noted(&mut t, &[(MUG, q(2))]);
    // A count is not a sale: its bytes are not noted, and the fold decodes everything.
    t.count(CountId(uid()), PRINT, -1, "dropped one").unwrap();
    let count = t.take_unsaved_bytes();
    t.note_moves(&count);
    assert_eq!(t.noted_moves(), 2);
    // Bytes of two changes together are not one change's: not noted either.
    t.sell(SaleId(uid()), &[(MUG, q(1))]).unwrap();
    t.sell(SaleId(uid()), &[(MUG, q(1))]).unwrap();
    let two = t.take_unsaved_bytes();
    t.note_moves(&two);
    assert_eq!(t.noted_moves(), 2);
    let before = picture(&t);
    assert_eq!(
        t.fold_unsent(&sent).unwrap(),
        Fold::Folded {
            changes: 5,
            sales: 4,
            noted: false
        }
    );
    assert_eq!(picture(&t), before);
    assert_eq!(
        messages(&mut t, &sent),
        vec!["sales:4".to_string(), "fold:1".to_string()]
    );
}
