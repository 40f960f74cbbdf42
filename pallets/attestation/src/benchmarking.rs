//! Benchmarks of `pallet-attestation`: every call, quote verification and the block hook, each
//! in its worst case, measured by `peerseal-weights` into `weights.rs`.
//!
//! Quote verification needs a quote the pallet accepts. Benchmarks build mock quotes signed by
//! the dev mock PCK and put the dev policy (that PCK allowed, the mock measurement accepted,
//! PCK mode `Dev`) into storage themselves, so they need a runtime with the dev PCK mode
//! ([`Config::DevPckMode`]) and `std` (the mock quote builder is std-only). A production
//! runtime cannot produce an accepted quote without Intel hardware; see the crate docs'
//! "Weights" part for what that means for the verification weight.
//!
//! The helpers of [`helpers`] are public so the registry's benchmarks can attest servers the
//! same way.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::{
    traits::{EnsureOrigin, Get, Hooks},
    BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_runtime::traits::{One, Saturating};

/// Setup shared with other pallets' benchmarks (the registry attests its servers with them).
pub mod helpers {
    use super::*;

    /// Puts the dev policy into storage: the dev mock PCK allowed, PCK mode `Dev`, and the
    /// accepted measurements filled to `MaxAcceptedMeasurements` with the mock image's
    /// measurement last (the verifier scans the whole list before finding it).
    ///
    /// Fails when the runtime has no dev PCK mode: no quote could be accepted there.
    pub fn set_dev_policy<T: Config>() -> Result<(), BenchmarkError> {
        if !T::DevPckMode::get() {
            return Err(BenchmarkError::Stop("quote benchmarks need a runtime with DevPckMode"));
        }
        fill_accepted_measurements::<T>(peerseal_attestation::mock_measurement())?;
        let max_pcks = T::MaxMockPcks::get();
        let mut pcks: Vec<PckKey> = (1..max_pcks).map(filler_pck).collect();
        pcks.push(peerseal_attestation::dev_mock_pck());
        AllowedMockPcks::<T>::put(bounded(pcks)?);
        PckPolicyMode::<T>::put(PckMode::Dev);
        Ok(())
    }

    /// A real TDX quote (Intel's sample, also the attestation crate's test fixture): the one
    /// quote whose production verification (PCK certificate chain to Intel's root) can run
    /// without Intel hardware. It is bound to no nonce of ours.
    pub const INTEL_SAMPLE_QUOTE: &[u8] =
        include_bytes!("../../../crates/attestation/tests/data/intel_tdx_quote_v4.dat");

    /// Puts the production policy into storage (PCK mode `Production`) with the accepted
    /// measurements filled to `MaxAcceptedMeasurements`, the measurement `quote` claims last.
    pub fn set_production_policy<T: Config>(quote: &[u8]) -> Result<(), BenchmarkError> {
        let claimed = peerseal_attestation::claimed_measurement(quote)
            .map_err(|_| BenchmarkError::Stop("the sample quote does not parse"))?;
        fill_accepted_measurements::<T>(claimed)?;
        PckPolicyMode::<T>::put(PckMode::Production);
        Ok(())
    }

    /// Fills the accepted measurements to `MaxAcceptedMeasurements` with `last` at the end (the
    /// verifier scans the whole list before finding it).
    fn fill_accepted_measurements<T: Config>(last: Measurement) -> Result<(), BenchmarkError> {
        let max = T::MaxAcceptedMeasurements::get();
        let mut measurements: Vec<Measurement> = (1..max).map(filler_measurement).collect();
        measurements.push(last);
        AcceptedMeasurements::<T>::put(bounded(measurements)?);
        Ok(())
    }

    /// The verification `register` makes of `quote` for `stash`'s server `tss`.
    pub fn register_verification<T: Config>(
        stash: &T::AccountId,
        tss: &T::AccountId,
        public_key: &[u8; 32],
        peer_id: &[u8],
        quote: &[u8],
    ) -> Result<VerifiedQuote, DispatchError>
    where
        T::AccountId: AsRef<[u8; 32]>,
    {
        <Pallet<T> as VerifyAttestation<T::AccountId>>::verify_and_consume(
            stash,
            tss,
            QuoteContext::Register,
            public_key,
            Some(peer_id),
            quote,
        )
    }

    /// A mock quote by the dev mock PCK whose report data binds `binding`.
    #[cfg(feature = "std")]
    pub fn mock_quote(binding: &peerseal_attestation::Binding) -> Result<Vec<u8>, BenchmarkError> {
        let report_data = peerseal_attestation::report_data(binding);
        Ok(peerseal_attestation::MockQuoteProvider::dev().mock_quote(&report_data))
    }

    /// Without `std` there is no mock quote builder: the quote benchmarks cannot run.
    #[cfg(not(feature = "std"))]
    pub fn mock_quote(_: &peerseal_attestation::Binding) -> Result<Vec<u8>, BenchmarkError> {
        Err(BenchmarkError::Stop("mock quotes need std"))
    }

    /// Measurement number `i` that no image has (fills the accepted list).
    pub fn filler_measurement(i: u32) -> Measurement {
        let mut bytes = [0xEEu8; 32];
        bytes[..4].copy_from_slice(&i.to_le_bytes());
        Measurement(bytes)
    }

    /// Mock PCK key number `i` that no provider has (fills the allow-list).
    pub fn filler_pck(i: u32) -> PckKey {
        let mut bytes = [0xEEu8; 33];
        bytes[0] = 0x02;
        bytes[1..5].copy_from_slice(&i.to_le_bytes());
        PckKey(bytes)
    }

    /// `items` as a bounded list; the callers never pass more than the bound.
    pub fn bounded<I, S: Get<u32>>(items: Vec<I>) -> Result<BoundedVec<I, S>, BenchmarkError> {
        BoundedVec::try_from(items).map_err(|_| BenchmarkError::Stop("list over its bound"))
    }
}

use helpers::*;

/// The governance origin, or a skip when the runtime's origin cannot be produced.
fn governance<T: Config>() -> Result<T::RuntimeOrigin, BenchmarkError> {
    T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)
}

/// Issues nonces to `n` fresh stashes at the current block (each also queued for expiry).
fn issue_nonces<T: Config>(n: u32) -> Result<Vec<T::AccountId>, BenchmarkError> {
    let mut stashes = Vec::new();
    for i in 0..n {
        let stash: T::AccountId = account("stash", i, 0);
        let tss: T::AccountId = account("tss", i, 0);
        Pallet::<T>::issue_nonce(&stash, &tss)?;
        stashes.push(stash);
    }
    Ok(stashes)
}

/// The first block in which a nonce issued now has expired.
fn after_expiry<T: Config>() -> BlockNumberFor<T> {
    frame_system::Pallet::<T>::block_number()
        .saturating_add(T::NonceLifetime::get())
        .saturating_add(One::one())
}

#[benchmarks(where T::AccountId: AsRef<[u8; 32]>)]
mod benchmarks {
    use super::*;

    /// Worst case: the list holds all but one entry, so the duplicate scan sees every entry.
    #[benchmark]
    fn accept_measurement() -> Result<(), BenchmarkError> {
        let origin = governance::<T>()?;
        let max = T::MaxAcceptedMeasurements::get();
        let existing: Vec<Measurement> = (1..max).map(filler_measurement).collect();
        AcceptedMeasurements::<T>::put(bounded(existing)?);
        let new = filler_measurement(max);

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, new);

        assert!(AcceptedMeasurements::<T>::get().contains(&new));
        Ok(())
    }

    /// Worst case: the list is full and the revoked measurement is its last entry.
    #[benchmark]
    fn revoke_measurement() -> Result<(), BenchmarkError> {
        let origin = governance::<T>()?;
        let max = T::MaxAcceptedMeasurements::get();
        let existing: Vec<Measurement> = (0..max).map(filler_measurement).collect();
        AcceptedMeasurements::<T>::put(bounded(existing)?);
        let last = filler_measurement(max.saturating_sub(1));

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, last);

        assert!(!AcceptedMeasurements::<T>::get().contains(&last));
        Ok(())
    }

    /// Worst case: all but one allow-list slot used. A runtime without the dev mode refuses
    /// the call at once, so nothing is measured there.
    #[benchmark]
    fn allow_mock_pck() -> Result<(), BenchmarkError> {
        if !T::DevPckMode::get() {
            return Err(BenchmarkError::Skip);
        }
        let origin = governance::<T>()?;
        let max = T::MaxMockPcks::get();
        let existing: Vec<PckKey> = (1..max).map(filler_pck).collect();
        AllowedMockPcks::<T>::put(bounded(existing)?);
        let new = filler_pck(max);

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, new);

        assert!(AllowedMockPcks::<T>::get().contains(&new));
        Ok(())
    }

    /// Worst case: the allow-list is full and the removed key is its last entry.
    #[benchmark]
    fn disallow_mock_pck() -> Result<(), BenchmarkError> {
        let origin = governance::<T>()?;
        let max = T::MaxMockPcks::get();
        let existing: Vec<PckKey> = (0..max).map(filler_pck).collect();
        AllowedMockPcks::<T>::put(bounded(existing)?);
        let last = filler_pck(max.saturating_sub(1));

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, last);

        assert!(!AllowedMockPcks::<T>::get().contains(&last));
        Ok(())
    }

    /// One value written; `Production` is accepted by every runtime.
    #[benchmark]
    fn set_pck_mode() -> Result<(), BenchmarkError> {
        let origin = governance::<T>()?;

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, PckMode::Production);

        assert_eq!(PckPolicyMode::<T>::get(), PckMode::Production);
        Ok(())
    }

    /// Worst case: the caller replaces a nonce of its own, and the request prunes
    /// `PRUNES_PER_REQUEST` expired entries whose nonces are all still pending.
    #[benchmark]
    fn request_attestation() -> Result<(), BenchmarkError> {
        let caller: T::AccountId = whitelisted_caller();
        let tss: T::AccountId = account("caller-tss", 0, 0);
        issue_nonces::<T>(PRUNES_PER_REQUEST)?;
        frame_system::Pallet::<T>::set_block_number(after_expiry::<T>());
        Pallet::<T>::issue_nonce(&caller, &tss)?;

        #[extrinsic_call]
        _(RawOrigin::Signed(caller.clone()), tss.clone());

        let pending = Pallet::<T>::pending_nonce(&caller).ok_or("no nonce issued")?;
        assert!(pending.tss_account == tss);
        let (head, tail) = NonceExpiryQueueBounds::<T>::get();
        // Both expired entries are gone; the caller's two entries remain.
        assert_eq!(tail.wrapping_sub(head), 2);
        Ok(())
    }

    /// One accepted quote, checked against the fullest dev policy (the mock measurement and
    /// the dev PCK last in their lists). Not a call: the registry charges it through
    /// `VerifyAttestation::verify_weight`.
    #[benchmark]
    fn verify_and_consume() -> Result<(), BenchmarkError> {
        set_dev_policy::<T>()?;
        let stash: T::AccountId = account("stash", 0, 0);
        let tss: T::AccountId = account("tss", 0, 0);
        let (nonce, _) = Pallet::<T>::issue_nonce(&stash, &tss)?;
        let public_key = [7u8; 32];
        let peer_id = [0x55u8; BENCH_PEER_ID_LEN];
        let binding = peerseal_attestation::Binding {
            context: QuoteContext::Register,
            account: tss.as_ref(),
            public_key: &public_key,
            stash: Some(stash.as_ref()),
            peer_id: Some(&peer_id),
            nonce: &nonce,
        };
        let quote = mock_quote(&binding)?;
        let result;

        #[block]
        {
            result = register_verification::<T>(&stash, &tss, &public_key, &peer_id, &quote);
        }

        assert!(result.is_ok());
        assert!(Pallet::<T>::pending_nonce(&stash).is_none());
        Ok(())
    }

    /// Quote verification as a production chain runs it, on a real quote: the attestation
    /// key's signature, the PCK certificate chain up to Intel's root, the PCK's signature of
    /// the QE report, the measurement scan of the fullest accepted list. It stops at the last
    /// check, the report-data binding (the sample is bound to no nonce of ours), after every
    /// signature and certificate was verified; the nonce stays, as after any failure.
    /// `verify_weight` charges the larger of this and [`verify_and_consume`].
    #[benchmark]
    fn verify_production_quote() -> Result<(), BenchmarkError> {
        set_production_policy::<T>(INTEL_SAMPLE_QUOTE)?;
        let stash: T::AccountId = account("stash", 0, 0);
        let tss: T::AccountId = account("tss", 0, 0);
        Pallet::<T>::issue_nonce(&stash, &tss)?;
        let public_key = [7u8; 32];
        let peer_id = [0x55u8; BENCH_PEER_ID_LEN];
        let result;

        #[block]
        {
            result =
                register_verification::<T>(&stash, &tss, &public_key, &peer_id, INTEL_SAMPLE_QUOTE);
        }

        // Refused for its binding only: every earlier check passed.
        let binding_errors: [DispatchError; 2] =
            [Error::<T>::QuoteNonceMismatch.into(), Error::<T>::ReportDataMismatch.into()];
        assert!(result.as_ref().is_err_and(|e| binding_errors.contains(e)), "{:?}", result.err());
        assert!(Pallet::<T>::pending_nonce(&stash).is_some());
        Ok(())
    }

    /// The block hook pruning `p + r` expired entries: `r` still hold their stash's pending
    /// nonce (removed now), `p` do not (consumed before they expired). Each component goes up
    /// to half the per-block budget, so together they stay within it and the cost is linear in
    /// both; the runner turns the fit into `on_initialize(processed, removed)` (the slope of
    /// `p` per processed entry, the difference per removed one).
    #[benchmark]
    fn on_initialize(
        p: Linear<0, { T::MaxNoncePrunesPerBlock::get() / 2 }>,
        r: Linear<0, { T::MaxNoncePrunesPerBlock::get() / 2 }>,
    ) -> Result<(), BenchmarkError> {
        let stashes = issue_nonces::<T>(p + r)?;
        for stash in stashes.iter().skip(r as usize) {
            PendingNonces::<T>::remove(stash);
        }
        let now = after_expiry::<T>();
        frame_system::Pallet::<T>::set_block_number(now);

        #[block]
        {
            Pallet::<T>::on_initialize(now);
        }

        let (head, tail) = NonceExpiryQueueBounds::<T>::get();
        assert_eq!(head, tail);
        assert!(PendingNonces::<T>::iter().next().is_none());
        Ok(())
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}

/// Length of the peer id the verification benchmark binds: a libp2p peer id of an ed25519 key
/// is 38 bytes; 64 leaves room, and the report data hashes it whatever its length.
const BENCH_PEER_ID_LEN: usize = 64;
