//! The node's identity kept inside its encrypted store, so the keys never exist on disk in
//! plaintext: either the name of a dev identity (whose keys are public by design) or the three
//! secrets generated at the first start (sr25519 TSS account seed, x25519, libp2p ed25519).
//! Also the first-start marker, a random value written once and read back after each restart.

use codec::{Decode, Encode};
use peerseal_backup::identity::{IdentityError, NodeKeys, TssSigner};
use peerseal_kvdb::Store;
use peerseal_protocol::X25519Secret;
use rand::RngCore;
use zeroize::{Zeroize, Zeroizing};

const TREE: &str = "node";
const IDENTITY: &[u8] = b"identity";
const MARKER: &[u8] = b"first-start-marker";
/// Bound on the stored identity record (a dev name or three 32-byte secrets).
const MAX_IDENTITY_LEN: usize = 256;

/// What is stored. Secrets are wiped on drop; `Debug` is not derived.
#[derive(Encode, Decode)]
pub enum StoredIdentity {
    /// A dev identity from `peerseal-devkeys`, by name.
    Dev(String),
    /// Generated secrets.
    Generated {
        /// sr25519 mini secret key of the TSS account.
        sr25519: [u8; 32],
        /// x25519 secret.
        x25519: [u8; 32],
        /// libp2p ed25519 seed.
        ed25519: [u8; 32],
    },
}

impl Drop for StoredIdentity {
    fn drop(&mut self) {
        match self {
            StoredIdentity::Dev(name) => name.zeroize(),
            StoredIdentity::Generated { sr25519, x25519, ed25519 } => {
                sr25519.zeroize();
                x25519.zeroize();
                ed25519.zeroize();
            }
        }
    }
}

/// Why the identity could not be stored or loaded.
#[derive(Debug, thiserror::Error)]
pub enum StoredIdentityError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] peerseal_kvdb::Error),
    /// The store holds no identity (not a peerseal node's store).
    #[error("the store holds no node identity")]
    Missing,
    /// The record does not decode.
    #[error("the stored identity record is damaged")]
    Damaged,
    /// The keys could not be built.
    #[error("identity: {0}")]
    Keys(#[from] IdentityError),
    /// The store holds a dev identity, which a production build refuses (its keys are public).
    #[error("the store holds a dev identity, which a production build refuses")]
    DevIdentity,
    /// The sr25519 secret was refused.
    #[error("the stored sr25519 secret is invalid")]
    BadSr25519,
}

impl StoredIdentity {
    /// Fresh secrets from the operating system's RNG.
    pub fn generate() -> Self {
        let fill = || {
            let mut b = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut b);
            b
        };
        StoredIdentity::Generated { sr25519: fill(), x25519: fill(), ed25519: fill() }
    }

    /// The keys this identity stands for.
    pub fn keys(&self) -> Result<NodeKeys, StoredIdentityError> {
        match self {
            #[cfg(feature = "dev")]
            StoredIdentity::Dev(name) => Ok(NodeKeys::dev(name)?),
            #[cfg(not(feature = "dev"))]
            StoredIdentity::Dev(_) => Err(StoredIdentityError::DevIdentity),
            StoredIdentity::Generated { sr25519, x25519, ed25519 } => {
                let pair = subxt_signer::sr25519::Keypair::from_secret_key(*sr25519)
                    .map_err(|_| StoredIdentityError::BadSr25519)?;
                let mut seed = Zeroizing::new(*ed25519);
                let libp2p = libp2p::identity::Keypair::ed25519_from_bytes(&mut *seed)
                    .map_err(|_| IdentityError::BadLibp2pKey)?;
                Ok(NodeKeys {
                    signer: TssSigner::from_keypair(pair),
                    x25519: X25519Secret::from_bytes(*x25519),
                    libp2p,
                })
            }
        }
    }

    /// Writes the identity into `store` (first start).
    pub fn save(&self, store: &Store) -> Result<(), StoredIdentityError> {
        let bytes = Zeroizing::new(self.encode());
        store.tree(TREE)?.insert(IDENTITY, &*bytes)?;
        Ok(())
    }

    /// Reads the identity from `store`.
    pub fn load(store: &Store) -> Result<Self, StoredIdentityError> {
        let value = store.tree(TREE)?.get(IDENTITY)?.ok_or(StoredIdentityError::Missing)?;
        let bytes: &[u8] = value.as_ref();
        if bytes.len() > MAX_IDENTITY_LEN {
            return Err(StoredIdentityError::Damaged);
        }
        let mut input = bytes;
        let decoded = Self::decode(&mut input).map_err(|_| StoredIdentityError::Damaged)?;
        if !input.is_empty() {
            return Err(StoredIdentityError::Damaged);
        }
        Ok(decoded)
    }
}

/// Reads the first-start marker, writing a random one if the store has none yet.
pub fn first_start_marker(store: &Store) -> Result<[u8; 16], StoredIdentityError> {
    let tree = store.tree(TREE)?;
    if let Some(value) = tree.get(MARKER)? {
        let bytes: &[u8] = value.as_ref();
        return bytes.try_into().map_err(|_| StoredIdentityError::Damaged);
    }
    let mut marker = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut marker);
    tree.insert(MARKER, marker)?;
    store.flush()?;
    Ok(marker)
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerseal_kvdb::DbKey;

    #[test]
    fn generated_identity_round_trips_through_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let key = DbKey::generate().unwrap();
        let store = Store::create(dir.path().join("db"), &key).unwrap();
        let id = StoredIdentity::generate();
        let keys = id.keys().unwrap();
        id.save(&store).unwrap();
        let loaded = StoredIdentity::load(&store).unwrap().keys().unwrap();
        assert_eq!(loaded.account(), keys.account());
        assert_eq!(loaded.peer_id(), keys.peer_id());
        assert_eq!(loaded.x25519.public(), keys.x25519.public());
        let marker = first_start_marker(&store).unwrap();
        assert_eq!(first_start_marker(&store).unwrap(), marker);
    }

    #[test]
    fn a_store_without_identity_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path().join("db"), &DbKey::generate().unwrap()).unwrap();
        assert!(matches!(StoredIdentity::load(&store), Err(StoredIdentityError::Missing)));
    }
}
