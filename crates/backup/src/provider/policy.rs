//! What a provider checks before it releases a share: the chain's attestation policy (cached
//! briefly) applied to the recovering node's quote, with the binding a recovery must carry.
//!
//! The policy is read from the chain through `ChainApi::attestation_policy` and kept for a
//! short time (`ttl`): a burst of recoveries costs one chain query, and a measurement revoked
//! by governance stops being accepted within that time. Verification itself is
//! `peerseal_attestation::verify_quote`, the same code the chain runs for registrations; this
//! module only maps its verdict to the coarse public [`QuoteRejection`] and adds the
//! production-mode rule that the quote's PCK must be the one in the account's registered quote.

use peerseal_attestation::{
    verify_quote, Binding, PckKey, PckMode, Policy, VerifiedQuote, VerifyError,
};
use peerseal_chain::{AttestationPolicy, ChainApi, ChainError};
use peerseal_protocol::{AccountId, Nonce32, QuoteRejection, X25519Public};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The nonce a quote carries in the second half of its report data, if the quote is long
/// enough to have one. Only a lookup key: the full binding is verified afterwards.
pub fn quote_nonce(quote: &[u8]) -> Option<Nonce32> {
    peerseal_attestation::report_data_nonce(quote).map(Nonce32)
}

/// The chain's attestation policy, cached for `ttl`.
pub struct PolicyCache {
    ttl: Duration,
    cached: tokio::sync::Mutex<Option<(Instant, Arc<AttestationPolicy>)>>,
}

impl PolicyCache {
    /// An empty cache whose entries live for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, cached: tokio::sync::Mutex::new(None) }
    }

    /// The policy, from the cache or (one caller at a time) from the chain.
    pub async fn get(&self, chain: &dyn ChainApi) -> Result<Arc<AttestationPolicy>, ChainError> {
        let mut cached = self.cached.lock().await;
        if let Some((at, policy)) = cached.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(policy.clone());
            }
        }
        let policy = Arc::new(chain.attestation_policy().await?);
        *cached = Some((Instant::now(), policy.clone()));
        Ok(policy)
    }
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
    }
}

/// Verifies a recovery quote: context `Recover`, binding `account`, `response_pk` and `nonce`,
/// against `policy`. In production mode the PCK must also equal `registered_pck` (the PCK of
/// the account's registered quote; `None` there means it could not be established, which is
/// a refusal).
pub fn verify_recover_quote(
    quote: &[u8],
    account: &AccountId,
    response_pk: &X25519Public,
    nonce: &Nonce32,
    policy: &AttestationPolicy,
    registered_pck: Option<PckKey>,
) -> Result<VerifiedQuote, QuoteRejection> {
    let binding = Binding::recover(&account.0, &response_pk.0, &nonce.0);
    let policy_ref = Policy {
        accepted_measurements: &policy.accepted_measurements,
        pck_mode: policy.pck_mode,
        allowed_mock_pcks: &policy.allowed_mock_pcks,
    };
    let verified = verify_quote(quote, &binding, &policy_ref).map_err(|e| rejection(&e))?;
    if policy.pck_mode == PckMode::Production && registered_pck != Some(verified.pck) {
        return Err(QuoteRejection::PckMismatch);
    }
    Ok(verified)
}

/// The PCK that certifies a registered (production) quote, via its Intel certificate chain.
/// `None` if the quote does not parse or its chain does not verify.
pub fn registered_pck(quote: &[u8]) -> Option<PckKey> {
    let parsed = tdx_quote::Quote::from_bytes(quote).ok()?;
    let key = parsed.verify().ok()?;
    tdx_quote::encode_verifying_key(&key).ok().map(PckKey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerseal_attestation::{dev_mock_pck, mock_measurement, report_data, MockQuoteProvider};

    fn dev_policy() -> AttestationPolicy {
        AttestationPolicy {
            accepted_measurements: vec![mock_measurement()],
            pck_mode: PckMode::Dev,
            allowed_mock_pcks: vec![dev_mock_pck()],
        }
    }

    fn quote_for(account: &AccountId, pk: &X25519Public, nonce: &Nonce32) -> Vec<u8> {
        let binding = Binding::recover(&account.0, &pk.0, &nonce.0);
        MockQuoteProvider::dev().mock_quote(&report_data(&binding))
    }

    #[test]
    fn nonce_is_read_from_the_report_data_and_binding_is_checked() {
        let (a, pk, n) = (AccountId([1; 32]), X25519Public([2; 32]), Nonce32([3; 32]));
        let quote = quote_for(&a, &pk, &n);
        assert_eq!(quote_nonce(&quote), Some(n));
        assert!(verify_recover_quote(&quote, &a, &pk, &n, &dev_policy(), None).is_ok());
        assert_eq!(
            verify_recover_quote(&quote, &a, &X25519Public([9; 32]), &n, &dev_policy(), None)
                .unwrap_err(),
            QuoteRejection::ReportDataMismatch
        );
        let mut policy = dev_policy();
        policy.accepted_measurements.clear();
        assert_eq!(
            verify_recover_quote(&quote, &a, &pk, &n, &policy, None).unwrap_err(),
            QuoteRejection::MeasurementNotAccepted
        );
        assert_eq!(quote_nonce(&[0u8; 10]), None);
    }

    #[test]
    fn production_mode_refuses_mock_quotes_and_unknown_registered_pck() {
        let (a, pk, n) = (AccountId([1; 32]), X25519Public([2; 32]), Nonce32([3; 32]));
        let quote = quote_for(&a, &pk, &n);
        let mut policy = dev_policy();
        policy.pck_mode = PckMode::Production;
        // A mock quote has no Intel chain: refused before the PCK comparison is reached.
        assert_eq!(
            verify_recover_quote(&quote, &a, &pk, &n, &policy, Some(dev_mock_pck())).unwrap_err(),
            QuoteRejection::UntrustedPck
        );
        assert_eq!(registered_pck(&quote), None);
    }
}
