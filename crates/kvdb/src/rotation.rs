//! Key rotation (CCF-style rekey) as an explicit, crash-safe state machine.
//!
//! ```text
//! Idle(e) --begin_rotation(k')--> Rotating(e -> e+1) --continue_rotation()*--> Idle(e+1)
//! ```
//!
//! `begin_rotation` (1) stores the epoch-`e` key sealed under the epoch-`e+1` key in the meta
//! tree and flushes, then (2) atomically replaces the header with one for epoch `e+1`: that
//! rename is the commit point. From then on only the new key opens the store, and it unwraps the
//! old key, so every record stays readable. A crash before (2) leaves the store at epoch `e`
//! (the stray wrapped key names epoch `e+1 > e` and is discarded at the next open).
//! `continue_rotation` re-seals records of epoch `e` under `e+1` in bounded steps, each record by
//! compare-and-swap so concurrent writers are never overwritten; it is idempotent, so after a
//! crash it simply starts over and skips what is done. When no epoch-`e` record remains it
//! flushes and deletes the wrapped old key, dropping epoch `e` for good.

use std::ops::Bound::{Excluded, Unbounded};

use crate::error::{Error, Result};
use crate::format::{push_prefixed, STORE_ID_LEN};
use crate::key::{DbKey, EpochKey, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::store::{make_header, write_header_atomically, Store, USER_TREE_PREFIX};

/// Meta-tree key of the wrapped previous-epoch key.
const PREVIOUS_KEY: &[u8] = b"rotation/previous-key";
const WRAPPED_LEN: usize = 8 + 8 + NONCE_LEN + KEY_LEN + TAG_LEN;

/// Where the re-seal scan has got to (in memory only; a restart rescans, skipping done records).
#[derive(Default)]
pub(crate) struct RotationCursor {
    /// Sled name of the tree being scanned and the last key handled in it (`None`: none yet).
    position: Option<(Vec<u8>, Option<Vec<u8>>)>,
    resealed: u64,
}

/// A rotation that has not finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationStatus {
    /// The epoch whose records are being re-sealed.
    pub from: u64,
    /// The new, current epoch.
    pub to: u64,
}

/// What one [`Store::continue_rotation`] step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationProgress {
    /// Records re-sealed by this store handle since the rotation (re)started.
    pub resealed: u64,
    /// Whether the rotation finished and the old key was dropped.
    pub done: bool,
}

fn wrap_aad(store_id: &[u8; STORE_ID_LEN], from: u64, to: u64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64);
    push_prefixed(&mut aad, b"peerseal-kvdb/wrapped-key");
    aad.extend_from_slice(store_id);
    aad.extend_from_slice(&from.to_le_bytes());
    aad.extend_from_slice(&to.to_le_bytes());
    aad
}

/// At open: the previous epoch's key if a rotation into the current epoch is unfinished.
/// A wrapped key for a *later* epoch is the trace of a rotation that crashed before its commit
/// point; it is sealed under a key this store never adopted and is removed.
pub(crate) fn load_previous_key(
    meta: &sled::Tree,
    store_id: &[u8; STORE_ID_LEN],
    current: &EpochKey,
) -> Result<Option<EpochKey>> {
    let Some(raw) = meta.get(PREVIOUS_KEY)? else { return Ok(None) };
    if raw.len() != WRAPPED_LEN {
        return Err(Error::CorruptMeta { reason: "wrapped previous key has a wrong length" });
    }
    let mut from = [0u8; 8];
    from.copy_from_slice(&raw[0..8]);
    let mut to = [0u8; 8];
    to.copy_from_slice(&raw[8..16]);
    let (from, to) = (u64::from_le_bytes(from), u64::from_le_bytes(to));
    if to > current.epoch {
        meta.remove(PREVIOUS_KEY)?;
        meta.flush()?;
        return Ok(None);
    }
    if to != current.epoch || from >= to {
        return Err(Error::CorruptMeta { reason: "wrapped previous key names unexpected epochs" });
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&raw[16..16 + NONCE_LEN]);
    let plain = current
        .open(&nonce, &wrap_aad(store_id, from, to), &raw[16 + NONCE_LEN..])
        .ok_or(Error::CorruptMeta { reason: "wrapped previous key fails authentication" })?;
    let mut key = [0u8; KEY_LEN];
    if plain.len() != KEY_LEN {
        return Err(Error::CorruptMeta { reason: "wrapped previous key has a wrong size" });
    }
    key.copy_from_slice(&plain);
    let previous = EpochKey::new(from, DbKey::from_bytes(key));
    zeroize::Zeroize::zeroize(&mut key);
    Ok(Some(previous?))
}

impl Store {
    /// The unfinished rotation, if any.
    pub fn rotation_status(&self) -> Option<RotationStatus> {
        let keys = self.inner.read_keys();
        keys.previous
            .as_ref()
            .map(|prev| RotationStatus { from: prev.epoch, to: keys.current.epoch })
    }

    /// Starts epoch `e + 1` under `new_key` (see the module docs). Back `new_key` up *before*
    /// calling this: once it returns, only `new_key` opens the store.
    pub fn begin_rotation(&self, new_key: &DbKey) -> Result<u64> {
        let to = self.epoch().checked_add(1).ok_or(Error::EpochOverflow)?;
        self.begin_rotation_to(new_key, to)
    }

    /// Like [`Store::begin_rotation`], to epoch `to`, which must be above the current one
    /// (a caller that dealt keys for epochs it then abandoned skips them).
    pub fn begin_rotation_to(&self, new_key: &DbKey, to: u64) -> Result<u64> {
        let mut keys = self.inner.write_keys();
        if let Some(prev) = &keys.previous {
            return Err(Error::RotationInProgress { from: prev.epoch, to: keys.current.epoch });
        }
        if *new_key == keys.current.key {
            return Err(Error::SameKey);
        }
        let from = keys.current.epoch;
        if to <= from {
            return Err(Error::EpochNotAbove { current: from, requested: to });
        }
        let next = EpochKey::new(to, new_key.clone())?;

        let nonce = next.next_nonce()?;
        let mut wrapped = zeroize::Zeroizing::new([0u8; WRAPPED_LEN]);
        wrapped[0..8].copy_from_slice(&from.to_le_bytes());
        wrapped[8..16].copy_from_slice(&to.to_le_bytes());
        wrapped[16..16 + NONCE_LEN].copy_from_slice(&nonce);
        let (body, tag) = wrapped[16 + NONCE_LEN..].split_at_mut(KEY_LEN);
        body.copy_from_slice(keys.current.key.expose_secret());
        tag.copy_from_slice(&next.seal_in_place(
            &nonce,
            &wrap_aad(&self.inner.store_id, from, to),
            body,
        )?);
        self.inner.meta.insert(PREVIOUS_KEY, &wrapped[..])?;
        self.inner.db.flush()?;

        let header = make_header(self.inner.store_id, &next)?;
        write_header_atomically(&self.inner.dir, &header)?;

        let previous = std::mem::replace(&mut keys.current, next);
        keys.previous = Some(previous);
        *self.cursor() = RotationCursor::default();
        Ok(to)
    }

    fn cursor(&self) -> std::sync::MutexGuard<'_, RotationCursor> {
        // The cursor is only a scan position; after a panic elsewhere it is still usable.
        self.inner.cursor.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Re-seals up to `max_records` records of the old epoch; finishes the rotation when none
    /// is left. Returns immediately with `done: true` when no rotation is in progress.
    pub fn continue_rotation(&self, max_records: usize) -> Result<RotationProgress> {
        let Some(status) = self.rotation_status() else {
            return Ok(RotationProgress { resealed: self.cursor().resealed, done: true });
        };
        let mut cursor = self.cursor();
        let mut budget = max_records;
        let mut tree_names: Vec<Vec<u8>> = self
            .inner
            .db
            .tree_names()
            .into_iter()
            .filter(|name| name.starts_with(USER_TREE_PREFIX))
            .map(|name| name.to_vec())
            .collect();
        tree_names.sort();
        for sled_name in tree_names {
            let resume_after: Option<Vec<u8>> = match &cursor.position {
                Some((at_tree, _)) if sled_name < *at_tree => continue,
                Some((at_tree, after)) if *at_tree == sled_name => after.clone(),
                _ => None,
            };
            let name = String::from_utf8_lossy(&sled_name[USER_TREE_PREFIX.len()..]).into_owned();
            let tree = self.tree(&name)?;
            let range = match resume_after {
                Some(after) => tree.sled_tree().range::<Vec<u8>, _>((Excluded(after), Unbounded)),
                None => tree.sled_tree().range::<Vec<u8>, _>(..),
            };
            for item in range {
                let (key, raw) = item?;
                if budget == 0 {
                    return Ok(RotationProgress { resealed: cursor.resealed, done: false });
                }
                if self.reseal_one(&tree, &key, raw)? {
                    cursor.resealed += 1;
                    budget -= 1;
                }
                cursor.position = Some((sled_name.clone(), Some(key.to_vec())));
            }
            // Past this tree for good: the next tree name sorts after it.
            cursor.position = Some((next_name(&sled_name), None));
        }
        drop(cursor);
        self.finish_rotation(status)?;
        Ok(RotationProgress { resealed: self.cursor().resealed, done: true })
    }

    /// Re-seals one record if it is still of the old epoch. Returns whether it re-sealed.
    fn reseal_one(&self, tree: &crate::Tree, key: &[u8], mut raw: sled::IVec) -> Result<bool> {
        loop {
            let keys = self.inner.read_keys();
            if record_epoch(&raw) == Some(keys.current.epoch) {
                return Ok(false);
            }
            let plain = tree.unseal(&keys, key, &raw)?;
            let sealed = tree.seal(&keys, key, &plain)?;
            match tree.sled_tree().compare_and_swap(key, Some(&raw), Some(sealed))? {
                Ok(()) => return Ok(true),
                // A writer got in between; look at what it wrote.
                Err(conflict) => match conflict.current {
                    Some(now) => raw = now,
                    None => return Ok(false),
                },
            }
        }
    }

    fn finish_rotation(&self, status: RotationStatus) -> Result<()> {
        self.inner.db.flush()?;
        let mut keys = self.inner.write_keys();
        if keys.previous.as_ref().map(|prev| prev.epoch) != Some(status.from) {
            return Ok(());
        }
        self.inner.meta.remove(PREVIOUS_KEY)?;
        self.inner.db.flush()?;
        keys.previous = None;
        Ok(())
    }

    /// Runs a whole rotation to `new_key`: begin, then re-seal everything, then drop the old key.
    pub fn rotate(&self, new_key: &DbKey) -> Result<u64> {
        let epoch = self.begin_rotation(new_key)?;
        self.resume_rotation()?;
        Ok(epoch)
    }

    /// Finishes an unfinished rotation (for example after reopening a store that crashed
    /// mid-rotation). A no-op when none is in progress.
    pub fn resume_rotation(&self) -> Result<()> {
        while !self.continue_rotation(4096)?.done {}
        Ok(())
    }

    /// Number of records still sealed under an epoch other than the current one.
    pub fn records_behind_current_epoch(&self) -> Result<u64> {
        let current = self.epoch();
        let mut behind = 0;
        for name in self.inner.db.tree_names() {
            if !name.starts_with(USER_TREE_PREFIX) {
                continue;
            }
            for item in self.inner.db.open_tree(&name)?.iter() {
                let (_, raw) = item?;
                if record_epoch(&raw) != Some(current) {
                    behind += 1;
                }
            }
        }
        Ok(behind)
    }
}

/// The smallest sled tree name sorting after `name` (its byte string plus a zero byte).
fn next_name(name: &[u8]) -> Vec<u8> {
    let mut next = name.to_vec();
    next.push(0);
    next
}

fn record_epoch(raw: &[u8]) -> Option<u64> {
    crate::format::parse_record(raw).ok().map(|view| view.epoch)
}
