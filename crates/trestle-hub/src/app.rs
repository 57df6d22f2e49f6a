//! The hub as a running service: its configuration, the shared state (directory, one partition
//! per shop, metrics), and [`Application`] — built on a listener (port 0 in tests), served until
//! a shutdown signal, then every shop writer commits what it has and stops.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use uuid::Uuid;

use crate::directory::{Directory, Shop};
use crate::error::{HubError, Result};
use crate::metrics::Metrics;
use crate::partition::Partition;

/// How the hub runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory database; each shop's partition file lives in `<db>.shops/`.
    pub db: PathBuf,
    pub listen: SocketAddr,
    /// The first webhook retry waits this long; each further one twice as long (with jitter).
    pub webhook_retry_base_ms: i64,
    /// A webhook endpoint that has not answered in this time counts as failed.
    pub webhook_timeout: Duration,
    /// Bytes each shop's WAL file is written ahead to when its writer starts (0: none; decision
    /// 201).
    pub wal_reserve: u64,
}

impl Config {
    pub fn new(db: PathBuf, listen: SocketAddr) -> Config {
        Config {
            db,
            listen,
            webhook_retry_base_ms: 2_000,
            webhook_timeout: Duration::from_secs(10),
            wal_reserve: crate::partition::WAL_RESERVE,
        }
    }
}

pub struct Inner {
    pub config: Config,
    pub directory: Directory,
    pub metrics: Arc<Metrics>,
    shops: RwLock<HashMap<Uuid, Arc<Partition>>>,
    pub http: reqwest::Client,
    /// Becomes true when the hub begins to shut down: live streams end then (they never end on
    /// their own, and a graceful shutdown waits for every open response).
    pub closing: tokio::sync::watch::Sender<bool>,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn open(config: Config) -> Result<AppState> {
        let directory = Directory::open(&config.db)?;
        let http = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(HubError::internal)?;
        let state = AppState(Arc::new(Inner {
            config,
            directory,
            metrics: Arc::new(Metrics::default()),
            shops: RwLock::new(HashMap::new()),
            http,
            closing: tokio::sync::watch::channel(false).0,
        }));
        Ok(state)
    }

    fn shop_path(&self, shop: Uuid) -> PathBuf {
        let mut dir = self.config.db.clone().into_os_string();
        dir.push(".shops");
        PathBuf::from(dir).join(format!("{shop}.sqlite"))
    }

    /// The partition of a shop, started on first use (a shop created by the CLI while the hub
    /// runs is picked up the first time one of its tokens is seen).
    pub fn partition(&self, shop: Uuid) -> Result<Arc<Partition>> {
        if let Some(p) = self
            .shops
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&shop)
        {
            return Ok(p.clone());
        }
        let known = self
            .directory
            .shops()?
            .into_iter()
            .find(|s| s.id == shop)
            .ok_or(HubError::BadToken)?;
        self.start_partition(known)
    }

    fn start_partition(&self, shop: Shop) -> Result<Arc<Partition>> {
        let mut shops = self.shops.write().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = shops.get(&shop.id) {
            return Ok(p.clone());
        }
        let id = shop.id;
        let p = Partition::start(
            shop,
            self.shop_path(id),
            self.metrics.clone(),
            self.config.wal_reserve,
        )?;
        shops.insert(id, p.clone());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(crate::delivery::run(self.clone(), p.clone()));
        }
        Ok(p)
    }

    /// Every running partition.
    pub fn partitions(&self) -> Vec<Arc<Partition>> {
        self.shops
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Stops every shop writer after it has committed what it was given.
    pub fn stop(&self) {
        for p in self.partitions() {
            p.stop();
        }
    }
}

/// The hub bound to its listener, ready to serve.
pub struct Application {
    listener: tokio::net::TcpListener,
    state: AppState,
    port: u16,
}

impl Application {
    /// Opens the databases, starts every shop's writer and binds the listener.
    pub async fn build(config: Config) -> Result<Application> {
        let listen = config.listen;
        let state = AppState::open(config)?;
        for shop in state.directory.shops()? {
            state.start_partition(shop)?;
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| HubError::internal(format!("cannot listen on {listen}: {e}")))?;
        let port = listener.local_addr().map_err(HubError::internal)?.port();
        Ok(Application {
            listener,
            state,
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves; in-flight requests finish, then every shop writer
    /// commits its queued jobs and stops.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let (router, _) = crate::routes::router(self.state.clone());
        tracing::info!(port = self.port, "hub listening");
        let closing = self.state.closing.clone();
        let shutdown = async move {
            shutdown.await;
            closing.send_replace(true);
        };
        let served = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || state.stop())
            .await
            .map_err(HubError::internal)?;
        tracing::info!("hub stopped");
        served.map_err(HubError::internal)
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested");
}
