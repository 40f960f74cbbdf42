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

/// The TSS node's trust root for the chain whose genesis is `genesis` (JSON, the format of
/// `peerseal_chain::TrustRoot`): the genesis hash, and the genesis GRANDPA set as a checkpoint at
/// block 0, so a TSS node needs no proof of the (possibly pruned) genesis state to start.
pub fn trust_root(
    executor: &Executor,
    genesis: &spec::GenesisSource,
) -> Result<serde_json::Value, executor::CallError> {
    let (state, header) = executor.genesis_state(genesis)?;
    let authorities: sp_consensus_grandpa::AuthorityList =
        executor.call_decode(&state, "GrandpaApi_grandpa_authorities", &[])?;
    let hash = format!("0x{}", hex::encode(header.hash()));
    let authorities: Vec<serde_json::Value> = authorities
        .iter()
        .map(|(id, weight)| {
            serde_json::json!({
                "key": format!("0x{}", hex::encode(id.clone().into_inner().0)),
                "weight": weight,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "genesis_hash": hash,
        "checkpoint": { "number": 0, "hash": hash, "set_id": 0, "authorities": authorities },
    }))
}
