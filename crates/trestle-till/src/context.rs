//! The sale context cached on an open [`Till`]: who is acting (the owner, or who is signed in)
//! and which event is open on this till — read from SQLite once, not by every sale.
//!
//! # The rule
//! The cached context is used while both hold:
//! - no other connection to the till's file committed since it was read (SQLite's
//!   `PRAGMA data_version`, which changes exactly when *another* connection commits: the sync
//!   agent's connection, the `trestle` CLI run while the app is open, a second app window);
//! - this `Till` made none of the changes that can alter it: signing in or out, storing the
//!   staff roster (which may sign someone out), opening or closing an event. Each of those
//!   forgets the context, whether it succeeded or not.
//!
//! Anything else this connection writes (sales, refunds, pickups, cash moves) cannot change who
//! is acting or which event is open, so a sale after a sale reads neither table again.

use std::cell::RefCell;

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::staff::Actor;
use crate::till::Till;

/// What a sale needs to know about the till's state, as last read.
#[derive(Debug, Clone)]
pub(crate) struct SaleContext {
    /// `PRAGMA data_version` when it was read.
    data_version: i64,
    /// `None`: staff exist and nobody is signed in.
    actor: Option<Actor>,
    open_event: Option<String>,
}

/// The cache itself: empty until the first read, emptied by [`Till::forget_context`].
#[derive(Debug, Default)]
pub(crate) struct ContextCache(RefCell<Option<SaleContext>>);

fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

fn read(conn: &Connection, data_version: i64) -> Result<SaleContext> {
    let any: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM staff WHERE active = 1)")?
        .query_row([], |r| r.get(0))?;
    let actor = if any {
        conn.prepare_cached(
            "SELECT s.id, s.name, s.role, s.active FROM till_session t
             JOIN staff s ON s.id = t.staff_id WHERE t.id = 1 AND s.active = 1",
        )?
        .query_row([], crate::staff::row_view)
        .optional()?
        .map(Actor::Staff)
    } else {
        Some(Actor::Owner)
    };
    let open_event = conn
        .prepare_cached("SELECT event_id FROM till_events WHERE status = 'open'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(SaleContext {
        data_version,
        actor,
        open_event,
    })
}

impl Till {
    /// The sale context, from the cache while it is valid (see the module's rule), else read.
    fn context(&self) -> Result<SaleContext> {
        let conn = self.db.conn();
        let dv = data_version(conn)?;
        if let Some(c) = self.context.0.borrow().as_ref() {
            if c.data_version == dv {
                return Ok(c.clone());
            }
        }
        let fresh = read(conn, dv)?;
        *self.context.0.borrow_mut() = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forgets the cached context: called by everything on this connection that can change who
    /// is acting or which event is open.
    pub(crate) fn forget_context(&self) {
        self.context.0.borrow_mut().take();
    }

    /// Who is acting now: the owner when no staff are configured, else the person signed in
    /// (`staff.sign_in_required` when nobody is).
    pub fn actor(&self) -> Result<Actor> {
        self.context()?.actor.ok_or(Error::SignInRequired)
    }

    /// The id of the event open on this till, if one is.
    pub fn open_event_id(&self) -> Result<Option<String>> {
        Ok(self.context()?.open_event)
    }
}
