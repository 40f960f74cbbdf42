//! Round trips of every wire message, and rejection of malformed, oversized and trailing input.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use codec::{Compact, Encode};
use peerseal_protocol::limits::*;
use peerseal_protocol::*;
use support::*;

#[test]
fn every_request_round_trips() {
    for request in sample_requests(5000, 32) {
        let bytes = request.to_bytes().unwrap();
        assert_eq!(Request::from_bytes(&bytes).unwrap(), request);
    }
}

#[test]
fn every_response_round_trips() {
    let responses = sample_responses(64);
    assert_eq!(responses.len(), 6 + 24);
    for response in responses {
        let bytes = response.to_bytes().unwrap();
        assert_eq!(Response::from_bytes(&bytes).unwrap(), response);
    }
}

#[test]
fn backup_share_payload_round_trips() {
    let share = sample_share(AccountId([1; 32]), MAX_SHARE_LEN);
    let payload = share.to_payload();
    assert_eq!(BackupShare::from_payload(&payload).unwrap(), share);
}

#[test]
fn largest_legal_messages_fit_their_frame_bounds() {
    for request in sample_requests(MAX_QUOTE_LEN, MAX_SHARE_LEN) {
        let len = request.to_bytes().unwrap().len();
        assert!(len <= MAX_REQUEST_LEN, "{len}");
    }
    for response in sample_responses(MAX_SHARE_LEN) {
        let len = response.to_bytes().unwrap().len();
        assert!(len <= MAX_RESPONSE_LEN, "{len}");
    }
    // The largest BackupShare payload fits an envelope.
    let payload = sample_share(AccountId([1; 32]), MAX_SHARE_LEN).to_payload();
    assert!(payload.len() <= MAX_ENVELOPE_PAYLOAD_LEN);
}

#[test]
fn field_bounds_are_enforced_on_construction() {
    assert!(QuoteBytes::new(vec![0; MAX_QUOTE_LEN + 1]).is_err());
    assert!(ShareBytes::from_slice(&vec![0; MAX_SHARE_LEN + 1]).is_err());
}

#[test]
fn oversized_quote_field_is_rejected_while_decoding() {
    // Fits the frame bound, but the quote's length prefix is one over the quote bound.
    let mut bytes = vec![2u8]; // Request::Recover
    bytes.extend_from_slice(&[3; 32]);
    bytes.extend_from_slice(&7u64.encode());
    bytes.extend_from_slice(&[4; 32]);
    bytes.extend_from_slice(&Compact((MAX_QUOTE_LEN + 1) as u32).encode());
    bytes.extend(std::iter::repeat_n(0x42, MAX_QUOTE_LEN + 1));
    assert!(bytes.len() <= MAX_REQUEST_LEN);
    assert!(matches!(Request::from_bytes(&bytes), Err(WireError::Malformed(_))));

    // The same with the legal length decodes: the test above fails only on the bound.
    let mut ok = vec![2u8];
    ok.extend_from_slice(&[3; 32]);
    ok.extend_from_slice(&7u64.encode());
    ok.extend_from_slice(&[4; 32]);
    ok.extend_from_slice(&Compact(MAX_QUOTE_LEN as u32).encode());
    ok.extend(std::iter::repeat_n(0x42, MAX_QUOTE_LEN));
    assert!(matches!(Request::from_bytes(&ok), Ok(Request::Recover(_))));
}

#[test]
fn oversized_share_in_payload_is_rejected() {
    let mut bytes = [1u8; 32].to_vec();
    bytes.extend_from_slice(&7u64.encode());
    bytes.extend_from_slice(&[1, 1]);
    bytes.extend_from_slice(&Compact((MAX_SHARE_LEN + 1) as u32).encode());
    bytes.extend(std::iter::repeat_n(0, MAX_SHARE_LEN + 1));
    assert!(BackupShare::from_payload(&bytes).is_err());
}

#[test]
fn input_over_the_frame_bound_is_rejected_before_decoding() {
    let big = vec![1u8; MAX_REQUEST_LEN + 1];
    assert!(matches!(Request::from_bytes(&big), Err(WireError::TooLarge { .. })));
    let big = vec![1u8; MAX_RESPONSE_LEN + 1];
    assert!(matches!(Response::from_bytes(&big), Err(WireError::TooLarge { .. })));
}

#[test]
fn a_response_quote_over_its_field_bound_is_rejected_while_decoding() {
    // Responses share the request frame bound (a cold-starting node's quote travels in one),
    // so the quote's own bound is what stops an oversized one: a `RecoveryQuote` whose length
    // prefix is one over the quote bound, inside a frame that is itself legal.
    let mut bytes = vec![5u8]; // Response::RecoveryQuote
    bytes.extend_from_slice(&[3; 32]); // account
    bytes.extend_from_slice(&7u64.encode()); // epoch
    bytes.extend_from_slice(&[11; 32]); // response key
    bytes.extend_from_slice(&Compact((MAX_QUOTE_LEN + 1) as u32).encode());
    bytes.extend(std::iter::repeat_n(0x42, MAX_QUOTE_LEN + 1));
    assert!(bytes.len() <= MAX_RESPONSE_LEN);
    assert!(matches!(Response::from_bytes(&bytes), Err(WireError::Malformed(_))));
    // The same bytes with a legal quote length decode.
    let mut legal = bytes[..73].to_vec();
    legal.extend_from_slice(&Compact(MAX_QUOTE_LEN as u32).encode());
    legal.extend(std::iter::repeat_n(0x42, MAX_QUOTE_LEN));
    assert!(matches!(Response::from_bytes(&legal), Ok(Response::RecoveryQuote(_))));
}

#[test]
fn trailing_bytes_are_rejected() {
    for request in sample_requests(10, 10) {
        let mut bytes = request.to_bytes().unwrap();
        bytes.push(0);
        assert!(Request::from_bytes(&bytes).is_err());
    }
    for response in sample_responses(10) {
        let mut bytes = response.to_bytes().unwrap();
        bytes.push(0);
        assert!(Response::from_bytes(&bytes).is_err());
    }
}

#[test]
fn unknown_variants_and_truncations_are_rejected() {
    assert!(Request::from_bytes(&[6]).is_err());
    assert!(Request::from_bytes(&[0xff; 40]).is_err());
    assert!(Response::from_bytes(&[7]).is_err());
    assert!(Response::from_bytes(&[4, 17]).is_err()); // ErrorReason index 17 does not exist
    assert!(Response::from_bytes(&[4, 8, 7]).is_err()); // QuoteRejection index 7 does not exist
    assert!(Request::from_bytes(&[]).is_err());
    for request in sample_requests(100, 32) {
        let bytes = request.to_bytes().unwrap();
        for cut in 0..bytes.len() {
            assert!(Request::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}

#[test]
fn variant_indices_are_stable() {
    // The wire does not depend on source order: pin the first byte of each message.
    let firsts: Vec<u8> = sample_requests(1, 1).iter().map(|r| r.to_bytes().unwrap()[0]).collect();
    assert_eq!(firsts, vec![0, 1, 2, 3, 4, 5]);
    let firsts: Vec<u8> =
        sample_responses(1)[..7].iter().map(|r| r.to_bytes().unwrap()[0]).collect();
    assert_eq!(firsts, vec![0, 1, 2, 3, 5, 6, 4], "the last is the first error reason");
    assert_eq!(Response::Error(ErrorReason::ShareMismatch).to_bytes().unwrap(), vec![4, 16]);
    assert_eq!(Response::Error(ErrorReason::Internal).to_bytes().unwrap(), vec![4, 13]);
    assert_eq!(
        Response::Error(ErrorReason::QuoteRejected(QuoteRejection::Other(1))).to_bytes().unwrap(),
        vec![4, 8, 255, 1, 0]
    );
}

#[test]
fn signed_receipt_verifies_and_rejects_tampering() {
    let signed = sample_receipt();
    assert_eq!(signed.verify().unwrap(), &signed.receipt);

    let mut tampered = signed.clone();
    tampered.receipt.epoch += 1;
    assert_eq!(tampered.verify(), Err(EnvelopeError::BadSignature));

    let mut tampered = signed.clone();
    tampered.receipt.envelope_digest[0] ^= 1;
    assert_eq!(tampered.verify(), Err(EnvelopeError::BadSignature));

    // The right fields, signed by a key that is not the named provider.
    let impostor = account_key(9);
    let mut forged = signed.clone();
    forged.signature = SignedReceipt::sign(
        BackupReceipt { provider: impostor.account(), ..signed.receipt.clone() },
        &impostor,
    )
    .unwrap()
    .signature;
    assert_eq!(forged.verify(), Err(EnvelopeError::BadSignature));

    // Signing a receipt that names someone else as provider is refused.
    assert_eq!(
        SignedReceipt::sign(signed.receipt.clone(), &impostor),
        Err(EnvelopeError::WrongSigner)
    );
}

#[test]
fn receipt_signature_is_domain_separated() {
    // A receipt signature is not a valid signature of the bare receipt bytes, so it cannot be
    // replayed where a plain signature over the same bytes would be accepted.
    let signed = sample_receipt();
    assert!(!verify_sr25519(&signed.receipt.provider, &signed.receipt.encode(), &signed.signature));
    assert!(signing::verify_message(
        &signed.receipt.provider,
        DomainTag::Receipt,
        &signed.receipt.encode(),
        &signed.signature
    )
    .is_ok());
    assert!(signing::verify_message(
        &signed.receipt.provider,
        DomainTag::StoreBackup,
        &signed.receipt.encode(),
        &signed.signature
    )
    .is_err());
}

#[test]
fn a_health_challenge_is_good_only_from_its_client_at_its_provider() {
    let client = account_key(1);
    let provider = account_key(2).account();
    let challenge = HealthChallenge::sign(&client, provider, 7, Nonce32([3; 32]));
    assert_eq!(challenge.account, client.account());
    assert_eq!(challenge.verify(&provider), Ok(()));
    // At another provider it is refused before any signature work.
    assert_eq!(challenge.verify(&account_key(3).account()), Err(EnvelopeError::UnexpectedSender));
    // A spoofer naming the client with its own key, or changing any signed field, fails.
    let spoofer = account_key(4);
    let mut spoofed = HealthChallenge::sign(&spoofer, provider, 7, Nonce32([3; 32]));
    spoofed.account = client.account();
    assert_eq!(spoofed.verify(&provider), Err(EnvelopeError::BadSignature));
    for tamper in [
        |c: &mut HealthChallenge| c.epoch += 1,
        |c: &mut HealthChallenge| c.challenge.0[0] ^= 1,
        |c: &mut HealthChallenge| c.signature.0[0] ^= 1,
    ] {
        let mut tampered = challenge.clone();
        tamper(&mut tampered);
        assert_eq!(tampered.verify(&provider), Err(EnvelopeError::BadSignature));
    }
}
