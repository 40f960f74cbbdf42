//! Test runtime for `pallet-backup`: frame-system plus the pallet, with an in-mock registry.
//!
//! The registry is a map of account → status kept in the test externalities' own storage
//! (an unhashed key), so every test starts empty and state is rolled back like chain state.
//! Helpers [`join`], [`start_leaving`] and [`remove`] change it and call the pallet's
//! `OnServerChange` hooks the way `pallet-registry` does.

use crate as pallet_backup;
use codec::{Decode, Encode};
use frame_support::{derive_impl, storage::unhashed, traits::ConstU32};
use frame_system::EnsureRoot;
use peerseal_primitives::{OnServerChange, ServerRegistry, ServerStatus};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Backup: pallet_backup,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
}

impl pallet_backup::Config for Test {
    type Registry = MockRegistry;
    type MaxProviders = ConstU32<4>;
    type MaxClientsPerProvider = ConstU32<3>;
    type OperatorOrigin = EnsureRoot<u64>;
    type MaxRecoveryOperators = ConstU32<3>;
    type MaxSealedShareLen = ConstU32<8>;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockRegistry;
}

const REGISTRY_KEY: &[u8] = b":mock:registry";

/// Registered servers of the test, with their status.
#[derive(Encode, Decode, Default)]
struct Servers(Vec<(u64, ServerStatus)>);

fn servers() -> Servers {
    unhashed::get(REGISTRY_KEY).unwrap_or_default()
}

fn set_status(who: u64, status: Option<ServerStatus>) {
    let mut all = servers();
    all.0.retain(|(a, _)| *a != who);
    if let Some(status) = status {
        all.0.push((who, status));
    }
    unhashed::put(REGISTRY_KEY, &all);
}

/// The mock `ServerRegistry`, reading the test's storage.
pub struct MockRegistry;

impl ServerRegistry<u64> for MockRegistry {
    fn status(who: &u64) -> Option<ServerStatus> {
        servers().0.iter().find(|(a, _)| a == who).map(|(_, s)| *s)
    }
    fn active_servers() -> Vec<u64> {
        servers().0.iter().filter(|(_, s)| *s == ServerStatus::Active).map(|(a, _)| *a).collect()
    }
}

/// The benchmarks register servers in the mock registry.
#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64> for MockRegistry {
    fn register_server(who: &u64) -> sp_runtime::DispatchResult {
        set_status(*who, Some(ServerStatus::Active));
        Ok(())
    }
}

/// Register `who` as an active server.
pub fn join(who: u64) {
    set_status(who, Some(ServerStatus::Active));
    <Backup as OnServerChange<u64>>::joined(&who);
}

/// Mark `who` leaving and notify the pallet.
pub fn start_leaving(who: u64) {
    set_status(who, Some(ServerStatus::Leaving));
    <Backup as OnServerChange<u64>>::leaving(&who);
}

/// Remove `who` from the registry and notify the pallet.
pub fn remove(who: u64) {
    set_status(who, None);
    <Backup as OnServerChange<u64>>::removed(&who);
}

/// Runs `test` in [`new_test_ext`], then checks the pallet's storage invariants
/// ([`Backup::do_try_state`]), so every test also proves the state it leaves is consistent.
pub fn checked(test: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        test();
        if let Err(broken) = Backup::do_try_state() {
            panic!("storage invariant broken: {broken:?}");
        }
    });
}

/// Externalities at block 1 with servers 1..=6 registered and active.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap_or_else(|e| panic!("genesis storage of the mock runtime: {e}"));
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| {
        System::set_block_number(1);
        for who in 1..=6 {
            set_status(who, Some(ServerStatus::Active));
        }
    });
    // Into the backend, not only the overlay: the benchmark tests wipe the overlay between
    // runs, which would otherwise drop the mock registry and the block number.
    ext.commit_all().unwrap_or_else(|e| panic!("committing the mock genesis: {e}"));
    ext
}
