//! `peerseal run`: drives one node through its [`crate::phase`] lifecycle, top to bottom in
//! [`run`].
//!
//! 1. **Connect** to the chain (retried), and refuse a chain whose attestation policy is the
//!    dev PCK mode unless this is a dev build.
//! 2. **Unlock** the store ([`crate::unlock`]): on a first start (no `db/`) make the database key
//!    and the identity inside the process, create the store, and wait until the stash registers
//!    the node; on a restart recover the key from the providers named on chain and open the
//!    store, retrying on failure without ever touching its files.
//! 3. **Serve** as provider of other nodes' shares from here on. This comes before the node's
//!    own backup on purpose: nodes that start (or restart) together back up with each other, so
//!    a node that waited for its own backup before serving could wait for ever on peers
//!    waiting on it. What it serves is other nodes' shares, released only against their
//!    quotes; a copy of this node serving them leaks nothing.
//! 4. **Back up** ([`crate::rotation`]): bring the on-chain backup to the store's epoch (back up,
//!    or rotate when the record is stale); after a recovery always rotate to a fresh epoch
//!    and record it (so the disk it booted from is superseded); then `Ready`.
//! 5. **Watch** finalized blocks and provider health; rotate when a provider leaves or fails.
//!
//! SIGTERM or Ctrl-C stops every wait and retry promptly (`Stopping`).

use crate::config::Config;
use crate::context::{Context, ACCEPTS_DEV_PCK, STORE_DIR};
use crate::error::DaemonError;
use crate::http::{self, Shared};
use crate::metrics::Metrics;
use crate::phase::{Lifecycle, Step};
use crate::recovery_file::hex;
use crate::registration::{PublicIdentity, Registrar};
use crate::rotation::Running;
use crate::stored_identity::first_start_marker;
use crate::unlock::{self, Unlocked};
use peerseal_backup::network::NetworkHandle;
use peerseal_backup::{BackupClient, HeldShares, NodeKeys, Provider};
use peerseal_backup::{ProviderConfig, Shutdown, Stopped, TxSubmitter};
use peerseal_chain::{ChainApi, ChainClient};
use peerseal_kvdb::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs the node until the process is asked to stop. `started` is the process start (recovery
/// timing).
pub async fn run(config: Config, started: Instant) -> Result<(), DaemonError> {
    let metrics = Metrics::new()?;
    let lifecycle = Lifecycle::new(&config.name, Arc::new(metrics.clone()));
    let shared = Shared {
        lifecycle: lifecycle.clone(),
        metrics: metrics.clone(),
        provider: Arc::default(),
        identity: Arc::default(),
        registrar: Arc::default(),
        #[cfg(feature = "dev")]
        store: Arc::default(),
    };
    let (http_addr, _http_task) = http::serve(config.http, shared.clone()).await?;
    // The devnet and tests read this line to find the endpoint.
    println!("HTTP listening on http://{http_addr}");
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|source| DaemonError::DataDir { path: config.data_dir.clone(), source })?;

    let shutdown = Shutdown::new();
    let ctx = Context { config, lifecycle, metrics, shutdown: shutdown.signal() };
    let outcome = tokio::select! {
        outcome = drive(&ctx, &shared, started) => outcome,
        () = wait_for_signal() => Err(DaemonError::Stopped(Stopped)),
    };
    shutdown.fire();
    match outcome {
        Ok(()) | Err(DaemonError::Stopped(_)) => {
            let _ = ctx.lifecycle.advance(Step::Shutdown);
            tracing::info!(node = %ctx.config.name, "shutting down");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The lifecycle, in order (module doc).
async fn drive(ctx: &Context, shared: &Shared, started: Instant) -> Result<(), DaemonError> {
    let chain_client = connect_chain(ctx).await?;
    let chain: Arc<dyn ChainApi> = Arc::new(chain_client.clone());
    check_policy(ctx, &chain).await?;
    ctx.advance(Step::ChainConnected)?;

    let restart = ctx.config.data_dir.join(STORE_DIR).exists()
        && !unlock::set_aside_unrecorded_first_start(ctx, &chain).await?;
    let Unlocked { keys, key, store } = if restart {
        ctx.advance(Step::StoreFound)?;
        let unlocked = unlock::recover_until_open(ctx, &chain).await?;
        ctx.lifecycle.update(|s| s.recovery_ms = Some(started.elapsed().as_millis() as u64));
        publish_identity(ctx, shared, &unlocked.keys);
        unlocked
    } else {
        let unlocked = unlock::first_start_create(&ctx.config)?;
        // Before the wait: the operator reads the identity to register it.
        publish_identity(ctx, shared, &unlocked.keys);
        ctx.advance(Step::StoreCreated { epoch: unlocked.store.epoch() })?;
        wait_for_registration(ctx, shared, &chain_client, &unlocked.keys).await?;
        unlocked
    };
    let marker = first_start_marker(&store).map_err(|e| DaemonError::Store(e.to_string()))?;
    ctx.lifecycle.update(|s| s.first_start_marker = Some(hex(marker)));
    if store.rotation_status().is_some() {
        // Crashed after a rotation's commit point: finish re-sealing first.
        store.resume_rotation().map_err(|e| DaemonError::Store(e.to_string()))?;
        tracing::info!(node = %ctx.config.name, epoch = store.epoch(), "interrupted rotation finished");
    }

    let network = start_provider(ctx, shared, &chain, &keys, &store).await?;
    let tx = TxSubmitter::new(chain.clone(), keys.signer.clone());
    let client_config = ctx.config.client_config();
    let client = BackupClient::new(network.clone(), chain.clone(), client_config);
    // Open for the dev record endpoint before the backup (and `ready`), so a client that saw
    // `ready` never finds it missing; the store takes writes during a rotation.
    #[cfg(feature = "dev")]
    let _ = shared.store.set(store.clone());
    let mut node = Running { ctx, chain, client, tx, keys, key, store };
    node.bring_backup_current(restart).await?;
    unlock::first_backup_recorded(&ctx.config)?;
    node.watch(chain_client).await
}

/// Connects to the chain and verifies it from the pinned trust root, retrying until an
/// endpoint serves the trusted chain with valid proofs, or shutdown. An endpoint that fails
/// verification is never believed; each such failure is counted by reason.
async fn connect_chain(ctx: &Context) -> Result<ChainClient, DaemonError> {
    let (trust, source) = crate::trust_root::load(ctx.config.configured_trust_root())?;
    tracing::info!(
        genesis = %hex(trust.genesis_hash),
        checkpoint = ?trust.checkpoint.as_ref().map(|c| c.number),
        ?source,
        "chain trust root"
    );
    let observer: Arc<dyn peerseal_chain::VerifyObserver> = Arc::new(ctx.metrics.clone());
    let mut retry = ctx.retry();
    loop {
        let connect = ChainClient::connect_observed(
            &ctx.config.chain_url,
            trust.clone(),
            Some(observer.clone()),
        );
        match connect.await {
            Ok(client) => return Ok(client),
            Err(e) => {
                if e.is_verification() {
                    tracing::error!(url = %ctx.config.chain_url, error = %e, "the chain endpoint failed verification");
                    observer.failure(e.label());
                }
                let what = format!("connecting to the chain at {}", ctx.config.chain_url);
                retry.after_failure(&what, &e).await?;
            }
        }
    }
}

/// Refuses a chain whose attestation policy is the dev PCK mode, unless this is a dev build:
/// under that mode anyone with the public mock PCK can forge quotes.
async fn check_policy(ctx: &Context, chain: &Arc<dyn ChainApi>) -> Result<(), DaemonError> {
    let mut retry = ctx.retry();
    let policy = loop {
        match chain.attestation_policy().await {
            Ok(policy) => break policy,
            Err(e) => retry.after_failure("reading the attestation policy", &e).await?,
        };
    };
    if policy.pck_mode == peerseal_attestation::PckMode::Dev && !ACCEPTS_DEV_PCK {
        return Err(DaemonError::Policy(format!(
            "the chain at {} reports the dev PCK mode (mock quotes accepted); this production \
             build refuses such a chain. Use a production chain, or a dev build (`peerseal-dev`) \
             on a dev chain.",
            ctx.config.chain_url
        )));
    }
    Ok(())
}

/// Makes the node's public identity readable at `GET /identity` and in `/status`, once the
/// store that holds it is open.
fn publish_identity(ctx: &Context, shared: &Shared, keys: &NodeKeys) {
    let _ = shared.identity.set(PublicIdentity::of(keys, ctx.config.advertise.clone()));
    ctx.lifecycle.update(|s| {
        s.account = Some(hex(keys.account().0));
        s.peer_id = Some(keys.peer_id().to_base58());
    });
}

/// Waits until the chain shows `keys`' account registered (first start). Meanwhile the node
/// makes registration quotes for its stash on request (`peerseal register`).
async fn wait_for_registration(
    ctx: &Context,
    shared: &Shared,
    chain: &ChainClient,
    keys: &NodeKeys,
) -> Result<(), DaemonError> {
    let identity = PublicIdentity::of(keys, ctx.config.advertise.clone());
    let registrar = Registrar::new(
        identity.clone(),
        unlock::quote_provider(&ctx.config),
        chain.clone(),
        ctx.config.stash,
    );
    // Cleared on every way out of this function, so no quote is made once registered.
    struct Clear<'a>(&'a Shared);
    impl Drop for Clear<'_> {
        fn drop(&mut self) {
            if let Ok(mut registrar) = self.0.registrar.lock() {
                *registrar = None;
            }
        }
    }
    if let Ok(mut slot) = shared.registrar.lock() {
        *slot = Some(Arc::new(registrar));
    }
    let _clear = Clear(shared);
    let retry = ctx.retry();
    let mut told = false;
    loop {
        match ChainApi::server_by_tss(chain, &keys.account()).await {
            Ok(Some(_)) => break,
            Ok(None) if !told => {
                told = true;
                tracing::warn!(
                    account = %hex(identity.account.0),
                    x25519 = %hex(identity.x25519),
                    peer_id = %identity.peer_id,
                    multiaddr = ?identity.advertise.as_ref().map(ToString::to_string),
                    http = %ctx.config.http,
                    "not registered on chain: the validator stash registers this node with \
                     `peerseal register --node <this node's HTTP address>` (docs/deployment.md §5)"
                );
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("chain read failed: {e}"),
        }
        retry.wait(ctx.config.max_backoff.min(Duration::from_secs(2))).await?;
    }
    tracing::info!(account = %hex(identity.account.0), "registered on chain");
    ctx.advance(Step::RegistrationSeen)?;
    Ok(())
}

/// Starts the libp2p listener and the provider service on the node's own identity.
async fn start_provider(
    ctx: &Context,
    shared: &Shared,
    chain: &Arc<dyn ChainApi>,
    keys: &NodeKeys,
    store: &Store,
) -> Result<NetworkHandle, DaemonError> {
    let held = HeldShares::open(store).map_err(|e| DaemonError::Store(e.to_string()))?;
    ctx.metrics.set_backups_held(held.len() as u64);
    let tx = TxSubmitter::new(chain.clone(), keys.signer.clone());
    let provider_config =
        ProviderConfig { accept_dev_pck: ACCEPTS_DEV_PCK, ..ProviderConfig::default() };
    let provider = Provider::observed(
        keys.clone(),
        chain.clone(),
        held,
        tx,
        provider_config,
        Arc::new(ctx.metrics.clone()),
    );
    let (network, inbound, _net_task) =
        ctx.bind_p2p(&keys.libp2p, "binding the p2p listener").await?;
    if let Some(inbound) = inbound {
        let _serve_task = provider.serve(inbound);
    }
    tracing::info!(node = %ctx.config.name, listen = %ctx.config.listen, "serving as provider");
    // Set once per process (this runs once); a second set could not happen.
    let _ = shared.provider.set(provider);
    Ok(network)
}

/// Returns on SIGTERM or Ctrl-C.
async fn wait_for_signal() {
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
