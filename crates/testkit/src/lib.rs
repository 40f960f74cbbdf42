//! One harness for everything that runs peerseal as real processes on loopback: the devnet demo
//! (`peerseal-devnet`), the end-to-end tests (`tests/`), the crate integration tests that need a
//! chain, and the benches. [`DevChain`] starts a `peerseal-node` dev chain; [`TssDaemon`] starts a
//! `peerseal-dev run` TSS node and reads its `/status` as the daemon's own typed
//! [`peerseal::Status`]; [`governance`] submits the sudo calls governance makes; [`ports`] is the
//! lock every user of the dev identities' fixed p2p ports takes; [`binaries`] finds (or builds
//! once) the binaries; [`process`] is the one child-process wrapper all of them use, killed and
//! reaped on drop; [`rpc_proxy`] is a man-in-the-middle JSON-RPC WebSocket proxy that security
//! tests put between a client and the dev chain to play a malicious endpoint; [`flood`] holds the
//! attacker peers of the flood test and the recovery bench; [`chain::spec_with_servers`] writes a
//! dev chain spec with extra servers registered at genesis (many distinct accounts for benches).
//! Panics are not
//! used for control flow here: every fallible step returns a [`HarnessError`], which tests may
//! `unwrap` and the devnet reports.
//!
//! Dependencies: the `peerseal` daemon crate (its `Status` type and HTTP client, without the
//! `dev` feature), `tokio` (async polling), `subxt` + `subxt-signer` (governance calls, the same
//! client the chain crate uses), `serde_json`, `thiserror`; for the RPC proxy,
//! `tokio-tungstenite` (WebSocket server and client in one maintained crate on tokio 1, with
//! explicit ping/pong/close frames for relaying; only its `connect` feature, no TLS: loopback);
//! jsonrpsee's `soketto` was the other candidate already built, but it answers control frames
//! itself and needs the HTTP upgrade written by hand) and `futures` (its `Stream`/`Sink`);
//! `peerseal-backup` for the flood attackers, which speak the backup protocol through the
//! library's own network loop rather than a second implementation of it.

pub mod binaries;
pub mod chain;
pub mod daemon;
pub mod flood;
pub mod governance;
pub mod operator;
pub mod ports;
pub mod process;
pub mod raw_frames;
pub mod rpc_proxy;
pub mod trust;

pub use binaries::{node_binary, peerseal_binary, peerseal_dev_binary, profile_dir};
pub use chain::{spec_with_servers, DevChain, GenesisServer};
pub use daemon::{snapshot, DaemonOptions, TssDaemon};
pub use ports::{dev_ports, DevPortsGuard};
pub use process::{wait_for_line, Process};
pub use rpc_proxy::{tamper, RpcProxy, Tamper, Verdict};
pub use trust::{connect_chain, genesis_trust_root, production_binary_trusting, write_trust_root};

/// Why a harness step failed.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A process could not be started, or did not come up in time.
    #[error("{0}")]
    Process(String),
    /// A node did not reach the wanted state in time.
    #[error("{0}")]
    Timeout(String),
    /// A chain call failed.
    #[error("chain: {0}")]
    Chain(String),
    /// A file operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
