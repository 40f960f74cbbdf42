//! Benchmarks of `pallet-backup`: every call and both registry hooks (`leaving`, `removed`),
//! each in its worst case, measured by `peerseal-weights` into `weights.rs`.
//!
//! Clients and providers are registered through [`Config::BenchmarkHelper`] (the registry is
//! another pallet); assignments are recorded through the real calls where a call is the only
//! way to reach the state, and written directly where the hook benchmarks need hundreds of
//! them.

use super::*;
use alloc::vec;
use frame_benchmarking::v2::*;
use frame_support::traits::EnsureOrigin;
use frame_system::RawOrigin;

/// `n` accounts named `name`, each registered as an active server.
fn servers<T: Config>(name: &'static str, n: u32) -> Result<Vec<T::AccountId>, BenchmarkError> {
    let mut accounts = Vec::new();
    for i in 0..n {
        let who: T::AccountId = account(name, i, 0);
        T::BenchmarkHelper::register_server(&who)?;
        accounts.push(who);
    }
    Ok(accounts)
}

/// `accounts` as providers holding share indices 1, 2, … in order.
fn providers<T: Config>(accounts: &[T::AccountId]) -> Result<ProvidersOf<T>, BenchmarkError> {
    let shares: Vec<ProviderShare<T::AccountId>> = accounts
        .iter()
        .enumerate()
        // At most MaxProviders ≤ 255 accounts (integrity test), so `i + 1` fits a u8.
        .map(|(i, who)| (who.clone(), u8::try_from(i + 1).unwrap_or(u8::MAX)))
        .collect();
    BoundedVec::try_from(shares).map_err(|_| BenchmarkError::Stop("more than MaxProviders"))
}

/// `n` operators with distinct accounts and keys.
fn operators<T: Config>(n: u32) -> Result<OperatorsOf<T>, BenchmarkError> {
    let list: Vec<RecoveryOperator<T::AccountId>> = (0..n)
        .map(|i| {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_le_bytes());
            RecoveryOperator { account: account("operator", i, 0), x25519_public_key: key }
        })
        .collect();
    BoundedVec::try_from(list).map_err(|_| BenchmarkError::Stop("more than MaxRecoveryOperators"))
}

/// Sets `n` recovery operators (none when `n` is 0) through the real call; returns the set's
/// revision.
fn set_operators<T: Config>(n: u32) -> Result<u32, BenchmarkError> {
    let origin =
        T::OperatorOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
    let threshold = u8::try_from(n).map_err(|_| "more than 255 operators")?;
    Pallet::<T>::set_recovery_operators(origin, operators::<T>(n)?, threshold)?;
    Ok(NextOperatorSetRevision::<T>::get())
}

/// Sealed shares for the current operator set (`None` when there is none), each share at the
/// longest length allowed.
fn sealed<T: Config>() -> Result<Option<SealedRecoveryOf<T>>, BenchmarkError> {
    let Some(set) = RecoveryOperators::<T>::get() else { return Ok(None) };
    let share: BoundedVec<u8, T::MaxSealedShareLen> =
        BoundedVec::try_from(vec![0xA5u8; T::MaxSealedShareLen::get() as usize])
            .map_err(|_| "share over MaxSealedShareLen")?;
    let shares = BoundedVec::try_from(vec![share; set.operators.len()])
        .map_err(|_| "more shares than MaxRecoveryOperators")?;
    Ok(Some(SealedRecovery { operator_set: set.revision, shares }))
}

/// `client` records an assignment to `accounts` at `epoch` through the real call.
fn record<T: Config>(
    client: &T::AccountId,
    epoch: Epoch,
    accounts: &[T::AccountId],
) -> Result<(), BenchmarkError> {
    let threshold = u8::try_from(accounts.len()).map_err(|_| "more than 255 providers")?;
    Pallet::<T>::record_backup(
        RawOrigin::Signed(client.clone()).into(),
        epoch,
        threshold,
        providers::<T>(accounts)?,
        [3u8; 32],
        sealed::<T>()?,
    )?;
    Ok(())
}

/// An assignment of `client`-independent shape naming `accounts`, written as the call would.
fn assignment<T: Config>(accounts: &[T::AccountId]) -> Result<AssignmentOf<T>, BenchmarkError> {
    Ok(Assignment {
        epoch: 1,
        threshold: 1,
        providers: providers::<T>(accounts)?,
        commitment: [3u8; 32],
        recorded_at: frame_system::Pallet::<T>::block_number(),
        stale: false,
    })
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// Worst case: the caller replaces an assignment of `p` providers, each of which had
    /// confirmed, with one of `p` other providers, carrying `s` sealed shares of the longest
    /// length (`s` = 0: no operator set, no shares).
    #[benchmark]
    fn record_backup(
        p: Linear<1, { T::MaxProviders::get() }>,
        s: Linear<0, { T::MaxRecoveryOperators::get() }>,
    ) -> Result<(), BenchmarkError> {
        let caller: T::AccountId = whitelisted_caller();
        T::BenchmarkHelper::register_server(&caller)?;
        let old = servers::<T>("old-provider", p)?;
        let new = servers::<T>("provider", p)?;
        set_operators::<T>(s)?;
        record::<T>(&caller, 1, &old)?;
        for provider in &old {
            Pallet::<T>::confirm_backup(
                RawOrigin::Signed(provider.clone()).into(),
                caller.clone(),
                1,
            )?;
        }
        let threshold = u8::try_from(p).map_err(|_| "more than 255 providers")?;
        let list = providers::<T>(&new)?;
        let recovery = sealed::<T>()?;

        #[extrinsic_call]
        _(RawOrigin::Signed(caller.clone()), 2, threshold, list, [4u8; 32], recovery);

        let recorded = Assignments::<T>::get(&caller).ok_or("no assignment recorded")?;
        assert_eq!(recorded.epoch, 2);
        assert!(old.iter().all(|o| !ClientsOf::<T>::contains_key(o, &caller)));
        Ok(())
    }

    /// The last of `MaxProviders` providers confirms.
    #[benchmark]
    fn confirm_backup() -> Result<(), BenchmarkError> {
        let client: T::AccountId = account("client", 0, 0);
        T::BenchmarkHelper::register_server(&client)?;
        let all = servers::<T>("provider", T::MaxProviders::get())?;
        record::<T>(&client, 1, &all)?;
        let caller = all.last().cloned().ok_or("no provider")?;

        #[extrinsic_call]
        _(RawOrigin::Signed(caller.clone()), client.clone(), 1);

        assert_eq!(Confirmations::<T>::get(&client, &caller), Some(1));
        Ok(())
    }

    /// A client reports recovery from the last of its `MaxProviders` providers.
    #[benchmark]
    fn report_recovery() -> Result<(), BenchmarkError> {
        let caller: T::AccountId = whitelisted_caller();
        T::BenchmarkHelper::register_server(&caller)?;
        let all = servers::<T>("provider", T::MaxProviders::get())?;
        record::<T>(&caller, 1, &all)?;
        let provider = all.last().cloned().ok_or("no provider")?;

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), provider, 1);

        Ok(())
    }

    /// `o` operators replace a full operator set (`o` = 0 clears it); the duplicate check is
    /// quadratic in `o`.
    #[benchmark]
    fn set_recovery_operators(
        o: Linear<0, { T::MaxRecoveryOperators::get() }>,
    ) -> Result<(), BenchmarkError> {
        let origin =
            T::OperatorOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        set_operators::<T>(T::MaxRecoveryOperators::get())?;
        let list = operators::<T>(o)?;
        let threshold = u8::try_from(o).map_err(|_| "more than 255 operators")?;

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, list, threshold);

        assert_eq!(RecoveryOperators::<T>::get().map_or(0, |set| set.operators.len() as u32), o);
        Ok(())
    }

    /// A client reports recovery by operators; its recorded shares (read whole) are `s` shares
    /// of the longest length.
    #[benchmark]
    fn report_recovered_by_operators(
        s: Linear<1, { T::MaxRecoveryOperators::get() }>,
    ) -> Result<(), BenchmarkError> {
        let caller: T::AccountId = whitelisted_caller();
        T::BenchmarkHelper::register_server(&caller)?;
        let provider = servers::<T>("provider", 1)?;
        set_operators::<T>(s)?;
        record::<T>(&caller, 1, &provider)?;

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), 1);

        Ok(())
    }

    /// The registry's `leaving` hook for a provider serving `c` clients.
    #[benchmark]
    fn on_provider_leaving(
        c: Linear<0, { T::MaxClientsPerProvider::get() }>,
    ) -> Result<(), BenchmarkError> {
        let provider: T::AccountId = account("provider", 0, 0);
        for i in 0..c {
            let client: T::AccountId = account("client", i, 0);
            ClientsOf::<T>::insert(&provider, &client, ());
        }
        ClientCount::<T>::insert(&provider, c);

        #[block]
        {
            Pallet::<T>::provider_leaving(&provider);
        }

        Ok(())
    }

    /// The registry's `removed` hook for a server that provides for `c` clients (each with a
    /// full assignment and a confirmation by it) and has an assignment of `p` providers of its
    /// own with confirmations and recovery shares (`p` = 0: no assignment of its own).
    #[benchmark]
    fn on_server_removed(
        c: Linear<0, { T::MaxClientsPerProvider::get() }>,
        p: Linear<0, { T::MaxProviders::get() }>,
    ) -> Result<(), BenchmarkError> {
        let who: T::AccountId = account("removed", 0, 0);
        let max = T::MaxProviders::get();
        let mut others: Vec<T::AccountId> =
            (1..max).map(|i| account("co-provider", i, 0)).collect();
        others.insert(0, who.clone());
        let theirs = assignment::<T>(&others)?;
        for i in 0..c {
            let client: T::AccountId = account("client", i, 0);
            Assignments::<T>::insert(&client, theirs.clone());
            ClientsOf::<T>::insert(&who, &client, ());
            Confirmations::<T>::insert(&client, &who, 1);
        }
        ClientCount::<T>::insert(&who, c);
        if p > 0 {
            let own: Vec<T::AccountId> = (0..p).map(|i| account("provider", i, 0)).collect();
            Assignments::<T>::insert(&who, assignment::<T>(&own)?);
            for provider in &own {
                ClientsOf::<T>::insert(provider, &who, ());
                ClientCount::<T>::insert(provider, 1);
                Confirmations::<T>::insert(&who, provider, 1);
            }
            set_operators::<T>(T::MaxRecoveryOperators::get())?;
            if let Some(sealed) = sealed::<T>()? {
                RecoveryShares::<T>::insert(&who, RecordedRecovery { epoch: 1, sealed });
            }
        }

        #[block]
        {
            Pallet::<T>::server_removed(&who);
        }

        assert!(!Assignments::<T>::contains_key(&who));
        assert_eq!(ClientCount::<T>::get(&who), 0);
        Ok(())
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
