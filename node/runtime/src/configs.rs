//! Configuration of every pallet in the runtime.
//!
//! Limits are chosen for a dev chain with one-second blocks; each constant says why it has its
//! value. Governance is `EnsureRoot`, which on this chain means Sudo.

use crate::{
    AccountId, Attestation, Balance, Balances, Block, Hash, Moment, Nonce, PalletInfo, Registry,
    Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason, RuntimeOrigin,
    RuntimeTask, System, EXISTENTIAL_DEPOSIT, MAX_GRANDPA_AUTHORITIES, MINIMUM_PERIOD_MS,
    SS58_PREFIX, VERSION,
};
use frame_support::{
    derive_impl,
    dispatch::DispatchClass,
    parameter_types,
    traits::{ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
    weights::{
        constants::{RocksDbWeight, WEIGHT_REF_TIME_PER_SECOND},
        IdentityFee, Weight,
    },
};
use frame_system::{
    limits::{BlockLength, BlockWeights},
    EnsureRoot,
};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_runtime::Perbill;
use sp_version::RuntimeVersion;

/// Largest encoded block (5 MiB).
const MAX_BLOCK_LENGTH: u32 = 5 * 1024 * 1024;

/// Share of a block's weight and length that ordinary (non-operational) transactions may use.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
    /// Version of the runtime, for `CheckSpecVersion`/`CheckTxVersion`.
    pub const Version: RuntimeVersion = VERSION;
    /// Two seconds of compute per block, unlimited proof size (a solochain has no relay chain
    /// bounding its proofs).
    pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
        Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND.saturating_mul(2), u64::MAX),
        NORMAL_DISPATCH_RATIO,
    );
    /// 5 MiB blocks: room for many registrations, each carrying a quote of up to 16 KiB.
    /// Normal transactions get `NORMAL_DISPATCH_RATIO` of it.
    pub RuntimeBlockLength: BlockLength = BlockLength::builder()
        .max_length(MAX_BLOCK_LENGTH)
        .modify_max_length_for_class(DispatchClass::Normal, |max| {
            *max = NORMAL_DISPATCH_RATIO * MAX_BLOCK_LENGTH
        })
        .build();
    /// The SS58 prefix.
    pub const SS58Prefix: u16 = SS58_PREFIX;
    /// Block hashes kept for `CheckMortality` (mortal transactions may live this long).
    pub const BlockHashCount: u32 = 2400;
    /// Fees do not follow congestion on the dev chain: the multiplier stays 1.
    pub FeeMultiplier: Multiplier = Multiplier::from_u32(1);
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
    type Block = Block;
    type BlockWeights = RuntimeBlockWeights;
    type BlockLength = RuntimeBlockLength;
    type AccountId = AccountId;
    type Nonce = Nonce;
    type Hash = Hash;
    type BlockHashCount = BlockHashCount;
    type DbWeight = RocksDbWeight;
    type Version = Version;
    type AccountData = pallet_balances::AccountData<Balance>;
    type SS58Prefix = SS58Prefix;
    type MaxConsumers = ConstU32<16>;
}

impl pallet_timestamp::Config for Runtime {
    type Moment = Moment;
    type OnTimestampSet = ();
    /// 1 ms: the dev node seals a block on every transaction as well as on a timer, so blocks
    /// may follow each other within the same second. The node gives each block a timestamp at
    /// least this much later than its parent's.
    type MinimumPeriod = ConstU64<MINIMUM_PERIOD_MS>;
    type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeHoldReason = RuntimeHoldReason;
    type RuntimeFreezeReason = RuntimeFreezeReason;
    type WeightInfo = ();
    type Balance = Balance;
    type DustRemoval = ();
    type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
    type AccountStore = System;
    type ReserveIdentifier = [u8; 8];
    type FreezeIdentifier = RuntimeFreezeReason;
    type MaxLocks = ConstU32<50>;
    type MaxReserves = ConstU32<50>;
    type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
    type DoneSlashHandler = ();
}

impl pallet_transaction_payment::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    /// Fees are withdrawn from the sender and burned (no treasury or block author here).
    type OnChargeTransaction = FungibleAdapter<Balances, ()>;
    type OperationalFeeMultiplier = ConstU8<5>;
    /// One base unit per unit of ref-time: a simple transfer costs a small fraction of a token.
    type WeightToFee = IdentityFee<Balance>;
    type LengthToFee = IdentityFee<Balance>;
    type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
    type WeightInfo = ();
}

impl pallet_sudo::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type WeightInfo = ();
}

impl pallet_skip_feeless_payment::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
}

impl pallet_grandpa::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type WeightInfo = ();
    /// Room for a validator set of a small network; every justification carries at most this
    /// many signatures, which keeps finality proofs small.
    type MaxAuthorities = ConstU32<MAX_GRANDPA_AUTHORITIES>;
    /// No staking: nominators do not exist here.
    type MaxNominators = ConstU32<0>;
    /// No equivocation handling, so the set id -> session map is not needed.
    type MaxSetIdSessionEntries = ConstU64<0>;
    /// Equivocation reports are disabled: no key-ownership proof can be built (`Void`).
    type KeyOwnerProof = sp_core::Void;
    type EquivocationReportSystem = ();
}

impl pallet_finality_authorities::Config for Runtime {
    type GovernanceOrigin = EnsureRoot<AccountId>;
    type WeightInfo = pallet_finality_authorities::weights::SubstrateWeight<Runtime>;
}

impl pallet_attestation::Config for Runtime {
    type GovernanceOrigin = EnsureRoot<AccountId>;
    /// 100 blocks (~100 s at the dev block time): enough to produce a quote and submit it.
    type NonceLifetime = ConstU32<100>;
    /// Room for several image generations to overlap during upgrades.
    type MaxAcceptedMeasurements = ConstU32<16>;
    type MaxMockPcks = ConstU32<8>;
    /// Expired nonces pruned per block; each request also prunes two, so this only has to
    /// absorb bursts.
    type MaxNoncePrunesPerBlock = ConstU32<16>;
    // The dev PCK mode (mock quotes) exists only in a runtime built with the `dev-pck` feature
    // (implied by `dev`): the dev chain node's, and the wasm of dev chain specs. The wasm
    // runtime for real networks is built without it.
    type DevPckMode = frame_support::traits::ConstBool<{ cfg!(feature = "dev-pck") }>;
    type WeightInfo = pallet_attestation::weights::SubstrateWeight<Runtime>;
}

impl pallet_registry::Config for Runtime {
    type Attestation = Attestation;
    /// Registry changes drive the backup pallet's provider notices.
    type OnServerChange = crate::Backup;
    type GovernanceOrigin = EnsureRoot<AccountId>;
    /// 30 blocks (~30 s on the dev chain) between `leave` and removal, for clients to move
    /// their backups away from a leaving provider.
    type LeaveDelay = ConstU32<30>;
    type MaxServers = ConstU32<1024>;
    type MaxRemovalsPerBlock = ConstU32<8>;
    type WeightInfo = pallet_registry::weights::SubstrateWeight<Runtime>;
}

impl pallet_backup::Config for Runtime {
    type Registry = Registry;
    /// Up to 16 providers per backup (shares are indexed by `u8`).
    type MaxProviders = ConstU32<16>;
    /// A provider serves at most `MAX_CLIENTS_PER_PROVIDER` (256) clients, which bounds the
    /// registry hooks' work; the constant is shared with off-chain clients that compute the
    /// candidate providers from proven storage.
    type MaxClientsPerProvider = ConstU32<{ peerseal_primitives::MAX_CLIENTS_PER_PROVIDER }>;
    /// Recovery operators are set by root (sudo on the dev chain, a council elsewhere).
    type OperatorOrigin = EnsureRoot<AccountId>;
    /// Up to 16 recovery operators.
    type MaxRecoveryOperators = ConstU32<16>;
    /// A sealed share is about 250 bytes (HPKE encapsulation, the share with its binding, the
    /// node's signature); 512 leaves room.
    type MaxSealedShareLen = ConstU32<512>;
    type WeightInfo = pallet_backup::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = BackupBenchmarkHelper;
}

/// Registers the servers pallet-backup's benchmarks need, in the real registry (without a
/// quote: the benchmarks measure the backup pallet, not attestation).
#[cfg(feature = "runtime-benchmarks")]
pub struct BackupBenchmarkHelper;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_backup::BenchmarkHelper<AccountId> for BackupBenchmarkHelper {
    /// The server's TSS account doubles as its stash: every benchmark account is distinct, and
    /// the backup pallet only ever looks the TSS account up.
    fn register_server(who: &AccountId) -> sp_runtime::DispatchResult {
        Registry::register_for_benchmarks(who, who)
    }
}
