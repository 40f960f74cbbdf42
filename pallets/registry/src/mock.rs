//! A runtime with System, the real attestation pallet and the registry for the unit tests.
//!
//! Quotes are real mock TDX quotes from `peerseal_attestation::MockQuoteProvider::dev()`, checked
//! by the real `pallet-attestation` in `Dev` PCK mode. `OnServerChange` is a recorder, so tests
//! can see exactly which notifications the registry sent.

use crate as pallet_registry;
use crate::{HookWeight, Multiaddrs, OnServerChange, ServerInfo};
use core::cell::RefCell;
use frame_support::{
    derive_impl,
    traits::{ConstU32, ConstU64},
    BoundedVec,
};
use frame_system::EnsureRoot;
use pallet_attestation::{PckMode, QuoteContext};
use peerseal_attestation::{mock_measurement, report_data, Binding, MockQuoteProvider};
use sp_runtime::{traits::IdentityLookup, AccountId32, BuildStorage};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Attestation: pallet_attestation,
        Registry: pallet_registry,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = AccountId32;
    type Lookup = IdentityLookup<AccountId32>;
}

/// Blocks a nonce stays usable.
pub const NONCE_LIFETIME: u64 = 10;
/// Blocks between `leave` and removal.
pub const LEAVE_DELAY: u64 = 5;
/// Most servers at once.
pub const MAX_SERVERS: u32 = 4;
/// Leave-queue entries the hook handles per block.
pub const MAX_REMOVALS_PER_BLOCK: u32 = 2;

impl pallet_attestation::Config for Test {
    type GovernanceOrigin = EnsureRoot<AccountId32>;
    type NonceLifetime = ConstU64<NONCE_LIFETIME>;
    type MaxAcceptedMeasurements = ConstU32<4>;
    type MaxMockPcks = ConstU32<4>;
    type MaxNoncePrunesPerBlock = ConstU32<4>;
    type DevPckMode = frame_support::traits::ConstBool<true>;
    type WeightInfo = ();
}

impl pallet_registry::Config for Test {
    type Attestation = Attestation;
    type OnServerChange = RecordingHooks;
    type GovernanceOrigin = EnsureRoot<AccountId32>;
    type LeaveDelay = ConstU64<LEAVE_DELAY>;
    type MaxServers = ConstU32<MAX_SERVERS>;
    type MaxRemovalsPerBlock = ConstU32<MAX_REMOVALS_PER_BLOCK>;
    type WeightInfo = ();
}

/// One `OnServerChange` notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hook {
    Joined(AccountId32),
    Leaving(AccountId32),
    Removed(AccountId32),
}

thread_local! {
    static HOOKS: RefCell<Vec<Hook>> = const { RefCell::new(Vec::new()) };
}

/// What [`RecordingHooks`] declares each notification costs: far above anything the registry's
/// own weights contain, so a weight that forgets a notification is visibly too small, yet small
/// enough that the block hook's worst case fits the mock's one-second block (integrity test).
/// The proof sizes are above the measured ones of a full registry (the index of `MaxServers`
/// entries alone is 64 KiB).
pub const JOINED_WEIGHT: HookWeight = HookWeight::from_parts(30_000_000_000, 300_000);
/// See [`JOINED_WEIGHT`].
pub const LEAVING_WEIGHT: HookWeight = HookWeight::from_parts(50_000_000_000, 500_000);
/// See [`JOINED_WEIGHT`].
pub const REMOVED_WEIGHT: HookWeight = HookWeight::from_parts(70_000_000_000, 700_000);

/// Records every notification in a thread-local list (tests run one per thread).
pub struct RecordingHooks;

impl OnServerChange<AccountId32> for RecordingHooks {
    fn joined(who: &AccountId32) {
        HOOKS.with(|h| h.borrow_mut().push(Hook::Joined(who.clone())));
    }
    fn leaving(who: &AccountId32) {
        HOOKS.with(|h| h.borrow_mut().push(Hook::Leaving(who.clone())));
    }
    fn removed(who: &AccountId32) {
        HOOKS.with(|h| h.borrow_mut().push(Hook::Removed(who.clone())));
    }
    fn joined_weight() -> HookWeight {
        JOINED_WEIGHT
    }
    fn leaving_weight() -> HookWeight {
        LEAVING_WEIGHT
    }
    fn removed_weight() -> HookWeight {
        REMOVED_WEIGHT
    }
}

/// The notifications since the last call, oldest first.
pub fn take_hooks() -> Vec<Hook> {
    HOOKS.with(|h| core::mem::take(&mut *h.borrow_mut()))
}

/// Validator stash number `n`.
pub fn stash(n: u8) -> AccountId32 {
    AccountId32::new([n; 32])
}

/// TSS account number `n` (distinct from every stash).
pub fn tss(n: u8) -> AccountId32 {
    AccountId32::new([0x80 | n; 32])
}

/// Server info for `tss_account` with key/peer id derived from `tag` and the given quote.
pub fn info(tss_account: &AccountId32, tag: u8, quote: Vec<u8>) -> ServerInfo<AccountId32> {
    let addr: BoundedVec<u8, _> = BoundedVec::truncate_from(
        format!("/ip4/127.0.0.1/tcp/{}", 30400 + u32::from(tag)).into_bytes(),
    );
    let multiaddrs: Multiaddrs = BoundedVec::truncate_from(vec![addr]);
    ServerInfo {
        tss_account: tss_account.clone(),
        x25519_public_key: [tag; 32],
        peer_id: BoundedVec::truncate_from(format!("peer-{tag}").into_bytes()),
        multiaddrs,
        quote: BoundedVec::truncate_from(quote),
    }
}

/// A mock quote binding `(context, info's account, key, stash, peer id, nonce)`: what the TEE
/// of a server configured for `stash` produces.
pub fn quote_for(
    stash: &AccountId32,
    info: &ServerInfo<AccountId32>,
    context: QuoteContext,
    nonce: &[u8; 32],
) -> Vec<u8> {
    let binding = Binding {
        context,
        account: info.tss_account.as_ref(),
        public_key: &info.x25519_public_key,
        stash: Some(stash.as_ref()),
        peer_id: Some(info.peer_id.as_slice()),
        nonce,
    };
    MockQuoteProvider::dev().mock_quote(&report_data(&binding))
}

/// Lets `stash` request a nonce for `tss_account` and returns it.
pub fn request_nonce(stash: &AccountId32, tss_account: &AccountId32) -> [u8; 32] {
    frame_support::assert_ok!(Attestation::request_attestation(
        RuntimeOrigin::signed(stash.clone()),
        tss_account.clone()
    ));
    Attestation::pending_nonce(stash).expect("a nonce was just issued").nonce
}

/// Server info for `tss_account` of `stash`, attested for `context` against a nonce `stash`
/// freshly requested for it.
pub fn attested(
    stash: &AccountId32,
    tss_account: &AccountId32,
    tag: u8,
    context: QuoteContext,
) -> ServerInfo<AccountId32> {
    let nonce = request_nonce(stash, tss_account);
    let mut server = info(tss_account, tag, Vec::new());
    server.quote = BoundedVec::truncate_from(quote_for(stash, &server, context, &nonce));
    server
}

/// Test externalities with the dev attestation policy, `servers` in the registry genesis, at
/// block 1, with the genesis notifications discarded.
pub fn new_test_ext_with(servers: Vec<(AccountId32, ServerInfo<AccountId32>)>) -> TestExt {
    take_hooks();
    let storage = RuntimeGenesisConfig {
        system: Default::default(),
        attestation: pallet_attestation::GenesisConfig {
            accepted_measurements: vec![mock_measurement()],
            allowed_mock_pcks: vec![MockQuoteProvider::dev().pck_key()],
            pck_mode: PckMode::Dev,
            _config: Default::default(),
        },
        registry: pallet_registry::GenesisConfig { servers },
    }
    .build_storage()
    .expect("mock genesis is valid");
    take_hooks();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| {
        System::set_block_number(1);
        assert_storage_invariants();
    });
    // Into the backend, not only the overlay: the benchmark tests wipe the overlay between
    // runs, which would otherwise drop the genesis block number.
    ext.commit_all().expect("the mock's in-memory backend commits");
    TestExt(ext)
}

/// Test externalities without genesis servers.
pub fn new_test_ext() -> TestExt {
    new_test_ext_with(Vec::new())
}

/// Test externalities that check, after every `execute_with`, the registry's storage invariants
/// (so every test scenario doubles as an invariant test).
pub struct TestExt(pub sp_io::TestExternalities);

impl TestExt {
    /// Runs `f`, then asserts the index invariant on the resulting state, and that `Revision`
    /// moved whenever the server list (entries or statuses) changed.
    pub fn execute_with<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.0.execute_with(|| {
            let before = (registry_snapshot(), pallet_registry::Revision::<Test>::get());
            let out = f();
            assert_storage_invariants();
            let after = (registry_snapshot(), pallet_registry::Revision::<Test>::get());
            if before.0 != after.0 {
                assert_ne!(before.1, after.1, "the server list changed but Revision did not");
            }
            out
        })
    }
}

/// Every server's entry and status, as a light client reading the registry would see them.
fn registry_snapshot() -> Vec<(Vec<u8>, Vec<u8>)> {
    use codec::Encode;
    let mut all: Vec<(Vec<u8>, Vec<u8>)> = pallet_registry::Servers::<Test>::iter()
        .map(|(stash, info)| {
            let status = pallet_registry::ServerStatusOf::<Test>::get(&info.tss_account);
            (stash.encode(), (info, status).encode())
        })
        .collect();
    all.sort();
    all
}

/// The registry's storage invariants ([`pallet_registry::Pallet::do_try_state`]: the index
/// is exactly the set of `Servers` entries, sorted, with its reverse maps and count).
pub fn assert_storage_invariants() {
    if let Err(broken) = Registry::do_try_state() {
        panic!("registry storage invariant broken: {broken:?}");
    }
}

/// The events of the registry pallet, oldest first.
pub fn registry_events() -> Vec<pallet_registry::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Registry(event) => Some(event),
            _ => None,
        })
        .collect()
}

/// Moves to block `n` and runs the registry's block hook there; returns the hook's weight.
pub fn run_to_block(n: u64) -> frame_support::weights::Weight {
    use frame_support::traits::Hooks;
    System::set_block_number(n);
    <Registry as Hooks<u64>>::on_initialize(n)
}
