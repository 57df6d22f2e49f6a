//! The replica's side of the bulk sync exchange: heads as plain 32-byte hashes (the wire form),
//! whether this replica holds given heads, and the changes after some heads as one compact
//! Automerge bundle (columnar, like a saved document) instead of one chunk per change.

use automerge::ChangeHash;

use crate::replica::ShopReplica;

impl ShopReplica {
    /// The current heads as 32-byte hashes.
    pub fn head_bytes(&mut self) -> Vec<[u8; 32]> {
        self.heads().into_iter().map(|h| h.0).collect()
    }

    /// True when this replica holds every change named.
    pub fn knows(&mut self, heads: &[[u8; 32]]) -> bool {
        heads
            .iter()
            .all(|h| self.doc.get_change_by_hash(&ChangeHash(*h)).is_some())
    }

    /// The changes this replica has that `heads` do not cover, as one bundle that
    /// `merge_bytes` reads (empty when there are none). Heads this replica does not know are left
    /// out, so the answer covers at least what the peer lacks.
    pub fn bundle_after(&mut self, heads: &[[u8; 32]]) -> Vec<u8> {
        let known: Vec<ChangeHash> = heads
            .iter()
            .map(|h| ChangeHash(*h))
            .filter(|h| self.doc.get_change_by_hash(h).is_some())
            .collect();
        let hashes: Vec<ChangeHash> = self
            .doc
            .get_changes_meta(&known)
            .iter()
            .map(|m| m.hash)
            .collect();
        if hashes.is_empty() {
            return Vec::new();
        }
        match self.doc.bundle(hashes) {
            Ok(b) => b.bytes().to_vec(),
            // The bundle API is experimental in Automerge 0.12: plain change chunks say the same.
            Err(_) => self.doc.save_after(&known),
        }
    }
}

#[cfg(test)]
mod tests {
    use trestle_core::catalog::{Policy, Qty};
    use trestle_core::ids::{SaleId, TillId, VariantId};
    use uuid::Uuid;

    use crate::{Holder, ShopId, ShopReplica, VariantFields};

    #[test]
    fn a_bundle_of_many_sales_merges_to_the_same_heads_and_is_smaller_than_the_changes() {
        let mut hub = ShopReplica::create(ShopId(Uuid::from_u128(9)), Holder::Hub).unwrap();
        let till_holder = Holder::Till(TillId(Uuid::from_u128(1)));
        let v = VariantId(Uuid::from_u128(5));
        let fields = VariantFields {
            title: "Print".into(),
            sku: None,
            barcode: None,
            price_minor: 500,
            tax_ppm: 0,
            policy: Policy::Continue,
            track_inventory: true,
        };
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
}
