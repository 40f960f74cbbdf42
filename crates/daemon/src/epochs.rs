//! Which key epoch a new backup may use. Providers never overwrite a held (account, epoch) and
//! the chain only takes epochs above its record, so an epoch that a failed attempt already
//! dealt (its shares may sit at providers, its key is gone) must not be dealt again with
//! another key. The highest epoch this node ever dealt is kept inside its own encrypted store
//! (tree `node`, so it moves with every rotation and the host cannot lower it without
//! rolling the whole store back, which the chain's recorded epoch catches), and written before
//! any share of it leaves the node.

use peerseal_kvdb::Store;

const TREE: &str = "node";
const HIGHEST_DEALT: &[u8] = b"highest-dealt-epoch";

/// Why the next epoch could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum EpochError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] peerseal_kvdb::Error),
    /// The counter is exhausted.
    #[error("key epoch overflow")]
    Overflow,
}

/// The highest epoch this store's node dealt shares for (its own epoch if none recorded).
pub fn highest_dealt(store: &Store) -> Result<u64, peerseal_kvdb::Error> {
    let stored = store.tree(TREE)?.get(HIGHEST_DEALT)?.and_then(|v| {
        let bytes: [u8; 8] = v.as_slice().try_into().ok()?;
        Some(u64::from_be_bytes(bytes))
    });
    Ok(stored.unwrap_or(0).max(store.epoch()))
}

/// Claims the epoch for a new key: above the store's, the chain's `recorded` and every epoch
/// dealt before; durable (flushed) before it is returned.
pub fn claim_next(store: &Store, recorded: Option<u64>) -> Result<u64, EpochError> {
    let floor = highest_dealt(store)?.max(recorded.unwrap_or(0));
    let next = floor.checked_add(1).ok_or(EpochError::Overflow)?;
    store.tree(TREE)?.insert(HIGHEST_DEALT, next.to_be_bytes())?;
    store.flush()?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerseal_kvdb::DbKey;

    #[test]
    fn claimed_epochs_never_repeat_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let key = DbKey::generate().unwrap();
        {
            let store = Store::create(dir.path().join("db"), &key).unwrap();
            assert_eq!(highest_dealt(&store).unwrap(), 0);
            assert_eq!(claim_next(&store, None).unwrap(), 1);
            // The attempt failed: the next one skips 1.
            assert_eq!(claim_next(&store, Some(0)).unwrap(), 2);
            // The chain is further on (another attempt recorded 6): above it.
            assert_eq!(claim_next(&store, Some(6)).unwrap(), 7);
        }
        let store = Store::open(dir.path().join("db"), &key).unwrap();
        assert_eq!(highest_dealt(&store).unwrap(), 7);
        assert_eq!(claim_next(&store, Some(3)).unwrap(), 8);
    }
}
