//! What every phase of the daemon works with ([`Context`]: configuration, lifecycle, metrics,
//! the shutdown signal) and the fixed names of the data directory. Its own module so the phase
//! drivers (`daemon`, `unlock`, `rotation`) share it without importing each other.

use crate::config::Config;
use crate::error::DaemonError;
use crate::metrics::Metrics;
use crate::phase::{Lifecycle, Phase, Step};
use peerseal_backup::network::{self, NetworkConfig, Started};
use peerseal_backup::{Backoff, Retry, ShutdownSignal};
use std::sync::Arc;
use std::time::Duration;

/// Name of the store directory inside the data directory.
pub const STORE_DIR: &str = "db";

/// Whether this build honours a chain policy in the dev PCK mode (mock quotes).
pub const ACCEPTS_DEV_PCK: bool = cfg!(feature = "dev");

/// What every phase of the daemon works with.
pub struct Context {
    /// The resolved configuration.
    pub config: Config,
    /// The phase and the public status.
    pub lifecycle: Lifecycle,
    /// The node's metrics.
    pub metrics: Metrics,
    /// Fires on SIGTERM / Ctrl-C.
    pub shutdown: ShutdownSignal,
}

impl Context {
    /// A retry loop with the configured longest delay that stops on shutdown.
    pub fn retry(&self) -> Retry {
        Retry::new(Backoff::up_to(self.config.max_backoff), self.shutdown.clone())
    }

    /// Binds the node's p2p listen address with `keypair` and starts the network task (serving
    /// inbound requests). A listener of a previous (killed) process, or of the operator
    /// listener this process just closed, may linger briefly: the bind is retried for ~10 s.
    pub async fn bind_p2p(
        &self,
        keypair: &libp2p::identity::Keypair,
        what: &str,
    ) -> Result<Started, DaemonError> {
        let net_config =
            NetworkConfig { listen: vec![self.config.listen.clone()], ..NetworkConfig::default() };
        let backoff = Backoff {
            min: Duration::from_millis(250),
            max: Duration::from_millis(250),
            jitter: false,
            max_retries: Some(40),
        };
        let mut retry = Retry::new(backoff, self.shutdown.clone());
        loop {
            let observer = Arc::new(self.metrics.clone());
            match network::start_observed(keypair.clone(), net_config.clone(), observer).await {
                Ok(started) => return Ok(started),
                Err(e) => {
                    if retry.after_failure(what, &e).await.is_err() {
                        return Err(e.into());
                    }
                }
            }
        }
    }

    /// Applies a lifecycle step (an illegal one stops the daemon: it is a bug).
    pub fn advance(&self, step: Step) -> Result<Phase, DaemonError> {
        Ok(self.lifecycle.advance(step)?)
    }
}
