//! A runtime with System, the real pallet-grandpa and this pallet, for the unit tests.
//!
//! pallet-grandpa is configured as in the peerseal runtime: no equivocation reports, no key
//! ownership proofs, no session pallet.

use crate as pallet_finality_authorities;
use frame_support::{derive_impl, traits::ConstU32, traits::ConstU64};
use frame_system::EnsureRoot;
use sp_consensus_grandpa::AuthorityId;
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Grandpa: pallet_grandpa,
        FinalityAuthorities: pallet_finality_authorities,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
}

/// Most authorities in a set.
pub const MAX_AUTHORITIES: u32 = 4;

impl pallet_grandpa::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type WeightInfo = ();
    type MaxAuthorities = ConstU32<MAX_AUTHORITIES>;
    type MaxNominators = ConstU32<0>;
    type MaxSetIdSessionEntries = ConstU64<0>;
    type KeyOwnerProof = sp_core::Void;
    type EquivocationReportSystem = ();
}

impl pallet_finality_authorities::Config for Test {
    type GovernanceOrigin = EnsureRoot<u64>;
    type WeightInfo = ();
}

/// The ed25519 GRANDPA key of a dev keyring account.
pub fn key(who: sp_keyring::Ed25519Keyring) -> AuthorityId {
    who.public().into()
}

/// Runs `test` in [`new_test_ext`], then checks the pallet's storage invariants
/// ([`FinalityAuthorities::do_try_state`]), so every test also proves the state it leaves is
/// consistent.
pub fn checked(test: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        test();
        if let Err(broken) = FinalityAuthorities::do_try_state() {
            panic!("storage invariant broken: {broken:?}");
        }
    });
}

/// Externalities with Alice (weight 1) as the genesis GRANDPA set, at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
    pallet_grandpa::GenesisConfig::<Test> {
        authorities: vec![(key(sp_keyring::Ed25519Keyring::Alice), 1)],
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .unwrap();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    // Into the backend, not only the overlay: the benchmark tests wipe the overlay between
    // runs, which would otherwise drop the block number.
    ext.commit_all().unwrap();
    ext
}
