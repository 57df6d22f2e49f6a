//! The one error type of `trestle-core`, with stable machine codes (`Error::code`).

/// Result with the core's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the pure domain can refuse. Messages are one sentence a cashier or maker can act on;
/// `code()` is stable and is what the UI and HTTP clients match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(
        "{0:?} is not a currency code Trestle knows (use an ISO 4217 code such as GBP, EUR, JPY)"
    )]
    UnknownCurrency(String),
    #[error("{input:?} is not an amount of money (write it like 12.50)")]
    InvalidAmount { input: String },
    #[error("{currency} amounts have at most {exponent} decimal places, but {input:?} has more")]
    TooPrecise {
        input: String,
        currency: String,
        exponent: u8,
    },
    #[error("the amount is too large")]
    AmountOutOfRange,
    #[error("amounts in {expected} and {found} cannot be mixed")]
    CurrencyMismatch { expected: String, found: String },
    #[error("{input:?} is not a tax rate (write a percentage like 20 or 5.5)")]
    InvalidTaxRate { input: String },
    #[error("{input:?} is not a valid {what}: {reason}")]
    InvalidValue {
        what: &'static str,
        input: String,
        reason: &'static str,
    },
    #[error("the quantity must be a whole number of at least 1, not {input:?}")]
    InvalidQuantity { input: String },
    #[error("{input:?} is not a discount (write 2.50 for an amount or 10% for a percentage)")]
    InvalidDiscount { input: String },
    #[error("the discount of {discount} is more than the {what} it applies to ({amount})")]
    DiscountTooLarge {
        what: &'static str,
        discount: String,
        amount: String,
    },
    #[error("the cart is empty")]
    EmptyCart,
    #[error("the payment is {short} short of the total {total}")]
    Underpaid { total: String, short: String },
    #[error(
        "change can only be given from cash: the {kind} payment is {over} more than what is due"
    )]
    ChangeOnNonCash { kind: &'static str, over: String },
    #[error("a payment must be more than zero")]
    ZeroTender,
    #[error("{0}")]
    Refund(String),
}

impl Error {
    /// The stable code of this error, e.g. `money.invalid_amount`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownCurrency(_) => "money.unknown_currency",
            Error::InvalidAmount { .. } => "money.invalid_amount",
            Error::TooPrecise { .. } => "money.too_precise",
            Error::AmountOutOfRange => "money.out_of_range",
            Error::CurrencyMismatch { .. } => "money.currency_mismatch",
            Error::InvalidTaxRate { .. } => "tax.invalid_rate",
            Error::InvalidValue { .. } => "value.invalid",
            Error::InvalidQuantity { .. } => "cart.invalid_quantity",
            Error::InvalidDiscount { .. } => "cart.invalid_discount",
            Error::DiscountTooLarge { .. } => "cart.discount_too_large",
            Error::EmptyCart => "cart.empty",
            Error::Underpaid { .. } => "tender.underpaid",
            Error::ChangeOnNonCash { .. } => "tender.change_on_non_cash",
            Error::ZeroTender => "tender.zero",
            Error::Refund(_) => "refund.invalid",
        }
    }
}
