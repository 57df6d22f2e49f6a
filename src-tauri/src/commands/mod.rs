//! The `#[tauri::command]`s: each a one-line adapter from the wire types to a trestle-till
//! service. They run off the window's thread (`async`), so a slow disk or hub never freezes it.

pub mod sell;
pub mod stall;

use trestle_core::catalog::Qty;
use trestle_core::ids::VariantId;

use crate::error::CmdResult;
use crate::wire::AppError;

/// A quantity typed in the window: a whole number from 1 up.
pub(crate) fn qty(n: u32) -> CmdResult<Qty> {
    Ok(Qty::new(n)?)
}

/// A line index from the window.
pub(crate) fn index(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

pub(crate) fn variant(id: &str) -> CmdResult<VariantId> {
    VariantId::parse(id.trim()).map_err(|_| AppError::invalid(format!("{id:?} is not an item")))
}
