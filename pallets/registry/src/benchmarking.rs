//! Benchmarks of `pallet-registry`: every call and the block hook, each in its worst case,
//! measured by `peerseal-weights` into `weights.rs`.
//!
//! The registry is filled to `MaxServers` (the index the calls search, shift and rewrite is
//! then at its largest) by writing the other servers' entries directly: only the benchmarked
//! server goes through the real calls. Registration quotes are real mock quotes checked by the
//! real `pallet-attestation` (see its benchmarks for the dev-mode requirement), so these
//! benchmarks need `Config::Attestation` to be that pallet. The measured `register` and
//! `change_server_info` include one quote verification; the runner subtracts attestation's
//! `verify_and_consume` from them, because the pallet charges it separately through
//! `VerifyAttestation::verify_weight`.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::traits::{EnsureOrigin, Get, Hooks};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use pallet_attestation::{benchmarking::helpers as attestation, QuoteContext};
use sp_runtime::traits::Saturating;

/// The governance origin, or no weight when the runtime's origin cannot be produced.
fn governance<T: Config>() -> Result<T::RuntimeOrigin, BenchmarkError> {
    T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)
}

/// Server info of the largest encoding a call can carry (longest peer id, every multiaddr at
/// its longest), for `tss_account`, with `quote`.
fn max_info<T: Config>(
    tss_account: &T::AccountId,
    quote: Vec<u8>,
) -> Result<ServerInfo<T::AccountId>, BenchmarkError> {
    let addr: MultiaddrBytes = attestation::bounded(alloc::vec![0x04; MAX_MULTIADDR_LEN as usize])?;
    let multiaddrs: Multiaddrs = attestation::bounded(alloc::vec![addr; MAX_MULTIADDRS as usize])?;
    Ok(ServerInfo {
        tss_account: tss_account.clone(),
        x25519_public_key: [9u8; 32],
        peer_id: attestation::bounded(alloc::vec![0x12; MAX_PEER_ID_LEN as usize])?,
        multiaddrs,
        quote: attestation::bounded(quote)?,
    })
}

/// Fills the registry up to `n` servers (entries, reverse maps, status, index, count), the
/// new ones written directly; they take no part in the benchmark except making the index
/// large. Servers already registered (a runtime's genesis ones) are kept and counted.
fn fill_servers<T: Config>(n: u32) -> Result<(), BenchmarkError> {
    let mut index = ServerIndex::<T>::get().into_inner();
    let existing = u32::try_from(index.len()).map_err(|_| "index over u32")?;
    for i in existing..n {
        let stash: T::AccountId = account("filler-stash", i, 0);
        let tss: T::AccountId = account("filler-tss", i, 0);
        StashOf::<T>::insert(&tss, &stash);
        ServerStatusOf::<T>::insert(&tss, ServerStatus::Active);
        Servers::<T>::insert(&stash, max_info::<T>(&tss, Vec::new())?);
        index.push((stash, tss));
    }
    index.sort_by(|a, b| a.1.cmp(&b.1));
    let count = u32::try_from(index.len()).map_err(|_| "index over u32")?;
    ServerIndex::<T>::put(attestation::bounded(index)?);
    ServerCount::<T>::put(count);
    Ok(())
}

/// Registers `stash`'s server `tss` without a quote check (the stored quote is empty), the way
/// `register` stores it after a successful check.
fn add_server<T: Config>(stash: &T::AccountId, tss: &T::AccountId) -> Result<(), BenchmarkError> {
    Pallet::<T>::insert_server(stash, max_info::<T>(tss, Vec::new())?)?;
    Ok(())
}

/// Server info for `tss` of `stash` with a quote for `context` against a nonce `stash`
/// requests for it through the attestation pallet's real call.
fn attested<T: Config + pallet_attestation::Config>(
    stash: &T::AccountId,
    tss: &T::AccountId,
    context: QuoteContext,
) -> Result<ServerInfo<T::AccountId>, BenchmarkError>
where
    T::AccountId: AsRef<[u8; 32]>,
{
    attestation::set_dev_policy::<T>()?;
    pallet_attestation::Pallet::<T>::request_attestation(
        RawOrigin::Signed(stash.clone()).into(),
        tss.clone(),
    )?;
    let nonce =
        pallet_attestation::Pallet::<T>::pending_nonce(stash).ok_or("no nonce was issued")?.nonce;
    let mut info = max_info::<T>(tss, Vec::new())?;
    let binding = peerseal_attestation::Binding {
        context,
        account: tss.as_ref(),
        public_key: &info.x25519_public_key,
        stash: Some(stash.as_ref()),
        peer_id: Some(info.peer_id.as_slice()),
        nonce: &nonce,
    };
    info.quote = attestation::bounded(attestation::mock_quote(&binding)?)?;
    Ok(info)
}

#[benchmarks(where T: pallet_attestation::Config, T::AccountId: AsRef<[u8; 32]>)]
mod benchmarks {
    use super::*;

    /// Worst case: the registry holds `MaxServers - 1` servers.
    #[benchmark]
    fn register() -> Result<(), BenchmarkError> {
        fill_servers::<T>(T::MaxServers::get().saturating_sub(1))?;
        let caller: T::AccountId = whitelisted_caller();
        let tss: T::AccountId = account("tss", 0, 0);
        let info = attested::<T>(&caller, &tss, QuoteContext::Register)?;

        #[extrinsic_call]
        _(RawOrigin::Signed(caller.clone()), info);

        assert!(Servers::<T>::contains_key(&caller));
        assert_eq!(ServerCount::<T>::get(), T::MaxServers::get());
        Ok(())
    }

    /// Worst case: the TSS account changes (index entry moved, reverse maps and sufficient
    /// references swapped, an approved move dropped) in a full registry.
    #[benchmark]
    fn change_server_info() -> Result<(), BenchmarkError> {
        fill_servers::<T>(T::MaxServers::get().saturating_sub(1))?;
        let caller: T::AccountId = whitelisted_caller();
        let old: T::AccountId = account("tss", 0, 0);
        let new: T::AccountId = account("tss", 1, 0);
        add_server::<T>(&caller, &old)?;
        ApprovedMoves::<T>::insert(&old, PlatformId([1u8; 16]));
        let info = attested::<T>(&caller, &new, QuoteContext::ChangeServerInfo)?;

        #[extrinsic_call]
        _(RawOrigin::Signed(caller.clone()), info);

        assert_eq!(StashOf::<T>::get(&new), Some(caller));
        assert!(!ApprovedMoves::<T>::contains_key(&old));
        Ok(())
    }

    /// An active server of a full registry starts leaving.
    #[benchmark]
    fn leave() -> Result<(), BenchmarkError> {
        fill_servers::<T>(T::MaxServers::get().saturating_sub(1))?;
        let caller: T::AccountId = whitelisted_caller();
        let tss: T::AccountId = account("tss", 0, 0);
        add_server::<T>(&caller, &tss)?;

        #[extrinsic_call]
        _(RawOrigin::Signed(caller.clone()));

        assert_eq!(ServerStatusOf::<T>::get(&tss), Some(ServerStatus::Leaving));
        Ok(())
    }

    /// A server whose leave delay has just passed is removed from a full registry, with an
    /// approved move to drop.
    #[benchmark]
    fn purge_left() -> Result<(), BenchmarkError> {
        fill_servers::<T>(T::MaxServers::get().saturating_sub(1))?;
        let stash: T::AccountId = account("stash", 0, 0);
        let tss: T::AccountId = account("tss", 0, 0);
        add_server::<T>(&stash, &tss)?;
        ApprovedMoves::<T>::insert(&tss, PlatformId([1u8; 16]));
        Pallet::<T>::leave(RawOrigin::Signed(stash.clone()).into())?;
        let now = frame_system::Pallet::<T>::block_number().saturating_add(T::LeaveDelay::get());
        frame_system::Pallet::<T>::set_block_number(now);
        let caller: T::AccountId = whitelisted_caller();

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), stash.clone());

        assert!(!Servers::<T>::contains_key(&stash));
        Ok(())
    }

    /// Governance removes an active server with an approved move from a full registry.
    #[benchmark]
    fn remove() -> Result<(), BenchmarkError> {
        let origin = governance::<T>()?;
        fill_servers::<T>(T::MaxServers::get().saturating_sub(1))?;
        let stash: T::AccountId = account("stash", 0, 0);
        let tss: T::AccountId = account("tss", 0, 0);
        add_server::<T>(&stash, &tss)?;
        ApprovedMoves::<T>::insert(&tss, PlatformId([1u8; 16]));

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, stash.clone());

        assert!(!Servers::<T>::contains_key(&stash));
        Ok(())
    }

    /// Governance approves a move of a registered account.
    #[benchmark]
    fn approve_move() -> Result<(), BenchmarkError> {
        let origin = governance::<T>()?;
        let stash: T::AccountId = account("stash", 0, 0);
        let tss: T::AccountId = account("tss", 0, 0);
        add_server::<T>(&stash, &tss)?;

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, tss.clone(), PlatformId([2u8; 16]));

        assert_eq!(ApprovedMoves::<T>::get(&tss), Some(PlatformId([2u8; 16])));
        Ok(())
    }

    /// Governance withdraws an approved move.
    #[benchmark]
    fn revoke_move() -> Result<(), BenchmarkError> {
        let origin = governance::<T>()?;
        let stash: T::AccountId = account("stash", 0, 0);
        let tss: T::AccountId = account("tss", 0, 0);
        add_server::<T>(&stash, &tss)?;
        ApprovedMoves::<T>::insert(&tss, PlatformId([1u8; 16]));

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, tss.clone());

        assert!(!ApprovedMoves::<T>::contains_key(&tss));
        Ok(())
    }

    /// The block hook processing `p + r` due leave-queue entries: `r` still name a leaving
    /// server (removed now), `p` name servers governance removed meanwhile. Each component goes
    /// up to half the per-block budget, so together they stay within it and the cost is linear
    /// in both; the runner turns the fit into `on_initialize(processed, removed)`. The registry
    /// is otherwise full.
    #[benchmark]
    fn on_initialize(
        p: Linear<0, { T::MaxRemovalsPerBlock::get() / 2 }>,
        r: Linear<0, { T::MaxRemovalsPerBlock::get() / 2 }>,
    ) -> Result<(), BenchmarkError> {
        let max = T::MaxServers::get();
        fill_servers::<T>(max.saturating_sub(T::MaxRemovalsPerBlock::get()))?;
        let mut stashes = Vec::new();
        for i in 0..p + r {
            let stash: T::AccountId = account("stash", i, 0);
            let tss: T::AccountId = account("tss", i, 0);
            add_server::<T>(&stash, &tss)?;
            Pallet::<T>::leave(RawOrigin::Signed(stash.clone()).into())?;
            stashes.push(stash);
        }
        for stash in stashes.iter().skip(r as usize) {
            Pallet::<T>::remove(governance::<T>()?, stash.clone())?;
        }
        let now: BlockNumberFor<T> =
            frame_system::Pallet::<T>::block_number().saturating_add(T::LeaveDelay::get());
        frame_system::Pallet::<T>::set_block_number(now);

        #[block]
        {
            Pallet::<T>::on_initialize(now);
        }

        let (head, tail) = LeaveQueueBounds::<T>::get();
        assert_eq!(head, tail);
        assert!(stashes.iter().all(|stash| !Servers::<T>::contains_key(stash)));
        Ok(())
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext().0, crate::mock::Test);
}
