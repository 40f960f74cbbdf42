//! `peerseal-kvdb`: the encrypted key-value store of a peerseal TSS node, and the one place in
//! the project that touches the database key.
//!
//! Values are sealed with XChaCha20-Poly1305 (random 24-byte nonce per write) under a subkey of
//! the current *epoch* key; the associated data binds format version, store, epoch, tree name
//! and record key, so a ciphertext moved to another key, tree or store fails to open. Record keys
//! and tree names stay plaintext — never put secrets in them. The key is checked against the
//! store header before any database file is opened ([`Error::WrongKey`] changes nothing on
//! disk). [`Store::rotate`] moves to a new epoch key CCF-style, crash-safe and resumable
//! ([`rotation`]); [`Store::derive_key`] derives application keys from an epoch key with
//! HKDF-SHA256 over an injective encoding ([`derive`]).
//!
//! Dependencies and why: `sled` (embedded, crash-safe, transactional trees — the project's
//! storage engine), `chacha20poly1305` (RustCrypto's audited XChaCha20-Poly1305; the 0.10 line
//! shared with libp2p so one copy is built), `hkdf` + `sha2` (RFC 5869 HKDF, RustCrypto),
//! `zeroize` and `subtle` (zeroize-on-drop and constant-time comparison of key material), `rand`
//! (OS RNG for keys, a thread-local CSPRNG seeded from it for nonces), `thiserror`, `hex` (record
//! keys in error messages).
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
