//! The directory: shops, tokens (hashed at rest, scoped, expiring, revocable), pairing codes and
//! paired devices, in the directory database. Token look-ups are cached for a couple of seconds
//! so the request path does not touch SQLite; a revocation through the API evicts at once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use trestle_core::code::{normalise_pairing_code, pairing_code};
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::Currency;
use trestle_protocol::{TokenInfo, TokenKind};
use uuid::Uuid;

use crate::db::{self, new_id, now_ms, random, rfc3339};
use crate::error::{HubError, Result};

/// Every scope a token can have.
pub const ALL_SCOPES: &[&str] = &[
    "catalog:read",
    "catalog:write",
    "inventory:read",
    "inventory:write",
    "events:read",
    "events:write",
    "checkout:write",
    "orders:read",
    "reservations:read",
    "reservations:write",
    "webhooks:read",
    "webhooks:write",
    "stream:read",
    "conflicts:read",
    "conflicts:write",
    "sync",
    "tokens:write",
];
/// What a paired till may do.
pub const DEVICE_SCOPES: &[&str] = &[
    "sync",
    "catalog:read",
    "inventory:read",
    "events:read",
    "reservations:read",
    "reservations:write",
    "conflicts:read",
];
/// What a staff session may do, within its event.
pub const STAFF_SCOPES: &[&str] = &[
    "catalog:read",
    "inventory:read",
    "events:read",
    "reservations:read",
    "reservations:write",
];
/// Scopes only the maker's admin token has.
const ADMIN_ONLY: &[&str] = &["tokens:write", "sync"];

pub const ADMIN_TTL_MS: i64 = 365 * 86_400_000;
pub const DEVICE_TTL_MS: i64 = 365 * 86_400_000;
pub const STAFF_DEFAULT_TTL_MS: i64 = 12 * 3_600_000;
pub const STAFF_MAX_TTL_MS: i64 = 86_400_000;
pub const INTEGRATION_MAX_TTL_MS: i64 = 365 * 86_400_000;
pub const PAIRING_TTL_MS: i64 = 10 * 60_000;
const CACHE_FOR: Duration = Duration::from_secs(2);

/// A shop as the directory knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shop {
    pub id: Uuid,
    pub name: String,
    pub currency: Currency,
    pub tax_mode: TaxMode,
    pub tax_rate: TaxRate,
}

/// A valid token's facts (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: Uuid,
    pub shop_id: Uuid,
    pub kind: TokenKind,
    pub scopes: Vec<String>,
    pub event_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub expires_at: i64,
}

impl Token {
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Token look-ups by secret hash: the token (or `None` for unknown or revoked) and when read.
type TokenCache = HashMap<[u8; 32], (Option<Token>, Instant)>;

/// The directory database and the token cache.
pub struct Directory {
    conn: Mutex<Connection>,
    cache: RwLock<TokenCache>,
}

/// SHA-256 of a secret (tokens and pairing codes are high-entropy, so a fast hash is enough).
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn new_secret(kind: TokenKind) -> String {
    let tag = match kind {
        TokenKind::Admin => "a",
        TokenKind::Device => "d",
        TokenKind::Staff => "s",
        TokenKind::Integration => "i",
    };
    format!("trs_{tag}_{}", hex::encode(random::<32>()))
}

fn parse_kind(s: &str) -> TokenKind {
    match s {
        "admin" => TokenKind::Admin,
        "device" => TokenKind::Device,
        "staff" => TokenKind::Staff,
        _ => TokenKind::Integration,
    }
}

fn uuid_col(s: Option<String>) -> Option<Uuid> {
    s.and_then(|s| Uuid::parse_str(&s).ok())
}

/// A name for a shop, till or label: 1–100 characters, no control characters.
pub fn clean_name(what: &'static str, input: &str) -> Result<String> {
    let s = input.trim();
    if s.is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
        return Err(HubError::invalid(
            "request.invalid_name",
            format!("the {what} must be 1 to 100 characters without control characters"),
        ));
    }
    Ok(s.to_string())
}

impl Directory {
    pub fn open(path: &Path) -> Result<Directory> {
        Ok(Directory {
            conn: Mutex::new(db::open(path, db::DIRECTORY_MIGRATIONS)?),
            cache: RwLock::new(HashMap::new()),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a shop and its admin token; returns the shop and the token's secret.
    pub fn create_shop(
        &self,
        name: &str,
        currency: Currency,
        tax_mode: TaxMode,
        tax_rate: TaxRate,
    ) -> Result<(Shop, String)> {
        let name = clean_name("shop name", name)?;
        let shop = Shop {
            id: new_id(),
            name,
            currency,
            tax_mode,
            tax_rate,
        };
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO shops (id, name, currency, tax_mode, tax_ppm, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                shop.id.to_string(),
                shop.name,
                currency.code(),
                tax_mode.as_str(),
                tax_rate.ppm(),
                now_ms()
            ],
        )?;
        let secret = insert_admin_token(&tx, shop.id)?;
        tx.commit()?;
        Ok((shop, secret))
    }

    /// Every shop.
    pub fn shops(&self) -> Result<Vec<Shop>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT id, name, currency, tax_mode, tax_ppm FROM shops ORDER BY created_at",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, u32>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, cur, mode, ppm) = row?;
            out.push(Shop {
                id: Uuid::parse_str(&id).map_err(HubError::internal)?,
                name,
                currency: Currency::parse(&cur)?,
                tax_mode: TaxMode::parse(&mode)?,
                tax_rate: TaxRate::from_ppm(ppm)?,
            });
        }
        Ok(out)
    }

    /// The valid token with this secret, or `BadToken` (unknown, expired or revoked).
    pub fn authenticate(&self, secret: &str) -> Result<Token> {
        let hash = hash_secret(secret);
        let now = now_ms();
        if let Some((tok, at)) = self.cache_read().get(&hash) {
            if at.elapsed() < CACHE_FOR {
                return match tok {
                    Some(t) if t.expires_at > now => Ok(t.clone()),
                    _ => Err(HubError::BadToken),
                };
            }
        }
        let found = self.load_token(&hash)?;
        let valid = found
            .filter(|(_, revoked)| revoked.is_none())
            .map(|(t, _)| t);
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 100_000 {
            cache.clear();
        }
        cache.insert(hash, (valid.clone(), Instant::now()));
        match valid {
            Some(t) if t.expires_at > now => Ok(t),
            _ => Err(HubError::BadToken),
        }
    }

    fn cache_read(&self) -> std::sync::RwLockReadGuard<'_, TokenCache> {
        self.cache.read().unwrap_or_else(|p| p.into_inner())
    }

    fn load_token(&self, hash: &[u8; 32]) -> Result<Option<(Token, Option<i64>)>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT id, shop_id, kind, scopes, event_id, device_id, expires_at, revoked_at
                 FROM tokens WHERE hash = ?1",
                [hash.as_slice()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, shop, kind, scopes, event, device, expires_at, revoked)) = row else {
            return Ok(None);
        };
        Ok(Some((
            Token {
                id: Uuid::parse_str(&id).map_err(HubError::internal)?,
                shop_id: Uuid::parse_str(&shop).map_err(HubError::internal)?,
                kind: parse_kind(&kind),
                scopes: scopes.split_whitespace().map(str::to_string).collect(),
                event_id: uuid_col(event),
                device_id: uuid_col(device),
                expires_at,
            },
            revoked,
        )))
    }

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
fn insert_admin_token(tx: &rusqlite::Transaction<'_>, shop: Uuid) -> Result<String> {
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
fn insert_token(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, Directory, Uuid, String) {
        let t = tempfile::tempdir().unwrap();
        let d = Directory::open(&t.path().join("hub.sqlite")).unwrap();
        let (shop, admin) = d
            .create_shop(
                "Kalima Arts",
                Currency::parse("USD").unwrap(),
                TaxMode::Exclusive,
                TaxRate::from_ppm(0).unwrap(),
            )
            .unwrap();
        (t, d, shop.id, admin)
    }

    #[test]
    fn secrets_are_stored_only_as_hashes() {
        let (t, d, _, admin) = dir();
        assert_eq!(d.authenticate(&admin).unwrap().kind, TokenKind::Admin);
        drop(d);
        let bytes = std::fs::read(t.path().join("hub.sqlite")).unwrap();
        let wal = std::fs::read(t.path().join("hub.sqlite-wal")).unwrap_or_default();
        for b in [bytes, wal] {
            assert!(!b.windows(admin.len()).any(|w| w == admin.as_bytes()));
        }
    }

    #[test]
    fn a_pairing_code_is_good_once() {
        let (_t, d, shop, _) = dir();
        let code = d.create_pairing_code(shop, "Stall 1").unwrap();
        let (s, _, name, token, _) = d.pair(&code.code.to_lowercase(), None).unwrap();
        assert_eq!((s, name.as_str()), (shop, "Stall 1"));
        assert_eq!(d.authenticate(&token).unwrap().kind, TokenKind::Device);
        assert_eq!(
            d.pair(&code.code, None).unwrap_err().code(),
            "pairing.invalid_code"
        );
    }
}
