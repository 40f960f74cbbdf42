//! The shares this node holds for other nodes, in its own encrypted store, so that they
//! survive the provider's restart.
//!
//! One record per (client, epoch) in the tree `held-backups`: key = client account ‖ epoch
//! (big-endian, so a client's epochs sort in order), value = the SCALE [`BackupShare`] (sealed
//! by `peerseal-kvdb` like every record). Only the newest [`MAX_EPOCHS_PER_CLIENT`] epochs of a
//! client are kept: a client rotating forever cannot fill the provider's disk. Sled calls
//! block briefly (a flush is an fsync), so async callers run them on the blocking pool.

use codec::{DecodeLimit, Encode};
use peerseal_kvdb::{Store, Tree};
use peerseal_protocol::limits::MAX_DECODE_DEPTH;
use peerseal_protocol::{AccountId, BackupShare};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Name of the kvdb tree.
pub const HELD_TREE: &str = "held-backups";
/// Epochs kept per client; older ones are dropped when a newer one arrives.
pub const MAX_EPOCHS_PER_CLIENT: usize = 3;

/// What [`HeldShares::put`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The share was new and is stored now.
    New,
    /// Exactly these bytes were held already; nothing changed.
    AlreadyHeld,
}

/// Errors of the held-share store (no share bytes in them).
#[derive(Debug, thiserror::Error)]
pub enum HeldError {
    /// The encrypted store failed.
    #[error("store: {0}")]
    Store(#[from] peerseal_kvdb::Error),
    /// A different share is held for this (account, epoch); it is kept.
    #[error("a different share is held for epoch {epoch}")]
    Conflict {
        /// Epoch of the record.
        epoch: u64,
    },
    /// A stored record does not decode (disk corruption or a format change).
    #[error("held share record for epoch {epoch} does not decode")]
    Corrupt {
        /// Epoch of the record.
        epoch: u64,
    },
}

/// The held shares of this provider.
#[derive(Clone, Debug)]
pub struct HeldShares {
    store: Store,
    tree: Tree,
}

fn record_key(client: &AccountId, epoch: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(&client.0);
    key[32..].copy_from_slice(&epoch.to_be_bytes());
    key
}

impl HeldShares {
    /// The held shares in `store` (tree [`HELD_TREE`]).
    pub fn open(store: &Store) -> Result<Self, HeldError> {
        Ok(Self { store: store.clone(), tree: store.tree(HELD_TREE)? })
    }

    /// Stores `share` under (`share.account`, `share.epoch`), flushes it to disk, and drops
    /// the client's epochs beyond the newest [`MAX_EPOCHS_PER_CLIENT`].
    ///
    /// A held (account, epoch) is never overwritten: the same bytes again are
    /// [`Stored::AlreadyHeld`] (a client retrying its own backup), different bytes are
    /// [`HeldError::Conflict`] — otherwise a clone of a node could replace the genuine node's
    /// not-yet-recorded shares with its own. The comparison is constant-time, so the sender
    /// learns nothing about the held share beyond "equal or not".
    pub fn put(&self, share: &BackupShare) -> Result<Stored, HeldError> {
        let value = Zeroizing::new(share.encode());
        let key = record_key(&share.account, share.epoch);
        if let Some(held) = self.tree.get(key)? {
            let held: &[u8] = &held;
            let same = held.len() == value.len() && bool::from(held.ct_eq(value.as_slice()));
            return if same {
                Ok(Stored::AlreadyHeld)
            } else {
                Err(HeldError::Conflict { epoch: share.epoch })
            };
        }
        self.tree.insert(key, value.as_slice())?;
        let mut epochs = self.epochs(&share.account)?;
        epochs.sort_unstable_by(|a, b| b.cmp(a));
        for old in epochs.into_iter().skip(MAX_EPOCHS_PER_CLIENT) {
            self.tree.remove(record_key(&share.account, old))?;
        }
        self.store.flush()?;
        Ok(Stored::New)
    }

    /// Forgets every share of `client` whose epoch `superseded` says is no longer needed;
    /// returns how many were dropped.
    pub fn prune(
        &self,
        client: &AccountId,
        superseded: impl Fn(u64) -> bool,
    ) -> Result<usize, HeldError> {
        let mut dropped = 0;
        for epoch in self.epochs(client)? {
            if superseded(epoch) && self.tree.remove(record_key(client, epoch))? {
                dropped += 1;
            }
        }
        if dropped > 0 {
            self.store.flush()?;
        }
        Ok(dropped)
    }

    /// The clients this provider holds any share for, each once, in key order.
    pub fn clients(&self) -> Result<Vec<AccountId>, HeldError> {
        let mut out: Vec<AccountId> = Vec::new();
        for item in self.tree.iter() {
            let (key, _) = item?;
            let Some(client) = key.get(..32).and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
                continue;
            };
            if out.last().is_none_or(|last| last.0 != client) {
                out.push(AccountId(client));
            }
        }
        Ok(out)
    }

    /// The share held for (`client`, `epoch`), if any.
    pub fn get(&self, client: &AccountId, epoch: u64) -> Result<Option<BackupShare>, HeldError> {
        let Some(value) = self.tree.get(record_key(client, epoch))? else {
            return Ok(None);
        };
        BackupShare::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &value[..])
            .map(Some)
            .map_err(|_| HeldError::Corrupt { epoch })
    }

    /// Forgets the share of (`client`, `epoch`); whether there was one.
    pub fn remove(&self, client: &AccountId, epoch: u64) -> Result<bool, HeldError> {
        let removed = self.tree.remove(record_key(client, epoch))?;
        self.store.flush()?;
        Ok(removed)
    }

    /// The epochs held for `client`.
    pub fn epochs(&self, client: &AccountId) -> Result<Vec<u64>, HeldError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(client.0) {
            let (key, _) = item?;
            let epoch =
                key.get(32..40).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes);
            if let Some(epoch) = epoch {
                out.push(epoch);
            }
        }
        Ok(out)
    }

    /// Number of held shares (all clients, all epochs).
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// Whether no share is held.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerseal_kvdb::DbKey;
    use peerseal_protocol::ShareBytes;

    fn share(account: AccountId, epoch: u64, byte: u8) -> BackupShare {
        BackupShare {
            account,
            epoch,
            share_index: 1,
            threshold: 1,
            share: ShareBytes::from_slice(&[byte; 32]).unwrap(),
        }
    }

    #[test]
    fn survives_reopen_and_keeps_newest_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let key = DbKey::generate().unwrap();
        let a = AccountId([1; 32]);
        {
            let store = Store::create(dir.path().join("db"), &key).unwrap();
            let held = HeldShares::open(&store).unwrap();
            for epoch in 1..=5 {
                held.put(&share(a, epoch, epoch as u8)).unwrap();
            }
            held.put(&share(AccountId([2; 32]), 1, 9)).unwrap();
        }
        let store = Store::open(dir.path().join("db"), &key).unwrap();
        let held = HeldShares::open(&store).unwrap();
        let mut epochs = held.epochs(&a).unwrap();
        epochs.sort_unstable();
        assert_eq!(epochs, vec![3, 4, 5]);
        assert_eq!(held.get(&a, 5).unwrap().unwrap(), share(a, 5, 5));
        assert!(held.get(&a, 1).unwrap().is_none());
        assert!(held.remove(&a, 5).unwrap());
        assert!(held.get(&a, 5).unwrap().is_none());
        assert_eq!(held.len(), 3);
    }

    #[test]
    fn a_held_epoch_is_never_overwritten_and_pruning_drops_only_what_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path().join("db"), &DbKey::generate().unwrap()).unwrap();
        let held = HeldShares::open(&store).unwrap();
        let (a, b) = (AccountId([1; 32]), AccountId([2; 32]));
        assert_eq!(held.put(&share(a, 4, 7)).unwrap(), Stored::New);
        assert_eq!(held.put(&share(a, 4, 7)).unwrap(), Stored::AlreadyHeld);
        assert!(matches!(held.put(&share(a, 4, 8)), Err(HeldError::Conflict { epoch: 4 })));
        assert_eq!(held.get(&a, 4).unwrap().unwrap(), share(a, 4, 7), "the first share stays");
        held.put(&share(a, 5, 1)).unwrap();
        held.put(&share(b, 1, 1)).unwrap();
        assert_eq!(held.clients().unwrap(), vec![a, b]);
        assert_eq!(held.prune(&a, |epoch| epoch < 5).unwrap(), 1);
        assert_eq!(held.epochs(&a).unwrap(), vec![5]);
        assert_eq!(held.epochs(&b).unwrap(), vec![1], "other clients untouched");
    }
}
