//! What a provider checks before it releases a share: the chain's attestation policy applied
//! to the recovering node's quote, with the binding a recovery must carry.
//!
//! The policy is read through `ChainApi::attestation_policy` at each recovery. The verifying
//! chain client answers it from its verified view in memory, so there is no cache to go stale:
//! a measurement revoked by governance is refused from the first verified block that holds the
//! revocation (and a view older than `MAX_VIEW_AGE` is refused altogether). Verification itself is
//! `peerseal_attestation::verify_quote`, the same code the chain runs for registrations; this
//! module only maps its verdict to the coarse public [`QuoteRejection`] and adds the platform
//! rule: the quote must come from the platform of the account's registered quote, or from the
//! one platform governance approved the account to move to.
//!
//! ## The platform rule
//! A platform is the PPID of the quote's PCK certificate (`peerseal_attestation::platform_id`;
//! in the dev PCK mode, the platform a mock quote claims). The PCK key itself is not compared:
//! a TCB update (microcode, SEAM module) gives a platform a new PCK key and certificate but the
//! same PPID, so a node whose host applied a security update still gets its key back, while a
//! copy of its image on another host does not. A legitimate move to another host is approved
//! by governance (`Registry.approve_move`, audited by its `MoveApproved` event) and read here
//! through the verifying chain client, with a proof, only when the platforms differ: the common
//! case costs no chain read, and an unreadable chain refuses (`Unavailable`), never releases.

use peerseal_attestation::{
    platform_id, verify_quote_with_platform, Binding, PckMode, PlatformId, Policy, VerifyError,
};
use peerseal_chain::{AttestationPolicy, ChainApi, ChainError};
use peerseal_protocol::{AccountId, Nonce32, QuoteRejection, X25519Public};

/// The nonce a quote carries in the second half of its report data, if the quote is long
/// enough to have one. Only a lookup key: the full binding is verified afterwards.
pub fn quote_nonce(quote: &[u8]) -> Option<Nonce32> {
    peerseal_attestation::report_data_nonce(quote).map(Nonce32)
}

/// The public reason for a verifier error.
pub fn rejection(error: &VerifyError) -> QuoteRejection {
    match error {
        VerifyError::Empty
        | VerifyError::TooLarge
        | VerifyError::Truncated
        | VerifyError::TrailingData
        | VerifyError::UnsupportedVersion
        | VerifyError::UnsupportedKeyType
        | VerifyError::NotTdx
        | VerifyError::Malformed
        | VerifyError::UnsupportedCertificationData => QuoteRejection::Malformed,
        VerifyError::BadSignature
        | VerifyError::AttestationKeyMismatch
        | VerifyError::PckSignatureInvalid => QuoteRejection::BadSignature,
        VerifyError::PckChainInvalid | VerifyError::PckNotAllowed => QuoteRejection::UntrustedPck,
        VerifyError::DebugTd => QuoteRejection::PolicyViolation,
        VerifyError::MeasurementNotAccepted => QuoteRejection::MeasurementNotAccepted,
        VerifyError::ReportDataMismatch { .. } => QuoteRejection::ReportDataMismatch,
        VerifyError::PlatformIdMissing => QuoteRejection::PckMismatch,
    }
}

/// Where a verified recovery quote comes from, relative to the account's registration.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PlatformCheck {
    /// The platform of the account's registered quote (a TCB update keeps it): accepted.
    Registered,
    /// Another platform, or the registered quote names none: accepted only if governance
    /// approved the account's move to exactly this platform ([`check_move`]).
    Other(PlatformId),
}

/// Why a quote from another platform was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum MoveRefusal {
    /// Governance approved no move of the account to the quote's platform.
    #[error("no governance-approved move to this platform")]
    NotApproved,
    /// The approved move could not be read (with a proof) from the chain.
    #[error("reading the approved move failed: {0}")]
    Chain(#[from] ChainError),
}

/// Verifies a recovery quote: context `Recover`, binding `account`, `response_pk` and `nonce`,
/// against `policy`, and says whether it comes from `registered`, the platform of the account's
/// registered quote (as proven from the chain; [`registered_platform`]). A quote that names no
/// platform is refused; a registered quote that names none makes every platform
/// [`PlatformCheck::Other`]. The quote is parsed (and its signatures verified) once.
pub fn verify_recover_quote(
    quote: &[u8],
    account: &AccountId,
    response_pk: &X25519Public,
    nonce: &Nonce32,
    policy: &AttestationPolicy,
    registered: Option<PlatformId>,
) -> Result<PlatformCheck, QuoteRejection> {
    let binding = Binding::recover(&account.0, &response_pk.0, &nonce.0);
    let policy_ref = Policy {
        accepted_measurements: &policy.accepted_measurements,
        pck_mode: policy.pck_mode,
        allowed_mock_pcks: &policy.allowed_mock_pcks,
    };
    let (_, platform) =
        verify_quote_with_platform(quote, &binding, &policy_ref).map_err(|e| rejection(&e))?;
    Ok(platform_check(platform, registered))
}

/// The platform of an account's registered quote under `mode`; `None` if it names none (or no
/// longer verifies), in which case only an approved move lets the account recover.
pub fn registered_platform(registered_quote: &[u8], mode: PckMode) -> Option<PlatformId> {
    platform_id(registered_quote, mode).ok()
}

/// The platforms of registered quotes this provider has seen, by SHA-256 of the PCK mode and
/// the quote. Reading a registered quote's platform verifies its signatures (two ECDSA
/// verifications for a mock quote, the PCK chain for a real one), as much again as the
/// recovery quote itself, and the answer is a function of those bytes and the mode alone; so
/// each registered quote is verified once, not at every recovery. Bounded by
/// [`RegisteredPlatforms::CAPACITY`] (at least the registry's server bound): when full it
/// starts over, which costs re-verifying, never a wrong answer.
#[derive(Default)]
pub struct RegisteredPlatforms {
    by_quote: std::collections::HashMap<[u8; 32], Option<PlatformId>>,
}

impl RegisteredPlatforms {
    /// Most entries kept.
    pub const CAPACITY: usize = 4096;

    /// The cache key of `registered_quote` under `mode`.
    pub fn key(registered_quote: &[u8], mode: PckMode) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mode = match mode {
            PckMode::Production => 0u8,
            PckMode::Dev => 1u8,
        };
        Sha256::new().chain_update([mode]).chain_update(registered_quote).finalize().into()
    }

    /// The platform remembered under `key`: `Some(None)` if that quote names none.
    pub fn get(&self, key: &[u8; 32]) -> Option<Option<PlatformId>> {
        self.by_quote.get(key).copied()
    }

    /// Remembers `platform` under `key`.
    pub fn insert(&mut self, key: [u8; 32], platform: Option<PlatformId>) {
        if self.by_quote.len() >= Self::CAPACITY {
            self.by_quote.clear();
        }
        self.by_quote.insert(key, platform);
    }
}

/// Compares a verified quote's platform with the registered one.
pub fn platform_check(platform: PlatformId, registered: Option<PlatformId>) -> PlatformCheck {
    if registered == Some(platform) {
        PlatformCheck::Registered
    } else {
        PlatformCheck::Other(platform)
    }
}

/// The platform rule's last step: [`PlatformCheck::Registered`] passes; another platform
/// passes only if `chain` proves that governance approved `account`'s move to exactly it.
pub async fn check_move(
    chain: &dyn ChainApi,
    account: &AccountId,
    check: PlatformCheck,
) -> Result<(), MoveRefusal> {
    match check {
        PlatformCheck::Registered => Ok(()),
        PlatformCheck::Other(platform) => match chain.approved_move(account).await? {
            Some(approved) if approved == platform => Ok(()),
            _ => Err(MoveRefusal::NotApproved),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerseal_attestation::{
        dev_mock_pck, mock_measurement, mock_pck_key, report_data, MockQuoteProvider,
        DEV_MOCK_PLATFORM,
    };

    const OTHER_SEED: [u8; 32] = [0x77; 32];
    const OTHER_HOST: PlatformId = PlatformId([0xEE; 16]);

    fn dev_policy() -> AttestationPolicy {
        AttestationPolicy {
            accepted_measurements: vec![mock_measurement()],
            pck_mode: PckMode::Dev,
            allowed_mock_pcks: vec![dev_mock_pck(), mock_pck_key(&OTHER_SEED)],
        }
    }

    fn bound(a: &AccountId, pk: &X25519Public, n: &Nonce32) -> [u8; 64] {
        report_data(&Binding::recover(&a.0, &pk.0, &n.0))
    }

    fn quote_for(account: &AccountId, pk: &X25519Public, nonce: &Nonce32) -> Vec<u8> {
        MockQuoteProvider::dev().mock_quote(&bound(account, pk, nonce))
    }

    /// The quote an account registered with (its binding does not matter here).
    fn registered_quote() -> Vec<u8> {
        MockQuoteProvider::dev().mock_quote(&[0; 64])
    }

    /// Its platform, as the provider passes it.
    fn registered() -> Option<PlatformId> {
        registered_platform(&registered_quote(), PckMode::Dev)
    }

    #[test]
    fn registered_platforms_are_remembered_per_quote_and_mode_within_a_bound() {
        let quote = registered_quote();
        let (dev, production) = (
            RegisteredPlatforms::key(&quote, PckMode::Dev),
            RegisteredPlatforms::key(&quote, PckMode::Production),
        );
        assert_ne!(dev, production, "the answer depends on the mode");
        assert_ne!(dev, RegisteredPlatforms::key(&quote[1..], PckMode::Dev));
        let mut cache = RegisteredPlatforms::default();
        assert_eq!(cache.get(&dev), None);
        cache.insert(dev, registered());
        cache.insert(production, None);
        assert_eq!(cache.get(&dev), Some(Some(DEV_MOCK_PLATFORM)));
        assert_eq!(cache.get(&production), Some(None));
        for i in 0..RegisteredPlatforms::CAPACITY {
            cache.insert(RegisteredPlatforms::key(&i.to_le_bytes(), PckMode::Dev), None);
        }
        assert!(cache.by_quote.len() <= RegisteredPlatforms::CAPACITY);
    }

    #[test]
    fn nonce_is_read_from_the_report_data_and_binding_is_checked() {
        let (a, pk, n) = (AccountId([1; 32]), X25519Public([2; 32]), Nonce32([3; 32]));
        let quote = quote_for(&a, &pk, &n);
        let reg = registered();
        assert_eq!(quote_nonce(&quote), Some(n));
        assert_eq!(
            verify_recover_quote(&quote, &a, &pk, &n, &dev_policy(), reg),
            Ok(PlatformCheck::Registered)
        );
        assert_eq!(
            verify_recover_quote(&quote, &a, &X25519Public([9; 32]), &n, &dev_policy(), reg)
                .unwrap_err(),
            QuoteRejection::ReportDataMismatch
        );
        let mut policy = dev_policy();
        policy.accepted_measurements.clear();
        assert_eq!(
            verify_recover_quote(&quote, &a, &pk, &n, &policy, reg).unwrap_err(),
            QuoteRejection::MeasurementNotAccepted
        );
        assert_eq!(quote_nonce(&[0u8; 10]), None);
    }

    #[test]
    fn a_new_pck_on_the_registered_platform_is_the_registered_platform() {
        // A (mock) TCB update: another PCK key, the same platform.
        let (a, pk, n) = (AccountId([1; 32]), X25519Public([2; 32]), Nonce32([3; 32]));
        let updated = MockQuoteProvider::from_seed(OTHER_SEED);
        assert_ne!(updated.pck_key(), dev_mock_pck());
        let quote = updated.mock_quote(&bound(&a, &pk, &n));
        assert_eq!(
            verify_recover_quote(&quote, &a, &pk, &n, &dev_policy(), registered()),
            Ok(PlatformCheck::Registered)
        );
    }

    #[test]
    fn another_platform_needs_an_approved_move() {
        let (a, pk, n) = (AccountId([1; 32]), X25519Public([2; 32]), Nonce32([3; 32]));
        let moved = MockQuoteProvider::dev().with_platform(OTHER_HOST);
        let quote = moved.mock_quote(&bound(&a, &pk, &n));
        assert_eq!(
            verify_recover_quote(&quote, &a, &pk, &n, &dev_policy(), registered()),
            Ok(PlatformCheck::Other(OTHER_HOST))
        );
        // A registered quote that names no platform: every platform is "other".
        let junk = registered_platform(b"junk", PckMode::Dev);
        assert_eq!(junk, None);
        assert_eq!(
            verify_recover_quote(&quote_for(&a, &pk, &n), &a, &pk, &n, &dev_policy(), junk),
            Ok(PlatformCheck::Other(DEV_MOCK_PLATFORM))
        );
        assert_eq!(platform_check(OTHER_HOST, None), PlatformCheck::Other(OTHER_HOST));
        assert_eq!(platform_check(OTHER_HOST, Some(OTHER_HOST)), PlatformCheck::Registered);
    }

    #[test]
    fn production_mode_refuses_mock_quotes_and_reads_the_ppid_of_real_ones() {
        let (a, pk, n) = (AccountId([1; 32]), X25519Public([2; 32]), Nonce32([3; 32]));
        let quote = quote_for(&a, &pk, &n);
        let mut policy = dev_policy();
        policy.pck_mode = PckMode::Production;
        // A mock quote has no Intel chain: refused before the platform is looked at.
        assert_eq!(
            verify_recover_quote(&quote, &a, &pk, &n, &policy, registered()).unwrap_err(),
            QuoteRejection::UntrustedPck
        );
        // A production registration names the PPID of its (verified) PCK certificate; a mock
        // one names nothing there.
        assert_eq!(registered_platform(&registered_quote(), PckMode::Production), None);
        let intel = include_bytes!("../../../attestation/tests/data/intel_tdx_quote_v4.dat");
        let ppid = registered_platform(intel, PckMode::Production).map(|p| hex::encode(p.0));
        assert_eq!(ppid.as_deref(), Some("c335f11e70bb1c8ed05276ad85084c3c"));
    }
}
