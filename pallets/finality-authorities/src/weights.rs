//! Weights of `pallet-finality-authorities`, measured by `peerseal-weights` (crates/weights).
//!
//! **Generated; do not edit by hand.** Regenerate (release build, idle machine) with:
//! `cargo run --release -p peerseal-weights --features runtime-benchmarks -- --steps 10 --repeat 20`
//!
//! - machine: a 2-core VM (`nproc` 2, CPU `AMD EPYC`), load average 0.91 at the start
//! - date: 2026-12-07 01:51 UTC
//! - steps per component: 10; timing repeats per step: 20
//! - what runs: the benchmarks of `src/benchmarking.rs`, natively against
//!   `peerseal-runtime` (`dev` feature: mock quotes) over its dev genesis state
//! - time: FRAME's least-squares fit over the interquartile range (a component whose
//!   slope comes out zero is left out and the fit repeated)
//! - reads and writes: the same fit of the distinct storage keys accessed (whitelisted
//!   ones free), priced with the runtime's `DbWeight`
//! - proof size: estimated from each storage item's `MaxEncodedLen` and `max_values`,
//!   summed over the items read

#![allow(unused_parens, unused_imports)]

use core::marker::PhantomData;
use frame_support::{
    traits::Get,
    weights::{constants::RocksDbWeight, Weight},
};

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

/// Measured weights priced with the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    // `schedule_change`: fastest run 10_145 ns, components `n` 1..=32.
    // Storage: `FinalityAuthorities::PendingEnactment` (r:1 w:1)
    // Storage: `Grandpa::CurrentSetId` (r:1 w:0)
    // Storage: `Grandpa::PendingChange` (r:1 w:1)
    fn schedule_change(_n: u32) -> Weight {
        Weight::from_parts(16_174_000, 5_761)
            .saturating_add(T::DbWeight::get().reads(3))
            .saturating_add(T::DbWeight::get().writes(2))
    }
    // `on_finalize_due`: fastest run 5_368 ns.
    // Storage: `FinalityAuthorities::PendingEnactment` (r:1 w:1)
    // Storage: `Grandpa::CurrentSetId` (r:1 w:1)
    // `on_finalize_idle`: fastest run 1_202 ns.
    // Storage: `FinalityAuthorities::PendingEnactment` (r:1 w:0)
    fn on_finalize(due: bool) -> Weight {
        if due {
            Weight::from_parts(5_718_000, 2_982)
                .saturating_add(T::DbWeight::get().reads(2))
                .saturating_add(T::DbWeight::get().writes(2))
        } else {
            Weight::from_parts(1_332_000, 1_489).saturating_add(T::DbWeight::get().reads(1))
        }
    }
}

/// The same measured weights priced with `RocksDbWeight`, for tests and mocks.
impl WeightInfo for () {
    // `schedule_change`: fastest run 10_145 ns, components `n` 1..=32.
    // Storage: `FinalityAuthorities::PendingEnactment` (r:1 w:1)
    // Storage: `Grandpa::CurrentSetId` (r:1 w:0)
    // Storage: `Grandpa::PendingChange` (r:1 w:1)
    fn schedule_change(_n: u32) -> Weight {
        Weight::from_parts(16_174_000, 5_761)
            .saturating_add(RocksDbWeight::get().reads(3))
            .saturating_add(RocksDbWeight::get().writes(2))
    }
    // `on_finalize_due`: fastest run 5_368 ns.
    // Storage: `FinalityAuthorities::PendingEnactment` (r:1 w:1)
    // Storage: `Grandpa::CurrentSetId` (r:1 w:1)
    // `on_finalize_idle`: fastest run 1_202 ns.
    // Storage: `FinalityAuthorities::PendingEnactment` (r:1 w:0)
    fn on_finalize(due: bool) -> Weight {
        if due {
            Weight::from_parts(5_718_000, 2_982)
                .saturating_add(RocksDbWeight::get().reads(2))
                .saturating_add(RocksDbWeight::get().writes(2))
        } else {
            Weight::from_parts(1_332_000, 1_489).saturating_add(RocksDbWeight::get().reads(1))
        }
    }
}
