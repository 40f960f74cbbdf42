//! Weights of `pallet-finality-authorities`.
//!
//! **These are hand estimates, not benchmark results.** Each figure counts the storage items the
//! call or hook reads and writes (priced with the runtime's `DbWeight`), adds a fixed compute
//! allowance and a proof-size allowance from the items' `MaxEncodedLen`, and errs on the high
//! side until the pallet is benchmarked with `frame-benchmarking`.

use core::marker::PhantomData;
use frame_support::{
    traits::Get,
    weights::{constants::RocksDbWeight, RuntimeDbWeight, Weight},
};

/// Fixed compute allowance of the call (20 µs) plus a per-authority share for the duplicate
/// and weight checks and the copy into pallet-grandpa's pending change.
const CALL_COMPUTE: u64 = 20_000_000;
/// Per-authority compute (1 µs: a set insertion and an addition).
const PER_AUTHORITY_COMPUTE: u64 = 1_000_000;
/// Proof size of one `(AuthorityId, weight)` pair (32 + 8 bytes, rounded up).
const PER_AUTHORITY_PROOF: u64 = 48;
/// Proof size of the small values read (block number, set id, pending marker).
const SMALL_PROOF: u64 = 100;

/// Weight functions needed by `pallet-finality-authorities`.
pub trait WeightInfo {
    /// `schedule_change` with `n` authorities: reads PendingEnactment, Grandpa.PendingChange,
    /// Grandpa.CurrentSetId, System.Number; writes Grandpa.PendingChange, PendingEnactment and
    /// the event.
    fn schedule_change(n: u32) -> Weight;
    /// The `on_finalize` hook: reads PendingEnactment; when the change is `due`, also reads and
    /// writes Grandpa.CurrentSetId and removes PendingEnactment.
    fn on_finalize(due: bool) -> Weight;
}

fn schedule_change(db: RuntimeDbWeight, n: u32) -> Weight {
    let n = u64::from(n);
    Weight::from_parts(
        CALL_COMPUTE.saturating_add(PER_AUTHORITY_COMPUTE.saturating_mul(n)),
        SMALL_PROOF.saturating_add(PER_AUTHORITY_PROOF.saturating_mul(n)),
    )
    .saturating_add(db.reads_writes(4, 3))
}

fn on_finalize(db: RuntimeDbWeight, due: bool) -> Weight {
    if due {
        Weight::from_parts(5_000_000, SMALL_PROOF).saturating_add(db.reads_writes(2, 3))
    } else {
        Weight::from_parts(1_000_000, SMALL_PROOF).saturating_add(db.reads(1))
    }
}

/// Weights priced with the runtime's own `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    fn schedule_change(n: u32) -> Weight {
        schedule_change(T::DbWeight::get(), n)
    }
    fn on_finalize(due: bool) -> Weight {
        on_finalize(T::DbWeight::get(), due)
    }
}

/// For tests and runtimes without a `DbWeight` of their own: RocksDB prices.
impl WeightInfo for () {
    fn schedule_change(n: u32) -> Weight {
        schedule_change(RocksDbWeight::get(), n)
    }
    fn on_finalize(due: bool) -> Weight {
        on_finalize(RocksDbWeight::get(), due)
    }
}
