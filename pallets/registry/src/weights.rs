//! Weights of `pallet-registry`, measured by `peerseal-weights` (crates/weights).
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

/// Measured weights priced with the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    // `register`: fastest run 683_555 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:0)
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:0)
    // Storage: `Attestation::PckPolicyMode` (r:1 w:0)
    // Storage: `Attestation::PendingNonces` (r:1 w:1)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerCount` (r:1 w:1)
    // Storage: `Registry::ServerIndex` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:0 w:1)
    // Storage: `Registry::Servers` (r:1 w:1)
    // Storage: `Registry::StashOf` (r:1 w:1)
    // Storage: `System::Account` (r:1 w:1)
    // (minus one quote verification: charged through `VerifyAttestation::verify_weight`)
    fn register() -> Weight {
        Weight::from_parts(154_109_000, 97_695)
            .saturating_add(T::DbWeight::get().reads(6))
            .saturating_add(T::DbWeight::get().writes(7))
    }
    // `change_server_info`: fastest run 719_579 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:0)
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:0)
    // Storage: `Attestation::PckPolicyMode` (r:1 w:0)
    // Storage: `Attestation::PendingNonces` (r:1 w:1)
    // Storage: `Backup::Assignments` (r:1 w:0)
    // Storage: `Backup::ClientCount` (r:0 w:1)
    // Storage: `Backup::RecoveryShares` (r:0 w:1)
    // Storage: `Registry::ApprovedMoves` (r:1 w:1)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerIndex` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:1 w:2)
    // Storage: `Registry::Servers` (r:1 w:1)
    // Storage: `Registry::StashOf` (r:1 w:2)
    // Storage: `System::Account` (r:2 w:2)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    // (minus one quote verification: charged through `VerifyAttestation::verify_weight`)
    fn change_server_info() -> Weight {
        Weight::from_parts(188_260_000, 113_405)
            .saturating_add(T::DbWeight::get().reads(10))
            .saturating_add(T::DbWeight::get().writes(12))
    }
    // `leave`: fastest run 38_567 ns.
    // Storage: `Registry::LeaveQueueBounds` (r:1 w:1)
    // Storage: `Registry::LeaveQueue` (r:0 w:1)
    // Storage: `Registry::LeavingSince` (r:0 w:1)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:1 w:1)
    // Storage: `Registry::Servers` (r:1 w:0)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    fn leave() -> Weight {
        Weight::from_parts(58_277_000, 30_517)
            .saturating_add(T::DbWeight::get().reads(5))
            .saturating_add(T::DbWeight::get().writes(5))
    }
    // `purge_left`: fastest run 101_371 ns.
    // Storage: `Backup::Assignments` (r:1 w:0)
    // Storage: `Backup::ClientCount` (r:0 w:1)
    // Storage: `Backup::RecoveryShares` (r:0 w:1)
    // Storage: `Registry::ApprovedMoves` (r:1 w:1)
    // Storage: `Registry::LeavingSince` (r:1 w:1)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerCount` (r:1 w:1)
    // Storage: `Registry::ServerIndex` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:0 w:1)
    // Storage: `Registry::Servers` (r:1 w:1)
    // Storage: `Registry::StashOf` (r:0 w:1)
    // Storage: `System::Account` (r:1 w:1)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    fn purge_left() -> Weight {
        Weight::from_parts(128_021_000, 108_749)
            .saturating_add(T::DbWeight::get().reads(9))
            .saturating_add(T::DbWeight::get().writes(11))
    }
    // `remove`: fastest run 109_352 ns.
    // Storage: `Backup::Assignments` (r:1 w:0)
    // Storage: `Backup::ClientCount` (r:0 w:1)
    // Storage: `Backup::RecoveryShares` (r:0 w:1)
    // Storage: `Registry::ApprovedMoves` (r:1 w:1)
    // Storage: `Registry::LeavingSince` (r:0 w:1)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerCount` (r:1 w:1)
    // Storage: `Registry::ServerIndex` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:0 w:1)
    // Storage: `Registry::Servers` (r:1 w:1)
    // Storage: `Registry::StashOf` (r:0 w:1)
    // Storage: `System::Account` (r:1 w:1)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    fn remove() -> Weight {
        Weight::from_parts(129_893_000, 105_232)
            .saturating_add(T::DbWeight::get().reads(8))
            .saturating_add(T::DbWeight::get().writes(11))
    }
    // `on_initialize`: fastest run 28_102 ns, components `p` 0..=4, `r` 0..=4.
    // Storage: `Backup::Assignments` (r:4 w:0)
    // Storage: `Backup::ClientCount` (r:0 w:4)
    // Storage: `Backup::RecoveryShares` (r:0 w:4)
    // Storage: `Registry::ApprovedMoves` (r:4 w:0)
    // Storage: `Registry::LeaveQueueBounds` (r:1 w:1)
    // Storage: `Registry::LeaveQueue` (r:8 w:8)
    // Storage: `Registry::LeavingSince` (r:4 w:4)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerCount` (r:1 w:1)
    // Storage: `Registry::ServerIndex` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:0 w:4)
    // Storage: `Registry::Servers` (r:8 w:4)
    // Storage: `Registry::StashOf` (r:0 w:4)
    // Storage: `System::Account` (r:4 w:4)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    // (`p` + `r` entries processed, `r` of them removed: per removed entry the difference of the two slopes)
    fn on_initialize(processed: u32, removed: u32) -> Weight {
        Weight::from_parts(26_166_102, 80_903)
            .saturating_add(Weight::from_parts(6_826_988, 0).saturating_mul(processed.into()))
            .saturating_add(Weight::from_parts(61_649_776, 0).saturating_mul(removed.into()))
            .saturating_add(T::DbWeight::get().reads(2))
            .saturating_add(T::DbWeight::get().reads(u64::from(processed).saturating_mul(2)))
            .saturating_add(T::DbWeight::get().reads(u64::from(removed).saturating_mul(5)))
            .saturating_add(T::DbWeight::get().writes(2))
            .saturating_add(T::DbWeight::get().writes(u64::from(processed).saturating_mul(1)))
            .saturating_add(T::DbWeight::get().writes(u64::from(removed).saturating_mul(8)))
            .saturating_add(Weight::from_parts(0, 22_085).saturating_mul(processed.into()))
            .saturating_add(Weight::from_parts(0, 10_767).saturating_mul(removed.into()))
    }
    // `approve_move`: fastest run 6_139 ns.
    // Storage: `Registry::ApprovedMoves` (r:0 w:1)
    // Storage: `Registry::StashOf` (r:1 w:0)
    fn approve_move() -> Weight {
        Weight::from_parts(6_810_000, 3_545)
            .saturating_add(T::DbWeight::get().reads(1))
            .saturating_add(T::DbWeight::get().writes(1))
    }
    // `revoke_move`: fastest run 5_958 ns.
    // Storage: `Registry::ApprovedMoves` (r:1 w:1)
    fn revoke_move() -> Weight {
        Weight::from_parts(6_279_000, 3_529)
            .saturating_add(T::DbWeight::get().reads(1))
            .saturating_add(T::DbWeight::get().writes(1))
    }
}

/// The same measured weights priced with `RocksDbWeight`, for tests and mocks.
impl WeightInfo for () {
    // `register`: fastest run 683_555 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:0)
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:0)
    // Storage: `Attestation::PckPolicyMode` (r:1 w:0)
    // Storage: `Attestation::PendingNonces` (r:1 w:1)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerCount` (r:1 w:1)
    // Storage: `Registry::ServerIndex` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:0 w:1)
    // Storage: `Registry::Servers` (r:1 w:1)
    // Storage: `Registry::StashOf` (r:1 w:1)
    // Storage: `System::Account` (r:1 w:1)
    // (minus one quote verification: charged through `VerifyAttestation::verify_weight`)
    fn register() -> Weight {
        Weight::from_parts(154_109_000, 97_695)
            .saturating_add(RocksDbWeight::get().reads(6))
            .saturating_add(RocksDbWeight::get().writes(7))
    }
    // `change_server_info`: fastest run 719_579 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:0)
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:0)
    // Storage: `Attestation::PckPolicyMode` (r:1 w:0)
    // Storage: `Attestation::PendingNonces` (r:1 w:1)
    // Storage: `Backup::Assignments` (r:1 w:0)
    // Storage: `Backup::ClientCount` (r:0 w:1)
    // Storage: `Backup::RecoveryShares` (r:0 w:1)
    // Storage: `Registry::ApprovedMoves` (r:1 w:1)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerIndex` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:1 w:2)
    // Storage: `Registry::Servers` (r:1 w:1)
    // Storage: `Registry::StashOf` (r:1 w:2)
    // Storage: `System::Account` (r:2 w:2)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    // (minus one quote verification: charged through `VerifyAttestation::verify_weight`)
    fn change_server_info() -> Weight {
        Weight::from_parts(188_260_000, 113_405)
            .saturating_add(RocksDbWeight::get().reads(10))
            .saturating_add(RocksDbWeight::get().writes(12))
    }
    // `leave`: fastest run 38_567 ns.
    // Storage: `Registry::LeaveQueueBounds` (r:1 w:1)
    // Storage: `Registry::LeaveQueue` (r:0 w:1)
    // Storage: `Registry::LeavingSince` (r:0 w:1)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:1 w:1)
    // Storage: `Registry::Servers` (r:1 w:0)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    fn leave() -> Weight {
        Weight::from_parts(58_277_000, 30_517)
            .saturating_add(RocksDbWeight::get().reads(5))
            .saturating_add(RocksDbWeight::get().writes(5))
    }
    // `purge_left`: fastest run 101_371 ns.
    // Storage: `Backup::Assignments` (r:1 w:0)
    // Storage: `Backup::ClientCount` (r:0 w:1)
    // Storage: `Backup::RecoveryShares` (r:0 w:1)
    // Storage: `Registry::ApprovedMoves` (r:1 w:1)
    // Storage: `Registry::LeavingSince` (r:1 w:1)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerCount` (r:1 w:1)
    // Storage: `Registry::ServerIndex` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:0 w:1)
    // Storage: `Registry::Servers` (r:1 w:1)
    // Storage: `Registry::StashOf` (r:0 w:1)
    // Storage: `System::Account` (r:1 w:1)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    fn purge_left() -> Weight {
        Weight::from_parts(128_021_000, 108_749)
            .saturating_add(RocksDbWeight::get().reads(9))
            .saturating_add(RocksDbWeight::get().writes(11))
    }
    // `remove`: fastest run 109_352 ns.
    // Storage: `Backup::Assignments` (r:1 w:0)
    // Storage: `Backup::ClientCount` (r:0 w:1)
    // Storage: `Backup::RecoveryShares` (r:0 w:1)
    // Storage: `Registry::ApprovedMoves` (r:1 w:1)
    // Storage: `Registry::LeavingSince` (r:0 w:1)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerCount` (r:1 w:1)
    // Storage: `Registry::ServerIndex` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:0 w:1)
    // Storage: `Registry::Servers` (r:1 w:1)
    // Storage: `Registry::StashOf` (r:0 w:1)
    // Storage: `System::Account` (r:1 w:1)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    fn remove() -> Weight {
        Weight::from_parts(129_893_000, 105_232)
            .saturating_add(RocksDbWeight::get().reads(8))
            .saturating_add(RocksDbWeight::get().writes(11))
    }
    // `on_initialize`: fastest run 28_102 ns, components `p` 0..=4, `r` 0..=4.
    // Storage: `Backup::Assignments` (r:4 w:0)
    // Storage: `Backup::ClientCount` (r:0 w:4)
    // Storage: `Backup::RecoveryShares` (r:0 w:4)
    // Storage: `Registry::ApprovedMoves` (r:4 w:0)
    // Storage: `Registry::LeaveQueueBounds` (r:1 w:1)
    // Storage: `Registry::LeaveQueue` (r:8 w:8)
    // Storage: `Registry::LeavingSince` (r:4 w:4)
    // Storage: `Registry::Revision` (r:1 w:1)
    // Storage: `Registry::ServerCount` (r:1 w:1)
    // Storage: `Registry::ServerIndex` (r:1 w:1)
    // Storage: `Registry::ServerStatusOf` (r:0 w:4)
    // Storage: `Registry::Servers` (r:8 w:4)
    // Storage: `Registry::StashOf` (r:0 w:4)
    // Storage: `System::Account` (r:4 w:4)
    // Storage: `unknown key 0xc2261276cc9d1f8598ea4b6a74b15c2f4e7b9012096b41c4eb3aaf947f6ea429` (r:1 w:0)
    // (`p` + `r` entries processed, `r` of them removed: per removed entry the difference of the two slopes)
    fn on_initialize(processed: u32, removed: u32) -> Weight {
        Weight::from_parts(26_166_102, 80_903)
            .saturating_add(Weight::from_parts(6_826_988, 0).saturating_mul(processed.into()))
            .saturating_add(Weight::from_parts(61_649_776, 0).saturating_mul(removed.into()))
            .saturating_add(RocksDbWeight::get().reads(2))
            .saturating_add(RocksDbWeight::get().reads(u64::from(processed).saturating_mul(2)))
            .saturating_add(RocksDbWeight::get().reads(u64::from(removed).saturating_mul(5)))
            .saturating_add(RocksDbWeight::get().writes(2))
            .saturating_add(RocksDbWeight::get().writes(u64::from(processed).saturating_mul(1)))
            .saturating_add(RocksDbWeight::get().writes(u64::from(removed).saturating_mul(8)))
            .saturating_add(Weight::from_parts(0, 22_085).saturating_mul(processed.into()))
            .saturating_add(Weight::from_parts(0, 10_767).saturating_mul(removed.into()))
    }
    // `approve_move`: fastest run 6_139 ns.
    // Storage: `Registry::ApprovedMoves` (r:0 w:1)
    // Storage: `Registry::StashOf` (r:1 w:0)
    fn approve_move() -> Weight {
        Weight::from_parts(6_810_000, 3_545)
            .saturating_add(RocksDbWeight::get().reads(1))
            .saturating_add(RocksDbWeight::get().writes(1))
    }
    // `revoke_move`: fastest run 5_958 ns.
    // Storage: `Registry::ApprovedMoves` (r:1 w:1)
    fn revoke_move() -> Weight {
        Weight::from_parts(6_279_000, 3_529)
            .saturating_add(RocksDbWeight::get().reads(1))
            .saturating_add(RocksDbWeight::get().writes(1))
    }
}
