//! `peerseal`: the TSS node daemon. It owns one node's life in one state machine
//! ([`phase`]): connect to the chain, unlock the encrypted store ([`unlock`]: create it at the
//! first start, recover its key from the backup providers after a restart), serve as a provider
//! for other nodes, keep this node's own backup current ([`rotation`]: back up, and rotate the
//! key when a provider leaves or fails), and follow the chain. Around that: the configuration
//! ([`config`]: TOML file, flags, environment), the command line ([`cli`]), the local HTTP
//! endpoint ([`http`]: `/health`, `/status`, `/metrics`, `/identity`) with its [`metrics`],
//! self-registration ([`registration`]: the node quotes for its stash's nonce; [`register`]: the
//! operator's `peerseal register` / `peerseal leave`), and the files in the data directory
//! ([`recovery_file`], public; [`stored_identity`], inside the store). The
//! backup protocol itself is the `peerseal-backup` library. Errors are values ([`error`]) with
//! stable labels.
//!
//! The `dev` feature adds the dev conveniences — `--dev-identity`, mock quotes, acceptance of a
//! chain in the dev PCK mode, the [`fault`] hooks of the crash tests — and the `peerseal-dev`
//! binary. `cargo build --release -p peerseal` builds none of them.
//!
//! Dependencies and why: `clap` (flags with environment fallbacks, already the dev chain node's
//! parser), `toml` + `serde` (the config file), `serde_json` (status and recovery file), `hyper`
//! 1 + `hyper-util` + `http-body-util` (the HTTP endpoint and its client: already in the lockfile
//! through subxt/jsonrpsee, much smaller than a web framework for three GET routes),
//! `prometheus` 0.13 without default features (text exposition only; already in the lockfile
//! through Substrate), `tracing-subscriber` (log output; its `json` formatter for
//! `--log-format json`), `anyhow` (errors at the binary's edge), `hex` (accounts in files and
//! status), `subxt` + `subxt-signer` (the operator commands sign and submit the stash's calls
//! with the chain's own metadata, and parse SS58), and the project crates.

pub mod cli;
pub mod cold_start;
pub mod config;
pub mod context;
pub mod daemon;
pub mod epochs;
pub mod error;
pub mod fault;
pub mod http;
pub mod metrics;
pub mod phase;
pub mod recovery_file;
pub mod recovery_operator;
pub mod register;
pub mod registration;
pub mod rotation;
pub mod stored_identity;
pub mod trust_root;
pub mod unlock;

pub use daemon::run;
pub use error::DaemonError;
pub use phase::{Phase, Status};
