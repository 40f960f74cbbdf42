//! The standard Substrate JSON-RPC surface, served over WebSocket and HTTP on one port.
//!
//! Method names, aliases, parameter and result shapes follow Substrate's `sc-rpc` so that
//! unmodified clients (subxt, polkadot.js, py-substrate-interface) work. Errors use Substrate's
//! codes (author: 1010 invalid, 1011 unknown validity, 1013 already imported, 1016 pool full;
//! state/chain: 4003 for calls that fail). Request sizes, connections and subscriptions are
//! bounded (see [`RpcConfig`]).
//!
//! For light clients that trust only GRANDPA: `chain_getBlock` carries each block's
//! justification, `grandpa_proveFinality` and `grandpa_subscribeJustifications` serve them, and
//! `state_getReadProof` proves storage against a block's state root.

use std::net::SocketAddr;
use std::sync::Arc;

use codec::{Decode, Encode};
use jsonrpsee::core::{async_trait, RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::server::{PendingSubscriptionSink, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{RpcModule, SubscriptionMessage};
use serde::{Deserialize, Serialize};
use sp_core::Bytes;
use sp_state_machine::Backend as _;
use sp_storage::{StorageChangeSet, StorageData, StorageKey};

use crate::chain::{Chain, ChainError, SubmitError};
use crate::pool::TxStatus;
use crate::types::{Block, Hash, Header};

/// Substrate's "runtime call failed" / "client error" code family.
const STATE_ERROR: i32 = 4003;
/// Most keys one `state_getKeysPaged` call returns (Substrate's limit).
pub const MAX_KEYS_PAGE: u32 = 1000;
/// Most keys one storage query or subscription may name.
pub const MAX_STORAGE_KEYS: usize = 1000;

fn chain_error(err: ChainError) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(STATE_ERROR, err.to_string(), None::<()>)
}

fn submit_error(err: SubmitError) -> ErrorObjectOwned {
    let (message, data) = match &err {
        SubmitError::Invalid(reason) => ("Invalid Transaction", Some(reason.clone())),
        SubmitError::BadFormat(reason) => ("Invalid Transaction", Some(reason.clone())),
        SubmitError::Unknown(reason) => ("Unknown Transaction Validity", Some(reason.clone())),
        SubmitError::AlreadyImported => ("Transaction Already Imported", None),
        SubmitError::PoolFull => ("Transaction pool is full", None),
    };
    ErrorObjectOwned::owned(err.code(), message, data)
}

fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        jsonrpsee::types::error::INVALID_PARAMS_CODE,
        message.into(),
        None::<()>,
    )
}

/// A block number as clients send it: a JSON number or a hex string.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum NumberOrHex {
    Number(u64),
    Hex(String),
}

impl NumberOrHex {
    fn to_u32(&self) -> Option<u32> {
        match self {
            NumberOrHex::Number(n) => u32::try_from(*n).ok(),
            NumberOrHex::Hex(s) => u32::from_str_radix(s.strip_prefix("0x").unwrap_or(s), 16).ok(),
        }
    }
}

/// One value or a list of them (`chain_getBlockHash` accepts both).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ListOrValue<T> {
    List(Vec<T>),
    Value(T),
}

/// `system_health` result.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub peers: u32,
    pub is_syncing: bool,
    pub should_have_peers: bool,
}

/// `system_syncState` result.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    pub starting_block: u32,
    pub current_block: u32,
    pub highest_block: u32,
}

/// A block with its justifications, as `chain_getBlock` returns it: polkadot-sdk's own type, so
/// the JSON is Substrate's exactly (`{"block": .., "justifications": [[[70,82,78,75], [..]]]}`,
/// engine id and SCALE justification both as arrays of byte values, or `null`).
pub type SignedBlock = sp_runtime::generic::SignedBlock<Block>;

/// `state_getReadProof` result (Substrate's `ReadProof`): the block and the trie nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadProof {
    /// The block whose state the proof is of.
    pub at: Hash,
    /// The trie nodes, each as `0x` hex.
    pub proof: Vec<Bytes>,
}

/// Most keys one `state_getReadProof` call may name.
pub const MAX_PROOF_KEYS: usize = 1024;

#[rpc(server)]
pub trait SystemApi {
    #[method(name = "system_name")]
    fn system_name(&self) -> RpcResult<String>;
    #[method(name = "system_version")]
    fn system_version(&self) -> RpcResult<String>;
    #[method(name = "system_chain")]
    fn system_chain(&self) -> RpcResult<String>;
    #[method(name = "system_chainType")]
    fn system_chain_type(&self) -> RpcResult<String>;
    #[method(name = "system_properties")]
    fn system_properties(&self) -> RpcResult<serde_json::Map<String, serde_json::Value>>;
    #[method(name = "system_health")]
    fn system_health(&self) -> RpcResult<Health>;
    #[method(name = "system_syncState")]
    fn system_sync_state(&self) -> RpcResult<SyncState>;
    #[method(name = "system_peers")]
    fn system_peers(&self) -> RpcResult<Vec<serde_json::Value>>;
    #[method(name = "system_accountNextIndex", aliases = ["account_nextIndex"])]
    fn system_account_next_index(&self, account: String) -> RpcResult<u32>;
}

#[rpc(server)]
pub trait ChainApi {
    #[method(name = "chain_getBlockHash", aliases = ["chain_getHead"])]
    fn block_hash(
        &self,
        number: Option<ListOrValue<NumberOrHex>>,
    ) -> RpcResult<ListOrValue<Option<Hash>>>;
    #[method(name = "chain_getHeader")]
    fn header(&self, hash: Option<Hash>) -> RpcResult<Option<Header>>;
    #[method(name = "chain_getBlock")]
    fn block(&self, hash: Option<Hash>) -> RpcResult<Option<SignedBlock>>;
    #[method(name = "chain_getFinalizedHead", aliases = ["chain_getFinalisedHead"])]
    fn finalized_head(&self) -> RpcResult<Hash>;
    #[subscription(
        name = "chain_subscribeNewHeads" => "chain_newHead",
        aliases = ["subscribe_newHead", "chain_subscribeNewHead"],
        unsubscribe = "chain_unsubscribeNewHeads",
        unsubscribe_aliases = ["unsubscribe_newHead", "chain_unsubscribeNewHead"],
        item = Header
    )]
    async fn subscribe_new_heads(&self) -> SubscriptionResult;
    #[subscription(
        name = "chain_subscribeFinalizedHeads" => "chain_finalizedHead",
        aliases = ["chain_subscribeFinalisedHeads"],
        unsubscribe = "chain_unsubscribeFinalizedHeads",
        unsubscribe_aliases = ["chain_unsubscribeFinalisedHeads"],
        item = Header
    )]
    async fn subscribe_finalized_heads(&self) -> SubscriptionResult;
    #[subscription(
        name = "chain_subscribeAllHeads" => "chain_allHead",
        unsubscribe = "chain_unsubscribeAllHeads",
        item = Header
    )]
    async fn subscribe_all_heads(&self) -> SubscriptionResult;
}

#[rpc(server)]
pub trait StateApi {
    #[method(name = "state_call", aliases = ["state_callAt"])]
    fn call(&self, method: String, data: Bytes, at: Option<Hash>) -> RpcResult<Bytes>;
    #[method(name = "state_getStorage", aliases = ["state_getStorageAt"])]
    fn storage(&self, key: StorageKey, at: Option<Hash>) -> RpcResult<Option<StorageData>>;
    #[method(name = "state_getStorageHash", aliases = ["state_getStorageHashAt"])]
    fn storage_hash(&self, key: StorageKey, at: Option<Hash>) -> RpcResult<Option<Hash>>;
    #[method(name = "state_getStorageSize", aliases = ["state_getStorageSizeAt"])]
    fn storage_size(&self, key: StorageKey, at: Option<Hash>) -> RpcResult<Option<u64>>;
    #[method(name = "state_getKeysPaged", aliases = ["state_getKeysPagedAt"])]
    fn keys_paged(
        &self,
        prefix: Option<StorageKey>,
        count: u32,
        start_key: Option<StorageKey>,
        at: Option<Hash>,
    ) -> RpcResult<Vec<StorageKey>>;
    #[method(name = "state_queryStorageAt")]
    fn query_storage_at(
        &self,
        keys: Vec<StorageKey>,
        at: Option<Hash>,
    ) -> RpcResult<Vec<StorageChangeSet<Hash>>>;
    #[method(name = "state_getReadProof")]
    fn read_proof(&self, keys: Vec<StorageKey>, at: Option<Hash>) -> RpcResult<ReadProof>;
    #[method(name = "state_getMetadata")]
    fn metadata(&self, at: Option<Hash>) -> RpcResult<Bytes>;
    #[method(name = "state_getRuntimeVersion", aliases = ["chain_getRuntimeVersion"])]
    fn runtime_version(&self, at: Option<Hash>) -> RpcResult<sp_version::RuntimeVersion>;
    #[subscription(
        name = "state_subscribeRuntimeVersion" => "state_runtimeVersion",
        aliases = ["chain_subscribeRuntimeVersion"],
        unsubscribe = "state_unsubscribeRuntimeVersion",
        unsubscribe_aliases = ["chain_unsubscribeRuntimeVersion"],
        item = sp_version::RuntimeVersion
    )]
    async fn subscribe_runtime_version(&self) -> SubscriptionResult;
    #[subscription(
        name = "state_subscribeStorage" => "state_storage",
        unsubscribe = "state_unsubscribeStorage",
        item = StorageChangeSet<Hash>
    )]
    async fn subscribe_storage(&self, keys: Option<Vec<StorageKey>>) -> SubscriptionResult;
}

#[rpc(server)]
pub trait GrandpaApi {
    /// SCALE `FinalityProof` of the block with this number, or `null` if unknown or not final.
    #[method(name = "grandpa_proveFinality")]
    fn prove_finality(&self, block: NumberOrHex) -> RpcResult<Option<Bytes>>;
    /// Each new justification, as hex of its SCALE encoding (`JustificationNotification`).
    #[subscription(
        name = "grandpa_subscribeJustifications" => "grandpa_justifications",
        unsubscribe = "grandpa_unsubscribeJustifications",
        item = Bytes
    )]
    async fn subscribe_justifications(&self) -> SubscriptionResult;
}

#[rpc(server)]
pub trait AuthorApi {
    #[method(name = "author_submitExtrinsic")]
    fn submit_extrinsic(&self, extrinsic: Bytes) -> RpcResult<Hash>;
    #[method(name = "author_pendingExtrinsics")]
    fn pending_extrinsics(&self) -> RpcResult<Vec<Bytes>>;
    #[subscription(
        name = "author_submitAndWatchExtrinsic" => "author_extrinsicUpdate",
        unsubscribe = "author_unwatchExtrinsic",
        item = TxStatus
    )]
    async fn submit_and_watch_extrinsic(&self, extrinsic: Bytes) -> SubscriptionResult;
}

/// Static facts the `system_*` methods report.
#[derive(Clone)]
pub struct NodeInfo {
    pub chain_name: String,
    pub chain_type: String,
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// The RPC implementation over a running chain.
#[derive(Clone)]
pub struct Rpc {
    chain: Arc<Chain>,
    info: NodeInfo,
}

fn to_message<T: Serialize>(item: &T) -> Result<SubscriptionMessage, serde_json::Error> {
    Ok(serde_json::value::to_raw_value(item)?.into())
}

impl Rpc {
    fn storage_value(&self, key: &StorageKey, at: Option<Hash>) -> RpcResult<Option<Vec<u8>>> {
        let (_, state) = self.chain.state_at(at).map_err(chain_error)?;
        state.storage(&key.0).map_err(|e| ErrorObjectOwned::owned(STATE_ERROR, e, None::<()>))
    }

    async fn stream_heads(
        &self,
        pending: PendingSubscriptionSink,
        finalized: bool,
    ) -> SubscriptionResult {
        let (mut heads, first) = if finalized {
            (self.chain.subscribe_finalized_heads(), self.chain.finalized_header())
        } else {
            (self.chain.subscribe_heads(), self.chain.best_header())
        };
        let sink = pending.accept().await?;
        // Substrate sends the current head first.
        sink.send(to_message(&first)?).await?;
        loop {
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                head = heads.recv() => match head {
                    Ok(header) => sink.send(to_message(&header)?).await?,
                    // A slow subscriber skipped some heads; clients fill gaps by number.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }
}

impl SystemApiServer for Rpc {
    fn system_name(&self) -> RpcResult<String> {
        Ok("peerseal-node".into())
    }
    fn system_version(&self) -> RpcResult<String> {
        Ok(env!("CARGO_PKG_VERSION").into())
    }
    fn system_chain(&self) -> RpcResult<String> {
        Ok(self.info.chain_name.clone())
    }
    fn system_chain_type(&self) -> RpcResult<String> {
        Ok(self.info.chain_type.clone())
    }
    fn system_properties(&self) -> RpcResult<serde_json::Map<String, serde_json::Value>> {
        Ok(self.info.properties.clone())
    }
    fn system_health(&self) -> RpcResult<Health> {
        Ok(Health { peers: 0, is_syncing: false, should_have_peers: false })
    }
    fn system_sync_state(&self) -> RpcResult<SyncState> {
        let best = self.chain.best_number();
        Ok(SyncState { starting_block: 0, current_block: best, highest_block: best })
    }
    fn system_peers(&self) -> RpcResult<Vec<serde_json::Value>> {
        Ok(Vec::new())
    }
    fn system_account_next_index(&self, account: String) -> RpcResult<u32> {
        use sp_core::crypto::Ss58Codec;
        let account = sp_core::crypto::AccountId32::from_ss58check(&account)
            .or_else(|_| {
                let raw = hex::decode(account.trim_start_matches("0x")).map_err(|_| ())?;
                <[u8; 32]>::try_from(raw.as_slice()).map(Into::into).map_err(|_| ())
            })
            .map_err(|_| {
                invalid_params("expected an SS58 address or 0x-prefixed 32-byte account id")
            })?;
        self.chain.next_nonce(&account).map_err(chain_error)
    }
}

#[async_trait]
impl ChainApiServer for Rpc {
    fn block_hash(
        &self,
        number: Option<ListOrValue<NumberOrHex>>,
    ) -> RpcResult<ListOrValue<Option<Hash>>> {
        let lookup = |n: &NumberOrHex| n.to_u32().and_then(|n| self.chain.hash_of(n));
        Ok(match number {
            None => ListOrValue::Value(Some(self.chain.best_hash())),
            Some(ListOrValue::Value(n)) => ListOrValue::Value(lookup(&n)),
            Some(ListOrValue::List(list)) => {
                if list.len() > MAX_STORAGE_KEYS {
                    return Err(invalid_params("too many block numbers in one call"));
                }
                ListOrValue::List(list.iter().map(lookup).collect())
            }
        })
    }
    fn header(&self, hash: Option<Hash>) -> RpcResult<Option<Header>> {
        self.chain.header(hash).map_err(chain_error)
    }
    fn block(&self, hash: Option<Hash>) -> RpcResult<Option<SignedBlock>> {
        Ok(self.chain.block(hash).map_err(chain_error)?.map(|block| {
            let justifications = self.chain.justification(block.header.number).map(|j| {
                sp_runtime::Justifications::from((sp_consensus_grandpa::GRANDPA_ENGINE_ID, j))
            });
            SignedBlock { block, justifications }
        }))
    }
    fn finalized_head(&self) -> RpcResult<Hash> {
        Ok(self.chain.finalized_hash())
    }
    async fn subscribe_new_heads(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.stream_heads(pending, false).await
    }
    async fn subscribe_finalized_heads(
        &self,
        pending: PendingSubscriptionSink,
    ) -> SubscriptionResult {
        self.stream_heads(pending, true).await
    }
    async fn subscribe_all_heads(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.stream_heads(pending, false).await
    }
}

#[async_trait]
impl StateApiServer for Rpc {
    fn call(&self, method: String, data: Bytes, at: Option<Hash>) -> RpcResult<Bytes> {
        self.chain.call(at, &method, &data).map(Bytes).map_err(chain_error)
    }
    fn storage(&self, key: StorageKey, at: Option<Hash>) -> RpcResult<Option<StorageData>> {
        Ok(self.storage_value(&key, at)?.map(StorageData))
    }
    fn storage_hash(&self, key: StorageKey, at: Option<Hash>) -> RpcResult<Option<Hash>> {
        Ok(self.storage_value(&key, at)?.map(|v| Hash::from(sp_crypto_hashing::blake2_256(&v))))
    }
    fn storage_size(&self, key: StorageKey, at: Option<Hash>) -> RpcResult<Option<u64>> {
        Ok(self.storage_value(&key, at)?.map(|v| v.len() as u64))
    }
    fn keys_paged(
        &self,
        prefix: Option<StorageKey>,
        count: u32,
        start_key: Option<StorageKey>,
        at: Option<Hash>,
    ) -> RpcResult<Vec<StorageKey>> {
        use sp_state_machine::{Backend, IterArgs};
        if count > MAX_KEYS_PAGE {
            return Err(invalid_params(format!("count exceeds the maximum of {MAX_KEYS_PAGE}")));
        }
        let (_, state) = self.chain.state_at(at).map_err(chain_error)?;
        let prefix = prefix.map(|p| p.0).unwrap_or_default();
        let mut args = IterArgs::default();
        args.prefix = Some(&prefix);
        args.start_at = start_key.as_ref().map(|k| k.0.as_slice());
        args.start_at_exclusive = true;
        let keys =
            state.keys(args).map_err(|e| ErrorObjectOwned::owned(STATE_ERROR, e, None::<()>))?;
        let mut out = Vec::new();
        for key in keys {
            if out.len() >= count as usize {
                break;
            }
            out.push(StorageKey(
                key.map_err(|e| ErrorObjectOwned::owned(STATE_ERROR, e, None::<()>))?,
            ));
        }
        Ok(out)
    }
    fn query_storage_at(
        &self,
        keys: Vec<StorageKey>,
        at: Option<Hash>,
    ) -> RpcResult<Vec<StorageChangeSet<Hash>>> {
        if keys.len() > MAX_STORAGE_KEYS {
            return Err(invalid_params(format!("at most {MAX_STORAGE_KEYS} keys per query")));
        }
        let (block, state) = self.chain.state_at(at).map_err(chain_error)?;
        let mut changes = Vec::with_capacity(keys.len());
        for key in keys {
            let value = state
                .storage(&key.0)
                .map_err(|e| ErrorObjectOwned::owned(STATE_ERROR, e, None::<()>))?;
            changes.push((key, value.map(StorageData)));
        }
        Ok(vec![StorageChangeSet { block, changes }])
    }
    fn read_proof(&self, keys: Vec<StorageKey>, at: Option<Hash>) -> RpcResult<ReadProof> {
        if keys.len() > MAX_PROOF_KEYS {
            return Err(invalid_params(format!("at most {MAX_PROOF_KEYS} keys per proof")));
        }
        let (at, state) = self.chain.state_at(at).map_err(chain_error)?;
        let proof =
            sp_state_machine::prove_read_on_trie_backend(&*state, keys.iter().map(|k| &k.0))
                .map_err(|e| ErrorObjectOwned::owned(STATE_ERROR, e.to_string(), None::<()>))?;
        Ok(ReadProof { at, proof: proof.into_iter_nodes().map(Bytes).collect() })
    }
    fn metadata(&self, at: Option<Hash>) -> RpcResult<Bytes> {
        let out = self.chain.call(at, "Metadata_metadata", &[]).map_err(chain_error)?;
        // The runtime returns `OpaqueMetadata` (a SCALE `Vec<u8>`); the RPC serves its bytes.
        let inner = Vec::<u8>::decode(&mut &out[..])
            .map_err(|e| ErrorObjectOwned::owned(STATE_ERROR, e.to_string(), None::<()>))?;
        Ok(Bytes(inner))
    }
    fn runtime_version(&self, at: Option<Hash>) -> RpcResult<sp_version::RuntimeVersion> {
        let (_, state) = self.chain.state_at(at).map_err(chain_error)?;
        self.chain.executor().version(&state).map_err(|e| chain_error(e.into()))
    }
    async fn subscribe_runtime_version(
        &self,
        pending: PendingSubscriptionSink,
    ) -> SubscriptionResult {
        let sink = pending.accept().await?;
        sink.send(to_message(self.chain.version())?).await?;
        // The dev chain never upgrades its native runtime: hold the subscription open.
        sink.closed().await;
        Ok(())
    }
    async fn subscribe_storage(
        &self,
        pending: PendingSubscriptionSink,
        keys: Option<Vec<StorageKey>>,
    ) -> SubscriptionResult {
        let keys = match keys {
            Some(keys) if !keys.is_empty() && keys.len() <= MAX_STORAGE_KEYS => keys,
            _ => {
                pending
                    .reject(invalid_params(format!("name 1..={MAX_STORAGE_KEYS} storage keys")))
                    .await;
                return Ok(());
            }
        };
        let mut heads = self.chain.subscribe_heads();
        let sink = pending.accept().await?;
        let read = |at: Option<Hash>| -> Result<(Hash, Vec<Option<Vec<u8>>>), ChainError> {
            let (hash, state) = self.chain.state_at(at)?;
            let values = keys.iter().map(|k| state.storage(&k.0).ok().flatten()).collect();
            Ok((hash, values))
        };
        let (block, mut last) = read(None).map_err(|e| e.to_string())?;
        let initial = StorageChangeSet {
            block,
            changes: keys
                .iter()
                .cloned()
                .zip(last.iter().cloned().map(|v| v.map(StorageData)))
                .collect(),
        };
        sink.send(to_message(&initial)?).await?;
        loop {
            let header = tokio::select! {
                _ = sink.closed() => return Ok(()),
                head = heads.recv() => match head {
                    Ok(header) => header,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
            };
            let Ok((block, now)) = read(Some(header.hash())) else { continue };
            let changes: Vec<_> = keys
                .iter()
                .zip(now.iter().zip(last.iter()))
                .filter(|(_, (new, old))| new != old)
                .map(|(k, (new, _))| (k.clone(), new.clone().map(StorageData)))
                .collect();
            last = now;
            if !changes.is_empty() {
                sink.send(to_message(&StorageChangeSet { block, changes })?).await?;
            }
        }
    }
}

#[async_trait]
impl GrandpaApiServer for Rpc {
    fn prove_finality(&self, block: NumberOrHex) -> RpcResult<Option<Bytes>> {
        Ok(block
            .to_u32()
            .and_then(|number| self.chain.prove_finality(number))
            .map(|proof| Bytes(proof.encode())))
    }
    async fn subscribe_justifications(
        &self,
        pending: PendingSubscriptionSink,
    ) -> SubscriptionResult {
        let mut justifications = self.chain.subscribe_justifications();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                next = justifications.recv() => match next {
                    Ok(justification) => sink.send(to_message(&Bytes(justification))?).await?,
                    // A slow subscriber skipped some; `grandpa_proveFinality` fills gaps.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }
}

#[async_trait]
impl AuthorApiServer for Rpc {
    fn submit_extrinsic(&self, extrinsic: Bytes) -> RpcResult<Hash> {
        self.chain.submit(&extrinsic, false).map(|(hash, _)| hash).map_err(submit_error)
    }
    fn pending_extrinsics(&self) -> RpcResult<Vec<Bytes>> {
        Ok(self.chain.pending_extrinsics().iter().map(|xt| Bytes(xt.encode())).collect())
    }
    async fn submit_and_watch_extrinsic(
        &self,
        pending: PendingSubscriptionSink,
        extrinsic: Bytes,
    ) -> SubscriptionResult {
        // Refuse an invalid transaction at once with an error, never a hanging subscription.
        let mut updates = match self.chain.submit(&extrinsic, true) {
            Ok((_, Some(updates))) => updates,
            Ok((_, None)) => return Ok(()),
            Err(err) => {
                pending.reject(submit_error(err)).await;
                return Ok(());
            }
        };
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                status = updates.recv() => match status {
                    Some(status) => {
                        let last = matches!(status, TxStatus::Finalized(_) | TxStatus::Invalid | TxStatus::Dropped);
                        sink.send(to_message(&status)?).await?;
                        if last {
                            return Ok(());
                        }
                    }
                    None => {
                        sink.send(to_message(&TxStatus::Dropped)?).await?;
                        return Ok(());
                    }
                },
            }
        }
    }
}

/// Limits and address of the RPC server.
#[derive(Clone, Debug)]
pub struct RpcConfig {
    pub addr: SocketAddr,
    pub max_request_bytes: u32,
    pub max_response_bytes: u32,
    pub max_connections: u32,
    pub max_subscriptions_per_connection: u32,
}

impl RpcConfig {
    pub fn loopback(port: u16) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            max_request_bytes: 15 * 1024 * 1024,
            max_response_bytes: 15 * 1024 * 1024,
            max_connections: 100,
            max_subscriptions_per_connection: 1024,
        }
    }
}

/// Starts the JSON-RPC server; returns its bound address and a handle that stops it.
pub async fn serve(
    chain: Arc<Chain>,
    info: NodeInfo,
    config: RpcConfig,
) -> anyhow::Result<(SocketAddr, ServerHandle)> {
    let rpc = Rpc { chain, info };
    let mut module = RpcModule::new(());
    module.merge(SystemApiServer::into_rpc(rpc.clone()))?;
    module.merge(ChainApiServer::into_rpc(rpc.clone()))?;
    module.merge(StateApiServer::into_rpc(rpc.clone()))?;
    module.merge(GrandpaApiServer::into_rpc(rpc.clone()))?;
    module.merge(AuthorApiServer::into_rpc(rpc))?;
    let mut methods: Vec<String> = module.method_names().map(str::to_owned).collect();
    methods.push("rpc_methods".into());
    methods.sort();
    module.register_method(
        "rpc_methods",
        move |_, _, _| serde_json::json!({ "version": 1, "methods": methods.clone() }),
    )?;
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_bytes)
        .max_response_body_size(config.max_response_bytes)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .build();
    let server = Server::builder().set_config(server_config).build(config.addr).await?;
    let addr = server.local_addr()?;
    let handle = server.start(module);
    Ok((addr, handle))
}
