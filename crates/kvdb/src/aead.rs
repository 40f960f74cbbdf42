//! XChaCha20-Poly1305 as the store uses it: HChaCha20 (RustCrypto `chacha20`) for the subkey,
//! then ChaCha20-Poly1305 from AWS-LC (`aws-lc-rs`) for the bulk work.
//!
//! XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) with key `K` and 24-byte nonce `N` *is*
//! ChaCha20-Poly1305 with key `HChaCha20(K, N[0..16])` and 12-byte nonce `0⁴ ‖ N[16..24]`, so
//! records sealed here are byte-for-byte what RustCrypto's `XChaCha20Poly1305` produced before
//! (record format 1 is unchanged; the tests check both directions against RustCrypto).
//!
//! **Nonces.** Each [`SealingKey`] (one per epoch key and open store handle) draws a random
//! 16-byte *session prefix* `P` from the OS RNG when it is made, derives the session subkey
//! `HChaCha20(K, P)` once, and hands out nonces `P ‖ u64le(counter)` with a counter that only
//! goes up. Within a session no nonce repeats (the counter never wraps: after 2⁶⁴ − 1 nonces it
//! falls back to fully random 24-byte nonces); across sessions a repeat needs two sessions to
//! draw the same 128-bit prefix (probability ≤ s²/2¹²⁹ for s sessions — with 2³² sessions under
//! one key, below 2⁻⁶⁵), and different stores opened with the same key are different sessions.
//! This is no weaker than the random 192-bit nonces used before (a repeat there needs two of n
//! writes to collide, n²/2¹⁹³), and it means a write needs no HChaCha20 and no key setup: the
//! session subkey stays loaded. Reading a record of another session (an older process, or the
//! old random nonces) derives its subkey with HChaCha20 (≈ 0.1 µs) and loads it (≈ 0.05 µs).
//!
//! **Key material.** The sealing key and every derived subkey live in `Zeroizing` buffers. The
//! loaded AWS-LC key is an `EVP_AEAD_CTX` on the C heap: AWS-LC's `OPENSSL_free` (which
//! `EVP_AEAD_CTX_free` ends in, and `aws-lc-rs` calls on drop) overwrites the allocation with
//! `OPENSSL_cleanse` before freeing it, so the loaded key is zeroized on drop too. As with any
//! Rust crypto, copies the compiler makes in registers or on the stack (moves, spills) are not
//! covered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use rand::RngCore;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// Length of a key in bytes.
pub(crate) const AEAD_KEY_LEN: usize = 32;
/// XChaCha20-Poly1305 nonce length.
pub(crate) const XNONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub(crate) const TAG_LEN: usize = 16;
const PREFIX_LEN: usize = 16;
/// Subkeys of other sessions kept loaded. After a restart nearly every record was written by
/// one of the last few sessions, so a handful of entries turns almost every read of an old
/// record into a lookup; a store with records from many sessions pays HChaCha20 + key load
/// (≈ 0.15 µs) on the misses.
const FOREIGN_SESSIONS: usize = 4;

/// HChaCha20(`key`, `input`): the XChaCha20 subkey for a nonce starting with `input`.
fn hchacha20(key: &[u8; AEAD_KEY_LEN], input: &[u8; PREFIX_LEN]) -> Zeroizing<[u8; AEAD_KEY_LEN]> {
    let mut derived = chacha20::hchacha::<chacha20::R20>(key.into(), input.into());
    let mut out = Zeroizing::new([0u8; AEAD_KEY_LEN]);
    out.copy_from_slice(derived.as_slice());
    derived.as_mut_slice().zeroize();
    out
}

/// A ChaCha20-Poly1305 key loaded into AWS-LC (zeroized by AWS-LC when dropped).
fn load(subkey: &[u8; AEAD_KEY_LEN]) -> Result<LessSafeKey> {
    UnboundKey::new(&CHACHA20_POLY1305, subkey)
        .map(LessSafeKey::new)
        // Only fails for a key of the wrong length (ours is a [u8; 32]) or an AWS-LC that cannot
        // initialise at all; either way nothing can be sealed or opened.
        .map_err(|_| Error::Io(std::io::Error::other("AWS-LC rejected a ChaCha20-Poly1305 key")))
}

/// The 12-byte ChaCha20-Poly1305 nonce that goes with an XChaCha nonce.
fn inner_nonce(nonce: &[u8; XNONCE_LEN]) -> Nonce {
    let mut inner = [0u8; 12];
    inner[4..].copy_from_slice(&nonce[PREFIX_LEN..]);
    Nonce::assume_unique_for_key(inner)
}

fn prefix_of(nonce: &[u8; XNONCE_LEN]) -> [u8; PREFIX_LEN] {
    let mut prefix = [0u8; PREFIX_LEN];
    prefix.copy_from_slice(&nonce[..PREFIX_LEN]);
    prefix
}

/// An XChaCha20-Poly1305 key with its session: nonce prefix, counter and loaded subkey.
pub(crate) struct SealingKey {
    key: Zeroizing<[u8; AEAD_KEY_LEN]>,
    prefix: [u8; PREFIX_LEN],
    counter: AtomicU64,
    session: LessSafeKey,
    /// Loaded subkeys of other sessions' prefixes, most recently added last.
    foreign: RwLock<Vec<([u8; PREFIX_LEN], Arc<LessSafeKey>)>>,
}

impl SealingKey {
    /// Starts a new session under `key` (fresh random prefix from the OS RNG).
    pub(crate) fn new(key: Zeroizing<[u8; AEAD_KEY_LEN]>) -> Result<Self> {
        let mut prefix = [0u8; PREFIX_LEN];
        rand::rngs::OsRng.try_fill_bytes(&mut prefix).map_err(|_| Error::Rng)?;
        let session = load(&hchacha20(&key, &prefix))?;
        Ok(Self {
            key,
            prefix,
            counter: AtomicU64::new(0),
            session,
            foreign: RwLock::new(Vec::with_capacity(FOREIGN_SESSIONS)),
        })
    }

    /// A nonce never handed out before under this key (see the module docs).
    pub(crate) fn next_nonce(&self) -> Result<[u8; XNONCE_LEN]> {
        let mut nonce = [0u8; XNONCE_LEN];
        match self.counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1))
        {
            Ok(n) => {
                nonce[..PREFIX_LEN].copy_from_slice(&self.prefix);
                nonce[PREFIX_LEN..].copy_from_slice(&n.to_le_bytes());
            }
            // 2⁶⁴ − 1 writes in one session: not reachable, but stay safe with random nonces.
            Err(_) => rand::thread_rng().try_fill_bytes(&mut nonce).map_err(|_| Error::Rng)?,
        }
        Ok(nonce)
    }

    /// Runs `f` with the ChaCha20-Poly1305 key for `nonce`: the session key when the nonce is
    /// one of this session's, else a cached subkey of another session, else one derived now
    /// (and cached: the oldest entry is dropped, which zeroizes it).
    fn with_key<T>(
        &self,
        nonce: &[u8; XNONCE_LEN],
        f: impl FnOnce(&LessSafeKey) -> T,
    ) -> Result<T> {
        let prefix = prefix_of(nonce);
        if prefix == self.prefix {
            return Ok(f(&self.session));
        }
        // A poisoned lock only means another reader panicked while holding it; the cache holds
        // nothing that can be half-written (entries are pushed and removed whole), so go on.
        let cached = {
            let foreign = self.foreign.read().unwrap_or_else(|poison| poison.into_inner());
            foreign.iter().find(|(p, _)| *p == prefix).map(|(_, key)| Arc::clone(key))
        };
        if let Some(key) = cached {
            return Ok(f(&key));
        }
        let derived = Arc::new(load(&hchacha20(&self.key, &prefix))?);
        {
            let mut foreign = self.foreign.write().unwrap_or_else(|poison| poison.into_inner());
            if !foreign.iter().any(|(p, _)| *p == prefix) {
                if foreign.len() == FOREIGN_SESSIONS {
                    foreign.remove(0);
                }
                foreign.push((prefix, Arc::clone(&derived)));
            }
        }
        Ok(f(&derived))
    }

    /// Encrypts `in_out` in place; returns the tag. `nonce` must come from [`Self::next_nonce`].
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8; XNONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        let tag = self
            .with_key(nonce, |key| {
                key.seal_in_place_separate_tag(inner_nonce(nonce), Aad::from(aad), in_out)
            })?
            // Only fails for inputs beyond ChaCha20's 256 GiB, which MAX_VALUE_LEN rules out.
            .map_err(|_| Error::ValueTooLarge { len: in_out.len(), max: crate::MAX_VALUE_LEN })?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts `ciphertext` into `out` (same length) after checking `tag`; `false` (and `out`
    /// holding nothing of the plaintext) when authentication fails.
    pub(crate) fn open_into(
        &self,
        nonce: &[u8; XNONCE_LEN],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8],
        out: &mut [u8],
    ) -> bool {
        if ciphertext.len() != out.len() || tag.len() != TAG_LEN {
            return false;
        }
        let opened = self.with_key(nonce, |key| {
            key.open_separate_gather(inner_nonce(nonce), Aad::from(aad), ciphertext, tag, out)
        });
        match opened {
            Ok(Ok(())) => true,
            _ => {
                out.zeroize();
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hchacha20_matches_the_xchacha_draft() {
        // draft-irtf-cfrg-xchacha-03, section 2.2.1.
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let input = [
            0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x4a, 0x00, 0x00, 0x00, 0x00, 0x31, 0x41,
            0x59, 0x27,
        ];
        let expected = "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc";
        assert_eq!(hex::encode(*hchacha20(&key, &input)), expected);
    }

    #[test]
    fn session_nonces_count_up_under_one_prefix() -> Result<()> {
        let key = SealingKey::new(Zeroizing::new([7; 32]))?;
        let (a, b) = (key.next_nonce()?, key.next_nonce()?);
        assert_eq!(a[..16], b[..16]);
        assert_eq!(a[16..], 0u64.to_le_bytes());
        assert_eq!(b[16..], 1u64.to_le_bytes());
        let other = SealingKey::new(Zeroizing::new([7; 32]))?;
        assert_ne!(other.next_nonce()?[..16], a[..16], "each session draws its own prefix");
        Ok(())
    }

    #[test]
    fn exhausted_counter_falls_back_to_random_nonces() -> Result<()> {
        let key = SealingKey::new(Zeroizing::new([7; 32]))?;
        key.counter.store(u64::MAX, Ordering::Relaxed);
        let (a, b) = (key.next_nonce()?, key.next_nonce()?);
        assert_ne!(a, b);
        assert_ne!(a[..16], key.prefix);
        let mut buf = *b"sealed with a random nonce";
        let tag = key.seal_in_place(&a, b"aad", &mut buf)?;
        let mut out = [0u8; 26];
        assert!(key.open_into(&a, b"aad", &buf, &tag, &mut out));
        assert_eq!(&out, b"sealed with a random nonce");
        Ok(())
    }

    #[test]
    fn other_sessions_records_open_and_tampering_fails() -> Result<()> {
        let writer = SealingKey::new(Zeroizing::new([9; 32]))?;
        let reader = SealingKey::new(Zeroizing::new([9; 32]))?;
        let nonce = writer.next_nonce()?;
        let mut buf = vec![0x5a; 1000];
        let tag = writer.seal_in_place(&nonce, b"aad", &mut buf)?;
        let mut out = vec![0u8; 1000];
        assert!(reader.open_into(&nonce, b"aad", &buf, &tag, &mut out));
        assert_eq!(out, vec![0x5a; 1000]);
        assert!(!reader.open_into(&nonce, b"aaD", &buf, &tag, &mut out));
        assert!(out.iter().all(|&b| b == 0), "a failed open leaves no plaintext");
        buf[3] ^= 1;
        assert!(!writer.open_into(&nonce, b"aad", &buf, &tag, &mut out));
        Ok(())
    }

    #[test]
    fn other_sessions_subkeys_are_cached_up_to_a_bound() -> Result<()> {
        let reader = SealingKey::new(Zeroizing::new([4; 32]))?;
        let mut sealed = Vec::new();
        for _ in 0..FOREIGN_SESSIONS + 2 {
            let writer = SealingKey::new(Zeroizing::new([4; 32]))?;
            let nonce = writer.next_nonce()?;
            let mut buf = *b"record";
            let tag = writer.seal_in_place(&nonce, b"", &mut buf)?;
            sealed.push((nonce, buf, tag));
        }
        // Every record opens, and the last one a second time (a hit, which changes nothing).
        for (nonce, buf, tag) in sealed.iter().chain(sealed.last()) {
            let mut out = [0u8; 6];
            assert!(reader.open_into(nonce, b"", buf, tag, &mut out));
            assert_eq!(&out, b"record");
        }
        let foreign = reader.foreign.read().map_err(|_| Error::Rng)?;
        assert_eq!(foreign.len(), FOREIGN_SESSIONS);
        let newest: Vec<_> = sealed[2..].iter().map(|(n, _, _)| prefix_of(n)).collect();
        assert_eq!(foreign.iter().map(|(p, _)| *p).collect::<Vec<_>>(), newest);
        Ok(())
    }

    /// RustCrypto's XChaCha20-Poly1305 (the implementation the store used before) and ours
    /// produce and accept the same bytes, for this session's nonces and for foreign ones.
    #[test]
    fn interoperates_with_rustcrypto_xchacha20poly1305() -> Result<()> {
        use chacha20poly1305::aead::{AeadInPlace, KeyInit};
        use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};

        let raw = [0x3c; 32];
        let ours = SealingKey::new(Zeroizing::new(raw))?;
        let theirs = XChaCha20Poly1305::new(&raw.into());
        for len in [0usize, 1, 15, 16, 63, 64, 65, 255, 1024, 4097, 16 * 1024] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
            let aad: Vec<u8> = (0..len % 97).map(|i| i as u8).collect();
            // Ours seals (session nonce), RustCrypto opens.
            let nonce = ours.next_nonce()?;
            let mut buf = plain.clone();
            let tag = ours.seal_in_place(&nonce, &aad, &mut buf)?;
            let mut check = buf.clone();
            theirs
                .decrypt_in_place_detached(
                    XNonce::from_slice(&nonce),
                    &aad,
                    &mut check,
                    Tag::from_slice(&tag),
                )
                .map_err(|_| Error::WrongKey)?;
            assert_eq!(check, plain, "len {len}");
            // RustCrypto seals (random nonce, like the old store), ours opens.
            let mut foreign = [0u8; 24];
            rand::thread_rng().fill_bytes(&mut foreign);
            let mut sealed = plain.clone();
            let tag = theirs
                .encrypt_in_place_detached(XNonce::from_slice(&foreign), &aad, &mut sealed)
                .map_err(|_| Error::WrongKey)?;
            let mut out = vec![0u8; len];
            assert!(ours.open_into(&foreign, &aad, &sealed, &tag, &mut out), "len {len}");
            assert_eq!(out, plain, "len {len}");
        }
        Ok(())
    }
}
