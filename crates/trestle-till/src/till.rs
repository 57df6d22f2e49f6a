//! [`Till`]: an open data directory — its database, its shop settings, its clock and id source.
//! The services live in sibling modules as `impl Till` blocks.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use trestle_core::clock::{Hlc, HlcState, WallClock};
use trestle_core::ids::{uuid_v7, TillId};
use trestle_replica::ShopId;
use uuid::Uuid;

use crate::db::{Create, Db};
use crate::error::{Error, Result};
use crate::replica::{self, ReplicaStore};
use crate::shop::{self, InitParams, Shop};

/// The database file inside a data directory.
pub const DB_FILE: &str = "till.sqlite";

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// An open till.
pub struct Till {
    pub(crate) db: Db,
    pub(crate) shop: Shop,
    pub(crate) hlc: HlcState,
    pub(crate) replica: ReplicaStore,
    /// Who is acting and which event is open, as last read (see `context`).
    pub(crate) context: crate::context::ContextCache,
    clock: Box<dyn WallClock + Send>,
    dir: PathBuf,
}

impl Till {
    /// Sets up a new till in `dir` (created if missing). Refuses a directory that already has one.
    pub fn init(dir: &Path, params: &InitParams) -> Result<Till> {
        let till_id = TillId(uuid_v7(SystemClock.now_ms(), random_bytes()));
        Till::init_with_id(dir, params, till_id)
    }

    /// [`Till::init`] with the till's id given (by the hub that paired it).
    pub fn init_with_id(dir: &Path, params: &InitParams, till_id: TillId) -> Result<Till> {
        std::fs::create_dir_all(dir).map_err(|e| Error::DataDir {
            dir: dir.to_path_buf(),
            reason: crate::error::plain_io(&e),
        })?;
        let clock = SystemClock;
        let mut db = Db::open(&dir.join(DB_FILE), Create::Yes)?;
        if shop::load(db.conn())?.is_some() {
            return Err(Error::AlreadyInitialised(dir.to_path_buf()));
        }
        let now = clock.now_ms();
        db.write(|tx| shop::insert(tx, params, till_id, now))?;
        Till::open_with(dir, Box::new(clock))
    }

    /// Opens the till in `dir`; `Error::NotInitialised` (and nothing created) when there is none.
    pub fn open(dir: &Path) -> Result<Till> {
        Till::open_with(dir, Box::new(SystemClock))
    }

    /// Opens with another wall clock (tests of clock behaviour).
    pub fn open_with(dir: &Path, clock: Box<dyn WallClock + Send>) -> Result<Till> {
        let mut db = Db::open(&dir.join(DB_FILE), Create::No)?;
        let (shop, last) =
            shop::load(db.conn())?.ok_or_else(|| Error::NotInitialised(dir.to_path_buf()))?;
        let replica = match replica::load(db.conn(), shop.till_id)? {
            Some(r) => r,
            None => {
                // A till set up before the replica existed (or just now by `init`).
                let shop_id = ShopId(uuid_v7(clock.now_ms(), random_bytes()));
                replica::bootstrap(&mut db, shop.till_id, shop_id)?
            }
        };
        Ok(Till {
            db,
            shop,
            hlc: HlcState::resume(last),
            replica,
            context: Default::default(),
            clock,
            dir: dir.to_path_buf(),
        })
    }

    pub fn shop(&self) -> &Shop {
        &self.shop
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database (read access; writes go through the services).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A timestamp for a new record.
    pub(crate) fn tick(&mut self) -> Hlc {
        let now = self.clock.now_ms();
        self.hlc.tick(now)
    }

    /// The wall clock, in Unix milliseconds.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// A new UUIDv7 (time-ordered, unique without coordination).
    pub(crate) fn new_uuid(&self) -> Uuid {
        uuid_v7(self.clock.now_ms(), random_bytes())
    }
}

/// 10 bytes from the operating system's random source, for UUIDv7s.
fn random_bytes() -> [u8; 10] {
    let mut b = [0u8; 10];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness (should not happen on a desktop): fall back to the clock's nanoseconds
        // and the process id, which still keeps ids unique on one till in practice.
        let n = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b[..8].copy_from_slice(&(n as u64).to_le_bytes());
        b[8..].copy_from_slice(&(std::process::id() as u16).to_le_bytes());
    }
    b
}
