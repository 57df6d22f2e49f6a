//! The shell's state: the data directory, the open till with the cart being built behind one
//! mutex (one cashier, one action at a time, in the order they were made), and the background
//! sync loop, which has its own connection so selling never waits on the network.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use trestle_till::cart::CartDraft;
use trestle_till::sync::agent::{AgentOptions, SyncAgent, SyncStatus};
use trestle_till::Till;

use crate::wire::AppError;

/// The open till (none until it is set up) and its cart.
#[derive(Default)]
pub struct Session {
    pub till: Option<Till>,
    pub cart: CartDraft,
}

pub struct AppState {
    pub dir: PathBuf,
    /// When the app started (for the time to interactive it logs).
    pub started: Instant,
    session: Mutex<Session>,
    agent: Mutex<Option<Arc<SyncAgent>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock was held leaves the till as its last committed transaction left it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    /// Opens the till in `dir` if one is set up there (a missing one is the first run), and
    /// starts the sync loop when it is paired.
    pub fn open(dir: &Path, started: Instant) -> Result<AppState, AppError> {
        let till = match Till::open(dir) {
            Ok(t) => Some(t),
            Err(trestle_till::Error::NotInitialised(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let st = AppState {
            dir: dir.to_path_buf(),
            started,
            session: Mutex::new(Session {
                till,
                cart: CartDraft::default(),
            }),
            agent: Mutex::new(None),
        };
        st.start_sync();
        Ok(st)
    }

    /// Runs `f` on the open till and its cart; `till.not_set_up` before setup.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Till, &mut CartDraft) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut s = lock(&self.session);
        let Session { till, cart } = &mut *s;
        let till = till.as_mut().ok_or_else(AppError::not_set_up)?;
        f(till, cart)
    }

    /// Runs `f` with the session as it is (set up or not): for setting a till up.
    pub fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> T) -> T {
        f(&mut lock(&self.session))
    }

    /// Starts the sync loop if the till is paired and it is not running; a loop that cannot
    /// start is logged and the till sells offline.
    pub fn start_sync(&self) {
        let paired = self.with_session(|s| {
            s.till
                .as_ref()
                .is_some_and(|t| t.hub_link().ok().flatten().is_some())
        });
        let mut agent = lock(&self.agent);
        if !paired || agent.is_some() {
            return;
        }
        match SyncAgent::start(AgentOptions::new(&self.dir)) {
            Ok(a) => *agent = Some(Arc::new(a)),
            Err(e) => tracing::warn!(error = %e, "the sync loop did not start; selling offline"),
        }
    }

    /// The sync loop, when one runs.
    pub fn agent(&self) -> Option<Arc<SyncAgent>> {
        lock(&self.agent).clone()
    }

    /// The sync loop's status, when one runs.
    pub fn sync_status(&self) -> Option<SyncStatus> {
        self.agent().map(|a| a.status())
    }
}

/// The data directory: `TRESTLE_DATA_DIR`, else the OS's app-data directory for the app.
pub fn data_dir(app_data: Option<PathBuf>) -> PathBuf {
    match std::env::var_os("TRESTLE_DATA_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => app_data.unwrap_or_else(|| PathBuf::from(".trestle")),
    }
}
