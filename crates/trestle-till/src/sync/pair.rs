//! Pairing a till with a hub: the pairing code is exchanged for a device token (the till keeps
//! its own id), the token is stored beside the database in a file only the user may read, and
//! the till joins the hub's shop document — in ONE transaction its own standalone document goes
//! to the archive, the hub's snapshot becomes its replica, the shop takes the hub's shop id, and
//! the catalog tables learn the hub's variants.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use trestle_protocol::{PairRequest, Paired, ShopInfo};
use trestle_replica::{Holder, Role, ShopReplica};
use uuid::Uuid;

use super::client::HubClient;
use crate::catalog::fill_from_replica;
use crate::error::{Error, Result};
use crate::replica::{fresh_store, insert_archive};
use crate::till::Till;

/// The file beside `till.sqlite` that holds the device token.
pub const CREDENTIALS_FILE: &str = "hub.json";

/// What the till keeps to talk to its hub (the token is a secret: mode 0600).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub hub_url: String,
    pub shop_id: Uuid,
    pub till_id: Uuid,
    pub device_token: String,
    pub expires_at: String,
}

/// The hub this till is paired with, as its database records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubLink {
    pub hub_url: String,
    pub shop_id: String,
    pub feed_after: i64,
    pub last_sync_ms: Option<i64>,
}

/// What pairing did.
#[derive(Debug, Clone, Serialize)]
pub struct PairSummary {
    pub hub_url: String,
    pub shop_id: Uuid,
    pub shop_name: String,
    pub till_id: Uuid,
    pub till_name: String,
    pub token_expires_at: String,
    /// True when the till was paired with this hub already and only got a new token.
    pub renewed: bool,
    /// Variants of the hub's catalog the till's catalog did not have.
    pub variants_added: usize,
    /// Sales, refunds and voids made before pairing that still wait for the hub.
    pub outbox_pending: i64,
}

/// A pairing code as typed, checked for shape (the hub decides whether it is valid).
fn pairing_code(code: &str) -> Result<&str> {
    let code = code.trim();
    if code.is_empty() || code.chars().count() > 32 || code.chars().any(char::is_control) {
        return Err(Error::InvalidInput(
            "the pairing code should be the eight characters the hub showed, like K7QM-4WXP".into(),
        ));
    }
    Ok(code)
}

/// Exchanges a pairing code for a device token. A code works once: the exchange is not retried
/// (a lost answer means asking for a new code).
fn exchange_code(url: &str, code: &str, till_id: Option<Uuid>) -> Result<Paired> {
    let anonymous = HubClient::new(url, None)?;
    let body = PairRequest {
        code: code.to_string(),
        till_id,
    };
    anonymous
        .send("/v1/pair", 1, |c, u| c.post(u).json(&body))?
        .json("the pairing answer")
}

/// A hub URL as the till stores it: http(s), no query or fragment, no trailing slash.
pub fn normalise_url(input: &str) -> Result<String> {
    let bad = || {
        Error::InvalidInput(format!(
            "{input:?} is not a hub address; write it like https://hub.example.org"
        ))
    };
    let url = reqwest::Url::parse(input.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(bad());
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

impl Till {
    /// The hub this till is paired with, if any.
    pub fn hub_link(&self) -> Result<Option<HubLink>> {
        Ok(self
            .db
            .conn()
            .query_row(
                "SELECT hub_url, shop_id, feed_after, last_sync_ms FROM sync_state WHERE id = 1",
                [],
                |r| {
                    Ok(HubLink {
                        hub_url: r.get(0)?,
                        shop_id: r.get(1)?,
                        feed_after: r.get(2)?,
                        last_sync_ms: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Pairs this till with the hub at `hub_url` using the code the hub's admin gave. A till
    /// paired with this hub's shop already only renews its token; another hub is refused.
    pub fn pair(&mut self, hub_url: &str, code: &str) -> Result<PairSummary> {
        let url = normalise_url(hub_url)?;
        let code = pairing_code(code)?;
        let link = self.hub_link()?;
        if let Some(l) = &link {
            if l.hub_url != url {
                return Err(Error::AlreadyPaired(l.hub_url.clone()));
            }
        }
        let till_id = self.shop.till_id;
        let paired = exchange_code(&url, code, Some(till_id.0))?;
        if paired.till_id != till_id.0 {
            return Err(Error::HubAnswer(
                "the hub paired a till of another id".into(),
            ));
        }
        self.complete_pairing(&url, paired, link)
    }

    /// Sets a till up in `dir` (which holds none yet) by pairing it with the hub at `hub_url`:
    /// the shop, its currency and price mode and the till's name and id come from the hub. If
    /// anything fails after the till was created, the new files are removed again, so a retry
    /// with a new code starts from nothing.
    pub fn pair_new(dir: &Path, hub_url: &str, code: &str) -> Result<Till> {
        let url = normalise_url(hub_url)?;
        let code = pairing_code(code)?;
        if dir.join(crate::till::DB_FILE).exists() {
            return Err(Error::AlreadyInitialised(dir.to_path_buf()));
        }
        let paired = exchange_code(&url, code, None)?;
        let hub = HubClient::new(&url, Some(paired.device_token.clone()))?;
        let info: ShopInfo = hub
            .send("/v1/shop", super::client::ATTEMPTS, |c, u| c.get(u))?
            .json("the shop")?;
        let bad = |what: &str| Error::HubAnswer(format!("the hub's shop has an unreadable {what}"));
        let params = crate::InitParams::new(
            &paired.shop_name,
            trestle_core::Currency::parse(&paired.currency).map_err(|_| bad("currency"))?,
            trestle_core::tax::TaxMode::parse(&info.tax_mode).map_err(|_| bad("price mode"))?,
            // Only a till's own CSV import uses it, which a paired till refuses.
            trestle_core::tax::TaxRate::parse_percent("0").map_err(|_| bad("tax rate"))?,
            &paired.till_name,
            None,
        )?;
        let mut till = Till::init_with_id(dir, &params, trestle_core::ids::TillId(paired.till_id))?;
        match till.complete_pairing(&url, paired, None) {
            Ok(_) => Ok(till),
            Err(e) => {
                drop(till);
                for f in [
                    crate::till::DB_FILE,
                    "till.sqlite-wal",
                    "till.sqlite-shm",
                    CREDENTIALS_FILE,
                ] {
                    let _ = std::fs::remove_file(dir.join(f));
                }
                Err(e)
            }
        }
    }

    /// The rest of pairing once the hub has answered the code: store the token, join the hub's
    /// shop document (or only renew the token when paired with this hub already).
    fn complete_pairing(
        &mut self,
        url: &str,
        paired: Paired,
        link: Option<HubLink>,
    ) -> Result<PairSummary> {
        let url = url.to_string();
        let till_id = self.shop.till_id;
        // Joining fills the catalog tables: the next search reads them afresh.
        self.search_cache.forget();
        let creds = Credentials {
            hub_url: url.clone(),
            shop_id: paired.shop_id,
            till_id: paired.till_id,
            device_token: paired.device_token.clone(),
            expires_at: paired.expires_at.clone(),
        };
        let pending = self.pending_outbox()?;
        let mut summary = PairSummary {
            hub_url: url.clone(),
            shop_id: paired.shop_id,
            shop_name: paired.shop_name.clone(),
            till_id: paired.till_id,
            till_name: paired.till_name.clone(),
            token_expires_at: paired.expires_at.clone(),
            renewed: link.is_some(),
            variants_added: 0,
            outbox_pending: pending,
        };
        if let Some(l) = link {
            if l.shop_id != paired.shop_id.to_string() {
                return Err(Error::AlreadyPaired(l.hub_url));
            }
            write_credentials(&self.dir().join(CREDENTIALS_FILE), &creds)?;
            tracing::info!(hub = %url, "device token renewed");
            return Ok(summary);
        }
        if paired.currency != self.shop.currency.code() {
            return Err(Error::ShopMismatch {
                what: format!(
                    "sells in {} but this till was set up in {}",
                    paired.currency,
                    self.shop.currency.code()
                ),
            });
        }
        let hub = HubClient::new(&url, Some(paired.device_token.clone()))?;
        let info: ShopInfo = hub
            .send("/v1/shop", super::client::ATTEMPTS, |c, u| c.get(u))?
            .json("the shop")?;
        if info.tax_mode != self.shop.tax_mode.as_str() {
            return Err(Error::ShopMismatch {
                what: format!(
                    "has prices {} of tax but this till was set up with prices {} of tax",
                    info.tax_mode,
                    self.shop.tax_mode.as_str()
                ),
            });
        }
        let snapshot = hub
            .send("/v1/sync/snapshot", super::client::ATTEMPTS, |c, u| {
                c.get(u)
            })?
            .body;
        let mut joined = ShopReplica::load(Holder::Till(till_id), &snapshot, &[])
            .map_err(|e| Error::HubAnswer(format!("the hub's shop document does not load: {e}")))?;
        if joined.shop().0 != paired.shop_id || joined.role() != Role::Holder {
            return Err(Error::HubAnswer(
                "the hub's shop document is not the one of the shop it paired with".into(),
            ));
        }
        let path = self.dir().join(CREDENTIALS_FILE);
        let had_file = path.exists();
        write_credentials(&path, &creds)?;
        match self.join(&url, &mut joined) {
            Ok(added) => summary.variants_added = added,
            Err(e) => {
                if !had_file {
                    let _ = std::fs::remove_file(&path);
                }
                return Err(e);
            }
        }
        self.replica = fresh_store(self.db.conn(), joined)?;
        tracing::info!(hub = %url, shop = %paired.shop_id, "paired");
        Ok(summary)
    }

    /// In one transaction: archive this till's own document, make `joined` the replica, take the
    /// hub's shop id, record the link, and fill the catalog tables from the hub's catalog.
    fn join(&mut self, url: &str, joined: &mut ShopReplica) -> Result<usize> {
        let own = &mut self.replica.replica;
        let own_shop = own.shop();
        let own_epoch = own.epoch();
        let own_heads: Vec<String> = own.heads().iter().map(|h| h.to_string()).collect();
        let own_bytes = own.save_copy();
        let bytes = joined.save();
        let epoch = i64::try_from(joined.epoch()).unwrap_or(i64::MAX);
        let shop_id = joined.shop().0.to_string();
        let now = i64::try_from(self.now_ms()).unwrap_or(i64::MAX);
        let joined_heads = joined.head_bytes();
        let joined: &ShopReplica = joined;
        self.db.write(|tx| {
            insert_archive(tx, own_shop, own_epoch, &own_heads, &own_bytes)?;
            tx.execute(
                "UPDATE replica_snapshot SET epoch = ?1, actions = 0, bytes = ?2 WHERE id = 1",
                params![epoch, bytes],
            )?;
            tx.execute("DELETE FROM replica_changes", [])?;
            tx.execute("UPDATE shop SET shop_id = ?1 WHERE id = 1", [&shop_id])?;
            tx.execute(
                "INSERT INTO sync_state (id, hub_url, shop_id, paired_ms) VALUES (1, ?1, ?2, ?3)",
                params![url, shop_id, now],
            )?;
            // The hub's document: every change in it is at the hub already.
            super::seal::record_sent(tx, &joined_heads)?;
            let (added, _) = fill_from_replica(tx, joined)?;
            Ok(added)
        })
    }

    /// Sales, refunds and voids the hub has not acknowledged yet.
    pub fn pending_outbox(&self) -> Result<i64> {
        Ok(self.db.conn().query_row(
            "SELECT COUNT(*) FROM outbox WHERE acked_ms IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// The device token and hub of a paired till.
    pub(crate) fn credentials(&self) -> Result<(HubLink, Credentials)> {
        let link = self.hub_link()?.ok_or(Error::NotPaired)?;
        let path = self.dir().join(CREDENTIALS_FILE);
        let bad = |reason: String| Error::Credentials {
            path: path.clone(),
            reason,
        };
        let text = std::fs::read(&path).map_err(|e| bad(crate::error::plain_io(&e)))?;
        let creds: Credentials =
            serde_json::from_slice(&text).map_err(|_| bad("the file is damaged".into()))?;
        if creds.hub_url != link.hub_url
            || creds.shop_id.to_string() != link.shop_id
            || creds.till_id != self.shop.till_id.0
        {
            return Err(bad("they are for another hub or till".into()));
        }
        Ok((link, creds))
    }
}

/// Writes the credentials atomically (a temporary file, fsynced, renamed over the old one), so
/// that it is readable only by the user (0600) from the moment it exists.
fn write_credentials(path: &Path, creds: &Credentials) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let fail = |e: std::io::Error| Error::DataDir {
        dir: dir.clone(),
        reason: crate::error::plain_io(&e),
    };
    let mut salt = [0u8; 8];
    let _ = getrandom::fill(&mut salt);
    let tmp: PathBuf = dir.join(format!(
        ".{CREDENTIALS_FILE}.{}.{}.tmp",
        std::process::id(),
        u64::from_le_bytes(salt)
    ));
    let text = serde_json::to_vec_pretty(creds)
        .map_err(|e| Error::Corrupt(format!("the credentials could not be encoded: {e}")))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let result = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_urls_are_normalised_and_other_things_refused() {
        assert_eq!(
            normalise_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalise_url(" https://hub.example.org/shop/ ").unwrap(),
            "https://hub.example.org/shop"
        );
        for bad in [
            "",
            "hub.example.org",
            "ftp://x.org",
            "http://x.org/?a=1",
            "http://",
        ] {
            assert!(normalise_url(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn credentials_are_written_atomically_for_the_user_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CREDENTIALS_FILE);
        let mut c = Credentials {
            hub_url: "http://h".into(),
            shop_id: Uuid::from_u128(1),
            till_id: Uuid::from_u128(2),
            device_token: "trs_d_1".into(),
            expires_at: "2027-01-01T00:00:00Z".into(),
        };
        write_credentials(&path, &c).unwrap();
        c.device_token = "trs_d_2".into();
        write_credentials(&path, &c).unwrap();
        let back: Credentials = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back.device_token, "trs_d_2");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }
}
