//! [`ChainClient`]: the JSON-RPC implementation of [`ChainApi`] over subxt. It keeps one
//! connection and replaces it, on the next call, once the node has gone away, so a restarted
//! chain node is picked up without rebuilding the client.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use codec::Encode;
use futures::Stream;
use subxt::config::PolkadotExtrinsicParamsBuilder;
use subxt::dynamic::Value;
use subxt::error::StorageError;
use subxt::tx::Payload;
use subxt::utils::AccountId32;
use subxt::{OnlineClientAtBlock, PolkadotConfig};
use subxt_signer::sr25519::Keypair;
use tokio::sync::Mutex;

use crate::api::ChainApi;
use crate::connection::{hex32, Api, Conn};
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

    async fn api(&self) -> Result<Api, ChainError> {
        Ok(self.conn().await?.api)
    }

    /// A view of the latest finalized block.
    async fn at(&self) -> Result<At, ChainError> {
        self.api().await?.at_current_block().await.map_err(ChainError::rpc)
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

/// The value of a map entry keyed by one account, `None` when absent.
async fn fetch_by_account(
    at: &At,
    pallet: &str,
    entry: &str,
    key: &AccountId,
) -> Result<Option<Vec<u8>>, ChainError> {
    let storage = at.storage();
    let address = subxt::dynamic::storage::<(AccountId,), Value>(pallet, entry);
    let key = storage
        .entry(address)
        .map_err(ChainError::rpc)?
        .fetch_key((*key,))
        .map_err(ChainError::rpc)?;
    match storage.fetch_raw(key).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(StorageError::NoValueFound) => Ok(None),
        Err(other) => Err(ChainError::rpc(other)),
    }
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
    let address = subxt::dynamic::storage::<(AccountId,), Value>(pallet, entry);
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
        let at = self.at().await?;
        let Some(stash) = fetch_by_account(&at, "Registry", "StashOf", tss).await? else {
            return Ok(None);
        };
        let stash: AccountId = decode::strict(&stash, MAX_VALUE_LEN, "Registry.StashOf")?;
        let Some(info) = fetch_by_account(&at, "Registry", "Servers", &stash).await? else {
            return Ok(None);
        };
        let info: ServerInfo = decode::strict(&info, MAX_VALUE_LEN, "Registry.Servers")?;
        let status = fetch_by_account(&at, "Registry", "ServerStatusOf", tss)
            .await?
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
            providers.into_iter().map(|(p, i)| (AccountId32(p), i)).collect();
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
            subxt::dynamic::transaction("Backup", "confirm_backup", (AccountId32(*client), epoch));
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
            (AccountId32(*provider), epoch),
        );
        self.submit(signer, call).await
    }
}
