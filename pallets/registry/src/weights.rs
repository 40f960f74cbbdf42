//! Weights of `pallet-registry`.
//!
//! **These are hand estimates, not benchmark results.** Each figure counts the storage items the
//! call reads and writes (priced with the runtime's `DbWeight`), adds a fixed compute allowance
//! and a proof-size allowance from the items' `MaxEncodedLen`, and errs on the high side until
//! the pallet is benchmarked with `frame-benchmarking`.
//!
//! Two costs are not in these figures; the pallet adds them to each call's weight itself:
//! - quote verification, from `VerifyAttestation::verify_weight`;
//! - the size-dependent part of maintaining `ServerIndex` (search, shift and its proof size,
//!   which grow with `MaxServers`), from `Pallet::index_weight`; its one read and one write
//!   are counted here;
//! - the `OnServerChange` listeners (pallet-backup), from the worst-case weight each listener
//!   states per notification (`joined_weight`, `leaving_weight`, `removed_weight`); the block
//!   hook adds `removed_weight` per server it removes.

#![allow(unused_parens, unused_imports)]

use core::marker::PhantomData;
use frame_support::{
    traits::Get,
    weights::{constants::RocksDbWeight, RuntimeDbWeight, Weight},
};

/// Fixed compute allowance of a call (40 µs), listener notifications excluded.
const CALL_COMPUTE: u64 = 40_000_000;
/// Proof size of one `ServerInfo` (quote up to 16 KiB, addresses, keys) plus its key.
const SERVER_INFO_PROOF: u64 = 17_500;
/// Proof size of a small map entry (account key + status / stash / block number).
const SMALL_ENTRY_PROOF: u64 = 100;

/// Weight functions needed by `pallet-registry`.
pub trait WeightInfo {
    /// `register`, without the quote check: reads Servers, StashOf, ServerCount, ServerIndex,
    /// System.Account, Revision; writes Servers, StashOf, ServerStatusOf, ServerCount,
    /// ServerIndex, Revision, System.Account.
    fn register() -> Weight;
    /// `change_server_info`, without the quote check: reads Servers, ServerStatusOf, StashOf,
    /// ApprovedMoves, ServerIndex, Revision, 2× System.Account; writes Servers, 2× StashOf,
    /// 2× ServerStatusOf, ApprovedMoves, ServerIndex, Revision, 2× System.Account.
    fn change_server_info() -> Weight;
    /// `leave`: reads Servers, ServerStatusOf, LeaveQueueBounds, Revision; writes LeaveQueue,
    /// LeaveQueueBounds, ServerStatusOf, LeavingSince, Revision.
    fn leave() -> Weight;
    /// `purge_left`: reads Servers, LeavingSince; then one removal.
    fn purge_left() -> Weight;
    /// `remove`: reads Servers; then one removal.
    fn remove() -> Weight;
    /// The block hook: reads LeaveQueueBounds; per processed entry reads LeaveQueue, Servers,
    /// LeavingSince and writes LeaveQueue; per removed server one removal; writes the bounds.
    /// The pallet adds the listeners' `removed_weight` per removed server.
    fn on_initialize(processed: u32, removed: u32) -> Weight;
    /// `approve_move`: reads StashOf; writes ApprovedMoves.
    fn approve_move() -> Weight;
    /// `revoke_move`: reads and writes ApprovedMoves.
    fn revoke_move() -> Weight;
}

/// One server removal: writes Servers, StashOf, ServerStatusOf, LeavingSince, ApprovedMoves,
/// ServerCount, ServerIndex, Revision and System.Account (the last four read too); the
/// `removed` notification is added by the pallet.
fn removal(db: RuntimeDbWeight) -> Weight {
    Weight::from_parts(CALL_COMPUTE, SERVER_INFO_PROOF + 4 * SMALL_ENTRY_PROOF)
        .saturating_add(db.reads_writes(5, 9))
}

fn register(db: RuntimeDbWeight) -> Weight {
    Weight::from_parts(CALL_COMPUTE, SERVER_INFO_PROOF + 3 * SMALL_ENTRY_PROOF)
        .saturating_add(db.reads_writes(6, 7))
}

fn change_server_info(db: RuntimeDbWeight) -> Weight {
    Weight::from_parts(CALL_COMPUTE, SERVER_INFO_PROOF + 6 * SMALL_ENTRY_PROOF)
        .saturating_add(db.reads_writes(8, 10))
}

fn approve_move(db: RuntimeDbWeight) -> Weight {
    Weight::from_parts(CALL_COMPUTE, 2 * SMALL_ENTRY_PROOF).saturating_add(db.reads_writes(1, 1))
}

fn revoke_move(db: RuntimeDbWeight) -> Weight {
    Weight::from_parts(CALL_COMPUTE, SMALL_ENTRY_PROOF).saturating_add(db.reads_writes(1, 1))
}

fn leave(db: RuntimeDbWeight) -> Weight {
    Weight::from_parts(CALL_COMPUTE, SERVER_INFO_PROOF + 3 * SMALL_ENTRY_PROOF)
        .saturating_add(db.reads_writes(4, 5))
}

fn purge_left(db: RuntimeDbWeight) -> Weight {
    Weight::from_parts(CALL_COMPUTE, SMALL_ENTRY_PROOF)
        .saturating_add(db.reads(2))
        .saturating_add(removal(db))
}

fn remove(db: RuntimeDbWeight) -> Weight {
    Weight::from_parts(CALL_COMPUTE, 0).saturating_add(db.reads(1)).saturating_add(removal(db))
}

fn on_initialize(db: RuntimeDbWeight, processed: u32, removed: u32) -> Weight {
    let per_entry = Weight::from_parts(5_000_000, SERVER_INFO_PROOF + 2 * SMALL_ENTRY_PROOF)
        .saturating_add(db.reads_writes(3, 1));
    Weight::from_parts(2_000_000, SMALL_ENTRY_PROOF)
        .saturating_add(db.reads_writes(1, 1))
        .saturating_add(per_entry.saturating_mul(processed.into()))
        .saturating_add(removal(db).saturating_mul(removed.into()))
}

/// Estimated weights for a runtime, priced with its `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    fn register() -> Weight {
        register(T::DbWeight::get())
    }
    fn change_server_info() -> Weight {
        change_server_info(T::DbWeight::get())
    }
    fn leave() -> Weight {
        leave(T::DbWeight::get())
    }
    fn purge_left() -> Weight {
        purge_left(T::DbWeight::get())
    }
    fn remove() -> Weight {
        remove(T::DbWeight::get())
    }
    fn on_initialize(processed: u32, removed: u32) -> Weight {
        on_initialize(T::DbWeight::get(), processed, removed)
    }
    fn approve_move() -> Weight {
        approve_move(T::DbWeight::get())
    }
    fn revoke_move() -> Weight {
        revoke_move(T::DbWeight::get())
    }
}

/// Estimates for tests and runtimes without their own figures, priced as RocksDB.
impl WeightInfo for () {
    fn register() -> Weight {
        register(RocksDbWeight::get())
    }
    fn change_server_info() -> Weight {
        change_server_info(RocksDbWeight::get())
    }
    fn leave() -> Weight {
        leave(RocksDbWeight::get())
    }
    fn purge_left() -> Weight {
        purge_left(RocksDbWeight::get())
    }
    fn remove() -> Weight {
        remove(RocksDbWeight::get())
    }
    fn on_initialize(processed: u32, removed: u32) -> Weight {
        on_initialize(RocksDbWeight::get(), processed, removed)
    }
    fn approve_move() -> Weight {
        approve_move(RocksDbWeight::get())
    }
    fn revoke_move() -> Weight {
        revoke_move(RocksDbWeight::get())
    }
}
