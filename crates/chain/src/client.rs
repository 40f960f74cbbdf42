//! [`ChainClient`]: the JSON-RPC implementation of [`ChainApi`] over subxt. It keeps one
//! connection and replaces it, on the next call, once the node has gone away, so a restarted
//! chain node is picked up without rebuilding the client.
//!
//! Reads are on the hot path of the provider service (a registration check per recovery
//! request), so they are kept to as few round trips as the semantics allow:
//! - Every read still asks the node for its finalized head (one cheap call that runs no
//!   runtime code), so a read never sees a state older than the finalized head at the moment
//!   of the call. A provider refuses a removed account's recovery on that guarantee: once a
//!   removal is finalized, the next registration check sees it. A head tracked from a
//!   subscription or reused for a few hundred milliseconds would save that call but open a
//!   window in which a finalized removal is not yet seen, so it was not done.
//! - The view of that block (header number, runtime version, metadata) is built once per
//!   finalized block and reused by every read at the same head; building it costs a header
//!   fetch and a `Core_version` runtime call, which used to be paid on every read.
//! - Several storage items of one record are fetched in one `state_queryStorageAt` call
//!   where their keys are known up front.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use codec::Encode;
use futures::Stream;
use subxt::config::PolkadotExtrinsicParamsBuilder;
use subxt::dynamic::Value;
use subxt::tx::Payload;
use subxt::utils::AccountId32;
use subxt::{OnlineClientAtBlock, PolkadotConfig};
use subxt_signer::sr25519::Keypair;
use tokio::sync::Mutex;

use crate::api::ChainApi;
use crate::connection::{hex32, Conn};
use crate::decode::{self, AssignmentInfo, ServerInfo, Status, MAX_API_RESULT_LEN, MAX_VALUE_LEN};
use crate::error::{self, ChainError};
use crate::follow::Follower;
use crate::types::{
    AccountId, Assignment, AttestationPolicy, BlockHash, FinalizedBlock, ServerRecord,
};

/// Blocks a transaction stays valid after the block it was signed at. Mortal, so that a
/// transaction of a TSS account that was removed and registered again (nonce reset) cannot
/// be replayed; 64 blocks leave ample time for inclusion.
pub const TX_MORTALITY_BLOCKS: u64 = 64;
/// Bound on submitting a transaction and seeing it finalized.
pub const TX_TIMEOUT: Duration = Duration::from_secs(120);
/// Most servers read by [`ChainApi::servers`] (the runtime's `MaxServers` is far lower).
const MAX_SERVERS: usize = 4096;

/// A connection to a peerseal chain node. Cheap to clone (shared connection).
#[derive(Clone)]
pub struct ChainClient {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    genesis: [u8; 32],
    conn: Mutex<Conn>,
    /// Held from nonce lookup to submission, so concurrent transactions of one signer get
    /// consecutive nonces (the node's `system_accountNextIndex` counts pooled transactions).
    submit: Mutex<()>,
    /// The view of the last finalized block read at, with the connection it was built on (a
    /// view of a replaced connection is never reused).
    view: Mutex<Option<CachedView>>,
}

/// A block view reusable while the finalized head stays at `hash`.
struct CachedView {
    conn: Conn,
    hash: [u8; 32],
    at: At,
}

impl core::fmt::Debug for ChainClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChainClient").field("url", &self.inner.url).finish_non_exhaustive()
    }
}

type At = OnlineClientAtBlock<PolkadotConfig>;

impl ChainClient {
    /// Connects to the chain node at `url` (`ws://` or `wss://`), bounded in time (15 s).
    pub async fn connect(url: &str) -> Result<Self, ChainError> {
        let conn = Conn::open(url).await?;
        let genesis = conn.genesis();
        Ok(ChainClient {
            inner: Arc::new(Inner {
                url: url.to_string(),
                genesis,
                conn: Mutex::new(conn),
                submit: Mutex::new(()),
                view: Mutex::new(None),
            }),
        })
    }

    /// The endpoint this client talks to.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The chain's genesis hash.
    pub fn genesis_hash(&self) -> [u8; 32] {
        self.inner.genesis
    }

    /// Finalized blocks with their decoded peerseal events, starting at the finalized head
    /// of (about) the moment of the call, one item per block number, in order. To resume
    /// without any race from a known block, use [`ChainClient::finalized_blocks_from`].
    ///
    /// Must be called inside a tokio runtime: a task of that runtime follows the chain from
    /// the call on and stops when the stream is dropped. The stream opens its own connection and survives chain-node restarts: it reconnects
    /// with exponential backoff (100 ms doubling to 5 s) and fetches missed blocks by number,
    /// so no finalized block is skipped or repeated. Connection problems are logged, not
    /// yielded. `Err` items: an event that fails to decode (`Decode`; the stream goes on with
    /// the next block), or the endpoint now serving another chain (`ChainChanged`; the stream
    /// ends after it).
    pub fn finalized_blocks(
        &self,
    ) -> impl Stream<Item = Result<FinalizedBlock, ChainError>> + Send + 'static {
        Follower::new(self.inner.url.clone(), self.inner.genesis, None).into_stream()
    }

    /// Like [`ChainClient::finalized_blocks`], but starting at block `number` (for a node that
    /// resumes from the last block it processed). Blocks up to the finalized head are
    /// delivered first.
    pub fn finalized_blocks_from(
        &self,
        number: u64,
    ) -> impl Stream<Item = Result<FinalizedBlock, ChainError>> + Send + 'static {
        Follower::new(self.inner.url.clone(), self.inner.genesis, Some(number)).into_stream()
    }

    /// Number of the latest finalized block.
    pub async fn finalized_number(&self) -> Result<u64, ChainError> {
        Ok(self.at().await?.block_number())
    }

    /// Providers that confirmed storing their share of `client`'s current assignment.
    pub async fn confirmations(&self, client: &AccountId) -> Result<Vec<AccountId>, ChainError> {
        Ok(self.assignment_info(client).await?.map(|a| a.confirmed_by).unwrap_or_default())
    }

    /// The current connection, reopened if the node went away since the last call.
    async fn conn(&self) -> Result<Conn, ChainError> {
        let mut conn = self.inner.conn.lock().await;
        if !conn.is_alive() {
            tracing::info!(url = %self.inner.url, "chain connection lost; reconnecting");
            let fresh = Conn::open(&self.inner.url).await?;
            if fresh.genesis() != self.inner.genesis {
                return Err(ChainError::ChainChanged {
                    expected: hex32(&self.inner.genesis),
                    found: hex32(&fresh.genesis()),
                });
            }
            *conn = fresh;
        }
        Ok(conn.clone())
    }

    /// A view of the latest finalized block (the head asked for now; see the module doc).
    async fn at(&self) -> Result<At, ChainError> {
        Ok(self.view().await?.1)
    }

    /// The current connection and a view of the latest finalized block on it. The cache lock
    /// is held while a view is built, so the reads that find a new head at once build it once.
    async fn view(&self) -> Result<(Conn, At), ChainError> {
        let conn = self.conn().await?;
        let head = conn.legacy.chain_get_finalized_head().await.map_err(ChainError::rpc)?;
        let mut cache = self.inner.view.lock().await;
        if let Some(view) = cache.as_ref() {
            if view.hash == head.0 && view.conn.same_connection(&conn) {
                return Ok((conn, view.at.clone()));
            }
        }
        let at = conn.api.at_block(head).await.map_err(ChainError::rpc)?;
        *cache = Some(CachedView { conn: conn.clone(), hash: head.0, at: at.clone() });
        Ok((conn, at))
    }

    async fn assignment_info(
        &self,
        client: &AccountId,
    ) -> Result<Option<AssignmentInfo>, ChainError> {
        let at = self.at().await?;
        let bytes = at
            .runtime_apis()
            .call_raw("BackupApi_assignment", Some(&client.encode()))
            .await
            .map_err(ChainError::rpc)?;
        decode::strict(&bytes, MAX_API_RESULT_LEN, "BackupApi_assignment result")
    }

    /// Signs `call` mortal with a pool-aware nonce, submits it, waits for finalization and
    /// checks the dispatch result.
    async fn submit<C: Payload>(&self, signer: &Keypair, call: C) -> Result<BlockHash, ChainError> {
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
                tx.sign_and_submit_then_watch(&call, signer, params).await.map_err(error::submit)?
            };
            let in_block = progress.wait_for_finalized().await.map_err(error::progress)?;
            in_block.wait_for_success().await.map_err(error::events)?;
            Ok(in_block.block_hash().0)
        };
        tokio::time::timeout(TX_TIMEOUT, work).await.map_err(|_| {
            ChainError::Timeout(format!("transaction not finalized within {TX_TIMEOUT:?}"))
        })?
    }
}

/// The storage key of a map entry keyed by one account (hashers from the metadata).
fn account_key(at: &At, pallet: &str, entry: &str, key: &AccountId) -> Result<Vec<u8>, ChainError> {
    // subxt encodes keys by their type info: the raw bytes are what an `AccountId32` encodes to.
    let address = subxt::dynamic::storage::<([u8; 32],), Value>(pallet, entry);
    at.storage()
        .entry(address)
        .map_err(ChainError::rpc)?
        .fetch_key((key.0,))
        .map_err(ChainError::rpc)
}

/// The values at `keys` (`None` where absent) at `at`'s block, in one `state_queryStorageAt`
/// call. The answer must match the request exactly: one change set, for the requested block,
/// answering every requested key once and nothing else (a node omits no key, absent values
/// are `null`), so a short or confused answer is an error, never read as "absent". Value sizes
/// are bounded by the caller's decoding (and the whole answer by jsonrpsee's response limit).
async fn fetch_many(
    conn: &Conn,
    at: &At,
    keys: &[Vec<u8>],
) -> Result<Vec<Option<Vec<u8>>>, ChainError> {
    let block = at.block_hash();
    let sets = conn
        .legacy
        .state_query_storage_at(keys.iter().map(Vec::as_slice), Some(block))
        .await
        .map_err(ChainError::rpc)?;
    let mut values: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
    let mut seen = vec![false; keys.len()];
    match sets.as_slice() {
        [set] if set.block == block => {
            for (key, value) in &set.changes {
                let index = keys
                    .iter()
                    .position(|k| *k == key.0)
                    .filter(|&i| !seen[i])
                    .ok_or_else(|| {
                        ChainError::Decode(
                            "state_queryStorageAt answered a key not asked for (or twice)".into(),
                        )
                    })?;
                seen[index] = true;
                values[index] = value.as_ref().map(|v| v.0.clone());
            }
        }
        _ => {
            return Err(ChainError::Decode(
                "state_queryStorageAt answered for another block, or not one change set".into(),
            ))
        }
    }
    if seen.contains(&false) {
        return Err(ChainError::Decode("state_queryStorageAt left a requested key out".into()));
    }
    Ok(values)
}

/// A plain storage value (its declared default when unset).
async fn fetch_plain(at: &At, pallet: &str, entry: &str) -> Result<Vec<u8>, ChainError> {
    let address = subxt::dynamic::storage::<(), Value>(pallet, entry);
    let value = at.storage().fetch(address, ()).await.map_err(ChainError::rpc)?;
    Ok(value.bytes().to_vec())
}

/// Every `(account key, value bytes)` of a map keyed by one account (`Blake2_128Concat`).
async fn iter_by_account(
    at: &At,
    pallet: &str,
    entry: &str,
) -> Result<Vec<(AccountId, Vec<u8>)>, ChainError> {
    let address = subxt::dynamic::storage::<([u8; 32],), Value>(pallet, entry);
    let mut entries = at.storage().iter(address, ()).await.map_err(ChainError::rpc)?;
    let mut out = Vec::new();
    while let Some(item) = entries.next().await {
        let item = item.map_err(ChainError::rpc)?;
        if out.len() >= MAX_SERVERS {
            return Err(ChainError::Decode(format!(
                "{pallet}.{entry} has more than {MAX_SERVERS} entries"
            )));
        }
        let account = decode::concat_key_account(item.key_bytes())?;
        out.push((account, item.value().bytes().to_vec()));
    }
    Ok(out)
}

#[async_trait::async_trait]
impl ChainApi for ChainClient {
    async fn server_by_tss(&self, tss: &AccountId) -> Result<Option<ServerRecord>, ChainError> {
        let (conn, at) = self.view().await?;
        // Both keyed by the TSS account, so fetched together; `Servers` is keyed by the stash
        // and needs a second call.
        let keys = [
            account_key(&at, "Registry", "StashOf", tss)?,
            account_key(&at, "Registry", "ServerStatusOf", tss)?,
        ];
        let [stash, status] =
            <[Option<Vec<u8>>; 2]>::try_from(fetch_many(&conn, &at, &keys).await?)
                .map_err(|_| ChainError::Decode("state_queryStorageAt answer shape".into()))?;
        let Some(stash) = stash else {
            return Ok(None);
        };
        let stash: AccountId = decode::strict(&stash, MAX_VALUE_LEN, "Registry.StashOf")?;
        let servers_key = [account_key(&at, "Registry", "Servers", &stash)?];
        let Some(Some(info)) = fetch_many(&conn, &at, &servers_key).await?.pop() else {
            return Ok(None);
        };
        let info: ServerInfo = decode::strict(&info, MAX_VALUE_LEN, "Registry.Servers")?;
        let status = status
            .ok_or_else(|| ChainError::Decode("registered server without a status".into()))?;
        let status: Status = decode::strict(&status, MAX_VALUE_LEN, "Registry.ServerStatusOf")?;
        Ok(Some(info.into_record(stash, status.into())))
    }

    async fn servers(&self) -> Result<Vec<ServerRecord>, ChainError> {
        let at = self.at().await?;
        let statuses: HashMap<AccountId, Status> =
            iter_by_account(&at, "Registry", "ServerStatusOf")
                .await?
                .into_iter()
                .map(|(tss, bytes)| {
                    decode::strict(&bytes, MAX_VALUE_LEN, "Registry.ServerStatusOf")
                        .map(|s| (tss, s))
                })
                .collect::<Result<_, _>>()?;
        let mut servers = Vec::new();
        for (stash, bytes) in iter_by_account(&at, "Registry", "Servers").await? {
            let info: ServerInfo = decode::strict(&bytes, MAX_VALUE_LEN, "Registry.Servers")?;
            let status = statuses
                .get(&info.tss_account)
                .copied()
                .ok_or_else(|| ChainError::Decode("registered server without a status".into()))?;
            servers.push(info.into_record(stash, status.into()));
        }
        servers.sort_by_key(|s| s.tss_account);
        Ok(servers)
    }

    async fn attestation_policy(&self) -> Result<AttestationPolicy, ChainError> {
        let at = self.at().await?;
        let measurements = fetch_plain(&at, "Attestation", "AcceptedMeasurements").await?;
        let mode = fetch_plain(&at, "Attestation", "PckPolicyMode").await?;
        let pcks = fetch_plain(&at, "Attestation", "AllowedMockPcks").await?;
        Ok(AttestationPolicy {
            accepted_measurements: decode::strict(
                &measurements,
                MAX_VALUE_LEN,
                "Attestation.AcceptedMeasurements",
            )?,
            pck_mode: decode::strict(&mode, MAX_VALUE_LEN, "Attestation.PckPolicyMode")?,
            allowed_mock_pcks: decode::strict(&pcks, MAX_VALUE_LEN, "Attestation.AllowedMockPcks")?,
        })
    }

    async fn assignment(&self, client: &AccountId) -> Result<Option<Assignment>, ChainError> {
        Ok(self.assignment_info(client).await?.map(Assignment::from))
    }

    async fn candidate_providers(
        &self,
        client: &AccountId,
        epoch: u64,
    ) -> Result<Vec<AccountId>, ChainError> {
        let at = self.at().await?;
        let bytes = at
            .runtime_apis()
            .call_raw("BackupApi_candidate_providers", Some(&(client, epoch).encode()))
            .await
            .map_err(ChainError::rpc)?;
        decode::strict(&bytes, MAX_API_RESULT_LEN, "BackupApi_candidate_providers result")
    }

    async fn record_backup(
        &self,
        signer: &Keypair,
        epoch: u64,
        threshold: u8,
        providers: Vec<(AccountId, u8)>,
        commitment: [u8; 32],
    ) -> Result<BlockHash, ChainError> {
        let providers: Vec<(AccountId32, u8)> =
            providers.into_iter().map(|(p, i)| (AccountId32(p.0), i)).collect();
        let call = subxt::dynamic::transaction(
            "Backup",
            "record_backup",
            (epoch, threshold, providers, commitment),
        );
        self.submit(signer, call).await
    }

    async fn confirm_backup(
        &self,
        signer: &Keypair,
        client: &AccountId,
        epoch: u64,
    ) -> Result<BlockHash, ChainError> {
        let call =
            subxt::dynamic::transaction("Backup", "confirm_backup", (AccountId32(client.0), epoch));
        self.submit(signer, call).await
    }

    async fn report_recovery(
        &self,
        signer: &Keypair,
        provider: &AccountId,
        epoch: u64,
    ) -> Result<BlockHash, ChainError> {
        let call = subxt::dynamic::transaction(
            "Backup",
            "report_recovery",
            (AccountId32(provider.0), epoch),
        );
        self.submit(signer, call).await
    }
}
