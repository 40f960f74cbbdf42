//! Weights of `pallet-backup`, measured by `peerseal-weights` (crates/weights).
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

/// Weight functions needed by `pallet-backup`.
pub trait WeightInfo {
    /// `record_backup` with `p` providers (worst case: replacing an assignment of `p` others)
    /// and `s` sealed recovery shares.
    fn record_backup(p: u32, s: u32) -> Weight;
    /// `set_recovery_operators` with `o` operators.
    fn set_recovery_operators(o: u32) -> Weight;
    /// `report_recovered_by_operators` with up to `s` recorded sealed shares.
    fn report_recovered_by_operators(s: u32) -> Weight;
    /// `confirm_backup`.
    fn confirm_backup() -> Weight;
    /// `report_recovery`.
    fn report_recovery() -> Weight;
    /// The `leaving` registry hook for a provider with `c` clients.
    fn on_provider_leaving(c: u32) -> Weight;
    /// The `removed` registry hook for a server with `c` clients and `p` providers of its own.
    fn on_server_removed(c: u32, p: u32) -> Weight;
}

/// Measured weights priced with the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    // `record_backup`: fastest run 29_805 ns, components `p` 1..=16, `s` 0..=16.
    // Storage: `Backup::Assignments` (r:1 w:1)
    // Storage: `Backup::ClientCount` (r:32 w:32)
    // Storage: `Backup::ClientsOf` (r:32 w:32)
    // Storage: `Backup::Confirmations` (r:0 w:16)
    // Storage: `Backup::RecoveryOperators` (r:1 w:0)
    // Storage: `Backup::RecoveryShares` (r:0 w:1)
    // Storage: `Backup::Revision` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:17 w:0)
    fn record_backup(p: u32, s: u32) -> Weight {
        Weight::from_parts(8_215_997, 13_590)
            .saturating_add(Weight::from_parts(18_199_051, 0).saturating_mul(p.into()))
            .saturating_add(Weight::from_parts(255_014, 0).saturating_mul(s.into()))
            .saturating_add(T::DbWeight::get().reads(4))
            .saturating_add(T::DbWeight::get().reads(u64::from(p).saturating_mul(5)))
            .saturating_add(T::DbWeight::get().writes(3))
            .saturating_add(T::DbWeight::get().writes(u64::from(p).saturating_mul(5)))
            .saturating_add(Weight::from_parts(0, 12_720).saturating_mul(p.into()))
    }
    // `set_recovery_operators`: fastest run 5_428 ns, components `o` 0..=16.
    // Storage: `Backup::NextOperatorSetRevision` (r:1 w:1)
    // Storage: `Backup::RecoveryOperators` (r:0 w:1)
    fn set_recovery_operators(o: u32) -> Weight {
        Weight::from_parts(9_237_500, 1_489)
            .saturating_add(Weight::from_parts(57_652, 0).saturating_mul(o.into()))
            .saturating_add(T::DbWeight::get().reads(1))
            .saturating_add(T::DbWeight::get().writes(2))
    }
    // `report_recovered_by_operators`: fastest run 6_950 ns, components `s` 1..=16.
    // Storage: `Backup::RecoveryShares` (r:1 w:0)
    // Storage: `Registry::ServerStatusOf` (r:1 w:0)
    fn report_recovered_by_operators(s: u32) -> Weight {
        Weight::from_parts(8_846_303, 15_264)
            .saturating_add(Weight::from_parts(33_449, 0).saturating_mul(s.into()))
            .saturating_add(T::DbWeight::get().reads(2))
    }
    // `confirm_backup`: fastest run 10_165 ns.
    // Storage: `Backup::Assignments` (r:1 w:0)
    // Storage: `Backup::Confirmations` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:1 w:0)
    fn confirm_backup() -> Weight {
        Weight::from_parts(10_846_000, 11_171)
            .saturating_add(T::DbWeight::get().reads(3))
            .saturating_add(T::DbWeight::get().writes(1))
    }
    // `report_recovery`: fastest run 8_443 ns.
    // Storage: `Backup::Assignments` (r:1 w:0)
    // Storage: `Registry::ServerStatusOf` (r:1 w:0)
    fn report_recovery() -> Weight {
        Weight::from_parts(9_454_000, 7_602).saturating_add(T::DbWeight::get().reads(2))
    }
    // `on_provider_leaving`: fastest run 4_908 ns, components `c` 0..=256.
    // Storage: `Backup::ClientsOf` (r:256 w:0)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    fn on_provider_leaving(c: u32) -> Weight {
        Weight::from_parts(10_743_134, 4_455)
            .saturating_add(Weight::from_parts(616_667, 0).saturating_mul(c.into()))
            .saturating_add(T::DbWeight::get().reads(1))
            .saturating_add(T::DbWeight::get().reads(u64::from(c).saturating_mul(1)))
            .saturating_add(Weight::from_parts(0, 2_571).saturating_mul(c.into()))
    }
    // `on_server_removed`: fastest run 84_256 ns, components `c` 0..=256, `p` 0..=16.
    // Storage: `Backup::Assignments` (r:257 w:257)
    // Storage: `Backup::ClientCount` (r:16 w:17)
    // Storage: `Backup::ClientsOf` (r:272 w:272)
    // Storage: `Backup::Confirmations` (r:0 w:272)
    // Storage: `Backup::RecoveryShares` (r:0 w:1)
    // Storage: `Backup::Revision` (r:1 w:1)
    fn on_server_removed(c: u32, p: u32) -> Weight {
        Weight::from_parts(30_215_110, 10_747)
            .saturating_add(Weight::from_parts(6_069_110, 0).saturating_mul(c.into()))
            .saturating_add(T::DbWeight::get().reads(2))
            .saturating_add(T::DbWeight::get().reads(u64::from(c).saturating_mul(2)))
            .saturating_add(T::DbWeight::get().reads(u64::from(p).saturating_mul(2)))
            .saturating_add(T::DbWeight::get().writes(4))
            .saturating_add(T::DbWeight::get().writes(u64::from(c).saturating_mul(3)))
            .saturating_add(T::DbWeight::get().writes(u64::from(p).saturating_mul(3)))
            .saturating_add(Weight::from_parts(0, 5_669).saturating_mul(c.into()))
            .saturating_add(Weight::from_parts(0, 5_119).saturating_mul(p.into()))
    }
}

/// The same measured weights priced with `RocksDbWeight`, for tests and mocks.
impl WeightInfo for () {
    // `record_backup`: fastest run 29_805 ns, components `p` 1..=16, `s` 0..=16.
    // Storage: `Backup::Assignments` (r:1 w:1)
    // Storage: `Backup::ClientCount` (r:32 w:32)
    // Storage: `Backup::ClientsOf` (r:32 w:32)
    // Storage: `Backup::Confirmations` (r:0 w:16)
    // Storage: `Backup::RecoveryOperators` (r:1 w:0)
    // Storage: `Backup::RecoveryShares` (r:0 w:1)
    // Storage: `Backup::Revision` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:17 w:0)
    fn record_backup(p: u32, s: u32) -> Weight {
        Weight::from_parts(8_215_997, 13_590)
            .saturating_add(Weight::from_parts(18_199_051, 0).saturating_mul(p.into()))
            .saturating_add(Weight::from_parts(255_014, 0).saturating_mul(s.into()))
            .saturating_add(RocksDbWeight::get().reads(4))
            .saturating_add(RocksDbWeight::get().reads(u64::from(p).saturating_mul(5)))
            .saturating_add(RocksDbWeight::get().writes(3))
            .saturating_add(RocksDbWeight::get().writes(u64::from(p).saturating_mul(5)))
            .saturating_add(Weight::from_parts(0, 12_720).saturating_mul(p.into()))
    }
    // `set_recovery_operators`: fastest run 5_428 ns, components `o` 0..=16.
    // Storage: `Backup::NextOperatorSetRevision` (r:1 w:1)
    // Storage: `Backup::RecoveryOperators` (r:0 w:1)
    fn set_recovery_operators(o: u32) -> Weight {
        Weight::from_parts(9_237_500, 1_489)
            .saturating_add(Weight::from_parts(57_652, 0).saturating_mul(o.into()))
            .saturating_add(RocksDbWeight::get().reads(1))
            .saturating_add(RocksDbWeight::get().writes(2))
    }
    // `report_recovered_by_operators`: fastest run 6_950 ns, components `s` 1..=16.
    // Storage: `Backup::RecoveryShares` (r:1 w:0)
    // Storage: `Registry::ServerStatusOf` (r:1 w:0)
    fn report_recovered_by_operators(s: u32) -> Weight {
        Weight::from_parts(8_846_303, 15_264)
            .saturating_add(Weight::from_parts(33_449, 0).saturating_mul(s.into()))
            .saturating_add(RocksDbWeight::get().reads(2))
    }
    // `confirm_backup`: fastest run 10_165 ns.
    // Storage: `Backup::Assignments` (r:1 w:0)
    // Storage: `Backup::Confirmations` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:1 w:0)
    fn confirm_backup() -> Weight {
        Weight::from_parts(10_846_000, 11_171)
            .saturating_add(RocksDbWeight::get().reads(3))
            .saturating_add(RocksDbWeight::get().writes(1))
    }
    // `report_recovery`: fastest run 8_443 ns.
    // Storage: `Backup::Assignments` (r:1 w:0)
    // Storage: `Registry::ServerStatusOf` (r:1 w:0)
    fn report_recovery() -> Weight {
        Weight::from_parts(9_454_000, 7_602).saturating_add(RocksDbWeight::get().reads(2))
    }
    // `on_provider_leaving`: fastest run 4_908 ns, components `c` 0..=256.
    // Storage: `Backup::ClientsOf` (r:256 w:0)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    fn on_provider_leaving(c: u32) -> Weight {
        Weight::from_parts(10_743_134, 4_455)
            .saturating_add(Weight::from_parts(616_667, 0).saturating_mul(c.into()))
            .saturating_add(RocksDbWeight::get().reads(1))
            .saturating_add(RocksDbWeight::get().reads(u64::from(c).saturating_mul(1)))
            .saturating_add(Weight::from_parts(0, 2_571).saturating_mul(c.into()))
    }
    // `on_server_removed`: fastest run 84_256 ns, components `c` 0..=256, `p` 0..=16.
    // Storage: `Backup::Assignments` (r:257 w:257)
    // Storage: `Backup::ClientCount` (r:16 w:17)
    // Storage: `Backup::ClientsOf` (r:272 w:272)
    // Storage: `Backup::Confirmations` (r:0 w:272)
    // Storage: `Backup::RecoveryShares` (r:0 w:1)
    // Storage: `Backup::Revision` (r:1 w:1)
    fn on_server_removed(c: u32, p: u32) -> Weight {
        Weight::from_parts(30_215_110, 10_747)
            .saturating_add(Weight::from_parts(6_069_110, 0).saturating_mul(c.into()))
            .saturating_add(RocksDbWeight::get().reads(2))
            .saturating_add(RocksDbWeight::get().reads(u64::from(c).saturating_mul(2)))
            .saturating_add(RocksDbWeight::get().reads(u64::from(p).saturating_mul(2)))
            .saturating_add(RocksDbWeight::get().writes(4))
            .saturating_add(RocksDbWeight::get().writes(u64::from(c).saturating_mul(3)))
            .saturating_add(RocksDbWeight::get().writes(u64::from(p).saturating_mul(3)))
            .saturating_add(Weight::from_parts(0, 5_669).saturating_mul(c.into()))
            .saturating_add(Weight::from_parts(0, 5_119).saturating_mul(p.into()))
    }
}
