//! Trestle's Automerge replica: the shop document (catalog, stock counters per holder,
//! reservations, events), the typed stock operations each holder performs on its own counters,
//! the invariant and audit checks run after merges, and epochs that keep the cost of a change
//! flat as history grows. Pure: no SQL, files, network or async — it deals in documents and bytes.
//!
//! ```
//! use trestle_core::catalog::{Policy, Qty};
//! use trestle_core::ids::{SaleId, TillId, VariantId};
//! use trestle_replica::{Holder, ShopId, ShopReplica, VariantFields};
//! use trestle_replica::ids::CountId;
//! use uuid::Uuid;
//!
//! let till = Holder::Till(TillId(Uuid::from_u128(1)));
//! let mut r = ShopReplica::create(ShopId(Uuid::from_u128(9)), till).unwrap(); // a till alone
//! let mug = VariantId(Uuid::from_u128(2));
//! let fields = VariantFields {
//!     title: "Mug".into(), sku: None, barcode: None, price_minor: 1200, tax_ppm: 0,
//!     policy: Policy::Deny, track_inventory: true,
//! };
//! r.add_variant(mug, &fields).unwrap();
//! r.ensure_holder(mug, till).unwrap();
//! r.count(CountId(Uuid::from_u128(3)), mug, 5, "opening stock").unwrap();
//! r.sell(SaleId(Uuid::from_u128(4)), &[(mug, Qty::new(2).unwrap())]).unwrap();
//! assert_eq!(r.available(mug).unwrap(), 3);
//! let err = r.sell(SaleId(Uuid::from_u128(5)), &[(mug, Qty::new(4).unwrap())]).unwrap_err();
//! assert_eq!(err.code(), "stock.short");
//! ```

mod audit;
pub mod bulk;
pub mod epoch;
pub mod error;
pub mod fold;
pub mod hub_ops;
pub mod ids;
pub mod invariants;
mod moves;
pub mod ops;
pub mod pickups;
pub mod replica;
pub mod schema;
mod setup;
mod sheets;
mod sync_guard;
mod walk;

pub use epoch::{Archive, REBASE_EVERY, SNAPSHOT_EVERY};
pub use error::{Error, Result};
pub use fold::Fold;
pub use hub_ops::{EventView, ReservationView};
pub use ids::{Cause, CauseKind, Holder};
pub use invariants::{AuditTrail, Conflict, ConflictKind, Resolution};
pub use ops::{NewReservation, PaymentState};
pub use pickups::{Handover, ReservationDetails, Settled};
pub use replica::{
    EventFields, HolderLevel, MergeReport, Role, ShopId, ShopReplica, SyncState, VariantLevel,
};
pub use schema::VariantFields;
