//! The standard Substrate JSON-RPC calls the verifier makes, with their answers parsed strictly.
//! Nothing here is trusted: every answer is checked by the caller (headers by hash and
//! justification, storage by read proof). Only the shapes are checked here.

use serde::Deserialize;
use sp_core::H256;
use subxt::ext::jsonrpsee::core::client::ClientT;
use subxt::ext::jsonrpsee::rpc_params;
use subxt::ext::jsonrpsee::ws_client::WsClient;

use super::finality::Header;
use crate::error::ChainError;

/// GRANDPA's consensus engine id, `FRNK`.
const GRANDPA_ENGINE: [u8; 4] = *b"FRNK";

/// Bytes as JSON: a `0x` hex string, or an array of numbers (serde's default for `Vec<u8>`,
/// which is how `sp_runtime::Justifications` serializes).
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonBytes {
    Hex(String),
    Array(Vec<u8>),
}

impl JsonBytes {
    fn into_bytes(self) -> Result<Vec<u8>, ChainError> {
        match self {
            JsonBytes::Array(bytes) => Ok(bytes),
            JsonBytes::Hex(text) => {
                let digits = text.strip_prefix("0x").unwrap_or(&text);
                hex::decode(digits).map_err(|e| ChainError::Decode(format!("hex bytes: {e}")))
            }
        }
    }
}

#[derive(Deserialize)]
struct JsonBlockBody {
    header: Header,
}

#[derive(Deserialize)]
struct JsonSignedBlock {
    block: JsonBlockBody,
    #[serde(default)]
    justifications: Option<Vec<(JsonBytes, JsonBytes)>>,
}

#[derive(Deserialize)]
struct JsonReadProof {
    at: H256,
    proof: Vec<JsonBytes>,
}

/// A header with the GRANDPA justification the endpoint stored for it, if any.
pub(crate) struct BlockWithJustification {
    pub header: Header,
    pub justification: Option<Vec<u8>>,
}

fn rpc_error(method: &str, error: impl core::fmt::Display) -> ChainError {
    ChainError::Rpc(format!("{method}: {error}"))
}

/// `chain_getBlockHash(number)`.
pub(crate) async fn block_hash(rpc: &WsClient, number: u32) -> Result<Option<H256>, ChainError> {
    rpc.request("chain_getBlockHash", rpc_params![number])
        .await
        .map_err(|e| rpc_error("chain_getBlockHash", e))
}

/// `chain_getFinalizedHead` and that header's number (`chain_getHeader`): what the endpoint
/// *claims* is final, used only to know how far to fetch.
pub(crate) async fn claimed_finalized_number(rpc: &WsClient) -> Result<u32, ChainError> {
    let hash: H256 = rpc
        .request("chain_getFinalizedHead", rpc_params![])
        .await
        .map_err(|e| rpc_error("chain_getFinalizedHead", e))?;
    let header: Option<Header> = rpc
        .request("chain_getHeader", rpc_params![hash])
        .await
        .map_err(|e| rpc_error("chain_getHeader", e))?;
    header
        .map(|h| h.number)
        .ok_or_else(|| ChainError::Rpc("chain_getHeader: the finalized head is unknown".into()))
}

/// `chain_getHeader(hash)`.
pub(crate) async fn header(rpc: &WsClient, hash: H256) -> Result<Option<Header>, ChainError> {
    rpc.request("chain_getHeader", rpc_params![hash])
        .await
        .map_err(|e| rpc_error("chain_getHeader", e))
}

/// `chain_getBlock(hash)`: the header and its GRANDPA justification (other engines' are ignored;
/// more than one GRANDPA justification is a malformed answer).
pub(crate) async fn block(
    rpc: &WsClient,
    hash: H256,
) -> Result<Option<BlockWithJustification>, ChainError> {
    let block: Option<JsonSignedBlock> = rpc
        .request("chain_getBlock", rpc_params![hash])
        .await
        .map_err(|e| rpc_error("chain_getBlock", e))?;
    let Some(block) = block else { return Ok(None) };
    let mut justification = None;
    for (engine, data) in block.justifications.unwrap_or_default() {
        let engine = engine.into_bytes()?;
        if engine.as_slice() != GRANDPA_ENGINE {
            continue;
        }
        if justification.is_some() {
            return Err(ChainError::Decode("chain_getBlock: two GRANDPA justifications".into()));
        }
        justification = Some(data.into_bytes()?);
    }
    Ok(Some(BlockWithJustification { header: block.block.header, justification }))
}

/// `state_getReadProof(keys, at)`: the trie nodes proving `keys` at block `at`.
pub(crate) async fn read_proof(
    rpc: &WsClient,
    keys: &[Vec<u8>],
    at: H256,
) -> Result<Vec<Vec<u8>>, ChainError> {
    let keys: Vec<String> = keys.iter().map(|k| format!("0x{}", hex::encode(k))).collect();
    let proof: JsonReadProof = rpc
        .request("state_getReadProof", rpc_params![keys, at])
        .await
        .map_err(|e| rpc_error("state_getReadProof", e))?;
    if proof.at != at {
        return Err(ChainError::Decode("state_getReadProof answered for another block".into()));
    }
    proof.proof.into_iter().map(JsonBytes::into_bytes).collect()
}

/// Dev-only endpoint-finality mode: the values of `keys` at block `at` as the endpoint reports
/// them (`state_queryStorageAt`), with no proof. Matched by key, so the answer's order does not
/// matter; a key the answer leaves out reads as absent.
#[cfg(feature = "insecure-endpoint-finality")]
pub(crate) async fn storage_unproven(
    rpc: &WsClient,
    keys: &[Vec<u8>],
    at: H256,
) -> Result<Vec<Option<Vec<u8>>>, ChainError> {
    #[derive(Deserialize)]
    struct ChangeSet {
        block: H256,
        changes: Vec<(JsonBytes, Option<JsonBytes>)>,
    }
    let hex_keys: Vec<String> = keys.iter().map(|k| format!("0x{}", hex::encode(k))).collect();
    let sets: Vec<ChangeSet> = rpc
        .request("state_queryStorageAt", rpc_params![hex_keys, at])
        .await
        .map_err(|e| rpc_error("state_queryStorageAt", e))?;
    let mut found = std::collections::HashMap::new();
    for set in sets {
        if set.block != at {
            return Err(ChainError::Decode(
                "state_queryStorageAt answered for another block".into(),
            ));
        }
        for (key, value) in set.changes {
            found.insert(key.into_bytes()?, value.map(JsonBytes::into_bytes).transpose()?);
        }
    }
    Ok(keys.iter().map(|k| found.remove(k).flatten()).collect())
}
