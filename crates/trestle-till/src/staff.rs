//! Staff on the till: the roster pulled from the hub (PIN hashes only), signing in and switching
//! with one PIN, the lockout after five wrong PINs (persisted), who is acting now, and manager
//! approvals (a manager's PIN) for what a cashier may not do alone.
//!
//! A till whose roster has nobody active runs as the shop's owner: no sign-in, no approvals, and
//! records carry what the caller names (or nothing, meaning the owner). Once staff exist, every
//! business action needs someone signed in, and the records carry their staff id.

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use trestle_core::clock::Hlc;
use trestle_core::staff::{locked_until, verify_pin, Pin, Role, MAX_PIN_FAILURES};
use trestle_core::Money;
use trestle_protocol::{CreateStaffSession, RosterEntry, StaffRoster, TokenCreated};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::sync::client::{HubClient, ATTEMPTS};
use crate::till::Till;

/// A staff member as the till shows them (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffView {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
}

/// Who is acting on the till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// No staff configured: the shop's owner, who may do everything.
    Owner,
    Staff(StaffView),
}

impl Actor {
    /// What the ledger records as "who did it": the staff id, or `None` for the owner.
    pub fn stamp(&self) -> Option<String> {
        match self {
            Actor::Owner => None,
            Actor::Staff(s) => Some(s.id.clone()),
        }
    }

    /// Whether this person may do what needs a manager without asking one.
    pub fn is_manager(&self) -> bool {
        match self {
            Actor::Owner => true,
            Actor::Staff(s) => s.role == Role::Manager,
        }
    }
}

/// A manager's approval as typed at the till: who (name or id) and their PIN.
#[derive(Debug, Clone)]
pub struct Approval {
    pub manager: String,
    pub pin: Pin,
}

/// A checked approval: the manager who gave it, or the acting person when they are a manager.
#[derive(Debug, Clone)]
pub(crate) struct Approver(pub(crate) Option<String>);

impl Till {
    /// Replaces the roster with the hub's (one transaction). Called by sync; a person no longer
    /// active who is signed in is signed out.
    pub fn store_roster(&mut self, roster: &[RosterEntry]) -> Result<()> {
        for e in roster {
            if !trestle_core::staff::is_pin_hash(&e.pin_hash) || Role::parse(&e.role).is_err() {
                return Err(Error::HubAnswer(format!(
                    "the staff roster entry {} is not a valid staff member",
                    e.id
                )));
            }
        }
        self.forget_context();
        self.db.write(|tx| {
            tx.execute("DELETE FROM staff", [])?;
            for e in roster {
                tx.prepare_cached(
                    "INSERT INTO staff (id, name, role, active, pin_hash, updated_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    e.id.to_string(),
                    e.name,
                    e.role,
                    e.active,
                    e.pin_hash,
                    e.updated_ms
                ])?;
            }
            tx.execute(
                "UPDATE till_session SET staff_id = NULL, signed_in_ms = NULL WHERE id = 1
                 AND staff_id NOT IN (SELECT id FROM staff WHERE active = 1)",
                [],
            )?;
            Ok(())
        })
    }

    /// Pulls the roster from the paired hub and stores it.
    pub(crate) fn pull_roster(&mut self, hub: &HubClient) -> Result<usize> {
        let roster: StaffRoster = hub
            .send("/v1/sync/staff", ATTEMPTS, |c, u| c.get(u))?
            .json("the staff roster")?;
        self.store_roster(&roster.staff)?;
        Ok(roster.staff.len())
    }

    /// The staff on this till, by name (active and not).
    pub fn staff(&self) -> Result<Vec<StaffView>> {
        let mut st = self
            .db
            .conn()
            .prepare("SELECT id, name, role, active FROM staff ORDER BY lower(name)")?;
        let rows = st
            .query_map([], row_view)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Signs `who` (a name or id from the staff list) in with their PIN; whoever was signed in
    /// is signed out (switching staff takes one PIN). Wrong PINs count towards a lockout.
    pub fn sign_in(&mut self, who: &str, pin: &Pin) -> Result<StaffView> {
        let person = self.check_pin(who, pin)?;
        let now = i64::try_from(self.now_ms()).unwrap_or(i64::MAX);
        self.forget_context();
        self.db.write(|tx| {
            tx.execute(
                "UPDATE till_session SET staff_id = ?1, signed_in_ms = ?2 WHERE id = 1",
                params![person.id, now],
            )?;
            Ok(())
        })?;
        tracing::info!(staff = %person.id, "signed in");
        Ok(person)
    }

    /// Signs whoever is signed in out.
    pub fn sign_out(&mut self) -> Result<()> {
        self.forget_context();
        self.db.write(|tx| {
            tx.execute(
                "UPDATE till_session SET staff_id = NULL, signed_in_ms = NULL WHERE id = 1",
                [],
            )?;
            Ok(())
        })
    }

    /// The refund total above which a cashier needs a manager's approval.
    pub fn refund_threshold(&self) -> Result<Money> {
        let minor: i64 = self.db.conn().query_row(
            "SELECT refund_approval_minor FROM market_settings WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        Ok(Money::from_minor(minor, self.shop.currency))
    }

    /// Sets the refund approval threshold (a manager or the owner only).
    pub fn set_refund_threshold(&mut self, amount: Money) -> Result<()> {
        if !self.actor()?.is_manager() {
            return Err(Error::ApprovalRequired("changing the refund limit".into()));
        }
        self.db.write(|tx| {
            tx.execute(
                "UPDATE market_settings SET refund_approval_minor = ?1 WHERE id = 1",
                [amount.minor()],
            )?;
            Ok(())
        })
    }

    /// A short-lived session token on the hub for the person signed in, scoped to `event`.
    /// Kept by the caller (the app holds it in memory); never written to disk.
    pub fn staff_session(&mut self, event: Uuid) -> Result<TokenCreated> {
        let Actor::Staff(person) = self.actor()? else {
            return Err(Error::SignInRequired);
        };
        let staff_id = Uuid::parse_str(&person.id)
            .map_err(|_| Error::Corrupt("a staff id is unreadable".into()))?;
        let (link, creds) = self.credentials()?;
        let hub = HubClient::new(&link.hub_url, Some(creds.device_token))?;
        let body = CreateStaffSession {
            staff_id,
            event_id: event,
        };
        hub.send("/v1/sync/staff-sessions", 1, |c, u| c.post(u).json(&body))?
            .json("the staff session")
    }

    /// Checks a PIN against the person's hash, offline. A wrong PIN is recorded (in its own
    /// transaction, so it counts whatever the caller does next); the fifth in a row locks the
    /// person out; a right one clears the count.
    pub(crate) fn check_pin(&mut self, who: &str, pin: &Pin) -> Result<StaffView> {
        let (person, hash) = self.find_staff(who)?;
        let now = self.now_ms();
        let (failures, until): (u32, Option<i64>) = self
            .db
            .conn()
            .query_row(
                "SELECT failures, locked_until_ms FROM staff_lockouts WHERE staff_id = ?1",
                [&person.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, None));
        let until = until.and_then(|u| u64::try_from(u).ok());
        if let Some(u) = until.filter(|u| *u > now) {
            return Err(Error::LockedOut {
                name: person.name,
                minutes: (u - now).div_ceil(60_000),
            });
        }
        if verify_pin(pin, &hash) {
            self.db.write(|tx| {
                tx.execute(
                    "DELETE FROM staff_lockouts WHERE staff_id = ?1",
                    [&person.id],
                )?;
                Ok(())
            })?;
            return Ok(person);
        }
        // A lockout that has run out starts the count afresh.
        let failures = if until.is_some() { 1 } else { failures + 1 };
        let locked = locked_until(failures, now);
        self.db.write(|tx| {
            tx.execute(
                "INSERT INTO staff_lockouts (staff_id, failures, locked_until_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (staff_id) DO UPDATE SET failures = ?2, locked_until_ms = ?3",
                params![
                    person.id,
                    failures,
                    locked.map(|u| i64::try_from(u).unwrap_or(i64::MAX))
                ],
            )?;
            Ok(())
        })?;
        tracing::warn!(staff = %person.id, failures, "wrong PIN");
        match locked {
            Some(u) => Err(Error::LockedOut {
                name: person.name,
                minutes: (u - now).div_ceil(60_000),
            }),
            None => Err(Error::WrongPin {
                name: person.name,
                left: MAX_PIN_FAILURES - failures,
            }),
        }
    }

    fn find_staff(&self, who: &str) -> Result<(StaffView, String)> {
        let key = who.trim();
        self.db
            .conn()
            .query_row(
                "SELECT id, name, role, active, pin_hash FROM staff
                 WHERE active = 1 AND (id = ?1 OR lower(name) = lower(?1))",
                [key],
                |r| Ok((row_view(r)?, r.get::<_, String>(4)?)),
            )
            .optional()?
            .ok_or_else(|| Error::UnknownStaff(key.to_string()))
    }

    /// Checks that `what` may be done: the acting person is a manager (or the owner), or a
    /// manager's approval with the right PIN is given. Returns who approved, for the record.
    pub(crate) fn approve(
        &mut self,
        actor: &Actor,
        approval: Option<&Approval>,
        what: &str,
    ) -> Result<Approver> {
        if let Some(a) = approval {
            let m = self.check_pin(&a.manager, &a.pin)?;
            if m.role != Role::Manager {
                return Err(Error::NotAManager(m.name));
            }
            return Ok(Approver(Some(m.id)));
        }
        if actor.is_manager() {
            return Ok(Approver(actor.stamp()));
        }
        Err(Error::ApprovalRequired(what.to_string()))
    }
}

/// Who acted, who approved, and when: what every approval of one action records.
pub(crate) struct Granted<'a> {
    pub(crate) actor: &'a Actor,
    pub(crate) approver: &'a Approver,
    pub(crate) at: Hlc,
}

/// Records an approval in the action's own transaction.
pub(crate) fn record_approval(
    tx: &Transaction<'_>,
    g: &Granted<'_>,
    id: Uuid,
    kind: &str,
    reference: &str,
    detail: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO approvals (id, kind, ref, staff, manager, detail, hlc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        id.to_string(),
        kind,
        reference,
        g.actor.stamp(),
        g.approver.0.clone().unwrap_or_else(|| "owner".into()),
        detail,
        g.at.encode()
    ])?;
    Ok(())
}

pub(crate) fn row_view(r: &rusqlite::Row<'_>) -> rusqlite::Result<StaffView> {
    let role: String = r.get(2)?;
    Ok(StaffView {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Cashier),
        active: r.get(3)?,
    })
}
