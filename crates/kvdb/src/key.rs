//! Database keys: generation, constant-time comparison, zeroization, and the sealing cipher
//! derived from each epoch key.
//!
//! The raw epoch key never encrypts anything itself: records, the key check and wrapped keys are
//! sealed under a subkey derived with HKDF under an internal label, so that no output of the
//! public [`crate::derive`] function can ever equal a sealing key.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::derive::{hkdf_expand, Domain};
use crate::error::{Error, Result};

/// Length of a database key in bytes.
pub const KEY_LEN: usize = 32;
/// XChaCha20-Poly1305 nonce length.
pub const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;

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

/// The key of one epoch together with the cipher derived from it.
pub(crate) struct EpochKey {
    pub(crate) epoch: u64,
    pub(crate) key: DbKey,
    cipher: XChaCha20Poly1305,
}

impl EpochKey {
    pub(crate) fn new(epoch: u64, key: DbKey) -> Result<Self> {
        let sealing: Zeroizing<[u8; KEY_LEN]> = {
            let mut out = Zeroizing::new([0u8; KEY_LEN]);
            hkdf_expand(key.expose_secret(), &Domain::Internal(b"sealing"), out.as_mut_slice())?;
            out
        };
        // `XChaCha20Poly1305` zeroizes its key copy on drop (chacha20poly1305 0.10 `impl Drop`).
        let cipher = XChaCha20Poly1305::new(Key::from_slice(sealing.as_slice()));
        Ok(Self { epoch, key, cipher })
    }

    /// Encrypts `buf[start..]` in place and appends the tag. `nonce` must be fresh.
    pub(crate) fn seal_tail(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut Vec<u8>,
        start: usize,
    ) -> Result<()> {
        let tag = self
            .cipher
            .encrypt_in_place_detached(XNonce::from_slice(nonce), aad, &mut buf[start..])
            // Only fails for plaintexts beyond 256 GiB, which MAX_VALUE_LEN rules out.
            .map_err(|_| Error::ValueTooLarge { len: buf.len(), max: crate::MAX_VALUE_LEN })?;
        buf.extend_from_slice(&tag);
        Ok(())
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
        let mut plain = Zeroizing::new(ciphertext.to_vec());
        self.cipher
            .decrypt_in_place_detached(
                XNonce::from_slice(nonce),
                aad,
                plain.as_mut_slice(),
                chacha20poly1305::Tag::from_slice(tag),
            )
            .ok()?;
        Some(plain)
    }
}

/// A fresh random nonce from a CSPRNG seeded by the OS (rand's thread RNG).
pub(crate) fn fresh_nonce() -> Result<[u8; NONCE_LEN]> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::thread_rng().try_fill_bytes(&mut nonce).map_err(|_| Error::Rng)?;
    Ok(nonce)
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
