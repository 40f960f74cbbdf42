//! The verifying half of the chain client: a light client that believes only what it can check
//! from a pinned [`TrustRoot`].
//!
//! - [`finality`] and [`headers`] (from `peerseal-finality`, shared with the dev node): GRANDPA
//!   justification checks, authority-set-change digests, the verified header chain;
//! - [`proof`] and [`keys`]: storage read proofs against a final header's state root, for keys
//!   computed locally;
//! - [`view`]: the registry, provider load and attestation policy at the last final block,
//!   served from memory;
//! - [`trust`]: the trust root file.
//!
//! [`Verifier`] is the task that follows an endpoint: it fetches headers with their
//! justifications by number, imports them, reloads the view at each new final block, and
//! publishes it. Any check that fails is a typed error with a metric label; the verifier drops
//! the connection, backs off, and retries the same block, so a node on a lying endpoint stays on
//! its last verified view (which expires after [`MAX_VIEW_AGE`]) and resumes once an honest
//! endpoint answers.

pub use peerseal_finality::{finality, headers};
pub mod keys;
pub mod proof;
mod rpc;
pub mod trust;
pub mod view;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sp_core::H256;
use sp_runtime::traits::Header as _;
use subxt::ext::jsonrpsee::core::client::{Subscription, SubscriptionClientT};
use subxt::ext::jsonrpsee::rpc_params;
use subxt::ext::jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use tokio::sync::{broadcast, watch};

use crate::error::ChainError;
use finality::AuthoritySet;
use headers::{FinalHead, HeaderChain};
use trust::TrustRoot;
pub use view::VerifiedView;

/// A view not refreshed by a newly verified block for this long is refused: the endpoint is
/// withholding blocks (or the chain stalled), and decisions about keys must not rest on an old
/// registry or policy.
pub const MAX_VIEW_AGE: Duration = Duration::from_secs(30);
/// Final heads remembered for followers that start at an older block.
const HISTORY: usize = 65_536;
/// Backoff between failed attempts (doubling).
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Without a finalized-head notification for this long, the verifier polls.
const IDLE_POLL: Duration = Duration::from_secs(2);
/// Bound on opening a connection and on each request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest JSON-RPC response accepted (blocks and proofs are far smaller).
const MAX_RESPONSE: u32 = 32 * 1024 * 1024;

/// Where verification results are reported (the daemon's metrics).
pub trait VerifyObserver: Send + Sync + 'static {
    /// A block became final and was verified, taking `cpu` of verification work (justification,
    /// header and proof checks; not waiting on the network).
    fn verified(&self, _head: &FinalHead, _cpu: Duration) {}
    /// A check failed; `label` is the error's stable label.
    fn failure(&self, _label: &'static str) {}
}

struct NoObserver;
impl VerifyObserver for NoObserver {}

/// The last failure, for status and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyFailure {
    /// Stable label (`justification_bad_signature`, `proof_invalid`, `genesis_mismatch`, ...).
    pub label: &'static str,
    /// The error's text.
    pub message: String,
}

struct Shared {
    history: Mutex<VecDeque<FinalHead>>,
    failures: Mutex<(BTreeMap<&'static str, u64>, Option<VerifyFailure>)>,
    live: Mutex<Option<Arc<WsClient>>>,
    observer: Arc<dyn VerifyObserver>,
    /// The trust root's finality mode: also how storage is read (proven, or in the dev-only
    /// endpoint mode on the endpoint's word).
    finality: trust::FinalitySource,
}

/// Handle to a running verifier; cheap to clone. The task stops when the last handle is dropped.
#[derive(Clone)]
pub struct Verifier {
    shared: Arc<Shared>,
    view: watch::Receiver<Option<Arc<VerifiedView>>>,
    heads: broadcast::Sender<FinalHead>,
    _task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Verifier {
    /// Starts verifying `url` from `trust` on the current tokio runtime.
    pub fn start(url: String, trust: TrustRoot, observer: Option<Arc<dyn VerifyObserver>>) -> Self {
        let (view_tx, view) = watch::channel(None);
        let (heads, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            history: Mutex::new(VecDeque::new()),
            failures: Mutex::new((BTreeMap::new(), None)),
            live: Mutex::new(None),
            observer: observer.unwrap_or_else(|| Arc::new(NoObserver)),
            finality: trust.finality,
        });
        #[cfg(feature = "insecure-endpoint-finality")]
        if trust.finality.trusts_endpoint() {
            tracing::warn!(%url, "INSECURE dev mode: blocks are final on the chain endpoint's word (no GRANDPA justification is checked); whoever runs the endpoint decides what this node believes");
        }
        let task = Task { url, trust, shared: shared.clone(), view: view_tx, heads: heads.clone() };
        let handle = tokio::spawn(task.run());
        Verifier { shared, view, heads, _task: Arc::new(AbortOnDrop(handle)) }
    }

    /// The current view, if one was verified within [`MAX_VIEW_AGE`].
    pub fn view(&self) -> Result<Arc<VerifiedView>, ChainError> {
        match self.view.borrow().as_ref() {
            None => Err(ChainError::NotSynced(self.last_failure_text())),
            Some(view) if view.verified_at.elapsed() > MAX_VIEW_AGE => Err(ChainError::Stale {
                number: view.head.number,
                age_secs: view.verified_at.elapsed().as_secs(),
            }),
            Some(view) => Ok(view.clone()),
        }
    }

    /// Waits (bounded) for a fresh view.
    pub async fn wait_view(&self, within: Duration) -> Result<Arc<VerifiedView>, ChainError> {
        let mut rx = self.view.clone();
        let deadline = Instant::now() + within;
        loop {
            match self.view() {
                Ok(view) => return Ok(view),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let waited = tokio::time::timeout(left.min(Duration::from_millis(500)), rx.changed());
            if let Ok(Err(_)) = waited.await {
                return Err(ChainError::NotSynced("verifier stopped".into()));
            }
        }
    }

    /// Waits (bounded) until a view at block `number` or later is verified.
    pub async fn wait_for_number(
        &self,
        number: u32,
        within: Duration,
    ) -> Result<Arc<VerifiedView>, ChainError> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let view = self.wait_view(left).await?;
            if view.head.number >= number {
                return Ok(view);
            }
            if left.is_zero() {
                return Err(ChainError::Timeout(format!("no verified block #{number} in time")));
            }
            let mut rx = self.view.clone();
            let _ = tokio::time::timeout(left.min(Duration::from_millis(500)), rx.changed()).await;
        }
    }

    /// Waits (bounded) until the block with `hash` is verified final, and returns its head. A
    /// block the endpoint claims but that never appears on the verified chain times out.
    pub async fn wait_for_hash(
        &self,
        hash: [u8; 32],
        within: Duration,
    ) -> Result<FinalHead, ChainError> {
        let hash = H256::from(hash);
        let deadline = Instant::now() + within;
        let mut rx = self.view.clone();
        loop {
            let found = self
                .shared
                .history
                .lock()
                .ok()
                .and_then(|h| h.iter().rev().find(|head| head.hash == hash).copied());
            if let Some(head) = found {
                // The view is loaded after the heads are remembered: wait for it too.
                self.wait_for_number(
                    head.number,
                    deadline.saturating_duration_since(Instant::now()),
                )
                .await?;
                return Ok(head);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ChainError::NotApplied(format!(
                    "block 0x{} never appeared on the verified chain",
                    hex::encode(hash)
                )));
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(500)), rx.changed()).await;
        }
    }

    /// Reads `keys` with a read proof at the current view's block.
    pub async fn read(
        &self,
        keys: &[Vec<u8>],
    ) -> Result<(FinalHead, Vec<Option<Vec<u8>>>), ChainError> {
        let view = self.view()?;
        let values = self.read_at(&view.head, keys).await?;
        Ok((view.head, values))
    }

    /// Reads `keys` with a read proof at the final block `head`.
    pub async fn read_at(
        &self,
        head: &FinalHead,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, ChainError> {
        let rpc = self.live_rpc()?;
        let result = view::proven(&rpc, self.shared.finality, head, keys).await;
        if let Err(e) = &result {
            self.shared.record(e);
        }
        result
    }

    fn live_rpc(&self) -> Result<Arc<WsClient>, ChainError> {
        let live = self.shared.live.lock().map_err(|_| ChainError::NotSynced("lock".into()))?;
        live.clone().ok_or_else(|| ChainError::NotSynced("no live connection".into()))
    }

    /// Final heads from `number` on: the remembered ones first, then each new one. Heads older
    /// than the remembered history are skipped (the first item says from where it starts).
    pub fn heads_from(&self, number: u32) -> (Vec<FinalHead>, broadcast::Receiver<FinalHead>) {
        // Subscribe first, so no head falls between the history copy and the receiver.
        let rx = self.heads.subscribe();
        let past = self
            .shared
            .history
            .lock()
            .map(|h| h.iter().filter(|head| head.number >= number).copied().collect())
            .unwrap_or_default();
        (past, rx)
    }

    /// Verification failures so far, by label.
    pub fn failures(&self) -> BTreeMap<&'static str, u64> {
        self.shared.failures.lock().map(|f| f.0.clone()).unwrap_or_default()
    }

    /// The most recent failure.
    pub fn last_failure(&self) -> Option<VerifyFailure> {
        self.shared.failures.lock().ok().and_then(|f| f.1.clone())
    }

    fn last_failure_text(&self) -> String {
        self.last_failure()
            .map(|f| format!("{} ({})", f.message, f.label))
            .unwrap_or_else(|| "no block verified yet".into())
    }
}

impl Shared {
    fn record(&self, error: &ChainError) {
        let label = error.label();
        if let Ok(mut f) = self.failures.lock() {
            *f.0.entry(label).or_default() += 1;
            f.1 = Some(VerifyFailure { label, message: error.to_string() });
        }
        self.observer.failure(label);
    }
}

struct Task {
    url: String,
    trust: TrustRoot,
    shared: Arc<Shared>,
    view: watch::Sender<Option<Arc<VerifiedView>>>,
    heads: broadcast::Sender<FinalHead>,
}

impl Task {
    async fn run(self) {
        let mut chain: Option<HeaderChain> = None;
        let mut backoff = BACKOFF_START;
        loop {
            match self.session(&mut chain).await {
                Ok(()) => {}
                Err(error) => {
                    if error.is_verification() {
                        tracing::error!(url = %self.url, %error, "chain endpoint failed verification; nothing from it is believed");
                        self.shared.record(&error);
                    } else {
                        tracing::warn!(url = %self.url, %error, retry_in = ?backoff, "chain verifier: endpoint unavailable");
                    }
                }
            }
            if let Ok(mut live) = self.shared.live.lock() {
                *live = None;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One connection: bootstrap if needed, then follow until something fails.
    async fn session(&self, chain: &mut Option<HeaderChain>) -> Result<(), ChainError> {
        let rpc = Arc::new(open(&self.url).await?);
        let start = match chain.take() {
            Some(existing) => existing,
            None => bootstrap(&rpc, &self.trust).await?,
        };
        let mut state = start;
        if self.view.borrow().is_none() {
            self.remember(&[state.final_head()]);
        }
        if let Ok(mut live) = self.shared.live.lock() {
            *live = Some(rpc.clone());
        }
        let mut wake: Option<Subscription<serde_json::Value>> = rpc
            .subscribe(
                "chain_subscribeFinalizedHeads",
                rpc_params![],
                "chain_unsubscribeFinalizedHeads",
            )
            .await
            .ok();
        // Justifications a full node announces but may not store for every block.
        let justifications: Option<Subscription<serde_json::Value>> = rpc
            .subscribe(
                "grandpa_subscribeJustifications",
                rpc_params![],
                "grandpa_unsubscribeJustifications",
            )
            .await
            .ok();
        let result = self.follow(&rpc, &mut state, &mut wake, justifications).await;
        *chain = Some(state);
        result
    }

    async fn follow(
        &self,
        rpc: &WsClient,
        state: &mut HeaderChain,
        wake: &mut Option<Subscription<serde_json::Value>>,
        mut announced: Option<Subscription<serde_json::Value>>,
    ) -> Result<(), ChainError> {
        let mut cache = JustificationCache::default();
        let mut missing: Option<u32> = None;
        loop {
            if let Some(sub) = announced.as_mut() {
                cache.drain(sub);
            }
            let claimed = rpc::claimed_finalized_number(rpc).await?;
            let mut newest: Option<FinalHead> = None;
            let mut cpu = Duration::ZERO;
            while state.next_number() <= claimed {
                let number = state.next_number();
                let Some(hash) = rpc::block_hash(rpc, number).await? else { break };
                let block = rpc::block(rpc, hash).await?.ok_or_else(|| {
                    ChainError::Rpc(format!("chain_getBlock: block #{number} unknown"))
                })?;
                let justification = block
                    .justification
                    .or_else(|| cache.take(&finality::header_hash(&block.header)));
                let began = Instant::now();
                let heads = import(state, block.header, justification.as_deref(), &self.trust)
                    .map_err(ChainError::Finality)?;
                cpu += began.elapsed();
                if let Some(last) = heads.last() {
                    newest = Some(*last);
                }
                self.remember(&heads);
                for head in &heads {
                    let _ = self.heads.send(*head);
                }
            }
            // The endpoint says block `claimed` is final but gave no justification for it (nor a
            // descendant): counted once per block, and nothing after the last proven block is
            // believed.
            if state.final_head().number < claimed
                && state.next_number() > claimed
                && missing != Some(claimed)
            {
                missing = Some(claimed);
                let error =
                    ChainError::Finality(headers::HeaderError::JustificationMissing(claimed));
                tracing::warn!(url = %self.url, %error, "waiting for a justification");
                self.shared.record(&error);
            }
            // A first view as soon as the trusted start is all there is (a chain at its
            // checkpoint); otherwise at the newest final block only, so an old checkpoint's
            // state (pruned on a full node) is never needed.
            let first = self.view.borrow().is_none() && state.final_head().number >= claimed;
            if let Some(head) = newest.or_else(|| first.then(|| state.final_head())) {
                let began = Instant::now();
                let previous = self.view.borrow().clone();
                let view = VerifiedView::load(rpc, self.shared.finality, head, previous.as_deref())
                    .await?;
                cpu += began.elapsed();
                self.shared.observer.verified(&head, cpu);
                let _ = self.view.send(Some(Arc::new(view)));
            }
            // Wait for the endpoint to say something new (its word is only a wake-up).
            match wake {
                Some(sub) => match tokio::time::timeout(IDLE_POLL, sub.next()).await {
                    Ok(Some(Ok(_))) | Err(_) => {}
                    Ok(Some(Err(_))) | Ok(None) => *wake = None,
                },
                None => tokio::time::sleep(IDLE_POLL / 4).await,
            }
        }
    }

    fn remember(&self, heads: &[FinalHead]) {
        if let Ok(mut history) = self.shared.history.lock() {
            for head in heads {
                if history.back().is_some_and(|last| last.number >= head.number) {
                    continue;
                }
                if history.len() >= HISTORY {
                    history.pop_front();
                }
                history.push_back(*head);
            }
        }
    }
}

/// Justifications announced by `grandpa_subscribeJustifications`, by target hash, until the
/// header they finalize is imported (bounded; the oldest are dropped first).
#[derive(Default)]
struct JustificationCache {
    by_target: VecDeque<(H256, Vec<u8>)>,
}

impl JustificationCache {
    const CAPACITY: usize = 64;

    fn drain(&mut self, sub: &mut Subscription<serde_json::Value>) {
        use futures::FutureExt;
        // Only what has already arrived; never waits.
        while let Some(Some(Ok(value))) = sub.next().now_or_never() {
            let Some(text) = value.as_str() else { continue };
            let Ok(bytes) = hex::decode(text.trim_start_matches("0x")) else { continue };
            if bytes.len() > finality::MAX_JUSTIFICATION_LEN {
                continue;
            }
            // Only the target is read here; the whole justification is verified on import.
            let Some(target) = finality::justification_target(&bytes) else { continue };
            if self.by_target.len() >= Self::CAPACITY {
                self.by_target.pop_front();
            }
            self.by_target.push_back((target, bytes));
        }
    }

    fn take(&mut self, hash: &H256) -> Option<Vec<u8>> {
        let index = self.by_target.iter().position(|(target, _)| target == hash)?;
        self.by_target.remove(index).map(|(_, bytes)| bytes)
    }
}

async fn open(url: &str) -> Result<WsClient, ChainError> {
    let connect = WsClientBuilder::default()
        .connection_timeout(CONNECT_TIMEOUT)
        .request_timeout(REQUEST_TIMEOUT)
        .max_response_size(MAX_RESPONSE)
        .build(url);
    tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| ChainError::Connect { url: url.into(), reason: "timed out".into() })?
        .map_err(|e| ChainError::Connect { url: url.into(), reason: e.to_string() })
}

/// Offers the next header to the verified chain: final with a justification, or, in the
/// dev-only endpoint-finality mode, final on the endpoint's word when it has none.
fn import(
    state: &mut HeaderChain,
    header: finality::Header,
    justification: Option<&[u8]>,
    trust: &TrustRoot,
) -> Result<Vec<FinalHead>, headers::HeaderError> {
    #[cfg(feature = "insecure-endpoint-finality")]
    if justification.is_none() && trust.finality.trusts_endpoint() {
        return state.import_unverified(header);
    }
    let _ = trust;
    state.import(header, justification)
}

/// The starting point: the trusted checkpoint, or the genesis header with the genesis
/// authority set read from its state with a proof.
async fn bootstrap(rpc: &WsClient, trust: &TrustRoot) -> Result<HeaderChain, ChainError> {
    let genesis = H256::from(trust.genesis_hash);
    let served = rpc::block_hash(rpc, 0).await?;
    if served != Some(genesis) {
        return Err(ChainError::GenesisMismatch {
            expected: hex::encode(genesis),
            found: served.map(hex::encode).unwrap_or_else(|| "none".into()),
        });
    }
    let (number, hash, set) = match &trust.checkpoint {
        Some(c) => (c.number, H256::from(c.hash), Some(c.set.clone())),
        None => (0, genesis, None),
    };
    let header = rpc::header(rpc, hash).await?.ok_or_else(|| {
        ChainError::Rpc(format!("the endpoint does not know trusted block {hash:?}"))
    })?;
    // Chopsticks (dev-only endpoint finality) serves a placeholder as its genesis hash, the one
    // its block #1 names as parent, instead of the genesis header's hash: there the pinned
    // genesis hash is the endpoint's name for block 0 and the header is not hashed.
    let placeholder_genesis = number == 0 && trust.finality.trusts_endpoint();
    if (finality::header_hash(&header) != hash && !placeholder_genesis)
        || *header.number() != number
    {
        return Err(ChainError::GenesisMismatch {
            expected: hex::encode(hash),
            found: hex::encode(finality::header_hash(&header)),
        });
    }
    let head = FinalHead { number, hash, state_root: *header.state_root() };
    let set = match set {
        Some(set) => set,
        None => {
            let key = keys::grandpa_authorities();
            let values = view::proven(rpc, trust.finality, &head, &[key]).await?;
            let bytes = values.into_iter().next().flatten().ok_or_else(|| {
                ChainError::Decode("the genesis state has no GRANDPA authorities".into())
            })?;
            let authorities: Vec<([u8; 32], u64)> = crate::decode::strict(
                &bytes,
                finality::MAX_AUTHORITIES * 40 + 8,
                "Grandpa.Authorities",
            )?;
            AuthoritySet { set_id: 0, authorities }
        }
    };
    HeaderChain::new(head, set, None).map_err(|e| ChainError::Finality(e.into()))
}
