//! `peerseal-node`: a single-process dev chain that executes `peerseal-runtime` natively, the way
//! a Substrate node drives its runtime through runtime-API calls, and serves the standard
//! Substrate JSON-RPC so unmodified clients (subxt, polkadot.js, py-substrate-interface) work.
//!
//! A full Substrate node needs a wasm runtime and about a thousand crates, which this project's
//! machines cannot build in reasonable time; the runtime is the same FRAME code either way, and
//! the TSS node only ever talks JSON-RPC, exactly as it would to a production chain.
//! [`executor`] runs runtime calls inside externalities, [`chain`] seals blocks (instant and
//! interval sealing, instant finality) and keeps the state of recent blocks, [`finality`]
//! follows the GRANDPA authority set and signs a justification for every block, [`pool`] holds
//! submitted extrinsics, [`store`] persists blocks under `--base-path`, [`rpc`] serves
//! JSON-RPC, [`spec`] reads and writes chain specs.
//!
//! Dependencies and why: `sp-state-machine`/`sp-externalities`/`sp-io` (the same externalities a
//! real node's executor provides), `jsonrpsee` (the JSON-RPC server Substrate itself uses; the
//! traits are declared here instead of depending on `sc-rpc-api`, which pulls in the whole client
//! stack), `sled` (block persistence, already the project's storage engine), `clap`, `tracing`,
//! `sp-consensus-grandpa` and `finality-grandpa` (the GRANDPA justification, commit, precommit
//! and digest types and `localized_payload`, so what the node signs is byte-for-byte what any
//! GRANDPA light client verifies; the `sc-*` client crates are avoided as above), `sp-keyring`
//! (the ed25519 dev keys Alice..Ferdie the node signs with).

pub mod chain;
pub mod executor;
pub mod finality;
pub mod pool;
pub mod rpc;
pub mod spec;
pub mod store;
pub mod types;

pub use chain::{Chain, ChainConfig};
pub use executor::Executor;
