//! `peerseal-kvdb`: the encrypted key-value store of a peerseal TSS node, and the one place in
//! the project that touches the database key.
//!
//! Values are sealed with XChaCha20-Poly1305 (a fresh 24-byte nonce per write) under a subkey of
//! the current *epoch* key; the associated data binds format version, store, epoch, tree name
//! and record key, so a ciphertext moved to another key, tree or store fails to open. Record keys
//! and tree names stay plaintext — never put secrets in them. The key is checked against the
//! store header before any database file is opened ([`Error::WrongKey`] changes nothing on
//! disk). [`Store::rotate`] moves to a new epoch key CCF-style, crash-safe and resumable
//! ([`rotation`]); [`Store::derive_key`] derives application keys from an epoch key with
//! HKDF-SHA256 over an injective encoding ([`derive`]).
//!
//! Dependencies and why: `sled` (embedded, crash-safe, transactional trees — the project's
//! storage engine), `aws-lc-rs` (AWS-LC's ChaCha20-Poly1305, see below) with `chacha20`
//! (RustCrypto's HChaCha20, which turns it into XChaCha20-Poly1305), `hkdf` + `sha2` (RFC 5869
//! HKDF, RustCrypto), `zeroize` and `subtle` (zeroize-on-drop and constant-time comparison of
//! key material), `rand` (OS RNG for keys and session nonce prefixes), `thiserror`, `hex`
//! (record keys in error messages).
//!
//! **Which ChaCha20-Poly1305, and why.** Measured on the deployment machine kind (2 vCPU AMD
//! EPYC with AVX2/AVX-512, generic `x86_64` build; one seal, 64 B / 1 KiB / 16 KiB):
//!
//! | implementation | 64 B | 1 KiB | 16 KiB | zeroizes its key |
//! |---|---|---|---|---|
//! | RustCrypto `chacha20poly1305` 0.10 (XChaCha, run-time SIMD detection) | 1.70 µs | 2.72 µs | 14.2 µs | yes |
//! | RustCrypto 0.11 (XChaCha, run-time detection) | 1.81 µs | 2.44 µs | 14.0 µs | yes (`zeroize` feature) |
//! | RustCrypto 0.10, software backends forced | 0.52 µs | 3.29 µs | 37.7 µs | yes |
//! | RustCrypto 0.10, `-C target-cpu=native` (not deployable) | 0.56 µs | 1.14 µs | 11.2 µs | yes |
//! | `ring` 0.17 ChaCha20-Poly1305, key loaded | 0.23 µs | 0.75 µs | 7.8 µs | **no** |
//! | `aws-lc-rs` 1.19 ChaCha20-Poly1305, key loaded | 0.23 µs | 0.64 µs | 7.9 µs | yes |
//! | HChaCha20 (`chacha20` 0.9 or 0.10), per subkey | 0.10–0.11 µs | | | |
//!
//! RustCrypto's small-message cost is dominated by its run-time-selected AVX2 backends (their
//! per-message set-up and the non-inlined dispatch; forcing the portable backends is 3× faster
//! at 64 B but 3× slower at 16 KiB), and even built for the CPU it stays 1.4–2.4× behind the
//! assembly of BoringSSL's lineage (`ring`, AWS-LC: fused AVX2 ChaCha20+Poly1305, run-time
//! detection that costs nothing per call). `ring` and AWS-LC are equally fast here; `ring`
//! never zeroizes keys (by design), while AWS-LC keeps the key in a heap `EVP_AEAD_CTX` that
//! `OPENSSL_free` overwrites with `OPENSSL_cleanse` when `aws-lc-rs` drops it. So the store uses
//! `aws-lc-rs` (already in the workspace through rustls/quinn; it builds AWS-LC's C with the
//! `cc` crate, no cmake) for ChaCha20-Poly1305 and RustCrypto's HChaCha20 for the XChaCha
//! subkey. Sessions keep their subkey loaded, so writes pay no key set-up at all (the
//! crate-private `aead` module documents the nonce scheme and its safety argument). On-disk
//! bytes are unchanged: XChaCha20-Poly1305, record format 1, same AAD (the tests cross-check
//! against RustCrypto's `XChaCha20Poly1305` and open a store written by the previous code).
//!
//! ```
//! # fn main() -> Result<(), peerseal_kvdb::Error> {
//! use peerseal_kvdb::{DbKey, Store};
//! let dir = tempfile::tempdir()?;
//! let key = DbKey::generate()?;
//! let store = Store::create(dir.path().join("db"), &key)?;
//! let tree = store.tree("keyshares")?;
//! tree.insert("session-1", b"secret share")?;
//! let next = DbKey::generate()?;
//! store.rotate(&next)?;                      // epoch 0 -> 1, every record re-sealed
//! drop((tree, store));
//! let store = Store::open(dir.path().join("db"), &next)?;
//! assert_eq!(store.tree("keyshares")?.get("session-1")?.as_deref().map(|v| &v[..]), Some(&b"secret share"[..]));
//! # Ok(()) }
//! ```

mod aead;
pub mod derive;
mod error;
pub mod format;
mod key;
pub mod rotation;
mod store;

pub use derive::{DerivedKey, MAX_DERIVED_LEN};
pub use error::{Error, Result};
pub use key::{DbKey, KEY_LEN};
pub use rotation::{RotationProgress, RotationStatus};
pub use store::{read_info, Batch, Store, StoreInfo, Tree, Value};

/// Largest value accepted by `insert` (and the bound checked on every record read from disk).
pub const MAX_VALUE_LEN: usize = 16 * 1024 * 1024;
/// Longest tree name in bytes.
pub const MAX_TREE_NAME_LEN: usize = 255;
