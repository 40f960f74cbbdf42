//! A state backend that counts storage accesses, so FRAME's benchmarking host functions work.
//!
//! `run_benchmark` commits the benchmark's changes into the backend (`commit_db`), resets it
//! between runs (`wipe_db`) and asks it how many keys were read and written. An
//! `InMemoryBackend` leaves all of those to the trait's defaults, which panic. [`BenchBackend`]
//! wraps one: every read through it is noted per key, every committed change counts as a write
//! of its key, and `wipe` goes back to the genesis state. Counting is per distinct key, as a
//! database with a cache would pay for it: the first access of a key is a read (or write), each
//! further one only a "repeat", which FRAME's weights do not charge.
//!
//! The proof size is not recorded (`proof_size` is `None`): every storage item of peerseal's
//! pallets is bounded, so the runner estimates the proof from `MaxEncodedLen` instead.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};

use sp_core::storage::ChildInfo;
use sp_runtime::traits::BlakeTwo256;
use sp_state_machine::{
    backend::BackendTransaction, Backend, ChildStorageCollection, InMemoryBackend, IterArgs,
    StorageCollection, StorageIterator, UsageInfo,
};
use sp_storage::TrackedStorageKey;

type Inner = InMemoryBackend<BlakeTwo256>;
type InnerError = <Inner as Backend<BlakeTwo256>>::Error;
type Root = <BlakeTwo256 as sp_core::Hasher>::Out;

/// How often one key was read and written since the last reset.
#[derive(Clone, Copy, Default, Debug)]
struct Access {
    reads: u32,
    writes: u32,
}

/// The in-memory state of a benchmark, with access counting (see the module docs).
pub struct BenchBackend {
    /// What `wipe` returns to.
    genesis: Inner,
    /// The current state: genesis plus every commit since the last wipe.
    state: RefCell<Inner>,
    /// Accesses per key since the last reset; child keys are stored as child key ‖ key.
    accesses: RefCell<HashMap<Vec<u8>, Access>>,
    /// Keys whose accesses are free (set by the benchmark: block number, caller's account, …).
    whitelist: RefCell<Vec<TrackedStorageKey>>,
    /// Counting costs a map update per access; timing runs switch it off.
    tracking: Cell<bool>,
}

impl core::fmt::Debug for BenchBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BenchBackend")
            .field("root", self.state.borrow().root())
            .field("tracking", &self.tracking.get())
            .finish()
    }
}

impl BenchBackend {
    /// A backend at `genesis`, counting accesses.
    pub fn new(genesis: Inner) -> Self {
        Self {
            state: RefCell::new(genesis.clone()),
            genesis,
            accesses: RefCell::new(HashMap::new()),
            whitelist: RefCell::new(Vec::new()),
            tracking: Cell::new(true),
        }
    }

    /// Turns access counting on (database runs) or off (timing runs).
    pub fn set_tracking(&self, on: bool) {
        self.tracking.set(on);
    }

    fn note(&self, child: Option<&ChildInfo>, key: &[u8], write: bool) {
        if !self.tracking.get() {
            return;
        }
        let full = match child {
            Some(child) => [child.storage_key(), key].concat(),
            None => key.to_vec(),
        };
        let mut accesses = self.accesses.borrow_mut();
        let access = accesses.entry(full).or_default();
        if write {
            access.writes = access.writes.saturating_add(1);
        } else {
            access.reads = access.reads.saturating_add(1);
        }
    }

    fn whitelisted(&self) -> HashSet<Vec<u8>> {
        self.whitelist.borrow().iter().map(|k| k.key.clone()).collect()
    }
}

/// Iterator over a [`BenchBackend`]: the inner backend's, noting each key it yields as read.
pub struct BenchIter {
    inner: <Inner as Backend<BlakeTwo256>>::RawIter,
    child: Option<ChildInfo>,
}

impl StorageIterator<BlakeTwo256> for BenchIter {
    type Backend = BenchBackend;
    type Error = InnerError;

    fn next_key(&mut self, backend: &BenchBackend) -> Option<Result<Vec<u8>, InnerError>> {
        let next = self.inner.next_key(&backend.state.borrow());
        if let Some(Ok(key)) = &next {
            backend.note(self.child.as_ref(), key, false);
        }
        next
    }

    fn next_pair(
        &mut self,
        backend: &BenchBackend,
    ) -> Option<Result<(Vec<u8>, Vec<u8>), InnerError>> {
        let next = self.inner.next_pair(&backend.state.borrow());
        if let Some(Ok((key, _))) = &next {
            backend.note(self.child.as_ref(), key, false);
        }
        next
    }

    fn was_complete(&self) -> bool {
        self.inner.was_complete()
    }
}

impl Backend<BlakeTwo256> for BenchBackend {
    type Error = InnerError;
    type TrieBackendStorage = <Inner as Backend<BlakeTwo256>>::TrieBackendStorage;
    type RawIter = BenchIter;

    fn storage(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Self::Error> {
        self.note(None, key, false);
        self.state.borrow().storage(key)
    }

    fn storage_hash(&self, key: &[u8]) -> Result<Option<Root>, Self::Error> {
        self.note(None, key, false);
        self.state.borrow().storage_hash(key)
    }

    fn closest_merkle_value(
        &self,
        key: &[u8],
    ) -> Result<Option<sp_trie::MerkleValue<Root>>, Self::Error> {
        self.note(None, key, false);
        self.state.borrow().closest_merkle_value(key)
    }

    fn child_closest_merkle_value(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<sp_trie::MerkleValue<Root>>, Self::Error> {
        self.note(Some(child_info), key, false);
        self.state.borrow().child_closest_merkle_value(child_info, key)
    }

    fn child_storage(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, Self::Error> {
        self.note(Some(child_info), key, false);
        self.state.borrow().child_storage(child_info, key)
    }

    fn child_storage_hash(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<Root>, Self::Error> {
        self.note(Some(child_info), key, false);
        self.state.borrow().child_storage_hash(child_info, key)
    }

    fn next_storage_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Self::Error> {
        let next = self.state.borrow().next_storage_key(key)?;
        if let Some(next) = &next {
            self.note(None, next, false);
        }
        Ok(next)
    }

    fn next_child_storage_key(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, Self::Error> {
        let next = self.state.borrow().next_child_storage_key(child_info, key)?;
        if let Some(next) = &next {
            self.note(Some(child_info), next, false);
        }
        Ok(next)
    }

    fn storage_root<'a>(
        &self,
        delta: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
        state_version: sp_core::storage::StateVersion,
    ) -> (Root, BackendTransaction<BlakeTwo256>) {
        self.state.borrow().storage_root(delta, state_version)
    }

    fn child_storage_root<'a>(
        &self,
        child_info: &ChildInfo,
        delta: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
        state_version: sp_core::storage::StateVersion,
    ) -> (Root, bool, BackendTransaction<BlakeTwo256>) {
        self.state.borrow().child_storage_root(child_info, delta, state_version)
    }

    fn raw_iter(&self, args: IterArgs) -> Result<BenchIter, Self::Error> {
        let child = args.child_info.clone();
        let inner = self.state.borrow().raw_iter(args)?;
        Ok(BenchIter { inner, child })
    }

    fn register_overlay_stats(&self, stats: &sp_state_machine::StateMachineStats) {
        self.state.borrow().register_overlay_stats(stats)
    }

    fn usage_info(&self) -> UsageInfo {
        self.state.borrow().usage_info()
    }

    /// Back to genesis, forgetting every access (the whitelist stays).
    fn wipe(&self) -> Result<(), Self::Error> {
        *self.state.borrow_mut() = self.genesis.clone();
        self.accesses.borrow_mut().clear();
        Ok(())
    }

    /// Applies the committed trie nodes and counts each changed key as written.
    fn commit(
        &self,
        root: Root,
        transaction: BackendTransaction<BlakeTwo256>,
        main: StorageCollection,
        children: ChildStorageCollection,
    ) -> Result<(), Self::Error> {
        self.state.borrow_mut().apply_transaction(root, transaction);
        for (key, _) in &main {
            self.note(None, key, true);
        }
        for (child_key, changes) in &children {
            let child = ChildInfo::new_default(child_key);
            for (key, _) in changes {
                self.note(Some(&child), key, true);
            }
        }
        Ok(())
    }

    /// `(reads, repeat reads, writes, repeat writes)` of non-whitelisted keys.
    fn read_write_count(&self) -> (u32, u32, u32, u32) {
        let whitelisted = self.whitelisted();
        let mut counts = (0u32, 0u32, 0u32, 0u32);
        for (key, access) in self.accesses.borrow().iter() {
            if whitelisted.contains(key) {
                continue;
            }
            if access.reads > 0 {
                counts.0 = counts.0.saturating_add(1);
                counts.1 = counts.1.saturating_add(access.reads - 1);
            }
            if access.writes > 0 {
                counts.2 = counts.2.saturating_add(1);
                counts.3 = counts.3.saturating_add(access.writes - 1);
            }
        }
        counts
    }

    fn reset_read_write_count(&self) {
        self.accesses.borrow_mut().clear();
    }

    fn get_whitelist(&self) -> Vec<TrackedStorageKey> {
        self.whitelist.borrow().clone()
    }

    fn set_whitelist(&self, new: Vec<TrackedStorageKey>) {
        *self.whitelist.borrow_mut() = new;
    }

    fn proof_size(&self) -> Option<u32> {
        None
    }

    /// Per storage item (the first 32 bytes of a key: pallet and item prefix), how many of its
    /// keys were read and how many written, and whether the item's keys are whitelisted.
    fn get_read_and_written_keys(&self) -> Vec<(Vec<u8>, u32, u32, bool)> {
        let whitelisted = self.whitelisted();
        let mut per_prefix: BTreeMap<Vec<u8>, (u32, u32, bool)> = BTreeMap::new();
        for (key, access) in self.accesses.borrow().iter() {
            let prefix = key[..key.len().min(32)].to_vec();
            let entry = per_prefix.entry(prefix).or_insert((0, 0, true));
            // Whitelisted keys are free; an item is reported whitelisted only when every key
            // of it that was touched is.
            if !whitelisted.contains(key) {
                entry.0 = entry.0.saturating_add(u32::from(access.reads > 0));
                entry.1 = entry.1.saturating_add(u32::from(access.writes > 0));
                entry.2 = false;
            }
        }
        per_prefix
            .into_iter()
            .map(|(prefix, (reads, writes, whitelisted))| (prefix, reads, writes, whitelisted))
            .collect()
    }
}
