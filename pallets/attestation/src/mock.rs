//! A minimal runtime (System + Attestation) for the unit tests, with a dev-style genesis: the mock
//! measurement accepted, the dev mock PCK allowed, PCK mode `Dev`.

use crate as pallet_attestation;
use frame_support::{
    derive_impl,
    traits::{ConstU32, ConstU64},
};
use frame_system::EnsureRoot;
use peerseal_attestation::{
    mock_measurement, report_data, Binding, MockQuoteProvider, QuoteProvider, DEV_MOCK_PCK_SEED,
};
use sp_runtime::{traits::IdentityLookup, AccountId32, BuildStorage};

use crate::{PckMode, QuoteContext};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Attestation: pallet_attestation,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = AccountId32;
    type Lookup = IdentityLookup<AccountId32>;
}

/// Blocks a nonce stays usable in the mock.
pub const NONCE_LIFETIME: u64 = 10;
/// List bounds of the mock, small so the "too many" errors are reachable.
pub const MAX_LIST: u32 = 3;
/// Expired nonces the block hook prunes per block, small so the bound is observable.
pub const MAX_PRUNES_PER_BLOCK: u32 = 2;

std::thread_local! {
    /// Whether the mock runtime has the dev PCK mode (tests of a production runtime turn it
    /// off). Per test thread, so tests do not see each other's setting.
    static DEV_PCK_MODE: core::cell::Cell<bool> = const { core::cell::Cell::new(true) };
}

/// The mock's [`pallet_attestation::Config::DevPckMode`]: on unless a test turns it off.
pub struct DevPckModeSwitch;
impl frame_support::traits::Get<bool> for DevPckModeSwitch {
    fn get() -> bool {
        DEV_PCK_MODE.with(|c| c.get())
    }
}

/// Makes the mock runtime a production (`false`) or dev (`true`) runtime for this thread.
pub fn set_dev_pck_mode(on: bool) {
    DEV_PCK_MODE.with(|c| c.set(on));
}

impl pallet_attestation::Config for Test {
    type GovernanceOrigin = EnsureRoot<AccountId32>;
    type NonceLifetime = ConstU64<NONCE_LIFETIME>;
    type MaxAcceptedMeasurements = ConstU32<MAX_LIST>;
    type MaxMockPcks = ConstU32<MAX_LIST>;
    type MaxNoncePrunesPerBlock = ConstU32<MAX_PRUNES_PER_BLOCK>;
    type DevPckMode = DevPckModeSwitch;
    type WeightInfo = ();
}

/// Account with all bytes `n` (the tests use these as validator stashes).
pub fn account(n: u8) -> AccountId32 {
    AccountId32::new([n; 32])
}

/// The TSS account of the server of `stash` in the tests (distinct from every stash).
pub fn server(stash: &AccountId32) -> AccountId32 {
    let mut bytes: [u8; 32] = *stash.as_ref();
    bytes[0] ^= 0x80;
    AccountId32::new(bytes)
}

/// The dev mock quote provider (its PCK is allowed in genesis).
pub fn dev_provider() -> MockQuoteProvider {
    MockQuoteProvider::from_seed(DEV_MOCK_PCK_SEED)
}

/// What the quotes in the tests bind unless a test says otherwise.
pub const PUBLIC_KEY: [u8; 32] = [7u8; 32];
/// Peer id bytes bound by the register-context quotes of the tests.
pub const PEER_ID: &[u8] = b"test-peer-id";

/// A quote from `provider` binding `(context, tss_account, public_key, stash, PEER_ID, nonce)`.
pub fn quote_binding(
    provider: &MockQuoteProvider,
    context: QuoteContext,
    stash: Option<&AccountId32>,
    tss_account: &AccountId32,
    public_key: &[u8; 32],
    nonce: &[u8; 32],
) -> Vec<u8> {
    let binding = Binding {
        context,
        account: tss_account.as_ref(),
        public_key,
        stash: stash.map(|s| s.as_ref()),
        peer_id: Some(PEER_ID),
        nonce,
    };
    provider.quote(&report_data(&binding)).expect("mock provider always produces a quote")
}

/// A quote from `provider` for `stash`'s server: binds `(context, server(stash), public_key,
/// stash, PEER_ID, nonce)`.
pub fn quote_with(
    provider: &MockQuoteProvider,
    context: QuoteContext,
    stash: &AccountId32,
    public_key: &[u8; 32],
    nonce: &[u8; 32],
) -> Vec<u8> {
    quote_binding(provider, context, Some(stash), &server(stash), public_key, nonce)
}

/// A valid register quote for `stash`'s current pending nonce.
pub fn register_quote(stash: &AccountId32) -> Vec<u8> {
    let pending = Attestation::pending_nonce(stash).expect("test requested a nonce first");
    quote_binding(
        &dev_provider(),
        QuoteContext::Register,
        Some(stash),
        &pending.tss_account,
        &PUBLIC_KEY,
        &pending.nonce,
    )
}

/// Test externalities with the dev policy in genesis, at block 1 (events are kept from there).
pub fn new_test_ext() -> sp_io::TestExternalities {
    let storage = RuntimeGenesisConfig {
        system: Default::default(),
        attestation: pallet_attestation::GenesisConfig {
            accepted_measurements: vec![mock_measurement()],
            allowed_mock_pcks: vec![dev_provider().pck_key()],
            pck_mode: PckMode::Dev,
            _config: Default::default(),
        },
    }
    .build_storage()
    .expect("mock genesis is valid");
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    // Into the backend, not only the overlay: the benchmark tests wipe the overlay between
    // runs, which would otherwise drop the block number.
    ext.commit_all().expect("the mock's in-memory backend commits");
    ext
}

/// Runs `test` in [`new_test_ext`], then checks the pallet's storage invariants
/// ([`Attestation::do_try_state`]).
pub fn checked(test: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        test();
        if let Err(broken) = Attestation::do_try_state() {
            panic!("storage invariant broken: {broken:?}");
        }
    });
}

/// The events this pallet deposited, oldest first.
pub fn attestation_events() -> Vec<pallet_attestation::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Attestation(event) => Some(event),
            _ => None,
        })
        .collect()
}
