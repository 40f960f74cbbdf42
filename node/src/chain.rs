//! The dev chain: genesis, block production (instant and interval sealing with instant
//! finality, each block carrying a GRANDPA justification from [`crate::finality`]), the state
//! of every recent block (and always of genesis, the light clients' trust root), the pool, and
//! notifications to subscribers.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use codec::{Decode, Encode};
use sp_runtime::traits::Header as _;
use sp_runtime::transaction_validity::{
    TransactionSource, TransactionValidity, TransactionValidityError,
};
use sp_state_machine::Backend as _;
use tokio::sync::{broadcast, mpsc};

use crate::executor::{extrinsic_hash, CallError, Executor};
use crate::finality::{Finality, FinalityError, FinalityProof};
use crate::pool::{Pool, PoolTx, TxStatus};
use crate::store::{BlockStore, StoreError};
use crate::types::{Block, BlockNumber, Extrinsic, Hash, Header, State};

/// Everything needed to start a chain.
pub struct ChainConfig {
    /// What the genesis state is built from (a chain spec's genesis).
    pub genesis: crate::spec::GenesisSource,
    /// Produce a block every this often, even when idle.
    pub block_time: Duration,
    /// Also seal a block as soon as a transaction arrives.
    pub instant_seal: bool,
    /// How many recent block states stay queryable.
    pub state_pruning: u32,
    /// Persist blocks here; in memory only when `None`.
    pub base_path: Option<PathBuf>,
    /// Most transactions the pool holds.
    pub pool_limit: usize,
    /// The runtime's minimum spacing of block timestamps, in milliseconds.
    pub minimum_period_ms: u64,
}

/// Errors of the chain core.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Runtime(#[from] CallError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown block {0:?}")]
    UnknownBlock(Hash),
    #[error("state of block {0:?} was pruned (keeping the last {1} blocks)")]
    Pruned(Hash, u32),
    #[error("stored chain does not replay: {0}")]
    Replay(String),
    #[error("GRANDPA: {0}")]
    Finality(#[from] FinalityError),
}

/// Why a submitted extrinsic was refused (mapped to Substrate's JSON-RPC error codes).
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("Invalid Transaction: {0}")]
    Invalid(String),
    #[error("Unknown Transaction Validity: {0}")]
    Unknown(String),
    #[error("Transaction Already Imported")]
    AlreadyImported,
    #[error("Transaction pool is full")]
    PoolFull,
    #[error("could not decode the extrinsic: {0}")]
    BadFormat(String),
}

impl SubmitError {
    /// Substrate's `author` error code for this refusal.
    pub fn code(&self) -> i32 {
        match self {
            SubmitError::Invalid(_) | SubmitError::BadFormat(_) => 1010,
            SubmitError::Unknown(_) => 1011,
            SubmitError::AlreadyImported => 1013,
            SubmitError::PoolFull => 1016,
        }
    }
}

struct Stored {
    block: Block,
    hash: Hash,
    /// SCALE `GrandpaJustification`; `None` for genesis and after finality halted.
    justification: Option<Vec<u8>>,
}

struct Inner {
    blocks: Vec<Stored>,
    by_hash: HashMap<Hash, BlockNumber>,
    states: BTreeMap<BlockNumber, Arc<State>>,
    /// The last block with a justification (genesis is final by definition).
    finalized: BlockNumber,
}

/// The running chain. Shared by the RPC server and the block producer.
pub struct Chain {
    executor: Executor,
    config: ChainConfig,
    inner: RwLock<Inner>,
    pool: Mutex<Pool>,
    store: Option<BlockStore>,
    heads: broadcast::Sender<Header>,
    finalized_heads: broadcast::Sender<Header>,
    justifications: broadcast::Sender<Vec<u8>>,
    finality: Mutex<Finality>,
    wake: std::sync::mpsc::SyncSender<()>,
    wake_rx: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    version: sp_version::RuntimeVersion,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// `twox128("Timestamp") ++ twox128("Now")`: the parent block's timestamp.
fn timestamp_now_key() -> Vec<u8> {
    let mut key = sp_crypto_hashing::twox_128(b"Timestamp").to_vec();
    key.extend_from_slice(&sp_crypto_hashing::twox_128(b"Now"));
    key
}

impl Chain {
    /// Builds genesis, opens and replays the base path if any, and makes sure block #1 exists
    /// (frame_system only records the real genesis hash in `BlockHash[0]` when block #1 is
    /// initialised, and every signed transaction's `CheckGenesis` needs it).
    pub fn new(executor: Executor, config: ChainConfig) -> Result<Arc<Self>, ChainError> {
        let (genesis_state, genesis_header) = executor.genesis_state(&config.genesis)?;
        let genesis_hash = genesis_header.hash();
        let version = executor.version(&genesis_state)?;
        let store = match &config.base_path {
            Some(path) => Some(BlockStore::open(path, genesis_hash)?),
            None => None,
        };
        let (heads, _) = broadcast::channel(256);
        let (finalized_heads, _) = broadcast::channel(256);
        let (justifications, _) = broadcast::channel(256);
        // The genesis set comes from the genesis state (nothing else defines it); every later
        // set only from header digests, as a light client follows it.
        let genesis_authorities: sp_consensus_grandpa::AuthorityList =
            executor.call_decode(&genesis_state, "GrandpaApi_grandpa_authorities", &[])?;
        let finality = Finality::new(genesis_authorities, crate::finality::dev_keyring());
        let (wake, wake_rx) = std::sync::mpsc::sync_channel(1);
        let mut by_hash = HashMap::new();
        by_hash.insert(genesis_hash, 0);
        let mut states = BTreeMap::new();
        states.insert(0, Arc::new(genesis_state));
        let chain = Arc::new(Self {
            executor,
            pool: Mutex::new(Pool::new(config.pool_limit)),
            config,
            inner: RwLock::new(Inner {
                blocks: vec![Stored {
                    block: Block { header: genesis_header, extrinsics: Vec::new() },
                    hash: genesis_hash,
                    justification: None,
                }],
                by_hash,
                states,
                finalized: 0,
            }),
            store,
            heads,
            finalized_heads,
            justifications,
            finality: Mutex::new(finality),
            wake,
            wake_rx: Mutex::new(Some(wake_rx)),
            version,
        });
        chain.replay()?;
        if chain.best_number() == 0 {
            chain.produce_block()?;
        }
        Ok(chain)
    }

    fn replay(&self) -> Result<(), ChainError> {
        let Some(store) = &self.store else { return Ok(()) };
        let blocks = store.load()?;
        let count = blocks.len();
        for (block, stored_justification) in blocks {
            let (parent_hash, parent_state) = {
                let inner = self.read();
                let parent = inner.blocks.last().ok_or(ChainError::Replay("no genesis".into()))?;
                let state = inner
                    .states
                    .get(&parent.block.header.number)
                    .cloned()
                    .ok_or(ChainError::Replay("parent state missing".into()))?;
                (parent.hash, state)
            };
            if block.header.parent_hash != parent_hash {
                return Err(ChainError::Replay(format!(
                    "block #{} does not extend the stored chain",
                    block.header.number
                )));
            }
            let state = self.executor.import_block(&parent_state, &block)?;
            let hash = block.header.hash();
            // A stored justification is checked against the set tracked so far; a missing one
            // (a database from before justifications, or a crash mid-append) is signed again.
            let mut finality = self.finality().clone();
            let justification =
                finality.on_block(&block.header, stored_justification.as_deref())?;
            if stored_justification.is_none() {
                if let (Some(store), Some(j)) = (&self.store, &justification) {
                    store.put_justification(block.header.number, j)?;
                }
            }
            self.commit(block, hash, state, justification, false)?;
            *self.finality() = finality;
        }
        if count > 0 {
            tracing::info!(blocks = count, best = self.best_number(), "replayed stored chain");
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // Writers only append whole blocks; a poisoned lock still holds a consistent chain.
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    fn finality(&self) -> std::sync::MutexGuard<'_, Finality> {
        // Only the block producer (one thread) and replay mutate it, a block at a time.
        self.finality.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    pub fn version(&self) -> &sp_version::RuntimeVersion {
        &self.version
    }

    pub fn genesis_hash(&self) -> Hash {
        self.read().blocks.first().map(|b| b.hash).unwrap_or_default()
    }

    pub fn best_number(&self) -> BlockNumber {
        self.read().blocks.last().map(|b| b.block.header.number).unwrap_or(0)
    }

    pub fn best_hash(&self) -> Hash {
        self.read().blocks.last().map(|b| b.hash).unwrap_or_default()
    }

    pub fn best_header(&self) -> Header {
        self.read().blocks.last().map(|b| b.block.header.clone()).unwrap_or_else(|| {
            Header::new(
                0,
                Default::default(),
                Default::default(),
                Default::default(),
                Default::default(),
            )
        })
    }

    /// The last block with a GRANDPA justification: the best block, unless finality halted
    /// (the node's keys no longer reach the current set's threshold).
    pub fn finalized_hash(&self) -> Hash {
        let inner = self.read();
        inner.blocks.get(inner.finalized as usize).map(|b| b.hash).unwrap_or_default()
    }

    /// The header of [`Chain::finalized_hash`].
    pub fn finalized_header(&self) -> Header {
        let inner = self.read();
        match inner.blocks.get(inner.finalized as usize) {
            Some(b) => b.block.header.clone(),
            None => self.best_header(),
        }
    }

    /// The SCALE-encoded GRANDPA justification of block `number`, if it is finalized.
    pub fn justification(&self, number: BlockNumber) -> Option<Vec<u8>> {
        self.read().blocks.get(number as usize).and_then(|b| b.justification.clone())
    }

    /// The justification of the block at `at` (best when `None`), if any.
    pub fn justification_at(&self, at: Option<Hash>) -> Option<Vec<u8>> {
        let (number, _) = self.resolve(at).ok()?;
        self.justification(number)
    }

    /// `grandpa_proveFinality`: the finality proof of block `number`, or `None` when it is
    /// unknown or not finalized. Every block has its own justification, so the proof needs no
    /// extra headers.
    pub fn prove_finality(&self, number: BlockNumber) -> Option<FinalityProof> {
        let inner = self.read();
        let stored = inner.blocks.get(number as usize)?;
        Some(FinalityProof {
            block: stored.hash,
            justification: stored.justification.clone()?,
            unknown_headers: Vec::new(),
        })
    }

    /// The GRANDPA authority set the node will justify the next block with.
    pub fn current_authority_set(&self) -> crate::finality::AuthoritySet {
        self.finality().current_set().clone()
    }

    pub fn hash_of(&self, number: BlockNumber) -> Option<Hash> {
        self.read().blocks.get(number as usize).map(|b| b.hash)
    }

    fn resolve(&self, at: Option<Hash>) -> Result<(BlockNumber, Hash), ChainError> {
        let inner = self.read();
        match at {
            None => inner
                .blocks
                .last()
                .map(|b| (b.block.header.number, b.hash))
                .ok_or(ChainError::UnknownBlock(Hash::zero())),
            Some(hash) => {
                inner.by_hash.get(&hash).map(|n| (*n, hash)).ok_or(ChainError::UnknownBlock(hash))
            }
        }
    }

    pub fn header(&self, at: Option<Hash>) -> Result<Option<Header>, ChainError> {
        match self.resolve(at) {
            Ok((number, _)) => {
                Ok(self.read().blocks.get(number as usize).map(|b| b.block.header.clone()))
            }
            Err(ChainError::UnknownBlock(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn block(&self, at: Option<Hash>) -> Result<Option<Block>, ChainError> {
        match self.resolve(at) {
            Ok((number, _)) => Ok(self.read().blocks.get(number as usize).map(|b| b.block.clone())),
            Err(ChainError::UnknownBlock(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The state after block `at` (best when `None`).
    pub fn state_at(&self, at: Option<Hash>) -> Result<(Hash, Arc<State>), ChainError> {
        let (number, hash) = self.resolve(at)?;
        let inner = self.read();
        inner
            .states
            .get(&number)
            .cloned()
            .map(|state| (hash, state))
            .ok_or(ChainError::Pruned(hash, self.config.state_pruning))
    }

    /// Runs a read-only runtime call at `at`.
    pub fn call(&self, at: Option<Hash>, method: &str, data: &[u8]) -> Result<Vec<u8>, ChainError> {
        let (_, state) = self.state_at(at)?;
        Ok(self.executor.call(&state, method, data)?)
    }

    pub fn subscribe_heads(&self) -> broadcast::Receiver<Header> {
        self.heads.subscribe()
    }

    /// Headers of newly finalized (justified) blocks.
    pub fn subscribe_finalized_heads(&self) -> broadcast::Receiver<Header> {
        self.finalized_heads.subscribe()
    }

    /// SCALE-encoded justifications of newly finalized blocks, in order.
    pub fn subscribe_justifications(&self) -> broadcast::Receiver<Vec<u8>> {
        self.justifications.subscribe()
    }

    /// Validates and pools an extrinsic; the returned receiver gets its status updates.
    pub fn submit(
        &self,
        bytes: &[u8],
        watch: bool,
    ) -> Result<(Hash, Option<mpsc::UnboundedReceiver<TxStatus>>), SubmitError> {
        let xt = Extrinsic::decode(&mut &bytes[..])
            .ok()
            .filter(|xt| xt.encoded_size() == bytes.len())
            .ok_or_else(|| SubmitError::BadFormat("not one SCALE-encoded extrinsic".into()))?;
        let hash = extrinsic_hash(&xt);
        if self.pool().contains(&hash) {
            return Err(SubmitError::AlreadyImported);
        }
        let best = self.best_hash();
        let args = (TransactionSource::External, &xt, best).encode();
        let validity: TransactionValidity =
            match self.call(None, "TaggedTransactionQueue_validate_transaction", &args) {
                Ok(out) => TransactionValidity::decode(&mut &out[..])
                    .map_err(|e| SubmitError::Unknown(format!("undecodable validity: {e}")))?,
                // The runtime panics when it cannot decode the extrinsic: that is a bad transaction.
                Err(ChainError::Runtime(CallError::Panicked { .. })) => {
                    return Err(SubmitError::Invalid("Could not decode the extrinsic".into()))
                }
                Err(other) => return Err(SubmitError::Unknown(other.to_string())),
            };
        let valid = match validity {
            Ok(valid) => valid,
            Err(TransactionValidityError::Invalid(invalid)) => {
                return Err(SubmitError::Invalid(<&'static str>::from(invalid).to_string()))
            }
            Err(TransactionValidityError::Unknown(unknown)) => {
                return Err(SubmitError::Unknown(<&'static str>::from(unknown).to_string()))
            }
        };
        let (watcher, receiver) = if watch {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        {
            let mut pool = self.pool();
            if pool.is_full() {
                return Err(SubmitError::PoolFull);
            }
            let ready = valid.requires.iter().all(|tag| pool.provides(tag));
            if let Some(w) = &watcher {
                let _ = w.send(if ready { TxStatus::Ready } else { TxStatus::Future });
            }
            pool.push(PoolTx { xt, hash, provides: valid.provides, watcher });
        }
        tracing::info!(tx = ?hash, "transaction pooled");
        if self.config.instant_seal {
            // A full channel means a wake-up is already pending: nothing to add.
            let _ = self.wake.try_send(());
        }
        Ok((hash, receiver))
    }

    /// The nonce the next transaction of `account` should use: the on-chain nonce, advanced
    /// past the pooled transactions that provide `(account, nonce)` tags.
    pub fn next_nonce(&self, account: &sp_core::crypto::AccountId32) -> Result<u32, ChainError> {
        let out = self.call(None, "AccountNonceApi_account_nonce", &account.encode())?;
        let mut nonce = u32::decode(&mut &out[..]).map_err(|error| CallError::Decode {
            method: "AccountNonceApi_account_nonce".into(),
            error,
        })?;
        let pool = self.pool();
        while pool.provides(&(account, nonce).encode()) {
            nonce = nonce.saturating_add(1);
        }
        Ok(nonce)
    }

    pub fn pending_extrinsics(&self) -> Vec<Extrinsic> {
        self.pool().pending()
    }

    /// Builds, executes and commits one block with whatever the pool holds.
    pub fn produce_block(&self) -> Result<Hash, ChainError> {
        let pending = self.pool().pending();
        let (parent, parent_state) = {
            let inner = self.read();
            let best = inner.blocks.last().ok_or(ChainError::Replay("empty chain".into()))?;
            let state = inner
                .states
                .get(&best.block.header.number)
                .cloned()
                .ok_or(ChainError::Pruned(best.hash, self.config.state_pruning))?;
            (best.block.header.clone(), state)
        };
        let parent_ts = parent_state
            .storage(&timestamp_now_key())
            .ok()
            .flatten()
            .and_then(|raw| u64::decode(&mut &raw[..]).ok())
            .unwrap_or(0);
        let timestamp = if parent_ts == 0 {
            now_ms()
        } else {
            now_ms().max(parent_ts.saturating_add(self.config.minimum_period_ms))
        };
        let built = self.executor.build_block(&parent, &parent_state, timestamp, pending)?;
        let hash = built.hash;
        // The tracked set only advances once the block is committed.
        let mut finality = self.finality().clone();
        let justification = finality.on_block(&built.block.header, None)?;
        let mut outcome: HashMap<Hash, Vec<TxStatus>> = HashMap::new();
        for xt in &built.included {
            let mut statuses = vec![TxStatus::InBlock(hash)];
            if justification.is_some() {
                statuses.push(TxStatus::Finalized(hash));
            }
            outcome.insert(extrinsic_hash(xt), statuses);
        }
        for (xt, reason) in &built.rejected {
            tracing::warn!(tx = ?extrinsic_hash(xt), %reason, "transaction refused at block building");
            outcome.insert(extrinsic_hash(xt), vec![TxStatus::Invalid]);
        }
        tracing::info!(
            number = built.block.header.number,
            hash = ?hash,
            extrinsics = built.block.extrinsics.len(),
            included = built.included.len(),
            refused = built.rejected.len(),
            waiting = built.deferred.len(),
            "sealed block"
        );
        self.commit(built.block, hash, built.state, justification, true)?;
        *self.finality() = finality;
        self.pool().finish(&outcome);
        Ok(hash)
    }

    fn commit(
        &self,
        block: Block,
        hash: Hash,
        state: State,
        justification: Option<Vec<u8>>,
        persist: bool,
    ) -> Result<(), ChainError> {
        if persist {
            if let Some(store) = &self.store {
                store.append(&block, justification.as_deref())?;
            }
        }
        let header = block.header.clone();
        {
            let mut inner = self.write();
            let number = header.number;
            inner.by_hash.insert(hash, number);
            inner.states.insert(number, Arc::new(state));
            // Genesis is never pruned: a client whose only trust root is the genesis hash
            // reads the genesis authority set with a read proof at block 0.
            let keep = self.config.state_pruning.max(1) as usize + 1;
            while inner.states.len() > keep {
                let Some(oldest) = inner.states.keys().copied().find(|n| *n != 0) else { break };
                inner.states.remove(&oldest);
            }
            if justification.is_some() {
                inner.finalized = number;
            }
            inner.blocks.push(Stored { block, hash, justification: justification.clone() });
        }
        // No subscriber is fine.
        let _ = self.heads.send(header.clone());
        if let Some(justification) = justification {
            let _ = self.finalized_heads.send(header);
            let _ = self.justifications.send(justification);
        }
        Ok(())
    }

    /// Runs the block producer on its own thread for the life of the process: a block every
    /// `block_time`, and one as soon as a transaction arrives when instant sealing is on.
    pub fn spawn_producer(self: &Arc<Self>) -> std::io::Result<std::thread::JoinHandle<()>> {
        let chain = Arc::clone(self);
        let wake_rx = self.wake_rx.lock().unwrap_or_else(|p| p.into_inner()).take();
        std::thread::Builder::new().name("block-producer".into()).spawn(move || {
            let Some(wake_rx) = wake_rx else { return };
            loop {
                match wake_rx.recv_timeout(chain.config.block_time) {
                    Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                }
                if let Err(err) = chain.produce_block() {
                    tracing::error!(%err, "block production failed");
                }
            }
        })
    }

    pub fn pool_len(&self) -> usize {
        self.pool().len()
    }
}
