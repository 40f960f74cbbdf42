//! The verification policy: is this quote a genuine TDX quote, from an accepted image, bound to
//! what the caller expects?
//!
//! Order: framing (size bound before anything else) → parse and attestation-key signature
//! (tdx-quote) → platform checks (not a debug TD) → PCK (certificate chain or allow-list, chosen
//! by [`PckMode`] *data*) → measurement → report data. Authenticity comes first so that the error
//! names the most basic problem.
//!
//! What production mode does *not* check (it needs Intel's PCS collateral, which a runtime cannot
//! fetch): certificate validity periods and revocation lists, the platform's TCB level, and the
//! quoting enclave's identity. A genuine but out-of-date or revoked platform passes; governance
//! must revoke measurements accordingly, or a collateral-checking step must be added.

use crate::{
    dev::{compress, parse_mock_claim},
    error::VerifyError,
    framing::check_framing,
    report_data::{check_report_data, Binding},
    types::{Measurement, PckKey, PckMode, PlatformId},
};
use tdx_quote::{
    decode_verifying_key, CertificationData, CertificationDataInner, Quote, QuoteParseError,
    QuoteVerificationError,
};

/// What a quote is judged against. Borrowed so a pallet can pass its storage without copying.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Policy<'a> {
    /// Measurements of the images allowed to run a TSS server (several during an upgrade).
    pub accepted_measurements: &'a [Measurement],
    /// How the PCK is judged.
    pub pck_mode: PckMode,
    /// The mock PCKs accepted in [`PckMode::Dev`]; ignored in [`PckMode::Production`].
    pub allowed_mock_pcks: &'a [PckKey],
}

/// What a successful verification established.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VerifiedQuote {
    /// The measurement of the TD (one of the accepted ones).
    pub measurement: Measurement,
    /// The PCK that vouched for the platform.
    pub pck: PckKey,
}

/// Bit 0 of TDATTRIBUTES: the TD is debuggable, so the host can read its memory and secrets.
const TD_ATTRIBUTE_DEBUG: u8 = 0x01;

/// Verifies `quote` against `policy` and `binding`. Never panics, whatever the input.
pub fn verify_quote(
    quote: &[u8],
    binding: &Binding<'_>,
    policy: &Policy<'_>,
) -> Result<VerifiedQuote, VerifyError> {
    verify_parsed(&parse_framed(quote)?, binding, policy)
}

/// [`verify_quote`], and the platform the verified quote comes from (what
/// [`crate::platform_id`] says of the same bytes), from one parse: parsing verifies the
/// attestation key's signature, and in production mode the PCK chain is verified once, not again
/// for the platform.
pub fn verify_quote_with_platform(
    quote: &[u8],
    binding: &Binding<'_>,
    policy: &Policy<'_>,
) -> Result<(VerifiedQuote, PlatformId), VerifyError> {
    let parsed = parse_framed(quote)?;
    let verified = verify_parsed(&parsed, binding, policy)?;
    // In production mode `verify_parsed` verified the chain and the PCK's signature; in dev mode
    // only the allow-listed key's, so a real chain there is still verified for its platform.
    let chain_verified = policy.pck_mode == PckMode::Production;
    let platform = crate::platform::platform_of(&parsed, policy.pck_mode, chain_verified)?;
    Ok((verified, platform))
}

fn verify_parsed(
    parsed: &Quote,
    binding: &Binding<'_>,
    policy: &Policy<'_>,
) -> Result<VerifiedQuote, VerifyError> {
    if parsed.body.tdattributes[0] & TD_ATTRIBUTE_DEBUG != 0 {
        return Err(VerifyError::DebugTd);
    }

    let pck = match policy.pck_mode {
        PckMode::Production => production_pck(parsed)?,
        PckMode::Dev => dev_pck(parsed, policy.allowed_mock_pcks)?,
    };

    let measurement = Measurement::from_registers(
        &parsed.body.mrtd,
        &[parsed.body.rtmr0, parsed.body.rtmr1, parsed.body.rtmr2, parsed.body.rtmr3],
    );
    if !policy.accepted_measurements.contains(&measurement) {
        return Err(VerifyError::MeasurementNotAccepted);
    }

    check_report_data(&parsed.body.reportdata, binding)?;

    Ok(VerifiedQuote { measurement, pck })
}

/// The measurement a quote claims (its MRTD and RTMR0..3), once its framing and the attestation
/// key's signature are checked; nothing else (PCK, policy, binding) is. For benchmarks and tools
/// that must accept a given quote's image before verifying it.
pub fn claimed_measurement(quote: &[u8]) -> Result<Measurement, VerifyError> {
    let parsed = parse_framed(quote)?;
    let body = &parsed.body;
    Ok(Measurement::from_registers(&body.mrtd, &[body.rtmr0, body.rtmr1, body.rtmr2, body.rtmr3]))
}

/// The framing checks (size bound first), then tdx-quote's parse, which also verifies the
/// attestation key's signature over header and body.
pub(crate) fn parse_framed(quote: &[u8]) -> Result<Quote, VerifyError> {
    let end = check_framing(quote)?;
    // `check_framing` returned an end within the input; `get` keeps it panic-free regardless.
    let quote = quote.get(..end).ok_or(VerifyError::Truncated)?;
    Quote::from_bytes(quote).map_err(map_parse_error)
}

/// The PCK certificate chain slot of a quote's QE-report certification data: `Some` bytes (a
/// PEM chain, or a mock claim) when it holds a chain, `None` when it holds another kind.
pub(crate) fn embedded_chain(quote: &Quote) -> Result<Option<&[u8]>, VerifyError> {
    match &quote.certification_data {
        CertificationData::QeReportCertificationData(data) => match &data.certification_data {
            CertificationDataInner::PckCertChain(chain) => Ok(Some(chain.as_slice())),
            _ => Ok(None),
        },
        _ => Err(VerifyError::UnsupportedCertificationData),
    }
}

fn map_parse_error(error: QuoteParseError) -> VerifyError {
    match error {
        // tdx-quote reports both a failed signature and an undecodable key or signature as
        // `Verification`: either way the header and body are not authenticated.
        QuoteParseError::Verification => VerifyError::BadSignature,
        QuoteParseError::AttestationKeyDoesNotMatch => VerifyError::AttestationKeyMismatch,
        QuoteParseError::UnknownCertificationDataType => VerifyError::UnsupportedCertificationData,
        QuoteParseError::UnknownQuoteVersion => VerifyError::UnsupportedVersion,
        QuoteParseError::UnsupportedAttestationKeyType => VerifyError::UnsupportedKeyType,
        QuoteParseError::Parse | QuoteParseError::IntConversionError => VerifyError::Malformed,
    }
}

/// Production: the PCK is whatever key the embedded certificate chain certifies up to Intel's
/// SGX root CA, and it must have signed the QE report.
pub(crate) fn production_pck(quote: &Quote) -> Result<PckKey, VerifyError> {
    match quote.verify() {
        Ok(pck) => Ok(compress(&pck)),
        Err(QuoteVerificationError::BadSignature) => Err(VerifyError::PckSignatureInvalid),
        Err(QuoteVerificationError::NoQeReportCertificationData) => {
            Err(VerifyError::UnsupportedCertificationData)
        }
        Err(QuoteVerificationError::NoPckCertChain)
        | Err(QuoteVerificationError::PckParseVerify(_)) => Err(VerifyError::PckChainInvalid),
    }
}

/// Dev: the PCK must be on the allow-list and must have signed the QE report. A mock quote names
/// its PCK (see [`crate::dev`]); for any other quote each allowed key is tried in turn.
fn dev_pck(quote: &Quote, allowed: &[PckKey]) -> Result<PckKey, VerifyError> {
    let chain = embedded_chain(quote)?;
    if let Some(claimed) = chain.and_then(parse_mock_claim).map(|claim| claim.pck) {
        if !allowed.contains(&claimed) {
            return Err(VerifyError::PckNotAllowed);
        }
        let key = decode_verifying_key(&claimed.0).map_err(|_| VerifyError::PckSignatureInvalid)?;
        return match quote.verify_with_pck(&key) {
            Ok(()) => Ok(claimed),
            Err(_) => Err(VerifyError::PckSignatureInvalid),
        };
    }
    allowed
        .iter()
        .find(|candidate| {
            decode_verifying_key(&candidate.0).is_ok_and(|key| quote.verify_with_pck(&key).is_ok())
        })
        .copied()
        .ok_or(VerifyError::PckNotAllowed)
}

#[cfg(all(test, feature = "std"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::{
        dev::{dev_mock_pck, mock_attestation_signing_key, mock_measurement},
        report_data::report_data,
        types::QuoteContext,
        MockQuoteProvider, DEV_MOCK_PCK_SEED,
    };
    use p256::ecdsa::{signature::Signer, Signature};

    const NONCE: [u8; 32] = [5; 32];
    const KEY: [u8; 32] = [6; 32];

    fn binding() -> Binding<'static> {
        Binding {
            context: QuoteContext::Recover,
            account: &KEY,
            public_key: &KEY,
            stash: None,
            peer_id: None,
            nonce: &NONCE,
        }
    }

    /// A dev mock quote with `edit` applied to its header and body, re-signed with the dev
    /// attestation key: lets the tests build authentic quotes the mock builder cannot.
    fn resigned(edit: impl FnOnce(&mut [u8])) -> alloc::vec::Vec<u8> {
        let mut quote = MockQuoteProvider::dev().mock_quote(&report_data(&binding()));
        edit(&mut quote[..632]);
        let signature: Signature =
            mock_attestation_signing_key(&DEV_MOCK_PCK_SEED).sign(&quote[..632]);
        quote[636..700].copy_from_slice(&signature.to_bytes());
        quote
    }

    fn policy<'a>(accepted: &'a [Measurement], allowed: &'a [PckKey]) -> Policy<'a> {
        Policy {
            accepted_measurements: accepted,
            pck_mode: PckMode::Dev,
            allowed_mock_pcks: allowed,
        }
    }

    #[test]
    fn resigning_without_edits_still_verifies() {
        let accepted = [mock_measurement()];
        let allowed = [dev_mock_pck()];
        let quote = resigned(|_| {});
        assert!(verify_quote(&quote, &binding(), &policy(&accepted, &allowed)).is_ok());
    }

    #[test]
    fn debug_td_is_rejected_even_when_authentic() {
        let accepted = [mock_measurement()];
        let allowed = [dev_mock_pck()];
        // TDATTRIBUTES is at body offset 120; bit 0 is DEBUG.
        let quote = resigned(|signed| signed[48 + 120] |= 0x01);
        assert_eq!(
            verify_quote(&quote, &binding(), &policy(&accepted, &allowed)),
            Err(VerifyError::DebugTd)
        );
    }

    #[test]
    fn other_registers_give_another_measurement() {
        let allowed = [dev_mock_pck()];
        let mut mrtd = [0u8; 48];
        mrtd[0] = 0xEE;
        let quote = resigned(|signed| signed[48 + 136] = 0xEE);
        let expected = Measurement::from_registers(&mrtd, &[[0u8; 48]; 4]);
        let accepted = [mock_measurement()];
        assert_eq!(
            verify_quote(&quote, &binding(), &policy(&accepted, &allowed)),
            Err(VerifyError::MeasurementNotAccepted)
        );
        let accepted = [expected];
        assert_eq!(
            verify_quote(&quote, &binding(), &policy(&accepted, &allowed)).map(|v| v.measurement),
            Ok(expected)
        );
    }

    #[test]
    fn sgx_quotes_are_not_tdx() {
        let accepted = [mock_measurement()];
        let allowed = [dev_mock_pck()];
        let quote = resigned(|signed| signed[4..8].copy_from_slice(&0u32.to_le_bytes()));
        assert_eq!(
            verify_quote(&quote, &binding(), &policy(&accepted, &allowed)),
            Err(VerifyError::NotTdx)
        );
    }
}
