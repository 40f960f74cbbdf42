//! # pallet-attestation: which TEE images peerseal trusts, and on-chain quote verification
//!
//! This pallet holds the chain's attestation policy and checks TDX quotes against it. Governance
//! keeps a set of accepted image measurements ([`AcceptedMeasurements`], several at once so an
//! image upgrade can overlap the old one), an allow-list of mock PCK keys for dev chains
//! ([`AllowedMockPcks`]) and the PCK mode ([`PckPolicyMode`]: full Intel certificate chain in
//! production, allow-list in dev). Whether the dev mode exists at all is the runtime's choice,
//! [`Config::DevPckMode`]: a production runtime sets it to `false`, and then the dev mode cannot
//! be set (by genesis or governance), no mock PCK can be allowed, and verification always
//! demands the Intel chain whatever storage says (peerseal's runtime sets it from its `dev`
//! cargo feature, so the wasm runtime built for chain specs has no dev mode). A validator
//! *stash* asks for a fresh nonce for its TSS server's account with
//! [`Pallet::request_attestation`]; the TSS server puts the nonce and the stash into its quote's
//! report data, and another pallet (the registry) checks the quote through
//! [`VerifyAttestation`], which consumes the nonce.
//!
//! ## Who asks for a nonce, and why the stash
//! `request_attestation(tss_account)` is signed by the stash, not by the TSS account:
//! - a new TSS account owns nothing and has no provider or sufficient reference before it is
//!   registered, so `CheckNonce` would reject any transaction it signs; the funded stash asks on
//!   its behalf and the TSS account never has to be funded;
//! - the nonce is recorded as issued *to that stash for that TSS account*, and only that stash
//!   can present a quote against it. A `register` copied out of the transaction pool and sent
//!   from another stash finds no nonce (or another one) and fails. As a second, independent
//!   lock the quote's report data also binds the stash (`peerseal_attestation::Binding::stash`),
//!   so even a nonce the attacker asked for itself is useless with the honest server's quote.
//!
//! ## Nonces
//! A nonce is `blake2_256(domain ‖ parent hash ‖ stash ‖ TSS account ‖ counter)`: unique thanks
//! to the per-pallet counter and not known before the parent block exists, which is what
//! freshness needs (the nonce is public, it is not a secret). It is usable up to and including
//! block `expires_at` (request block + [`Config::NonceLifetime`]).
//!
//! **Bounded storage.** [`PendingNonces`] is keyed by the stash and holds one nonce per stash: a
//! new request by the same stash replaces the old one (for whichever TSS account). Requests from
//! other stashes never touch it, so nobody can cancel an honest stash's nonce. Every request is
//! also appended to [`NonceExpiryQueue`]; since all nonces live equally long, the queue is in
//! expiry order, and expired entries are removed from its head by the block hook (at most
//! [`Config::MaxNoncePrunesPerBlock`] per block) and by every `request_attestation` (at most
//! [`PRUNES_PER_REQUEST`], charged to the requester). A pruning step deletes the pending nonce
//! only if it is still the one the entry recorded. So the queue holds at most the requests of the
//! last `NonceLifetime` blocks plus a backlog that every request and every block shrinks, and
//! [`PendingNonces`] holds at most one entry per stash that is either unexpired or queued for
//! removal. Each request costs its signer a transaction fee.
//!
//! **Single use, consumed on success.** A successful verification removes the nonce, so a quote
//! can never be replayed. A failed verification does not consume it: FRAME reverts every storage
//! write of a failed extrinsic, so "consume on failure" could only be had by letting failed
//! registrations succeed as dispatches, which would hide errors from clients. Keeping it is safe:
//! every field of the report data is fixed by the caller and the quote is signed inside the TEE,
//! so retrying against the same nonce gives an attacker nothing to grind on; every attempt pays a
//! transaction fee, and the nonce dies after `NonceLifetime` blocks anyway.
//!
//! ## Weights
//! The figures in `weights.rs` are measured, not estimated: `src/benchmarking.rs` benchmarks
//! every call, quote verification (`verify_and_consume`) and the block hook at its worst case, and `peerseal-weights` (crates/weights) runs those
//! benchmarks natively against `peerseal-runtime` and writes the file. Regenerate it (release
//! build, on an otherwise idle machine) with
//! `cargo run --release -p peerseal-weights --features runtime-benchmarks -- --steps 10 --repeat 20`;
//! `cargo test -p pallet-attestation --features runtime-benchmarks` runs each benchmark once as a test
//! against the mock, and `cargo run --release -p peerseal-weights --features runtime-benchmarks
//! -- --check` against the runtime.
//!
//! Quote verification is measured twice: in the dev PCK mode (`verify_and_consume`: a mock
//! quote whose PCK is on the allow-list, accepted) and in production mode
//! (`verify_production_quote`: Intel's sample quote, its PCK certificate chain verified up to
//! Intel's root, refused only at the last check, its report-data binding, since no quote
//! bound to our nonce can be made without TDX hardware). `verify_weight` charges the larger,
//! which is the production one (1.76 ms against 0.57 ms on this machine kind). The figures come
//! from native execution; a chain executing the wasm runtime runs the same code slower, so a
//! production network should re-run the benchmarks under its own executor before launch (the
//! runner here has no wasm executor).
//!
//! ## Dependencies
//! `frame-support`/`frame-system`/`sp-runtime` (FRAME itself), `parity-scale-codec` and
//! `scale-info` (storage and metadata encoding), `sp-crypto-hashing` (blake2 for nonces, without
//! pulling in `sp-core`), and `peerseal-attestation`, the one quote verification library shared
//! with the TSS node so chain and node apply exactly the same checks.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use peerseal_attestation::{
    Measurement, PckKey, PckMode, QuoteContext, VerifiedQuote, VerifyError,
};

#[cfg(feature = "runtime-benchmarks")]
pub mod benchmarking;
#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod mock;
#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests;
pub mod weights;

pub use weights::WeightInfo;

use alloc::vec::Vec;
use frame_support::{pallet_prelude::DispatchError, weights::Weight};

/// Domain separation for nonce derivation; bump the version if the formula changes.
pub const NONCE_DOMAIN: &[u8] = b"peerseal/attestation-nonce/v2";

/// Most expired queue entries one `request_attestation` prunes (its weight includes them), so
/// requests clean up at least as fast as they add once anything has expired.
pub const PRUNES_PER_REQUEST: u32 = 2;

/// A nonce issued to a stash for one TSS account.
#[derive(
    Clone,
    PartialEq,
    Eq,
    Debug,
    codec::Encode,
    codec::Decode,
    codec::DecodeWithMemTracking,
    scale_info::TypeInfo,
    codec::MaxEncodedLen,
)]
pub struct PendingNonce<AccountId, BlockNumber> {
    /// The TSS account the quote must bind (the server being attested).
    pub tss_account: AccountId,
    /// The nonce the quote's report data must carry.
    pub nonce: [u8; 32],
    /// The last block in which the nonce is usable.
    pub expires_at: BlockNumber,
}

/// Quote verification as other pallets see it.
///
/// The registry calls this during `register` and `change_server_info`; a runtime can swap in a
/// different implementation (for example one that also checks a revocation list).
pub trait VerifyAttestation<AccountId> {
    /// Checks `quote` against the nonce pending for `stash` (consuming it on success) and the
    /// current policy. The nonce must have been issued to `stash` for `tss_account`, and the
    /// quote's report data must bind `context`, `tss_account`, `public_key`, `stash` and
    /// `peer_id` (see `peerseal_attestation::report_data`).
    fn verify_and_consume(
        stash: &AccountId,
        tss_account: &AccountId,
        context: QuoteContext,
        public_key: &[u8; 32],
        peer_id: Option<&[u8]>,
        quote: &[u8],
    ) -> Result<VerifiedQuote, DispatchError>;

    /// Upper bound of the weight one `verify_and_consume` call costs, so callers can charge it.
    ///
    /// The default is a conservative hand estimate (see `weights.rs`); implementations should
    /// return their own figure.
    fn verify_weight() -> Weight {
        weights::VERIFY_QUOTE_ESTIMATE
    }
}

// The FRAME macros expand to `expect` calls on values that are present by construction (metadata
// and storage prefix plumbing); no code written here unwraps.
#[allow(clippy::expect_used, clippy::unwrap_used)]
#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::pallet_prelude::*;
    use frame_system::pallet_prelude::*;
    use sp_runtime::traits::{Saturating, Zero};

    /// The in-code storage version.
    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// Configuration of the attestation pallet.
    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// Who may change the policy (accepted measurements, mock PCKs, PCK mode): root,
        /// a council, or `EnsureRoot` behind sudo on a dev chain.
        type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// How many blocks after `request_attestation` a nonce stays usable.
        #[pallet::constant]
        type NonceLifetime: Get<BlockNumberFor<Self>>;

        /// Most measurements accepted at the same time.
        #[pallet::constant]
        type MaxAcceptedMeasurements: Get<u32>;

        /// Most mock PCK keys on the dev allow-list.
        #[pallet::constant]
        type MaxMockPcks: Get<u32>;

        /// Most expiry-queue entries the block hook prunes per block (bounded hook work).
        #[pallet::constant]
        type MaxNoncePrunesPerBlock: Get<u32>;

        /// Whether this runtime has the dev PCK mode (mock PCKs on an allow-list). `false` in
        /// every production runtime: then [`PckPolicyMode`] can only be `Production`, the mock
        /// allow-list stays empty, and quotes are always checked against Intel's chain.
        #[pallet::constant]
        type DevPckMode: Get<bool>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    /// Measurements (hash of MRTD ‖ RTMR0..3) of the TEE images the chain trusts.
    #[pallet::storage]
    pub type AcceptedMeasurements<T: Config> =
        StorageValue<_, BoundedVec<Measurement, T::MaxAcceptedMeasurements>, ValueQuery>;

    /// Mock PCK public keys accepted while [`PckPolicyMode`] is `Dev`; ignored in `Production`.
    #[pallet::storage]
    pub type AllowedMockPcks<T: Config> =
        StorageValue<_, BoundedVec<PckKey, T::MaxMockPcks>, ValueQuery>;

    /// Default PCK mode of a chain whose genesis says nothing: the safe one.
    #[pallet::type_value]
    pub fn DefaultPckMode() -> PckMode {
        PckMode::Production
    }

    /// How quote PCKs are checked: certificate chain to Intel's root, or the dev allow-list.
    #[pallet::storage]
    pub type PckPolicyMode<T: Config> = StorageValue<_, PckMode, ValueQuery, DefaultPckMode>;

    /// The one pending nonce of each stash: for which TSS account, and until which block.
    #[pallet::storage]
    pub type PendingNonces<T: Config> = StorageMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        PendingNonce<T::AccountId, BlockNumberFor<T>>,
        OptionQuery,
    >;

    /// FIFO of `(stash, expires_at)`, one entry per request, indexed by a wrapping position.
    ///
    /// All nonces live `NonceLifetime` blocks, so the head is always the first to expire. An
    /// entry whose nonce was consumed or replaced is recognised by its `expires_at` and skipped.
    #[pallet::storage]
    pub type NonceExpiryQueue<T: Config> =
        StorageMap<_, Twox64Concat, u32, (T::AccountId, BlockNumberFor<T>), OptionQuery>;

    /// `(head, tail)` positions of [`NonceExpiryQueue`]: entries live in `head..tail` (wrapping).
    #[pallet::storage]
    pub type NonceExpiryQueueBounds<T: Config> = StorageValue<_, (u32, u32), ValueQuery>;

    /// Number of nonces issued so far; part of the nonce preimage so two nonces never collide.
    #[pallet::storage]
    pub type NonceCounter<T: Config> = StorageValue<_, u64, ValueQuery>;

    /// Events of the attestation pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// Governance accepted a new image measurement.
        MeasurementAccepted { measurement: Measurement },
        /// Governance revoked an image measurement; quotes of that image are rejected from now.
        MeasurementRevoked { measurement: Measurement },
        /// Governance added a mock PCK key to the dev allow-list.
        MockPckAllowed { pck: PckKey },
        /// Governance removed a mock PCK key from the dev allow-list.
        MockPckDisallowed { pck: PckKey },
        /// Governance set the PCK mode.
        PckModeSet { mode: PckMode },
        /// `stash` got a fresh nonce for the quote of its server `tss_account`, usable until
        /// block `expires_at`; it replaces any nonce `stash` had.
        AttestationRequested {
            stash: T::AccountId,
            tss_account: T::AccountId,
            nonce: [u8; 32],
            expires_at: BlockNumberFor<T>,
        },
        /// A quote of `tss_account`, presented by `stash`, passed verification for `context`;
        /// the nonce is consumed.
        AttestationVerified {
            stash: T::AccountId,
            tss_account: T::AccountId,
            context: QuoteContext,
            measurement: Measurement,
            pck: PckKey,
        },
    }

    /// Errors of the attestation pallet. Every quote check failure has its own variant.
    #[pallet::error]
    pub enum Error<T> {
        /// The stash has no pending nonce: it never called `request_attestation`, the nonce was
        /// already used (a replayed quote), or it expired and was pruned. Also what another
        /// stash gets when it presents a copy of someone else's registration.
        NoPendingNonce,
        /// The stash's pending nonce was issued for another TSS account than the one presented.
        NonceForOtherAccount,
        /// The stash's nonce is past its `expires_at` block; request a new one.
        NonceExpired,
        /// The quote is empty.
        QuoteEmpty,
        /// The quote is longer than `peerseal_attestation::MAX_QUOTE_LEN`; it was not parsed.
        QuoteTooLarge,
        /// The quote ends before the structure its header announces.
        QuoteTruncated,
        /// Non-zero bytes follow the end of the quote.
        QuoteTrailingData,
        /// The quote version is not supported (only version 4 is).
        QuoteUnsupportedVersion,
        /// The attestation key type is not ECDSA-P256.
        QuoteUnsupportedKeyType,
        /// The quote is not from a TDX trust domain.
        QuoteNotTdx,
        /// The quote's fields do not parse.
        QuoteMalformed,
        /// The certification data is not a PCK-signed QE report.
        QuoteUnsupportedCertificationData,
        /// The attestation key's signature over the quote does not verify (tampered quote).
        QuoteBadSignature,
        /// The QE report does not commit to the quote's attestation key.
        AttestationKeyMismatch,
        /// The quote comes from a debug TD, whose memory the host can read.
        DebugTd,
        /// Production mode: the PCK certificate chain is missing or does not lead to Intel's root.
        PckChainInvalid,
        /// The PCK's signature over the QE report does not verify.
        PckSignatureInvalid,
        /// Dev mode: the quote's PCK is not on the mock allow-list.
        PckNotAllowed,
        /// The quote's image measurement is not in `AcceptedMeasurements`.
        MeasurementNotAccepted,
        /// The quote's report data carries another nonce than the account's pending one (a quote
        /// made for an older request, or a replay).
        QuoteNonceMismatch,
        /// The quote's report data does not bind the expected context, TSS account, public key,
        /// stash and peer id.
        ReportDataMismatch,
        /// The measurement is already accepted.
        MeasurementAlreadyAccepted,
        /// The measurement is not in the accepted set.
        MeasurementNotFound,
        /// `MaxAcceptedMeasurements` measurements are accepted already; revoke one first.
        TooManyMeasurements,
        /// The mock PCK is already allowed.
        MockPckAlreadyAllowed,
        /// The mock PCK is not on the allow-list.
        MockPckNotFound,
        /// `MaxMockPcks` keys are allowed already; remove one first.
        TooManyMockPcks,
        /// This runtime has no dev PCK mode ([`Config::DevPckMode`] is `false`).
        DevPckModeUnavailable,
        /// The expiry queue's position counter is exhausted (2^32 entries pending); cannot
        /// happen while the block hook runs.
        NonceQueueFull,
        /// The quote names no platform identity (no SGX PPID in its PCK certificate, or a mock
        /// claim without a platform). Registration never checks it; here so that every
        /// library failure has its own error.
        QuotePlatformIdMissing,
    }

    /// Initial policy of a chain (a dev chain accepts the mock measurement and the dev mock PCK
    /// in `Dev` mode; a production chain lists its image measurements and keeps `Production`).
    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// Accepted measurements (hex strings in a chain spec).
        pub accepted_measurements: Vec<Measurement>,
        /// Allowed mock PCK keys (hex strings of 33 bytes in a chain spec).
        pub allowed_mock_pcks: Vec<PckKey>,
        /// The PCK mode; `Production` unless set.
        pub pck_mode: PckMode,
        #[serde(skip)]
        pub _config: core::marker::PhantomData<T>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            // Panics here stop a chain from starting with a broken spec, which is FRAME's
            // convention for invalid genesis; they cannot happen after genesis.
            let mut measurements = BoundedVec::<Measurement, T::MaxAcceptedMeasurements>::new();
            for m in &self.accepted_measurements {
                assert!(!measurements.contains(m), "genesis: duplicate accepted measurement");
                assert!(measurements.try_push(*m).is_ok(), "genesis: too many measurements");
            }
            AcceptedMeasurements::<T>::put(measurements);

            let mut pcks = BoundedVec::<PckKey, T::MaxMockPcks>::new();
            for pck in &self.allowed_mock_pcks {
                assert!(!pcks.contains(pck), "genesis: duplicate mock PCK key");
                assert!(pcks.try_push(*pck).is_ok(), "genesis: too many mock PCK keys");
            }
            assert!(
                T::DevPckMode::get() || (self.pck_mode == PckMode::Production && pcks.is_empty()),
                "genesis: the dev PCK mode and mock PCKs exist only in a runtime built with the \
                 dev feature"
            );
            AllowedMockPcks::<T>::put(pcks);

            PckPolicyMode::<T>::put(self.pck_mode);
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        /// Prunes expired nonces from the head of the expiry queue, at most
        /// `MaxNoncePrunesPerBlock`.
        fn on_initialize(now: BlockNumberFor<T>) -> Weight {
            let (processed, removed) = Self::prune_expired(now, T::MaxNoncePrunesPerBlock::get());
            T::WeightInfo::on_initialize(processed, removed)
        }

        fn integrity_test() {
            assert!(
                !T::NonceLifetime::get().is_zero(),
                "NonceLifetime must be at least one block, or no nonce could ever be used"
            );
            assert!(T::MaxAcceptedMeasurements::get() > 0, "MaxAcceptedMeasurements must be > 0");
            assert!(
                T::MaxNoncePrunesPerBlock::get() > 0,
                "MaxNoncePrunesPerBlock must be > 0 or the block hook never prunes"
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
        /// Accept quotes from the image with `measurement` (governance).
        ///
        /// Several measurements can be accepted at once so a new image can roll out while the
        /// old one still runs. Emits [`Event::MeasurementAccepted`].
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::accept_measurement())]
        pub fn accept_measurement(
            origin: OriginFor<T>,
            measurement: Measurement,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            AcceptedMeasurements::<T>::try_mutate(|set| -> DispatchResult {
                ensure!(!set.contains(&measurement), Error::<T>::MeasurementAlreadyAccepted);
                set.try_push(measurement).map_err(|_| Error::<T>::TooManyMeasurements)?;
                Ok(())
            })?;
            Self::deposit_event(Event::MeasurementAccepted { measurement });
            Ok(())
        }

        /// Stop accepting quotes from the image with `measurement` (governance).
        ///
        /// Servers already registered with it stay registered; governance removes them through
        /// the registry if needed. Emits [`Event::MeasurementRevoked`].
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::revoke_measurement())]
        pub fn revoke_measurement(
            origin: OriginFor<T>,
            measurement: Measurement,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            AcceptedMeasurements::<T>::try_mutate(|set| -> DispatchResult {
                let pos = set
                    .iter()
                    .position(|m| *m == measurement)
                    .ok_or(Error::<T>::MeasurementNotFound)?;
                set.remove(pos);
                Ok(())
            })?;
            Self::deposit_event(Event::MeasurementRevoked { measurement });
            Ok(())
        }

        /// Add a mock PCK public key to the dev allow-list (governance).
        ///
        /// Only consulted while the PCK mode is `Dev`. Emits [`Event::MockPckAllowed`]. Fails
        /// with [`Error::DevPckModeUnavailable`] in a runtime without the dev mode.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::allow_mock_pck())]
        pub fn allow_mock_pck(origin: OriginFor<T>, pck: PckKey) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(T::DevPckMode::get(), Error::<T>::DevPckModeUnavailable);
            AllowedMockPcks::<T>::try_mutate(|set| -> DispatchResult {
                ensure!(!set.contains(&pck), Error::<T>::MockPckAlreadyAllowed);
                set.try_push(pck).map_err(|_| Error::<T>::TooManyMockPcks)?;
                Ok(())
            })?;
            Self::deposit_event(Event::MockPckAllowed { pck });
            Ok(())
        }

        /// Remove a mock PCK public key from the dev allow-list (governance).
        ///
        /// Emits [`Event::MockPckDisallowed`].
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::disallow_mock_pck())]
        pub fn disallow_mock_pck(origin: OriginFor<T>, pck: PckKey) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            AllowedMockPcks::<T>::try_mutate(|set| -> DispatchResult {
                let pos = set.iter().position(|p| *p == pck).ok_or(Error::<T>::MockPckNotFound)?;
                set.remove(pos);
                Ok(())
            })?;
            Self::deposit_event(Event::MockPckDisallowed { pck });
            Ok(())
        }

        /// Set how quote PCKs are checked (governance): `Production` (certificate chain to
        /// Intel's root) or `Dev` (mock allow-list).
        ///
        /// Setting the current mode again is allowed and still emits [`Event::PckModeSet`], so
        /// the call is idempotent for scripts. `Dev` fails with
        /// [`Error::DevPckModeUnavailable`] in a runtime without the dev mode.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::set_pck_mode())]
        pub fn set_pck_mode(origin: OriginFor<T>, mode: PckMode) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(
                mode == PckMode::Production || T::DevPckMode::get(),
                Error::<T>::DevPckModeUnavailable
            );
            PckPolicyMode::<T>::put(mode);
            Self::deposit_event(Event::PckModeSet { mode });
            Ok(())
        }

        /// Issue a fresh nonce to the signer (a validator stash) for the quote of its TSS
        /// server `tss_account`.
        ///
        /// The TSS account signs nothing, so it needs no funds before registration. Replaces
        /// any nonce the signer still had (one per stash). The nonce is usable up to and
        /// including block `expires_at = now + NonceLifetime`, only by the signer and only for
        /// `tss_account`, and is consumed by a successful verification. Also prunes up to
        /// [`PRUNES_PER_REQUEST`] expired nonces of anyone. Emits
        /// [`Event::AttestationRequested`] carrying the nonce, which the TSS node reads from
        /// the block's events (it quotes only nonces requested by its own stash).
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::request_attestation())]
        pub fn request_attestation(
            origin: OriginFor<T>,
            tss_account: T::AccountId,
        ) -> DispatchResult {
            let stash = ensure_signed(origin)?;
            let (nonce, expires_at) = Self::issue_nonce(&stash, &tss_account)?;
            // After issuing, so a refused request changes nothing; the new entry expires in the
            // future and is never pruned here.
            Self::prune_expired(frame_system::Pallet::<T>::block_number(), PRUNES_PER_REQUEST);
            Self::deposit_event(Event::AttestationRequested {
                stash,
                tss_account,
                nonce,
                expires_at,
            });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The storage invariants, each a bug if broken (run after every pallet test, and by
        /// `try-runtime` as the `try_state` hook): accepted measurements and allowed mock PCKs
        /// hold no duplicates; [`NonceExpiryQueue`] has an entry at exactly each position of
        /// `head..tail` (wrapping), in non-decreasing expiry order; every pending nonce has its
        /// `(stash, expires_at)` entry in that queue, so the block hook will prune it.
        #[cfg(any(test, feature = "try-runtime"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            use alloc::collections::btree_set::BTreeSet;
            let measurements = AcceptedMeasurements::<T>::get();
            for (i, m) in measurements.iter().enumerate() {
                ensure!(!measurements[i + 1..].contains(m), "a measurement accepted twice");
            }
            let pcks = AllowedMockPcks::<T>::get();
            for (i, p) in pcks.iter().enumerate() {
                ensure!(!pcks[i + 1..].contains(p), "a mock PCK allowed twice");
            }
            let (head, tail) = NonceExpiryQueueBounds::<T>::get();
            let len = tail.wrapping_sub(head);
            let mut entries: Vec<(u32, Vec<u8>, BlockNumberFor<T>)> = Vec::new();
            for (position, (stash, expires_at)) in NonceExpiryQueue::<T>::iter() {
                let offset = position.wrapping_sub(head);
                ensure!(offset < len, "a queue entry outside head..tail");
                entries.push((offset, stash.encode(), expires_at));
            }
            ensure!(entries.len() as u64 == u64::from(len), "a queue position without an entry");
            entries.sort_by_key(|(offset, _, _)| *offset);
            ensure!(
                entries.windows(2).all(|w| w[0].2 <= w[1].2),
                "the expiry queue is not in expiry order"
            );
            let queued: BTreeSet<(Vec<u8>, BlockNumberFor<T>)> =
                entries.into_iter().map(|(_, stash, expires_at)| (stash, expires_at)).collect();
            for (stash, pending) in PendingNonces::<T>::iter() {
                ensure!(
                    queued.contains(&(stash.encode(), pending.expires_at)),
                    "a pending nonce the expiry queue does not hold"
                );
            }
            Ok(())
        }

        /// Derives, stores (replacing the stash's previous one) and queues a new nonce issued
        /// to `stash` for `tss_account`; returns it with its last usable block.
        pub(crate) fn issue_nonce(
            stash: &T::AccountId,
            tss_account: &T::AccountId,
        ) -> Result<([u8; 32], BlockNumberFor<T>), DispatchError> {
            let (head, tail) = NonceExpiryQueueBounds::<T>::get();
            let next_tail = tail.wrapping_add(1);
            // The queue is a ring over u32 positions; a full ring would overwrite its head.
            ensure!(next_tail != head, Error::<T>::NonceQueueFull);
            let counter = NonceCounter::<T>::get();
            // 2^64 requests cannot happen; wrapping keeps the arithmetic total.
            NonceCounter::<T>::put(counter.wrapping_add(1));
            let parent = frame_system::Pallet::<T>::parent_hash();
            let mut preimage = Vec::with_capacity(NONCE_DOMAIN.len() + 32 + 2 * 32 + 8);
            preimage.extend_from_slice(NONCE_DOMAIN);
            parent.encode_to(&mut preimage);
            stash.encode_to(&mut preimage);
            tss_account.encode_to(&mut preimage);
            preimage.extend_from_slice(&counter.to_le_bytes());
            let nonce = sp_crypto_hashing::blake2_256(&preimage);
            let expires_at =
                frame_system::Pallet::<T>::block_number().saturating_add(T::NonceLifetime::get());
            PendingNonces::<T>::insert(
                stash,
                PendingNonce { tss_account: tss_account.clone(), nonce, expires_at },
            );
            NonceExpiryQueue::<T>::insert(tail, (stash.clone(), expires_at));
            NonceExpiryQueueBounds::<T>::put((head, next_tail));
            Ok((nonce, expires_at))
        }

        /// Pops expired entries (`expires_at < now`) off the head of the expiry queue, at most
        /// `budget`, deleting each stash's pending nonce if it is still the one the entry
        /// recorded. Returns `(entries processed, nonces removed)` for the weight.
        pub(crate) fn prune_expired(now: BlockNumberFor<T>, budget: u32) -> (u32, u32) {
            let (mut head, tail) = NonceExpiryQueueBounds::<T>::get();
            let (mut processed, mut removed) = (0u32, 0u32);
            while head != tail && processed < budget {
                let entry = NonceExpiryQueue::<T>::get(head);
                if let Some((_, expires_at)) = &entry {
                    if *expires_at >= now {
                        break;
                    }
                }
                NonceExpiryQueue::<T>::remove(head);
                head = head.wrapping_add(1);
                processed = processed.saturating_add(1);
                let Some((stash, expires_at)) = entry else { continue };
                // A consumed nonce is gone; a replaced one has a later `expires_at` (or the
                // same one, when replaced in the same block: then it is expired too).
                let still_this_one = PendingNonces::<T>::get(&stash)
                    .is_some_and(|pending| pending.expires_at == expires_at);
                if still_this_one {
                    PendingNonces::<T>::remove(&stash);
                    removed = removed.saturating_add(1);
                }
            }
            if processed > 0 {
                NonceExpiryQueueBounds::<T>::put((head, tail));
            }
            (processed, removed)
        }

        /// The whole policy, for the TSS node (through a runtime API or storage queries): the
        /// accepted measurements, the PCK mode and the mock PCK allow-list.
        pub fn policy_snapshot() -> (Vec<Measurement>, PckMode, Vec<PckKey>) {
            let (mode, pcks) = Self::effective_pck_policy();
            (AcceptedMeasurements::<T>::get().into_inner(), mode, pcks.into_inner())
        }

        /// The PCK mode and mock allow-list verification uses: what storage holds, except that
        /// a runtime without the dev mode always verifies in `Production` with no mock PCK (so
        /// a storage value left by an earlier dev runtime changes nothing).
        pub fn effective_pck_policy() -> (PckMode, BoundedVec<PckKey, T::MaxMockPcks>) {
            if T::DevPckMode::get() {
                (PckPolicyMode::<T>::get(), AllowedMockPcks::<T>::get())
            } else {
                (PckMode::Production, BoundedVec::new())
            }
        }

        /// The nonce pending for `stash` (for which TSS account, until which block), if any.
        pub fn pending_nonce(
            stash: &T::AccountId,
        ) -> Option<PendingNonce<T::AccountId, BlockNumberFor<T>>> {
            PendingNonces::<T>::get(stash)
        }
    }
}

/// Maps the library's verification error to this pallet's error of the same meaning.
///
/// Exhaustive on purpose: a new failure kind in the library must get its own pallet error.
pub(crate) fn map_verify_error<T: Config>(err: VerifyError) -> Error<T> {
    match err {
        VerifyError::Empty => Error::<T>::QuoteEmpty,
        VerifyError::TooLarge => Error::<T>::QuoteTooLarge,
        VerifyError::Truncated => Error::<T>::QuoteTruncated,
        VerifyError::TrailingData => Error::<T>::QuoteTrailingData,
        VerifyError::UnsupportedVersion => Error::<T>::QuoteUnsupportedVersion,
        VerifyError::UnsupportedKeyType => Error::<T>::QuoteUnsupportedKeyType,
        VerifyError::NotTdx => Error::<T>::QuoteNotTdx,
        VerifyError::Malformed => Error::<T>::QuoteMalformed,
        VerifyError::UnsupportedCertificationData => Error::<T>::QuoteUnsupportedCertificationData,
        VerifyError::BadSignature => Error::<T>::QuoteBadSignature,
        VerifyError::AttestationKeyMismatch => Error::<T>::AttestationKeyMismatch,
        VerifyError::DebugTd => Error::<T>::DebugTd,
        VerifyError::PckChainInvalid => Error::<T>::PckChainInvalid,
        VerifyError::PckSignatureInvalid => Error::<T>::PckSignatureInvalid,
        VerifyError::PckNotAllowed => Error::<T>::PckNotAllowed,
        VerifyError::MeasurementNotAccepted => Error::<T>::MeasurementNotAccepted,
        VerifyError::ReportDataMismatch { nonce_ok: false, .. } => Error::<T>::QuoteNonceMismatch,
        VerifyError::ReportDataMismatch { nonce_ok: true, .. } => Error::<T>::ReportDataMismatch,
        VerifyError::PlatformIdMissing => Error::<T>::QuotePlatformIdMissing,
    }
}

impl<T: Config> VerifyAttestation<T::AccountId> for Pallet<T>
where
    T::AccountId: AsRef<[u8; 32]>,
{
    /// On-chain verification always binds the presenting stash: every nonce here was requested
    /// by a stash, and only that stash may present the quote.
    fn verify_and_consume(
        stash: &T::AccountId,
        tss_account: &T::AccountId,
        context: QuoteContext,
        public_key: &[u8; 32],
        peer_id: Option<&[u8]>,
        quote: &[u8],
    ) -> Result<VerifiedQuote, DispatchError> {
        let pending = PendingNonces::<T>::get(stash).ok_or(Error::<T>::NoPendingNonce)?;
        if pending.tss_account != *tss_account {
            return Err(Error::<T>::NonceForOtherAccount.into());
        }
        if frame_system::Pallet::<T>::block_number() > pending.expires_at {
            return Err(Error::<T>::NonceExpired.into());
        }
        let binding = peerseal_attestation::Binding {
            context,
            account: tss_account.as_ref(),
            public_key,
            stash: Some(stash.as_ref()),
            peer_id,
            nonce: &pending.nonce,
        };
        let measurements = AcceptedMeasurements::<T>::get();
        let (pck_mode, pcks) = Self::effective_pck_policy();
        let policy = peerseal_attestation::Policy {
            accepted_measurements: &measurements,
            pck_mode,
            allowed_mock_pcks: &pcks,
        };
        let verified = peerseal_attestation::verify_quote(quote, &binding, &policy)
            .map_err(map_verify_error::<T>)?;
        // Consumed only now: see the crate docs for why a failure keeps the nonce.
        // Its expiry-queue entry stays behind and is skipped when it reaches the head.
        PendingNonces::<T>::remove(stash);
        Self::deposit_event(Event::AttestationVerified {
            stash: stash.clone(),
            tss_account: tss_account.clone(),
            context,
            measurement: verified.measurement,
            pck: verified.pck,
        });
        Ok(verified)
    }

    /// The larger of the two measured verifications: dev mode (mock quote, allow-listed PCK)
    /// and production mode (a real quote, its PCK certificate chain verified to Intel's root).
    fn verify_weight() -> Weight {
        <T as Config>::WeightInfo::verify_and_consume()
            .max(<T as Config>::WeightInfo::verify_production_quote())
    }
}
