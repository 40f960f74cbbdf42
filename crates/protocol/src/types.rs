//! Fixed-size identifiers and keys that appear on the wire.
//!
//! Public values print as hex in `Debug` (useful in logs); the one secret type here,
//! [`X25519Secret`], zeroizes on drop and never prints its bytes.

use codec::{Decode, Encode, MaxEncodedLen};
use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

macro_rules! public_bytes {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Encode, Decode, MaxEncodedLen)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl From<[u8; $len]> for $name {
            fn from(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(0x{})"), hex::encode(self.0))
            }
        }
    };
}

/// A TSS account: the 32-byte sr25519 public key, the same bytes as a Substrate `AccountId32`;
/// the one account type of protocol, chain client and daemon.
pub use peerseal_primitives::AccountId;
public_bytes!(
    /// An x25519 public key (a provider's on-chain key, or a recovering node's response key).
    X25519Public,
    32
);
public_bytes!(
    /// A 32-byte single-use nonce (recovery) or challenge (health check).
    Nonce32,
    32
);
public_bytes!(
    /// An sr25519 signature (schnorrkel, signing context `b"substrate"`).
    Signature,
    64
);

/// An x25519 secret key (32 bytes, clamped when used). Zeroized on drop; `Debug` is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct X25519Secret([u8; 32]);

impl X25519Secret {
    /// Wraps secret bytes (e.g. `peerseal_devkeys`'s `x25519_secret`, or 32 fresh random bytes).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random secret from the operating system's RNG (a one-off response key).
    pub fn generate() -> Self {
        Self(x25519_dalek::StaticSecret::random().to_bytes())
    }

    /// The matching public key (`X25519(clamp(sk), 9)`, as x25519-dalek and RFC 9180 compute it).
    pub fn public(&self) -> X25519Public {
        X25519Public(
            x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(self.0)).to_bytes(),
        )
    }

    /// The secret bytes, for the HPKE key schedule only.
    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for X25519Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "X25519Secret(<redacted>, public {:?})", self.public())
    }
}
