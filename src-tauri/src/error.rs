//! Errors as the window receives them: `{code, message}`, the till's stable codes and sentences.

use crate::wire::AppError;

impl From<trestle_till::Error> for AppError {
    fn from(e: trestle_till::Error) -> AppError {
        tracing::debug!(error = ?e, code = e.code(), "command refused");
        AppError {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

impl From<trestle_core::Error> for AppError {
    fn from(e: trestle_core::Error) -> AppError {
        trestle_till::Error::from(e).into()
    }
}

impl AppError {
    pub fn not_set_up() -> AppError {
        AppError {
            code: "till.not_initialised".into(),
            message: "this till is not set up yet; pair it with a hub or open the demo".into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> AppError {
        AppError {
            code: "input.invalid".into(),
            message: message.into(),
        }
    }
}

pub type CmdResult<T> = Result<T, AppError>;
