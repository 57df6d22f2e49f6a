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
    #[error(
        "the quantity must be a whole number from 1 to {max}, not {input:?}",
        max = crate::catalog::MAX_QTY
    )]
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
    #[error(
        "{input:?} is not a payment (write it like cash=20, card=12.50:AUTH123 or other=5:voucher)"
    )]
    InvalidTender { input: String },
    #[error("everything on this sale has already been refunded")]
    RefundNothingLeft,
    #[error("choose at least one line to refund")]
    RefundEmpty,
    #[error("line {line_no} is not on this sale")]
    RefundUnknownLine { line_no: u32 },
    #[error("line {line_no} appears more than once in the refund")]
    RefundDuplicateLine { line_no: u32 },
    #[error("only {remaining} of line {line_no} can still be refunded, not {requested}")]
    RefundTooMany {
        line_no: u32,
        requested: u32,
        remaining: u32,
    },
    #[error("the file is not UTF-8 text (line {line}); export it again from Shopify as CSV")]
    ImportNotUtf8 { line: u64 },
    #[error("the file is empty; a Shopify product CSV starts with a header line")]
    ImportNoHeader,
    #[error("the file has no {column:?} column, so it is not a Shopify product CSV export")]
    ImportMissingColumn { column: &'static str },
    #[error("the header line of the file cannot be read as CSV ({reason})")]
    ImportUnreadable { reason: String },
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
            Error::InvalidTender { .. } => "tender.invalid",
            Error::RefundNothingLeft => "refund.nothing_left",
            Error::RefundEmpty => "refund.empty",
            Error::RefundUnknownLine { .. } => "refund.unknown_line",
            Error::RefundDuplicateLine { .. } => "refund.duplicate_line",
            Error::RefundTooMany { .. } => "refund.too_many",
            Error::ImportNotUtf8 { .. } => "import.not_utf8",
            Error::ImportNoHeader => "import.no_header",
            Error::ImportMissingColumn { .. } => "import.missing_column",
            Error::ImportUnreadable { .. } => "import.unreadable",
        }
    }
}
