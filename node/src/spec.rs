//! Chain specs: the dev chain's, and reading/writing the JSON form (`build-spec`, `--chain`).
//!
//! The JSON follows the shape of Substrate chain specs where it matters to people who know them
//! (`name`, `id`, `chainType`, `properties`, `genesis.runtimeGenesis.patch`); the runtime code is
//! not part of it because the dev node runs the runtime natively.

use serde::{Deserialize, Serialize};

use crate::executor::Executor;

/// A chain spec.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChainSpec {
    pub name: String,
    pub id: String,
    pub chain_type: String,
    #[serde(default)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub genesis: Genesis,
}

/// The genesis section.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Genesis {
    pub runtime_genesis: RuntimeGenesis,
}

/// A patch over the runtime's default genesis config (what `GenesisBuilder_build_state` takes).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeGenesis {
    pub patch: serde_json::Value,
}

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
        let preset = executor
            .genesis_preset("development")?
            .ok_or_else(|| SpecError::NoPreset("development".into()))?;
        Ok(Self {
            name: "peerseal dev".into(),
            id: "peerseal_dev".into(),
            chain_type: "Development".into(),
            properties: dev_properties(),
            genesis: Genesis {
                runtime_genesis: RuntimeGenesis { patch: serde_json::from_slice(&preset)? },
            },
        })
    }

    /// Reads a chain spec file (bounded in size).
    pub fn from_file(path: &std::path::Path) -> Result<Self, SpecError> {
        if std::fs::metadata(path)?.len() > MAX_SPEC_BYTES {
            return Err(SpecError::TooLarge);
        }
        Ok(serde_json::from_slice(&std::fs::read(path)?)?)
    }

    /// The genesis patch as the bytes `GenesisBuilder_build_state` takes.
    pub fn genesis_patch(&self) -> Result<Vec<u8>, SpecError> {
        Ok(serde_json::to_vec(&self.genesis.runtime_genesis.patch)?)
    }
}
