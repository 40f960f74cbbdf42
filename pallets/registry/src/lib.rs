//! # pallet-registry: the attested TSS servers of peerseal, one per validator stash
//!
//! A validator stash registers its TSS server with a [`ServerInfo`]: the server's TSS account
//! (an sr25519 account the TEE holds the key of), its x25519 public key, its libp2p peer id and
//! addresses, and a TDX quote whose report data binds all of these, and the stash, to a nonce the
//! stash got from `pallet-attestation`. The quote is checked on chain through
//! [`Config::Attestation`] before anything is stored, and again when the server changes its
//! info. The pallet keeps the reverse map TSS account → stash, so other pallets and the TSS nodes
//! can go from the account that signs TSS messages to the validator behind it.
//!
//! ## Registration flow, and why the stash is bound twice
//! 1. The stash signs `pallet_attestation::request_attestation(tss_account)`; the nonce is
//!    issued to that stash for that TSS account (event `AttestationRequested`).
//! 2. The TSS server, configured with its operator's stash, quotes
//!    `(Register, tss_account, x25519 key, stash, peer id) ‖ nonce` — only for nonces its own
//!    stash requested.
//! 3. The stash signs `register(server_info)` (or `change_server_info`, context
//!    `ChangeServerInfo`). Verification looks up the nonce *pending for the signing stash*,
//!    requires that it was issued for `server_info.tss_account`, and checks the quote binds the
//!    signing stash; success consumes the nonce.
//!
//! The TSS account signs nothing before it is registered, so it never needs funds (a new
//! account without providers or sufficients would fail `CheckNonce`).
//!
//! Without a stash in the picture, anyone who saw a pending `register` could copy it from their
//! own stash and take ownership of an honest server (front-running). Two independent checks stop
//! that: (a) the nonce belongs to the stash that requested it, so the copy finds no nonce, or a
//! different one; (b) the quote's report data names the stash (`peerseal_attestation::Binding`
//! v2), so even an attacker that gets a genuine TEE to quote the attacker's own nonce cannot use
//! it unless that TEE was configured for the attacker's stash — the attestation then says the
//! TEE *agreed* to be owned by the presenting stash. (a) alone would leave the ownership
//! decision to the TSS node's off-chain bookkeeping of which nonce it quotes; (b) makes it
//! part of what the hardware signs and the chain checks. The cost is one field more in the
//! binding, and the genesis quotes of the dev chain binding the dev stashes.
//!
//! ## Lifecycle
//! `register` → **Active** → `leave` → **Leaving** (still serves the backups it holds, is no
//! longer chosen as a provider) → removed once [`Config::LeaveDelay`] blocks have passed, either
//! by the block hook (at most [`Config::MaxRemovalsPerBlock`] per block, FIFO) or by anyone
//! calling `purge_left`. Governance can `remove` a server at once (kick or slash). Every step is
//! reported to [`Config::OnServerChange`] (`joined`, `leaving`, `removed`), which the runtime
//! wires to `pallet-backup` so clients move their backups away in time.
//!
//! ## A provable list of all servers
//! [`ServerIndex`] is one storage value holding `(stash, TSS account)` for every registered
//! server (active and leaving), sorted by TSS account, kept exactly in step with [`Servers`] by
//! every path that adds, moves or removes a server. A light client that trusts a finalized
//! state root proves this one key and knows the *complete* server list (no map iteration, which
//! could silently omit entries), then proves the `Servers`/`ServerStatusOf` entries it needs.
//! Its size-dependent cost is charged through [`Pallet::index_weight`].
//!
//! ## Weights of the listeners
//! Each listener states the worst-case weight of each notification
//! (`OnServerChange::joined_weight` / `leaving_weight` / `removed_weight`; pallet-backup derives
//! them from its bounds). Every call adds the weights of the notifications it may send
//! (`register`: joined; `change_server_info`: removed + joined; `leave`: leaving; `purge_left`,
//! `remove`: removed), and the block hook adds `removed_weight` per server it removes. The
//! registry's own [`WeightInfo`] covers only its own storage work.
//!
//! ## Weights
//! The figures in `weights.rs` are measured, not estimated: `src/benchmarking.rs` benchmarks
//! every call and the block hook at its worst case, and `peerseal-weights` (crates/weights) runs those
//! benchmarks natively against `peerseal-runtime` and writes the file. Regenerate it (release
//! build, on an otherwise idle machine) with
//! `cargo run --release -p peerseal-weights --features runtime-benchmarks -- --steps 10 --repeat 20`;
//! `cargo test -p pallet-registry --features runtime-benchmarks` runs each benchmark once as a test
//! against the mock, and `cargo run --release -p peerseal-weights --features runtime-benchmarks
//! -- --check` against the runtime.
//!
//! `register` and `change_server_info` are measured with their quote verification, and the
//! runner subtracts attestation's measured `verify_and_consume` from them, since the pallet
//! charges verification through `VerifyAttestation::verify_weight`. The benchmarks fill the
//! registry to `MaxServers`, so the measured figures already contain the index work that
//! [`Pallet::index_weight`] adds on top (charged twice, on the safe side). The listeners'
//! notifications in the runtime (pallet-backup) are measured with no backups recorded; their
//! worst case is added from the listener's own weights as described above.
//!
//! ## Moves to another platform
//! Providers release a share only to a quote from the platform (PPID of the PCK certificate,
//! `peerseal_attestation::platform_id`) of the account's registered quote, which survives TCB
//! updates but not a move to another host. Governance approves a move with
//! `approve_move(tss_account, new_platform)`: [`ApprovedMoves`] then names the one other
//! platform providers accept for that account, and [`Event::MoveApproved`] records who was
//! allowed where (the audit trail). `revoke_move` takes it back ([`Event::MoveRevoked`]). An
//! approval lives as long as the account's registration: it is dropped when the server is
//! removed (left or by governance) or changes its TSS account, so the map never holds more
//! than `MaxServers` entries. It is not consumed by a recovery (the chain does not see
//! recoveries as they happen, and the moved node must recover again at its next restart);
//! re-registering from the new platform (`change_server_info`) makes the new platform the
//! registered one, after which governance revokes the approval.
//!
//! A registered TSS account gets a sufficient reference in `frame_system`, so an unfunded TSS
//! account exists and can pass `CheckNonce` for the feeless calls other pallets allow it; the
//! reference is dropped on removal.
//!
//! ## Dependencies
//! FRAME (`frame-support`, `frame-system`, `sp-runtime`), SCALE and metadata (`parity-scale-codec`,
//! `scale-info`), `peerseal-primitives` for the hook and registry traits shared with
//! `pallet-backup`, `pallet-attestation` for [`VerifyAttestation`], and `peerseal-attestation`
//! for `QuoteContext` and the quote length bound.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod mock;
#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests;
pub mod weights;

pub use weights::WeightInfo;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{traits::ConstU32, BoundedVec};
use scale_info::TypeInfo;
use sp_runtime::{Deserialize, Serialize};

pub use pallet_attestation::VerifyAttestation;
pub use peerseal_attestation::PlatformId;
pub use peerseal_primitives::{HookWeight, OnServerChange, ServerRegistry, ServerStatus};

/// Longest libp2p peer id accepted (an identity-multihash ed25519 peer id is 38 bytes).
pub const MAX_PEER_ID_LEN: u32 = 64;
/// Longest single multiaddr (binary encoding) accepted.
pub const MAX_MULTIADDR_LEN: u32 = 128;
/// Most multiaddrs one server publishes.
pub const MAX_MULTIADDRS: u32 = 4;
/// Longest quote stored; the same bound the attestation library enforces before parsing.
pub const MAX_QUOTE_LEN: u32 = 16 * 1024;

// The stored quote bound and the verifier's bound must agree, or a quote could be storable but
// never verifiable (or the other way round).
const _: () = assert!(MAX_QUOTE_LEN as usize == peerseal_attestation::MAX_QUOTE_LEN);

/// A libp2p peer id, in its binary form.
pub type PeerIdBytes = BoundedVec<u8, ConstU32<MAX_PEER_ID_LEN>>;
/// One multiaddr, in its binary form.
pub type MultiaddrBytes = BoundedVec<u8, ConstU32<MAX_MULTIADDR_LEN>>;
/// The multiaddrs of a server.
pub type Multiaddrs = BoundedVec<MultiaddrBytes, ConstU32<MAX_MULTIADDRS>>;
/// A TDX quote.
pub type QuoteBytes = BoundedVec<u8, ConstU32<MAX_QUOTE_LEN>>;

/// What a validator publishes about its TSS server.
///
/// All variable-length fields are bounded, so an oversized value fails to decode (the call is
/// rejected before it is dispatched) and `MaxEncodedLen` bounds the storage. In a chain spec
/// (serde) the fields are camelCase (`tssAccount`, `x25519PublicKey`, `peerId`, `multiaddrs`,
/// `quote`), byte strings are arrays of numbers, and unknown fields are refused.
#[derive(
    Clone,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
    Serialize,
    Deserialize,
)]
#[serde(crate = "sp_runtime::serde", rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerInfo<AccountId> {
    /// The server's TSS account: signs its chain transactions and is bound into its quotes.
    pub tss_account: AccountId,
    /// The server's x25519 public key, for encrypted messages to it.
    pub x25519_public_key: [u8; 32],
    /// The server's libp2p peer id (its noise identity).
    pub peer_id: PeerIdBytes,
    /// Where the server listens.
    pub multiaddrs: Multiaddrs,
    /// The TDX quote that attested this info (kept so anyone can re-check it).
    pub quote: QuoteBytes,
}

/// A listener's [`HookWeight`] as a FRAME weight (the same two dimensions).
pub fn hook_weight(weight: HookWeight) -> frame_support::weights::Weight {
    frame_support::weights::Weight::from_parts(weight.ref_time, weight.proof_size)
}

/// Why a server was removed.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub enum RemovalReason {
    /// It asked to leave and its leave delay has passed.
    Left,
    /// Governance removed it.
    Governance,
}

// The FRAME macros expand to `expect` calls on values that are present by construction (metadata
// and storage prefix plumbing); no code written here unwraps.
#[allow(clippy::expect_used, clippy::unwrap_used)]
#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::vec::Vec;
    use frame_support::pallet_prelude::*;
    use frame_system::pallet_prelude::*;
    use pallet_attestation::QuoteContext;
    use sp_runtime::traits::Saturating;

    /// The in-code storage version.
    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// Configuration of the registry pallet.
    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// Checks registration quotes and consumes their nonces (`pallet_attestation::Pallet`).
        type Attestation: VerifyAttestation<Self::AccountId>;

        /// Told when servers join, start leaving and are removed (`pallet_backup::Pallet`, or
        /// `()` when nobody listens).
        type OnServerChange: OnServerChange<Self::AccountId>;

        /// Who may remove a server at once (root, a council; sudo on a dev chain).
        type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Blocks between `leave` and the earliest removal, so clients can move their backups.
        #[pallet::constant]
        type LeaveDelay: Get<BlockNumberFor<Self>>;

        /// Most servers registered at the same time; bounds every iteration over servers.
        #[pallet::constant]
        type MaxServers: Get<u32>;

        /// Most leave-queue entries the block hook processes per block (bounded hook work).
        #[pallet::constant]
        type MaxRemovalsPerBlock: Get<u32>;

        /// Weights of this pallet's calls and hook.
        type WeightInfo: WeightInfo;
    }

    /// The server of each validator stash.
    #[pallet::storage]
    pub type Servers<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, ServerInfo<T::AccountId>, OptionQuery>;

    /// Status of each registered TSS account.
    #[pallet::storage]
    pub type ServerStatusOf<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, ServerStatus, OptionQuery>;

    /// The stash each registered TSS account belongs to (reverse of [`Servers`]).
    #[pallet::storage]
    pub type StashOf<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, T::AccountId, OptionQuery>;

    /// Bumped by every change to the registry's servers (registration, info change, start of
    /// leaving, removal), so a light client re-reads the server list only when this one value
    /// moved. Key: `twox128("Registry") ++ twox128("Revision")`; value: SCALE `u64`.
    #[pallet::storage]
    pub type Revision<T: Config> = StorageValue<_, u64, ValueQuery>;

    /// Every registered server (active and leaving) as `(stash, TSS account)`, sorted by TSS
    /// account (ascending, by its SCALE/byte order), each server exactly once.
    ///
    /// Kept in step with [`Servers`] on every change (genesis, `register`,
    /// `change_server_info`, removal after leaving, `purge_left`, governance `remove`), so one
    /// storage read proof of this single value shows a light client the *complete* server list
    /// (a map can only be proven entry by entry, and absence of unknown keys cannot be shown).
    /// The client then proves the `Servers` / `ServerStatusOf` entries it needs.
    /// Key: `twox128("Registry") ++ twox128("ServerIndex")`; value: SCALE
    /// `Vec<(AccountId32, AccountId32)>` with at most `MaxServers` entries.
    #[pallet::storage]
    pub type ServerIndex<T: Config> =
        StorageValue<_, BoundedVec<(T::AccountId, T::AccountId), T::MaxServers>, ValueQuery>;

    /// The block in which a leaving TSS account called `leave`.
    #[pallet::storage]
    pub type LeavingSince<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, BlockNumberFor<T>, OptionQuery>;

    /// Number of registered servers (active and leaving).
    #[pallet::storage]
    pub type ServerCount<T: Config> = StorageValue<_, u32, ValueQuery>;

    /// FIFO of `(stash, leaving since)` for the block hook, indexed by a wrapping position.
    ///
    /// Entries are pushed in block order and all wait the same `LeaveDelay`, so the head is
    /// always the first to become due. An entry whose server was removed otherwise (governance,
    /// `purge_left`) or left again later is recognised by its `leaving since` and skipped.
    #[pallet::storage]
    pub type LeaveQueue<T: Config> =
        StorageMap<_, Twox64Concat, u32, (T::AccountId, BlockNumberFor<T>), OptionQuery>;

    /// `(head, tail)` positions of [`LeaveQueue`]: entries live in `head..tail` (wrapping).
    #[pallet::storage]
    pub type LeaveQueueBounds<T: Config> = StorageValue<_, (u32, u32), ValueQuery>;

    /// Governance-approved moves: the one platform, besides the platform of its registered
    /// quote, that providers accept recovery quotes of a TSS account from.
    ///
    /// Only registered TSS accounts have an entry (set by `approve_move`, dropped with the
    /// registration), so there are at most `MaxServers`. The TSS node reads it with a read
    /// proof. Key: `twox128("Registry") ++ twox128("ApprovedMoves") ++ blake2_128_concat(tss
    /// account)`; value: SCALE `[u8; 16]` (the PPID).
    #[pallet::storage]
    pub type ApprovedMoves<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, PlatformId, OptionQuery>;

    /// Events of the registry pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// `stash` registered the attested TSS server `tss_account`.
        ServerRegistered {
            stash: T::AccountId,
            tss_account: T::AccountId,
            measurement: pallet_attestation::Measurement,
        },
        /// `stash` replaced its server info (re-attested); `old_tss_account` differs from
        /// `tss_account` when the server changed its account.
        ServerInfoChanged {
            stash: T::AccountId,
            old_tss_account: T::AccountId,
            tss_account: T::AccountId,
            measurement: pallet_attestation::Measurement,
        },
        /// `stash`'s server started leaving; it can be removed from block `removable_at` on.
        ServerLeaving {
            stash: T::AccountId,
            tss_account: T::AccountId,
            removable_at: BlockNumberFor<T>,
        },
        /// `stash`'s server is gone.
        ServerRemoved { stash: T::AccountId, tss_account: T::AccountId, reason: RemovalReason },
        /// Governance allowed `tss_account` to recover its key on `platform` (a move to another
        /// host); replaces an earlier approval of the account.
        MoveApproved { tss_account: T::AccountId, platform: PlatformId },
        /// The approved move of `tss_account` was revoked by governance, or dropped because the
        /// server was removed or changed its TSS account.
        MoveRevoked { tss_account: T::AccountId },
    }

    /// Errors of the registry pallet. Quote failures arrive as `pallet-attestation` errors.
    #[pallet::error]
    pub enum Error<T> {
        /// The stash already has a server; use `change_server_info`.
        AlreadyRegistered,
        /// The TSS account already belongs to a registered server.
        TssAccountInUse,
        /// The stash has no registered server.
        UnknownServer,
        /// `MaxServers` servers are registered already.
        TooManyServers,
        /// The server is already leaving.
        AlreadyLeaving,
        /// The server is leaving; a leaving server cannot change its info.
        ServerLeaving,
        /// The server is not leaving, so there is nothing to purge.
        NotLeaving,
        /// The server's leave delay has not passed yet.
        LeaveDelayNotPassed,
        /// The leave queue's position counter is exhausted (2^32 entries pending); cannot
        /// happen with a sane `MaxServers`.
        LeaveQueueFull,
        /// The TSS account is not registered, so it cannot be approved a move.
        UnknownTssAccount,
        /// The TSS account has no approved move to revoke.
        NoApprovedMove,
    }

    /// Servers present from the first block.
    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// `(stash, server info)` pairs, registered as Active WITHOUT quote verification: the
        /// chain spec is the trust root at genesis (dev chains pre-register their servers).
        pub servers: Vec<(T::AccountId, ServerInfo<T::AccountId>)>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            // Panics stop a chain from starting with a broken spec (FRAME's convention for
            // invalid genesis); they cannot happen after genesis.
            for (stash, info) in &self.servers {
                assert!(!Servers::<T>::contains_key(stash), "genesis: stash registered twice");
                assert!(
                    !StashOf::<T>::contains_key(&info.tss_account),
                    "genesis: TSS account registered twice"
                );
                assert!(
                    ServerCount::<T>::get() < T::MaxServers::get(),
                    "genesis: more servers than MaxServers"
                );
                assert!(
                    Pallet::<T>::insert_server(stash, info.clone()).is_ok(),
                    "genesis: server index full"
                );
            }
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn on_initialize(now: BlockNumberFor<T>) -> Weight {
            let (processed, removed) = Self::process_leave_queue(now);
            let listeners =
                hook_weight(T::OnServerChange::removed_weight()).saturating_mul(u64::from(removed));
            let index = Self::index_weight().saturating_mul(u64::from(removed));
            T::WeightInfo::on_initialize(processed, removed)
                .saturating_add(listeners)
                .saturating_add(index)
        }

        fn integrity_test() {
            assert!(T::MaxServers::get() > 0, "MaxServers must be > 0");
            let max_removals = T::MaxRemovalsPerBlock::get();
            assert!(
                max_removals > 0,
                "MaxRemovalsPerBlock must be > 0 or leaving servers are never removed by the hook"
            );
            // The hook's weight is mandatory: its worst case (every processed entry a removal,
            // every removal notifying listeners at their worst) must fit in a block.
            let worst = T::WeightInfo::on_initialize(max_removals, max_removals).saturating_add(
                hook_weight(T::OnServerChange::removed_weight())
                    .saturating_add(Self::index_weight())
                    .saturating_mul(u64::from(max_removals)),
            );
            let max_block = <T as frame_system::Config>::BlockWeights::get().max_block;
            assert!(
                worst.all_lte(max_block),
                "MaxRemovalsPerBlock × (removal + listeners' removed_weight) exceeds a block"
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
        /// Register the signer's (a validator stash's) TSS server.
        ///
        /// `server_info.quote` must be a quote with context `Register` binding
        /// `server_info.tss_account`, `x25519_public_key`, the signing stash and `peer_id` to
        /// the nonce the signing stash obtained for `server_info.tss_account` with
        /// `pallet_attestation::request_attestation(tss_account)`; the nonce is consumed. A
        /// copy of this call sent by another stash fails (see the crate docs). The TSS account
        /// gets a sufficient reference. Emits [`Event::ServerRegistered`] and calls
        /// `OnServerChange::joined`.
        #[pallet::call_index(0)]
        #[pallet::weight(Pallet::<T>::register_weight())]
        pub fn register(
            origin: OriginFor<T>,
            server_info: ServerInfo<T::AccountId>,
        ) -> DispatchResult {
            let stash = ensure_signed(origin)?;
            ensure!(!Servers::<T>::contains_key(&stash), Error::<T>::AlreadyRegistered);
            ensure!(
                !StashOf::<T>::contains_key(&server_info.tss_account),
                Error::<T>::TssAccountInUse
            );
            ensure!(ServerCount::<T>::get() < T::MaxServers::get(), Error::<T>::TooManyServers);
            let verified = Self::verify(&stash, &server_info, QuoteContext::Register)?;
            let tss_account = server_info.tss_account.clone();
            Self::insert_server(&stash, server_info)?;
            Self::deposit_event(Event::ServerRegistered {
                stash,
                tss_account,
                measurement: verified.measurement,
            });
            Ok(())
        }

        /// Replace the signer's server info (new keys, addresses, image, or TSS account).
        ///
        /// Re-attested: the quote must have context `ChangeServerInfo` and bind the NEW info and
        /// the signing stash to the nonce the signing stash requested for the new (or same) TSS
        /// account. A leaving server cannot change its info. When the TSS account changes, the
        /// reverse map and sufficient references move with it and `OnServerChange` sees the old
        /// account `removed` and the new one `joined`; otherwise no notification is sent and the
        /// listeners' share of the weight is refunded. Emits [`Event::ServerInfoChanged`].
        #[pallet::call_index(1)]
        #[pallet::weight(Pallet::<T>::change_server_info_weight())]
        pub fn change_server_info(
            origin: OriginFor<T>,
            server_info: ServerInfo<T::AccountId>,
        ) -> DispatchResultWithPostInfo {
            let stash = ensure_signed(origin)?;
            let old = Servers::<T>::get(&stash).ok_or(Error::<T>::UnknownServer)?;
            ensure!(
                ServerStatusOf::<T>::get(&old.tss_account) == Some(ServerStatus::Active),
                Error::<T>::ServerLeaving
            );
            let account_changes = old.tss_account != server_info.tss_account;
            if account_changes {
                ensure!(
                    !StashOf::<T>::contains_key(&server_info.tss_account),
                    Error::<T>::TssAccountInUse
                );
            }
            let verified = Self::verify(&stash, &server_info, QuoteContext::ChangeServerInfo)?;
            let new_account = server_info.tss_account.clone();
            if account_changes {
                // Same length after the swap, so this cannot hit the bound; checked anyway
                // before anything else is written.
                Self::index_replace(&old.tss_account, &stash, &new_account)?;
                StashOf::<T>::remove(&old.tss_account);
                ServerStatusOf::<T>::remove(&old.tss_account);
                Self::drop_move(&old.tss_account);
                StashOf::<T>::insert(&new_account, &stash);
                ServerStatusOf::<T>::insert(&new_account, ServerStatus::Active);
                frame_system::Pallet::<T>::inc_sufficients(&new_account);
                frame_system::Pallet::<T>::dec_sufficients(&old.tss_account);
            }
            Servers::<T>::insert(&stash, server_info);
            Self::bump_revision();
            if account_changes {
                T::OnServerChange::removed(&old.tss_account);
                T::OnServerChange::joined(&new_account);
            }
            Self::deposit_event(Event::ServerInfoChanged {
                stash,
                old_tss_account: old.tss_account,
                tss_account: new_account,
                measurement: verified.measurement,
            });
            if account_changes {
                Ok(().into())
            } else {
                // No notification was sent and the index was not touched: refund the listeners'
                // and the index's share of the weight.
                let actual = T::WeightInfo::change_server_info()
                    .saturating_add(T::Attestation::verify_weight());
                Ok(Some(actual).into())
            }
        }

        /// Start leaving: the signer's server becomes `Leaving`.
        ///
        /// A leaving server stays registered and keeps serving the backups it holds, but is no
        /// longer offered as a provider. It is removed after `LeaveDelay` blocks by the block
        /// hook or by `purge_left`. Emits [`Event::ServerLeaving`] and calls
        /// `OnServerChange::leaving`.
        #[pallet::call_index(2)]
        #[pallet::weight(
            T::WeightInfo::leave().saturating_add(hook_weight(T::OnServerChange::leaving_weight()))
        )]
        pub fn leave(origin: OriginFor<T>) -> DispatchResult {
            let stash = ensure_signed(origin)?;
            let info = Servers::<T>::get(&stash).ok_or(Error::<T>::UnknownServer)?;
            let tss_account = info.tss_account;
            ensure!(
                ServerStatusOf::<T>::get(&tss_account) == Some(ServerStatus::Active),
                Error::<T>::AlreadyLeaving
            );
            let now = frame_system::Pallet::<T>::block_number();
            let (head, tail) = LeaveQueueBounds::<T>::get();
            let next_tail = tail.wrapping_add(1);
            // The queue is a ring over u32 positions; a full ring would overwrite its head.
            ensure!(next_tail != head, Error::<T>::LeaveQueueFull);
            LeaveQueue::<T>::insert(tail, (stash.clone(), now));
            LeaveQueueBounds::<T>::put((head, next_tail));
            ServerStatusOf::<T>::insert(&tss_account, ServerStatus::Leaving);
            LeavingSince::<T>::insert(&tss_account, now);
            Self::bump_revision();
            T::OnServerChange::leaving(&tss_account);
            Self::deposit_event(Event::ServerLeaving {
                stash,
                tss_account,
                removable_at: now.saturating_add(T::LeaveDelay::get()),
            });
            Ok(())
        }

        /// Remove `stash`'s leaving server whose leave delay has passed (anyone may call).
        ///
        /// The block hook does the same on its own; this call is for when its per-block budget
        /// falls behind. Emits [`Event::ServerRemoved`] with reason `Left` and calls
        /// `OnServerChange::removed`.
        #[pallet::call_index(3)]
        #[pallet::weight(
            T::WeightInfo::purge_left()
                .saturating_add(Pallet::<T>::index_weight())
                .saturating_add(hook_weight(T::OnServerChange::removed_weight()))
        )]
        pub fn purge_left(origin: OriginFor<T>, stash: T::AccountId) -> DispatchResult {
            ensure_signed(origin)?;
            let info = Servers::<T>::get(&stash).ok_or(Error::<T>::UnknownServer)?;
            let since = LeavingSince::<T>::get(&info.tss_account).ok_or(Error::<T>::NotLeaving)?;
            let now = frame_system::Pallet::<T>::block_number();
            ensure!(
                since.saturating_add(T::LeaveDelay::get()) <= now,
                Error::<T>::LeaveDelayNotPassed
            );
            Self::do_remove(&stash, RemovalReason::Left);
            Ok(())
        }

        /// Remove `stash`'s server at once, active or leaving (governance: kick or slash).
        ///
        /// Emits [`Event::ServerRemoved`] with reason `Governance` and calls
        /// `OnServerChange::removed`.
        #[pallet::call_index(4)]
        #[pallet::weight(
            T::WeightInfo::remove()
                .saturating_add(Pallet::<T>::index_weight())
                .saturating_add(hook_weight(T::OnServerChange::removed_weight()))
        )]
        pub fn remove(origin: OriginFor<T>, stash: T::AccountId) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(Servers::<T>::contains_key(&stash), Error::<T>::UnknownServer);
            Self::do_remove(&stash, RemovalReason::Governance);
            Ok(())
        }

        /// Allow the registered `tss_account` to recover on `new_platform` (governance).
        ///
        /// For a node moved to another host, whose PCK certificate names another PPID than its
        /// registered quote. Replaces an earlier approval of the account. Emits
        /// [`Event::MoveApproved`].
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::approve_move())]
        pub fn approve_move(
            origin: OriginFor<T>,
            tss_account: T::AccountId,
            new_platform: PlatformId,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(StashOf::<T>::contains_key(&tss_account), Error::<T>::UnknownTssAccount);
            ApprovedMoves::<T>::insert(&tss_account, new_platform);
            Self::deposit_event(Event::MoveApproved { tss_account, platform: new_platform });
            Ok(())
        }

        /// Withdraw `tss_account`'s approved move (governance). Emits [`Event::MoveRevoked`].
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::revoke_move())]
        pub fn revoke_move(origin: OriginFor<T>, tss_account: T::AccountId) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ApprovedMoves::<T>::take(&tss_account).ok_or(Error::<T>::NoApprovedMove)?;
            Self::deposit_event(Event::MoveRevoked { tss_account });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The storage invariants, each a bug if broken (run after every pallet test, and by
        /// `try-runtime` as the `try_state` hook): [`ServerIndex`] holds one `(stash, TSS
        /// account)` per [`Servers`] entry and nothing else, strictly sorted by TSS account;
        /// [`StashOf`] and [`ServerStatusOf`] have an entry exactly for each registered TSS
        /// account; [`ServerCount`] counts them; [`LeavingSince`] is set exactly for leaving
        /// servers; [`ApprovedMoves`] names registered accounts only.
        #[cfg(any(test, feature = "try-runtime"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            let index = ServerIndex::<T>::get();
            ensure!(
                index.windows(2).all(|w| w[0].1.encode() < w[1].1.encode()),
                "ServerIndex is not strictly sorted by TSS account"
            );
            let mut servers = 0usize;
            for (stash, info) in Servers::<T>::iter() {
                servers += 1;
                ensure!(
                    index.iter().any(|(s, t)| *s == stash && *t == info.tss_account),
                    "a server is missing from ServerIndex"
                );
                ensure!(
                    StashOf::<T>::get(&info.tss_account).as_ref() == Some(&stash),
                    "StashOf does not point back to the server's stash"
                );
                let status = ServerStatusOf::<T>::get(&info.tss_account)
                    .ok_or("a registered server has no status")?;
                ensure!(
                    LeavingSince::<T>::contains_key(&info.tss_account)
                        == (status == ServerStatus::Leaving),
                    "LeavingSince disagrees with the server's status"
                );
            }
            ensure!(index.len() == servers, "ServerIndex holds entries without a server");
            ensure!(ServerCount::<T>::get() as usize == servers, "ServerCount is off");
            ensure!(StashOf::<T>::iter().count() == servers, "StashOf holds stray entries");
            ensure!(ServerStatusOf::<T>::iter().count() == servers, "stray ServerStatusOf entries");
            ensure!(LeavingSince::<T>::iter().count() <= servers, "stray LeavingSince entries");
            for (tss, _) in ApprovedMoves::<T>::iter() {
                ensure!(
                    StashOf::<T>::contains_key(&tss),
                    "a move approved for an unregistered account"
                );
            }
            Ok(())
        }

        /// Registers `stash`'s server `tss_account` without a quote (stored empty), for the
        /// benchmarks of pallets that need registered servers (pallet-backup's providers and
        /// clients, through its `BenchmarkHelper`). Only with `runtime-benchmarks`, which a
        /// production runtime never has.
        #[cfg(feature = "runtime-benchmarks")]
        pub fn register_for_benchmarks(
            stash: &T::AccountId,
            tss_account: &T::AccountId,
        ) -> DispatchResult {
            let info = ServerInfo {
                tss_account: tss_account.clone(),
                x25519_public_key: [0u8; 32],
                peer_id: BoundedVec::new(),
                multiaddrs: BoundedVec::new(),
                quote: BoundedVec::new(),
            };
            Self::insert_server(stash, info)
        }

        /// Weight of `register`: own work, the quote check and one `joined` notification.
        pub fn register_weight() -> Weight {
            T::WeightInfo::register()
                .saturating_add(Self::index_weight())
                .saturating_add(T::Attestation::verify_weight())
                .saturating_add(hook_weight(T::OnServerChange::joined_weight()))
        }

        /// Weight of `change_server_info`: own work, the quote check, and (worst case, the TSS
        /// account changes) one `removed` and one `joined` notification.
        pub fn change_server_info_weight() -> Weight {
            T::WeightInfo::change_server_info()
                .saturating_add(Self::index_weight())
                .saturating_add(T::Attestation::verify_weight())
                .saturating_add(hook_weight(T::OnServerChange::removed_weight()))
                .saturating_add(hook_weight(T::OnServerChange::joined_weight()))
        }

        /// Checks `info.quote` for `context` as presented by `stash` through the attestation
        /// pallet (consuming the nonce `stash` requested for `info.tss_account` on success).
        fn verify(
            stash: &T::AccountId,
            info: &ServerInfo<T::AccountId>,
            context: QuoteContext,
        ) -> Result<pallet_attestation::VerifiedQuote, DispatchError> {
            T::Attestation::verify_and_consume(
                stash,
                &info.tss_account,
                context,
                &info.x25519_public_key,
                Some(info.peer_id.as_slice()),
                info.quote.as_slice(),
            )
        }

        /// Work on [`ServerIndex`] beyond the one read and write the `WeightInfo` figures
        /// count: a binary search and a shift over up to `MaxServers` entries, and the whole
        /// value (up to `MaxServers` pairs) in the proof.
        pub fn index_weight() -> Weight {
            let max = u64::from(T::MaxServers::get());
            let proof =
                BoundedVec::<(T::AccountId, T::AccountId), T::MaxServers>::max_encoded_len();
            // 100 ns of compute per entry searched or shifted, generously.
            Weight::from_parts(max.saturating_mul(100_000), proof as u64)
        }

        /// Inserts `(stash, tss_account)` into [`ServerIndex`] at its sorted place.
        fn index_insert(stash: &T::AccountId, tss_account: &T::AccountId) -> DispatchResult {
            ServerIndex::<T>::try_mutate(|index| {
                let pos = match index.binary_search_by(|(_, tss)| tss.cmp(tss_account)) {
                    // Callers check the account is unregistered; never insert it twice.
                    Ok(_) => return Err(Error::<T>::TssAccountInUse.into()),
                    Err(pos) => pos,
                };
                index
                    .try_insert(pos, (stash.clone(), tss_account.clone()))
                    .map_err(|_| Error::<T>::TooManyServers.into())
            })
        }

        /// Removes `tss_account`'s entry from [`ServerIndex`] (no-op when absent).
        fn index_remove(tss_account: &T::AccountId) {
            ServerIndex::<T>::mutate(|index| {
                if let Ok(pos) = index.binary_search_by(|(_, tss)| tss.cmp(tss_account)) {
                    index.remove(pos);
                }
            });
        }

        /// Moves `stash`'s entry in [`ServerIndex`] from `old` to `new` TSS account, keeping
        /// the order; writes nothing on error.
        fn index_replace(
            old: &T::AccountId,
            stash: &T::AccountId,
            new: &T::AccountId,
        ) -> DispatchResult {
            ServerIndex::<T>::try_mutate(|index| -> DispatchResult {
                if let Ok(pos) = index.binary_search_by(|(_, tss)| tss.cmp(old)) {
                    index.remove(pos);
                }
                let pos = match index.binary_search_by(|(_, tss)| tss.cmp(new)) {
                    Ok(_) => return Err(Error::<T>::TssAccountInUse.into()),
                    Err(pos) => pos,
                };
                index
                    .try_insert(pos, (stash.clone(), new.clone()))
                    .map_err(|_| Error::<T>::TooManyServers.into())
            })
        }

        /// Stores a new Active server with its index entry, reverse maps and sufficient
        /// reference, and tells the listeners. Callers have checked stash, account and count;
        /// a full index is refused before anything is written.
        pub(crate) fn insert_server(
            stash: &T::AccountId,
            info: ServerInfo<T::AccountId>,
        ) -> DispatchResult {
            let tss_account = info.tss_account.clone();
            Self::index_insert(stash, &tss_account)?;
            StashOf::<T>::insert(&tss_account, stash);
            ServerStatusOf::<T>::insert(&tss_account, ServerStatus::Active);
            Servers::<T>::insert(stash, info);
            ServerCount::<T>::mutate(|count| *count = count.saturating_add(1));
            Self::bump_revision();
            frame_system::Pallet::<T>::inc_sufficients(&tss_account);
            T::OnServerChange::joined(&tss_account);
            Ok(())
        }

        /// Drops `tss_account`'s approved move, if any, with [`Event::MoveRevoked`]: it was
        /// for that registration only.
        fn drop_move(tss_account: &T::AccountId) {
            if ApprovedMoves::<T>::take(tss_account).is_some() {
                Self::deposit_event(Event::MoveRevoked { tss_account: tss_account.clone() });
            }
        }

        /// The platform governance approved `tss_account` to move to, if any.
        pub fn approved_move(tss_account: &T::AccountId) -> Option<PlatformId> {
            ApprovedMoves::<T>::get(tss_account)
        }

        /// Marks the server list changed (see [`Revision`]).
        fn bump_revision() {
            Revision::<T>::mutate(|r| *r = r.wrapping_add(1));
        }

        /// Removes `stash`'s server and everything pointing at it, drops the sufficient
        /// reference and tells the listeners. No-op when there is no server.
        fn do_remove(stash: &T::AccountId, reason: RemovalReason) {
            let Some(info) = Servers::<T>::take(stash) else { return };
            let tss_account = info.tss_account;
            Self::index_remove(&tss_account);
            StashOf::<T>::remove(&tss_account);
            ServerStatusOf::<T>::remove(&tss_account);
            LeavingSince::<T>::remove(&tss_account);
            Self::drop_move(&tss_account);
            ServerCount::<T>::mutate(|count| *count = count.saturating_sub(1));
            Self::bump_revision();
            frame_system::Pallet::<T>::dec_sufficients(&tss_account);
            T::OnServerChange::removed(&tss_account);
            Self::deposit_event(Event::ServerRemoved { stash: stash.clone(), tss_account, reason });
        }

        /// Pops due entries off the leave queue, at most `MaxRemovalsPerBlock`, removing the
        /// servers that are still in the leaving episode the entry recorded. Returns
        /// `(entries processed, servers removed)` for the weight.
        pub(crate) fn process_leave_queue(now: BlockNumberFor<T>) -> (u32, u32) {
            let (mut head, tail) = LeaveQueueBounds::<T>::get();
            let budget = T::MaxRemovalsPerBlock::get();
            let delay = T::LeaveDelay::get();
            let (mut processed, mut removed) = (0u32, 0u32);
            while head != tail && processed < budget {
                let entry = LeaveQueue::<T>::get(head);
                if let Some((_, since)) = &entry {
                    if since.saturating_add(delay) > now {
                        break;
                    }
                }
                LeaveQueue::<T>::remove(head);
                head = head.wrapping_add(1);
                processed = processed.saturating_add(1);
                let Some((stash, since)) = entry else { continue };
                let still_same_episode = Servers::<T>::get(&stash)
                    .and_then(|info| LeavingSince::<T>::get(&info.tss_account))
                    == Some(since);
                if still_same_episode {
                    Self::do_remove(&stash, RemovalReason::Left);
                    removed = removed.saturating_add(1);
                }
            }
            if processed > 0 {
                LeaveQueueBounds::<T>::put((head, tail));
            }
            (processed, removed)
        }

        /// Every registered server as `(stash, TSS account)`, sorted by TSS account.
        pub fn server_index() -> Vec<(T::AccountId, T::AccountId)> {
            ServerIndex::<T>::get().into_inner()
        }

        /// The server of `stash`, if any.
        pub fn server(stash: &T::AccountId) -> Option<ServerInfo<T::AccountId>> {
            Servers::<T>::get(stash)
        }

        /// The stash and server info behind a TSS account, if it is registered.
        pub fn server_by_tss(
            tss_account: &T::AccountId,
        ) -> Option<(T::AccountId, ServerInfo<T::AccountId>)> {
            let stash = StashOf::<T>::get(tss_account)?;
            let info = Servers::<T>::get(&stash)?;
            Some((stash, info))
        }
    }

    impl<T: Config> ServerRegistry<T::AccountId> for Pallet<T> {
        fn status(tss_account: &T::AccountId) -> Option<ServerStatus> {
            ServerStatusOf::<T>::get(tss_account)
        }

        /// At most `MaxServers` entries are iterated.
        fn active_servers() -> Vec<T::AccountId> {
            ServerStatusOf::<T>::iter()
                .filter(|(_, status)| *status == ServerStatus::Active)
                .map(|(account, _)| account)
                .collect()
        }
    }
}
