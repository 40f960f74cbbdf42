//! # peerseal-chain: the verifying chain client of peerseal
//!
//! The TSS node (provider service, backup client and chain watcher) talks to the peerseal chain
//! only through this crate, and believes only what it can verify: a light client ([`verify`])
//! starts from a pinned [`TrustRoot`] (genesis hash, optionally a checkpoint with its GRANDPA
//! authority set), follows final headers by checking each GRANDPA justification and the
//! authority-set changes in header digests, and proves every storage value it returns (registry,
//! assignments, commitments, attestation policy, `System.Events`) with a read proof against a
//! verified header's state root. Provider candidates are computed locally from proven storage
//! with the runtime's rendezvous function. The registry and attestation policy of the last
//! final block stay in memory ([`VerifiedView`]), so the provider's hot path makes no chain
//! round trip. Transactions are submitted through subxt, with the call bytes checked against the
//! runtime's fixed indices and their effect confirmed in verified state. [`ChainApi`] is the
//! trait the node codes against; [`ChainClient`] implements it. Everything is standard
//! Substrate JSON-RPC over WebSocket, so any Substrate full node serves it.
//!
//! ## Dependencies
//! - `subxt` / `subxt-signer` 0.51: the maintained Substrate client (transaction construction
//!   and signing, metadata-driven event decoding) and its sr25519 signer; its re-exported
//!   jsonrpsee WebSocket client makes the verifier's raw JSON-RPC calls.
//! - `peerseal-finality`: the GRANDPA checks themselves (justifications, set changes, the header
//!   chain), pure and shared with the dev node; see its crate docs for its dependencies.
//! - `sp-state-machine` / `sp-trie`: Substrate's read-proof checker.
//! - `sp-runtime` / `sp-core` / `sp-crypto-hashing`: the header type (its serde form is the
//!   JSON-RPC one), hashes, storage-key hashers.
//! - `parity-scale-codec`: decodes storage values and event fields into this crate's types.
//! - `peerseal-attestation` / `peerseal-primitives`: policy types, shared rendezvous order.
//! - `serde` / `serde_json` (JSON-RPC answers, the trust-root file), `async-trait` ([`ChainApi`]
//!   as `Arc<dyn ChainApi>`), `tokio`, `futures`, `thiserror`, `tracing`, `hex`.

mod api;
mod client;
mod connection;
mod decode;
mod error;
mod types;
pub mod verify;

pub use api::ChainApi;
pub use client::{ChainClient, SYNC_TIMEOUT, TX_MORTALITY_BLOCKS, TX_TIMEOUT};
pub use error::ChainError;
pub use types::{
    AccountId, Assignment, AttestationPolicy, BlockHash, ChainEvent, FinalizedBlock, PendingNonce,
    RecordedRecovery, RecoveryOperator, RecoveryOperatorSet, SealedRecovery, ServerRecord,
    ServerState,
};
pub use verify::headers::FinalHead;
pub use verify::trust::{Checkpoint, TrustRoot, TrustRootError};
pub use verify::view::VerifiedView;
pub use verify::{Verifier, VerifyFailure, VerifyObserver, MAX_VIEW_AGE};

/// The signer type the transactions take (re-exported so users need not name subxt-signer).
pub use subxt_signer::sr25519::Keypair;
