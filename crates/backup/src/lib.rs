//! `peerseal-backup`: the backup services of a peerseal TSS node, as a library. The
//! [`provider`] holds other nodes' database-key shares and gives one back only to an attested,
//! still-registered node that answers a fresh nonce with a TDX quote; the [`client`] deals this
//! node's key into shares, ships them to providers chosen on chain, records the assignment with a
//! key commitment, and after a restart fetches the shares back ([`client::recovery`]) and accepts
//! only a key that matches the commitment; when no provider can help (the whole network
//! restarted at once) [`cold_start`] takes the key back from a threshold of recovery operators.
//! One libp2p event loop ([`network`]) owns the swarm;
//! the node's keys are [`identity::NodeKeys`]; its transactions go through one serialising
//! [`submit::TxSubmitter`]; every retry loop uses [`retry`]. Chain access is the
//! `peerseal_chain::ChainApi` trait, so tests can drive the services with a fake chain. The
//! library has no CLI, no HTTP, no metrics exposition and no process management: the `peerseal`
//! daemon (`crates/daemon`) adds those. Metrics are reported at the source through
//! [`provider::ProviderObserver`].
//!
//! Dependencies and why: `libp2p` (tokio, TCP, noise, yamux, request-response: the transport
//! the protocol crate's codec plugs into); `tokio` and `futures` (the runtime and the swarm's
//! stream); `blahaj` (Shamir secret sharing over GF(256): the maintained fork of `sharks` —
//! `sharks` 0.5 is unmaintained since 2021 and its coefficient sampling was biased, fixed in
//! `blahaj` — small, no prime-field bignum machinery as `vsss-rs` would bring, and its `Share`
//! and field elements zeroize on drop); `chacha20` (its `rng` feature: the seeded CSPRNG for
//! deterministic dealing); `hkdf` + `sha2` (the dealing seed and the key commitment); `backon`
//! (exponential backoff with jitter as a plain iterator of delays; maintained, unlike `backoff`
//! 0.4, which is flagged unmaintained); `tdx-quote` (the PCK of a registered production quote);
//! `subxt-signer` (the sr25519 key type `peerseal-chain` signs with, wrapped so it also signs
//! protocol messages); `rand` (OS randomness for nonces and challenges); `codec` (SCALE for
//! hashes and held records); `zeroize`/`subtle` (secrets wiped, commitments compared in constant
//! time); `hex` (account display); `tracing` and `thiserror`; and the project crates
//! `peerseal-protocol`, `-attestation`, `-kvdb`, `-chain` and `-primitives`. The `dev` feature
//! adds `peerseal-devkeys` for [`identity::NodeKeys::dev`]; production builds leave it off.

pub mod client;
pub mod coalesce;
pub mod cold_start;
pub mod identity;
pub mod network;
pub mod provider;
pub mod retry;
pub mod submit;

pub use client::failure::{FailureReason, ProviderFailure};
pub use client::health::{HealthPolicy, HealthTracker, Replace};
pub use client::recovery::{Recovered, RecoveryError};
pub use client::{
    BackupClient, BackupReport, ClientConfig, ClientError, HealthReport, HealthStatus,
};
pub use identity::{NodeKeys, TssSigner};
pub use network::{InboundRequest, NetworkConfig, NetworkHandle, NetworkObserver, RequestError};
pub use provider::held::HeldShares;
pub use provider::{Provider, ProviderConfig, ProviderObserver};
pub use retry::{Backoff, Retry, Shutdown, ShutdownSignal, Stopped};
pub use submit::TxSubmitter;
