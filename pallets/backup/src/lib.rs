//! # pallet-backup: who holds whose database-key backup, on chain
//!
//! Every peerseal TSS server encrypts its local store with a database key and backs that key up,
//! split into `threshold`-of-`n` shares, to other attested TSS servers (its *providers*). This
//! pallet is the public record of those backups: the client's TSS account records which providers
//! hold which share index at which key epoch together with a commitment to the key
//! ([`Pallet::record_backup`]); each provider acknowledges what it stores
//! ([`Pallet::confirm_backup`]); a client that recovered its key after a restart leaves an audit
//! trail ([`Pallet::report_recovery`]). When the registry reports that a provider starts to leave
//! or is gone ([`peerseal_primitives::OnServerChange`]), the pallet names every client it served in
//! a [`Event::ProviderLeaving`] / [`Event::ProviderLeft`] event, so those clients re-backup before
//! their shares become unreachable, and marks their assignments stale.
//!
//! ## Recovery operators (cold start)
//!
//! Providers are TEEs too: when every node restarts at once (a region-wide outage), no provider
//! is up to release a share, and TDX has no sealing key to fall back on. Governance therefore
//! names a set of *recovery operators* ([`Pallet::set_recovery_operators`]: each an account and
//! an X25519 public key whose secret stays offline with one person) and a threshold t-of-m. With
//! every backup a node also splits its database key t-of-m, HPKE-seals share i to operator i's
//! key (bound to the node's account, the epoch and the key commitment, and signed by the node)
//! and records the sealed shares in the same `record_backup` ([`RecoveryShares`]). The chain only
//! ever holds sealed shares: fewer than t operators learn nothing, and no operator can open a
//! share without the node's fresh attestation asking for it. Changing the set emits
//! [`Event::RecoveryOperatorsSet`], on which every node re-seals (as when a provider leaves).
//!
//! ## Fees
//!
//! A freshly registered TSS account owns no funds (the registry gives it a *sufficient* reference
//! so it exists and can pass `CheckNonce`). Each call is therefore annotated with
//! `#[pallet::feeless_if]`, and a runtime wraps its payment extension in
//! `pallet_skip_feeless_payment::SkipCheckIfFeeless`. That wrapper forwards the identifier,
//! encoding and type information of the wrapped `ChargeTransactionPayment`, so signing clients
//! (subxt, polkadot.js) see the standard extension list. The feeless condition is not just
//! "registered": it is "registered *and* the call passes all of its checks against current state".
//! A call that would fail falls back to normal fees, which an unfunded account cannot pay, so it is
//! rejected from the transaction pool instead of filling blocks for free. Valid feeless calls
//! remain limited by the signer's nonce and by block weight; their signers are attested TSS
//! servers, whose keys never leave the TEE.
//!
//! Why not `Pays::No` plus the registry's sufficient reference? Declared statically, `Pays::No`
//! makes the calls free for every funded account, including failing calls that fill blocks;
//! returned from dispatch, it only refunds a fee that was already withdrawn at validation, which
//! an unfunded TSS account cannot pay. `feeless_if` decides per call, before any fee is taken.
//!
//! ## Weights
//! The figures in `weights.rs` are measured, not estimated: `src/benchmarking.rs` benchmarks
//! every call and both registry hooks (`leaving`, `removed`) at its worst case, and `peerseal-weights` (crates/weights) runs those
//! benchmarks natively against `peerseal-runtime` and writes the file. Regenerate it (release
//! build, on an otherwise idle machine) with
//! `cargo run --release -p peerseal-weights --features runtime-benchmarks -- --steps 10 --repeat 20`;
//! `cargo test -p pallet-backup --features runtime-benchmarks` runs each benchmark once as a test
//! against the mock, and `cargo run --release -p peerseal-weights --features runtime-benchmarks
//! -- --check` against the runtime.
//!
//! ## Bounds
//!
//! An assignment holds at most `MaxProviders` providers (the call parameter is a bounded vector,
//! so a longer list does not even decode), and a provider serves at most `MaxClientsPerProvider`
//! clients ([`Error::ProviderFull`]); that second bound is what keeps the registry hooks, which
//! walk one provider's clients, bounded. The pallet reports the hooks' worst-case weight for
//! those bounds (`OnServerChange::leaving_weight` / `removed_weight`, from [`WeightInfo`]), and
//! the registry charges it to the call or block hook that triggers the notification.
//!
//! ## Queries
//!
//! [`Pallet::assignment_of`] and [`Pallet::candidate_providers`] (rendezvous order from
//! [`peerseal_primitives::rendezvous::order`] over the registry's active servers) are also served
//! through the [`runtime_api::BackupApi`] runtime API.
//!
//! Dependencies: `frame-support`/`frame-system` (the pallet itself), `sp-runtime` (dispatch
//! types), `sp-api` (to declare the runtime API next to the pallet it reads), `parity-scale-codec`
//! and `scale-info` (on-chain encoding and metadata), `peerseal-primitives` (the registry traits
//! and the rendezvous order shared with the TSS node).
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use weights::WeightInfo;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod runtime_api;
pub mod weights;

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
    pallet_prelude::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use peerseal_primitives::{Epoch, HookWeight, ServerRegistry};
use scale_info::TypeInfo;

/// Setup this pallet's benchmarks cannot do through the pallet itself: registering servers
/// lives in another pallet (the registry), which this one only reads through
/// [`Config::Registry`].
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
    /// Makes `who` a registered, active server (a client or provider of the benchmarks).
    fn register_server(who: &AccountId) -> sp_runtime::DispatchResult;
}

/// One backup provider of an assignment: its TSS account and the share index it holds.
pub type ProviderShare<AccountId> = (AccountId, u8);

/// The providers of one assignment, at most `MaxProviders` of them.
pub type ProvidersOf<T> =
    BoundedVec<ProviderShare<<T as frame_system::Config>::AccountId>, <T as Config>::MaxProviders>;

/// A client's current backup: who holds which share of its database key at which epoch.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxProviders))]
#[codec(mel_bound(AccountId: MaxEncodedLen, BlockNumber: MaxEncodedLen))]
pub struct Assignment<AccountId, MaxProviders, BlockNumber>
where
    AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
    MaxProviders: Get<u32>,
    BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
    /// Key epoch of the backed-up database key; strictly increases with every new record.
    pub epoch: Epoch,
    /// How many shares recover the key (1 ≤ threshold ≤ providers).
    pub threshold: u8,
    /// Provider TSS accounts with the share index each one holds; no account or index twice.
    pub providers: BoundedVec<ProviderShare<AccountId>, MaxProviders>,
    /// Commitment to the key (chosen by the client), checked by the client after recovery.
    pub commitment: [u8; 32],
    /// Block in which this assignment was recorded.
    pub recorded_at: BlockNumber,
    /// Set when one of the providers was removed from the registry: the client should re-backup.
    pub stale: bool,
}

/// One recovery operator: someone outside every TEE who holds one of the shares that bring back
/// a node none of whose providers can answer.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct RecoveryOperator<AccountId> {
    /// The operator's account: names the operator in events and audit records.
    pub account: AccountId,
    /// X25519 public key nodes HPKE-seal this operator's shares to; its secret stays offline.
    pub x25519_public_key: [u8; 32],
}

/// The recovery operator set governance chose, with the number of them needed to recover.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxOperators))]
#[codec(mel_bound(AccountId: MaxEncodedLen))]
pub struct OperatorSet<AccountId, MaxOperators>
where
    AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
    MaxOperators: Get<u32>,
{
    /// Bumped by every change of the set; sealed shares name the revision they were sealed to.
    pub revision: u32,
    /// How many operators' shares recover a key (1 ≤ threshold ≤ operators).
    pub threshold: u8,
    /// The operators, in share order: operator `i` holds share index `i + 1`.
    pub operators: BoundedVec<RecoveryOperator<AccountId>, MaxOperators>,
}

/// The operator set type of a runtime.
pub type OperatorSetOf<T> =
    OperatorSet<<T as frame_system::Config>::AccountId, <T as Config>::MaxRecoveryOperators>;

/// The operators of a [`Pallet::set_recovery_operators`] call.
pub type OperatorsOf<T> = BoundedVec<
    RecoveryOperator<<T as frame_system::Config>::AccountId>,
    <T as Config>::MaxRecoveryOperators,
>;

/// A node's database key at one epoch, split threshold-of-m and sealed to the operators of one
/// set: `shares[i]` is sealed to operator `i` of that set (share index `i + 1`). Opaque to the
/// chain; the envelope binds account, epoch, commitment and set revision, and is signed by the
/// node's TSS account.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxOperators, MaxShareLen))]
pub struct SealedRecovery<MaxOperators: Get<u32>, MaxShareLen: Get<u32>> {
    /// Revision of the operator set the shares are sealed to.
    pub operator_set: u32,
    /// One sealed share per operator of that set, in its order.
    pub shares: BoundedVec<BoundedVec<u8, MaxShareLen>, MaxOperators>,
}

/// The sealed recovery type of a runtime.
pub type SealedRecoveryOf<T> =
    SealedRecovery<<T as Config>::MaxRecoveryOperators, <T as Config>::MaxSealedShareLen>;

/// What [`RecoveryShares`] keeps for a client: the epoch of the key its sealed shares split.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxOperators, MaxShareLen))]
pub struct RecordedRecovery<MaxOperators: Get<u32>, MaxShareLen: Get<u32>> {
    /// Key epoch the shares split (the epoch of the assignment recorded with them).
    pub epoch: Epoch,
    /// The sealed shares.
    pub sealed: SealedRecovery<MaxOperators, MaxShareLen>,
}

/// The recorded recovery type of a runtime.
pub type RecordedRecoveryOf<T> =
    RecordedRecovery<<T as Config>::MaxRecoveryOperators, <T as Config>::MaxSealedShareLen>;

/// The stored assignment type of a runtime.
pub type AssignmentOf<T> = Assignment<
    <T as frame_system::Config>::AccountId,
    <T as Config>::MaxProviders,
    frame_system::pallet_prelude::BlockNumberFor<T>,
>;

/// Byte-keyed wrapper so [`peerseal_primitives::rendezvous::order`] can rank any account type by
/// its SCALE encoding (for `AccountId32` that is the raw 32 bytes, which is what the TSS node
/// hashes when it computes the same order off chain).
#[derive(Clone)]
struct ByEncoding<A> {
    encoded: Vec<u8>,
    account: A,
}

impl<A: Encode> ByEncoding<A> {
    fn new(account: A) -> Self {
        Self { encoded: account.encode(), account }
    }
}

impl<A> AsRef<[u8]> for ByEncoding<A> {
    fn as_ref(&self) -> &[u8] {
        &self.encoded
    }
}

impl<A> PartialEq for ByEncoding<A> {
    fn eq(&self, other: &Self) -> bool {
        self.encoded == other.encoded
    }
}

// The pallet macros expand to `expect` calls on metadata and storage prefixes that cannot fail
// for a well-formed pallet; the workspace's `expect_used` lint would otherwise flag them here.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::pallet_prelude::*;
    use frame_system::pallet_prelude::*;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// Configuration of the backup pallet.
    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The set of registered TSS servers (in peerseal: `pallet-registry`).
        type Registry: ServerRegistry<Self::AccountId>;

        /// Most providers one assignment may name. Share indices are `u8`, so at most 255.
        #[pallet::constant]
        type MaxProviders: Get<u32>;

        /// Most clients one provider may serve. Bounds the work of the registry hooks, which
        /// walk all clients of a leaving or removed provider.
        #[pallet::constant]
        type MaxClientsPerProvider: Get<u32>;

        /// Who may set the recovery operators: root, a council, or `EnsureRoot` behind sudo on
        /// a dev chain.
        type OperatorOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Most recovery operators in a set (share indices are `u8`, so at most 255).
        #[pallet::constant]
        type MaxRecoveryOperators: Get<u32>;

        /// Longest sealed recovery share, in bytes (HPKE encapsulation, the sealed share and
        /// the node's signature).
        #[pallet::constant]
        type MaxSealedShareLen: Get<u32>;

        /// Weights of this pallet's calls and hooks.
        type WeightInfo: WeightInfo;

        /// Registers the servers the benchmarks need (see [`BenchmarkHelper`]).
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
    }

    /// Current backup assignment of each client (keyed by the client's TSS account).
    #[pallet::storage]
    pub type Assignments<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, AssignmentOf<T>, OptionQuery>;

    /// Counts changes to [`Assignments`]: bumped by every call or hook that inserts, mutates or
    /// removes an assignment (wrapping). Light clients prove this one small value per block and
    /// re-read the assignments only when it moved, so they can keep every registered server's
    /// recorded epoch in memory without a read per lookup. Key: `twox128("Backup") ++
    /// twox128("Revision")`; value: SCALE `u64`.
    #[pallet::storage]
    pub type Revision<T: Config> = StorageValue<_, u64, ValueQuery>;

    /// Reverse index provider → clients whose *current* assignment names that provider. Kept
    /// exact: replacing an assignment removes the entries of providers no longer named, and a
    /// removed provider's entries are dropped.
    #[pallet::storage]
    pub type ClientsOf<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Blake2_128Concat,
        T::AccountId,
        (),
        OptionQuery,
    >;

    /// Number of entries under each provider in [`ClientsOf`], capped at `MaxClientsPerProvider`.
    #[pallet::storage]
    pub type ClientCount<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

    /// Provider confirmations: (client, provider) → the epoch the provider confirmed storing.
    /// Only confirmations of the client's current assignment are kept.
    #[pallet::storage]
    pub type Confirmations<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Blake2_128Concat,
        T::AccountId,
        Epoch,
        OptionQuery,
    >;

    /// The recovery operator set, if governance chose one. While one is set, every
    /// `record_backup` must carry shares sealed to it. Key: `twox128("Backup") ++
    /// twox128("RecoveryOperators")`.
    #[pallet::storage]
    pub type RecoveryOperators<T: Config> = StorageValue<_, OperatorSetOf<T>, OptionQuery>;

    /// Revision the next operator set gets (never reused, also across a cleared set).
    #[pallet::storage]
    pub type NextOperatorSetRevision<T: Config> = StorageValue<_, u32, ValueQuery>;

    /// Sealed recovery shares of each client's current backup (recorded and replaced together
    /// with its [`Assignments`] entry, deleted with it).
    #[pallet::storage]
    pub type RecoveryShares<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, RecordedRecoveryOf<T>, OptionQuery>;

    /// Events of the backup pallet; the TSS node follows them on finalized blocks.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// `client` recorded a new assignment (replacing any earlier one).
        BackupRecorded {
            /// The client's TSS account.
            client: T::AccountId,
            /// Key epoch now backed up.
            epoch: Epoch,
            /// Shares needed to recover.
            threshold: u8,
            /// Providers and the share index each holds.
            providers: ProvidersOf<T>,
            /// Commitment to the backed-up key.
            commitment: [u8; 32],
        },
        /// `provider` confirmed that it stores its share of `client`'s key at `epoch`.
        BackupConfirmed {
            /// The client whose share is stored.
            client: T::AccountId,
            /// The confirming provider.
            provider: T::AccountId,
            /// The confirmed epoch.
            epoch: Epoch,
        },
        /// Audit trail: `client` recovered its key at `epoch` with the help of `provider`.
        KeyRecovered {
            /// The client that recovered.
            client: T::AccountId,
            /// The provider that released a share.
            provider: T::AccountId,
            /// The recovered epoch.
            epoch: Epoch,
        },
        /// `provider` started to leave; it still serves, but `clients` should re-backup elsewhere.
        ProviderLeaving {
            /// The leaving provider.
            provider: T::AccountId,
            /// Every client whose current assignment names it.
            clients: Vec<T::AccountId>,
        },
        /// `provider` was removed from the registry; the assignments of `clients` are now stale.
        ProviderLeft {
            /// The removed provider.
            provider: T::AccountId,
            /// Every client whose current assignment named it.
            clients: Vec<T::AccountId>,
        },
        /// Governance set the recovery operators (`operators` empty: none, and backups carry no
        /// recovery shares). Every node re-seals its key to the new set.
        RecoveryOperatorsSet {
            /// Revision of the new set, which sealed shares name.
            revision: u32,
            /// Shares needed to recover.
            threshold: u8,
            /// The operators' accounts, in share order.
            operators: Vec<T::AccountId>,
        },
        /// `client` recorded its key of `epoch` sealed to the operators of set `operator_set`.
        RecoverySharesRecorded {
            /// The client's TSS account.
            client: T::AccountId,
            /// Key epoch the shares split.
            epoch: Epoch,
            /// Revision of the operator set they are sealed to.
            operator_set: u32,
        },
        /// Audit trail: `client` recovered its key at `epoch` from recovery operators' shares
        /// (a cold start: no provider could answer).
        RecoveredByOperators {
            /// The client that recovered.
            client: T::AccountId,
            /// The recovered epoch.
            epoch: Epoch,
            /// Revision of the operator set whose shares it used.
            operator_set: u32,
        },
        /// `client` itself was removed from the registry, so its assignment was deleted and its
        /// providers may discard its shares.
        BackupDropped {
            /// The removed client.
            client: T::AccountId,
            /// Epoch of the deleted assignment.
            epoch: Epoch,
            /// The providers that held its shares.
            providers: Vec<T::AccountId>,
        },
    }

    /// Why a backup call was rejected.
    #[pallet::error]
    pub enum Error<T> {
        /// The signer is not a registered TSS server.
        NotRegistered,
        /// The epoch is not strictly greater than the epoch already recorded for this client.
        StaleEpoch,
        /// The provider list is empty.
        NoProviders,
        /// The threshold is zero.
        ZeroThreshold,
        /// The threshold is greater than the number of providers.
        ThresholdAboveProviders,
        /// The same provider appears twice.
        DuplicateProvider,
        /// The same share index appears twice.
        DuplicateShareIndex,
        /// The client named itself as a provider.
        SelfAsProvider,
        /// A provider is not a registered TSS server.
        ProviderNotRegistered,
        /// A provider is leaving and may not take new backups.
        ProviderLeaving,
        /// A provider already serves `MaxClientsPerProvider` clients.
        ProviderFull,
        /// The client has no recorded assignment.
        NoAssignment,
        /// The given epoch is not the epoch of the client's current assignment.
        EpochMismatch,
        /// The account is not a provider of the client's current assignment.
        NotAProvider,
        /// This provider already confirmed this epoch.
        AlreadyConfirmed,
        /// The operator threshold is zero or above the number of operators (or not zero for an
        /// empty set).
        OperatorThresholdInvalid,
        /// The same operator account or key appears twice.
        DuplicateOperator,
        /// Recovery operators are set, but the backup carries no sealed recovery shares.
        RecoverySharesMissing,
        /// No recovery operators are set, but the backup carries sealed recovery shares.
        RecoverySharesUnexpected,
        /// The shares are sealed to another operator set than the current one.
        OperatorSetChanged,
        /// The number of sealed shares is not the number of operators in the set.
        RecoveryShareCountMismatch,
        /// A sealed recovery share is empty.
        EmptyRecoveryShare,
        /// The client has no recovery shares recorded for this epoch.
        NoRecoveryShares,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            let max = T::MaxProviders::get();
            assert!(max >= 1, "MaxProviders must allow at least one provider");
            assert!(max <= u32::from(u8::MAX), "share indices are u8: MaxProviders ≤ 255");
            assert!(T::MaxClientsPerProvider::get() >= 1, "MaxClientsPerProvider must be ≥ 1");
            assert!(
                T::MaxRecoveryOperators::get() <= u32::from(u8::MAX),
                "share indices are u8: MaxRecoveryOperators ≤ 255"
            );
        }

        /// The storage invariants of [`Pallet::do_try_state`], checked by `try-runtime`.
        #[cfg(feature = "try-runtime")]
        fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Record (or replace) the caller's backup assignment.
        ///
        /// Origin: the client's TSS account, which must be registered. `epoch` must be strictly
        /// greater than the recorded one; `1 ≤ threshold ≤ providers.len()`; providers are
        /// distinct, use distinct share indices, exclude the caller, are active (registered and
        /// not leaving) and have room for another client. Replacing an assignment drops the
        /// reverse-index entries and confirmations of the old one.
        ///
        /// `recovery`: while recovery operators are set, the key of `epoch` split and sealed to
        /// every operator of the current set (one share each, none empty), stored in
        /// [`RecoveryShares`] in place of the previous ones; `None` while no operators are set.
        ///
        /// Feeless when the caller is registered and every check passes.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::record_backup(
            providers.len() as u32,
            recovery.as_ref().map_or(0, |r| r.shares.len() as u32),
        ))]
        #[pallet::feeless_if(|origin: &OriginFor<T>, epoch: &Epoch, threshold: &u8,
            providers: &ProvidersOf<T>, _commitment: &[u8; 32],
            recovery: &Option<SealedRecoveryOf<T>>| -> bool {
            Pallet::<T>::signer(origin).is_some_and(|who| {
                Pallet::<T>::check_record(&who, *epoch, *threshold, providers).is_ok()
                    && Pallet::<T>::check_recovery(recovery.as_ref()).is_ok()
            })
        })]
        pub fn record_backup(
            origin: OriginFor<T>,
            epoch: Epoch,
            threshold: u8,
            providers: ProvidersOf<T>,
            commitment: [u8; 32],
            recovery: Option<SealedRecoveryOf<T>>,
        ) -> DispatchResult {
            let client = ensure_signed(origin)?;
            Self::check_record(&client, epoch, threshold, &providers)?;
            Self::check_recovery(recovery.as_ref())?;

            let previous = Assignments::<T>::get(&client);
            if let Some(old) = &previous {
                for (provider, _) in old.providers.iter() {
                    Confirmations::<T>::remove(&client, provider);
                    let kept = providers.iter().any(|(p, _)| p == provider);
                    if !kept {
                        Self::unindex(provider, &client);
                    }
                }
            }
            for (provider, _) in providers.iter() {
                if !ClientsOf::<T>::contains_key(provider, &client) {
                    ClientsOf::<T>::insert(provider, &client, ());
                    ClientCount::<T>::mutate(provider, |n| *n = n.saturating_add(1));
                }
            }

            Assignments::<T>::insert(
                &client,
                Assignment {
                    epoch,
                    threshold,
                    providers: providers.clone(),
                    commitment,
                    recorded_at: frame_system::Pallet::<T>::block_number(),
                    stale: false,
                },
            );
            Self::bump_revision();
            let operator_set = recovery.as_ref().map(|r| r.operator_set);
            match recovery {
                Some(sealed) => {
                    RecoveryShares::<T>::insert(&client, RecordedRecovery { epoch, sealed })
                }
                None => RecoveryShares::<T>::remove(&client),
            }
            Self::deposit_event(Event::BackupRecorded {
                client: client.clone(),
                epoch,
                threshold,
                providers,
                commitment,
            });
            if let Some(operator_set) = operator_set {
                Self::deposit_event(Event::RecoverySharesRecorded { client, epoch, operator_set });
            }
            Ok(())
        }

        /// Confirm, as a provider, that the caller stores its share of `client`'s key at `epoch`.
        ///
        /// Origin: a registered provider TSS account named in `client`'s current assignment,
        /// whose epoch must equal `epoch`. Each provider confirms an epoch once.
        ///
        /// Feeless when the caller is registered and every check passes.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::confirm_backup())]
        #[pallet::feeless_if(|origin: &OriginFor<T>, client: &T::AccountId, epoch: &Epoch| -> bool {
            Pallet::<T>::signer(origin).is_some_and(|who| {
                Pallet::<T>::check_confirm(&who, client, *epoch).is_ok()
            })
        })]
        pub fn confirm_backup(
            origin: OriginFor<T>,
            client: T::AccountId,
            epoch: Epoch,
        ) -> DispatchResult {
            let provider = ensure_signed(origin)?;
            Self::check_confirm(&provider, &client, epoch)?;
            Confirmations::<T>::insert(&client, &provider, epoch);
            Self::deposit_event(Event::BackupConfirmed { client, provider, epoch });
            Ok(())
        }

        /// Audit record: the caller (a registered client) recovered its key at `epoch` from
        /// `provider`, which must be named in the caller's current assignment at that epoch.
        ///
        /// Feeless when the caller is registered and every check passes.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::report_recovery())]
        #[pallet::feeless_if(|origin: &OriginFor<T>, provider: &T::AccountId, epoch: &Epoch| -> bool {
            Pallet::<T>::signer(origin).is_some_and(|who| {
                Pallet::<T>::check_report(&who, provider, *epoch).is_ok()
            })
        })]
        pub fn report_recovery(
            origin: OriginFor<T>,
            provider: T::AccountId,
            epoch: Epoch,
        ) -> DispatchResult {
            let client = ensure_signed(origin)?;
            Self::check_report(&client, &provider, epoch)?;
            Self::deposit_event(Event::KeyRecovered { client, provider, epoch });
            Ok(())
        }

        /// Set the recovery operators and their threshold (`operators` empty and `threshold`
        /// zero: no operators, and backups carry no recovery shares from now on).
        ///
        /// Origin: [`Config::OperatorOrigin`]. Operators are distinct in account and key;
        /// `1 ≤ threshold ≤ operators`. The set gets a fresh revision, and
        /// [`Event::RecoveryOperatorsSet`] tells every node to re-seal. Shares sealed to an
        /// earlier set stay recorded (and usable with that set's keys) until their node re-seals.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::set_recovery_operators(operators.len() as u32))]
        pub fn set_recovery_operators(
            origin: OriginFor<T>,
            operators: OperatorsOf<T>,
            threshold: u8,
        ) -> DispatchResult {
            T::OperatorOrigin::ensure_origin(origin)?;
            if operators.is_empty() {
                ensure!(threshold == 0, Error::<T>::OperatorThresholdInvalid);
            } else {
                ensure!(
                    threshold >= 1 && usize::from(threshold) <= operators.len(),
                    Error::<T>::OperatorThresholdInvalid
                );
            }
            for (i, operator) in operators.iter().enumerate() {
                // Quadratic over at most MaxRecoveryOperators (≤ 255) entries.
                for other in operators.iter().skip(i + 1) {
                    ensure!(
                        other.account != operator.account
                            && other.x25519_public_key != operator.x25519_public_key,
                        Error::<T>::DuplicateOperator
                    );
                }
            }
            let revision = NextOperatorSetRevision::<T>::mutate(|next| {
                *next = next.saturating_add(1);
                *next
            });
            let accounts = operators.iter().map(|o| o.account.clone()).collect();
            if operators.is_empty() {
                RecoveryOperators::<T>::kill();
            } else {
                RecoveryOperators::<T>::put(OperatorSet { revision, threshold, operators });
            }
            Self::deposit_event(Event::RecoveryOperatorsSet {
                revision,
                threshold,
                operators: accounts,
            });
            Ok(())
        }

        /// Audit record: the caller (a registered client) recovered its key at `epoch` from
        /// recovery operators' shares. `epoch` must be the epoch of its recorded recovery
        /// shares (report before recording the next backup).
        ///
        /// Feeless when the caller is registered and every check passes.
        #[pallet::call_index(4)]
        // The recorded shares are read whole: charge for the most a set may have.
        #[pallet::weight(T::WeightInfo::report_recovered_by_operators(
            T::MaxRecoveryOperators::get()
        ))]
        #[pallet::feeless_if(|origin: &OriginFor<T>, epoch: &Epoch| -> bool {
            Pallet::<T>::signer(origin).is_some_and(|who| {
                Pallet::<T>::check_operator_report(&who, *epoch).is_ok()
            })
        })]
        pub fn report_recovered_by_operators(origin: OriginFor<T>, epoch: Epoch) -> DispatchResult {
            let client = ensure_signed(origin)?;
            let operator_set = Self::check_operator_report(&client, epoch)?;
            Self::deposit_event(Event::RecoveredByOperators { client, epoch, operator_set });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The signed account behind `origin`, if any (used by the feeless predicates, which
        /// receive the origin by reference).
        fn signer(origin: &OriginFor<T>) -> Option<T::AccountId> {
            ensure_signed(origin.clone()).ok()
        }

        /// Every check of [`Pallet::record_backup`], without side effects.
        pub(crate) fn check_record(
            client: &T::AccountId,
            epoch: Epoch,
            threshold: u8,
            providers: &ProvidersOf<T>,
        ) -> DispatchResult {
            ensure!(T::Registry::is_registered(client), Error::<T>::NotRegistered);
            let previous = Assignments::<T>::get(client);
            if let Some(old) = &previous {
                ensure!(epoch > old.epoch, Error::<T>::StaleEpoch);
            }
            ensure!(!providers.is_empty(), Error::<T>::NoProviders);
            ensure!(threshold >= 1, Error::<T>::ZeroThreshold);
            ensure!(usize::from(threshold) <= providers.len(), Error::<T>::ThresholdAboveProviders);
            for (i, (provider, index)) in providers.iter().enumerate() {
                // Quadratic, but over at most MaxProviders (≤ 255) entries, without allocating.
                for (other, other_index) in providers.iter().skip(i + 1) {
                    ensure!(other != provider, Error::<T>::DuplicateProvider);
                    ensure!(other_index != index, Error::<T>::DuplicateShareIndex);
                }
                ensure!(provider != client, Error::<T>::SelfAsProvider);
                ensure!(T::Registry::is_registered(provider), Error::<T>::ProviderNotRegistered);
                ensure!(T::Registry::is_active(provider), Error::<T>::ProviderLeaving);
                let already_serves = ClientsOf::<T>::contains_key(provider, client);
                ensure!(
                    already_serves
                        || ClientCount::<T>::get(provider) < T::MaxClientsPerProvider::get(),
                    Error::<T>::ProviderFull
                );
            }
            Ok(())
        }

        /// The recovery-share checks of [`Pallet::record_backup`], without side effects.
        pub(crate) fn check_recovery(recovery: Option<&SealedRecoveryOf<T>>) -> DispatchResult {
            match (RecoveryOperators::<T>::get(), recovery) {
                (None, None) => Ok(()),
                (None, Some(_)) => Err(Error::<T>::RecoverySharesUnexpected.into()),
                (Some(_), None) => Err(Error::<T>::RecoverySharesMissing.into()),
                (Some(set), Some(sealed)) => {
                    ensure!(sealed.operator_set == set.revision, Error::<T>::OperatorSetChanged);
                    ensure!(
                        sealed.shares.len() == set.operators.len(),
                        Error::<T>::RecoveryShareCountMismatch
                    );
                    ensure!(
                        sealed.shares.iter().all(|share| !share.is_empty()),
                        Error::<T>::EmptyRecoveryShare
                    );
                    Ok(())
                }
            }
        }

        /// Every check of [`Pallet::report_recovered_by_operators`], without side effects; the
        /// revision of the operator set the recorded shares were sealed to.
        pub(crate) fn check_operator_report(
            client: &T::AccountId,
            epoch: Epoch,
        ) -> Result<u32, DispatchError> {
            ensure!(T::Registry::is_registered(client), Error::<T>::NotRegistered);
            let recorded = RecoveryShares::<T>::get(client).ok_or(Error::<T>::NoRecoveryShares)?;
            ensure!(recorded.epoch == epoch, Error::<T>::NoRecoveryShares);
            Ok(recorded.sealed.operator_set)
        }

        /// The current recovery operator set, if any.
        pub fn recovery_operators() -> Option<OperatorSetOf<T>> {
            RecoveryOperators::<T>::get()
        }

        /// Every check of [`Pallet::confirm_backup`], without side effects.
        pub(crate) fn check_confirm(
            provider: &T::AccountId,
            client: &T::AccountId,
            epoch: Epoch,
        ) -> DispatchResult {
            ensure!(T::Registry::is_registered(provider), Error::<T>::NotRegistered);
            let assignment = Assignments::<T>::get(client).ok_or(Error::<T>::NoAssignment)?;
            ensure!(assignment.epoch == epoch, Error::<T>::EpochMismatch);
            ensure!(
                assignment.providers.iter().any(|(p, _)| p == provider),
                Error::<T>::NotAProvider
            );
            ensure!(
                Confirmations::<T>::get(client, provider) != Some(epoch),
                Error::<T>::AlreadyConfirmed
            );
            Ok(())
        }

        /// Every check of [`Pallet::report_recovery`], without side effects.
        pub(crate) fn check_report(
            client: &T::AccountId,
            provider: &T::AccountId,
            epoch: Epoch,
        ) -> DispatchResult {
            ensure!(T::Registry::is_registered(client), Error::<T>::NotRegistered);
            let assignment = Assignments::<T>::get(client).ok_or(Error::<T>::NoAssignment)?;
            ensure!(assignment.epoch == epoch, Error::<T>::EpochMismatch);
            ensure!(
                assignment.providers.iter().any(|(p, _)| p == provider),
                Error::<T>::NotAProvider
            );
            Ok(())
        }

        /// The storage invariants, each a bug if broken (run after every pallet test, and by
        /// `try-runtime` as the `try_state` hook):
        /// - [`ClientsOf`] is exactly the reverse of [`Assignments`]: `(p, c)` is there iff `c`'s
        ///   assignment names `p`, except for a removed `p` (whose entries are dropped and whose
        ///   clients' assignments are marked stale);
        /// - [`ClientCount`] counts each provider's [`ClientsOf`] entries (no zero entries) and
        ///   stays within `MaxClientsPerProvider`;
        /// - every [`Confirmations`] entry is by a provider of the client's assignment, for its
        ///   epoch;
        /// - every assignment is well formed (1 ≤ threshold ≤ providers, distinct providers and
        ///   share indices, not naming its client);
        /// - every [`RecoveryShares`] entry belongs to an assignment of the same epoch, and
        ///   names an operator set no newer than the last one issued;
        /// - a stored operator set is well formed, with a revision already issued.
        #[cfg(any(test, feature = "try-runtime"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            use alloc::collections::btree_map::BTreeMap;
            let mut expected: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
            for (client, a) in Assignments::<T>::iter() {
                ensure!(a.threshold >= 1, "assignment with threshold 0");
                ensure!(usize::from(a.threshold) <= a.providers.len(), "threshold above providers");
                for (i, (provider, index)) in a.providers.iter().enumerate() {
                    ensure!(*provider != client, "an assignment names its own client");
                    for (other, other_index) in a.providers.iter().skip(i + 1) {
                        ensure!(other != provider, "a provider named twice");
                        ensure!(other_index != index, "a share index used twice");
                    }
                    if ClientsOf::<T>::contains_key(provider, &client) {
                        *expected.entry(provider.encode()).or_default() += 1;
                    } else {
                        // Only a removed provider leaves the index; it marks the assignment stale.
                        ensure!(
                            a.stale && !T::Registry::is_registered(provider),
                            "an assigned provider is missing from ClientsOf"
                        );
                    }
                }
            }
            for (provider, client, ()) in ClientsOf::<T>::iter() {
                let named = Assignments::<T>::get(&client)
                    .is_some_and(|a| a.providers.iter().any(|(p, _)| *p == provider));
                ensure!(named, "a ClientsOf entry without an assignment naming it");
            }
            let mut counted = 0usize;
            for (provider, count) in ClientCount::<T>::iter() {
                counted += 1;
                ensure!(count > 0, "a zero ClientCount entry is kept");
                ensure!(count <= T::MaxClientsPerProvider::get(), "ClientCount above the bound");
                ensure!(
                    expected.get(&provider.encode()) == Some(&count),
                    "ClientCount disagrees with ClientsOf"
                );
            }
            ensure!(counted == expected.len(), "a provider with clients has no ClientCount");
            for (client, provider, epoch) in Confirmations::<T>::iter() {
                let current = Assignments::<T>::get(&client).is_some_and(|a| {
                    a.epoch == epoch && a.providers.iter().any(|(p, _)| *p == provider)
                });
                ensure!(current, "a confirmation outside the client's current assignment");
            }
            let issued = NextOperatorSetRevision::<T>::get();
            if let Some(set) = RecoveryOperators::<T>::get() {
                ensure!(
                    set.threshold >= 1 && usize::from(set.threshold) <= set.operators.len(),
                    "operator threshold out of range"
                );
                ensure!(
                    set.revision >= 1 && set.revision <= issued,
                    "operator set revision not issued"
                );
            }
            for (client, recorded) in RecoveryShares::<T>::iter() {
                let same_epoch =
                    Assignments::<T>::get(&client).is_some_and(|a| a.epoch == recorded.epoch);
                ensure!(same_epoch, "recovery shares without an assignment of their epoch");
                ensure!(
                    recorded.sealed.operator_set <= issued,
                    "recovery shares sealed to a set never issued"
                );
            }
            Ok(())
        }

        /// Marks the assignments changed (see [`Revision`]).
        fn bump_revision() {
            Revision::<T>::mutate(|r| *r = r.wrapping_add(1));
        }

        /// Drop the reverse-index entry `provider → client`, if present, keeping the count exact.
        fn unindex(provider: &T::AccountId, client: &T::AccountId) {
            if ClientsOf::<T>::take(provider, client).is_some() {
                ClientCount::<T>::mutate_exists(provider, |count| {
                    let left = count.unwrap_or(0).saturating_sub(1);
                    *count = (left > 0).then_some(left);
                });
            }
        }

        /// The clients whose current assignment names `provider` (at most
        /// `MaxClientsPerProvider`, enforced by [`Pallet::record_backup`]).
        pub fn clients_of(provider: &T::AccountId) -> Vec<T::AccountId> {
            ClientsOf::<T>::iter_key_prefix(provider).collect()
        }

        /// The current assignment of `client`, if it recorded one.
        pub fn assignment_of(client: &T::AccountId) -> Option<AssignmentOf<T>> {
            Assignments::<T>::get(client)
        }

        /// The providers that confirmed `client`'s current assignment.
        pub fn confirmed_by(client: &T::AccountId) -> Vec<T::AccountId> {
            match Assignments::<T>::get(client) {
                Some(assignment) => assignment
                    .providers
                    .iter()
                    .filter(|(p, _)| Confirmations::<T>::get(client, p) == Some(assignment.epoch))
                    .map(|(p, _)| p.clone())
                    .collect(),
                None => Vec::new(),
            }
        }

        /// Providers `client` may pick for a backup at `epoch`, best first: the registry's active
        /// servers in rendezvous order, without `client` itself and without providers that are
        /// full (unless they already serve `client`). Leaving servers are not active, so they
        /// never appear.
        pub fn candidate_providers(client: &T::AccountId, epoch: Epoch) -> Vec<T::AccountId> {
            let max = T::MaxClientsPerProvider::get();
            let candidates: Vec<ByEncoding<T::AccountId>> = T::Registry::active_servers()
                .into_iter()
                .filter(|p| {
                    ClientsOf::<T>::contains_key(p, client) || ClientCount::<T>::get(p) < max
                })
                .map(ByEncoding::new)
                .collect();
            peerseal_primitives::rendezvous::order(
                &ByEncoding::new(client.clone()),
                &candidates,
                epoch,
            )
            .into_iter()
            .map(|c| c.account)
            .collect()
        }

        /// The assignment of `client` in the runtime API's plain form.
        pub fn assignment_info(
            client: &T::AccountId,
        ) -> Option<runtime_api::AssignmentInfo<T::AccountId>> {
            use sp_runtime::traits::UniqueSaturatedInto;
            let assignment = Assignments::<T>::get(client)?;
            Some(runtime_api::AssignmentInfo {
                epoch: assignment.epoch,
                threshold: assignment.threshold,
                providers: assignment.providers.into_inner(),
                commitment: assignment.commitment,
                recorded_at: assignment.recorded_at.unique_saturated_into(),
                stale: assignment.stale,
                confirmed_by: Self::confirmed_by(client),
            })
        }

        /// Registry hook body for a provider that started to leave.
        pub(crate) fn provider_leaving(provider: &T::AccountId) {
            let clients = Self::clients_of(provider);
            Self::deposit_event(Event::ProviderLeaving { provider: provider.clone(), clients });
        }

        /// Registry hook body for a server that is gone: as a provider, its clients' assignments
        /// become stale and its index entries and confirmations are dropped; as a client, its
        /// own assignment is deleted so its providers can discard the shares.
        pub(crate) fn server_removed(who: &T::AccountId) {
            let clients = Self::clients_of(who);
            for client in &clients {
                Assignments::<T>::mutate(client, |assignment| {
                    if let Some(a) = assignment {
                        a.stale = true;
                    }
                });
                ClientsOf::<T>::remove(who, client);
                Confirmations::<T>::remove(client, who);
            }
            ClientCount::<T>::remove(who);
            RecoveryShares::<T>::remove(who);
            let own = Assignments::<T>::take(who);
            if !clients.is_empty() || own.is_some() {
                Self::bump_revision();
            }
            Self::deposit_event(Event::ProviderLeft { provider: who.clone(), clients });

            if let Some(own) = own {
                let mut providers = Vec::with_capacity(own.providers.len());
                for (provider, _) in own.providers.into_iter() {
                    Self::unindex(&provider, who);
                    Confirmations::<T>::remove(who, &provider);
                    providers.push(provider);
                }
                Self::deposit_event(Event::BackupDropped {
                    client: who.clone(),
                    epoch: own.epoch,
                    providers,
                });
            }
        }
    }
}

/// A FRAME weight as the registry-neutral [`HookWeight`] it is reported as.
fn hook_weight(weight: frame_support::weights::Weight) -> HookWeight {
    HookWeight::from_parts(weight.ref_time(), weight.proof_size())
}

impl<T: Config> peerseal_primitives::OnServerChange<T::AccountId> for Pallet<T> {
    /// A new server holds no backups yet: nothing to do.
    fn joined(_: &T::AccountId) {}

    /// Emits [`Event::ProviderLeaving`] naming every client of the leaving provider (possibly
    /// none). Work: one read per client, at most `MaxClientsPerProvider`.
    fn leaving(tss_account: &T::AccountId) {
        Self::provider_leaving(tss_account)
    }

    /// Emits [`Event::ProviderLeft`] and marks the named clients' assignments stale; deletes the
    /// removed server's own assignment ([`Event::BackupDropped`]). Work is bounded by
    /// `MaxClientsPerProvider + MaxProviders` entries.
    fn removed(tss_account: &T::AccountId) {
        Self::server_removed(tss_account)
    }

    /// `joined` touches no storage and emits nothing.
    fn joined_weight() -> HookWeight {
        HookWeight::ZERO
    }

    /// A provider serving the most clients it may (`MaxClientsPerProvider`).
    fn leaving_weight() -> HookWeight {
        hook_weight(T::WeightInfo::on_provider_leaving(T::MaxClientsPerProvider::get()))
    }

    /// A server that serves `MaxClientsPerProvider` clients and has `MaxProviders` providers
    /// of its own.
    fn removed_weight() -> HookWeight {
        hook_weight(T::WeightInfo::on_server_removed(
            T::MaxClientsPerProvider::get(),
            T::MaxProviders::get(),
        ))
    }
}
