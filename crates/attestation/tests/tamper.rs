//! The tamper matrix: one accepted quote, and every way of spoiling it, each rejected with the
//! error that names what was spoiled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use peerseal_attestation::{
    dev_mock_pck, mock_measurement, verify_quote, Binding, Measurement, PckKey, PckMode, Policy,
    QuoteContext, VerifiedQuote, VerifyError, MAX_QUOTE_LEN,
};

fn flipped(mut quote: Vec<u8>, offset: usize) -> Vec<u8> {
    quote[offset] ^= 0x01;
    quote
}

fn binding_mismatch() -> VerifyError {
    VerifyError::ReportDataMismatch { nonce_ok: true, binding_ok: false }
}

#[test]
fn accepted_quote_verifies() {
    let binding = register_binding();
    let verified = verify_quote(&quote_for(&binding), &binding, &dev_policy());
    assert_eq!(
        verified,
        Ok(VerifiedQuote { measurement: mock_measurement(), pck: dev_mock_pck() })
    );
}

#[test]
fn wrong_nonce_is_rejected() {
    let quote = quote_for(&register_binding());
    let other = [0x01; 32];
    let binding = Binding { nonce: &other, ..register_binding() };
    assert_eq!(
        verify_quote(&quote, &binding, &dev_policy()),
        Err(VerifyError::ReportDataMismatch { nonce_ok: false, binding_ok: true })
    );
}

#[test]
fn wrong_account_is_rejected() {
    let quote = quote_for(&register_binding());
    let other = [0x02; 32];
    let binding = Binding { account: &other, ..register_binding() };
    assert_eq!(verify_quote(&quote, &binding, &dev_policy()), Err(binding_mismatch()));
}

#[test]
fn wrong_stash_is_rejected() {
    // A registration quote copied and presented by another stash, or with the stash left out.
    let quote = quote_for(&register_binding());
    let other = [0x04; 32];
    for stash in [Some(&other), None] {
        let binding = Binding { stash, ..register_binding() };
        assert_eq!(verify_quote(&quote, &binding, &dev_policy()), Err(binding_mismatch()));
    }
}

#[test]
fn wrong_response_key_is_rejected() {
    let recover = Binding {
        context: QuoteContext::Recover,
        stash: None,
        peer_id: None,
        ..register_binding()
    };
    let quote = quote_for(&recover);
    assert!(verify_quote(&quote, &recover, &dev_policy()).is_ok());
    let other = [0x03; 32];
    let binding = Binding { public_key: &other, ..recover };
    assert_eq!(verify_quote(&quote, &binding, &dev_policy()), Err(binding_mismatch()));
}

#[test]
fn wrong_context_is_rejected() {
    let quote = quote_for(&register_binding());
    for context in [QuoteContext::Recover, QuoteContext::ChangeServerInfo] {
        let binding = Binding { context, ..register_binding() };
        assert_eq!(verify_quote(&quote, &binding, &dev_policy()), Err(binding_mismatch()));
    }
}

#[test]
fn wrong_peer_id_is_rejected() {
    let quote = quote_for(&register_binding());
    let mut other = PEER_ID.to_vec();
    other[10] ^= 0xff;
    for peer_id in [Some(&other[..]), None, Some(&[][..])] {
        let binding = Binding { peer_id, ..register_binding() };
        assert_eq!(verify_quote(&quote, &binding, &dev_policy()), Err(binding_mismatch()));
    }
}

#[test]
fn measurement_not_accepted_is_rejected() {
    let binding = register_binding();
    let only_other = [Measurement([0x55; 32])];
    let policy = Policy { accepted_measurements: &only_other, ..dev_policy() };
    assert_eq!(
        verify_quote(&quote_for(&binding), &binding, &policy),
        Err(VerifyError::MeasurementNotAccepted)
    );
    let none: [Measurement; 0] = [];
    let policy = Policy { accepted_measurements: &none, ..dev_policy() };
    assert_eq!(
        verify_quote(&quote_for(&binding), &binding, &policy),
        Err(VerifyError::MeasurementNotAccepted)
    );
}

#[test]
fn pck_not_allowed_is_rejected() {
    let binding = register_binding();
    let quote = quote_for(&binding);
    let only_other = [PckKey([0x02; 33]), peerseal_attestation::mock_pck_key(&[7u8; 32])];
    let policy = Policy { allowed_mock_pcks: &only_other, ..dev_policy() };
    assert_eq!(verify_quote(&quote, &binding, &policy), Err(VerifyError::PckNotAllowed));
    let policy = Policy { allowed_mock_pcks: &[], ..dev_policy() };
    assert_eq!(verify_quote(&quote, &binding, &policy), Err(VerifyError::PckNotAllowed));
}

#[test]
fn flipped_byte_in_body_is_rejected() {
    let binding = register_binding();
    for offset in [BODY_OFFSET, MRTD_OFFSET, REPORT_DATA_OFFSET, REPORT_DATA_OFFSET + 63] {
        let quote = flipped(quote_for(&binding), offset);
        assert_eq!(
            verify_quote(&quote, &binding, &dev_policy()),
            Err(VerifyError::BadSignature),
            "offset {offset}"
        );
    }
}

#[test]
fn flipped_byte_in_quote_signature_is_rejected() {
    let binding = register_binding();
    for offset in [SIGNATURE_OFFSET, SIGNATURE_OFFSET + 40, ATTESTATION_KEY_OFFSET + 5] {
        let quote = flipped(quote_for(&binding), offset);
        assert_eq!(
            verify_quote(&quote, &binding, &dev_policy()),
            Err(VerifyError::BadSignature),
            "offset {offset}"
        );
    }
}

#[test]
fn flipped_byte_in_pck_signature_is_rejected() {
    let binding = register_binding();
    for offset in [PCK_SIGNATURE_OFFSET, PCK_SIGNATURE_OFFSET + 63, CERT_DATA_OFFSET] {
        let quote = flipped(quote_for(&binding), offset);
        assert_eq!(
            verify_quote(&quote, &binding, &dev_policy()),
            Err(VerifyError::PckSignatureInvalid),
            "offset {offset}"
        );
    }
}

#[test]
fn flipped_attestation_key_hash_in_qe_report_is_rejected() {
    let binding = register_binding();
    let quote = flipped(quote_for(&binding), QE_REPORT_AK_HASH_OFFSET);
    assert_eq!(
        verify_quote(&quote, &binding, &dev_policy()),
        Err(VerifyError::AttestationKeyMismatch)
    );
}

#[test]
fn truncated_quote_is_rejected() {
    let binding = register_binding();
    let quote = quote_for(&binding);
    for len in [quote.len() - 1, quote.len() / 2, CERT_DATA_OFFSET, 100, 8, 1] {
        assert_eq!(
            verify_quote(&quote[..len], &binding, &dev_policy()),
            Err(VerifyError::Truncated),
            "len {len}"
        );
    }
}

#[test]
fn empty_input_is_rejected() {
    assert_eq!(verify_quote(&[], &register_binding(), &dev_policy()), Err(VerifyError::Empty));
}

#[test]
fn one_mib_of_garbage_is_rejected_before_parsing() {
    // Deterministic pseudo-random bytes (xorshift) so a failure reproduces.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let garbage: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let binding = register_binding();
    assert_eq!(verify_quote(&garbage, &binding, &dev_policy()), Err(VerifyError::TooLarge));
    // A valid quote padded past the bound is rejected the same way: the bound comes first.
    let mut padded = quote_for(&binding);
    padded.resize(MAX_QUOTE_LEN + 1, 0);
    assert_eq!(verify_quote(&padded, &binding, &dev_policy()), Err(VerifyError::TooLarge));
}

#[test]
fn garbage_within_the_bound_is_rejected_without_panicking() {
    let binding = register_binding();
    let garbage = vec![0xAB; MAX_QUOTE_LEN];
    assert_eq!(
        verify_quote(&garbage, &binding, &dev_policy()),
        Err(VerifyError::UnsupportedVersion)
    );
}

#[test]
fn trailing_data_is_rejected_but_zero_padding_is_not() {
    let binding = register_binding();
    let mut quote = quote_for(&binding);
    quote.extend_from_slice(&[0u8; 70]);
    assert!(verify_quote(&quote, &binding, &dev_policy()).is_ok());
    quote.push(1);
    assert_eq!(verify_quote(&quote, &binding, &dev_policy()), Err(VerifyError::TrailingData));
}

#[test]
fn production_mode_rejects_a_mock_quote() {
    let binding = register_binding();
    let policy = Policy { pck_mode: PckMode::Production, ..dev_policy() };
    assert_eq!(
        verify_quote(&quote_for(&binding), &binding, &policy),
        Err(VerifyError::PckChainInvalid)
    );
}

#[test]
fn production_mode_accepts_a_genuine_intel_chain() {
    // The real quote's report data binds nothing of ours, so the furthest it can get is the
    // report-data check; reaching the measurement check proves the PCK chain verified.
    let quote = intel_quote();
    let binding = register_binding();
    let none: [Measurement; 0] = [];
    let production = Policy {
        accepted_measurements: &none,
        pck_mode: PckMode::Production,
        allowed_mock_pcks: &[],
    };
    assert_eq!(
        verify_quote(&quote, &binding, &production),
        Err(VerifyError::MeasurementNotAccepted)
    );

    let parsed = tdx_quote::Quote::from_bytes(&quote).expect("test vector parses");
    let measurement = Measurement::from_registers(
        &parsed.mrtd(),
        &[parsed.rtmr0(), parsed.rtmr1(), parsed.rtmr2(), parsed.rtmr3()],
    );
    let accepted = [measurement];
    let production = Policy { accepted_measurements: &accepted, ..production };
    assert_eq!(
        verify_quote(&quote, &binding, &production),
        Err(VerifyError::ReportDataMismatch { nonce_ok: false, binding_ok: false })
    );

    // Dev mode does not trust Intel's chain: only allow-listed keys count.
    let dev = Policy { pck_mode: PckMode::Dev, allowed_mock_pcks: allowed(), ..production };
    assert_eq!(verify_quote(&quote, &binding, &dev), Err(VerifyError::PckNotAllowed));
    // ...but an allow-listed real PCK is found by trying the allowed keys.
    let known_pck = tdx_quote::encode_verifying_key(&parsed.verify().expect("chain verifies"))
        .expect("compressible");
    let with_real = [dev_mock_pck(), PckKey(known_pck)];
    let dev = Policy { allowed_mock_pcks: &with_real, ..dev };
    assert_eq!(
        verify_quote(&quote, &binding, &dev),
        Err(VerifyError::ReportDataMismatch { nonce_ok: false, binding_ok: false })
    );
}

#[test]
fn production_mode_rejects_a_tampered_intel_chain() {
    let mut quote = intel_quote();
    let begin = quote
        .windows(27)
        .position(|w| w == b"-----BEGIN CERTIFICATE-----")
        .expect("PEM chain present");
    // Change one base64 character well inside the leaf certificate ('A' <-> 'B' stays valid
    // base64, so this corrupts the DER content, not the PEM armour).
    let target = begin + 200;
    quote[target] = if quote[target] == b'A' { b'B' } else { b'A' };
    let none: [Measurement; 0] = [];
    let production = Policy {
        accepted_measurements: &none,
        pck_mode: PckMode::Production,
        allowed_mock_pcks: &[],
    };
    assert_eq!(
        verify_quote(&quote, &register_binding(), &production),
        Err(VerifyError::PckChainInvalid)
    );
}

#[test]
fn every_rejection_in_the_matrix_has_its_own_variant() {
    // Collect the error of each row above in one place and check the distinct failure classes
    // really map to distinct errors (rows that are cryptographically indistinguishable, such as
    // a flipped body byte and a flipped signature byte, share one by necessity).
    let binding = register_binding();
    let good = quote_for(&binding);
    let other = [0x09; 32];
    let production = Policy { pck_mode: PckMode::Production, ..dev_policy() };
    let no_measurement = Policy { accepted_measurements: &[], ..dev_policy() };
    let no_pck = Policy { allowed_mock_pcks: &[], ..dev_policy() };
    let mut garbage = vec![0x5A; 1 << 20];
    garbage[0] = 4;
    let errors = [
        verify_quote(&good, &Binding { nonce: &other, ..binding }, &dev_policy()),
        verify_quote(&good, &Binding { account: &other, ..binding }, &dev_policy()),
        verify_quote(&good, &binding, &no_measurement),
        verify_quote(&good, &binding, &no_pck),
        verify_quote(&flipped(good.clone(), MRTD_OFFSET), &binding, &dev_policy()),
        verify_quote(&flipped(good.clone(), PCK_SIGNATURE_OFFSET), &binding, &dev_policy()),
        verify_quote(&flipped(good.clone(), QE_REPORT_AK_HASH_OFFSET), &binding, &dev_policy()),
        verify_quote(&good[..good.len() - 1], &binding, &dev_policy()),
        verify_quote(&[], &binding, &dev_policy()),
        verify_quote(&garbage, &binding, &dev_policy()),
        verify_quote(&good, &binding, &production),
    ];
    let errors: Vec<VerifyError> = errors.into_iter().map(|r| r.expect_err("rejected")).collect();
    for (i, a) in errors.iter().enumerate() {
        for b in &errors[i + 1..] {
            assert_ne!(a, b);
        }
    }
}
