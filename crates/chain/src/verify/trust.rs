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
//!
//! A build with the dev-only `insecure-endpoint-finality` feature also takes
//! `"finality": "endpoint-unverified"`: blocks are final on the endpoint's word, with no GRANDPA
//! justification (for executors that make none, such as chopsticks). Read proofs and the header
//! chain are still checked, but whoever runs the endpoint decides what is final, so such a
//! node trusts its host. Any other build refuses the file.

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
    /// How a block is proven final.
    pub finality: FinalitySource,
}

/// How the client decides that a block is final.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FinalitySource {
    /// A GRANDPA justification by the tracked authority set (the only mode of production builds).
    #[default]
    Grandpa,
    /// Dev only: the endpoint's finalized head, unverified (module doc).
    #[cfg(feature = "insecure-endpoint-finality")]
    EndpointUnverified,
}

impl FinalitySource {
    /// True in the dev-only mode where the endpoint's word is believed: its finalized head
    /// without a justification, its storage without a read proof. Always false in production
    /// builds, which have no such mode.
    pub fn trusts_endpoint(self) -> bool {
        #[cfg(feature = "insecure-endpoint-finality")]
        if self == FinalitySource::EndpointUnverified {
            return true;
        }
        false
    }
}

/// The file's name of [`FinalitySource::EndpointUnverified`].
const ENDPOINT_UNVERIFIED: &str = "endpoint-unverified";

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    finality: Option<String>,
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
        TrustRoot { genesis_hash, checkpoint: None, finality: FinalitySource::Grandpa }
    }

    /// Dev only: the trust root of a chain whose blocks are final on the endpoint's word
    /// ([`FinalitySource::EndpointUnverified`]).
    #[cfg(feature = "insecure-endpoint-finality")]
    pub fn endpoint_unverified(genesis_hash: [u8; 32]) -> Self {
        TrustRoot { genesis_hash, checkpoint: None, finality: FinalitySource::EndpointUnverified }
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
        let finality = match file.finality.as_deref() {
            None | Some("grandpa") => FinalitySource::Grandpa,
            #[cfg(feature = "insecure-endpoint-finality")]
            Some(ENDPOINT_UNVERIFIED) => FinalitySource::EndpointUnverified,
            #[cfg(not(feature = "insecure-endpoint-finality"))]
            Some(ENDPOINT_UNVERIFIED) => {
                return Err(TrustRootError(format!(
                    "finality \"{ENDPOINT_UNVERIFIED}\" is a dev-only mode this build does not have"
                )))
            }
            Some(other) => {
                return Err(TrustRootError(format!(
                    "unknown finality \"{other}\" (expected \"grandpa\")"
                )))
            }
        };
        Ok(TrustRoot {
            genesis_hash: hash32(&file.genesis_hash, "genesis_hash")?,
            checkpoint,
            finality,
        })
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
            finality: match self.finality {
                FinalitySource::Grandpa => None,
                #[cfg(feature = "insecure-endpoint-finality")]
                FinalitySource::EndpointUnverified => Some(ENDPOINT_UNVERIFIED.to_owned()),
            },
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
            finality: FinalitySource::Grandpa,
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

    const GENESIS: &str = "0x0101010101010101010101010101010101010101010101010101010101010101";

    #[test]
    fn finality_defaults_to_grandpa_and_unknown_modes_are_refused() {
        let named = format!("{{\"genesis_hash\": \"{GENESIS}\", \"finality\": \"grandpa\"}}");
        assert_eq!(TrustRoot::from_json(named.as_bytes()).unwrap(), TrustRoot::genesis([1; 32]));
        let unknown = format!("{{\"genesis_hash\": \"{GENESIS}\", \"finality\": \"trust-me\"}}");
        assert!(TrustRoot::from_json(unknown.as_bytes()).is_err());
    }

    /// Without the dev feature (every production build), the file cannot switch off GRANDPA.
    #[cfg(not(feature = "insecure-endpoint-finality"))]
    #[test]
    fn endpoint_finality_is_refused_without_the_dev_feature() {
        let file =
            format!("{{\"genesis_hash\": \"{GENESIS}\", \"finality\": \"{ENDPOINT_UNVERIFIED}\"}}");
        let error = TrustRoot::from_json(file.as_bytes()).unwrap_err();
        assert!(error.0.contains("dev-only"), "{error}");
    }

    #[cfg(feature = "insecure-endpoint-finality")]
    #[test]
    fn endpoint_finality_round_trips_in_dev_builds() {
        let root = TrustRoot::endpoint_unverified([1; 32]);
        assert!(root.to_json().contains(ENDPOINT_UNVERIFIED));
        assert_eq!(TrustRoot::from_json(root.to_json().as_bytes()).unwrap(), root);
    }
}
