//! The one error type of `trestle-till`, with stable codes; every message is one sentence a
//! cashier or maker can act on. Storage failures keep their cause for the log but never show
//! SQL to the person at the till.

use std::path::PathBuf;

/// Result with the till's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{0}")]
    Domain(#[from] trestle_core::Error),
    #[error("no till is set up in {}; run `trestle init` first", .0.display())]
    NotInitialised(PathBuf),
    #[error("a till is already set up in {}", .0.display())]
    AlreadyInitialised(PathBuf),
    #[error("cannot use the data directory {}: {reason}", .dir.display())]
    DataDir { dir: PathBuf, reason: String },
    #[error("cannot read {}: {reason}", .path.display())]
    ReadFile { path: PathBuf, reason: String },
    #[error("no product has the SKU, barcode or id {0:?}")]
    UnknownItem(String),
    #[error("the SKU {sku:?} is used by {count} variants ({examples}); scan the barcode or use the variant id")]
    AmbiguousSku {
        sku: String,
        count: usize,
        examples: String,
    },
    #[error("only {available} of {title} left at this till, {wanted} wanted")]
    OutOfStock {
        title: String,
        wanted: i64,
        available: i64,
    },
    #[error("no sale has the receipt number {0}")]
    ReceiptNotFound(String),
    #[error("the sale {0} was voided")]
    AlreadyVoided(String),
    #[error("the sale {0} has refunds, so it cannot be voided; refund what is left instead")]
    VoidAfterRefund(String),
    #[error("{0}")]
    Replica(trestle_replica::Error),
    #[error("the audit found {0} conflicts between the ledger and the stock replica")]
    Conflicts(usize),
    #[error("{item:?} is not on the sale {receipt}")]
    NotOnSale { item: String, receipt: String },
    #[error("{0}")]
    InvalidInput(String),
    #[error("the till's database is damaged ({0}); restore it from a backup")]
    Corrupt(String),
    #[error("the till could not save to its database ({0})")]
    Storage(#[from] rusqlite::Error),
    #[error("this till is not paired with a hub; run `trestle pair --hub URL --code CODE` first")]
    NotPaired,
    #[error("this till is already paired with the hub at {0}; it cannot pair with another hub")]
    AlreadyPaired(String),
    #[error("this till is paired with a hub, which keeps the catalog; import the file at the hub instead")]
    CatalogFromHub,
    #[error("the hub's shop {what}; set this till up afresh to match the hub's shop")]
    ShopMismatch { what: String },
    #[error("the hub at {url} could not be reached ({reason}); nothing was changed here, so sync again when there is a connection")]
    HubUnreachable { url: String, reason: String },
    #[error("the hub at {url} failed to answer (HTTP {status}); try again later")]
    HubFailed { url: String, status: u16 },
    #[error("the hub refused this till's device token; pair the till again with a new code")]
    HubUnauthorised,
    #[error("the hub refused: {message} ({code})")]
    HubRefused { code: String, message: String },
    #[error("the hub's answer could not be understood ({0})")]
    HubAnswer(String),
    #[error("no conflict has the id {0}; `trestle conflicts` lists them")]
    ConflictNotFound(String),
    #[error("{choice:?} is not offered for this conflict; choose one of {offered}")]
    ConflictChoice { choice: String, offered: String },
    #[error("the conflict {id} is resolved already ({resolution})")]
    ConflictResolved { id: String, resolution: String },
    #[error(
        "no pickup matches {0:?}; check the code, or search by the customer's name, email or phone"
    )]
    PickupNotFound(String),
    #[error("{count} pickups match {query:?} ({examples}); use the pickup code")]
    PickupAmbiguous {
        query: String,
        count: usize,
        examples: String,
    },
    #[error("{0}")]
    Pickup(String),
    #[error("the till's hub credentials in {} cannot be used ({reason}); pair the till again", .path.display())]
    Credentials { path: PathBuf, reason: String },
    #[error("sign in first: tap your name and enter your PIN")]
    SignInRequired,
    #[error("nobody on this till's staff is called {0:?}")]
    UnknownStaff(String),
    #[error("wrong PIN for {name}; {left} more tries before they are locked out")]
    WrongPin { name: String, left: u32 },
    #[error("{name} is locked out after too many wrong PINs; try again in {minutes} minutes")]
    LockedOut { name: String, minutes: u64 },
    #[error("a manager must approve {0}: ask a manager for their PIN")]
    ApprovalRequired(String),
    #[error("{0} is not a manager, so they cannot approve this")]
    NotAManager(String),
    #[error("no event is open on this till; open one first")]
    NoEventOpen,
    #[error("the event {0:?} is open on this till already; close it first")]
    EventAlreadyOpen(String),
    #[error("the event {0:?} is closed, so it takes no new sales")]
    EventClosed(String),
    #[error("there is no event {0:?} for this till; sync to get the hub's events")]
    UnknownEvent(String),
}

impl From<trestle_replica::Error> for Error {
    fn from(e: trestle_replica::Error) -> Error {
        match e {
            trestle_replica::Error::Short {
                title,
                wanted,
                available,
                ..
            } => Error::OutOfStock {
                title,
                wanted,
                available: available.max(0),
            },
            other => Error::Replica(other),
        }
    }
}

/// An operating-system error as a plain phrase for the person at the till ("there is no such
/// file or folder"), without the "(os error 2)" a cashier cannot act on.
pub fn plain_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "there is no such file or folder".to_string(),
        ErrorKind::PermissionDenied => "permission was denied".to_string(),
        ErrorKind::NotADirectory => "part of the path is a file, not a folder".to_string(),
        ErrorKind::IsADirectory => "it is a folder, not a file".to_string(),
        ErrorKind::ReadOnlyFilesystem => "the disk is read-only".to_string(),
        ErrorKind::StorageFull => "the disk is full".to_string(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_string(),
                None => text,
            }
        }
    }
}

impl Error {
    /// The stable code of this error, e.g. `stock.insufficient`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Domain(e) => e.code(),
            Error::NotInitialised(_) => "till.not_initialised",
            Error::AlreadyInitialised(_) => "till.already_initialised",
            Error::DataDir { .. } => "till.data_dir",
            Error::ReadFile { .. } => "input.unreadable_file",
            Error::UnknownItem(_) => "catalog.unknown_item",
            Error::AmbiguousSku { .. } => "catalog.ambiguous_sku",
            Error::OutOfStock { .. } => "stock.insufficient",
            Error::ReceiptNotFound(_) => "sale.not_found",
            Error::AlreadyVoided(_) => "sale.voided",
            Error::VoidAfterRefund(_) => "sale.has_refunds",
            Error::Replica(e) => e.code(),
            Error::Conflicts(_) => "audit.conflicts",
            Error::NotOnSale { .. } => "refund.not_on_sale",
            Error::InvalidInput(_) => "input.invalid",
            Error::Corrupt(_) => "storage.corrupt",
            Error::Storage(_) => "storage.failure",
            Error::NotPaired => "sync.not_paired",
            Error::AlreadyPaired(_) => "sync.already_paired",
            Error::CatalogFromHub => "catalog.from_hub",
            Error::ShopMismatch { .. } => "pairing.shop_mismatch",
            Error::HubUnreachable { .. } => "sync.hub_unreachable",
            Error::HubFailed { .. } => "sync.hub_failed",
            Error::HubUnauthorised => "sync.unauthorised",
            Error::HubRefused { .. } => "sync.refused",
            Error::HubAnswer(_) => "sync.bad_answer",
            Error::Credentials { .. } => "sync.credentials",
            Error::SignInRequired => "staff.sign_in_required",
            Error::UnknownStaff(_) => "staff.unknown",
            Error::WrongPin { .. } => "staff.wrong_pin",
            Error::LockedOut { .. } => "staff.locked_out",
            Error::ApprovalRequired(_) => "staff.approval_required",
            Error::NotAManager(_) => "staff.not_a_manager",
            Error::NoEventOpen => "event.none_open",
            Error::EventAlreadyOpen(_) => "event.already_open",
            Error::EventClosed(_) => "event.closed",
            Error::UnknownEvent(_) => "event.unknown",
            Error::ConflictNotFound(_) => "conflict.not_found",
            Error::ConflictChoice { .. } => "conflict.unknown_resolution",
            Error::ConflictResolved { .. } => "conflict.resolved",
            Error::PickupNotFound(_) => "pickup.not_found",
            Error::PickupAmbiguous { .. } => "pickup.ambiguous",
            Error::Pickup(_) => "pickup.refused",
        }
    }
}
