//! Sales sheets (a till's folded sales as one value, `sheets.rs`): a fold's sales are ONE
//! operation; every replica reads the same counters from it; a sheet folded again while unsent
//! counts once; a sheet that moves another holder's stock, or is damaged, is refused on merge and
//! changes nothing; a rebase moves the sheets into the new counters and a carry counts a late
//! sheet once.

mod common;

use std::collections::BTreeMap;

use automerge::{transaction::Transactable, AutoCommit, ReadDoc, ScalarValue, ROOT};
use common::*;
use trestle_core::ids::{RefundId, SaleId};
use trestle_replica::ids::TransferId;
use trestle_replica::invariants::check_stock;
use trestle_replica::*;

fn holders(r: &ShopReplica) -> Vec<Vec<HolderLevel>> {
    r.levels().unwrap().into_iter().map(|l| l.holders).collect()
}

fn sell(r: &mut ShopReplica, v: trestle_core::ids::VariantId, n: usize) {
    for _ in 0..n {
        r.sell(SaleId(uid()), &[(v, q(1))]).unwrap();
    }
}

/// The ops of each change after `heads`, with its message.
fn changes(r: &mut ShopReplica, after: &[automerge::ChangeHash]) -> Vec<(String, usize)> {
    let mut doc = AutoCommit::load(&r.save_copy()).unwrap();
    doc.get_changes(after)
        .iter()
        .map(|c| (c.message().unwrap_or_default().to_string(), c.len()))
        .collect()
}

fn net_sold(r: &mut ShopReplica, h: Holder) -> BTreeMap<trestle_core::ids::VariantId, i64> {
    let mut trail = AuditTrail::new();
    trail.update(r).unwrap();
    trail.net_sold(h)
}

/// The hub with 20 mugs and 20 prints, 10 of each given to tills 1 and 2, which joined then.
fn shop() -> (ShopReplica, ShopReplica, ShopReplica) {
    let mut hub = hub_with(2, 30);
    for t in [till(1), till(2)] {
        hub.transfer(TransferId(uid()), t, &[(MUG, q(10)), (PRINT, q(10))])
            .unwrap();
    }
    let t1 = join(&mut hub, till(1));
    let t2 = join(&mut hub, till(2));
    (hub, t1, t2)
}

#[test]
fn a_folded_day_of_sales_is_one_operation_every_replica_reads_the_same() {
    let (mut hub, mut t1, mut t2) = shop();
    let sent = t1.heads();
    sell(&mut t1, MUG, 6);
    sell(&mut t1, PRINT, 3);
    t1.refund(RefundId(uid()), &[(MUG, q(1))]).unwrap();
    let before = holders(&t1);
    let sold = net_sold(&mut t1, till(1));
    assert!(matches!(
        t1.fold_unsent(&sent).unwrap(),
        Fold::Folded { sales: 10, .. }
    ));
    assert_eq!(changes(&mut t1, &sent), vec![("sales:10".to_string(), 1)]);
    assert_eq!(holders(&t1), before);
    assert_eq!(level(&t1, MUG, till(1)), (10 - 6 + 1, 0));
    assert_eq!(t1.available(MUG).unwrap(), 5);

    // The hub and the other till merge the one operation and read what the till reads.
    let bytes = t1.bytes_after(&sent);
    let report = hub.merge_bytes(&bytes).unwrap();
    assert!(report.only_counters, "a sheet is stock only");
    assert_eq!(
        report.touched,
        vec![(MUG, till(1)), (PRINT, till(1))],
        "the cells the sheet moved"
    );
    assert_eq!(holders(&hub), before);
    assert_eq!(net_sold(&mut hub, till(1)), sold);
    t2.merge_bytes(&hub.bytes_after(&sent)).unwrap();
    assert_eq!(holders(&t2), before);
    // Reloaded from its own save, the sheet still counts.
    let again = ShopReplica::load(till(2), &t2.save(), &[]).unwrap();
    assert_eq!(holders(&again), before);

    // The till sells on top of its sheet, and a sale beyond what it holds is still refused.
    assert_eq!(
        t1.sell(SaleId(uid()), &[(MUG, q(6))]).unwrap_err().code(),
        "stock.short"
    );
    sell(&mut t1, MUG, 5);
    assert_eq!(t1.available(MUG).unwrap(), 0);
    let h = hub.heads();
    hub.merge_bytes(&t1.bytes_after(&h)).unwrap();
    assert!(check_stock(&hub).unwrap().is_empty());
}

#[test]
fn a_sheet_folded_again_before_it_was_sent_counts_once() {
    let (mut hub, mut t1, _t2) = shop();
    let sent = t1.heads();
    sell(&mut t1, MUG, 4);
    assert!(matches!(
        t1.fold_unsent(&sent).unwrap(),
        Fold::Folded { .. }
    ));
    // The send failed: the sheet is still unsent, more sales come, and the next pass folds
    // the unsent sheet and the new sales together.
    sell(&mut t1, MUG, 2);
    sell(&mut t1, PRINT, 1);
    let before = holders(&t1);
    let sold = net_sold(&mut t1, till(1));
    assert!(matches!(
        t1.fold_unsent(&sent).unwrap(),
        Fold::Folded { .. }
    ));
    assert_eq!(changes(&mut t1, &sent), vec![("sales:4".to_string(), 1)]);
    assert_eq!(holders(&t1), before);
    assert_eq!(level(&t1, MUG, till(1)), (10 - 6, 0));
    assert_eq!(net_sold(&mut t1, till(1)), sold);
    hub.merge_bytes(&t1.bytes_after(&sent)).unwrap();
    assert_eq!(holders(&hub), before);
    assert_eq!(net_sold(&mut hub, till(1)), sold);
}

#[test]
fn a_sheet_that_moves_another_holders_stock_or_is_damaged_is_refused_and_changes_nothing() {
    let (mut hub, mut t1, mut t2) = shop();
    let sent = t1.heads();
    sell(&mut t1, MUG, 3);
    t1.fold_unsent(&sent).unwrap();
    // Till 2 copies till 1's sheet under its own name: it names till 1's cells.
    let doc = AutoCommit::load(&t1.save_copy()).unwrap();
    let (_, sheets) = doc.get(ROOT, "sheets").unwrap().unwrap();
    let key = doc.keys(&sheets).next().unwrap();
    let (value, _) = doc.get(&sheets, key.as_str()).unwrap().unwrap();
    let bytes = value.as_scalar().unwrap().to_owned();
    let heads = hub.heads();
    for forged in [
        bytes,
        ScalarValue::Bytes(vec![1, 9, 9]),
        ScalarValue::Int(3),
    ] {
        let mut forger = AutoCommit::load(&t2.save_copy())
            .unwrap()
            .with_actor(till(2).actor());
        let root = forger.get(ROOT, "sheets").unwrap().unwrap().1;
        forger.put(&root, format!("{}:x", till(2)), forged).unwrap();
        forger.commit();
        let before = holders(&hub);
        let err = hub
            .merge_bytes(&forger.save_after(&t2.heads()))
            .unwrap_err();
        assert_eq!(err.code(), "replica.unreadable");
        assert_eq!(hub.heads(), heads, "the merge is undone");
        assert_eq!(holders(&hub), before, "and counts nothing");
    }
    // The real sheet still merges.
    hub.merge_bytes(&t1.bytes_after(&sent)).unwrap();
    assert_eq!(level(&hub, MUG, till(1)), (7, 0));
}

#[test]
fn a_rebase_moves_the_sheets_into_the_counters_and_a_late_sheet_is_carried_once() {
    let (mut hub, mut t1, mut t2) = shop();
    let sent1 = t1.heads();
    sell(&mut t1, MUG, 3);
    t1.fold_unsent(&sent1).unwrap();
    hub.merge_bytes(&t1.bytes_after(&sent1)).unwrap();
    let (h1, h2) = (t1.heads(), t2.heads());
    t1.merge_bytes(&hub.bytes_after(&h1)).unwrap();
    t2.merge_bytes(&hub.bytes_after(&h2)).unwrap();
    let before = holders(&hub);
    let (mut next, archive) = hub.rebase().unwrap();
    assert_eq!(
        holders(&next),
        before,
        "the sheet's sales are in the counters"
    );
    assert_eq!(level(&next, MUG, till(1)), (7, 0));

    // Till 2 sold offline in the old epoch and folded after the rebase.
    let sent2 = t2.heads();
    sell(&mut t2, MUG, 2);
    sell(&mut t2, PRINT, 2);
    t2.fold_unsent(&sent2).unwrap();
    let mut old = ShopReplica::open_archive(Holder::Hub, &archive.bytes).unwrap();
    old.merge_bytes(&t2.bytes_after(&archive.heads)).unwrap();
    assert!(next.carry_over(&mut old, till(2)).unwrap().is_some());
    assert_eq!(next.carry_over(&mut old, till(2)).unwrap(), None);
    assert_eq!(level(&next, MUG, till(2)), (8, 0));
    assert_eq!(level(&next, PRINT, till(2)), (8, 0));
    assert_eq!(level(&next, MUG, till(1)), (7, 0));
    assert_eq!(holders(&next), holders(&old));
}

/// A shop of `n` deny variants (enough that merges, folds and level reads walk the stock map),
/// 5 of each at the hub and 5 given to till 1.
fn big_shop(n: u128) -> (ShopReplica, ShopReplica, Vec<trestle_core::ids::VariantId>) {
    use trestle_core::catalog::Policy;
    let mut hub = ShopReplica::create(SHOP, Holder::Hub).unwrap();
    let vs: Vec<_> = (0..n)
        .map(|i| trestle_core::ids::VariantId(uuid::Uuid::from_u128(0x1000 + i)))
        .collect();
    for v in &vs {
        hub.add_variant(*v, &fields("Thing", Policy::Deny, true))
            .unwrap();
        hub.ensure_holder(*v, Holder::Hub).unwrap();
        hub.ensure_holder(*v, till(1)).unwrap();
        hub.count(trestle_replica::ids::CountId(uid()), *v, 10, "opening")
            .unwrap();
    }
    let lines: Vec<_> = vs.iter().map(|v| (*v, q(5))).collect();
    hub.transfer(TransferId(uid()), till(1), &lines).unwrap();
    let t1 = join(&mut hub, till(1));
    (hub, t1, vs)
}

#[test]
fn many_cells_read_in_one_walk_read_what_each_read_alone_reads() {
    let (mut hub, mut t1, vs) = big_shop(300);
    let sent = t1.heads();
    // Each sale's bytes taken for storing and noted, as the till does: the fold sums the notes
    // and reads the 300 counters it checks on a second thread.
    let _ = t1.take_unsaved_bytes();
    for (i, v) in vs.iter().enumerate() {
        for _ in 0..1 + i % 3 {
            t1.sell(SaleId(uid()), &[(*v, q(1))]).unwrap();
            let bytes = t1.take_unsaved_bytes();
            t1.note_moves(&bytes);
        }
    }
    // A manager's override beyond the till's holding: the walked post-merge check must see it.
    t1.sell_beyond(SaleId(uid()), &[(vs[7], q(9))]).unwrap();
    let bytes = t1.take_unsaved_bytes();
    t1.note_moves(&bytes);
    let before = holders(&t1);
    assert!(matches!(
        t1.fold_unsent(&sent).unwrap(),
        Fold::Folded {
            sales: 601,
            noted: true,
            ..
        }
    ));
    assert_eq!(
        holders(&t1),
        before,
        "the fold's walked check passed and reads the same"
    );

    let report = hub.merge_bytes(&t1.bytes_after(&sent)).unwrap();
    assert_eq!(report.touched.len(), 300);
    let short: Vec<_> = report
        .conflicts
        .iter()
        .map(|c| (c.kind, c.variant, c.holder))
        .collect();
    assert_eq!(
        short,
        vec![(ConflictKind::NegativeStock, vs[7], till(1))],
        "the oversell is reported, and only it"
    );
    // `levels` and `stock_of_many` walk; `stock_of` reads one variant: the same numbers.
    let levels = hub.levels().unwrap();
    let many = hub.stock_of_many(&vs).unwrap();
    for (i, v) in vs.iter().enumerate() {
        let one = hub.stock_of(*v).unwrap();
        assert_eq!(many[v], one);
        let l = levels.iter().find(|l| l.variant == *v).unwrap();
        assert_eq!(l.holders, one);
        let sold = 1 + i as i64 % 3 + if i == 7 { 9 } else { 0 };
        assert_eq!(level(&hub, *v, till(1)), (5 - sold, 0));
    }
    assert_eq!(holders(&hub), before);
    // A few variants are read one by one and give the same.
    assert_eq!(hub.stock_of_many(&vs[..3]).unwrap().len(), 3);
}

/// Every holder's levels of `vs` as a fresh walk reads them (`levels` walks every time).
fn walked_fresh(
    r: &ShopReplica,
    vs: &[trestle_core::ids::VariantId],
) -> BTreeMap<trestle_core::ids::VariantId, Vec<HolderLevel>> {
    r.levels()
        .unwrap()
        .into_iter()
        .filter(|l| vs.contains(&l.variant))
        .map(|l| (l.variant, l.holders))
        .collect()
}

#[test]
fn the_kept_walk_of_many_variants_follows_sheets_and_walks_again_after_any_other_change() {
    use trestle_core::catalog::Policy;
    let mut hub = hub_with(1, 30);
    let many: Vec<_> = (0..250u128)
        .map(|i| trestle_core::ids::VariantId(uuid::Uuid::from_u128(0xB000 + i)))
        .collect();
    for (i, v) in many.iter().enumerate() {
        hub.add_variant(*v, &fields(&format!("V{i}"), Policy::Deny, true))
            .unwrap();
        hub.ensure_holder(*v, Holder::Hub).unwrap();
        hub.ensure_holder(*v, till(1)).unwrap();
    }
    hub.transfer(TransferId(uid()), till(1), &[(MUG, q(10))])
        .unwrap();
    let mut t1 = join(&mut hub, till(1));
    let mut all = many.clone();
    all.push(MUG);
    let mug_at_till = |levels: &BTreeMap<_, Vec<HolderLevel>>| {
        levels[&MUG]
            .iter()
            .find(|l| l.holder == till(1))
            .map(|l| l.free)
    };
    // A read of many variants walks and keeps the walk.
    let first = hub.stock_of_many(&all).unwrap();
    assert_eq!(first, walked_fresh(&hub, &all));
    assert_eq!(mug_at_till(&first), Some(10));

    // A folded day (one sheet) merged: the kept walk holds, the sheet's sums are added.
    let sent = t1.heads();
    sell(&mut t1, MUG, 3);
    assert!(matches!(
        t1.fold_unsent(&sent).unwrap(),
        Fold::Folded { .. }
    ));
    hub.merge_bytes(&t1.bytes_after(&sent)).unwrap();
    let after_sheet = hub.stock_of_many(&all).unwrap();
    assert_eq!(mug_at_till(&after_sheet), Some(7));
    assert_eq!(after_sheet, walked_fresh(&hub, &all));

    // A sale merged unfolded moves a counter of the stock map: read again, not kept.
    let sent = t1.heads();
    sell(&mut t1, MUG, 1);
    hub.merge_bytes(&t1.bytes_after(&sent)).unwrap();
    let after_sale = hub.stock_of_many(&all).unwrap();
    assert_eq!(mug_at_till(&after_sale), Some(6));
    assert_eq!(after_sale, walked_fresh(&hub, &all));

    // The hub's own change (a transfer to the till) is read too.
    hub.transfer(TransferId(uid()), till(1), &[(MUG, q(2))])
        .unwrap();
    let after_transfer = hub.stock_of_many(&all).unwrap();
    assert_eq!(mug_at_till(&after_transfer), Some(8));
    assert_eq!(after_transfer, walked_fresh(&hub, &all));
}

/// A shop of `n` deny variants, 5 of each at the hub and 5 given to each of tills 1 and 2, which
/// joined then.
fn big_shop_two_tills(
    n: u128,
) -> (
    ShopReplica,
    ShopReplica,
    ShopReplica,
    Vec<trestle_core::ids::VariantId>,
) {
    let (mut hub, _, vs) = big_shop(n);
    for v in &vs {
        hub.ensure_holder(*v, till(2)).unwrap();
    }
    let lines: Vec<_> = vs.iter().map(|v| (*v, q(5))).collect();
    hub.transfer(TransferId(uid()), till(2), &lines).unwrap();
    let t1 = join(&mut hub, till(1));
    let t2 = join(&mut hub, till(2));
    (hub, t1, t2, vs)
}

/// One till's day over every variant: `1 + i % 3` of variant `i`, and `beyond` sold past the
/// holding; folded from `sent`.
fn folded_day(
    t: &mut ShopReplica,
    vs: &[trestle_core::ids::VariantId],
    beyond: trestle_core::ids::VariantId,
) -> Vec<u8> {
    let sent = t.heads();
    for (i, v) in vs.iter().enumerate() {
        sell(t, *v, 1 + i % 3);
    }
    t.sell_beyond(SaleId(uid()), &[(beyond, q(9))]).unwrap();
    let before = holders(t);
    assert!(matches!(t.fold_unsent(&sent).unwrap(), Fold::Folded { .. }));
    assert_eq!(holders(t), before, "the fold reads the same");
    t.bytes_after(&sent)
}

fn short(report: &MergeReport) -> Vec<(ConflictKind, trestle_core::ids::VariantId, Holder)> {
    let mut out: Vec<_> = report
        .conflicts
        .iter()
        .map(|c| (c.kind, c.variant, c.holder))
        .collect();
    out.sort_by_key(|c| format!("{c:?}"));
    out
}

#[test]
fn a_walk_kept_with_the_fold_base_reads_the_folded_day_and_other_tills_sheets_as_a_fresh_walk() {
    let (mut hub, mut t1, mut t2, vs) = big_shop_two_tills(260);
    // Right after a send, the till walks (a read of many variants) and keeps its fold base.
    let _ = t1.stock_of_many(&vs).unwrap();
    t1.keep_fold_base();
    let day1 = folded_day(&mut t1, &vs, vs[7]);
    let day2 = folded_day(&mut t2, &vs, vs[9]);

    // Till 1 merges till 2's sheet: the check judges till 2's cells, from the kept walk.
    let at_till = t1.merge_bytes(&day2).unwrap();
    assert_eq!(at_till.touched.len(), vs.len());
    assert_eq!(
        short(&at_till),
        vec![(ConflictKind::NegativeStock, vs[9], till(2))]
    );
    hub.merge_bytes(&day1).unwrap();
    let at_hub = hub.merge_bytes(&day2).unwrap();
    assert_eq!(short(&at_hub), short(&at_till), "both sides find the same");
    assert_eq!(t1.stock_of_many(&vs).unwrap(), walked_fresh(&t1, &vs));
    assert_eq!(walked_fresh(&t1, &vs), walked_fresh(&hub, &vs));
    for (i, v) in vs.iter().enumerate() {
        let sold = 1 + i as i64 % 3;
        let extra = |at| if i == at { 9 } else { 0 };
        assert_eq!(level(&t1, *v, till(1)), (5 - sold - extra(7), 0));
        assert_eq!(level(&t1, *v, till(2)), (5 - sold - extra(9), 0));
    }

    // A day that also writes the stock map (a count) does not carry the walk: the fold still
    // reads the same (a stale walk would read the old counter and keep the changes) and the
    // hub reads what the till reads.
    assert_eq!(hub.heads(), t1.heads());
    let _ = t1.stock_of_many(&vs).unwrap();
    t1.keep_fold_base();
    let sent = t1.heads();
    t1.count(trestle_replica::ids::CountId(uid()), vs[3], -2, "two broke")
        .unwrap();
    sell(&mut t1, vs[4], 1);
    assert!(matches!(
        t1.fold_unsent(&sent).unwrap(),
        Fold::Folded { .. }
    ));
    assert_eq!(level(&t1, vs[3], till(1)), (5 - 1 - 2, 0));
    assert_eq!(level(&t1, vs[4], till(1)), (5 - 2 - 1, 0));
    let report = hub.merge_bytes(&t1.bytes_after(&sent)).unwrap();
    assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);
    assert_eq!(walked_fresh(&t1, &vs), walked_fresh(&hub, &vs));
}
