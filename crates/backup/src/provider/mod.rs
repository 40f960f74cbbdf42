//! The backup provider service: holds other nodes' key shares and gives them back only to an
//! attested, still-registered node that proves it runs an accepted image.
//!
//! [`Provider::handle`] is the whole policy as one plain async function from (peer, request)
//! to response, free of networking, so every rule is testable directly; [`Provider::serve`]
//! connects it to the inbound requests of [`crate::network`] with bounded concurrency and a
//! time limit per request. Rules:
//! - `StoreBackup`: the envelope opens with this node's x25519 key and carries a valid sr25519
//!   signature of the account it names; that account is registered on chain. The share is
//!   stored persistently ([`held`]), a signed receipt goes back, and `confirm_backup` is
//!   submitted in the background once the client's assignment naming this provider is on chain
//!   (the client records it only after collecting its receipts). The epoch must be above the
//!   client's recorded one (`SupersededEpoch`), and a held (account, epoch) is never
//!   overwritten: the same share again is answered with a receipt, a different one is
//!   `EpochTaken`.
//! - `RequestNonce`: for a registered account, 32 fresh random bytes, single use, with a time to
//!   live ([`nonces`]).
//! - `Recover`: a share is held; the nonce in the quote's report data was issued to this account,
//!   is unused and fresh (it is spent by this attempt); the account is still registered; the
//!   quote verifies against the chain's policy with context `Recover` binding (account, response
//!   key, nonce), and it comes from the platform of the account's registered quote (the PPID
//!   of its PCK certificate, which a TCB update keeps) or from the platform of a
//!   governance-approved move ([`policy`]); the epoch is not below the client's recorded one (`SupersededEpoch`: the node rotates to a
//!   fresh epoch on every boot, so a copy of its disk or an old snapshot asks for a superseded
//!   epoch). Then the share goes back HPKE-sealed to the response key and signed by this
//!   provider. When that recovery is the only one verifying, the share is sealed on this task
//!   while the quote is verified on a blocking thread (about 0.1 ms off an idle handshake),
//!   and the envelope is dropped unsent if any check fails; under load it is sealed after the
//!   checks, so rejected quotes cost no sealing.
//! - `HealthChallenge`: signed by the client's account for this provider (so nobody else can
//!   spend the client's budget here or fail its checks); answered with a MAC keyed by the held
//!   share ([`peerseal_protocol::health_mac`]).
//!
//! Superseded shares (below the client's recorded epoch, or of the recorded epoch when this
//! provider is not named in it) are dropped by a sweep every [`ProviderConfig::prune_interval`]
//! and whenever a `Recover` asks for one.
//!
//! ## Under a flood
//! Nothing is keyed on the account a request *claims* alone: that account is not
//! authenticated, so a limit per account would let anyone use up a victim's. Before any work,
//! the network task limits each connection count and each peer's request rate
//! ([`crate::network`]) and keeps part of its queue for `Recover`; here, every request is
//! rate-limited per (peer, account), nonces are budgeted per (peer, account) and per peer
//! ([`nonces`]), `Recover` has handler slots of its own ([`ProviderConfig::reserved_for_recover`])
//! so nonce and health floods cannot starve it, and an account found unregistered is refused
//! without a chain read for a short while ([`ProviderConfig::negative_registration_ttl`]).
//! Every refusal is a typed [`ErrorReason`], counted by reason ([`ProviderObserver::refused`])
//! and one log line naming the peer, account and reason — never a share, key or nonce.
//!
//! ## Registration checks and their cache
//! A recovery asks the chain twice whether the account is registered: at `RequestNonce` and at
//! `Recover`. Under load that chain read was a large share of the provider's CPU, so
//! `RequestNonce` trusts a *positive* answer seen within the last
//! [`ProviderConfig::registration_cache_ttl`] (a few seconds; bounded in entries). What that
//! can and cannot change:
//! - Negative answers are kept for [`ProviderConfig::negative_registration_ttl`] (2 s), for
//!   `RequestNonce` only: a flood of made-up accounts then costs no chain reads, and an account
//!   registered a moment ago is held back at most that long (its client retries).
//! - `Recover` always reads the registration fresh from the chain (and only that read's record
//!   supplies the registered PCK), so a removed account never gets a share, whatever the cache
//!   holds. The most a just-removed account gains is a nonce for up to the TTL, which is
//!   harmless: a nonce only admits a `Recover` attempt, which is then refused `NotRegistered`.
//! - `StoreBackup` checks fresh too: it is rare and writes state.

pub mod held;
pub mod nonces;
pub mod policy;
pub mod ratelimit;

use crate::identity::NodeKeys;
use crate::network::InboundRequest;
use crate::submit::TxSubmitter;
use held::{HeldError, HeldShares, Stored};
use libp2p::PeerId;
use nonces::{NonceLimits, NonceTable};
use peerseal_attestation::PckMode;
use peerseal_chain::{ChainApi, ChainError, ServerRecord};
use peerseal_protocol::{
    health_mac, AccountId, BackupReceipt, ErrorReason, HealthChallenge, HealthProof, Nonce,
    Nonce32, QuoteRejection, Recover, RecoveredShare, Request, RequestNonce, Response,
    SignedReceipt, StoreBackup, X25519Secret,
};
use policy::{
    check_move, quote_nonce, registered_platform, verify_recover_quote, MoveRefusal,
    RegisteredPlatforms,
};
use rand::RngCore;
use ratelimit::{RateLimiter, RateLimits};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

/// Settings of the provider service.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// Nonce time to live and table bounds.
    pub nonces: NonceLimits,
    /// Rate limits per (peer, claimed account).
    pub rate: RateLimits,
    /// Longest time one request may take before it is answered `Unavailable`.
    pub request_deadline: Duration,
    /// Requests handled at once (quote verification is CPU work).
    pub max_concurrent: usize,
    /// Recovery quotes verified at once; the rest wait their turn (within the request
    /// deadline), counted in [`ProviderStats::verifications_queued`]. A few per core keep the
    /// cores busy; past that, more threads only take turns on the same cores: without a bound
    /// every recovery in flight (up to `max_concurrent` + `reserved_for_recover`) held a
    /// blocking thread of its own. What it saves in CPU on the 2-core bench machine is within
    /// the run-to-run noise (BENCHMARKS.md); what it bounds is threads. Default: 4 per core.
    pub max_verifying: usize,
    /// Handler slots only `Recover` may use, on top of `max_concurrent`: a flood of nonce or
    /// health requests fills the shared slots and is shed, while recoveries still run.
    pub reserved_for_recover: usize,
    /// Whether to submit `confirm_backup` after storing a share.
    pub confirm_on_chain: bool,
    /// How long to wait for the client's assignment before giving up on confirming.
    pub confirm_deadline: Duration,
    /// Confirmations waiting at most (more are dropped and logged).
    pub confirm_queue: usize,
    /// How long a positive registration answer is reused for `RequestNonce` (zero: never).
    /// `Recover` always checks fresh; see the module doc.
    pub registration_cache_ttl: Duration,
    /// Accounts the registration cache holds at most (when full, new answers are not cached).
    pub registration_cache_size: usize,
    /// How long an account found unregistered is refused a nonce without asking the chain
    /// again (zero: never cached).
    pub negative_registration_ttl: Duration,
    /// How often held shares are checked against the clients' recorded epochs and the
    /// superseded ones dropped (zero: only when a request shows one).
    pub prune_interval: Duration,
    /// Whether a recovery alone in verification seals its share while its quote is verified
    /// on a blocking thread (module doc); off only to measure what it saves.
    pub seal_while_verifying: bool,
    /// Whether a chain policy in the dev PCK mode (mock PCKs allowed) is honoured. Off unless
    /// the crate is built with `dev`: a production provider never releases a share against a
    /// mock-signed quote, whatever the chain endpoint claims.
    pub accept_dev_pck: bool,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            nonces: NonceLimits::default(),
            rate: RateLimits::default(),
            request_deadline: Duration::from_secs(15),
            max_concurrent: 64,
            max_verifying: std::thread::available_parallelism().map_or(2, |n| n.get()) * 4,
            reserved_for_recover: 16,
            confirm_on_chain: true,
            confirm_deadline: Duration::from_secs(120),
            confirm_queue: 1024,
            registration_cache_ttl: Duration::from_secs(3),
            registration_cache_size: 4096,
            negative_registration_ttl: Duration::from_secs(2),
            prune_interval: Duration::from_secs(30),
            seal_while_verifying: true,
            accept_dev_pck: cfg!(feature = "dev"),
        }
    }
}

/// Told by the provider as things happen, so a daemon keeps its metrics at the source (this
/// library exposes none itself). Every method has an empty default.
pub trait ProviderObserver: Send + Sync {
    /// A share was stored; `held` is how many shares the provider holds now.
    fn share_stored(&self, _held: u64) {}
    /// A share was released to an attested, registered node.
    fn share_released(&self) {}
    /// A request was refused, with its typed reason.
    fn refused(&self, _reason: &ErrorReason) {}
    /// A recovery waited for a verification slot ([`ProviderConfig::max_verifying`]).
    fn verification_queued(&self) {}
}

/// Observes nothing.
impl ProviderObserver for () {}

/// Counters of the provider, for status pages, metrics and tests.
#[derive(Debug, Default)]
pub struct ProviderStats {
    /// Shares stored.
    pub backups_stored: AtomicU64,
    /// Shares released to a recovering node.
    pub recoveries_served: AtomicU64,
    /// Health challenges answered.
    pub health_proofs: AtomicU64,
    /// Recoveries that waited for a verification slot ([`ProviderConfig::max_verifying`]).
    pub verifications_queued: AtomicU64,
    rejections: Mutex<BTreeMap<String, u64>>,
}

impl ProviderStats {
    fn rejected(&self, reason: ErrorReason) {
        let mut map = self.rejections.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(format!("{reason:?}")).or_default() += 1;
    }

    /// Rejections so far, by reason (`Debug` form of the [`ErrorReason`]).
    pub fn rejections(&self) -> BTreeMap<String, u64> {
        self.rejections.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

struct Inner {
    keys: NodeKeys,
    chain: Arc<dyn ChainApi>,
    held: HeldShares,
    nonces: Mutex<NonceTable>,
    limiter: Mutex<RateLimiter<(PeerId, AccountId)>>,
    registrations: Mutex<RegistrationCache>,
    platforms: Mutex<RegisteredPlatforms>,
    config: ProviderConfig,
    confirms: Option<mpsc::Sender<(AccountId, u64)>>,
    confirmed: Arc<AtomicU64>,
    stats: ProviderStats,
    observer: Arc<dyn ProviderObserver>,
    /// Recovery quotes being verified right now (see [`Provider::recover`]).
    verifying: AtomicUsize,
    /// [`ProviderConfig::max_verifying`] permits.
    verify_slots: Arc<Semaphore>,
}

/// Counts one quote verification in [`Inner::verifying`] for as long as it lives.
struct Verifying<'a>(&'a AtomicUsize);

impl<'a> Verifying<'a> {
    /// Counts one more; says how many are in progress with it.
    fn start(counter: &'a AtomicUsize) -> (Self, usize) {
        let now = counter.fetch_add(1, Ordering::AcqRel).saturating_add(1);
        (Self(counter), now)
    }
}

impl Drop for Verifying<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The provider service. Cheap to clone; clones share all state.
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

/// A refusal: the typed reason plus what the log line says about the request.
struct Refusal {
    reason: ErrorReason,
    account: Option<AccountId>,
    what: &'static str,
}

fn refuse(reason: ErrorReason, account: Option<AccountId>, what: &'static str) -> Refusal {
    Refusal { reason, account, what }
}

impl Provider {
    /// A provider acting with `keys`, reading `chain`, holding shares in `held`, submitting
    /// confirmations through `tx` (which must sign as `keys.signer`). Spawns the confirmation
    /// task, so it must be called inside a tokio runtime.
    pub fn new(
        keys: NodeKeys,
        chain: Arc<dyn ChainApi>,
        held: HeldShares,
        tx: TxSubmitter,
        config: ProviderConfig,
    ) -> Self {
        Self::observed(keys, chain, held, tx, config, Arc::new(()))
    }

    /// Like [`Provider::new`], reporting to `observer` as requests are handled.
    pub fn observed(
        keys: NodeKeys,
        chain: Arc<dyn ChainApi>,
        held: HeldShares,
        tx: TxSubmitter,
        config: ProviderConfig,
        observer: Arc<dyn ProviderObserver>,
    ) -> Self {
        let confirmed = Arc::new(AtomicU64::new(0));
        let confirms = if config.confirm_on_chain {
            let (sender, receiver) = mpsc::channel(config.confirm_queue.max(1));
            tokio::spawn(confirm_loop(tx, receiver, config.confirm_deadline, confirmed.clone()));
            Some(sender)
        } else {
            None
        };
        let verify_slots = Arc::new(Semaphore::new(config.max_verifying.max(1)));
        let inner = Inner {
            nonces: Mutex::new(NonceTable::new(config.nonces)),
            limiter: Mutex::new(RateLimiter::new(config.rate)),
            platforms: Mutex::new(RegisteredPlatforms::default()),
            registrations: Mutex::new(RegistrationCache::new(
                config.registration_cache_ttl,
                config.negative_registration_ttl,
                config.registration_cache_size,
            )),
            keys,
            chain,
            held,
            config,
            confirms,
            confirmed,
            stats: ProviderStats::default(),
            observer,
            verifying: AtomicUsize::new(0),
            verify_slots,
        };
        Self { inner: Arc::new(inner) }
    }

    /// This provider's TSS account.
    pub fn account(&self) -> AccountId {
        self.inner.keys.account()
    }

    /// The shares this provider holds.
    pub fn held(&self) -> &HeldShares {
        &self.inner.held
    }

    /// The provider's counters.
    pub fn stats(&self) -> &ProviderStats {
        &self.inner.stats
    }

    /// `confirm_backup` transactions this provider got included so far.
    pub fn confirmations(&self) -> u64 {
        self.inner.confirmed.load(Ordering::Relaxed)
    }

    /// Answers one request from `peer`. Never panics on peer input; every refusal is typed.
    pub async fn handle(&self, peer: PeerId, request: Request) -> Response {
        let kind = request_kind(&request);
        let outcome = match request {
            Request::StoreBackup(store) => self.store_backup(peer, store).await,
            Request::RequestNonce(ask) => self.request_nonce(peer, ask).await,
            Request::Recover(recover) => self.recover(peer, recover).await,
            Request::HealthChallenge(challenge) => self.health(peer, challenge).await,
            // Operators talk to cold-starting nodes (`crate::cold_start`), never to a provider.
            Request::OperatorChallenge(_) | Request::OperatorRelease(_) => Err(refuse(
                ErrorReason::InvalidRequest,
                None,
                "operator request sent to a running provider",
            )),
        };
        match outcome {
            Ok(response) => response,
            Err(refusal) => {
                let reason = refusal.reason;
                self.refused(peer, kind, refusal);
                Response::Error(reason)
            }
        }
    }

    /// Counts and logs one refusal. Refusals a flood causes by the thousand (rate limits,
    /// shed requests, unregistered accounts) are logged at debug level: the counters show
    /// them, and a flood must not also fill the disk with log lines.
    fn refused(&self, peer: PeerId, kind: &'static str, refusal: Refusal) {
        self.inner.stats.rejected(refusal.reason);
        self.inner.observer.refused(&refusal.reason);
        let noisy = matches!(
            refusal.reason,
            ErrorReason::RateLimited { .. }
                | ErrorReason::Unavailable
                | ErrorReason::NotRegistered
                | ErrorReason::BadSignature
        );
        if noisy {
            tracing::debug!(%peer, request = kind, account = ?refusal.account, reason = ?refusal.reason, detail = refusal.what, "request refused");
        } else {
            tracing::warn!(%peer, request = kind, account = ?refusal.account, reason = ?refusal.reason, detail = refusal.what, "request refused");
        }
    }

    /// Serves inbound requests until the channel closes: at most `max_concurrent` at once (plus
    /// `reserved_for_recover` recoveries), each answered within `request_deadline`
    /// (`Unavailable` otherwise). A request other than `Recover` that finds every shared slot
    /// busy is answered `Unavailable` at once rather than queued in front of recoveries.
    pub fn serve(&self, mut inbound: mpsc::Receiver<InboundRequest>) -> JoinHandle<()> {
        let provider = self.clone();
        tokio::spawn(async move {
            // The sweep runs beside the requests and ends with them (when the channel closes).
            let pruner = provider.clone();
            let interval = provider.inner.config.prune_interval;
            let _sweep = (!interval.is_zero()).then(|| {
                AbortOnDrop(tokio::spawn(async move {
                    let mut ticks = tokio::time::interval(interval);
                    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        ticks.tick().await;
                        pruner.prune_superseded().await;
                    }
                }))
            });
            let shared = Arc::new(Semaphore::new(provider.inner.config.max_concurrent.max(1)));
            let reserved = Arc::new(Semaphore::new(provider.inner.config.reserved_for_recover));
            let deadline = provider.inner.config.request_deadline;
            while let Some(request) = inbound.recv().await {
                let permit = if matches!(request.request(), Request::Recover(_)) {
                    // Waiting here is the back-pressure: the network task then answers further
                    // requests `Unavailable` once its bounded queue is full.
                    let slot = match reserved.clone().try_acquire_owned() {
                        Ok(permit) => Ok(permit),
                        Err(_) => tokio::select! {
                            permit = reserved.clone().acquire_owned() => permit,
                            permit = shared.clone().acquire_owned() => permit,
                        },
                    };
                    let Ok(permit) = slot else { break };
                    permit
                } else {
                    match shared.clone().try_acquire_owned() {
                        Ok(permit) => permit,
                        Err(tokio::sync::TryAcquireError::Closed) => break,
                        Err(tokio::sync::TryAcquireError::NoPermits) => {
                            let (peer, request, reply) = request.into_parts();
                            let refusal = refuse(ErrorReason::Unavailable, None, "every slot busy");
                            provider.refused(peer, request_kind(&request), refusal);
                            let _ = reply.send(Response::Error(ErrorReason::Unavailable));
                            continue;
                        }
                    }
                };
                let provider = provider.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let (peer, request, reply) = request.into_parts();
                    let response = tokio::time::timeout(deadline, provider.handle(peer, request))
                        .await
                        .unwrap_or_else(|_| {
                            tracing::warn!(%peer, "request not answered in time");
                            Response::Error(ErrorReason::Unavailable)
                        });
                    let _ = reply.send(response);
                });
            }
        })
    }

    fn rate_limit(
        &self,
        peer: PeerId,
        account: &AccountId,
        what: &'static str,
    ) -> Result<(), Refusal> {
        let mut limiter = self.inner.limiter.lock().unwrap_or_else(|p| p.into_inner());
        limiter
            .check(&(peer, *account), Instant::now())
            .map_err(|r| refuse(r, Some(*account), what))
    }

    async fn registered(
        &self,
        account: &AccountId,
        what: &'static str,
    ) -> Result<ServerRecord, Refusal> {
        match self.inner.chain.server_by_tss(account).await {
            Ok(Some(record)) => Ok(record),
            Ok(None) => Err(refuse(ErrorReason::NotRegistered, Some(*account), what)),
            Err(error) => {
                tracing::warn!(%error, "chain lookup failed");
                Err(refuse(ErrorReason::Unavailable, Some(*account), "chain unavailable"))
            }
        }
    }

    /// Like [`Provider::registered`], but content with a positive answer of the last
    /// `registration_cache_ttl` or a negative one of the last `negative_registration_ttl`
    /// (for `RequestNonce` only; see the module doc).
    async fn registered_recently(
        &self,
        account: &AccountId,
        what: &'static str,
    ) -> Result<(), Refusal> {
        let now = Instant::now();
        let cached =
            self.inner.registrations.lock().unwrap_or_else(|p| p.into_inner()).get(account, now);
        match cached {
            Some(true) => return Ok(()),
            Some(false) => {
                return Err(refuse(
                    ErrorReason::NotRegistered,
                    Some(*account),
                    "cached: not registered",
                ))
            }
            None => {}
        }
        let answer = self.registered(account, what).await;
        let registered = match &answer {
            Ok(_) => true,
            Err(refusal) if refusal.reason == ErrorReason::NotRegistered => false,
            // The chain could not be read: remember nothing.
            Err(_) => return answer.map(|_| ()),
        };
        self.inner.registrations.lock().unwrap_or_else(|p| p.into_inner()).insert(
            *account,
            registered,
            Instant::now(),
        );
        answer.map(|_| ())
    }

    /// The epoch the chain records for `account`'s backup (from the verified view for a
    /// registered account: no chain round trip on the hot path).
    async fn recorded_epoch(&self, account: &AccountId) -> Result<Option<u64>, Refusal> {
        match self.inner.chain.assignment(account).await {
            Ok(assignment) => Ok(assignment.map(|a| a.epoch)),
            Err(error) => {
                tracing::warn!(%error, "assignment lookup failed");
                Err(refuse(ErrorReason::Unavailable, Some(*account), "chain unavailable"))
            }
        }
    }

    /// Drops `client`'s shares the chain shows superseded: epochs below its recorded one, and
    /// the recorded epoch itself when this provider is not among its providers. Returns how
    /// many were dropped; a chain that cannot be read drops nothing.
    pub async fn prune_client(&self, client: &AccountId) -> usize {
        let assignment = match self.inner.chain.assignment(client).await {
            Ok(Some(assignment)) => assignment,
            Ok(None) => return 0,
            Err(error) => {
                tracing::debug!(%error, "assignment lookup for pruning failed; keeping shares");
                return 0;
            }
        };
        let me = self.account();
        let named = assignment.providers.iter().any(|(p, _)| *p == me);
        let recorded = assignment.epoch;
        let held = self.inner.held.clone();
        let client_id = *client;
        let pruned = tokio::task::spawn_blocking(move || {
            held.prune(&client_id, |epoch| epoch < recorded || (epoch == recorded && !named))
        })
        .await;
        match pruned {
            Ok(Ok(0)) => 0,
            Ok(Ok(dropped)) => {
                tracing::info!(?client, recorded, dropped, "superseded shares dropped");
                self.inner.observer.share_stored(self.inner.held.len() as u64);
                dropped
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "pruning held shares failed");
                0
            }
            Err(_) => 0,
        }
    }

    /// Prunes every client's superseded shares (see [`Provider::prune_client`]); returns how
    /// many were dropped.
    pub async fn prune_superseded(&self) -> usize {
        let held = self.inner.held.clone();
        let clients = match tokio::task::spawn_blocking(move || held.clients()).await {
            Ok(Ok(clients)) => clients,
            Ok(Err(error)) => {
                tracing::error!(%error, "listing held shares failed");
                return 0;
            }
            Err(_) => return 0,
        };
        let mut dropped = 0;
        for client in clients {
            dropped += self.prune_client(&client).await;
        }
        dropped
    }

    async fn store_backup(&self, peer: PeerId, store: StoreBackup) -> Result<Response, Refusal> {
        let inner = &self.inner;
        let share =
            store.open(&inner.keys.x25519).map_err(|e| refuse(e.reason(), None, "envelope"))?;
        let account = share.account;
        self.rate_limit(peer, &account, "store backup")?;
        if share.threshold == 0
            || share.share_index == 0
            || share.share.is_empty()
            || account == self.account()
        {
            return Err(refuse(ErrorReason::InvalidRequest, Some(account), "share fields"));
        }
        self.registered(&account, "store backup from unregistered account").await?;
        // Only above the recorded epoch: shares at or below it could only replace the backup
        // the chain names (a rolled-back or copied node re-dealing an old epoch).
        if let Some(recorded) = self.recorded_epoch(&account).await? {
            if share.epoch <= recorded {
                return Err(refuse(ErrorReason::SupersededEpoch, Some(account), "store backup"));
            }
        }

        let held = inner.held.clone();
        let to_store = share.clone();
        let stored = tokio::task::spawn_blocking(move || held.put(&to_store))
            .await
            .map_err(|_| refuse(ErrorReason::Internal, Some(account), "store task failed"))?
            .map_err(|e| match e {
                HeldError::Conflict { .. } => {
                    refuse(ErrorReason::EpochTaken, Some(account), "another share held")
                }
                other => {
                    tracing::error!(error = %other, "storing a held share failed");
                    refuse(ErrorReason::Internal, Some(account), "store write failed")
                }
            })?;
        if stored == Stored::New {
            inner.stats.backups_stored.fetch_add(1, Ordering::Relaxed);
            inner.observer.share_stored(inner.held.len() as u64);
        }

        let receipt = BackupReceipt {
            provider: self.account(),
            client: account,
            epoch: share.epoch,
            share_index: share.share_index,
            envelope_digest: store.envelope.digest(),
        };
        let signed = SignedReceipt::sign(receipt, &inner.keys.signer)
            .map_err(|_| refuse(ErrorReason::Internal, Some(account), "receipt signing"))?;
        if let Some(confirms) = &inner.confirms {
            if confirms.try_send((account, share.epoch)).is_err() {
                tracing::warn!(
                    ?account,
                    epoch = share.epoch,
                    "confirmation queue full; not confirming"
                );
            }
        }
        tracing::info!(?account, epoch = share.epoch, index = share.share_index, "share stored");
        Ok(Response::BackupReceipt(signed))
    }

    async fn request_nonce(&self, peer: PeerId, ask: RequestNonce) -> Result<Response, Refusal> {
        let account = ask.account;
        self.rate_limit(peer, &account, "request nonce")?;
        self.registered_recently(&account, "nonce for unregistered account").await?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|_| refuse(ErrorReason::Internal, Some(account), "rng"))?;
        let nonce = Nonce32(bytes);
        let limits = {
            let mut table = self.inner.nonces.lock().unwrap_or_else(|p| p.into_inner());
            table
                .issue(peer, account, nonce, Instant::now())
                .map_err(|r| refuse(r, Some(account), "nonce table"))?;
            table.limits()
        };
        let ttl_secs = u32::try_from(limits.ttl.as_secs()).unwrap_or(u32::MAX);
        Ok(Response::Nonce(Nonce { nonce, ttl_secs }))
    }

    async fn recover(&self, peer: PeerId, recover: Recover) -> Result<Response, Refusal> {
        let inner = &self.inner;
        let account = recover.account;
        self.rate_limit(peer, &account, "recover")?;
        let share = inner
            .held
            .get(&account, recover.epoch)
            .map_err(|e| {
                tracing::error!(error = %e, "reading a held share failed");
                refuse(ErrorReason::Internal, Some(account), "store read failed")
            })?
            .ok_or_else(|| refuse(ErrorReason::NoBackupHeld, Some(account), "recover"))?;

        let quote = recover.quote.into_inner();
        let nonce = quote_nonce(&quote).ok_or_else(|| {
            refuse(ErrorReason::QuoteRejected(QuoteRejection::Malformed), Some(account), "quote")
        })?;
        {
            let mut table = inner.nonces.lock().unwrap_or_else(|p| p.into_inner());
            table
                .consume(&peer, &account, &nonce, Instant::now())
                .map_err(|r| refuse(r, Some(account), "nonce"))?;
        }
        // Fresh, never from the registration cache: this check guards the share.
        let record = self.registered(&account, "recover by unregistered account").await?;
        // The chain's recorded epoch decides: a share below it belongs to a superseded backup
        // (a rolled-back disk or a copy of the node), so it is dropped, never released.
        if let Some(recorded) = self.recorded_epoch(&account).await? {
            if recover.epoch < recorded {
                self.prune_client(&account).await;
                return Err(refuse(ErrorReason::SupersededEpoch, Some(account), "recover"));
            }
        }
        // Read at every recovery, not cached for a time: the verified chain view holds it in
        // memory, and a revocation then applies from the first verified block that carries it.
        let policy = inner.chain.attestation_policy().await.map_err(|e: ChainError| {
            tracing::warn!(error = %e, "reading the attestation policy failed");
            refuse(ErrorReason::Unavailable, Some(account), "policy unavailable")
        })?;
        if policy.pck_mode == PckMode::Dev && !inner.config.accept_dev_pck {
            tracing::error!(
                "the chain reports the dev PCK mode, which this build refuses: no share is \
                 released against mock-signed quotes"
            );
            return Err(refuse(
                ErrorReason::QuoteRejected(QuoteRejection::UntrustedPck),
                Some(account),
                "dev PCK mode refused by this build",
            ));
        }
        let response_pk = recover.response_pk;
        let platform_key = RegisteredPlatforms::key(&record.quote, policy.pck_mode);
        let known = inner.platforms.lock().unwrap_or_else(|p| p.into_inner()).get(&platform_key);
        // Quote verification is CPU work (ECDSA, certificate chains): off the async workers,
        // a bounded number at once.
        let slot = match inner.verify_slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                inner.stats.verifications_queued.fetch_add(1, Ordering::Relaxed);
                inner.observer.verification_queued();
                inner.verify_slots.clone().acquire_owned().await.map_err(|_| {
                    refuse(ErrorReason::Internal, Some(account), "verification slots closed")
                })?
            }
        };
        let (counted, in_progress) = Verifying::start(&inner.verifying);
        let verification = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let registered =
                known.unwrap_or_else(|| registered_platform(&record.quote, policy.pck_mode));
            let verdict =
                verify_recover_quote(&quote, &account, &response_pk, &nonce, &policy, registered);
            (verdict, registered)
        });
        // The only verification in progress leaves a core idle: seal the share on it meanwhile,
        // which takes the seal off the handshake's critical path. The envelope is released only
        // if every check below passes (otherwise it is dropped unsent). With more in progress
        // the cores are busy, and sealing first would only waste work on rejected quotes.
        let sealed_early = (inner.config.seal_while_verifying && in_progress == 1)
            .then(|| RecoveredShare::seal(&response_pk, &inner.keys.signer, &share));
        let (verdict, registered) = verification
            .await
            .map_err(|_| refuse(ErrorReason::Internal, Some(account), "verify task failed"))?;
        drop(counted);
        if known.is_none() {
            inner
                .platforms
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(platform_key, registered);
        }
        let platform =
            verdict.map_err(|r| refuse(ErrorReason::QuoteRejected(r), Some(account), "quote"))?;
        // Another platform than the registered one: only with a governance-approved move.
        check_move(inner.chain.as_ref(), &account, platform).await.map_err(|e| match e {
            MoveRefusal::Chain(error) => {
                tracing::warn!(%error, "reading the approved move failed");
                refuse(ErrorReason::Unavailable, Some(account), "approved move unavailable")
            }
            MoveRefusal::NotApproved => refuse(
                ErrorReason::QuoteRejected(QuoteRejection::PckMismatch),
                Some(account),
                "platform neither registered nor approved",
            ),
        })?;

        let sealed = sealed_early
            .unwrap_or_else(|| RecoveredShare::seal(&response_pk, &inner.keys.signer, &share))
            .map_err(|_| refuse(ErrorReason::InvalidRequest, Some(account), "response key"))?;
        inner.stats.recoveries_served.fetch_add(1, Ordering::Relaxed);
        inner.observer.share_released();
        tracing::info!(?account, epoch = recover.epoch, "share released to attested node");
        Ok(Response::RecoveredShare(sealed))
    }

    async fn health(&self, peer: PeerId, challenge: HealthChallenge) -> Result<Response, Refusal> {
        let account = challenge.account;
        self.rate_limit(peer, &account, "health")?;
        // Only the client itself may make this provider prove it holds the client's share.
        challenge
            .verify(&self.account())
            .map_err(|_| refuse(ErrorReason::BadSignature, Some(account), "health challenge"))?;
        let share = self
            .inner
            .held
            .get(&account, challenge.epoch)
            .map_err(|_| refuse(ErrorReason::Internal, Some(account), "store read failed"))?
            .ok_or_else(|| refuse(ErrorReason::NoBackupHeld, Some(account), "health"))?;
        let mac = health_mac(
            share.share.expose(),
            &self.account(),
            &account,
            challenge.epoch,
            &challenge.challenge,
        );
        self.inner.stats.health_proofs.fetch_add(1, Ordering::Relaxed);
        Ok(Response::HealthProof(HealthProof { mac }))
    }

    /// The x25519 key backups are sealed to (for tests that build envelopes by hand).
    pub fn x25519_secret(&self) -> &X25519Secret {
        &self.inner.keys.x25519
    }
}

/// Aborts the task when dropped (also when the owning task is aborted).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Registration answers seen recently (registered or not), each until its expiry. Bounded:
/// expired entries are dropped when it is full, and if it is still full a new answer is simply
/// not cached (the next request then reads the chain again).
struct RegistrationCache {
    positive_ttl: Duration,
    negative_ttl: Duration,
    max: usize,
    until: HashMap<AccountId, (Instant, bool)>,
}

impl RegistrationCache {
    fn new(positive_ttl: Duration, negative_ttl: Duration, max: usize) -> Self {
        Self { positive_ttl, negative_ttl, max, until: HashMap::new() }
    }

    /// The cached answer for `account`, if one is still fresh.
    fn get(&self, account: &AccountId, now: Instant) -> Option<bool> {
        self.until.get(account).filter(|(until, _)| now < *until).map(|(_, registered)| *registered)
    }

    fn insert(&mut self, account: AccountId, registered: bool, now: Instant) {
        let ttl = if registered { self.positive_ttl } else { self.negative_ttl };
        if ttl.is_zero() || self.max == 0 {
            self.until.remove(&account);
            return;
        }
        let Some(until) = now.checked_add(ttl) else {
            return;
        };
        if self.until.len() >= self.max && !self.until.contains_key(&account) {
            self.until.retain(|_, (until, _)| now < *until);
            if self.until.len() >= self.max {
                return;
            }
        }
        self.until.insert(account, (until, registered));
    }
}

fn request_kind(request: &Request) -> &'static str {
    match request {
        Request::StoreBackup(_) => "store-backup",
        Request::RequestNonce(_) => "request-nonce",
        Request::Recover(_) => "recover",
        Request::HealthChallenge(_) => "health",
        Request::OperatorChallenge(_) => "operator-challenge",
        Request::OperatorRelease(_) => "operator-release",
    }
}

/// Submits `confirm_backup` for each stored share once the client's assignment for that epoch
/// names this provider; gives up when a newer assignment replaced it, when this provider is
/// not in it, or after `deadline`.
async fn confirm_loop(
    tx: TxSubmitter,
    mut jobs: mpsc::Receiver<(AccountId, u64)>,
    deadline: Duration,
    confirmed: Arc<AtomicU64>,
) {
    // Waiting for assignments runs concurrently; the submissions themselves are serialised
    // by `TxSubmitter`. The semaphore bounds the waiting tasks.
    let waiting = Arc::new(Semaphore::new(32));
    while let Some((client, epoch)) = jobs.recv().await {
        let Ok(permit) = waiting.clone().acquire_owned().await else {
            break;
        };
        let tx = tx.clone();
        let confirmed = confirmed.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if confirm_one(&tx, client, epoch, deadline).await {
                confirmed.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
}

async fn confirm_one(tx: &TxSubmitter, client: AccountId, epoch: u64, deadline: Duration) -> bool {
    let me = tx.account();
    let started = Instant::now();
    let mut delays = crate::retry::Backoff {
        min: Duration::from_millis(500),
        max: Duration::from_secs(5),
        jitter: false,
        max_retries: None,
    }
    .delays();
    while started.elapsed() < deadline {
        match tx.chain().assignment(&client).await {
            Ok(Some(a)) if a.epoch > epoch => return false,
            Ok(Some(a)) if a.epoch == epoch => {
                if !a.providers.iter().any(|(p, _)| *p == me) {
                    tracing::debug!(
                        ?client,
                        epoch,
                        "not among the recorded providers; no confirmation"
                    );
                    return false;
                }
                match tx.confirm_backup(&client, epoch).await {
                    Ok(_) => {
                        tracing::info!(?client, epoch, "backup confirmed on chain");
                        return true;
                    }
                    Err(ChainError::Dispatch { pallet, error }) => {
                        tracing::warn!(?client, epoch, %pallet, %error, "confirm_backup refused");
                        return false;
                    }
                    Err(error) => {
                        tracing::warn!(?client, epoch, %error, "confirm_backup failed; retrying")
                    }
                }
            }
            Ok(_) => {}
            Err(error) => tracing::debug!(%error, "assignment lookup failed; retrying"),
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(5));
        tokio::time::sleep(delay).await;
    }
    tracing::warn!(?client, epoch, "gave up confirming: no matching assignment in time");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(n: u8) -> AccountId {
        AccountId([n; 32])
    }

    #[test]
    fn registration_cache_entries_expire_after_the_ttl() {
        let start = Instant::now();
        let mut cache = RegistrationCache::new(Duration::from_secs(3), Duration::from_secs(1), 8);
        assert_eq!(cache.get(&acct(1), start), None);
        cache.insert(acct(1), true, start);
        assert_eq!(cache.get(&acct(1), start + Duration::from_millis(2999)), Some(true));
        assert_eq!(cache.get(&acct(1), start + Duration::from_secs(3)), None);
        assert_eq!(cache.get(&acct(2), start), None);
        // A negative answer lives for its own, shorter time.
        cache.insert(acct(2), false, start);
        assert_eq!(cache.get(&acct(2), start + Duration::from_millis(999)), Some(false));
        assert_eq!(cache.get(&acct(2), start + Duration::from_secs(1)), None);
        // A fresh positive answer replaces a negative one.
        cache.insert(acct(2), true, start);
        assert_eq!(cache.get(&acct(2), start), Some(true));
    }

    #[test]
    fn registration_cache_is_bounded_and_makes_room_from_expired_entries() {
        let start = Instant::now();
        let mut cache = RegistrationCache::new(Duration::from_secs(3), Duration::from_secs(3), 2);
        cache.insert(acct(1), true, start);
        cache.insert(acct(2), false, start + Duration::from_secs(1));
        // Full with live entries: the new answer is not cached, the old ones stay.
        cache.insert(acct(3), true, start + Duration::from_secs(2));
        assert_eq!(cache.get(&acct(3), start + Duration::from_secs(2)), None);
        assert_eq!(cache.get(&acct(1), start + Duration::from_secs(2)), Some(true));
        // Account 1 expired: its slot goes to the newcomer.
        let later = start + Duration::from_millis(3500);
        cache.insert(acct(3), true, later);
        assert_eq!(cache.get(&acct(3), later), Some(true));
        assert_eq!(cache.get(&acct(2), later), Some(false));
        assert_eq!(cache.until.len(), 2);
    }

    #[test]
    fn a_zero_ttl_or_size_caches_nothing() {
        let now = Instant::now();
        let mut off = RegistrationCache::new(Duration::ZERO, Duration::ZERO, 8);
        off.insert(acct(1), true, now);
        off.insert(acct(2), false, now);
        assert_eq!((off.get(&acct(1), now), off.get(&acct(2), now)), (None, None));
        let mut empty = RegistrationCache::new(Duration::from_secs(3), Duration::from_secs(3), 0);
        empty.insert(acct(1), true, now);
        assert_eq!(empty.get(&acct(1), now), None);
    }
}
