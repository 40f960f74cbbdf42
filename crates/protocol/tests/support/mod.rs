//! Fixtures shared by the integration tests: keys and one instance of every message.
// Test fixtures: failing loudly on a broken fixture is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use peerseal_protocol::*;

/// A deterministic sr25519 account key.
pub fn account_key(seed: u8) -> AccountKeypair {
    AccountKeypair::from_seed(&[seed; 32]).unwrap()
}

/// A deterministic x25519 key.
pub fn x25519(seed: u8) -> X25519Secret {
    X25519Secret::from_bytes([seed; 32])
}

pub fn sample_share(account: AccountId, len: usize) -> BackupShare {
    BackupShare {
        account,
        epoch: 7,
        share_index: 2,
        threshold: 2,
        share: ShareBytes::from_slice(&vec![0x5a; len]).unwrap(),
    }
}

pub fn sample_envelope(tag: DomainTag, share_len: usize) -> Sealed {
    let client = account_key(1);
    let share = sample_share(client.account(), share_len);
    seal(&x25519(10).public(), &client, tag, &share.to_payload()).unwrap()
}

pub fn sample_receipt() -> SignedReceipt {
    let provider = account_key(2);
    let receipt = BackupReceipt {
        provider: provider.account(),
        client: account_key(1).account(),
        epoch: 7,
        share_index: 2,
        envelope_digest: sample_envelope(DomainTag::StoreBackup, 32).digest(),
    };
    SignedReceipt::sign(receipt, &provider).unwrap()
}

/// One request of every kind; `quote_len` sizes the `Recover` quote.
pub fn sample_requests(quote_len: usize, share_len: usize) -> Vec<Request> {
    vec![
        Request::StoreBackup(StoreBackup {
            envelope: sample_envelope(DomainTag::StoreBackup, share_len),
        }),
        Request::RequestNonce(RequestNonce { account: AccountId([3; 32]) }),
        Request::Recover(Recover {
            account: AccountId([3; 32]),
            epoch: u64::MAX,
            response_pk: x25519(11).public(),
            quote: QuoteBytes::new(vec![0x42; quote_len]).unwrap(),
        }),
        Request::HealthChallenge(HealthChallenge {
            account: AccountId([3; 32]),
            provider: AccountId([5; 32]),
            epoch: 1,
            challenge: Nonce32([4; 32]),
            signature: Signature([6; 64]),
        }),
        Request::OperatorChallenge(OperatorChallenge { nonce: Nonce32([8; 32]) }),
        Request::OperatorRelease(sample_release(share_len)),
    ]
}

/// An operator's release of a share of `share_len` bytes, as large as the bounds allow.
pub fn sample_release(share_len: usize) -> OperatorRelease {
    let node = account_key(1);
    let operator = x25519(12);
    let share = OperatorShare {
        account: node.account(),
        epoch: 7,
        commitment: [9; 32],
        operator_set: 3,
        threshold: 2,
        index: 1,
        share: ShareBytes::from_slice(&vec![0x5a; share_len]).unwrap(),
    };
    let sealed = share.seal(&operator.public(), &node).unwrap();
    let (_, released) = OperatorShare::open_signed(&operator, &sealed).unwrap();
    released.seal(&x25519(11).public()).unwrap()
}

pub fn all_error_reasons() -> Vec<ErrorReason> {
    let mut reasons = vec![
        ErrorReason::NotRegistered,
        ErrorReason::BadEnvelope,
        ErrorReason::BadSignature,
        ErrorReason::AccountMismatch,
        ErrorReason::NonceUnknown,
        ErrorReason::NonceExpired,
        ErrorReason::NonceReplayed,
        ErrorReason::NonceAccountMismatch,
        ErrorReason::RateLimited { retry_after_secs: 17 },
        ErrorReason::NoBackupHeld,
        ErrorReason::InvalidRequest,
        ErrorReason::Unavailable,
        ErrorReason::Internal,
        ErrorReason::SupersededEpoch,
        ErrorReason::EpochTaken,
        ErrorReason::ShareMismatch,
    ];
    for q in [
        QuoteRejection::Malformed,
        QuoteRejection::BadSignature,
        QuoteRejection::UntrustedPck,
        QuoteRejection::PckMismatch,
        QuoteRejection::ReportDataMismatch,
        QuoteRejection::MeasurementNotAccepted,
        QuoteRejection::PolicyViolation,
        QuoteRejection::Other(0xbeef),
    ] {
        reasons.push(ErrorReason::QuoteRejected(q));
    }
    reasons
}

/// One response of every kind (and every error reason); `share_len` sizes the recovered share.
pub fn sample_responses(share_len: usize) -> Vec<Response> {
    let mut responses = vec![
        Response::BackupReceipt(sample_receipt()),
        Response::Nonce(Nonce { nonce: Nonce32([5; 32]), ttl_secs: 60 }),
        Response::RecoveredShare(RecoveredShare {
            envelope: sample_envelope(DomainTag::RecoveredShare, share_len),
        }),
        Response::HealthProof(HealthProof { mac: [6; 32] }),
        Response::RecoveryQuote(RecoveryQuote {
            account: AccountId([3; 32]),
            epoch: u64::MAX,
            response_pk: x25519(11).public(),
            quote: QuoteBytes::new(vec![0x42; limits::MAX_QUOTE_LEN]).unwrap(),
        }),
        Response::ShareIntake(ShareIntake { held: 1, needed: 2 }),
    ];
    responses.extend(all_error_reasons().into_iter().map(Response::Error));
    responses
}
