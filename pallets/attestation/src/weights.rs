//! Weights of `pallet-attestation`, measured by `peerseal-weights` (crates/weights).
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

/// One quote verification as `VerifyAttestation::verify_weight` charges it by
/// default: the measured `verify_production_quote`, priced with `RocksDbWeight`.
pub const VERIFY_QUOTE_ESTIMATE: Weight = Weight::from_parts(1_855_169_000, 8_815);

/// Weight functions needed by `pallet-attestation`.
pub trait WeightInfo {
    /// `accept_measurement`: reads and writes `AcceptedMeasurements`.
    fn accept_measurement() -> Weight;
    /// `revoke_measurement`: reads and writes `AcceptedMeasurements`.
    fn revoke_measurement() -> Weight;
    /// `allow_mock_pck`: reads and writes `AllowedMockPcks`.
    fn allow_mock_pck() -> Weight;
    /// `disallow_mock_pck`: reads and writes `AllowedMockPcks`.
    fn disallow_mock_pck() -> Weight;
    /// `set_pck_mode`: writes `PckPolicyMode`.
    fn set_pck_mode() -> Weight;
    /// `request_attestation`: prunes up to `PRUNES_PER_REQUEST` expired nonces (see
    /// [`WeightInfo::on_initialize`]); reads `NonceExpiryQueueBounds`, `NonceCounter`,
    /// `ParentHash`; writes `NonceCounter`, `PendingNonces`, one `NonceExpiryQueue` entry,
    /// `NonceExpiryQueueBounds`.
    fn request_attestation() -> Weight;
    /// `VerifyAttestation::verify_and_consume`: reads `PendingNonces`, `AcceptedMeasurements`,
    /// `AllowedMockPcks`, `PckPolicyMode`; writes `PendingNonces`; verifies one quote.
    fn verify_and_consume() -> Weight;
    /// `VerifyAttestation::verify_and_consume` of a real quote in production PCK mode: the same
    /// reads, and the PCK certificate chain verified up to Intel's root.
    fn verify_production_quote() -> Weight;
    /// Pruning `processed` expiry-queue entries, `removed` of which still held their pending
    /// nonce: reads the bounds; per entry reads the entry and `PendingNonces` and deletes the
    /// entry; per removed nonce deletes it; writes the bounds.
    fn on_initialize(processed: u32, removed: u32) -> Weight;
}

/// Measured weights priced with the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    // `accept_measurement`: fastest run 7_461 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:1)
    fn accept_measurement() -> Weight {
        Weight::from_parts(8_262_000, 1_998)
            .saturating_add(T::DbWeight::get().reads(1))
            .saturating_add(T::DbWeight::get().writes(1))
    }
    // `revoke_measurement`: fastest run 7_591 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:1)
    fn revoke_measurement() -> Weight {
        Weight::from_parts(8_172_000, 1_998)
            .saturating_add(T::DbWeight::get().reads(1))
            .saturating_add(T::DbWeight::get().writes(1))
    }
    // `allow_mock_pck`: fastest run 7_391 ns.
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:1)
    fn allow_mock_pck() -> Weight {
        Weight::from_parts(7_742_000, 1_750)
            .saturating_add(T::DbWeight::get().reads(1))
            .saturating_add(T::DbWeight::get().writes(1))
    }
    // `disallow_mock_pck`: fastest run 7_230 ns.
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:1)
    fn disallow_mock_pck() -> Weight {
        Weight::from_parts(7_882_000, 1_750)
            .saturating_add(T::DbWeight::get().reads(1))
            .saturating_add(T::DbWeight::get().writes(1))
    }
    // `set_pck_mode`: fastest run 4_547 ns.
    // Storage: `Attestation::PckPolicyMode` (r:0 w:1)
    fn set_pck_mode() -> Weight {
        Weight::from_parts(6_229_000, 0).saturating_add(T::DbWeight::get().writes(1))
    }
    // `request_attestation`: fastest run 18_177 ns.
    // Storage: `Attestation::NonceCounter` (r:1 w:1)
    // Storage: `Attestation::NonceExpiryQueueBounds` (r:1 w:1)
    // Storage: `Attestation::NonceExpiryQueue` (r:2 w:3)
    // Storage: `Attestation::PendingNonces` (r:2 w:3)
    // Storage: `System::ParentHash` (r:1 w:0)
    fn request_attestation() -> Weight {
        Weight::from_parts(18_899_000, 16_711)
            .saturating_add(T::DbWeight::get().reads(7))
            .saturating_add(T::DbWeight::get().writes(8))
    }
    // `verify_and_consume`: fastest run 563_738 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:0)
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:0)
    // Storage: `Attestation::PckPolicyMode` (r:1 w:0)
    // Storage: `Attestation::PendingNonces` (r:1 w:1)
    fn verify_and_consume() -> Weight {
        Weight::from_parts(571_389_000, 8_815)
            .saturating_add(T::DbWeight::get().reads(4))
            .saturating_add(T::DbWeight::get().writes(1))
    }
    // `verify_production_quote`: fastest run 1_711_253 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:0)
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:0)
    // Storage: `Attestation::PckPolicyMode` (r:1 w:0)
    // Storage: `Attestation::PendingNonces` (r:1 w:0)
    fn verify_production_quote() -> Weight {
        Weight::from_parts(1_755_169_000, 8_815).saturating_add(T::DbWeight::get().reads(4))
    }
    // `on_initialize`: fastest run 21_982 ns, components `p` 0..=8, `r` 0..=8.
    // Storage: `Attestation::NonceExpiryQueueBounds` (r:1 w:1)
    // Storage: `Attestation::NonceExpiryQueue` (r:16 w:16)
    // Storage: `Attestation::PendingNonces` (r:16 w:8)
    // (`p` + `r` entries processed, `r` of them removed: per removed entry the difference of the two slopes)
    fn on_initialize(processed: u32, removed: u32) -> Weight {
        Weight::from_parts(6_140_908, 3_473)
            .saturating_add(Weight::from_parts(2_398_658, 0).saturating_mul(processed.into()))
            .saturating_add(Weight::from_parts(1_585_781, 0).saturating_mul(removed.into()))
            .saturating_add(T::DbWeight::get().reads(1))
            .saturating_add(T::DbWeight::get().reads(u64::from(processed).saturating_mul(2)))
            .saturating_add(T::DbWeight::get().writes(1))
            .saturating_add(T::DbWeight::get().writes(u64::from(processed).saturating_mul(1)))
            .saturating_add(T::DbWeight::get().writes(u64::from(removed).saturating_mul(1)))
            .saturating_add(Weight::from_parts(0, 5_114).saturating_mul(processed.into()))
    }
}

/// The same measured weights priced with `RocksDbWeight`, for tests and mocks.
impl WeightInfo for () {
    // `accept_measurement`: fastest run 7_461 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:1)
    fn accept_measurement() -> Weight {
        Weight::from_parts(8_262_000, 1_998)
            .saturating_add(RocksDbWeight::get().reads(1))
            .saturating_add(RocksDbWeight::get().writes(1))
    }
    // `revoke_measurement`: fastest run 7_591 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:1)
    fn revoke_measurement() -> Weight {
        Weight::from_parts(8_172_000, 1_998)
            .saturating_add(RocksDbWeight::get().reads(1))
            .saturating_add(RocksDbWeight::get().writes(1))
    }
    // `allow_mock_pck`: fastest run 7_391 ns.
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:1)
    fn allow_mock_pck() -> Weight {
        Weight::from_parts(7_742_000, 1_750)
            .saturating_add(RocksDbWeight::get().reads(1))
            .saturating_add(RocksDbWeight::get().writes(1))
    }
    // `disallow_mock_pck`: fastest run 7_230 ns.
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:1)
    fn disallow_mock_pck() -> Weight {
        Weight::from_parts(7_882_000, 1_750)
            .saturating_add(RocksDbWeight::get().reads(1))
            .saturating_add(RocksDbWeight::get().writes(1))
    }
    // `set_pck_mode`: fastest run 4_547 ns.
    // Storage: `Attestation::PckPolicyMode` (r:0 w:1)
    fn set_pck_mode() -> Weight {
        Weight::from_parts(6_229_000, 0).saturating_add(RocksDbWeight::get().writes(1))
    }
    // `request_attestation`: fastest run 18_177 ns.
    // Storage: `Attestation::NonceCounter` (r:1 w:1)
    // Storage: `Attestation::NonceExpiryQueueBounds` (r:1 w:1)
    // Storage: `Attestation::NonceExpiryQueue` (r:2 w:3)
    // Storage: `Attestation::PendingNonces` (r:2 w:3)
    // Storage: `System::ParentHash` (r:1 w:0)
    fn request_attestation() -> Weight {
        Weight::from_parts(18_899_000, 16_711)
            .saturating_add(RocksDbWeight::get().reads(7))
            .saturating_add(RocksDbWeight::get().writes(8))
    }
    // `verify_and_consume`: fastest run 563_738 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:0)
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:0)
    // Storage: `Attestation::PckPolicyMode` (r:1 w:0)
    // Storage: `Attestation::PendingNonces` (r:1 w:1)
    fn verify_and_consume() -> Weight {
        Weight::from_parts(571_389_000, 8_815)
            .saturating_add(RocksDbWeight::get().reads(4))
            .saturating_add(RocksDbWeight::get().writes(1))
    }
    // `verify_production_quote`: fastest run 1_711_253 ns.
    // Storage: `Attestation::AcceptedMeasurements` (r:1 w:0)
    // Storage: `Attestation::AllowedMockPcks` (r:1 w:0)
    // Storage: `Attestation::PckPolicyMode` (r:1 w:0)
    // Storage: `Attestation::PendingNonces` (r:1 w:0)
    fn verify_production_quote() -> Weight {
        Weight::from_parts(1_755_169_000, 8_815).saturating_add(RocksDbWeight::get().reads(4))
    }
    // `on_initialize`: fastest run 21_982 ns, components `p` 0..=8, `r` 0..=8.
    // Storage: `Attestation::NonceExpiryQueueBounds` (r:1 w:1)
    // Storage: `Attestation::NonceExpiryQueue` (r:16 w:16)
    // Storage: `Attestation::PendingNonces` (r:16 w:8)
    // (`p` + `r` entries processed, `r` of them removed: per removed entry the difference of the two slopes)
    fn on_initialize(processed: u32, removed: u32) -> Weight {
        Weight::from_parts(6_140_908, 3_473)
            .saturating_add(Weight::from_parts(2_398_658, 0).saturating_mul(processed.into()))
            .saturating_add(Weight::from_parts(1_585_781, 0).saturating_mul(removed.into()))
            .saturating_add(RocksDbWeight::get().reads(1))
            .saturating_add(RocksDbWeight::get().reads(u64::from(processed).saturating_mul(2)))
            .saturating_add(RocksDbWeight::get().writes(1))
            .saturating_add(RocksDbWeight::get().writes(u64::from(processed).saturating_mul(1)))
            .saturating_add(RocksDbWeight::get().writes(u64::from(removed).saturating_mul(1)))
            .saturating_add(Weight::from_parts(0, 5_114).saturating_mul(processed.into()))
    }
}
