//! Property tests: no input makes verification panic (there is no `catch_unwind` in a `no_std`
//! runtime, so the parser itself must be panic-free), and no mutation of a valid quote changes
//! what it verifies as.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use p256::ecdsa::SigningKey;
use peerseal_attestation::{
    platform_id, report_data, verify_quote, Measurement, PckMode, Policy, VerifiedQuote,
    VerifyError, MAX_QUOTE_LEN, MIN_QUOTE_LEN,
};
use proptest::prelude::*;
use std::sync::OnceLock;
use tdx_quote::Quote;

/// Case count: `default`, or `PEERSEAL_FUZZ_CASES` for a longer local or CI run.
fn cases(default: u32) -> u32 {
    std::env::var("PEERSEAL_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn policies() -> [Policy<'static>; 2] {
    [dev_policy(), Policy { pck_mode: PckMode::Production, ..dev_policy() }]
}

fn good_quote() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    CELL.get_or_init(|| quote_for(&register_binding()))
}

/// The PEM chain of the real Intel quote, to mutate as certification data of mock quotes.
fn intel_chain() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    CELL.get_or_init(|| Quote::from_bytes(&intel_quote()).unwrap().pck_cert_chain().unwrap())
}

/// A mock quote whose certification data is `chain`: its signatures are valid, so verification
/// reaches the PCK step and parses `chain` as a certificate chain in production mode.
fn quote_with_chain(chain: Vec<u8>) -> Vec<u8> {
    let ak = SigningKey::from_slice(&[0x42; 32]).unwrap();
    let pck = SigningKey::from_slice(&[0x43; 32]).unwrap();
    Quote::mock(ak, pck, report_data(&register_binding()), chain).as_bytes()
}

/// A header that passes the framing checks, so random bytes after it reach the parser.
fn plausible_prefix() -> Vec<u8> {
    let mut header = vec![0u8; 8];
    header[0..2].copy_from_slice(&4u16.to_le_bytes());
    header[2..4].copy_from_slice(&2u16.to_le_bytes());
    header[4..8].copy_from_slice(&0x81u32.to_le_bytes());
    header
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..MAX_QUOTE_LEN + 64)) {
        for policy in policies() {
            prop_assert!(verify_quote(&bytes, &register_binding(), &policy).is_err());
            prop_assert!(platform_id(&bytes, policy.pck_mode).is_err());
        }
    }

    #[test]
    fn random_bytes_behind_a_valid_header_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..3 * MIN_QUOTE_LEN),
        cert_len in 0u32..4096,
    ) {
        let mut bytes = plausible_prefix();
        bytes.extend_from_slice(&tail);
        // Make the announced certification length plausible half of the time.
        if bytes.len() >= MIN_QUOTE_LEN && cert_len % 2 == 0 {
            let len = (bytes.len() - MIN_QUOTE_LEN) as u32;
            bytes[MIN_QUOTE_LEN - 4..MIN_QUOTE_LEN].copy_from_slice(&len.to_le_bytes());
        }
        for policy in policies() {
            prop_assert!(verify_quote(&bytes, &register_binding(), &policy).is_err());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn mutated_quotes_never_panic_nor_change_what_verifies(
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut quote = good_quote().to_vec();
        for (index, value) in &mutations {
            let i = index.index(quote.len());
            quote[i] = *value;
        }
        if let Some(cut) = cut {
            quote.truncate(cut.index(quote.len()));
        }
        let result = verify_quote(&quote, &register_binding(), &dev_policy());
        // Some bytes are not covered by any signature (for example the signature-section length
        // field, or the marker naming a mock PCK). Changing them may leave the quote valid, but
        // never valid as anything else.
        if let Ok(verified) = result {
            prop_assert_eq!(verified, VerifiedQuote {
                measurement: peerseal_attestation::mock_measurement(),
                pck: peerseal_attestation::dev_mock_pck(),
            });
        }
        let production = Policy { pck_mode: PckMode::Production, ..dev_policy() };
        prop_assert!(verify_quote(&quote, &register_binding(), &production).is_err());
        // The platform claim is signed by nothing (a dev convenience): any value may come out
        // in dev mode, but never a panic, and never a platform in production.
        let _ = platform_id(&quote, PckMode::Dev);
        prop_assert!(platform_id(&quote, PckMode::Production).is_err());
    }

    #[test]
    fn random_certificate_chains_never_panic(chain in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let quote = quote_with_chain(chain);
        let none: [Measurement; 0] = [];
        let policy = Policy { accepted_measurements: &none, pck_mode: PckMode::Production, allowed_mock_pcks: &[] };
        prop_assert_eq!(verify_quote(&quote, &register_binding(), &policy), Err(VerifyError::PckChainInvalid));
    }

    #[test]
    fn mutated_intel_chains_never_panic(
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut chain = intel_chain().to_vec();
        for (index, value) in &mutations {
            let i = index.index(chain.len());
            chain[i] = *value;
        }
        if let Some(cut) = cut {
            chain.truncate(cut.index(chain.len()));
        }
        let quote = quote_with_chain(chain);
        let none: [Measurement; 0] = [];
        let policy = Policy { accepted_measurements: &none, pck_mode: PckMode::Production, allowed_mock_pcks: &[] };
        // The QE report is signed by a mock key, so even an intact Intel chain must fail, at the
        // PCK signature instead of the chain.
        let result = verify_quote(&quote, &register_binding(), &policy);
        prop_assert!(
            matches!(result, Err(VerifyError::PckChainInvalid | VerifyError::PckSignatureInvalid)),
            "unexpected {:?}", result
        );
        prop_assert!(platform_id(&quote, PckMode::Production).is_err());
    }
}

#[test]
fn unmutated_intel_chain_in_a_mock_quote_fails_at_the_pck_signature() {
    let quote = quote_with_chain(intel_chain().to_vec());
    let none: [Measurement; 0] = [];
    let policy = Policy {
        accepted_measurements: &none,
        pck_mode: PckMode::Production,
        allowed_mock_pcks: &[],
    };
    assert_eq!(
        verify_quote(&quote, &register_binding(), &policy),
        Err(VerifyError::PckSignatureInvalid)
    );
}
