//! Issuing, listing and revoking tokens: staff sessions and integration tokens through the
//! API, admin tokens at shop creation and renewal; scopes and lifetimes are checked here.

use rusqlite::params;
use trestle_protocol::{TokenInfo, TokenKind};
use uuid::Uuid;

use super::*;
use crate::db::{new_id, now_ms, rfc3339};
use crate::error::{HubError, Result};

impl Directory {
    /// Issues a staff session or integration token for `shop`.
    pub fn issue_token(
        &self,
        shop: Uuid,
        req: &trestle_protocol::CreateToken,
    ) -> Result<trestle_protocol::TokenCreated> {
        let (scopes, ttl) = match req.kind {
            TokenKind::Staff => {
                if req.event_id.is_none() {
                    return Err(HubError::invalid(
                        "token.event_required",
                        "a staff session must name the event it is for (event_id)",
                    ));
                }
                let scopes = if req.scopes.is_empty() {
                    STAFF_SCOPES.iter().map(|s| s.to_string()).collect()
                } else {
                    checked_scopes(&req.scopes, STAFF_SCOPES)?
                };
                (scopes, ttl_ms(req.ttl_seconds, STAFF_DEFAULT_TTL_MS, STAFF_MAX_TTL_MS)?)
            }
            TokenKind::Integration => {
                if req.scopes.is_empty() {
                    return Err(HubError::invalid(
                        "token.scopes_required",
                        "an integration token needs at least one scope, e.g. inventory:read",
                    ));
                }
                let allowed: Vec<&str> = ALL_SCOPES
                    .iter()
                    .copied()
                    .filter(|s| !ADMIN_ONLY.contains(s))
                    .collect();
                let scopes = checked_scopes(&req.scopes, &allowed)?;
                (
                    scopes,
                    ttl_ms(req.ttl_seconds, INTEGRATION_MAX_TTL_MS, INTEGRATION_MAX_TTL_MS)?,
                )
            }
            TokenKind::Admin | TokenKind::Device => {
                return Err(HubError::invalid(
                    "token.kind_not_issuable",
                    "admin tokens come with the shop and device tokens from pairing; ask for a staff or integration token",
                ))
            }
        };
        let label = req
            .label
            .as_deref()
            .map(|l| clean_name("label", l))
            .transpose()?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let (secret, info) = insert_token(
            &tx,
            shop,
            req.kind,
            &scopes,
            label.as_deref(),
            req.event_id,
            None,
            ttl,
        )?;
        tx.commit()?;
        Ok(trestle_protocol::TokenCreated {
            id: info.id,
            token: secret,
            kind: info.kind,
            scopes: info.scopes,
            expires_at: info.expires_at,
        })
    }

    /// The shop's tokens (no secrets).
    pub fn tokens(&self, shop: Uuid) -> Result<Vec<TokenInfo>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT id, kind, scopes, label, event_id, device_id, created_at, expires_at, revoked_at
             FROM tokens WHERE shop_id = ?1 ORDER BY created_at, id",
        )?;
        let rows = st.query_map([shop.to_string()], |r| {
            Ok(TokenInfo {
                id: uuid_col(Some(r.get(0)?)).unwrap_or_default(),
                kind: parse_kind(&r.get::<_, String>(1)?),
                scopes: r
                    .get::<_, String>(2)?
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
                label: r.get(3)?,
                event_id: uuid_col(r.get(4)?),
                device_id: uuid_col(r.get(5)?),
                created_at: rfc3339(r.get(6)?),
                expires_at: rfc3339(r.get(7)?),
                revoked_at: r.get::<_, Option<i64>>(8)?.map(rfc3339),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Revokes one of the shop's tokens; effective at once for this server.
    pub fn revoke(&self, shop: Uuid, id: Uuid) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND shop_id = ?3 AND revoked_at IS NULL",
            params![now_ms(), id.to_string(), shop.to_string()],
        )?;
        if n == 0 {
            return Err(HubError::not_found("active token", id));
        }
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    /// A new admin token for a shop (the maker's own renewal, from the command line).
    pub fn issue_admin_token(&self, shop: Uuid) -> Result<String> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n: i64 = tx.query_row(
            "SELECT COUNT(*) FROM shops WHERE id = ?1",
            [shop.to_string()],
            |r| r.get(0),
        )?;
        if n == 0 {
            return Err(HubError::not_found("shop", shop));
        }
        let secret = insert_admin_token(&tx, shop)?;
        tx.commit()?;
        Ok(secret)
    }
}

fn checked_scopes(asked: &[String], allowed: &[&str]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for s in asked {
        if !allowed.contains(&s.as_str()) {
            return Err(HubError::invalid(
                "token.invalid_scope",
                format!("{s:?} is not a scope this kind of token can have"),
            ));
        }
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    Ok(out)
}

fn ttl_ms(asked: Option<u64>, default: i64, max: i64) -> Result<i64> {
    let Some(secs) = asked else {
        return Ok(default);
    };
    let ms = i64::try_from(secs).ok().and_then(|s| s.checked_mul(1000));
    match ms {
        Some(ms) if ms > 0 && ms <= max => Ok(ms),
        _ => Err(HubError::invalid(
            "token.invalid_ttl",
            format!("ttl_seconds must be from 1 to {}", max / 1000),
        )),
    }
}

/// A new admin token (every scope, one year) for `shop`; returns its secret.
pub(super) fn insert_admin_token(tx: &rusqlite::Transaction<'_>, shop: Uuid) -> Result<String> {
    let scopes: Vec<String> = ALL_SCOPES.iter().map(|s| s.to_string()).collect();
    let kind = TokenKind::Admin;
    let (secret, _) = insert_token(
        tx,
        shop,
        kind,
        &scopes,
        Some("admin"),
        None,
        None,
        ADMIN_TTL_MS,
    )?;
    Ok(secret)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn insert_token(
    tx: &rusqlite::Transaction<'_>,
    shop: Uuid,
    kind: TokenKind,
    scopes: &[String],
    label: Option<&str>,
    event: Option<Uuid>,
    device: Option<Uuid>,
    ttl_ms: i64,
) -> Result<(String, TokenInfo)> {
    let secret = new_secret(kind);
    let id = new_id();
    let now = now_ms();
    tx.execute(
        "INSERT INTO tokens (id, hash, shop_id, kind, scopes, label, event_id, device_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id.to_string(),
            hash_secret(&secret).as_slice(),
            shop.to_string(),
            kind.as_str(),
            scopes.join(" "),
            label,
            event.map(|e| e.to_string()),
            device.map(|d| d.to_string()),
            now,
            now + ttl_ms
        ],
    )?;
    Ok((
        secret,
        TokenInfo {
            id,
            kind,
            scopes: scopes.to_vec(),
            label: label.map(str::to_string),
            event_id: event,
            device_id: device,
            created_at: rfc3339(now),
            expires_at: rfc3339(now + ttl_ms),
            revoked_at: None,
        },
    ))
}
