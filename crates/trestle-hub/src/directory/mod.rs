//! The directory: shops, tokens (hashed at rest, scoped, expiring, revocable), pairing codes and
//! paired devices, in the directory database. Token look-ups are cached for a couple of seconds
//! so the request path does not touch SQLite; a revocation through the API evicts at once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::Currency;
use trestle_protocol::TokenKind;
use uuid::Uuid;

mod pairing;
mod tokens;

use tokens::insert_admin_token;

use crate::db::{self, new_id, now_ms, random};
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
    "staff:write",
];
/// What a paired till may do: sync, read the shop, listen to its live stream (to sync as soon
/// as another device sells), and read and resolve its conflicts at the stall.
pub const DEVICE_SCOPES: &[&str] = &[
    "sync",
    "catalog:read",
    "inventory:read",
    "events:read",
    "reservations:read",
    "reservations:write",
    "stream:read",
    "conflicts:read",
    "conflicts:write",
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
const ADMIN_ONLY: &[&str] = &["tokens:write", "sync", "staff:write"];

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
