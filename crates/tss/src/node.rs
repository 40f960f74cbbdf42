//! The running node (`peerseal run`): walks the [`crate::lifecycle`] state machine.
//!
//! - **First start** (no `db/` in the data dir): makes the database key and the identity
//!   inside the process, creates the encrypted store with the identity in it, waits until the
//!   TSS account is registered on chain, serves as provider, backs the key up, and writes the
//!   public recovery file.
//! - **Restart** (`db/` exists): recovers the key from the providers named by the on-chain
//!   assignment (the chain holds the commitment the key is checked against, so it is the
//!   authority; the recovery file supplies the node's own account when it has no dev
//!   identity), checks the store's epoch, opens the store and checks the identity in it. Any
//!   failure is `RecoveryFailed(reason)` with retries on exponential backoff; the store is only
//!   ever read — never created, deleted, renamed or rewritten — until a key opens it.

use crate::config::{Config, QuoteSource};
use crate::http::{self, Shared};
use crate::lifecycle::{Lifecycle, NodeState};
use crate::metrics::{Metrics, MetricsError};
use crate::network::{self, NetworkConfig, NetworkHandle};
use crate::recovery_file::{hex, parse_account, PendingBackup, RecoveryFile};
use crate::running::{BackupState, Running};
use crate::stored_identity::{first_start_marker, StoredIdentity};
use crate::{BackupClient, ClientConfig, HeldShares, NodeKeys, Provider, ProviderConfig};
use crate::{RecoveryError, TxSubmitter};
use peerseal_attestation::{ConfigfsTsmProvider, MockQuoteProvider, QuoteProvider};
use peerseal_chain::{Assignment, ChainApi, ChainClient};
use peerseal_kvdb::{DbKey, Store};
use peerseal_protocol::AccountId;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Name of the store directory inside the data directory.
pub const STORE_DIR: &str = "db";

/// Why the node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The HTTP endpoint could not start.
    #[error(transparent)]
    Http(#[from] http::HttpError),
    /// Metrics could not be set up.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// First start: the store or identity could not be created.
    #[error("creating the store: {0}")]
    Create(String),
    /// The libp2p network could not start.
    #[error("network: {0}")]
    Network(#[from] crate::network::NetworkError),
}

/// One failed recovery attempt: a reason for the status and a short label for metrics.
struct Failure {
    label: &'static str,
    reason: String,
}

fn fail(label: &'static str, reason: impl Into<String>) -> Failure {
    Failure { label, reason: reason.into() }
}

/// What a running node has once its store is open.
struct Unlocked {
    keys: NodeKeys,
    key: DbKey,
    store: Store,
}

/// Runs the node until the process is stopped. `started` is the process start (recovery
/// timing).
pub async fn run(config: Config, started: Instant) -> Result<(), NodeError> {
    let lifecycle = Lifecycle::new(&config.name);
    let metrics = Metrics::new()?;
    let shared =
        Shared { lifecycle: lifecycle.clone(), metrics: metrics.clone(), provider: Arc::default() };
    let (http_addr, _http_task) = http::serve(config.http, shared.clone()).await?;
    // The devnet and tests read this line to find the endpoint.
    println!("HTTP listening on http://{http_addr}");
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|source| NodeError::DataDir { path: config.data_dir.clone(), source })?;

    let chain_client = connect_chain(&config).await;
    let chain: Arc<dyn ChainApi> = Arc::new(chain_client.clone());
    move_to(&lifecycle, NodeState::ChainConnected);
    let db_dir = config.data_dir.join(STORE_DIR);
    let quotes = quote_provider(config.quotes);
    let client_config = ClientConfig {
        threshold: config.threshold,
        providers: config.providers,
        ..ClientConfig::default()
    };

    let unlocked = if db_dir.exists() {
        let unlocked =
            recover_until_open(&config, &lifecycle, &metrics, &chain, &quotes, &client_config)
                .await;
        lifecycle.update(|s| s.recovery_ms = Some(started.elapsed().as_millis() as u64));
        unlocked
    } else {
        first_start_create(&config).map_err(NodeError::Create)?
    };
    let Unlocked { keys, key, store } = unlocked;
    let account = keys.account();
    let marker = first_start_marker(&store).map_err(|e| NodeError::Create(e.to_string()))?;
    lifecycle.update(|s| {
        s.account = Some(hex(&account.0));
        s.peer_id = Some(keys.peer_id().to_base58());
        s.epoch = Some(store.epoch());
        s.first_start_marker = Some(hex(&marker));
    });
    if store.rotation_status().is_some() {
        // Crashed after a rotation's commit point: finish re-sealing first.
        store.resume_rotation().map_err(|e| NodeError::Create(e.to_string()))?;
        tracing::info!(node = %config.name, epoch = store.epoch(), "interrupted rotation finished");
    }

    wait_for_registration(&config, &lifecycle, &chain, &keys).await;
    let network = start_provider(&config, &shared, &chain, &keys, &store).await?;
    let tx = TxSubmitter::new(chain.clone(), keys.signer.clone());
    let client = BackupClient::new(network.clone(), chain.clone(), client_config);
    let mut node = Running { config, lifecycle, metrics, chain, client, tx, keys, key, store };

    match node.backup_state().await {
        BackupState::Current => {}
        BackupState::Missing | BackupState::Behind => node.backup_until_done().await,
        BackupState::Stale => node.rotate_until_done().await,
    }
    move_to(&node.lifecycle, NodeState::BackedUp);
    if let Err(e) = node.publish(None).await {
        tracing::warn!("writing the recovery file: {e}");
    }
    move_to(&node.lifecycle, NodeState::Ready);

    node.watch(chain_client).await;
    tracing::info!(node = %node.config.name, "shutting down");
    drop(network);
    Ok(())
}

pub(crate) fn move_to(lifecycle: &Lifecycle, next: NodeState) {
    if let Err(e) = lifecycle.transition(next) {
        tracing::error!("{e}");
    }
}

pub(crate) async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn quote_provider(source: QuoteSource) -> Arc<dyn QuoteProvider> {
    match source {
        QuoteSource::Mock => Arc::new(MockQuoteProvider::dev()),
        QuoteSource::ConfigfsTsm => Arc::new(ConfigfsTsmProvider::new()),
    }
}

/// Exponential delays from 500 ms up to the configured maximum.
pub(crate) fn backoff(max: Duration) -> impl Iterator<Item = Duration> {
    let mut next = Duration::from_millis(500);
    std::iter::from_fn(move || {
        let now = next.min(max);
        next = (next * 2).min(max);
        Some(now)
    })
}

async fn connect_chain(config: &Config) -> ChainClient {
    let mut delays = backoff(config.max_backoff);
    loop {
        match ChainClient::connect(&config.chain_url).await {
            Ok(client) => return client,
            Err(e) => {
                let delay = delays.next().unwrap_or(config.max_backoff);
                tracing::warn!(url = %config.chain_url, "chain not reachable ({e}), retrying in {delay:?}");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

fn first_start_create(config: &Config) -> Result<Unlocked, String> {
    let identity = match &config.dev_identity {
        Some(name) => StoredIdentity::Dev(name.clone()),
        None => StoredIdentity::generate(),
    };
    let keys = identity.keys().map_err(|e| e.to_string())?;
    let key = DbKey::generate().map_err(|e| e.to_string())?;
    let store = Store::create(config.data_dir.join(STORE_DIR), &key).map_err(|e| e.to_string())?;
    identity.save(&store).map_err(|e| e.to_string())?;
    store.flush().map_err(|e| e.to_string())?;
    tracing::info!(node = %config.name, account = %hex(&keys.account().0), "first start: store and identity created");
    Ok(Unlocked { keys, key, store })
}

/// The account this node recovers as: the dev identity's, else the recovery file's.
fn own_account(config: &Config) -> Result<AccountId, Failure> {
    if let Some(name) = &config.dev_identity {
        let keys = NodeKeys::dev(name).map_err(|e| fail("identity", e.to_string()))?;
        return Ok(keys.account());
    }
    let file = RecoveryFile::read(&config.data_dir)
        .map_err(|e| fail("recovery_file", e.to_string()))?
        .ok_or_else(|| {
            fail("recovery_file", "no recovery.json in the data directory: own account unknown")
        })?;
    parse_account(&file.account)
        .map(AccountId)
        .ok_or_else(|| fail("recovery_file", "recovery.json names no valid account"))
}

async fn recover_until_open(
    config: &Config,
    lifecycle: &Lifecycle,
    metrics: &Metrics,
    chain: &Arc<dyn ChainApi>,
    quotes: &Arc<dyn QuoteProvider>,
    client_config: &ClientConfig,
) -> Unlocked {
    let mut delays = backoff(config.max_backoff);
    move_to(lifecycle, NodeState::Recovering);
    loop {
        lifecycle.update(|s| s.recovery_attempts += 1);
        let timer = metrics.recovery_seconds.start_timer();
        let result = try_recover(config, chain, quotes, client_config).await;
        timer.observe_duration();
        match result {
            Ok(unlocked) => {
                move_to(lifecycle, NodeState::Registered);
                return unlocked;
            }
            Err(failure) => {
                metrics.recoveries_failed.with_label_values(&[failure.label]).inc();
                move_to(lifecycle, NodeState::RecoveryFailed(failure.reason));
                let delay = delays.next().unwrap_or(config.max_backoff);
                tokio::time::sleep(delay).await;
                move_to(lifecycle, NodeState::Recovering);
            }
        }
    }
}

/// One recovery attempt. Reads the store's header, fetches the key, and opens the store only
/// when the epochs agree; every failure leaves the store's files untouched.
async fn try_recover(
    config: &Config,
    chain: &Arc<dyn ChainApi>,
    quotes: &Arc<dyn QuoteProvider>,
    client_config: &ClientConfig,
) -> Result<Unlocked, Failure> {
    let db_dir = config.data_dir.join(STORE_DIR);
    let info = peerseal_kvdb::read_info(&db_dir).map_err(|e| {
        fail("store", format!("the store in {} cannot be used: {e}", db_dir.display()))
    })?;
    let account = own_account(config)?;
    // Recovery uses a throwaway libp2p identity: the node's own one is inside the store.
    let net_config = NetworkConfig { listen: vec![], serve: false, ..NetworkConfig::default() };
    let (network, _, net_task) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), net_config)
            .await
            .map_err(|e| fail("network", e.to_string()))?;
    let assignment = choose_assignment(config, chain, &account, info.epoch).await;
    let assignment = match assignment {
        Ok(a) => a,
        Err(f) => {
            net_task.abort();
            return Err(f);
        }
    };
    let client = BackupClient::new(network, chain.clone(), client_config.clone());
    let recovered = client.recover_assignment(&account, &assignment, quotes.clone()).await;
    net_task.abort();
    let recovered = recovered.map_err(|e| match e {
        RecoveryError::NoAssignment => {
            fail("no_assignment", "no backup of this node is recorded on chain")
        }
        RecoveryError::Chain(e) => fail("chain", e.to_string()),
        other => fail("not_enough_shares", other.to_string()),
    })?;
    let store = Store::open(&db_dir, &recovered.key).map_err(|e| match e {
        peerseal_kvdb::Error::WrongKey => fail(
            "wrong_key",
            "the recovered key (matching the on-chain commitment) does not open this store: \
             the store is foreign or was replaced",
        ),
        other => fail("store", format!("opening the store: {other}")),
    })?;
    let keys = StoredIdentity::load(&store)
        .and_then(|id| id.keys())
        .map_err(|e| fail("identity", e.to_string()))?;
    if keys.account() != account {
        return Err(fail("identity", "the store holds another node's identity"));
    }
    tracing::info!(node = %config.name, epoch = recovered.epoch, providers = recovered.used.len(), "key recovered, store open");
    let tx = TxSubmitter::new(chain.clone(), keys.signer.clone());
    let unreported = client.report_recovery(&tx, &recovered).await;
    if !unreported.is_empty() {
        tracing::warn!("{} recovery reports not recorded on chain", unreported.len());
    }
    Ok(Unlocked { keys, key: recovered.key, store })
}

/// The backup to recover from: the on-chain assignment when it is of the store's epoch, else a
/// pending rotation of that epoch in the recovery file (the rotation crashed after the store's
/// commit point, before its on-chain record). A wrong file cannot yield a wrong key: the key
/// must match the file's commitment and then open the store.
async fn choose_assignment(
    config: &Config,
    chain: &Arc<dyn ChainApi>,
    account: &AccountId,
    store_epoch: u64,
) -> Result<Assignment, Failure> {
    let on_chain = chain.assignment(&account.0).await.map_err(|e| fail("chain", e.to_string()))?;
    if let Some(a) = &on_chain {
        if a.epoch == store_epoch {
            return Ok(a.clone());
        }
    }
    let pending = RecoveryFile::read(&config.data_dir)
        .ok()
        .flatten()
        .and_then(|f| f.pending)
        .filter(|p| p.epoch == store_epoch);
    if let Some(p) = pending {
        tracing::info!(epoch = p.epoch, "recovering from the pending rotation in recovery.json");
        return pending_assignment(&p)
            .ok_or_else(|| fail("recovery_file", "recovery.json's pending backup is malformed"));
    }
    Err(match on_chain {
        Some(a) => fail(
            "epoch_mismatch",
            format!(
                "the store is at key epoch {store_epoch} but the backup on chain is epoch {} \
                 (and recovery.json names no pending rotation to it)",
                a.epoch
            ),
        ),
        None => fail("no_assignment", "no backup of this node is recorded on chain"),
    })
}

fn pending_assignment(p: &PendingBackup) -> Option<Assignment> {
    let commitment = parse_account(&p.commitment)?;
    let providers = p
        .providers
        .iter()
        .map(|e| parse_account(&e.account).map(|a| (a, e.share_index)))
        .collect::<Option<Vec<_>>>()?;
    Some(Assignment { epoch: p.epoch, threshold: p.threshold, providers, commitment, stale: false })
}

async fn wait_for_registration(
    config: &Config,
    lifecycle: &Lifecycle,
    chain: &Arc<dyn ChainApi>,
    keys: &NodeKeys,
) {
    if lifecycle.state() == NodeState::Registered {
        return;
    }
    let mut told = false;
    loop {
        match chain.server_by_tss(&keys.account().0).await {
            Ok(Some(_)) => break,
            Ok(None) if !told => {
                told = true;
                tracing::warn!(
                    account = %hex(&keys.account().0),
                    x25519 = %hex(&keys.x25519.public().0),
                    peer_id = %keys.peer_id(),
                    "not registered on chain: the validator stash must call \
                     Attestation.request_attestation(account) and Registry.register with these \
                     values (see `peerseal info` and docs/deployment.md)"
                );
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("chain read failed: {e}"),
        }
        tokio::time::sleep(config.max_backoff.min(Duration::from_secs(2))).await;
    }
    move_to(lifecycle, NodeState::Registered);
}

async fn start_provider(
    config: &Config,
    shared: &Shared,
    chain: &Arc<dyn ChainApi>,
    keys: &NodeKeys,
    store: &Store,
) -> Result<NetworkHandle, NodeError> {
    let held = HeldShares::open(store).map_err(|e| NodeError::Create(e.to_string()))?;
    let tx = TxSubmitter::new(chain.clone(), keys.signer.clone());
    let provider = Provider::new(keys.clone(), chain.clone(), held, tx, ProviderConfig::default());
    let net_config =
        NetworkConfig { listen: vec![config.listen.clone()], ..NetworkConfig::default() };
    // A listener of the previous (killed) process may linger briefly; retry the bind.
    let mut attempt = 0;
    let (network, inbound, _net_task) = loop {
        match network::start(keys.libp2p.clone(), net_config.clone()).await {
            Ok(started) => break started,
            Err(e) if attempt < 40 => {
                attempt += 1;
                tracing::debug!("bind retry: {e}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(inbound) = inbound {
        let _serve_task = provider.serve(inbound);
    }
    tracing::info!(node = %config.name, listen = %config.listen, "serving as provider");
    // Set once per process; a second set cannot happen (this runs once).
    let _ = shared.provider.set(provider);
    Ok(network)
}
