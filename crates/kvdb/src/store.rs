//! The encrypted store: opening (with the key check before any file is touched), trees,
//! sealed reads and writes, atomic batches.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rand::RngCore;
use zeroize::Zeroizing;

use crate::derive::DerivedKey;
use crate::error::{Error, Result};
use crate::format::{
    self, parse_record, record_aad, write_record, Header, HeaderError, RecordError,
    KEY_CHECK_PLAINTEXT, RECORD_PREFIX_LEN, STORE_FORMAT, STORE_ID_LEN,
};
use crate::key::{DbKey, EpochKey, TAG_LEN};
use crate::rotation::{self, RotationCursor};
use crate::{MAX_TREE_NAME_LEN, MAX_VALUE_LEN};

/// sled tree holding the store's own bookkeeping; user trees are prefixed with `t/`.
pub(crate) const META_TREE: &[u8] = b"m/meta";
pub(crate) const USER_TREE_PREFIX: &[u8] = b"t/";

/// The keys the store holds: the current epoch's, and during a rotation the previous one.
pub(crate) struct KeyRing {
    pub(crate) current: EpochKey,
    pub(crate) previous: Option<EpochKey>,
}

impl KeyRing {
    pub(crate) fn for_epoch(&self, epoch: u64) -> Option<&EpochKey> {
        if self.current.epoch == epoch {
            return Some(&self.current);
        }
        self.previous.as_ref().filter(|prev| prev.epoch == epoch)
    }
}

pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) db: sled::Db,
    pub(crate) meta: sled::Tree,
    pub(crate) store_id: [u8; STORE_ID_LEN],
    pub(crate) keys: RwLock<KeyRing>,
    pub(crate) cursor: std::sync::Mutex<RotationCursor>,
}

impl Inner {
    // A poisoned lock means another thread panicked while holding it; the key ring itself is
    // only ever swapped whole, so its content is still consistent and we keep going.
    pub(crate) fn read_keys(&self) -> RwLockReadGuard<'_, KeyRing> {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn write_keys(&self) -> RwLockWriteGuard<'_, KeyRing> {
        self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An open encrypted store. Cheap to clone; all clones share one sled database and key ring.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.dir)
            .field("epoch", &self.epoch())
            .finish_non_exhaustive()
    }
}

/// Public facts about a store, readable without its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreInfo {
    /// Store format version.
    pub format: u16,
    /// Random identifier chosen at creation.
    pub store_id: [u8; STORE_ID_LEN],
    /// Current key epoch: the key of this epoch opens the store.
    pub epoch: u64,
}

/// Reads and checks the header of the store in `dir` without needing (or touching) anything else.
pub fn read_info(dir: &Path) -> Result<StoreInfo> {
    let header = read_header(dir)?;
    Ok(StoreInfo { format: header.format, store_id: header.store_id, epoch: header.epoch })
}

pub(crate) fn read_header(dir: &Path) -> Result<Header> {
    let path = dir.join(format::HEADER_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotAStore { path: dir.to_path_buf() })
        }
        Err(err) => return Err(err.into()),
    };
    Header::decode(&bytes).map_err(|err| match err {
        HeaderError::NotAStore => Error::NotAStore { path: dir.to_path_buf() },
        HeaderError::Newer(found) => {
            Error::UnsupportedFormat { what: "store", found, supported: STORE_FORMAT }
        }
        HeaderError::Corrupt(reason) => Error::CorruptHeader { path, reason },
    })
}

/// Builds the header of `epoch` sealed under `key` (a fresh key-check nonce each time).
pub(crate) fn make_header(store_id: [u8; STORE_ID_LEN], key: &EpochKey) -> Result<Header> {
    let check_nonce = key.next_nonce()?;
    let aad = Header::key_check_aad(STORE_FORMAT, &store_id, key.epoch);
    let mut check_sealed = [0u8; KEY_CHECK_PLAINTEXT.len() + TAG_LEN];
    let (body, tag) = check_sealed.split_at_mut(KEY_CHECK_PLAINTEXT.len());
    body.copy_from_slice(KEY_CHECK_PLAINTEXT);
    tag.copy_from_slice(&key.seal_in_place(&check_nonce, &aad, body)?);
    Ok(Header { format: STORE_FORMAT, store_id, epoch: key.epoch, check_nonce, check_sealed })
}

/// Replaces the header atomically: write a temporary file, fsync, rename over, fsync the dir.
pub(crate) fn write_header_atomically(dir: &Path, header: &Header) -> Result<()> {
    let tmp = dir.join(format!("{}.tmp", format::HEADER_FILE));
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&header.encode())?;
        file.sync_all()?;
    }
    fs::rename(&tmp, dir.join(format::HEADER_FILE))?;
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn verify_key(header: &Header, key: DbKey) -> Result<EpochKey> {
    let epoch_key = EpochKey::new(header.epoch, key)?;
    let aad = Header::key_check_aad(header.format, &header.store_id, header.epoch);
    match epoch_key.open(&header.check_nonce, &aad, &header.check_sealed) {
        Some(plain) if plain.as_slice() == KEY_CHECK_PLAINTEXT => Ok(epoch_key),
        _ => Err(Error::WrongKey),
    }
}

fn open_sled(dir: &Path) -> Result<sled::Db> {
    let data = dir.join(format::DATA_DIR);
    // sled releases its file lock from background I/O threads shortly after the last handle is
    // dropped, so a reopen right after a close may briefly find it held: retry for a bounded
    // time, then report the store as locked (another process has it open).
    for _ in 0..LOCK_RETRIES {
        // sled 0.34 can panic on damaged files; a damaged store must be an error, not a crash.
        let opened = std::panic::catch_unwind(|| sled::Config::new().path(&data).open());
        match opened {
            Ok(Ok(db)) => return Ok(db),
            Ok(Err(sled::Error::Io(err))) if err.to_string().contains("could not acquire lock") => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Ok(Err(err)) => return Err(err.into()),
            Err(_) => return Err(Error::DamagedDatabase { path: data }),
        }
    }
    Err(Error::Locked { path: data })
}

const LOCK_RETRIES: u32 = 40;

impl Store {
    /// Creates a new store in `dir` (which must be absent or empty) sealed under `key` at epoch 0.
    pub fn create(dir: impl AsRef<Path>, key: &DbKey) -> Result<Self> {
        let dir = dir.as_ref();
        if dir.join(format::HEADER_FILE).exists() {
            return Err(Error::AlreadyExists { path: dir.to_path_buf(), reason: "a store exists" });
        }
        if dir.exists() && fs::read_dir(dir)?.next().is_some() {
            return Err(Error::AlreadyExists {
                path: dir.to_path_buf(),
                reason: "directory is not empty",
            });
        }
        fs::create_dir_all(dir)?;
        let mut store_id = [0u8; STORE_ID_LEN];
        rand::rngs::OsRng.try_fill_bytes(&mut store_id).map_err(|_| Error::Rng)?;
        let epoch_key = EpochKey::new(0, key.clone())?;
        // Header first: a crash after this leaves an empty but valid store.
        write_header_atomically(dir, &make_header(store_id, &epoch_key)?)?;
        Self::finish_open(dir, store_id, epoch_key)
    }

    /// Opens the store in `dir` with `key`. A wrong key fails with [`Error::WrongKey`] before
    /// any database file is opened, so nothing on disk changes.
    pub fn open(dir: impl AsRef<Path>, key: &DbKey) -> Result<Self> {
        let dir = dir.as_ref();
        let header = read_header(dir)?;
        let epoch_key = verify_key(&header, key.clone())?;
        Self::finish_open(dir, header.store_id, epoch_key)
    }

    fn finish_open(dir: &Path, store_id: [u8; STORE_ID_LEN], current: EpochKey) -> Result<Self> {
        let db = open_sled(dir)?;
        let meta = db.open_tree(META_TREE)?;
        let previous = rotation::load_previous_key(&meta, &store_id, &current)?;
        let inner = Inner {
            dir: dir.to_path_buf(),
            db,
            meta,
            store_id,
            keys: RwLock::new(KeyRing { current, previous }),
            cursor: std::sync::Mutex::new(RotationCursor::default()),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The current key epoch.
    pub fn epoch(&self) -> u64 {
        self.inner.read_keys().current.epoch
    }

    /// The directory of this store.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// Opens (creating if needed) the tree called `name`.
    pub fn tree(&self, name: &str) -> Result<Tree> {
        if name.is_empty() || name.len() > MAX_TREE_NAME_LEN {
            return Err(Error::InvalidTreeName { len: name.len(), max: MAX_TREE_NAME_LEN });
        }
        let mut sled_name = USER_TREE_PREFIX.to_vec();
        sled_name.extend_from_slice(name.as_bytes());
        let tree = self.inner.db.open_tree(sled_name)?;
        Ok(Tree { store: self.clone(), name: name.to_owned(), tree })
    }

    /// Names of all user trees.
    pub fn tree_names(&self) -> Vec<String> {
        self.inner
            .db
            .tree_names()
            .into_iter()
            .filter_map(|raw| {
                raw.strip_prefix(USER_TREE_PREFIX)
                    .and_then(|name| std::str::from_utf8(name).ok())
                    .map(str::to_owned)
            })
            .collect()
    }

    /// Writes everything to disk; returns once it is durable.
    pub fn flush(&self) -> Result<()> {
        self.inner.db.flush()?;
        Ok(())
    }

    /// HKDF-SHA256 key derivation from the key of `epoch` (see [`crate::derive`] for the
    /// encoding). `epoch` may be the current one, or the previous one while a rotation is in
    /// progress; otherwise [`Error::EpochKeyNotHeld`].
    pub fn derive_key(
        &self,
        label: &[u8],
        context: &[u8],
        len: usize,
        epoch: u64,
    ) -> Result<DerivedKey> {
        let keys = self.inner.read_keys();
        let epoch_key = keys
            .for_epoch(epoch)
            .ok_or(Error::EpochKeyNotHeld { epoch, current: keys.current.epoch })?;
        DerivedKey::derive(epoch_key.key.expose_secret(), epoch, label, context, len)
    }
}

/// A named namespace of records inside a [`Store`].
#[derive(Clone)]
pub struct Tree {
    store: Store,
    name: String,
    tree: sled::Tree,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree").field("name", &self.name).finish_non_exhaustive()
    }
}

/// A set of inserts and removals applied to one tree atomically.
#[derive(Default)]
pub struct Batch {
    ops: Vec<BatchOp>,
}

enum BatchOp {
    Insert(Vec<u8>, Value),
    Remove(Vec<u8>),
}

impl Batch {
    /// Queues an insert.
    pub fn insert(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.ops
            .push(BatchOp::Insert(key.as_ref().to_vec(), Zeroizing::new(value.as_ref().to_vec())));
    }

    /// Queues a removal.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.ops.push(BatchOp::Remove(key.as_ref().to_vec()));
    }

    /// Number of queued operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A decrypted value; zeroized when dropped.
pub type Value = Zeroizing<Vec<u8>>;

impl Tree {
    /// The tree's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sled value of a record, sealed under the current epoch.
    pub(crate) fn seal(&self, keys: &KeyRing, key: &[u8], value: &[u8]) -> Result<Vec<u8>> {
        if value.len() > MAX_VALUE_LEN {
            return Err(Error::ValueTooLarge { len: value.len(), max: MAX_VALUE_LEN });
        }
        let current = &keys.current;
        let nonce = current.next_nonce()?;
        let aad = record_aad(&self.store.inner.store_id, current.epoch, self.name.as_bytes(), key);
        // sled copies the value into its own reference-counted buffer whatever we hand it, so
        // one `Vec` sealed in place is as good as it gets (`IVec` has no uninitialised
        // constructor to write the record into).
        let mut record = vec![0u8; RECORD_PREFIX_LEN + value.len() + TAG_LEN];
        let body = write_record(&mut record, current.epoch, &nonce, value);
        let tag = current.seal_in_place(&nonce, aad.as_slice(), body)?;
        record[RECORD_PREFIX_LEN + value.len()..].copy_from_slice(&tag);
        Ok(record)
    }

    fn corrupt(&self, key: &[u8], reason: &'static str) -> Error {
        Error::CorruptRecord { tree: self.name.clone(), key_hex: hex::encode(key), reason }
    }

    /// Decrypts a raw sled value with the key ring already locked.
    pub(crate) fn unseal(&self, keys: &KeyRing, key: &[u8], raw: &[u8]) -> Result<Value> {
        if raw.len() > RECORD_PREFIX_LEN + MAX_VALUE_LEN + crate::key::TAG_LEN {
            return Err(self.corrupt(key, "record longer than the value limit"));
        }
        let view = parse_record(raw).map_err(|err| match err {
            RecordError::Truncated => self.corrupt(key, "truncated record"),
            RecordError::UnknownFormat => self.corrupt(key, "unknown record format"),
            RecordError::Newer(found) => Error::UnsupportedFormat {
                what: "record",
                found: u16::from(found),
                supported: u16::from(format::RECORD_FORMAT),
            },
        })?;
        let epoch_key = keys
            .for_epoch(view.epoch)
            .ok_or(Error::EpochKeyNotHeld { epoch: view.epoch, current: keys.current.epoch })?;
        let aad = record_aad(&self.store.inner.store_id, view.epoch, self.name.as_bytes(), key);
        let mut plain = Zeroizing::new(vec![0u8; view.ciphertext.len()]);
        if !epoch_key.open_into(&view.nonce, aad.as_slice(), view.ciphertext, view.tag, &mut plain)
        {
            return Err(self.corrupt(key, "authentication failed (tampered or moved)"));
        }
        Ok(plain)
    }

    /// Reads and decrypts the value under `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>> {
        let key = key.as_ref();
        // Read under the key-ring lock so a rotation cannot drop the record's epoch key between
        // the read and the decryption.
        let keys = self.store.inner.read_keys();
        match self.tree.get(key)? {
            Some(raw) => Ok(Some(self.unseal(&keys, key, &raw)?)),
            None => Ok(None),
        }
    }

    /// Whether a record exists under `key` (no decryption).
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.tree.contains_key(key)?)
    }

    /// Seals `value` under the current epoch and stores it under `key`.
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let key = key.as_ref();
        // Held across seal + insert: a rotation switches epochs only between whole writes, so no
        // record sealed under the old epoch can appear after the rotation scan started.
        let keys = self.store.inner.read_keys();
        let sealed = self.seal(&keys, key, value.as_ref())?;
        self.tree.insert(key, sealed)?;
        Ok(())
    }

    /// Removes the record under `key`; returns whether it existed.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.tree.remove(key)?.is_some())
    }

    /// Applies every operation of `batch` atomically.
    pub fn apply_batch(&self, batch: Batch) -> Result<()> {
        let keys = self.store.inner.read_keys();
        let mut sled_batch = sled::Batch::default();
        for op in &batch.ops {
            match op {
                BatchOp::Insert(key, value) => {
                    sled_batch.insert(key.as_slice(), self.seal(&keys, key, value)?)
                }
                BatchOp::Remove(key) => sled_batch.remove(key.as_slice()),
            }
        }
        self.tree.apply_batch(sled_batch)?;
        Ok(())
    }

    /// Every record whose key starts with `prefix`, in key order, decrypted.
    pub fn scan_prefix(
        &self,
        prefix: impl AsRef<[u8]>,
    ) -> impl Iterator<Item = Result<(Vec<u8>, Value)>> + '_ {
        self.tree.scan_prefix(prefix).filter_map(move |item| {
            let (key, raw) = match item {
                Ok(pair) => pair,
                Err(err) => return Some(Err(err.into())),
            };
            let keys = self.store.inner.read_keys();
            match self.unseal(&keys, &key, &raw) {
                // The iterator read this record before a rotation re-sealed it and dropped the
                // old key: read it again, now under the current epoch. Gone means removed.
                Err(Error::EpochKeyNotHeld { epoch, current }) if epoch < current => {
                    match self.tree.get(&key) {
                        Ok(Some(fresh)) => {
                            Some(self.unseal(&keys, &key, &fresh).map(|v| (key.to_vec(), v)))
                        }
                        Ok(None) => None,
                        Err(err) => Some(Err(err.into())),
                    }
                }
                other => Some(other.map(|value| (key.to_vec(), value))),
            }
        })
    }

    /// Every record of the tree, in key order, decrypted.
    pub fn iter(&self) -> impl Iterator<Item = Result<(Vec<u8>, Value)>> + '_ {
        self.scan_prefix([])
    }

    /// Number of records (no decryption).
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// Whether the tree has no records.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    pub(crate) fn sled_tree(&self) -> &sled::Tree {
        &self.tree
    }
}
