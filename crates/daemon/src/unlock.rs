//! Getting to an open store: a first start creates one with a fresh database key and identity;
//! a restart recovers the key from the providers and opens the store it finds.
//!
//! Recovery takes the providers from the on-chain assignment (the chain holds the commitment the
//! key is checked against, so it is the authority), or from the recovery file's pending rotation
//! of the store's epoch (a rotation that crashed after the store's commit point and before its
//! on-chain record). The node's own account comes from its dev identity (dev builds) or the
//! recovery file. Any failure is an [`UnlockError`] with a stable label; the node retries with
//! backoff, and the store is only ever read — never created, deleted, renamed or rewritten —
//! until a key opens it.
//!
//! One exception, the first-start crash window: a first start writes the marker
//! [`FIRST_BACKUP_MARKER`] before it creates the store and removes it once the first backup is
//! on chain. A node that finds the marker, a store still at epoch 0, and no backup of its
//! account on chain (or no known account: the recovery file is written after the first
//! backup) crashed before its first backup was recorded. Its key died with the process, no
//! provider can return it, and it never reached `Ready`, so it holds no data beyond its own
//! identity: it sets that store aside (renamed to `db.unrecorded-<unix time>`, never deleted)
//! and starts clean. A host that forges the marker gains nothing it could not do by stopping
//! the node: a store with a recorded backup is never set aside, and one that is set aside
//! stays on disk. A node with a generated identity then has a new identity, which its stash
//! registers like a new node's (docs/deployment.md).

use crate::cold_start;
use crate::config::{Config, QuoteSource};
use crate::context::{Context, STORE_DIR};
use crate::error::{DaemonError, UnlockError};
use crate::phase::Step;
use crate::recovery_file::{hex, parse_account, parse_hex32, PendingBackup, RecoveryFile};
use crate::stored_identity::StoredIdentity;
use peerseal_attestation::{ConfigfsTsmProvider, QuoteProvider};
use peerseal_backup::cold_start::{ColdStartTarget, OperatorIntake, OperatorRecovered};
use peerseal_backup::network::{self, NetworkConfig};
use peerseal_backup::{BackupClient, ClientConfig, NodeKeys, Retry, TxSubmitter};
use peerseal_chain::{Assignment, ChainApi};
use peerseal_kvdb::{DbKey, Store};
use peerseal_protocol::AccountId;
use std::sync::Arc;

/// What a node has once its store is open.
pub(crate) struct Unlocked {
    pub keys: NodeKeys,
    pub key: DbKey,
    pub store: Store,
}

/// The quote source the configuration names.
pub(crate) fn quote_provider(config: &Config) -> Arc<dyn QuoteProvider> {
    match config.quotes {
        #[cfg(feature = "dev")]
        QuoteSource::Mock => {
            use peerseal_attestation::MockQuoteProvider;
            let mut mock = match config.mock_pck_seed {
                Some(seed) => MockQuoteProvider::from_seed(seed),
                None => MockQuoteProvider::dev(),
            };
            if let Some(label) = &config.mock_image {
                mock = mock.with_image(label);
            }
            if let Some(platform) = config.mock_platform {
                mock = mock.with_platform(peerseal_attestation::PlatformId(platform));
            }
            Arc::new(mock)
        }
        QuoteSource::ConfigfsTsm => Arc::new(ConfigfsTsmProvider::new()),
    }
}

/// Written before a first start creates its store, removed once its first backup is on chain
/// (module doc).
pub const FIRST_BACKUP_MARKER: &str = "first-backup.pending";

/// First start: a new identity (or the dev one), a new key, a new store holding the identity.
pub(crate) fn first_start_create(config: &Config) -> Result<Unlocked, DaemonError> {
    let create = |e: &dyn std::fmt::Display| DaemonError::Create(e.to_string());
    write_synced(&config.data_dir, FIRST_BACKUP_MARKER, b"first backup not yet recorded\n")
        .map_err(|e| create(&e))?;
    #[cfg(feature = "dev")]
    let identity = match &config.dev_identity {
        Some(name) => StoredIdentity::Dev(name.clone()),
        None => StoredIdentity::generate(),
    };
    #[cfg(not(feature = "dev"))]
    let identity = StoredIdentity::generate();
    let keys = identity.keys().map_err(|e| create(&e))?;
    let key = DbKey::generate().map_err(|e| create(&e))?;
    let store = Store::create(config.data_dir.join(STORE_DIR), &key).map_err(|e| create(&e))?;
    identity.save(&store).map_err(|e| create(&e))?;
    store.flush().map_err(|e| create(&e))?;
    crate::fault::crash_point(crate::fault::CrashPoint::AfterStoreCreated);
    tracing::info!(node = %config.name, account = %hex(keys.account().0), "first start: store and identity created");
    Ok(Unlocked { keys, key, store })
}

/// Writes `name` in `dir` and syncs file and directory.
fn write_synced(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(dir.join(name))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::File::open(dir)?.sync_all()
}

/// The first backup is on chain: the first-start marker goes.
pub(crate) fn first_backup_recorded(config: &Config) -> Result<(), DaemonError> {
    let marker = config.data_dir.join(FIRST_BACKUP_MARKER);
    match std::fs::remove_file(&marker) {
        Ok(()) => std::fs::File::open(&config.data_dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| DaemonError::DataDir { path: config.data_dir.clone(), source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(DaemonError::DataDir { path: marker, source }),
    }
}

/// Sets aside the store of a first start that crashed before its first backup was recorded
/// (module doc); whether it did. Retries chain reads; changes nothing unless every condition
/// holds.
pub(crate) async fn set_aside_unrecorded_first_start(
    ctx: &Context,
    chain: &Arc<dyn ChainApi>,
) -> Result<bool, DaemonError> {
    let config = &ctx.config;
    if !config.data_dir.join(FIRST_BACKUP_MARKER).exists() {
        return Ok(false);
    }
    let db_dir = config.data_dir.join(STORE_DIR);
    // A header that cannot be read is a crash inside `Store::create` (the header is its
    // first write); a readable one must still be at the first epoch.
    if let Ok(info) = peerseal_kvdb::read_info(&db_dir) {
        if info.epoch != 0 {
            return Ok(false);
        }
    }
    if let Ok(account) = own_account(config) {
        let mut retry = ctx.retry();
        loop {
            match chain.assignment(&account).await {
                Ok(Some(_)) => return Ok(false),
                Ok(None) => break,
                Err(e) => {
                    retry.after_failure("reading this node's assignment", &e).await?;
                }
            }
        }
    }
    let aside =
        config.data_dir.join(format!("{STORE_DIR}.unrecorded-{}", crate::phase::unix_now()));
    std::fs::rename(&db_dir, &aside)
        .and_then(|()| std::fs::File::open(&config.data_dir)?.sync_all())
        .map_err(|source| DaemonError::DataDir { path: db_dir.clone(), source })?;
    tracing::warn!(
        node = %config.name,
        set_aside = %aside.display(),
        "the previous first start crashed before its first backup was recorded (its key is \
         lost with that process, it never held data); its store is set aside and the node \
         starts clean"
    );
    Ok(true)
}

/// The account this node recovers as: the dev identity's (dev builds), else the recovery
/// file's.
fn own_account(config: &Config) -> Result<AccountId, UnlockError> {
    #[cfg(feature = "dev")]
    if let Some(name) = &config.dev_identity {
        let keys = NodeKeys::dev(name).map_err(|e| UnlockError::Identity(e.to_string()))?;
        return Ok(keys.account());
    }
    let file = RecoveryFile::read(&config.data_dir)
        .map_err(|e| UnlockError::RecoveryFile(e.to_string()))?
        .ok_or_else(|| {
            UnlockError::RecoveryFile(
                "no recovery.json in the data directory: own account unknown".into(),
            )
        })?;
    parse_account(&file.account)
        .ok_or_else(|| UnlockError::RecoveryFile("recovery.json names no valid account".into()))
}

/// Recovers until the store opens (or shutdown): `Recovering` → `RecoveryFailed` → … →
/// `Registered`, or, when an attempt reached no provider and the chain holds the store's key
/// sealed to recovery operators, `AwaitingOperators` → `Registered` ([`await_operators`]).
pub(crate) async fn recover_until_open(
    ctx: &Context,
    chain: &Arc<dyn ChainApi>,
) -> Result<Unlocked, DaemonError> {
    let quotes = quote_provider(&ctx.config);
    let client_config = ctx.config.client_config();
    let mut retry = ctx.retry();
    loop {
        let result = attempt(ctx, chain, &quotes, &client_config).await;
        match result {
            Ok(unlocked) => {
                ctx.advance(Step::Unlocked { epoch: unlocked.store.epoch() })?;
                return Ok(unlocked);
            }
            Err(failure) => {
                ctx.advance(Step::RecoveryFailed {
                    label: failure.label().to_owned(),
                    reason: failure.to_string(),
                })?;
                if cold_start::no_provider_answered(&failure) {
                    if let Some(target) = cold_start_target(ctx, chain).await {
                        return await_operators(ctx, chain, &quotes, &client_config, target).await;
                    }
                }
                retry.after_failure("recovery", &failure).await?;
                ctx.advance(Step::RetryRecovery)?;
            }
        }
    }
}

/// Opens the store with `key` and checks that the identity inside is `account`'s (this node's).
fn open_and_check(
    config: &Config,
    key: &DbKey,
    account: &AccountId,
) -> Result<(Store, NodeKeys), UnlockError> {
    let db_dir = config.data_dir.join(STORE_DIR);
    let store = Store::open(&db_dir, key).map_err(|e| match e {
        peerseal_kvdb::Error::WrongKey => UnlockError::WrongKey,
        other => UnlockError::Store { dir: db_dir.clone(), detail: format!("opening: {other}") },
    })?;
    let keys = StoredIdentity::load(&store)
        .and_then(|id| id.keys())
        .map_err(|e| UnlockError::Identity(e.to_string()))?;
    if keys.account() != *account {
        return Err(UnlockError::Identity("the store holds another node's identity".into()));
    }
    Ok((store, keys))
}

/// One timed and counted recovery attempt from the providers.
async fn attempt(
    ctx: &Context,
    chain: &Arc<dyn ChainApi>,
    quotes: &Arc<dyn QuoteProvider>,
    client_config: &ClientConfig,
) -> Result<Unlocked, UnlockError> {
    let timer = ctx.metrics.recovery_seconds.start_timer();
    let result = try_recover(&ctx.config, chain, quotes, client_config).await;
    timer.observe_duration();
    if let Err(failure) = &result {
        ctx.metrics.recoveries_failed.with_label_values(&[failure.label()]).inc();
    }
    result
}

/// What operators' shares must rebuild for this store, if they can help at all.
async fn cold_start_target(ctx: &Context, chain: &Arc<dyn ChainApi>) -> Option<ColdStartTarget> {
    let account = own_account(&ctx.config).ok()?;
    let info = peerseal_kvdb::read_info(&ctx.config.data_dir.join(STORE_DIR)).ok()?;
    cold_start::target(&ctx.config, chain, account, info.epoch).await
}

/// `AwaitingOperators`: serves the operator handshake on the node's p2p address and keeps
/// retrying the providers with backoff; the first of the two to bring the key opens the store.
/// A key from the operators is reported on chain (`report_recovered_by_operators`, before the
/// rotation records the next backup, which replaces the recorded shares it names).
async fn await_operators(
    ctx: &Context,
    chain: &Arc<dyn ChainApi>,
    quotes: &Arc<dyn QuoteProvider>,
    client_config: &ClientConfig,
    target: ColdStartTarget,
) -> Result<Unlocked, DaemonError> {
    let needed = match chain.recovery_operators().await {
        Ok(Some(set)) if set.revision == target.operator_set => Some(set.threshold),
        _ => None,
    };
    let (intake, mut from_operators) = OperatorIntake::new(target.clone(), quotes.clone());
    let listener = cold_start::Listener::start(ctx, Arc::new(intake), &target, needed).await?;
    ctx.advance(Step::OperatorsNeeded)?;
    cold_start::tell_operators(&ctx.config, &listener.address, &target);

    let retry = ctx.retry();
    let mut delays = peerseal_backup::Backoff::up_to(ctx.config.max_backoff).delays();
    let outcome = loop {
        let delay = delays.next().unwrap_or(ctx.config.max_backoff);
        let from_providers = async {
            retry.wait(delay).await?;
            ctx.lifecycle.update(|s| s.recovery_attempts = s.recovery_attempts.saturating_add(1));
            Ok::<_, DaemonError>(attempt(ctx, chain, quotes, client_config).await)
        };
        tokio::select! {
            recovered = &mut from_operators => break match recovered {
                Ok(recovered) => {
                    open_with_operators_key(ctx, chain, &target.account, recovered).await
                }
                Err(_) => Err(DaemonError::Store("the operator intake stopped".into())),
            },
            outcome = from_providers => match outcome? {
                Ok(unlocked) => {
                    tracing::info!(node = %ctx.config.name, "a provider answered: recovered without the operators");
                    break Ok(unlocked);
                }
                Err(failure) => tracing::debug!(%failure, "providers still unavailable"),
            },
        }
    };
    listener.stop().await;
    let unlocked = outcome?;
    ctx.advance(Step::Unlocked { epoch: unlocked.store.epoch() })?;
    Ok(unlocked)
}

/// Opens the store with the key the operators' shares rebuilt (it matches the chain's
/// commitment already), checks the identity inside, and reports the cold start on chain. A
/// committed key that does not open the store means the store is not this node's: the daemon
/// stops with that reason, the store untouched.
async fn open_with_operators_key(
    ctx: &Context,
    chain: &Arc<dyn ChainApi>,
    account: &AccountId,
    recovered: OperatorRecovered,
) -> Result<Unlocked, DaemonError> {
    let config = &ctx.config;
    let (store, keys) = open_and_check(config, &recovered.key, account)
        .map_err(|e| DaemonError::Store(format!("after the operators' shares: {e}")))?;
    tracing::warn!(
        node = %config.name,
        epoch = recovered.epoch,
        operators = recovered.operators,
        "cold start: key rebuilt from recovery operators' shares, store open"
    );
    ctx.lifecycle.update(|s| {
        if let Some(view) = s.cold_start.as_mut() {
            view.recovered_by_operators = true;
        }
    });
    // The audit record, retried a few times: the chain accepts it only while the recorded
    // shares are still of this epoch, i.e. before this node's next backup is recorded.
    let tx = TxSubmitter::new(chain.clone(), keys.signer.clone());
    let backoff = peerseal_backup::Backoff {
        max_retries: Some(5),
        ..peerseal_backup::Backoff::up_to(config.max_backoff)
    };
    let mut retry = Retry::new(backoff, ctx.shutdown.clone());
    loop {
        match tx.report_recovered_by_operators(recovered.epoch).await {
            Ok(_) => break,
            Err(e) => {
                if retry.after_failure("recording the recovery by operators", &e).await.is_err() {
                    tracing::error!(node = %config.name, "the recovery by operators is not recorded on chain");
                    break;
                }
            }
        }
    }
    Ok(Unlocked { keys, key: recovered.key, store })
}

/// One recovery attempt. Reads the store's header, fetches the key, and opens the store only
/// when the epochs agree; every failure leaves the store's files untouched.
async fn try_recover(
    config: &Config,
    chain: &Arc<dyn ChainApi>,
    quotes: &Arc<dyn QuoteProvider>,
    client_config: &ClientConfig,
) -> Result<Unlocked, UnlockError> {
    let db_dir = config.data_dir.join(STORE_DIR);
    let info = peerseal_kvdb::read_info(&db_dir)
        .map_err(|e| UnlockError::Store { dir: db_dir.clone(), detail: e.to_string() })?;
    let account = own_account(config)?;
    let assignment = choose_assignment(config, chain, &account, info.epoch).await?;
    // Recovery uses a throwaway libp2p identity: the node's own one is inside the store.
    let net_config = NetworkConfig { listen: vec![], serve: false, ..NetworkConfig::default() };
    let (network, _, net_task) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), net_config)
            .await
            .map_err(|e| UnlockError::Network(e.to_string()))?;
    let client = BackupClient::new(network, chain.clone(), client_config.clone());
    let recovered = client.recover_assignment(&account, &assignment, quotes.clone()).await;
    net_task.abort();
    let recovered = recovered?;
    let (store, keys) = open_and_check(config, &recovered.key, &account)?;
    tracing::info!(node = %config.name, epoch = recovered.epoch, providers = recovered.used.len(), "key recovered, store open");
    let tx = TxSubmitter::new(chain.clone(), keys.signer.clone());
    let unreported = client.report_recovery(&tx, &recovered).await;
    if !unreported.is_empty() {
        tracing::warn!("{} recovery reports not recorded on chain", unreported.len());
    }
    Ok(Unlocked { keys, key: recovered.key, store })
}

/// The backup to recover from. The chain's recorded epoch (proven by the verifying client) is
/// the source of truth:
/// - the store is at that epoch: the on-chain assignment;
/// - the store is *below* it: a rolled-back or copied disk — refused (`RolledBack`), whatever
///   the host-writable recovery file says;
/// - the store is *above* it (or nothing is recorded): a rotation that crashed after the
///   store's commit point and before its record; only the recovery file's pending rotation of
///   exactly the store's epoch can say where that key is. A wrong file cannot yield a wrong
///   key: the key must match the file's commitment and then open the store.
async fn choose_assignment(
    config: &Config,
    chain: &Arc<dyn ChainApi>,
    account: &AccountId,
    store_epoch: u64,
) -> Result<Assignment, UnlockError> {
    let on_chain = chain.assignment(account).await?;
    match &on_chain {
        Some(a) if a.epoch == store_epoch => return Ok(a.clone()),
        Some(a) if store_epoch < a.epoch => {
            return Err(UnlockError::RolledBack { store: store_epoch, chain: a.epoch })
        }
        _ => {}
    }
    let pending = RecoveryFile::read(&config.data_dir)
        .ok()
        .flatten()
        .and_then(|f| f.pending_at(store_epoch).cloned())
        .filter(|p| on_chain.as_ref().is_none_or(|a| p.epoch > a.epoch));
    if let Some(p) = pending {
        tracing::info!(epoch = p.epoch, "recovering from the pending rotation in recovery.json");
        return pending_assignment(&p).ok_or_else(|| {
            UnlockError::RecoveryFile("recovery.json's pending backup is malformed".into())
        });
    }
    Err(match on_chain {
        Some(a) => UnlockError::EpochMismatch { store: store_epoch, chain: a.epoch },
        None => UnlockError::NoAssignment,
    })
}

fn pending_assignment(p: &PendingBackup) -> Option<Assignment> {
    let commitment = parse_hex32(&p.commitment)?;
    let providers = p
        .providers
        .iter()
        .map(|e| parse_account(&e.account).map(|a| (a, e.share_index)))
        .collect::<Option<Vec<_>>>()?;
    Some(Assignment { epoch: p.epoch, threshold: p.threshold, providers, commitment, stale: false })
}
