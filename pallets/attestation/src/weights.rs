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
    weights::{constants::RocksDbWeight, RuntimeDbWeight, Weight},
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
    /// `request_attestation`: prunes up to `PRUNES_PER_REQUEST` expired nonces (see
    /// [`WeightInfo::on_initialize`]); reads `NonceExpiryQueueBounds`, `NonceCounter`,
    /// `ParentHash`; writes `NonceCounter`, `PendingNonces`, one `NonceExpiryQueue` entry,
    /// `NonceExpiryQueueBounds`.
    fn request_attestation() -> Weight;
    /// `VerifyAttestation::verify_and_consume`: reads `PendingNonces`, `AcceptedMeasurements`,
    /// `AllowedMockPcks`, `PckPolicyMode`; writes `PendingNonces`; verifies one quote.
    fn verify_and_consume() -> Weight;
    /// Pruning `processed` expiry-queue entries, `removed` of which still held their pending
    /// nonce: reads the bounds; per entry reads the entry and `PendingNonces` and deletes the
    /// entry; per removed nonce deletes it; writes the bounds.
    fn on_initialize(processed: u32, removed: u32) -> Weight;
}

/// Proof size of one `PendingNonces` entry (key + TSS account + nonce + block) or queue entry.
const NONCE_ENTRY_PROOF: u64 = 160;

/// [`WeightInfo::on_initialize`] priced with `db`.
fn prune(db: RuntimeDbWeight, processed: u32, removed: u32) -> Weight {
    let per_entry =
        Weight::from_parts(2_000_000, 2 * NONCE_ENTRY_PROOF).saturating_add(db.reads_writes(2, 1));
    let per_removal = Weight::from_parts(1_000_000, 0).saturating_add(db.writes(1));
    Weight::from_parts(2_000_000, 64)
        .saturating_add(db.reads_writes(1, 1))
        .saturating_add(per_entry.saturating_mul(processed.into()))
        .saturating_add(per_removal.saturating_mul(removed.into()))
}

/// [`WeightInfo::request_attestation`] priced with `db`: the issue itself plus a full prune.
fn request(db: RuntimeDbWeight) -> Weight {
    // Hashing ~130 bytes is negligible next to the storage accesses.
    Weight::from_parts(SMALL_CALL, 64 + 3 * NONCE_ENTRY_PROOF)
        .saturating_add(db.reads_writes(3, 4))
        .saturating_add(prune(db, crate::PRUNES_PER_REQUEST, crate::PRUNES_PER_REQUEST))
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
        request(T::DbWeight::get())
    }
    fn verify_and_consume() -> Weight {
        let policy = list_proof(T::MaxAcceptedMeasurements::get().into(), 32)
            + list_proof(T::MaxMockPcks::get().into(), 33);
        VERIFY_QUOTE_ESTIMATE
            .saturating_add(Weight::from_parts(0, policy))
            .saturating_add(T::DbWeight::get().reads_writes(4, 1))
    }
    fn on_initialize(processed: u32, removed: u32) -> Weight {
        prune(T::DbWeight::get(), processed, removed)
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
        request(RocksDbWeight::get())
    }
    fn verify_and_consume() -> Weight {
        VERIFY_QUOTE_ESTIMATE
            .saturating_add(Weight::from_parts(0, list_proof(16, 32) + list_proof(16, 33)))
            .saturating_add(RocksDbWeight::get().reads_writes(4, 1))
    }
    fn on_initialize(processed: u32, removed: u32) -> Weight {
        prune(RocksDbWeight::get(), processed, removed)
    }
}
