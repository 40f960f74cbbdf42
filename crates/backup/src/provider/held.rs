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
use zeroize::Zeroizing;

/// Name of the kvdb tree.
pub const HELD_TREE: &str = "held-backups";
/// Epochs kept per client; older ones are dropped when a newer one arrives.
pub const MAX_EPOCHS_PER_CLIENT: usize = 3;

/// Errors of the held-share store (no share bytes in them).
#[derive(Debug, thiserror::Error)]
pub enum HeldError {
    /// The encrypted store failed.
    #[error("store: {0}")]
    Store(#[from] peerseal_kvdb::Error),
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

    /// Stores (or replaces) `share` under (`share.account`, `share.epoch`), flushes it to disk,
    /// and drops the client's epochs beyond the newest [`MAX_EPOCHS_PER_CLIENT`].
    pub fn put(&self, share: &BackupShare) -> Result<(), HeldError> {
        let value = Zeroizing::new(share.encode());
        self.tree.insert(record_key(&share.account, share.epoch), value.as_slice())?;
        let mut epochs = self.epochs(&share.account)?;
        epochs.sort_unstable_by(|a, b| b.cmp(a));
        for old in epochs.into_iter().skip(MAX_EPOCHS_PER_CLIENT) {
            self.tree.remove(record_key(&share.account, old))?;
        }
        self.store.flush()?;
        Ok(())
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
}
