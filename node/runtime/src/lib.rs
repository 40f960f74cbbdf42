//! # peerseal-runtime: the FRAME runtime of the peerseal chain
//!
//! The chain is peerseal's trust root: which TDX images are accepted (`pallet-attestation`),
//! which attested TSS servers exist (`pallet-registry`) and who holds whose database-key backup
//! (`pallet-backup`), next to the usual System, Timestamp, Balances, TransactionPayment and Sudo
//! (the dev chain's governance stand-in: every governance origin is `EnsureRoot`), and
//! `pallet-grandpa` (the GRANDPA authority set, whose standard `FRNK` digests let any client
//! follow finality) with `pallet-finality-authorities` (governance's call to change that set). It is an
//! ordinary FRAME runtime, but built natively only: the dev node (`peerseal-node`) calls the
//! runtime APIs generated here through [`api::dispatch`] inside externalities, exactly as a
//! Substrate node calls them through its executor, so there is no `build.rs` and no wasm builder.
//! With `--no-default-features` the crate is `no_std` so a real Substrate node could embed it.
//!
//! Signed transactions use the standard extension list ([`TxExtension`]), so subxt,
//! polkadot.js and py-substrate-interface sign without custom code. The payment extension is
//! wrapped in `pallet_skip_feeless_payment::SkipCheckIfFeeless`, which keeps the identifier,
//! encoding and metadata of `ChargeTransactionPayment` and lets `pallet-backup`'s feeless calls
//! through for unfunded TSS accounts (see that pallet's docs for the exact condition).
//!
//! The dev genesis preset lives in [`genesis`].
//!
//! ## Driving it from a native node
//!
//! - Genesis: [`genesis::dev_genesis_storage`] (or `GenesisBuilder_get_preset` +
//!   `GenesisBuilder_build_state` on empty externalities: same state). Then compute the genesis
//!   header (number 0, zero parent, the storage root with `StateVersion::V1`, the empty
//!   extrinsics root) and write its hash to `System::BlockHash[0]`: frame-system's genesis leaves
//!   a placeholder there, and `CheckGenesis`/`CheckMortality` sign against that entry.
//! - Blocks: `Core_initialize_block`, the timestamp inherent (`Timestamp::set`, mandatory, at
//!   least `MinimumPeriod` = 1 ms after the parent's), `BlockBuilder_apply_extrinsic` per
//!   transaction, `BlockBuilder_finalize_block`; `Core_execute_block` re-checks a block.
//! - Read-only calls (`state_call`, including `TaggedTransactionQueue_validate_transaction`, which
//!   initializes a block internally) must run inside a storage transaction that is rolled back,
//!   or they corrupt the chain state.
//!
//! `tests/blocks.rs` does all of this in `sp_io::TestExternalities`.
//!
//! Dependencies: the FRAME crates (`frame-*`, `pallet-*`, `sp-*`) of polkadot-sdk stable2609
//! that a minimal solochain runtime needs; `pallet-grandpa` and `sp-consensus-grandpa` (the
//! standard GRANDPA authority set, digests and `GrandpaApi`, so finality is provable to any
//! Substrate light client); `pallet-skip-feeless-payment` for the feeless path;
//! `serde_json` because genesis presets are JSON; peerseal's own pallets, `peerseal-primitives`
//! and `peerseal-attestation` (policy types in the genesis config), and, with the `dev` feature only,
//! `peerseal-devkeys` for the deterministic dev identities and quotes of the dev preset and
//! `sp-keyring` for the dev GRANDPA authority (`//Alice`'s ed25519 key).
#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime!` and `impl_runtime_apis!` expand deeply.
#![recursion_limit = "256"]

extern crate alloc;

mod apis;
mod configs;
pub mod genesis;

pub use apis::{api, RUNTIME_API_VERSIONS};

// `Vec` by path: the `#[frame_support::runtime]` expansion names it unqualified, and `no_std`
// builds have no prelude `Vec`.
use alloc::borrow::Cow;
#[allow(unused_imports)]
use alloc::vec::Vec;
use sp_runtime::{
    generic,
    traits::{BlakeTwo256, IdentifyAccount, Verify},
    MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

pub use frame_support;
pub use frame_system;
pub use pallet_backup;
pub use pallet_finality_authorities;
pub use pallet_grandpa;
pub use pallet_registry;
pub use sp_runtime;

/// Block number.
pub type BlockNumber = u32;
/// Signature of a transaction (sr25519, ed25519 or ecdsa, as every Substrate client signs).
pub type Signature = MultiSignature;
/// An account: the 32-byte public key behind a [`Signature`].
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Balance of an account.
pub type Balance = u128;
/// Transaction counter of an account. `u32`, which is what py-substrate-interface decodes.
pub type Nonce = u32;
/// Block and trie hash.
pub type Hash = sp_core::H256;
/// Milliseconds since the Unix epoch, as set by the timestamp inherent.
pub type Moment = u64;
/// How a transaction names its sender (`MultiAddress::Id` for ordinary accounts).
pub type Address = MultiAddress<AccountId, ()>;
/// Block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block type.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// The transaction extensions every signed transaction carries, in the standard order that
/// generic clients build from the metadata: non-zero sender, spec and transaction versions,
/// genesis hash, mortality, nonce, weight, then the (feeless-aware) payment.
pub type TxExtension = (
    frame_system::CheckNonZeroSender<Runtime>,
    frame_system::CheckSpecVersion<Runtime>,
    frame_system::CheckTxVersion<Runtime>,
    frame_system::CheckGenesis<Runtime>,
    frame_system::CheckEra<Runtime>,
    frame_system::CheckNonce<Runtime>,
    frame_system::CheckWeight<Runtime>,
    pallet_skip_feeless_payment::SkipCheckIfFeeless<
        Runtime,
        pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
    >,
);

/// An extrinsic as it appears in blocks.
pub type UncheckedExtrinsic =
    generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// The payload a sender signs (call, extensions and their implicit data).
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Block execution: dispatches extrinsics and runs the pallets' hooks.
pub type Executive = frame_executive::Executive<
    Runtime,
    Block,
    frame_system::ChainContext<Runtime>,
    Runtime,
    AllPalletsWithSystem,
>;

/// Version of this runtime, served by `Core_version` / `state_getRuntimeVersion`.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
    spec_name: Cow::Borrowed("peerseal"),
    impl_name: Cow::Borrowed("peerseal-native"),
    authoring_version: 1,
    spec_version: 1,
    impl_version: 1,
    apis: RUNTIME_API_VERSIONS,
    transaction_version: 1,
    system_version: 1,
};

/// One token is 10^12 base units (12 decimals, like the Substrate dev chains).
pub const UNIT: Balance = 1_000_000_000_000;
/// The smallest balance an account may hold (a thousandth of a token).
pub const EXISTENTIAL_DEPOSIT: Balance = UNIT / 1_000;
/// SS58 address prefix (42, the generic Substrate prefix).
pub const SS58_PREFIX: u16 = 42;

/// Minimum spacing of block timestamps in milliseconds (`pallet_timestamp::MinimumPeriod`); the
/// dev node uses it to keep instant-sealed blocks' timestamps strictly increasing.
pub const MINIMUM_PERIOD_MS: u64 = 1;

/// Most GRANDPA authorities in one set (`pallet_grandpa::Config::MaxAuthorities`): room for the
/// validator set of a small network, and a bound on the signatures in every justification.
pub const MAX_GRANDPA_AUTHORITIES: u32 = 32;

/// The runtime: pallet indices are fixed here so that call and storage encodings stay stable.
#[frame_support::runtime]
mod runtime {
    /// The peerseal runtime.
    #[runtime::runtime]
    #[runtime::derive(
        RuntimeCall,
        RuntimeEvent,
        RuntimeError,
        RuntimeOrigin,
        RuntimeFreezeReason,
        RuntimeHoldReason,
        RuntimeSlashReason,
        RuntimeLockId,
        RuntimeTask,
        RuntimeViewFunction
    )]
    pub struct Runtime;

    /// Accounts, nonces, events, block bookkeeping.
    #[runtime::pallet_index(0)]
    pub type System = frame_system;

    /// The timestamp inherent (mandatory in every block).
    #[runtime::pallet_index(1)]
    pub type Timestamp = pallet_timestamp;

    /// Native token balances.
    #[runtime::pallet_index(2)]
    pub type Balances = pallet_balances;

    /// Transaction fees.
    #[runtime::pallet_index(3)]
    pub type TransactionPayment = pallet_transaction_payment;

    /// Governance stand-in for the dev chain (root origin).
    #[runtime::pallet_index(4)]
    pub type Sudo = pallet_sudo;

    /// Skips fees for calls annotated `feeless_if` (emits `FeeSkipped`).
    #[runtime::pallet_index(5)]
    pub type SkipFeelessPayment = pallet_skip_feeless_payment;

    /// The GRANDPA authority set and its standard `FRNK` digests (finality of every block).
    #[runtime::pallet_index(6)]
    pub type Grandpa = pallet_grandpa;

    /// Governance-scheduled changes of the GRANDPA authority set.
    #[runtime::pallet_index(7)]
    pub type FinalityAuthorities = pallet_finality_authorities;

    /// Accepted measurements, PCK policy, attestation nonces.
    #[runtime::pallet_index(10)]
    pub type Attestation = pallet_attestation;

    /// Registered TSS servers.
    #[runtime::pallet_index(11)]
    pub type Registry = pallet_registry;

    /// Backup assignments and provider notices.
    #[runtime::pallet_index(12)]
    pub type Backup = pallet_backup;
}
