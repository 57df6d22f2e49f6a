//! The real hub served in this process, on a tokio runtime of its own: what the benchmarks, the
//! till's sync tests and the desktop end-to-end tests start on 127.0.0.1 port 0 (decision 202),
//! so that each of them runs the same hub the same way and stops it the same way — gracefully,
//! every shop's writer committing what it was given.

use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::{AppState, Application, Config};
use crate::error::{HubError, Result};

/// A hub serving until [`LocalHub::stop`] (or until it is dropped). Starting, stopping and
/// dropping it block on its own runtime, so they are called from plain threads, never from
/// inside a tokio runtime (the hub's API tests, which run on one, keep their own harness).
pub struct LocalHub {
    stop: Option<oneshot::Sender<()>>,
    served: Option<JoinHandle<Result<()>>>,
    state: AppState,
    port: u16,
    /// Declared last, so dropped last: the served task and the state need it.
    rt: Runtime,
}

impl LocalHub {
    /// Opens the hub's files as `config` says and serves them on a runtime of `threads` worker
    /// threads named `hub`.
    pub fn start(config: Config, threads: usize) -> Result<LocalHub> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("hub")
            .enable_all()
            .build()
            .map_err(|e| HubError::internal(format!("the hub's runtime did not start: {e}")))?;
        let app = rt.block_on(Application::build(config))?;
        let port = app.port();
        let state = app.state();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = rt.spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Ok(LocalHub {
            stop: Some(stop),
            served: Some(served),
            state,
            port,
            rt,
        })
    }

    /// The port it listens on (on the address the config named).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The running hub's state (its metrics, its shops' writers).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops it gracefully and waits: the listener closes, requests in flight are answered and
    /// every shop's writer commits what it was given. Stopping twice does nothing.
    pub fn stop(&mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.served.take() {
            Some(served) => self
                .rt
                .block_on(served)
                .map_err(|e| HubError::internal(format!("the hub's task failed: {e}")))?,
            None => Ok(()),
        }
    }
}

impl Drop for LocalHub {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %e, "the local hub did not stop cleanly");
        }
    }
}
