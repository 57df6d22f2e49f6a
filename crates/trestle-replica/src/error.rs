//! The one error type of `trestle-replica`, with stable machine codes (`Error::code`).
//!
//! Messages are one sentence a cashier or maker can act on. Variants and holders are printed as
//! their ids; the till swaps in titles and till names when it shows them (it has the catalog).

use trestle_core::ids::VariantId;

use crate::ids::Holder;

/// Result with the replica's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the replica can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("not enough stock of {title}: {wanted} wanted, {available} available at {holder}")]
    Short {
        variant: VariantId,
        title: String,
        holder: Holder,
        wanted: i64,
        available: i64,
    },
    #[error("{holder} holds no stock of {variant}; allocate some to it from the hub first")]
    NoStock { variant: VariantId, holder: Holder },
    #[error("{variant} is not in this shop's catalog")]
    UnknownVariant { variant: VariantId },
    #[error("only the shop's hub (or a till working alone) can {action}")]
    NotCreator { action: &'static str },
    #[error("{what} {id} already exists")]
    AlreadyExists { what: &'static str, id: String },
    #[error("there is no reservation {id}")]
    UnknownReservation { id: String },
    #[error("reservation {id} is held by {holder}; ask them to change it")]
    NotYourReservation { id: String, holder: String },
    #[error("reservation {id} is already {status}")]
    ReservationClosed { id: String, status: String },
    #[error("reservation {id} cannot be marked ready: {reason}")]
    NotReadyable { id: String, reason: String },
    #[error("reservation {id} has only {remaining} of {variant} left to collect, not {wanted}")]
    CollectTooMany {
        id: String,
        variant: VariantId,
        wanted: i64,
        remaining: i64,
    },
    #[error("choose at least one item")]
    NoLines,
    #[error("stock cannot be transferred from {holder} to itself")]
    TransferToSelf { holder: Holder },
    #[error("a stock correction must change the count by at least one")]
    ZeroCorrection,
    #[error("the stock data received is damaged or not from Trestle ({reason})")]
    Unreadable { reason: String },
    #[error("the stock data received belongs to another shop or another epoch")]
    ForeignDocument,
    #[error("the stock record is missing {path} ({reason}); restore it from the hub")]
    Malformed { path: String, reason: &'static str },
    #[error("the stock record uses format {found}, newer than this app knows ({supported}); update the app")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("this device holds stock period {ours} but the data is from period {theirs}")]
    EpochMismatch { ours: u64, theirs: u64 },
    #[error("sales made offline in stock period {epoch} have not been carried into the new period yet; sync with the hub first")]
    CarryPending { epoch: u64 },
    #[error("the stock record could not be updated (internal error: {0})")]
    Internal(String),
}

impl Error {
    /// The stable code of this error, e.g. `stock.short`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Short { .. } => "stock.short",
            Error::NoStock { .. } => "stock.not_held",
            Error::UnknownVariant { .. } => "catalog.unknown_variant",
            Error::NotCreator { .. } => "replica.not_creator",
            Error::AlreadyExists { .. } => "replica.already_exists",
            Error::UnknownReservation { .. } => "reservation.unknown",
            Error::NotYourReservation { .. } => "reservation.not_yours",
            Error::ReservationClosed { .. } => "reservation.closed",
            Error::NotReadyable { .. } => "reservation.not_readyable",
            Error::CollectTooMany { .. } => "reservation.collect_too_many",
            Error::NoLines => "ops.no_lines",
            Error::TransferToSelf { .. } => "transfer.to_self",
            Error::ZeroCorrection => "count.zero",
            Error::Unreadable { .. } => "replica.unreadable",
            Error::ForeignDocument => "replica.foreign_document",
            Error::Malformed { .. } => "replica.malformed",
            Error::SchemaTooNew { .. } => "replica.schema_too_new",
            Error::EpochMismatch { .. } => "epoch.mismatch",
            Error::CarryPending { .. } => "epoch.carry_pending",
            Error::Internal(_) => "replica.internal",
        }
    }
}

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dotted_and_messages_name_the_numbers() {
        let e = Error::Short {
            variant: VariantId(uuid::Uuid::nil()),
            title: "Mug".into(),
            holder: Holder::Hub,
            wanted: 3,
            available: 1,
        };
        assert_eq!(e.code(), "stock.short");
        assert_eq!(
            e.to_string(),
            "not enough stock of Mug: 3 wanted, 1 available at hub"
        );
    }
}
