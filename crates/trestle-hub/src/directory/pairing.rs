//! Pairing tills: short single-use codes made by the admin, exchanged by a till for its device
//! token; the paired devices of a shop.

use rusqlite::{params, OptionalExtension};
use trestle_core::code::{normalise_pairing_code, pairing_code};
use trestle_protocol::TokenKind;
use uuid::Uuid;

use super::tokens::insert_token;
use super::*;
use crate::db::{new_id, now_ms, random, rfc3339};
use crate::error::{HubError, Result};

impl Directory {
    /// A new pairing code for a till of `shop`, valid for ten minutes and once.
    pub fn create_pairing_code(
        &self,
        shop: Uuid,
        till_name: &str,
    ) -> Result<trestle_protocol::PairingCode> {
        let till_name = clean_name("till name", till_name)?;
        let code = pairing_code(random::<8>());
        let now = now_ms();
        let expires = now + PAIRING_TTL_MS;
        self.conn().execute(
            "INSERT INTO pairing_codes (code_hash, shop_id, till_name, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                hash_secret(&normalise_pairing_code(&code)).as_slice(),
                shop.to_string(),
                till_name,
                now,
                expires
            ],
        )?;
        Ok(trestle_protocol::PairingCode {
            code,
            till_name,
            expires_at: rfc3339(expires),
        })
    }

    /// Exchanges a pairing code for a device token; the code is used up. Returns the shop, the
    /// till id and name, and the token.
    pub fn pair(
        &self,
        code: &str,
        till_id: Option<Uuid>,
    ) -> Result<(Uuid, Uuid, String, String, i64)> {
        let hash = hash_secret(&normalise_pairing_code(code));
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let row: Option<(String, String, i64, Option<i64>)> = tx
            .query_row(
                "SELECT shop_id, till_name, expires_at, used_at FROM pairing_codes WHERE code_hash = ?1",
                [hash.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let refused = || {
            HubError::invalid(
                "pairing.invalid_code",
                "that pairing code is unknown, used or expired; ask for a new one on the hub",
            )
        };
        let Some((shop, till_name, expires, used)) = row else {
            return Err(refused());
        };
        if used.is_some() || expires <= now {
            return Err(refused());
        }
        let shop = Uuid::parse_str(&shop).map_err(HubError::internal)?;
        let till = till_id.unwrap_or_else(new_id);
        let taken: Option<String> = tx
            .query_row(
                "SELECT shop_id FROM devices WHERE id = ?1",
                [till.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match taken {
            // Re-pairing a till of this shop (its token expired or was revoked): its old tokens
            // stop working and it gets a new one.
            Some(owner) if owner == shop.to_string() => {
                tx.execute(
                    "UPDATE tokens SET revoked_at = ?1 WHERE device_id = ?2 AND revoked_at IS NULL",
                    params![now, till.to_string()],
                )?;
                tx.execute("DELETE FROM devices WHERE id = ?1", [till.to_string()])?;
            }
            Some(_) => {
                return Err(HubError::invalid(
                    "pairing.till_taken",
                    "a till with this id belongs to another shop; set the till up afresh",
                ))
            }
            None => {}
        }
        tx.execute(
            "UPDATE pairing_codes SET used_at = ?1 WHERE code_hash = ?2",
            params![now, hash.as_slice()],
        )?;
        tx.execute(
            "INSERT INTO devices (id, shop_id, name, paired_at) VALUES (?1, ?2, ?3, ?4)",
            params![till.to_string(), shop.to_string(), till_name, now],
        )?;
        let scopes: Vec<String> = DEVICE_SCOPES.iter().map(|s| s.to_string()).collect();
        let (secret, _) = insert_token(
            &tx,
            shop,
            TokenKind::Device,
            &scopes,
            Some(&till_name),
            None,
            Some(till),
            DEVICE_TTL_MS,
        )?;
        tx.commit()?;
        drop(conn);
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok((shop, till, till_name, secret, now + DEVICE_TTL_MS))
    }

    /// Whether `till` is a device paired with `shop`.
    pub fn is_device_of(&self, shop: Uuid, till: Uuid) -> Result<bool> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM devices WHERE id = ?1 AND shop_id = ?2",
            params![till.to_string(), shop.to_string()],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Every paired device of a shop: (id, name).
    pub fn devices(&self, shop: Uuid) -> Result<Vec<(Uuid, String)>> {
        let conn = self.conn();
        let mut st =
            conn.prepare("SELECT id, name FROM devices WHERE shop_id = ?1 ORDER BY paired_at")?;
        let rows = st.query_map([shop.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name) = row?;
            out.push((Uuid::parse_str(&id).map_err(HubError::internal)?, name));
        }
        Ok(out)
    }
}
