//! Database keys: generation, constant-time comparison, zeroization, and the sealing key
//! derived from each epoch key.
//!
//! The raw epoch key never encrypts anything itself: records, the key check and wrapped keys are
//! sealed under a subkey derived with HKDF under an internal label, so that no output of the
//! public [`crate::derive`] function can ever equal a sealing key.

use rand::RngCore;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::aead::SealingKey;
use crate::derive::{hkdf_expand, Domain};
use crate::error::{Error, Result};

/// Length of a database key in bytes.
pub const KEY_LEN: usize = 32;
/// XChaCha20-Poly1305 nonce length.
pub const NONCE_LEN: usize = crate::aead::XNONCE_LEN;
/// Poly1305 tag length.
pub const TAG_LEN: usize = crate::aead::TAG_LEN;

/// A 256-bit database key. Zeroized on drop, compared in constant time, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DbKey([u8; KEY_LEN]);

impl DbKey {
    /// A fresh key from the operating system's RNG.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; KEY_LEN];
        rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|_| Error::Rng)?;
        Ok(Self(bytes))
    }

    /// Wraps existing key bytes (for example a key recovered from backup providers).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes, for backing the key up. Handle with care: wrap copies in `Zeroizing`.
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl ConstantTimeEq for DbKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for DbKey {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.ct_eq(other))
    }
}

impl Eq for DbKey {}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(<redacted>)")
    }
}

/// The key of one epoch together with the sealing key derived from it.
pub(crate) struct EpochKey {
    pub(crate) epoch: u64,
    pub(crate) key: DbKey,
    sealing: SealingKey,
}

impl EpochKey {
    pub(crate) fn new(epoch: u64, key: DbKey) -> Result<Self> {
        let mut sealing = Zeroizing::new([0u8; KEY_LEN]);
        hkdf_expand(key.expose_secret(), &Domain::Internal(b"sealing"), sealing.as_mut_slice())?;
        Ok(Self { epoch, key, sealing: SealingKey::new(sealing)? })
    }

    /// A nonce never used before under this key (see [`crate::aead`]).
    pub(crate) fn next_nonce(&self) -> Result<[u8; NONCE_LEN]> {
        self.sealing.next_nonce()
    }

    /// Encrypts `buf` in place and returns the tag. `nonce` must come from [`Self::next_nonce`].
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        self.sealing.seal_in_place(nonce, aad, buf)
    }

    /// Decrypts `ciphertext` into `out` (same length); `false` when authentication fails.
    pub(crate) fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8],
        out: &mut [u8],
    ) -> bool {
        self.sealing.open_into(nonce, aad, ciphertext, tag, out)
    }

    /// Decrypts `sealed` (ciphertext ‖ tag); `None` when authentication fails.
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        let split = sealed.len().checked_sub(TAG_LEN)?;
        let (ciphertext, tag) = sealed.split_at(split);
        let mut plain = Zeroizing::new(vec![0u8; ciphertext.len()]);
        self.open_into(nonce, aad, ciphertext, tag, &mut plain).then_some(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let key = DbKey::from_bytes([0x42; KEY_LEN]);
        let shown = format!("{key:?}");
        assert!(!shown.contains("42") && !shown.contains("66"), "{shown}");
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(DbKey::from_bytes([1; 32]), DbKey::from_bytes([1; 32]));
        assert_ne!(DbKey::from_bytes([1; 32]), DbKey::from_bytes([2; 32]));
    }

    #[test]
    fn generated_keys_differ() -> Result<()> {
        assert_ne!(DbKey::generate()?, DbKey::generate()?);
        Ok(())
    }
}
