//! The keys a TSS node acts with: its sr25519 TSS account (signs envelopes, receipts and chain
//! transactions), its x25519 key (opens backups sealed to it) and its libp2p ed25519 key (its
//! peer id, authenticated by noise).
//!
//! One sr25519 key type serves both the wire protocol and the chain: [`TssSigner`] wraps
//! `subxt_signer`'s keypair (what `peerseal-chain` signs extrinsics with) and implements the
//! protocol's [`AccountSigner`] with the same `b"substrate"` signing context. Nothing here prints
//! a secret: `subxt_signer`'s own `Debug` would, so the wrapper's is redacted.

use peerseal_protocol::{AccountId, AccountSigner, Signature, X25519Secret};
use std::fmt;
use std::str::FromStr;

/// Why a key could not be built.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The secret URI is malformed or derives no key (the URI itself is never printed).
    #[error("invalid sr25519 secret URI")]
    BadUri,
    /// The libp2p ed25519 secret is not a valid key.
    #[error("invalid libp2p ed25519 secret")]
    BadLibp2pKey,
    /// No dev identity of that name.
    #[error("unknown dev identity {0:?}")]
    UnknownDevName(String),
}

/// The TSS account's sr25519 keypair. The secret is zeroized on drop by schnorrkel; `Debug`
/// shows only the account.
#[derive(Clone)]
pub struct TssSigner(subxt_signer::sr25519::Keypair);

impl TssSigner {
    /// From a secret URI such as `//Alice//tss`.
    pub fn from_uri(uri: &str) -> Result<Self, IdentityError> {
        let uri = subxt_signer::SecretUri::from_str(uri).map_err(|_| IdentityError::BadUri)?;
        subxt_signer::sr25519::Keypair::from_uri(&uri).map(Self).map_err(|_| IdentityError::BadUri)
    }

    /// Wraps an existing keypair.
    pub fn from_keypair(keypair: subxt_signer::sr25519::Keypair) -> Self {
        Self(keypair)
    }

    /// The keypair, for `peerseal_chain::ChainApi` calls that sign transactions.
    pub fn keypair(&self) -> &subxt_signer::sr25519::Keypair {
        &self.0
    }
}

impl AccountSigner for TssSigner {
    fn account(&self) -> AccountId {
        AccountId(self.0.public_key().0)
    }

    fn sign_bytes(&self, message: &[u8]) -> Signature {
        // subxt_signer signs under `b"substrate"`, the context the protocol verifies with.
        Signature(self.0.sign(message).0)
    }
}

impl fmt::Debug for TssSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TssSigner(<secret redacted>, account {:?})", self.account())
    }
}

/// Everything a node needs to serve as provider and to back itself up.
#[derive(Clone)]
pub struct NodeKeys {
    /// The TSS account.
    pub signer: TssSigner,
    /// The x25519 key whose public half is on chain; backups are sealed to it.
    pub x25519: X25519Secret,
    /// The libp2p identity (its peer id is on chain).
    pub libp2p: libp2p::identity::Keypair,
}

impl NodeKeys {
    /// The keys of a dev identity (`alice` .. `ferdie`) from `peerseal-devkeys`: the same keys
    /// the dev chain's genesis registered. Dev and test chains only: exists only with the `dev`
    /// feature.
    #[cfg(feature = "dev")]
    pub fn dev(name: &str) -> Result<Self, IdentityError> {
        let id = peerseal_devkeys::dev_identity(name)
            .ok_or_else(|| IdentityError::UnknownDevName(name.to_owned()))?;
        let signer = TssSigner::from_uri(&id.tss_uri)?;
        let x25519 = X25519Secret::from_bytes(*id.x25519_secret);
        // `ed25519_from_bytes` zeroizes the buffer it is given; give it a copy.
        let mut seed = *id.libp2p_ed25519_secret;
        let libp2p = libp2p::identity::Keypair::ed25519_from_bytes(&mut seed)
            .map_err(|_| IdentityError::BadLibp2pKey)?;
        Ok(Self { signer, x25519, libp2p })
    }

    /// The TSS account.
    pub fn account(&self) -> AccountId {
        self.signer.account()
    }

    /// The libp2p peer id.
    pub fn peer_id(&self) -> libp2p::PeerId {
        self.libp2p.public().to_peer_id()
    }
}

impl fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKeys")
            .field("account", &self.account())
            .field("x25519_public", &self.x25519.public())
            .field("peer_id", &self.peer_id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_keys_match_devkeys_and_sign_like_the_protocol_verifies() {
        let keys = NodeKeys::dev("bob").unwrap();
        let id = peerseal_devkeys::dev_identity("bob").unwrap();
        assert_eq!(keys.account().0, id.tss_account);
        assert_eq!(keys.x25519.public().0, id.x25519_public);
        assert_eq!(keys.peer_id().to_bytes(), id.peer_id);
        let sig = keys.signer.sign_bytes(b"msg");
        assert!(peerseal_protocol::verify_sr25519(&keys.account(), b"msg", &sig));
        let printed = format!("{keys:?} {:?}", keys.signer);
        assert!(printed.contains("redacted") && !printed.contains("secret:"), "{printed}");
    }
}
