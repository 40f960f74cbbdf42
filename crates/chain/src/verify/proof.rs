//! Storage read proofs: the values of a set of keys, proven against a final header's state
//! root with `sp-state-machine`'s proof checker (the one Substrate's light clients use). A proof
//! proves absence as well as presence, so a hidden entry is caught like a rewritten one.

use std::collections::HashMap;

use sp_core::H256;
use sp_runtime::traits::BlakeTwo256;
use sp_trie::StorageProof;

/// Most trie nodes accepted in one proof.
pub const MAX_PROOF_NODES: usize = 16 * 1024;
/// Most bytes of trie nodes accepted in one proof.
pub const MAX_PROOF_BYTES: usize = 16 * 1024 * 1024;

/// Why a read proof was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// The proof exceeds its size bounds.
    #[error("read proof too large: {0}")]
    TooLarge(String),
    /// The proof does not prove the keys against the state root (a value was rewritten,
    /// removed or added, or the proof belongs to another block).
    #[error("read proof does not verify against state root {root}: {reason}")]
    Invalid {
        /// The state root, hex.
        root: String,
        /// What the checker said.
        reason: String,
    },
}

impl ProofError {
    /// Stable label for metrics and status.
    pub fn label(&self) -> &'static str {
        match self {
            ProofError::TooLarge(_) => "proof_too_large",
            ProofError::Invalid { .. } => "proof_invalid",
        }
    }
}

/// Checks `nodes` against `state_root` and returns the proven value (or proven absence) of
/// every key in `keys`, in order.
pub fn check_read_proof(
    state_root: H256,
    nodes: Vec<Vec<u8>>,
    keys: &[Vec<u8>],
) -> Result<Vec<Option<Vec<u8>>>, ProofError> {
    if nodes.len() > MAX_PROOF_NODES {
        return Err(ProofError::TooLarge(format!(
            "{} nodes (at most {MAX_PROOF_NODES})",
            nodes.len()
        )));
    }
    let bytes: usize = nodes.iter().map(Vec::len).sum();
    if bytes > MAX_PROOF_BYTES {
        return Err(ProofError::TooLarge(format!("{bytes} bytes (at most {MAX_PROOF_BYTES})")));
    }
    let invalid = |reason: String| ProofError::Invalid { root: hex::encode(state_root), reason };
    let proof = StorageProof::new(nodes);
    let mut values: HashMap<Vec<u8>, Option<Vec<u8>>> =
        sp_state_machine::read_proof_check::<BlakeTwo256, _>(state_root, proof, keys)
            .map_err(|e| invalid(e.to_string()))?;
    keys.iter()
        .map(|key| {
            values.remove(key).ok_or_else(|| invalid("a key is missing from the result".into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sp_state_machine::{prove_read, InMemoryBackend};

    fn backend() -> InMemoryBackend<BlakeTwo256> {
        let pairs: Vec<(Vec<u8>, Option<Vec<u8>>)> =
            (0u8..50).map(|i| (vec![i, i, i], Some(vec![i; 40]))).collect();
        let mut backend = InMemoryBackend::<BlakeTwo256>::default();
        backend.insert(vec![(None, pairs)], sp_core::storage::StateVersion::V1);
        backend
    }

    fn root(backend: &InMemoryBackend<BlakeTwo256>) -> H256 {
        *backend.root()
    }

    fn prove(backend: &InMemoryBackend<BlakeTwo256>, keys: &[Vec<u8>]) -> Vec<Vec<u8>> {
        prove_read(backend.clone(), keys).expect("prove").into_iter_nodes().collect()
    }

    #[test]
    fn present_and_absent_values_are_proven() {
        let backend = backend();
        let keys = vec![vec![3, 3, 3], vec![99, 99]];
        let values = check_read_proof(root(&backend), prove(&backend, &keys), &keys).unwrap();
        assert_eq!(values, vec![Some(vec![3; 40]), None]);
    }

    #[test]
    fn a_rewritten_value_or_a_foreign_root_fails() {
        let backend = backend();
        let keys = vec![vec![7, 7, 7]];
        let mut nodes = prove(&backend, &keys);
        // Flip the value bytes inside whichever node carries them.
        for node in &mut nodes {
            if let Some(pos) = node.windows(40).position(|w| w == [7u8; 40]) {
                node[pos] ^= 1;
            }
        }
        assert!(matches!(
            check_read_proof(root(&backend), nodes, &keys),
            Err(ProofError::Invalid { .. })
        ));
        let honest = prove(&backend, &keys);
        assert!(check_read_proof(H256::repeat_byte(9), honest, &keys).is_err());
    }

    #[test]
    fn a_proof_missing_nodes_for_a_key_fails() {
        let backend = backend();
        let nodes = prove(&backend, &[vec![1, 1, 1]]);
        // Asking for a key the proof does not cover is not "absent": it is an error.
        let result = check_read_proof(root(&backend), nodes, &[vec![1, 1, 1], vec![40, 40, 40]]);
        assert!(result.is_err(), "{result:?}");
    }

    proptest::proptest! {
        /// Arbitrary trie nodes as a read proof never panic.
        #[test]
        fn arbitrary_read_proofs_never_panic(
            nodes in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256), 0..16),
            key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let _ = check_read_proof(H256::repeat_byte(5), nodes, &[key]);
        }
    }

    #[test]
    fn oversized_proofs_are_refused_before_checking() {
        let nodes = vec![vec![0u8; 1]; MAX_PROOF_NODES + 1];
        assert!(matches!(check_read_proof(H256::zero(), nodes, &[]), Err(ProofError::TooLarge(_))));
    }
}
