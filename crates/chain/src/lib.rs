//! # peerseal-chain: the typed chain client of peerseal
//!
//! The TSS node (provider service, backup client and chain watcher) talks to the peerseal
//! chain only through this crate. It reads the registered servers, the attestation policy and
//! backup assignments, asks the `BackupApi` runtime API for candidate providers, submits the
//! backup pallet's transactions (signed mortal, waited for until finalized, dispatch errors
//! returned by pallet and error name), and follows finalized blocks with their peerseal events
//! across chain-node restarts. Everything is plain JSON-RPC over WebSocket; chain data is
//! SCALE-decoded into this crate's own types, so users depend on no FRAME crate or pallet.
//! [`ChainApi`] is the trait the node codes against; [`ChainClient`] implements it.
//!
//! ## Dependencies
//! - `subxt` / `subxt-signer` 0.51: the maintained Substrate client (metadata-driven storage
//!   keys, transaction construction and signing, event fetching) and its sr25519 signer;
//!   its re-exported jsonrpsee WebSocket client is used directly to see when a connection died.
//! - `parity-scale-codec`: decodes storage values, runtime-API results and event fields into
//!   this crate's types (the same codec the runtime encodes with).
//! - `peerseal-attestation`: the measurement and PCK types of the attestation policy.
//! - `async-trait`: [`ChainApi`] must be usable as `Arc<dyn ChainApi>`.
//! - `tokio` (timeouts, backoff sleeps, locks), `futures` (the block stream), `thiserror`
//!   (the error type), `tracing` (reconnect logs).

mod api;
mod client;
mod connection;
mod decode;
mod error;
mod follow;
mod types;

pub use api::ChainApi;
pub use client::{ChainClient, TX_MORTALITY_BLOCKS, TX_TIMEOUT};
pub use error::ChainError;
pub use types::{
    AccountId, Assignment, AttestationPolicy, BlockHash, ChainEvent, FinalizedBlock, ServerRecord,
    ServerState,
};

/// The signer type the transactions take (re-exported so users need not name subxt-signer).
pub use subxt_signer::sr25519::Keypair;
