//! `peerseal`: the TSS node's backup network — the provider service that holds other nodes'
//! database-key shares and releases them only to attested, registered nodes, and the client
//! that backs this node's key up and gets it back after a restart.
//!
//! A node runs one libp2p swarm ([`network`]); inbound requests go to the [`provider`], whose
//! policy is the plain async function [`provider::Provider::handle`]. The [`client`] picks
//! providers from chain data, sends each its share ([`shares`]: Shamir over GF(256), copies
//! when `t = 1`) and records the assignment with a key [`commitment`]; [`recovery`] fetches
//! shares back with nonce → quote → recover and accepts only a key matching the commitment.
//! Chain access is `peerseal_chain::ChainApi`; the node's transactions go through one
//! serialising [`submit::TxSubmitter`]. The node itself ([`node`]: `peerseal run`) walks the
//! [`lifecycle`] state machine, keeps its identity inside its encrypted store
//! ([`stored_identity`]), writes a public [`recovery_file`], and answers on a small local
//! [`http`] endpoint with status and [`metrics`]; [`config`] merges the TOML file, flags and
//! environment; [`devnet`] runs a local dev network end to end.
//!
//! Dependencies and why: `libp2p` (tokio, TCP, noise, yamux, request-response: the transport
//! the protocol crate's codec plugs into); `tokio` and `futures` (the runtime and the swarm's
//! stream); `blahaj` (Shamir secret sharing over GF(256): the maintained fork of `sharks` —
//! `sharks` 0.5 is unmaintained since 2021 and its coefficient sampling was biased, fixed in
//! `blahaj` — small, no prime-field bignum machinery as `vsss-rs` would bring, and its `Share`
//! and field elements zeroize on drop); `chacha20` (its `rng` feature: the seeded CSPRNG for
//! deterministic dealing, the same crate `rand` 0.10 builds anyway); `hkdf` + `sha2` (the
//! dealing seed and the key commitment); `backon` (exponential backoff with jitter as a plain
//! iterator of delays; maintained, unlike `backoff` 0.4, which is flagged unmaintained);
//! `tdx-quote` (the PCK of a registered production quote); `subxt-signer` (the sr25519 key type
//! `peerseal-chain` signs with, wrapped so it also signs protocol messages); `rand` (OS
//! randomness for nonces and challenges); `codec` (SCALE for hashes and held records);
//! `zeroize`/`subtle` (secrets wiped, commitments compared in constant time); `tracing`
//! and `thiserror`; for the binary: `clap` (flags with environment fallbacks, already the
//! dev chain node's parser), `toml` + `serde` (the config file; `toml` was already in the
//! lockfile), `serde_json` (status and recovery file), `hyper` 1 + `hyper-util` +
//! `http-body-util` (the HTTP endpoint and its client: already in the lockfile through
//! subxt/jsonrpsee, much smaller than a web framework for three GET routes), `prometheus`
//! 0.13 without default features (text exposition only; already in the lockfile through
//! Substrate, so nothing new is downloaded — `prometheus-client` was not), and
//! `tracing-subscriber` (log output), `subxt` (the devnet's governance call, a dynamic
//! `Sudo.sudo`, the same client `peerseal-chain` uses) and `tempfile` (the devnet's data
//! directories); and the project crates `peerseal-protocol`, `-attestation`, `-kvdb`,
//! `-chain` and `-devkeys`.

pub mod client;
pub mod commitment;
pub mod config;
pub mod devnet;
pub mod failure;
pub mod held;
pub mod http;
pub mod identity;
pub mod lifecycle;
pub mod metrics;
pub mod network;
pub mod node;
pub mod nonces;
pub mod peers;
pub mod policy;
pub mod provider;
pub mod ratelimit;
pub mod recovery;
pub mod recovery_file;
pub mod running;
pub mod shares;
pub mod stored_identity;
pub mod submit;

pub use client::{
    BackupClient, BackupReport, ClientConfig, ClientError, HealthReport, HealthStatus,
};
pub use failure::{FailureReason, ProviderFailure};
pub use held::HeldShares;
pub use identity::{NodeKeys, TssSigner};
pub use network::{InboundRequest, NetworkConfig, NetworkHandle, RequestError};
pub use provider::{Provider, ProviderConfig};
pub use recovery::{Recovered, RecoveryError};
pub use submit::TxSubmitter;
