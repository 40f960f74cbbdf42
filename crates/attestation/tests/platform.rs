//! Platform identity of mock quotes (the real quote's PPID is tested beside the parser, in
//! `src/platform.rs`): the dev platform every mock quote claims, kept across a mock TCB update
//! (another seed), changed by `with_platform` (another host), and never believed in production.
//! In its own binary because the providers' log-capture test counts every mock constructed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal_attestation::{
    mock_measurement, platform_id, report_data, verify_quote, verify_quote_with_platform, Binding,
    MockQuoteProvider, PckMode, PlatformId, Policy, VerifyError, DEV_MOCK_PLATFORM,
};

#[test]
fn mock_quotes_carry_a_platform_that_a_new_seed_keeps_and_production_refuses() {
    let data = [0x5Au8; 64];
    let dev = MockQuoteProvider::dev();
    assert_eq!(dev.platform(), DEV_MOCK_PLATFORM);
    assert_eq!(platform_id(&dev.mock_quote(&data), PckMode::Dev), Ok(DEV_MOCK_PLATFORM));
    // A mock TCB update: another PCK, the same platform.
    let updated = MockQuoteProvider::from_seed([0x77; 32]);
    assert_ne!(updated.pck_key(), dev.pck_key());
    assert_eq!(platform_id(&updated.mock_quote(&data), PckMode::Dev), Ok(DEV_MOCK_PLATFORM));
    // A mock move to another host.
    let moved = MockQuoteProvider::dev().with_platform(PlatformId([0xEE; 16]));
    assert_eq!(moved.pck_key(), dev.pck_key());
    assert_eq!(platform_id(&moved.mock_quote(&data), PckMode::Dev), Ok(PlatformId([0xEE; 16])));
    // The claim is a dev convenience: production believes no mock platform.
    assert_eq!(
        platform_id(&moved.mock_quote(&data), PckMode::Production),
        Err(VerifyError::PckChainInvalid)
    );
    assert!(platform_id(&[0u8; 16], PckMode::Dev).is_err());
}

#[test]
fn verifying_with_the_platform_agrees_with_verifying_then_asking_for_it() {
    let (account, pk, nonce) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let binding = Binding::recover(&account, &pk, &nonce);
    for provider in
        [MockQuoteProvider::dev(), MockQuoteProvider::dev().with_platform(PlatformId([0xEE; 16]))]
    {
        let quote = provider.mock_quote(&report_data(&binding));
        let allowed = [provider.pck_key()];
        let measurements = [mock_measurement()];
        let policy = Policy {
            accepted_measurements: &measurements,
            pck_mode: PckMode::Dev,
            allowed_mock_pcks: &allowed,
        };
        let verified = verify_quote(&quote, &binding, &policy).unwrap();
        assert_eq!(
            verify_quote_with_platform(&quote, &binding, &policy),
            Ok((verified, platform_id(&quote, PckMode::Dev).unwrap()))
        );
        // A failed verification fails the same way, before any platform is read.
        let other = Binding::recover(&account, &[9u8; 32], &nonce);
        assert_eq!(
            verify_quote_with_platform(&quote, &other, &policy).map(|_| ()),
            verify_quote(&quote, &other, &policy).map(|_| ())
        );
    }
}
