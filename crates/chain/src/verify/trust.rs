//! The trust root: what the TSS node believes about the chain before it has talked to any
//! endpoint. It is the genesis hash, plus optionally a later *checkpoint* (a final block with the
//! authority set that finalizes the blocks after it) so a node need not replay the chain from
//! genesis. A production build takes it only from its measured image (see the daemon), never from
//! the host; this module only parses and checks it.
//!
//! File format (JSON, at most [`MAX_TRUST_ROOT_LEN`] bytes):
//! ```json
//! { "genesis_hash": "0x…",
//!   "checkpoint": { "number": 1200, "hash": "0x…", "set_id": 3,
//!                   "authorities": [ { "key": "0x<ed25519>", "weight": 1 } ] } }
//! ```
//! Without a checkpoint the client starts at the genesis header and reads the genesis authority
//! set from the genesis state with a read proof.

use serde::{Deserialize, Serialize};

use super::finality::AuthoritySet;

/// Largest trust-root file accepted.
pub const MAX_TRUST_ROOT_LEN: usize = 256 * 1024;

/// What the client trusts without checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustRoot {
    /// Hash of the chain's genesis header.
    pub genesis_hash: [u8; 32],
    /// A later final block to start from, with the set that finalizes its successors.
    pub checkpoint: Option<Checkpoint>,
}

/// A trusted final block and the authority set after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Block number.
    pub number: u32,
    /// Block hash.
    pub hash: [u8; 32],
    /// The set finalizing the blocks after this one.
    pub set: AuthoritySet,
}

/// Why a trust root was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("invalid trust root: {0}")]
pub struct TrustRootError(pub String);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAuthority {
    key: String,
    weight: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCheckpoint {
    number: u32,
    hash: String,
    set_id: u64,
    authorities: Vec<FileAuthority>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    genesis_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoint: Option<FileCheckpoint>,
}

fn hash32(text: &str, what: &str) -> Result<[u8; 32], TrustRootError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(digits).map_err(|e| TrustRootError(format!("{what}: {e}")))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| TrustRootError(format!("{what}: {} bytes, expected 32", bytes.len())))
}

impl TrustRoot {
    /// A trust root that is just a genesis hash.
    pub fn genesis(genesis_hash: [u8; 32]) -> Self {
        TrustRoot { genesis_hash, checkpoint: None }
    }

    /// Parses the JSON form (module doc) and checks the authority set.
    pub fn from_json(bytes: &[u8]) -> Result<Self, TrustRootError> {
        if bytes.len() > MAX_TRUST_ROOT_LEN {
            return Err(TrustRootError(format!(
                "{} bytes exceed the bound {MAX_TRUST_ROOT_LEN}",
                bytes.len()
            )));
        }
        let file: File =
            serde_json::from_slice(bytes).map_err(|e| TrustRootError(e.to_string()))?;
        let checkpoint = match file.checkpoint {
            None => None,
            Some(c) => {
                let mut authorities = Vec::with_capacity(c.authorities.len());
                for a in &c.authorities {
                    authorities.push((hash32(&a.key, "authority key")?, a.weight));
                }
                let set = AuthoritySet { set_id: c.set_id, authorities };
                set.validate().map_err(|e| TrustRootError(e.to_string()))?;
                Some(Checkpoint {
                    number: c.number,
                    hash: hash32(&c.hash, "checkpoint hash")?,
                    set,
                })
            }
        };
        Ok(TrustRoot { genesis_hash: hash32(&file.genesis_hash, "genesis_hash")?, checkpoint })
    }

    /// The JSON form (module doc).
    pub fn to_json(&self) -> String {
        let file = File {
            genesis_hash: format!("0x{}", hex::encode(self.genesis_hash)),
            checkpoint: self.checkpoint.as_ref().map(|c| FileCheckpoint {
                number: c.number,
                hash: format!("0x{}", hex::encode(c.hash)),
                set_id: c.set.set_id,
                authorities: c
                    .set
                    .authorities
                    .iter()
                    .map(|(key, weight)| FileAuthority {
                        key: format!("0x{}", hex::encode(key)),
                        weight: *weight,
                    })
                    .collect(),
            }),
        };
        // Serializing plain strings and numbers cannot fail.
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_and_without_checkpoint() {
        let plain = TrustRoot::genesis([7; 32]);
        assert_eq!(TrustRoot::from_json(plain.to_json().as_bytes()).unwrap(), plain);
        let with = TrustRoot {
            genesis_hash: [1; 32],
            checkpoint: Some(Checkpoint {
                number: 10,
                hash: [2; 32],
                set: AuthoritySet { set_id: 3, authorities: vec![([4; 32], 1), ([5; 32], 2)] },
            }),
        };
        assert_eq!(TrustRoot::from_json(with.to_json().as_bytes()).unwrap(), with);
    }

    #[test]
    fn bad_files_are_refused() {
        for bad in [
            &b"{}"[..],
            b"{\"genesis_hash\": \"0x12\"}",
            b"{\"genesis_hash\": \"zz\"}",
            b"{\"genesis_hash\": \"0x0000000000000000000000000000000000000000000000000000000000000000\", \"extra\": 1}",
            b"{\"genesis_hash\": \"0x0000000000000000000000000000000000000000000000000000000000000000\", \"checkpoint\": {\"number\": 1, \"hash\": \"0x0000000000000000000000000000000000000000000000000000000000000000\", \"set_id\": 0, \"authorities\": []}}",
            b"not json",
        ] {
            assert!(TrustRoot::from_json(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(TrustRoot::from_json(&vec![b' '; MAX_TRUST_ROOT_LEN + 1]).is_err());
    }
}
