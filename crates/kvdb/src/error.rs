//! The one error type of the store. No variant ever carries key material or record values;
//! record *keys* may appear because they are plaintext on disk by contract.

use std::path::PathBuf;

/// What can go wrong opening, reading, writing or rotating a store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key does not open this store. Nothing on disk was read beyond the header or changed.
    #[error("the database key does not open this store")]
    WrongKey,
    /// The directory holds no peerseal store header (or does not exist).
    #[error("{} is not a peerseal store (no valid header)", path.display())]
    NotAStore { path: PathBuf },
    /// `create` was asked to make a store where one (or other files) already exist.
    #[error("refusing to create a store in {}: {reason}", path.display())]
    AlreadyExists { path: PathBuf, reason: &'static str },
    /// The store (or a record) was written by a newer peerseal than this one understands.
    #[error("{what} format version {found} is newer than the supported version {supported}")]
    UnsupportedFormat { what: &'static str, found: u16, supported: u16 },
    /// The store header is damaged (bad length or checksum).
    #[error("store header at {} is corrupt: {reason}", path.display())]
    CorruptHeader { path: PathBuf, reason: &'static str },
    /// A record is truncated, tampered with, or was moved from another tree or key.
    #[error("record {key_hex} in tree {tree:?} is corrupt: {reason}")]
    CorruptRecord { tree: String, key_hex: String, reason: &'static str },
    /// Internal bookkeeping (the rotation state) is damaged.
    #[error("store metadata is corrupt: {reason}")]
    CorruptMeta { reason: &'static str },
    /// The underlying sled database could not be opened without a panic (damaged files).
    #[error("the sled database under {} is damaged and could not be opened", path.display())]
    DamagedDatabase { path: PathBuf },
    /// Another process (or another open handle) holds the database lock.
    #[error("the database under {} is locked by another open handle", path.display())]
    Locked { path: PathBuf },
    /// The key of this epoch is not held any more (or never was).
    #[error("the key of epoch {epoch} is not held by this store (current epoch {current})")]
    EpochKeyNotHeld { epoch: u64, current: u64 },
    /// `begin_rotation` while a rotation is still in progress.
    #[error("a rotation from epoch {from} to {to} is still in progress; resume it first")]
    RotationInProgress { from: u64, to: u64 },
    /// Rotation to the key the store already uses.
    #[error("the new key equals the current key; rotation needs a fresh key")]
    SameKey,
    /// The epoch counter cannot grow any further.
    #[error("epoch counter exhausted")]
    EpochOverflow,
    /// A rotation was asked to an epoch that is not above the current one.
    #[error("rotation to epoch {requested} is not above the current epoch {current}")]
    EpochNotAbove { current: u64, requested: u64 },
    /// A requested derived-key length outside `1..=MAX_DERIVED_LEN`.
    #[error("derived key length {requested} is outside 1..={max}")]
    InvalidDerivedLength { requested: usize, max: usize },
    /// A value larger than [`crate::MAX_VALUE_LEN`].
    #[error("value of {len} bytes exceeds the limit of {max} bytes")]
    ValueTooLarge { len: usize, max: usize },
    /// A tree name that is empty or longer than [`crate::MAX_TREE_NAME_LEN`].
    #[error("tree name must be 1..={max} bytes, got {len}")]
    InvalidTreeName { len: usize, max: usize },
    /// The operating system's random number generator failed.
    #[error("the OS random number generator failed")]
    Rng,
    /// Filesystem error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Error from sled.
    #[error("sled error: {0}")]
    Sled(#[from] sled::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
