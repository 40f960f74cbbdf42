//! Chain specs: the dev chain's, and reading/writing the JSON form (`build-spec`, `--chain`).
//!
//! The JSON follows the shape of Substrate chain specs (`name`, `id`, `chainType`, `properties`,
//! and either `genesis.runtimeGenesis { code, patch }` or, with `build-spec --raw`,
//! `genesis.raw { top, childrenDefault }`: every genesis storage entry, hex). The dev node runs
//! the runtime natively, so it never executes `code`; it stores it at `:code` like any
//! Substrate node, so a spec with the wasm runtime (`scripts/build-runtime-wasm.sh`) has the
//! same genesis hash here as in any other Substrate executor started from it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::executor::Executor;

/// A chain spec, with every field a Substrate chain spec (`sc-chain-spec`) writes, so a spec
/// from Substrate's own tools (`chain-spec-builder`, a node's `build-spec`) loads here and a
/// spec from here loads there. Unknown fields are still refused: a typo must not silently
/// start another chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChainSpec {
    pub name: String,
    pub id: String,
    pub chain_type: String,
    /// Peers a networked node dials first. The dev node has no peer-to-peer network: kept for
    /// other nodes that take this spec.
    #[serde(default)]
    pub boot_nodes: Vec<String>,
    /// Telemetry servers (unused here, kept as written).
    #[serde(default)]
    pub telemetry_endpoints: Option<serde_json::Value>,
    /// Network protocol id of a networked node (unused here, kept as written).
    #[serde(default)]
    pub protocol_id: Option<String>,
    /// Fork id of a networked node (unused here, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_id: Option<String>,
    #[serde(default)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// Runtime code to use from a block on instead of `:code`. The dev node runs the runtime
    /// natively and cannot substitute code, so a spec with any is refused
    /// ([`SpecError::CodeSubstitutes`]) rather than run with other rules than it says.
    #[serde(default)]
    pub code_substitutes: BTreeMap<String, String>,
    /// Cumulus' chain spec extension, which `polkadot-omni-node` reads: the relay chain's name
    /// (`build-spec --para-id`; the dev node ignores it).
    #[serde(
        default,
        rename = "relay_chain",
        alias = "relayChain",
        skip_serializing_if = "Option::is_none"
    )]
    pub relay_chain: Option<String>,
    /// Cumulus' chain spec extension: the parachain id omni-node's manual seal mocks its
    /// relay-chain inherent with (the dev node ignores it).
    #[serde(
        default,
        rename = "para_id",
        alias = "paraId",
        skip_serializing_if = "Option::is_none"
    )]
    pub para_id: Option<u32>,
    pub genesis: Genesis,
}

/// The genesis section: a runtime genesis config, or raw storage.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Genesis {
    /// A patch over the runtime's default genesis config, with the runtime code.
    RuntimeGenesis(RuntimeGenesis),
    /// Every genesis storage entry.
    Raw(RawGenesis),
}

/// A patch over the runtime's default genesis config (what `GenesisBuilder_build_state` takes)
/// and the wasm runtime (`0x` hex) that goes to `:code`, if the spec carries one.
/// A full genesis config (`config`, as `chain-spec-builder` writes for a full config) is read
/// as a patch: the runtime's `GenesisBuilder_build_state` merges either over its defaults.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeGenesis {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(alias = "config")]
    pub patch: serde_json::Value,
}

/// Raw genesis storage: `0x` hex keys to `0x` hex values (child tries are not used).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawGenesis {
    pub top: BTreeMap<String, String>,
    #[serde(default)]
    pub children_default: BTreeMap<String, serde_json::Value>,
}

/// What the chain's genesis state is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GenesisSource {
    /// `GenesisBuilder_build_state(patch)`, plus `:code` = `code` when given.
    Patch {
        /// The genesis config patch, JSON.
        patch: Vec<u8>,
        /// The wasm runtime.
        code: Option<Vec<u8>>,
    },
    /// These storage entries, exactly.
    Raw(BTreeMap<Vec<u8>, Vec<u8>>),
}

/// The storage key of the runtime code.
pub const CODE_KEY: &[u8] = b":code";

/// Largest chain spec file accepted.
pub const MAX_SPEC_BYTES: u64 = 16 * 1024 * 1024;

/// Why a chain spec cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("the runtime has no genesis preset {0:?}")]
    NoPreset(String),
    #[error(transparent)]
    Runtime(#[from] crate::executor::CallError),
    #[error("chain spec is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("chain spec file is larger than {MAX_SPEC_BYTES} bytes")]
    TooLarge,
    #[error("cannot read chain spec: {0}")]
    Io(#[from] std::io::Error),
    #[error("chain spec field {0} is not 0x-prefixed hex")]
    Hex(String),
    #[error("raw chain specs with child tries are not supported")]
    ChildTries,
    #[error(
        "the chain spec has codeSubstitutes: this node runs the runtime natively and cannot \
         substitute code (run that spec on a node that executes wasm)"
    )]
    CodeSubstitutes,
}

fn from_hex(field: &str, text: &str) -> Result<Vec<u8>, SpecError> {
    let digits = text.strip_prefix("0x").ok_or_else(|| SpecError::Hex(field.to_owned()))?;
    hex::decode(digits).map_err(|_| SpecError::Hex(field.to_owned()))
}

fn to_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn dev_properties() -> serde_json::Map<String, serde_json::Value> {
    let mut props = serde_json::Map::new();
    props.insert("ss58Format".into(), 42.into());
    props.insert("tokenDecimals".into(), 12.into());
    props.insert("tokenSymbol".into(), "UNIT".into());
    props
}

impl ChainSpec {
    /// The dev chain: the runtime's "development" genesis preset.
    pub fn dev(executor: &Executor) -> Result<Self, SpecError> {
        Self::from_preset(executor, "development")
    }

    /// The chain of the runtime's genesis preset `name`: `development` (the dev chain) or
    /// `local_testnet` (three GRANDPA authorities, the production PCK mode, no pre-registered
    /// server).
    pub fn from_preset(executor: &Executor, name: &str) -> Result<Self, SpecError> {
        let preset =
            executor.genesis_preset(name)?.ok_or_else(|| SpecError::NoPreset(name.into()))?;
        let (display, id, chain_type) = match name {
            "development" => ("peerseal dev", "peerseal_dev", "Development"),
            _ => ("peerseal local testnet", "peerseal_local_testnet", "Local"),
        };
        Ok(Self {
            name: display.into(),
            id: id.into(),
            chain_type: chain_type.into(),
            boot_nodes: Vec::new(),
            telemetry_endpoints: None,
            protocol_id: None,
            fork_id: None,
            properties: dev_properties(),
            code_substitutes: BTreeMap::new(),
            relay_chain: None,
            para_id: None,
            genesis: Genesis::RuntimeGenesis(RuntimeGenesis {
                code: None,
                patch: serde_json::from_slice(&preset)?,
            }),
        })
    }

    /// This spec with `code` as its runtime (a runtime genesis spec; a raw one gets `:code`).
    pub fn with_code(mut self, code: &[u8]) -> Self {
        match &mut self.genesis {
            Genesis::RuntimeGenesis(g) => g.code = Some(to_hex(code)),
            Genesis::Raw(raw) => {
                raw.top.insert(to_hex(CODE_KEY), to_hex(code));
            }
        }
        self
    }

    /// This spec in raw form: every storage entry of its genesis state, as `executor` builds it.
    pub fn into_raw(self, executor: &Executor) -> Result<Self, SpecError> {
        let storage = executor.genesis_storage(&self.genesis()?)?;
        let top = storage.iter().map(|(k, v)| (to_hex(k), to_hex(v))).collect();
        Ok(Self {
            genesis: Genesis::Raw(RawGenesis { top, children_default: BTreeMap::new() }),
            ..self
        })
    }

    /// Reads a chain spec file (bounded in size).
    pub fn from_file(path: &std::path::Path) -> Result<Self, SpecError> {
        if std::fs::metadata(path)?.len() > MAX_SPEC_BYTES {
            return Err(SpecError::TooLarge);
        }
        Ok(serde_json::from_slice(&std::fs::read(path)?)?)
    }

    /// This spec with Cumulus' chain spec extension (`relay_chain`, `para_id`), which
    /// `polkadot-omni-node` requires before it starts even a manual-seal dev chain. Genesis
    /// storage does not change.
    pub fn with_parachain_extension(mut self, relay_chain: &str, para_id: u32) -> Self {
        self.relay_chain = Some(relay_chain.into());
        self.para_id = Some(para_id);
        self
    }

    /// What the genesis state is built from.
    pub fn genesis(&self) -> Result<GenesisSource, SpecError> {
        if !self.code_substitutes.is_empty() {
            return Err(SpecError::CodeSubstitutes);
        }
        match &self.genesis {
            Genesis::RuntimeGenesis(g) => Ok(GenesisSource::Patch {
                patch: serde_json::to_vec(&g.patch)?,
                code: g
                    .code
                    .as_deref()
                    .map(|c| from_hex("genesis.runtimeGenesis.code", c))
                    .transpose()?,
            }),
            Genesis::Raw(raw) => {
                if !raw.children_default.is_empty() {
                    return Err(SpecError::ChildTries);
                }
                let mut top = BTreeMap::new();
                for (k, v) in &raw.top {
                    top.insert(from_hex("genesis.raw.top", k)?, from_hex("genesis.raw.top", v)?);
                }
                Ok(GenesisSource::Raw(top))
            }
        }
    }
}
