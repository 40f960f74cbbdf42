//! Test fixtures: a real dev chain node process, dev providers listening on their on-chain
//! ports, and a client with an ephemeral libp2p identity.
//!
//! The dev genesis registers Alice..Dave with multiaddrs on 127.0.0.1:30401..30404, so test
//! providers listen exactly there (no chain update needed, and dialling uses the real on-chain
//! addresses). Because those ports are fixed, tests that bind them take [`serial`] first.
// Test support: failing loudly on a broken fixture is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod fake_chain;

use peerseal_backup::network::{self, NetworkConfig, NetworkHandle};
use peerseal_backup::HeldShares;
use peerseal_backup::{
    BackupClient, ClientConfig, NodeKeys, Provider, ProviderConfig, TxSubmitter,
};
use peerseal_chain::ChainApi;
use peerseal_kvdb::{DbKey, Store};
use peerseal_testkit::DevChain;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Tests binding the fixed dev ports run one at a time (see `peerseal_testkit::ports`).
pub async fn serial() -> peerseal_testkit::DevPortsGuard {
    peerseal_testkit::dev_ports().await.expect("lock the dev ports")
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_test_writer()
        .try_init();
}

/// A `--dev` chain node process, killed on drop; dereferences to [`DevChain`].
pub struct ChainNode(DevChain);

impl ChainNode {
    pub fn start() -> ChainNode {
        let chain = DevChain::dev().unwrap_or_else(|e| panic!("chain node did not start: {e}"));
        ChainNode(chain)
    }

    pub async fn client(&self) -> Arc<dyn ChainApi> {
        Arc::new(peerseal_testkit::connect_chain(&self.0.url).await.unwrap())
    }
}

impl std::ops::Deref for ChainNode {
    type Target = DevChain;
    fn deref(&self) -> &DevChain {
        &self.0
    }
}

/// A dev identity serving as provider on its on-chain port, with a persistent store.
pub struct ProviderNode {
    pub name: &'static str,
    pub keys: NodeKeys,
    pub provider: Provider,
    /// The chain client the provider decides with.
    pub chain: Arc<dyn ChainApi>,
    pub network: NetworkHandle,
    tasks: Vec<JoinHandle<()>>,
    pub dir: Arc<tempfile::TempDir>,
    pub db_key: DbKey,
}

impl ProviderNode {
    pub async fn start(name: &'static str, chain: Arc<dyn ChainApi>) -> ProviderNode {
        Self::start_with(name, chain, ProviderConfig::default(), None).await
    }

    /// Starts (or restarts, given the previous node's dir and key) the provider `name`.
    pub async fn start_with(
        name: &'static str,
        chain: Arc<dyn ChainApi>,
        config: ProviderConfig,
        previous: Option<(Arc<tempfile::TempDir>, DbKey)>,
    ) -> ProviderNode {
        let keys = NodeKeys::dev(name).unwrap();
        let id = peerseal_devkeys::dev_identity(name).unwrap();
        let (dir, db_key, store) = match previous {
            Some((dir, key)) => {
                let store = Store::open(dir.path().join("db"), &key).unwrap();
                (dir, key, store)
            }
            None => {
                let dir = Arc::new(tempfile::tempdir().unwrap());
                let key = DbKey::generate().unwrap();
                let store = Store::create(dir.path().join("db"), &key).unwrap();
                (dir, key, store)
            }
        };
        let held = HeldShares::open(&store).unwrap();
        let tx = TxSubmitter::new(chain.clone(), keys.signer.clone());
        let provider = Provider::new(keys.clone(), chain.clone(), held, tx, config);
        let listen = format!("/ip4/127.0.0.1/tcp/{}", id.p2p_port).parse().unwrap();
        let mut net_config = NetworkConfig { listen: vec![listen], ..NetworkConfig::default() };
        net_config.request_timeout = Duration::from_secs(10);
        // A just-stopped listener may linger briefly in the kernel; retry the bind.
        let mut attempt = 0;
        let (network, inbound, net_task) = loop {
            match network::start(keys.libp2p.clone(), net_config.clone()).await {
                Ok(started) => break started,
                Err(e) if attempt < 20 => {
                    attempt += 1;
                    tracing::debug!("bind retry: {e}");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => panic!("provider {name} cannot listen: {e}"),
            }
        };
        let serve_task = provider.serve(inbound.unwrap());
        ProviderNode {
            name,
            keys,
            provider,
            chain,
            network,
            tasks: vec![net_task, serve_task],
            dir,
            db_key,
        }
    }

    pub fn account(&self) -> peerseal_protocol::AccountId {
        self.keys.account()
    }

    /// Stops serving and closes the store; returns what a restart needs.
    pub async fn stop(self) -> (Arc<tempfile::TempDir>, DbKey) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
        let ProviderNode { dir, db_key, provider, network, .. } = self;
        drop(provider);
        drop(network);
        // Give aborted handler tasks a moment to drop their store handles.
        tokio::time::sleep(Duration::from_millis(200)).await;
        (dir, db_key)
    }
}

/// Starts providers for `names`.
pub async fn start_providers(
    names: &[&'static str],
    chain: &Arc<dyn ChainApi>,
) -> Vec<ProviderNode> {
    let mut out = Vec::new();
    for name in names {
        out.push(ProviderNode::start(name, chain.clone()).await);
    }
    out
}

/// A client network with an ephemeral identity (as a restarting node has before it recovers).
pub async fn client_network() -> (NetworkHandle, JoinHandle<()>) {
    let config = NetworkConfig {
        listen: vec![],
        serve: false,
        request_timeout: Duration::from_secs(10),
        ..NetworkConfig::default()
    };
    let (handle, _, task) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), config).await.unwrap();
    (handle, task)
}

/// A backup client for `chain` with fast backoff (tests should not wait long on dead peers).
pub async fn backup_client(
    chain: &Arc<dyn ChainApi>,
    threshold: u8,
    providers: Option<u8>,
) -> (BackupClient, JoinHandle<()>) {
    backup_client_with(chain, ClientConfig { threshold, providers, ..fast_client_config() }).await
}

/// Client settings with fast backoff (tests should not wait long on dead peers).
pub fn fast_client_config() -> ClientConfig {
    ClientConfig {
        attempts_per_provider: 2,
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..ClientConfig::default()
    }
}

/// A backup client for `chain` with `config`.
pub async fn backup_client_with(
    chain: &Arc<dyn ChainApi>,
    config: ClientConfig,
) -> (BackupClient, JoinHandle<()>) {
    let (network, task) = client_network().await;
    (BackupClient::new(network, chain.clone(), config), task)
}

/// Alice's transaction submitter (the client in these tests).
pub fn alice_tx(chain: &Arc<dyn ChainApi>) -> TxSubmitter {
    TxSubmitter::new(chain.clone(), NodeKeys::dev("alice").unwrap().signer)
}

/// Runs `fut` with a time bound, so a hang is a failure rather than a stuck CI job.
pub async fn bounded<T>(secs: u64, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut).await.expect("test step timed out")
}

/// Governance removes `name`'s server; returns once `chain` (a provider's verifying client) has
/// verified a block without it. A provider believes a removal from the first verified block that
/// shows it, milliseconds after finalization with an honest endpoint.
pub async fn remove_and_wait_seen(url: &str, chain: &dyn ChainApi, name: &str) {
    let id = peerseal_devkeys::dev_identity(name).unwrap();
    peerseal_testkit::governance::remove_server(url, id.stash_account).await.unwrap();
    let tss = peerseal_protocol::AccountId(id.tss_account);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while chain.server_by_tss(&tss).await.unwrap().is_some() {
        assert!(std::time::Instant::now() < deadline, "the removal was never verified");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
