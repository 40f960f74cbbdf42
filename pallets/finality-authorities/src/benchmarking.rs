//! Benchmarks of `pallet-finality-authorities`: its call and its block hooks, measured by
//! `peerseal-weights` into `weights.rs`.
//!
//! `WeightInfo::on_finalize(due)` has two cases, so the hooks have two benchmarks:
//! `on_finalize_due` (a change is enacted in this block) and `on_finalize_idle` (none is). Both
//! run `on_initialize` and `on_finalize` of one block, since `on_initialize` charges the pair.

use super::*;
use alloc::vec::Vec;
use codec::Decode;
use frame_benchmarking::v2::*;
use frame_support::traits::{EnsureOrigin, Get, Hooks};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::One;

/// `n` distinct GRANDPA authorities of weight 1. Their keys are arbitrary 32-byte strings: the
/// call never checks that a key is a valid ed25519 point, and decoding one does not either.
fn authorities<T: Config>(n: u32) -> Result<NextAuthorities<T>, BenchmarkError> {
    let mut list = Vec::new();
    for i in 0..n {
        let mut bytes = [0x11u8; 32];
        bytes[..4].copy_from_slice(&i.to_le_bytes());
        let id = AuthorityId::decode(&mut &bytes[..]).map_err(|_| "32 bytes decode as a key")?;
        list.push((id, 1));
    }
    NextAuthorities::<T>::try_from(list).map_err(|_| BenchmarkError::Stop("over MaxAuthorities"))
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// Governance schedules a change to `n` authorities (checked for zero weights, duplicates
    /// and overflow, then copied into pallet-grandpa's pending change).
    #[benchmark]
    fn schedule_change(
        n: Linear<1, { <T as pallet_grandpa::Config>::MaxAuthorities::get() }>,
    ) -> Result<(), BenchmarkError> {
        let origin =
            T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let next = authorities::<T>(n)?;
        let delay: BlockNumberFor<T> = 5u32.into();

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, next, delay);

        assert!(PendingEnactment::<T>::get().is_some());
        Ok(())
    }

    /// A block in which a scheduled change is enacted: the set id advances.
    #[benchmark]
    fn on_finalize_due() -> Result<(), BenchmarkError> {
        let now = frame_system::Pallet::<T>::block_number().max(One::one());
        PendingEnactment::<T>::put(now);
        let before = pallet_grandpa::CurrentSetId::<T>::get();

        #[block]
        {
            Pallet::<T>::on_initialize(now);
            Pallet::<T>::on_finalize(now);
        }

        assert_eq!(pallet_grandpa::CurrentSetId::<T>::get(), before.saturating_add(1));
        assert!(PendingEnactment::<T>::get().is_none());
        Ok(())
    }

    /// A block without an enactment (nothing pending): one read in each hook.
    #[benchmark]
    fn on_finalize_idle() -> Result<(), BenchmarkError> {
        let now = frame_system::Pallet::<T>::block_number().max(One::one());
        let before = pallet_grandpa::CurrentSetId::<T>::get();

        #[block]
        {
            Pallet::<T>::on_initialize(now);
            Pallet::<T>::on_finalize(now);
        }

        assert_eq!(pallet_grandpa::CurrentSetId::<T>::get(), before);
        Ok(())
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
