//! The replica's side of the bulk sync exchange: heads as plain 32-byte hashes (the wire form),
//! whether this replica holds given heads, and the changes after some heads as compact
//! Automerge bundles (columnar, like a saved document) instead of one chunk per change. A large
//! change (a till's folded day) is bundled on its own and kept, since every other till asks for
//! it in turn (decision 199).

use std::collections::HashMap;

use automerge::{AutoCommit, ChangeHash, ReadDoc};

use crate::ids::{Cause, CauseKind};
use crate::replica::ShopReplica;

impl ShopReplica {
    /// The current heads as 32-byte hashes.
    pub fn head_bytes(&mut self) -> Vec<[u8; 32]> {
        self.heads().into_iter().map(|h| h.0).collect()
    }

    /// True when this replica holds every change named.
    pub fn knows(&self, heads: &[[u8; 32]]) -> bool {
        let heads: Vec<ChangeHash> = heads.iter().map(|h| ChangeHash(*h)).collect();
        holds_all(&self.doc, &heads)
    }

    /// The changes this replica has that `heads` do not cover, as bundles that `merge_bytes`
    /// reads one after another (empty when there are none): each folded or large change in one
    /// of its own, kept for the next peer that asks, the others together. Heads this replica
    /// does not know are left out, so the answer covers at least what the peer lacks.
    pub fn bundle_after(&mut self, heads: &[[u8; 32]]) -> Vec<u8> {
        let known: Vec<ChangeHash> = heads
            .iter()
            .map(|h| ChangeHash(*h))
            .filter(|h| holds_all(&self.doc, std::slice::from_ref(h)))
            .collect();
        let mut alone = Vec::new();
        let mut together = Vec::new();
        for m in self.doc.get_changes_meta(&known) {
            let folded = matches!(
                m.message.as_deref().and_then(Cause::kind_of),
                Some(CauseKind::Sales | CauseKind::Fold)
            );
            let ops = m.max_op.saturating_sub(m.start_op) + 1;
            if folded || ops >= LARGE_CHANGE_OPS {
                alone.push(m.hash);
            } else {
                together.push(m.hash);
            }
        }
        let mut out = Vec::new();
        for hash in alone {
            if let Some(bytes) = self.bundled.get(&hash) {
                out.extend_from_slice(bytes);
                continue;
            }
            match self.doc.bundle([hash]) {
                Ok(b) => {
                    out.extend_from_slice(b.bytes());
                    self.bundled.keep(hash, b.bytes().to_vec());
                }
                // The bundle API is experimental in Automerge 0.12: plain change chunks of
                // everything say the same.
                Err(_) => return self.doc.save_after(&known),
            }
        }
        if !together.is_empty() {
            match self.doc.bundle(together) {
                Ok(b) => out.extend_from_slice(b.bytes()),
                Err(_) => return self.doc.save_after(&known),
            }
        }
        out
    }
}

/// True when every one of `hashes` is applied in `doc`, by hash lookup (`get_missing_deps`; a
/// change held but queued for a missing dependency names that dependency, so it counts as
/// absent). Not `get_change_by_hash`, which builds the whole change again (a folded day's
/// thousands of operations, to say it is there), nor `get_change_meta_by_hash`, which reads
/// the history's metadata column by column for each hash (decision 200).
pub(crate) fn holds_all(doc: &AutoCommit, hashes: &[ChangeHash]) -> bool {
    ReadDoc::get_missing_deps(doc, hashes).is_empty()
}

/// A change of at least this many operations is bundled on its own and kept, as a folded one is
/// (a sale has a handful; a folded day's sales are one sheet, a few thousand cells in one value).
const LARGE_CHANGE_OPS: u64 = 256;
/// The most bundle bytes a replica keeps (a folded market day's bundle is ~95 KB); past it the
/// kept ones are dropped and the next asked for start again.
const BUNDLED_BYTES: usize = 4 << 20;

/// Bundles of large changes already made, by the change's hash (a hash names one content, so a
/// kept bundle never goes stale).
#[derive(Default)]
pub(crate) struct Bundled {
    by_hash: HashMap<ChangeHash, Vec<u8>>,
    bytes: usize,
}

impl Bundled {
    fn get(&self, hash: &ChangeHash) -> Option<&Vec<u8>> {
        self.by_hash.get(hash)
    }

    fn keep(&mut self, hash: ChangeHash, bundle: Vec<u8>) {
        if bundle.len() > BUNDLED_BYTES {
            return;
        }
        if self.bytes + bundle.len() > BUNDLED_BYTES {
            self.by_hash.clear();
            self.bytes = 0;
        }
        self.bytes += bundle.len();
        self.by_hash.insert(hash, bundle);
    }
}

#[cfg(test)]
mod tests {
    use trestle_core::catalog::{Policy, Qty};
    use trestle_core::ids::{SaleId, TillId, VariantId};
    use uuid::Uuid;

    use crate::{Holder, ShopId, ShopReplica, VariantFields};

    /// A tracked `continue` variant at 5.00.
    fn print() -> VariantFields {
        VariantFields {
            title: "Print".into(),
            sku: None,
            barcode: None,
            price_minor: 500,
            tax_ppm: 0,
            policy: Policy::Continue,
            track_inventory: true,
        }
    }

    #[test]
    fn a_bundle_of_many_sales_merges_to_the_same_heads_and_is_smaller_than_the_changes() {
        let mut hub = ShopReplica::create(ShopId(Uuid::from_u128(9)), Holder::Hub).unwrap();
        let till_holder = Holder::Till(TillId(Uuid::from_u128(1)));
        let v = VariantId(Uuid::from_u128(5));
        let fields = print();
        hub.add_variant(v, &fields).unwrap();
        hub.ensure_holder(v, till_holder).unwrap();
        let mut till = ShopReplica::load(till_holder, &hub.save(), &[]).unwrap();
        let base = till.head_bytes();
        for i in 0..300u128 {
            till.sell(
                SaleId(Uuid::from_u128(1000 + i)),
                &[(v, Qty::new(1).unwrap())],
            )
            .unwrap();
        }
        assert!(!hub.knows(&till.head_bytes()));
        let bundle = till.bundle_after(&base);
        let chunks = till.bytes_after(
            &base
                .iter()
                .map(|h| automerge::ChangeHash(*h))
                .collect::<Vec<_>>(),
        );
        assert!(
            bundle.len() < chunks.len() / 2,
            "{} vs {}",
            bundle.len(),
            chunks.len()
        );
        hub.merge_bytes(&bundle).unwrap();
        assert_eq!(hub.head_bytes(), till.head_bytes());
        assert!(hub.knows(&till.head_bytes()));
        assert!(till.bundle_after(&hub.head_bytes()).is_empty());
    }

    /// Two tills' days, each sold and folded into one change, then merged at the hub.
    fn hub_with_two_folded_days() -> (ShopReplica, Vec<[u8; 32]>, Vec<ShopReplica>) {
        let mut hub = ShopReplica::create(ShopId(Uuid::from_u128(9)), Holder::Hub).unwrap();
        let holders: Vec<Holder> = (1..=3)
            .map(|i| Holder::Till(TillId(Uuid::from_u128(i))))
            .collect();
        let fields = print();
        let variants: Vec<VariantId> = (0..40u128)
            .map(|i| VariantId(Uuid::from_u128(100 + i)))
            .collect();
        for v in &variants {
            hub.add_variant(*v, &fields).unwrap();
            for h in &holders {
                hub.ensure_holder(*v, *h).unwrap();
            }
        }
        let start = hub.head_bytes();
        let mut tills: Vec<ShopReplica> = holders
            .iter()
            .map(|h| ShopReplica::load(*h, &hub.save(), &[]).unwrap())
            .collect();
        for (t, till) in tills.iter_mut().enumerate().take(2) {
            for i in 0..120u128 {
                let v = variants[(i as usize * 7 + t) % variants.len()];
                till.sell(
                    SaleId(Uuid::from_u128(5000 * (t as u128 + 1) + i)),
                    &[(v, Qty::new(1).unwrap())],
                )
                .unwrap();
            }
            assert!(matches!(
                till.fold_unsent_heads(&start).unwrap(),
                crate::fold::Fold::Folded { .. }
            ));
            hub.merge_bytes(&till.bundle_after(&start)).unwrap();
        }
        (hub, start, tills)
    }

    #[test]
    fn a_folded_day_is_bundled_once_and_every_till_that_asks_gets_it() {
        let (mut hub, start, mut tills) = hub_with_two_folded_days();
        // The third till lacks both days: they come as one bundle each, one after the other.
        let first = hub.bundle_after(&start);
        assert_eq!(hub.bundled.by_hash.len(), 2, "both folded days are kept");
        tills[2].merge_bytes(&first).unwrap();
        assert_eq!(tills[2].head_bytes(), hub.head_bytes());
        // Asked again (a retry, the next till), the same bytes come from what was kept.
        assert_eq!(hub.bundle_after(&start), first);
        // The first till lacks only the second's day.
        let mine = tills[0].head_bytes();
        let theirs = hub.bundle_after(&mine);
        assert!(theirs.len() < first.len());
        tills[0].merge_bytes(&theirs).unwrap();
        assert_eq!(tills[0].head_bytes(), hub.head_bytes());
        // Apart, the two bundles cost a bundle's fixed part more than one of both (a few hundred
        // bytes, against a market day's ~95 KB a folded day).
        let hashes: Vec<automerge::ChangeHash> = hub
            .doc
            .get_changes_meta(
                &start
                    .iter()
                    .map(|h| automerge::ChangeHash(*h))
                    .collect::<Vec<_>>(),
            )
            .iter()
            .map(|m| m.hash)
            .collect();
        let together = hub.doc.bundle(hashes).unwrap().bytes().len();
        assert!(
            first.len() <= together + 512,
            "{} vs {together}",
            first.len()
        );
    }

    #[test]
    fn kept_bundles_stay_within_their_bound() {
        let mut kept = super::Bundled::default();
        for i in 0..10u8 {
            kept.keep(
                automerge::ChangeHash([i; 32]),
                vec![0; super::BUNDLED_BYTES / 4],
            );
            assert!(kept.bytes <= super::BUNDLED_BYTES);
            assert_eq!(
                kept.bytes,
                kept.by_hash.values().map(Vec::len).sum::<usize>()
            );
        }
        kept.keep(
            automerge::ChangeHash([99; 32]),
            vec![0; super::BUNDLED_BYTES + 1],
        );
        assert!(kept.get(&automerge::ChangeHash([99; 32])).is_none());
    }
}
