//! Weights of `pallet-attestation`.
//!
//! **These are hand estimates, not benchmark results.** They are built from the storage items
//! each call reads and writes (priced with the runtime's `DbWeight`) plus a generous fixed
//! compute allowance, and are meant to over-charge rather than under-charge until the pallet is
//! benchmarked with `frame-benchmarking` on reference hardware.
//!
//! Quote verification dominates everything here: parsing a TDX quote and checking its ECDSA
//! P-256 signatures (attestation key, QE report, and in production the PCK certificate chain —
//! about five verifications) without a host function. Pure-Rust P-256 verification inside a wasm
//! runtime takes a few milliseconds; [`VERIFY_QUOTE_ESTIMATE`] allows 40 ms.

#![allow(unused_parens, unused_imports)]

use core::marker::PhantomData;
use frame_support::{
    traits::Get,
    weights::{constants::RocksDbWeight, Weight},
};

/// Compute allowance for one quote verification: 40 ms of reference time, and 20 KiB of proof
/// size to cover the largest quote (16 KiB) being part of the call data plus policy reads.
pub const VERIFY_QUOTE_ESTIMATE: Weight = Weight::from_parts(40_000_000_000, 20_480);

/// Fixed compute allowance for a call that only touches a few storage items (25 µs).
const SMALL_CALL: u64 = 25_000_000;

/// Proof size of a policy list of `n` entries of `item` bytes each (plus key and length prefix).
const fn list_proof(n: u64, item: u64) -> u64 {
    64 + n * item
}

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
    /// `request_attestation`: reads `ParentHash`, `NonceCounter`; writes `NonceCounter`,
    /// `PendingNonces`.
    fn request_attestation() -> Weight;
    /// `VerifyAttestation::verify_and_consume`: reads `PendingNonces`, `AcceptedMeasurements`,
    /// `AllowedMockPcks`, `PckPolicyMode`; writes `PendingNonces`; verifies one quote.
    fn verify_and_consume() -> Weight;
}

/// Estimated weights for a runtime, using its `DbWeight` and its list bounds.
pub struct SubstrateWeight<T>(PhantomData<T>);

impl<T: frame_system::Config + crate::Config> WeightInfo for SubstrateWeight<T> {
    fn accept_measurement() -> Weight {
        Weight::from_parts(SMALL_CALL, list_proof(T::MaxAcceptedMeasurements::get().into(), 32))
            .saturating_add(T::DbWeight::get().reads_writes(1, 1))
    }
    fn revoke_measurement() -> Weight {
        Self::accept_measurement()
    }
    fn allow_mock_pck() -> Weight {
        Weight::from_parts(SMALL_CALL, list_proof(T::MaxMockPcks::get().into(), 33))
            .saturating_add(T::DbWeight::get().reads_writes(1, 1))
    }
    fn disallow_mock_pck() -> Weight {
        Self::allow_mock_pck()
    }
    fn set_pck_mode() -> Weight {
        Weight::from_parts(SMALL_CALL, 0).saturating_add(T::DbWeight::get().writes(1))
    }
    fn request_attestation() -> Weight {
        // Hashing ~100 bytes is negligible next to the storage accesses.
        Weight::from_parts(SMALL_CALL, 2 * 64 + 2 * 96)
            .saturating_add(T::DbWeight::get().reads_writes(2, 2))
    }
    fn verify_and_consume() -> Weight {
        let policy = list_proof(T::MaxAcceptedMeasurements::get().into(), 32)
            + list_proof(T::MaxMockPcks::get().into(), 33);
        VERIFY_QUOTE_ESTIMATE
            .saturating_add(Weight::from_parts(0, policy))
            .saturating_add(T::DbWeight::get().reads_writes(4, 1))
    }
}

/// Estimates for tests and for runtimes without their own figures; assumes list bounds of 16.
impl WeightInfo for () {
    fn accept_measurement() -> Weight {
        Weight::from_parts(SMALL_CALL, list_proof(16, 32))
            .saturating_add(RocksDbWeight::get().reads_writes(1, 1))
    }
    fn revoke_measurement() -> Weight {
        Self::accept_measurement()
    }
    fn allow_mock_pck() -> Weight {
        Weight::from_parts(SMALL_CALL, list_proof(16, 33))
            .saturating_add(RocksDbWeight::get().reads_writes(1, 1))
    }
    fn disallow_mock_pck() -> Weight {
        Self::allow_mock_pck()
    }
    fn set_pck_mode() -> Weight {
        Weight::from_parts(SMALL_CALL, 0).saturating_add(RocksDbWeight::get().writes(1))
    }
    fn request_attestation() -> Weight {
        Weight::from_parts(SMALL_CALL, 2 * 64 + 2 * 96)
            .saturating_add(RocksDbWeight::get().reads_writes(2, 2))
    }
    fn verify_and_consume() -> Weight {
        VERIFY_QUOTE_ESTIMATE
            .saturating_add(Weight::from_parts(0, list_proof(16, 32) + list_proof(16, 33)))
            .saturating_add(RocksDbWeight::get().reads_writes(4, 1))
    }
}
