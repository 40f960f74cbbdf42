//! # pallet-attestation: which TEE images peerseal trusts, and on-chain quote verification
//!
//! This pallet holds the chain's attestation policy and checks TDX quotes against it. Governance
//! keeps a set of accepted image measurements ([`AcceptedMeasurements`], several at once so an
//! image upgrade can overlap the old one), an allow-list of mock PCK keys for dev chains
//! ([`AllowedMockPcks`]) and the PCK mode ([`PckPolicyMode`]: full Intel certificate chain in
//! production, allow-list in dev — the mode is data, never a compile-time switch). A TSS account
//! asks for a fresh nonce with [`Pallet::request_attestation`], puts it into its quote's report
//! data, and another pallet (the registry) checks the quote through [`VerifyAttestation`], which
//! consumes the nonce.
//!
//! ## Nonces
//! A nonce is `blake2_256(domain ‖ parent hash ‖ account ‖ counter)`: unique thanks to the
//! per-pallet counter and not known before the parent block exists, which is what freshness needs
//! (the nonce is public, it is not a secret). One pending nonce per account; a new request
//! replaces the old one. It is usable up to and including block `expires_at` (request block +
//! [`Config::NonceLifetime`]).
//!
//! **Single use, consumed on success.** A successful verification removes the nonce, so a quote
//! can never be replayed. A failed verification does not consume it: FRAME reverts every storage
//! write of a failed extrinsic, so "consume on failure" could only be had by letting failed
//! registrations succeed as dispatches, which would hide errors from clients. Keeping it is safe:
//! every field of the report data is fixed by the caller and the quote is signed inside the TEE,
//! so retrying against the same nonce gives an attacker nothing to grind on; every attempt pays a
//! transaction fee, and the nonce dies after `NonceLifetime` blocks anyway.
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
pub const NONCE_DOMAIN: &[u8] = b"peerseal/attestation-nonce/v1";

/// Quote verification as other pallets see it.
///
/// The registry calls this during `register` and `change_server_info`; a runtime can swap in a
/// different implementation (for example one that also checks a revocation list).
pub trait VerifyAttestation<AccountId> {
    /// Checks `quote` against the pending nonce of `account` (consuming it on success) and the
    /// current policy. The quote's report data must bind `context`, `account`, `public_key` and
    /// `peer_id` (see `peerseal_attestation::report_data`).
    fn verify_and_consume(
        account: &AccountId,
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

    /// The one pending nonce of each account and the last block it is usable in.
    #[pallet::storage]
    pub type PendingNonces<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, ([u8; 32], BlockNumberFor<T>), OptionQuery>;

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
        /// `who` got a fresh nonce for its quote's report data, usable until block `expires_at`.
        AttestationRequested { who: T::AccountId, nonce: [u8; 32], expires_at: BlockNumberFor<T> },
        /// A quote of `who` passed verification for `context`; its nonce is consumed.
        AttestationVerified {
            who: T::AccountId,
            context: QuoteContext,
            measurement: Measurement,
            pck: PckKey,
        },
    }

    /// Errors of the attestation pallet. Every quote check failure has its own variant.
    #[pallet::error]
    pub enum Error<T> {
        /// The account has no pending nonce: it never called `request_attestation`, or the nonce
        /// was already used (a replayed quote).
        NoPendingNonce,
        /// The account's nonce is past its `expires_at` block; request a new one.
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
        /// The quote's report data does not bind the expected context, account, public key and
        /// peer id.
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
            AllowedMockPcks::<T>::put(pcks);

            PckPolicyMode::<T>::put(self.pck_mode);
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(
                !T::NonceLifetime::get().is_zero(),
                "NonceLifetime must be at least one block, or no nonce could ever be used"
            );
            assert!(T::MaxAcceptedMeasurements::get() > 0, "MaxAcceptedMeasurements must be > 0");
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
        /// Only consulted while the PCK mode is `Dev`. Emits [`Event::MockPckAllowed`].
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::allow_mock_pck())]
        pub fn allow_mock_pck(origin: OriginFor<T>, pck: PckKey) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
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
        /// the call is idempotent for scripts.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::set_pck_mode())]
        pub fn set_pck_mode(origin: OriginFor<T>, mode: PckMode) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            PckPolicyMode::<T>::put(mode);
            Self::deposit_event(Event::PckModeSet { mode });
            Ok(())
        }

        /// Issue a fresh nonce to the signer, the account its quote will bind (the TSS account).
        ///
        /// Replaces any nonce the signer still had. The nonce is usable up to and including
        /// block `expires_at = now + NonceLifetime` and is consumed by a successful
        /// verification. Emits [`Event::AttestationRequested`] carrying the nonce, which the
        /// TSS node reads from the block's events.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::request_attestation())]
        pub fn request_attestation(origin: OriginFor<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let (nonce, expires_at) = Self::issue_nonce(&who);
            Self::deposit_event(Event::AttestationRequested { who, nonce, expires_at });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// Derives, stores and returns a new nonce for `who` with its last usable block.
        pub(crate) fn issue_nonce(who: &T::AccountId) -> ([u8; 32], BlockNumberFor<T>) {
            let counter = NonceCounter::<T>::get();
            // 2^64 requests cannot happen; wrapping keeps the arithmetic total.
            NonceCounter::<T>::put(counter.wrapping_add(1));
            let parent = frame_system::Pallet::<T>::parent_hash();
            let mut preimage = Vec::with_capacity(NONCE_DOMAIN.len() + 32 + 32 + 8);
            preimage.extend_from_slice(NONCE_DOMAIN);
            parent.encode_to(&mut preimage);
            who.encode_to(&mut preimage);
            preimage.extend_from_slice(&counter.to_le_bytes());
            let nonce = sp_crypto_hashing::blake2_256(&preimage);
            let expires_at =
                frame_system::Pallet::<T>::block_number().saturating_add(T::NonceLifetime::get());
            PendingNonces::<T>::insert(who, (nonce, expires_at));
            (nonce, expires_at)
        }

        /// The whole policy, for the TSS node (through a runtime API or storage queries): the
        /// accepted measurements, the PCK mode and the mock PCK allow-list.
        pub fn policy_snapshot() -> (Vec<Measurement>, PckMode, Vec<PckKey>) {
            (
                AcceptedMeasurements::<T>::get().into_inner(),
                PckPolicyMode::<T>::get(),
                AllowedMockPcks::<T>::get().into_inner(),
            )
        }

        /// The pending nonce of `who` and its last usable block, if any.
        pub fn pending_nonce(who: &T::AccountId) -> Option<([u8; 32], BlockNumberFor<T>)> {
            PendingNonces::<T>::get(who)
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
    }
}

impl<T: Config> VerifyAttestation<T::AccountId> for Pallet<T>
where
    T::AccountId: AsRef<[u8; 32]>,
{
    fn verify_and_consume(
        account: &T::AccountId,
        context: QuoteContext,
        public_key: &[u8; 32],
        peer_id: Option<&[u8]>,
        quote: &[u8],
    ) -> Result<VerifiedQuote, DispatchError> {
        let (nonce, expires_at) =
            PendingNonces::<T>::get(account).ok_or(Error::<T>::NoPendingNonce)?;
        if frame_system::Pallet::<T>::block_number() > expires_at {
            return Err(Error::<T>::NonceExpired.into());
        }
        let binding = peerseal_attestation::Binding {
            context,
            account: account.as_ref(),
            public_key,
            peer_id,
            nonce: &nonce,
        };
        let measurements = AcceptedMeasurements::<T>::get();
        let pcks = AllowedMockPcks::<T>::get();
        let policy = peerseal_attestation::Policy {
            accepted_measurements: &measurements,
            pck_mode: PckPolicyMode::<T>::get(),
            allowed_mock_pcks: &pcks,
        };
        let verified = peerseal_attestation::verify_quote(quote, &binding, &policy)
            .map_err(map_verify_error::<T>)?;
        // Consumed only now: see the crate docs for why a failure keeps the nonce.
        PendingNonces::<T>::remove(account);
        Self::deposit_event(Event::AttestationVerified {
            who: account.clone(),
            context,
            measurement: verified.measurement,
            pck: verified.pck,
        });
        Ok(verified)
    }

    fn verify_weight() -> Weight {
        <T as Config>::WeightInfo::verify_and_consume()
    }
}
