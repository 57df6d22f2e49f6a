//! Identifiers the replica owns: holders (the hub or a till) and their Automerge actor ids, the
//! ids of reservations, transfers, collections, counts and market events, and the change
//! messages (`sale:<id>`, `transfer:<id>`, …) that name the cause of every change.

use std::fmt;

use automerge::ActorId;
use trestle_core::ids::{uuid_v5, RefundId, SaleId, TillId, VoidId};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Who holds stock: the hub (the online warehouse) or one till. Written in the document as
/// `"hub"` or `"till:<uuid>"`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Holder {
    Hub,
    Till(TillId),
}

impl Holder {
    /// Parses the document form (`hub`, `till:<uuid>`).
    pub fn parse(input: &str) -> Result<Holder> {
        if input == "hub" {
            return Ok(Holder::Hub);
        }
        input
            .strip_prefix("till:")
            .and_then(|s| Uuid::parse_str(s).ok())
            .map(|u| Holder::Till(TillId(u)))
            .ok_or_else(|| Error::Malformed {
                path: format!("holder {input:?}"),
                reason: "not hub or till:<id>",
            })
    }

    /// The Automerge actor of this holder: the till's id, or a fixed id for the hub. One actor per
    /// holder per document, so a change's author tells which holder made it (the audit relies on
    /// it). A till restored from an old backup must therefore be given a new till id.
    pub fn actor(&self) -> ActorId {
        match self {
            Holder::Hub => ActorId::from(hub_actor_uuid().as_bytes().as_slice()),
            Holder::Till(t) => ActorId::from(t.0.as_bytes().as_slice()),
        }
    }

    /// The holder whose actor id this is, if it is one of ours.
    pub fn from_actor(actor: &ActorId) -> Option<Holder> {
        let bytes: [u8; 16] = actor.to_bytes().try_into().ok()?;
        let u = Uuid::from_bytes(bytes);
        if u == hub_actor_uuid() {
            Some(Holder::Hub)
        } else {
            Some(Holder::Till(TillId(u)))
        }
    }
}

fn hub_actor_uuid() -> Uuid {
    uuid_v5("holder:hub")
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Hub => f.write_str("hub"),
            Holder::Till(t) => write!(f, "till:{t}"),
        }
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(
    /// A pickup reservation (UUIDv7).
    ReservationId
);
id_type!(
    /// One collection at the stall of some or all of a reservation (UUIDv7).
    CollectId
);
id_type!(
    /// A transfer of stock between two holders (UUIDv7).
    TransferId
);
id_type!(
    /// A count correction by a holder on its own stock (UUIDv7).
    CountId
);
id_type!(
    /// A batch of online orders the hub took from its own stock in one change (UUIDv7).
    OrderBatchId
);
id_type!(
    /// A market event — a pop-up with its name, place, dates and tills (UUIDv7). Not to be
    /// confused with `trestle_core::ids::EventId`, the outbox's idempotency key.
    MarketEventId
);

/// Why a change was made: its commit message. Every change the replica writes names one.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Cause {
    Sale(SaleId),
    Refund(RefundId),
    Void(VoidId),
    Reserve(ReservationId),
    Collect(CollectId),
    Cancel(ReservationId),
    /// A hold whose expiry passed, released by its holder.
    Expire(ReservationId),
    /// The holder taking in a hand-over another till made of its reservation.
    Settle(CollectId),
    /// The holder marking a reservation packed and ready to hand over.
    Ready(ReservationId),
    Transfer(TransferId),
    Count(CountId),
    /// Online orders taken by the hub from its own `free`, many orders in one change.
    Orders(OrderBatchId),
    /// The creator's set-up work: genesis, catalog edits, new holders, events.
    Setup(String),
    /// A holder's unsent sales, refunds and voids folded into one change before sending
    /// (`changes` of them); the audit counts it as sales.
    Sales {
        changes: u64,
    },
    /// A holder's other unsent changes folded into one before sending.
    Fold {
        changes: u64,
    },
    /// Changes of epoch `from` made after its rebase, carried into the next epoch for `holder`.
    Carry {
        from: u64,
        holder: Holder,
    },
}

impl Cause {
    /// The commit message, e.g. `sale:0190…`.
    pub fn message(&self) -> String {
        match self {
            Cause::Sale(id) => format!("sale:{id}"),
            Cause::Refund(id) => format!("refund:{id}"),
            Cause::Void(id) => format!("void:{id}"),
            Cause::Reserve(id) => format!("reserve:{id}"),
            Cause::Collect(id) => format!("collect:{id}"),
            Cause::Cancel(id) => format!("cancel:{id}"),
            Cause::Expire(id) => format!("expire:{id}"),
            Cause::Settle(id) => format!("settle:{id}"),
            Cause::Ready(id) => format!("ready:{id}"),
            Cause::Transfer(id) => format!("transfer:{id}"),
            Cause::Count(id) => format!("count:{id}"),
            Cause::Orders(id) => format!("orders:{id}"),
            Cause::Setup(what) => format!("setup:{what}"),
            Cause::Sales { changes } => format!("sales:{changes}"),
            Cause::Fold { changes } => format!("fold:{changes}"),
            Cause::Carry { from, holder } => format!("carry:{from}:{holder}"),
        }
    }

    /// The kind part of a message (`sale`, `refund`, …), or `None` for a message we did not write.
    pub fn kind_of(message: &str) -> Option<CauseKind> {
        let (kind, _) = message.split_once(':')?;
        Some(match kind {
            "sale" => CauseKind::Sale,
            "refund" => CauseKind::Refund,
            "void" => CauseKind::Void,
            "reserve" => CauseKind::Reserve,
            "collect" => CauseKind::Collect,
            "cancel" => CauseKind::Cancel,
            "expire" => CauseKind::Expire,
            "settle" => CauseKind::Settle,
            "ready" => CauseKind::Ready,
            "transfer" => CauseKind::Transfer,
            "count" => CauseKind::Count,
            "orders" => CauseKind::Orders,
            "setup" => CauseKind::Setup,
            "sales" => CauseKind::Sales,
            "fold" => CauseKind::Fold,
            "carry" => CauseKind::Carry,
            _ => return None,
        })
    }
}

/// The kind of a [`Cause`], for tallies.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum CauseKind {
    Sale,
    Refund,
    Void,
    Reserve,
    Collect,
    Cancel,
    Expire,
    Settle,
    Ready,
    Transfer,
    Count,
    Orders,
    Setup,
    Sales,
    Fold,
    Carry,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_round_trip_through_text_and_actor() {
        let t = Holder::Till(TillId(Uuid::from_u128(7)));
        assert_eq!(Holder::parse(&t.to_string()).unwrap(), t);
        assert_eq!(Holder::parse("hub").unwrap(), Holder::Hub);
        assert!(Holder::parse("till:nope").is_err());
        assert_eq!(Holder::from_actor(&t.actor()), Some(t));
        assert_eq!(Holder::from_actor(&Holder::Hub.actor()), Some(Holder::Hub));
    }

    #[test]
    fn messages_parse_back_to_their_kind() {
        let m = Cause::Carry {
            from: 3,
            holder: Holder::Hub,
        }
        .message();
        assert_eq!(m, "carry:3:hub");
        assert_eq!(Cause::kind_of(&m), Some(CauseKind::Carry));
        assert_eq!(Cause::kind_of("nonsense"), None);
    }
}
