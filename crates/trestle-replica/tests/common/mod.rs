//! The test harness: a shop with a hub (the creator), three tills, a `deny` mug, a `continue`
//! print and an untracked gift card; ids from counters so every run is the same.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use trestle_core::catalog::{Policy, Qty};
use trestle_core::ids::{TillId, VariantId};
use trestle_replica::ids::CountId;
use trestle_replica::{Holder, ShopId, ShopReplica, VariantFields};
use uuid::Uuid;

pub const MUG: VariantId = VariantId(Uuid::from_u128(0xA1));
pub const PRINT: VariantId = VariantId(Uuid::from_u128(0xA2));
pub const CARD: VariantId = VariantId(Uuid::from_u128(0xA3));
pub const SHOP: ShopId = ShopId(Uuid::from_u128(0x5));

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A fresh id.
pub fn uid() -> Uuid {
    Uuid::from_u128(0x7000_0000_0000_0000 + u128::from(NEXT.fetch_add(1, Ordering::Relaxed)))
}

pub fn till(n: u128) -> Holder {
    Holder::Till(TillId(Uuid::from_u128(0x100 + n)))
}

/// Replica `i` of a property test: 0 is the hub, 1.. the tills.
pub fn holder(i: usize) -> Holder {
    if i == 0 {
        Holder::Hub
    } else {
        till(i as u128)
    }
}

/// The mug (`deny`) or the print (`continue`).
pub fn variant(mug: bool) -> VariantId {
    if mug {
        MUG
    } else {
        PRINT
    }
}

pub fn q(n: u32) -> Qty {
    Qty::new(n).unwrap()
}

pub fn fields(title: &str, policy: Policy, track: bool) -> VariantFields {
    VariantFields {
        title: title.into(),
        sku: Some(format!("SKU-{title}")),
        barcode: None,
        price_minor: 1500,
        tax_ppm: 200_000,
        policy,
        track_inventory: track,
    }
}

/// The hub with the three variants, counters for itself and `tills` tills, and `stock` units of
/// the mug and the print in its own `free`.
pub fn hub_with(tills: u128, stock: i64) -> ShopReplica {
    let mut hub = ShopReplica::create(SHOP, Holder::Hub).unwrap();
    hub.add_variant(MUG, &fields("Mug", Policy::Deny, true))
        .unwrap();
    hub.add_variant(PRINT, &fields("Print", Policy::Continue, true))
        .unwrap();
    hub.add_variant(CARD, &fields("Card", Policy::Deny, false))
        .unwrap();
    for v in [MUG, PRINT] {
        hub.ensure_holder(v, Holder::Hub).unwrap();
        for t in 1..=tills {
            hub.ensure_holder(v, till(t)).unwrap();
        }
        hub.count(CountId(uid()), v, stock, "opening stock")
            .unwrap();
    }
    hub
}

/// A till's replica loaded from the hub's snapshot.
pub fn join(hub: &mut ShopReplica, holder: Holder) -> ShopReplica {
    ShopReplica::load(holder, &hub.save(), &[]).unwrap()
}

/// `holder`'s (free, held) of a variant on a replica.
pub fn level(r: &ShopReplica, v: VariantId, holder: Holder) -> (i64, i64) {
    r.stock_of(v)
        .unwrap()
        .into_iter()
        .find(|l| l.holder == holder)
        .map(|l| (l.free, l.held))
        .unwrap()
}
