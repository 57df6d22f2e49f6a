//! The shop's staff in its partition: adding, changing and listing staff members, and the roster
//! with PIN hashes that paired tills pull. PINs arrive hashed (the handler hashes them off the
//! writer thread); this file never sees a PIN.

use rusqlite::{params, OptionalExtension};
use trestle_protocol::{RosterEntry, StaffMember};
use uuid::Uuid;

use super::Ctx;
use crate::db::{new_id, now_ms, rfc3339};
use crate::directory::clean_name;
use crate::error::{HubError, Result};

/// A staff change as validated at the boundary (role checked, PIN already hashed).
#[derive(Debug, Clone, Default)]
pub struct StaffChange {
    pub name: Option<String>,
    pub role: Option<&'static str>,
    pub pin_hash: Option<String>,
    pub active: Option<bool>,
}

fn member(e: &RosterEntry) -> StaffMember {
    StaffMember {
        id: e.id,
        name: e.name.clone(),
        role: e.role.clone(),
        active: e.active,
        updated_at: rfc3339(e.updated_ms),
    }
}

impl Ctx<'_> {
    /// Adds a staff member; a name already in use (any case) is `staff.name_taken`.
    pub fn create_staff(&mut self, name: &str, role: &str, pin_hash: &str) -> Result<StaffMember> {
        let name = clean_name("staff name", name)?;
        self.name_free(&name, None)?;
        let (id, now) = (new_id(), now_ms());
        self.tx.execute(
            "INSERT INTO staff (id, name, role, pin_hash, active, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
            params![id.to_string(), name, role, pin_hash, now],
        )?;
        Ok(member(&self.staff_entry(id)?))
    }

    /// Changes a staff member's name, role, PIN or whether they are active.
    pub fn update_staff(&mut self, id: Uuid, change: StaffChange) -> Result<StaffMember> {
        let mut e = self.staff_entry(id)?;
        if let Some(name) = &change.name {
            let name = clean_name("staff name", name)?;
            self.name_free(&name, Some(id))?;
            e.name = name;
        }
        if let Some(role) = change.role {
            e.role = role.to_string();
        }
        if let Some(h) = change.pin_hash {
            e.pin_hash = h;
        }
        if let Some(a) = change.active {
            e.active = a;
        }
        self.tx.execute(
            "UPDATE staff SET name = ?2, role = ?3, pin_hash = ?4, active = ?5, updated_ms = ?6
             WHERE id = ?1",
            params![
                id.to_string(),
                e.name,
                e.role,
                e.pin_hash,
                e.active,
                now_ms()
            ],
        )?;
        Ok(member(&self.staff_entry(id)?))
    }

    /// Every staff member, by name.
    pub fn staff(&mut self) -> Result<Vec<StaffMember>> {
        Ok(self.roster()?.iter().map(member).collect())
    }

    /// The roster tills pull: everyone, active or not (a deactivated person is taken off the
    /// till), with their PIN hashes.
    pub fn roster(&mut self) -> Result<Vec<RosterEntry>> {
        let mut st = self.tx.prepare_cached(
            "SELECT id, name, role, active, pin_hash, updated_ms FROM staff ORDER BY lower(name)",
        )?;
        let rows = st
            .query_map([], entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// One staff member with their hash; `not_found` when there is none.
    pub fn staff_entry(&mut self, id: Uuid) -> Result<RosterEntry> {
        self.tx
            .prepare_cached(
                "SELECT id, name, role, active, pin_hash, updated_ms FROM staff WHERE id = ?1",
            )?
            .query_row([id.to_string()], entry)
            .optional()?
            .ok_or_else(|| HubError::not_found("staff member", id))
    }

    fn name_free(&mut self, name: &str, except: Option<Uuid>) -> Result<()> {
        let other: Option<String> = self
            .tx
            .query_row(
                "SELECT id FROM staff WHERE lower(name) = lower(?1)",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        match other {
            Some(o) if Some(o.as_str()) != except.map(|e| e.to_string()).as_deref() => {
                Err(HubError::Conflict {
                    code: "staff.name_taken",
                    message: format!("a staff member is already called {name:?}"),
                    details: None,
                })
            }
            _ => Ok(()),
        }
    }
}

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<RosterEntry> {
    let id: String = r.get(0)?;
    Ok(RosterEntry {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        name: r.get(1)?,
        role: r.get(2)?,
        active: r.get(3)?,
        pin_hash: r.get(4)?,
        updated_ms: r.get(5)?,
    })
}
