//! [`ChainClient`]: the [`ChainApi`] implementation. Every read comes from the [`Verifier`]:
//! the registry, server status and attestation policy from its in-memory view of the last final
//! block (no round trip on the provider's hot path), and so are registered servers' assignments;
//! other assignments, confirmations and provider load from a read proof at that block. Provider
//! candidates are computed here from proven storage with the runtime's own rendezvous function.
//! Nothing the endpoint says without proof decides where a key goes or who gets one.
//!
//! Transactions still go through subxt on the endpoint (it builds and signs the extrinsic), with
//! two guards: the call bytes subxt encodes from the endpoint's metadata must equal the bytes
//! this crate encodes itself from the runtime's fixed pallet and call indices (so a hostile
//! metadata cannot make the node sign another call), and a `record_backup` counts as done only
//! once a verified block's state shows the recorded epoch.

use std::sync::Arc;
use std::time::Duration;

use codec::Encode;
use futures::Stream;
use subxt::config::PolkadotExtrinsicParamsBuilder;
use subxt::tx::Payload;
use subxt::utils::AccountId32;
use subxt::PolkadotConfig;
use subxt_signer::sr25519::Keypair;
use tokio::sync::Mutex;

use crate::api::ChainApi;
use crate::connection::{hex32, Conn};
use crate::decode::{self, MAX_VALUE_LEN};
use crate::error::{self, ChainError};
use crate::types::{
    AccountId, Assignment, AttestationPolicy, BlockHash, FinalizedBlock, RecordedRecovery,
    RecoveryOperatorSet, SealedRecovery, ServerRecord, ServerState,
};
use crate::verify::headers::FinalHead;
use crate::verify::trust::TrustRoot;
use crate::verify::{keys, VerifiedView, Verifier, VerifyObserver};

/// Blocks a transaction stays valid after the block it was signed at. Mortal, so that a
/// transaction of a TSS account that was removed and registered again (nonce reset) cannot
/// be replayed; 64 blocks leave ample time for inclusion.
pub const TX_MORTALITY_BLOCKS: u64 = 64;
/// Bound on submitting a transaction and seeing it finalized (and verified).
pub const TX_TIMEOUT: Duration = Duration::from_secs(120);
/// Bound on the first verified view when connecting.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// pallet-backup's index in the runtime (`#[runtime::pallet_index(12)]`) and its call indices.
const BACKUP_PALLET: u8 = 12;
const RECORD_BACKUP: u8 = 0;
const CONFIRM_BACKUP: u8 = 1;
const REPORT_RECOVERY: u8 = 2;
const REPORT_RECOVERED_BY_OPERATORS: u8 = 4;

/// Bound on a stored operator set: revision, threshold, and up to 255 operators of 64 bytes.
const MAX_OPERATOR_SET_LEN: usize = 4 + 1 + 5 + 255 * 64;
/// Bound on a client's recorded recovery shares: epoch, revision, up to 255 shares of at most
/// 4 KiB each (the runtime allows 512 bytes; this only stops a hostile endpoint early).
const MAX_RECORDED_RECOVERY_LEN: usize = 8 + 4 + 5 + 255 * (5 + 4096);

/// A verified connection to a peerseal chain node. Cheap to clone (shared state).
#[derive(Clone)]
pub struct ChainClient {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    trust: TrustRoot,
    conn: Mutex<Conn>,
    /// Held from nonce lookup to submission, so concurrent transactions of one signer get
    /// consecutive nonces (the node's `system_accountNextIndex` counts pooled transactions).
    submit: Mutex<()>,
    verifier: Verifier,
}

impl core::fmt::Debug for ChainClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChainClient").field("url", &self.inner.url).finish_non_exhaustive()
    }
}

impl ChainClient {
    /// Connects to the chain node at `url` and verifies it from `trust`: fails unless the
    /// endpoint serves the trusted chain and a first view verifies within [`SYNC_TIMEOUT`].
    pub async fn connect(url: &str, trust: TrustRoot) -> Result<Self, ChainError> {
        Self::connect_observed(url, trust, None).await
    }

    /// [`ChainClient::connect`], reporting verification results to `observer`.
    pub async fn connect_observed(
        url: &str,
        trust: TrustRoot,
        observer: Option<Arc<dyn VerifyObserver>>,
    ) -> Result<Self, ChainError> {
        let conn = Conn::open(url).await?;
        if conn.genesis() != trust.genesis_hash {
            return Err(ChainError::GenesisMismatch {
                expected: hex32(&trust.genesis_hash),
                found: hex32(&conn.genesis()),
            });
        }
        // What the endpoint claims is final now: the client is connected once it has verified
        // that far (a view of an older block, such as the trusted genesis, is not enough).
        let claimed = conn.legacy.chain_get_finalized_head().await.map_err(ChainError::rpc)?;
        let claimed = conn
            .legacy
            .chain_get_header(Some(claimed))
            .await
            .map_err(ChainError::rpc)?
            .map(|h| h.number)
            .unwrap_or(0);
        let verifier = Verifier::start(url.to_string(), trust.clone(), observer);
        let claimed = u32::try_from(claimed).unwrap_or(u32::MAX);
        verifier.wait_for_number(claimed, SYNC_TIMEOUT).await.map_err(|e| match e {
            ChainError::Timeout(_) => ChainError::NotSynced(
                verifier.last_failure().map(|f| f.message).unwrap_or_else(|| e.to_string()),
            ),
            other => other,
        })?;
        Ok(ChainClient {
            inner: Arc::new(Inner {
                url: url.to_string(),
                trust,
                conn: Mutex::new(conn),
                submit: Mutex::new(()),
                verifier,
            }),
        })
    }

    /// The endpoint this client talks to.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The trusted genesis hash.
    pub fn genesis_hash(&self) -> [u8; 32] {
        self.inner.trust.genesis_hash
    }

    /// The verifier behind this client (view, failures, heads).
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The current verified view (registry, policy, provider load at the last final block).
    pub fn view(&self) -> Result<Arc<VerifiedView>, ChainError> {
        self.inner.verifier.view()
    }

    /// Verified final blocks with their peerseal events, from the last verified block on.
    /// Events come from `System.Events` read with a proof at each block and are decoded with
    /// the endpoint's metadata; they are for audit and display (the daemon decides from proven
    /// state, not from events). See [`ChainClient::finalized_blocks_from`].
    pub fn finalized_blocks(
        &self,
    ) -> impl Stream<Item = Result<FinalizedBlock, ChainError>> + Send + 'static {
        let from = self.view().map(|v| u64::from(v.head.number)).unwrap_or(0);
        self.finalized_blocks_from(from)
    }

    /// Verified final blocks from `number` on, each once, in order (blocks older than the
    /// verifier's memory are skipped). Must be called inside a tokio runtime.
    pub fn finalized_blocks_from(
        &self,
        number: u64,
    ) -> impl Stream<Item = Result<FinalizedBlock, ChainError>> + Send + 'static {
        let start = u32::try_from(number).unwrap_or(u32::MAX);
        futures::stream::unfold(Heads::from(self, start), |mut state| async move {
            let head = state.next_head().await?;
            let item = state.client.block_events(head).await;
            Some((item, state))
        })
    }

    /// Each verified final block from now on (header only; no events are read). Must be called
    /// inside a tokio runtime.
    pub fn verified_heads(&self) -> impl Stream<Item = FinalHead> + Send + 'static {
        let from = self.view().map(|v| v.head.number.saturating_add(1)).unwrap_or(0);
        futures::stream::unfold(Heads::from(self, from), |mut state| async move {
            let head = state.next_head().await?;
            Some((head, state))
        })
    }

    /// Number of the latest verified final block.
    pub async fn finalized_number(&self) -> Result<u64, ChainError> {
        Ok(u64::from(self.view()?.head.number))
    }

    /// Waits (bounded) until a block at `number` or later is verified.
    pub async fn wait_verified(&self, number: u64, within: Duration) -> Result<(), ChainError> {
        let number = u32::try_from(number).unwrap_or(u32::MAX);
        self.inner.verifier.wait_for_number(number, within).await.map(|_| ())
    }

    /// Providers that confirmed storing their share of `client`'s current assignment.
    pub async fn confirmations(&self, client: &AccountId) -> Result<Vec<AccountId>, ChainError> {
        let Some((head, assignment)) = self.proven_assignment(client).await? else {
            return Ok(Vec::new());
        };
        let keys: Vec<Vec<u8>> = assignment
            .providers
            .iter()
            .map(|(p, _)| keys::by_accounts("Backup", "Confirmations", client, p))
            .collect();
        let values = self.inner.verifier.read_at(&head, &keys).await?;
        let mut confirmed = Vec::new();
        for ((provider, _), value) in assignment.providers.iter().zip(values) {
            if let Some(bytes) = value {
                let epoch: u64 = decode::strict(&bytes, 8, "Backup.Confirmations")?;
                if epoch == assignment.epoch {
                    confirmed.push(*provider);
                }
            }
        }
        Ok(confirmed)
    }

    /// The attestation nonce `stash` holds, proven at the last verified block, with that
    /// block's number (so an expired one can be told apart). Absence is proven too.
    pub async fn pending_nonce(
        &self,
        stash: &AccountId,
    ) -> Result<Option<(u32, crate::types::PendingNonce)>, ChainError> {
        let key = keys::by_account("Attestation", "PendingNonces", stash);
        let (head, values) = self.inner.verifier.read(std::slice::from_ref(&key)).await?;
        values
            .into_iter()
            .next()
            .flatten()
            .map(|bytes| decode::strict(&bytes, 68, "Attestation.PendingNonces"))
            .transpose()
            .map(|nonce| nonce.map(|n| (head.number, n)))
    }

    /// `client`'s assignment proven at the current view's block.
    async fn proven_assignment(
        &self,
        client: &AccountId,
    ) -> Result<Option<(FinalHead, Assignment)>, ChainError> {
        let key = keys::by_account("Backup", "Assignments", client);
        let (head, values) = self.inner.verifier.read(std::slice::from_ref(&key)).await?;
        match values.into_iter().next().flatten() {
            None => Ok(None),
            Some(bytes) => {
                let stored: decode::StoredAssignment =
                    decode::strict(&bytes, MAX_VALUE_LEN, "Backup.Assignments")?;
                Ok(Some((head, stored.into())))
            }
        }
    }

    /// The peerseal events of verified block `head`.
    async fn block_events(&self, head: FinalHead) -> Result<FinalizedBlock, ChainError> {
        let key = keys::system_events();
        let values = self.inner.verifier.read_at(&head, std::slice::from_ref(&key)).await?;
        let bytes = values.into_iter().next().flatten().unwrap_or_default();
        if bytes.len() > decode::MAX_EVENT_LEN * 16 {
            return Err(ChainError::Decode("System.Events exceeds its bound".into()));
        }
        let conn = self.conn().await?;
        let at =
            conn.api.at_block(subxt::utils::H256(head.hash.0)).await.map_err(ChainError::rpc)?;
        let events = at.events().from_bytes(bytes);
        let mut decoded = Vec::new();
        for event in events.iter() {
            let event = event
                .map_err(|e| ChainError::Decode(format!("events of block {}: {e}", head.number)))?;
            if let Some(event) =
                decode::event(event.pallet_name(), event.event_name(), event.field_bytes())?
            {
                decoded.push(event);
            }
        }
        Ok(FinalizedBlock { number: u64::from(head.number), hash: head.hash.0, events: decoded })
    }

    /// The current transaction connection, reopened if the node went away since the last call.
    async fn conn(&self) -> Result<Conn, ChainError> {
        let mut conn = self.inner.conn.lock().await;
        if !conn.is_alive() {
            tracing::info!(url = %self.inner.url, "chain connection lost; reconnecting");
            let fresh = Conn::open(&self.inner.url).await?;
            if fresh.genesis() != self.inner.trust.genesis_hash {
                return Err(ChainError::GenesisMismatch {
                    expected: hex32(&self.inner.trust.genesis_hash),
                    found: hex32(&fresh.genesis()),
                });
            }
            *conn = fresh;
        }
        Ok(conn.clone())
    }

    /// Signs `call` mortal with a pool-aware nonce, submits it, waits for finalization and
    /// checks the dispatch result. `expected` is the call's SCALE encoding by the runtime's
    /// fixed indices; the endpoint's metadata must encode `call` to exactly those bytes.
    async fn submit<C: Payload>(
        &self,
        signer: &Keypair,
        call: C,
        expected: Vec<u8>,
    ) -> Result<BlockHash, ChainError> {
        let work = async {
            let conn = self.conn().await?;
            let progress = {
                let _serial = self.inner.submit.lock().await;
                let account = AccountId32(signer.public_key().0);
                let nonce = conn
                    .legacy
                    .system_account_next_index(&account)
                    .await
                    .map_err(ChainError::rpc)?;
                let params = PolkadotExtrinsicParamsBuilder::<PolkadotConfig>::new()
                    .mortal(TX_MORTALITY_BLOCKS)
                    .nonce(nonce)
                    .build();
                let mut tx = conn.api.tx().await.map_err(ChainError::rpc)?;
                let encoded = tx.call_data(&call).map_err(ChainError::rpc)?;
                if encoded != expected {
                    return Err(ChainError::MetadataMismatch(format!(
                        "{}.{} encodes as 0x{}, expected 0x{}",
                        call.pallet_name(),
                        call.call_name(),
                        hex::encode(&encoded),
                        hex::encode(&expected)
                    )));
                }
                tx.sign_and_submit_then_watch(&call, signer, params).await.map_err(error::submit)?
            };
            let in_block = progress.wait_for_finalized().await.map_err(error::progress)?;
            in_block.wait_for_success().await.map_err(error::events)?;
            // Believed only once the block is on the verified chain (and reads see it).
            let hash = in_block.block_hash().0;
            self.inner.verifier.wait_for_hash(hash, TX_TIMEOUT).await?;
            Ok(hash)
        };
        tokio::time::timeout(TX_TIMEOUT, work).await.map_err(|_| {
            ChainError::Timeout(format!("transaction not finalized within {TX_TIMEOUT:?}"))
        })?
    }

    /// The recovery operator set and, for `client`, its recorded recovery shares, from one read
    /// proof at the last verified block (absence proven too).
    pub async fn recovery_seal(
        &self,
        client: Option<&AccountId>,
    ) -> Result<(Option<RecoveryOperatorSet>, Option<RecordedRecovery>), ChainError> {
        let mut keys = vec![keys::value("Backup", "RecoveryOperators")];
        keys.extend(client.map(|c| keys::by_account("Backup", "RecoveryShares", c)));
        let (_, values) = self.inner.verifier.read(&keys).await?;
        let mut values = values.into_iter();
        let set = values
            .next()
            .flatten()
            .map(|b| decode::strict(&b, MAX_OPERATOR_SET_LEN, "Backup.RecoveryOperators"))
            .transpose()?;
        let recorded = values
            .next()
            .flatten()
            .map(|b| decode::strict(&b, MAX_RECORDED_RECOVERY_LEN, "Backup.RecoveryShares"))
            .transpose()?;
        Ok((set, recorded))
    }
}

/// Cursor of a verified-blocks stream.
struct Heads {
    client: ChainClient,
    next: u32,
    queued: std::collections::VecDeque<FinalHead>,
    rx: tokio::sync::broadcast::Receiver<FinalHead>,
}

impl Heads {
    /// A cursor at block `next`: the verifier's remembered heads from there, then new ones.
    fn from(client: &ChainClient, next: u32) -> Self {
        let (past, rx) = client.inner.verifier.heads_from(next);
        Heads { client: client.clone(), next, queued: past.into(), rx }
    }

    async fn next_head(&mut self) -> Option<FinalHead> {
        loop {
            while let Some(head) = self.queued.pop_front() {
                if head.number >= self.next {
                    self.next = head.number.saturating_add(1);
                    // The verifier remembers a head just before it loads that block's view:
                    // hand the head out once reads see that block too, so a follower that
                    // reacts to it reads its state, not the block before (bounded; a view that
                    // does not come is the next read's error).
                    let _ = self
                        .client
                        .inner
                        .verifier
                        .wait_for_number(head.number, Duration::from_secs(5))
                        .await;
                    return Some(head);
                }
            }
            match self.rx.recv().await {
                Ok(head) => self.queued.push_back(head),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    // Refill from the verifier's memory instead of skipping blocks.
                    *self = Heads::from(&self.client, self.next);
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// The call bytes the runtime expects: pallet index, call index, SCALE arguments.
fn call_bytes(call: u8, args: impl Encode) -> Vec<u8> {
    let mut bytes = vec![BACKUP_PALLET, call];
    args.encode_to(&mut bytes);
    bytes
}

/// The providers `client` may choose at `epoch`, best first: active servers other than
/// `client`, without providers that are full unless they already serve `client` — the runtime's
/// `BackupApi::candidate_providers`, computed from proven storage.
fn candidates(
    view: &VerifiedView,
    client: &AccountId,
    load: &std::collections::HashMap<AccountId, (bool, u32)>,
    epoch: u64,
) -> Vec<AccountId> {
    let max = peerseal_primitives::MAX_CLIENTS_PER_PROVIDER;
    let eligible: Vec<AccountId> = view
        .servers
        .iter()
        .filter(|s| s.status == ServerState::Active && s.tss_account != *client)
        .filter(|s| {
            let (serving, count) = load.get(&s.tss_account).copied().unwrap_or((false, 0));
            serving || count < max
        })
        .map(|s| s.tss_account)
        .collect();
    peerseal_primitives::rendezvous::order(client, &eligible, epoch)
}

#[async_trait::async_trait]
impl ChainApi for ChainClient {
    async fn server_by_tss(&self, tss: &AccountId) -> Result<Option<ServerRecord>, ChainError> {
        Ok(self.view()?.server(tss).cloned())
    }

    async fn servers(&self) -> Result<Vec<ServerRecord>, ChainError> {
        Ok(self.view()?.servers.clone())
    }

    async fn attestation_policy(&self) -> Result<AttestationPolicy, ChainError> {
        Ok(self.view()?.policy.clone())
    }

    async fn approved_move(
        &self,
        tss: &AccountId,
    ) -> Result<Option<peerseal_attestation::PlatformId>, ChainError> {
        // Proven at the last verified block, like an assignment: absence is proven too, so an
        // endpoint can neither invent an approval nor hide a revocation.
        let key = keys::approved_move(tss);
        let (_, values) = self.inner.verifier.read(std::slice::from_ref(&key)).await?;
        values
            .into_iter()
            .next()
            .flatten()
            .map(|bytes| decode::strict(&bytes, 16, "Registry.ApprovedMoves"))
            .transpose()
    }

    async fn recovery_operators(&self) -> Result<Option<RecoveryOperatorSet>, ChainError> {
        // Proven, absence included: an endpoint can neither invent operators (to receive the
        // key's shares) nor hide them (so that backups fail to record).
        Ok(self.recovery_seal(None).await?.0)
    }

    async fn recorded_recovery(
        &self,
        client: &AccountId,
    ) -> Result<Option<RecordedRecovery>, ChainError> {
        Ok(self.recovery_seal(Some(client)).await?.1)
    }

    async fn assignment(&self, client: &AccountId) -> Result<Option<Assignment>, ChainError> {
        // Registered servers' assignments are in the verified view (proven at its block, like
        // the read below); anything else is read with its own proof.
        if let Some(found) = self.view()?.assignment(client) {
            return Ok(found.cloned());
        }
        Ok(self.proven_assignment(client).await?.map(|(_, a)| a))
    }

    async fn candidate_providers(
        &self,
        client: &AccountId,
        epoch: u64,
    ) -> Result<Vec<AccountId>, ChainError> {
        let view = self.view()?;
        // Each active server's load, and whether it already serves `client` (then it stays
        // eligible when full), proven at the view's block.
        let active: Vec<&ServerRecord> =
            view.servers.iter().filter(|s| s.status == ServerState::Active).collect();
        let mut keys = Vec::with_capacity(active.len() * 2);
        for s in &active {
            keys.push(keys::by_accounts("Backup", "ClientsOf", &s.tss_account, client));
            keys.push(keys::by_account("Backup", "ClientCount", &s.tss_account));
        }
        let mut load = std::collections::HashMap::with_capacity(active.len());
        if !keys.is_empty() {
            let values = self.inner.verifier.read_at(&view.head, &keys).await?;
            for (s, pair) in active.iter().zip(values.chunks_exact(2)) {
                let count: u32 = match &pair[1] {
                    Some(bytes) => decode::strict(bytes, 4, "Backup.ClientCount")?,
                    None => 0,
                };
                load.insert(s.tss_account, (pair[0].is_some(), count));
            }
        }
        Ok(candidates(&view, client, &load, epoch))
    }

    async fn record_backup(
        &self,
        signer: &Keypair,
        epoch: u64,
        threshold: u8,
        providers: Vec<(AccountId, u8)>,
        commitment: [u8; 32],
        recovery: Option<&SealedRecovery>,
    ) -> Result<BlockHash, ChainError> {
        let expected =
            call_bytes(RECORD_BACKUP, (epoch, threshold, &providers, commitment, recovery));
        let subxt_providers: Vec<(AccountId32, u8)> =
            providers.iter().map(|(p, i)| (AccountId32(p.0), *i)).collect();
        // A tuple encodes into the pallet's struct field by field, in order.
        let subxt_recovery = recovery.map(|r| (r.operator_set, r.shares.clone()));
        let call = subxt::dynamic::transaction(
            "Backup",
            "record_backup",
            (epoch, threshold, subxt_providers, commitment, subxt_recovery),
        );
        let block = self.submit(signer, call, expected).await?;
        // Done only when verified state shows it.
        let me = AccountId(signer.public_key().0);
        let deadline = tokio::time::Instant::now() + TX_TIMEOUT;
        loop {
            if let Some((_, a)) = self.proven_assignment(&me).await? {
                if a.epoch == epoch && a.commitment == commitment {
                    return Ok(block);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ChainError::NotApplied(format!(
                    "record_backup of epoch {epoch} reported finalized, but no verified block shows it"
                )));
            }
            let next = self.view()?.head.number.saturating_add(1);
            let _ = self.inner.verifier.wait_for_number(next, Duration::from_secs(5)).await;
        }
    }

    async fn confirm_backup(
        &self,
        signer: &Keypair,
        client: &AccountId,
        epoch: u64,
    ) -> Result<BlockHash, ChainError> {
        let expected = call_bytes(CONFIRM_BACKUP, (client, epoch));
        let call =
            subxt::dynamic::transaction("Backup", "confirm_backup", (AccountId32(client.0), epoch));
        self.submit(signer, call, expected).await
    }

    async fn report_recovery(
        &self,
        signer: &Keypair,
        provider: &AccountId,
        epoch: u64,
    ) -> Result<BlockHash, ChainError> {
        let expected = call_bytes(REPORT_RECOVERY, (provider, epoch));
        let call = subxt::dynamic::transaction(
            "Backup",
            "report_recovery",
            (AccountId32(provider.0), epoch),
        );
        self.submit(signer, call, expected).await
    }

    async fn report_recovered_by_operators(
        &self,
        signer: &Keypair,
        epoch: u64,
    ) -> Result<BlockHash, ChainError> {
        let expected = call_bytes(REPORT_RECOVERED_BY_OPERATORS, epoch);
        let call = subxt::dynamic::transaction("Backup", "report_recovered_by_operators", (epoch,));
        self.submit(signer, call, expected).await
    }
}
