//! HPKE envelopes: round trip and every rejection a recipient must make; sr25519
//! interoperability with sp-core; secrets stay out of `Debug`.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use peerseal_protocol::limits::MAX_ENVELOPE_PAYLOAD_LEN;
use peerseal_protocol::*;
use sp_core::Pair as _;
use support::*;

#[test]
fn store_backup_round_trip() {
    let client = account_key(1);
    let provider = x25519(10);
    let share = sample_share(client.account(), 33);
    let sealed =
        seal(&provider.public(), &client, DomainTag::StoreBackup, &share.to_payload()).unwrap();
    let (sender, payload) = open(&provider, DomainTag::StoreBackup, &sealed).unwrap();
    assert_eq!(sender, client.account());
    assert_eq!(BackupShare::from_payload(&payload).unwrap(), share);
}

#[test]
fn recovered_share_round_trip_to_a_fresh_response_key() {
    let provider = account_key(2);
    let response_key = X25519Secret::generate();
    let share = sample_share(account_key(1).account(), 33);
    let sealed =
        seal(&response_key.public(), &provider, DomainTag::RecoveredShare, &share.to_payload())
            .unwrap();
    let (sender, payload) = open(&response_key, DomainTag::RecoveredShare, &sealed).unwrap();
    assert_eq!(sender, provider.account());
    assert_eq!(BackupShare::from_payload(&payload).unwrap(), share);
}

#[test]
fn each_seal_is_fresh() {
    let sealed_a = sample_envelope(DomainTag::StoreBackup, 32);
    let sealed_b = sample_envelope(DomainTag::StoreBackup, 32);
    assert_ne!(sealed_a.enc, sealed_b.enc);
    assert_ne!(sealed_a.ciphertext, sealed_b.ciphertext);
    assert_ne!(sealed_a.digest(), sealed_b.digest());
}

#[test]
fn wrong_recipient_key_is_rejected() {
    let sealed = sample_envelope(DomainTag::StoreBackup, 32);
    assert_eq!(open(&x25519(99), DomainTag::StoreBackup, &sealed), Err(EnvelopeError::Open));
    assert!(open(&x25519(10), DomainTag::StoreBackup, &sealed).is_ok());
}

#[test]
fn wrong_domain_tag_is_rejected() {
    let sealed = sample_envelope(DomainTag::StoreBackup, 32);
    assert_eq!(open(&x25519(10), DomainTag::RecoveredShare, &sealed), Err(EnvelopeError::Open));
    let sealed = sample_envelope(DomainTag::RecoveredShare, 32);
    assert_eq!(open(&x25519(10), DomainTag::StoreBackup, &sealed), Err(EnvelopeError::Open));
}

#[test]
fn every_tampered_byte_is_rejected() {
    let sealed = sample_envelope(DomainTag::StoreBackup, 32);
    let recipient = x25519(10);
    for i in 0..sealed.ciphertext.len() {
        let mut bytes = sealed.ciphertext.as_slice().to_vec();
        bytes[i] ^= 0x01;
        let tampered = Sealed { enc: sealed.enc, ciphertext: BoundedBytes::new(bytes).unwrap() };
        assert!(open(&recipient, DomainTag::StoreBackup, &tampered).is_err(), "byte {i}");
    }
    for i in 0..32 {
        let mut tampered = sealed.clone();
        tampered.enc[i] ^= 0x01;
        assert!(open(&recipient, DomainTag::StoreBackup, &tampered).is_err(), "enc byte {i}");
    }
    let mut truncated = sealed.ciphertext.as_slice().to_vec();
    truncated.pop();
    let truncated = Sealed { enc: sealed.enc, ciphertext: BoundedBytes::new(truncated).unwrap() };
    assert_eq!(open(&recipient, DomainTag::StoreBackup, &truncated), Err(EnvelopeError::Open));
    let empty = Sealed { enc: sealed.enc, ciphertext: BoundedBytes::default() };
    assert_eq!(open(&recipient, DomainTag::StoreBackup, &empty), Err(EnvelopeError::Open));
}

#[test]
fn oversized_payload_is_refused() {
    let err = seal(
        &x25519(10).public(),
        &account_key(1),
        DomainTag::StoreBackup,
        &vec![0; MAX_ENVELOPE_PAYLOAD_LEN + 1],
    )
    .unwrap_err();
    assert!(matches!(err, EnvelopeError::PayloadTooLarge(_)));
    let max = seal(
        &x25519(10).public(),
        &account_key(1),
        DomainTag::StoreBackup,
        &vec![0; MAX_ENVELOPE_PAYLOAD_LEN],
    )
    .unwrap();
    assert!(open(&x25519(10), DomainTag::StoreBackup, &max).is_ok());
}

#[test]
fn signatures_interoperate_with_sp_core() {
    let seed = [21u8; 32];
    let ours = AccountKeypair::from_seed(&seed).unwrap();
    let theirs = sp_core::sr25519::Pair::from_seed(&seed);
    assert_eq!(ours.account().0, theirs.public().0);

    // sp-core signs, we verify; we sign, sp-core verifies.
    let message = b"peerseal interop";
    let sp_signature = theirs.sign(message);
    assert!(verify_sr25519(&ours.account(), message, &Signature(sp_signature.0)));
    assert!(!verify_sr25519(&ours.account(), b"other", &Signature(sp_signature.0)));
    let our_signature = ours.sign_bytes(message);
    assert!(sp_core::sr25519::Pair::verify(
        &sp_core::sr25519::Signature::from_raw(our_signature.0),
        message,
        &theirs.public()
    ));

    // An sp-core pair seals through its schnorrkel keypair; the envelope names its account.
    let sealed = seal(&x25519(10).public(), theirs.as_ref(), DomainTag::StoreBackup, b"k").unwrap();
    let (sender, _) = open(&x25519(10), DomainTag::StoreBackup, &sealed).unwrap();
    assert_eq!(sender.0, theirs.public().0);
}

#[test]
fn dev_account_matches_substrate_alice() {
    // //Alice through sp-core's URI derivation, then through our seed-based constructor.
    let (alice, seed) = sp_core::sr25519::Pair::from_string_with_seed("//Alice", None).unwrap();
    // The well-known //Alice account.
    assert_eq!(
        hex::encode(alice.public().0),
        "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
    );
    // A path ending in a hard junction yields its mini secret; expanding it here gives Alice.
    let ours = AccountKeypair::from_seed(&seed.expect("hard junction yields a seed")).unwrap();
    assert_eq!(ours.account().0, alice.public().0);
    let sig = alice.sign(b"x");
    assert!(verify_sr25519(&AccountId(alice.public().0), b"x", &Signature(sig.0)));
    // AccountSigner via AsRef<schnorrkel::Keypair> gives the same account.
    let kp: &schnorrkel::Keypair = alice.as_ref();
    assert_eq!(kp.account().0, alice.public().0);
}

#[test]
fn response_keys_are_random_and_consistent() {
    let a = X25519Secret::generate();
    let b = X25519Secret::generate();
    assert_ne!(a.public(), b.public());
    let expected = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([10u8; 32]));
    assert_eq!(x25519(10).public().0, expected.to_bytes());
}

#[test]
fn secrets_do_not_appear_in_debug_output() {
    let secret = X25519Secret::from_bytes([0xC3; 32]);
    let printed = format!("{secret:?}");
    assert!(!printed.to_lowercase().contains(&"c3".repeat(4)), "{printed}");
    assert!(printed.contains("redacted"));

    let share = sample_share(AccountId([1; 32]), 16);
    let printed = format!("{share:?}");
    assert!(!printed.contains(&"90, ".repeat(4)) && !printed.contains("5a5a"), "{printed}");
    assert!(printed.contains("redacted"));

    // Errors carry no bytes either.
    let err =
        open(&x25519(99), DomainTag::StoreBackup, &sample_envelope(DomainTag::StoreBackup, 8))
            .unwrap_err();
    assert_eq!(err.to_string(), "envelope does not open with this key and domain tag");
}

#[test]
fn store_backup_helpers_check_the_sender() {
    let client = account_key(1);
    let provider_sk = x25519(10);
    let share = sample_share(client.account(), 32);
    let store = StoreBackup::seal(&provider_sk.public(), &client, &share).unwrap();
    assert_eq!(store.open(&provider_sk).unwrap(), share);
    assert_eq!(store.open(&x25519(11)), Err(EnvelopeError::Open));

    // The helper refuses to sign someone else's share...
    let other = sample_share(account_key(5).account(), 32);
    assert_eq!(
        StoreBackup::seal(&provider_sk.public(), &client, &other),
        Err(EnvelopeError::UnexpectedSender)
    );
    // ...and a hand-made envelope carrying it is refused by the provider.
    let forged = StoreBackup {
        envelope: seal(&provider_sk.public(), &client, DomainTag::StoreBackup, &other.to_payload())
            .unwrap(),
    };
    let err = forged.open(&provider_sk).unwrap_err();
    assert_eq!(err, EnvelopeError::UnexpectedSender);
    assert_eq!(err.reason(), ErrorReason::AccountMismatch);

    // A verified envelope whose payload is not a share.
    let junk = StoreBackup {
        envelope: seal(&provider_sk.public(), &client, DomainTag::StoreBackup, b"junk").unwrap(),
    };
    assert_eq!(junk.open(&provider_sk), Err(EnvelopeError::MalformedPayload));
}

#[test]
fn recovered_share_helpers_require_the_dialled_provider() {
    let provider = account_key(2);
    let response_sk = X25519Secret::generate();
    let share = sample_share(account_key(1).account(), 32);
    let reply = RecoveredShare::seal(&response_sk.public(), &provider, &share).unwrap();
    assert_eq!(reply.open(&response_sk, &provider.account()).unwrap(), share);
    assert_eq!(
        reply.open(&response_sk, &account_key(3).account()),
        Err(EnvelopeError::UnexpectedSender)
    );
    assert_eq!(
        reply.open(&X25519Secret::generate(), &provider.account()),
        Err(EnvelopeError::Open)
    );
    // A StoreBackup envelope cannot be passed off as a recovered share.
    let store = StoreBackup::seal(&response_sk.public(), &account_key(1), &share).unwrap();
    let swapped = RecoveredShare { envelope: store.envelope };
    assert_eq!(swapped.open(&response_sk, &account_key(1).account()), Err(EnvelopeError::Open));
}

#[test]
fn envelope_errors_map_to_typed_replies() {
    assert_eq!(EnvelopeError::Open.reason(), ErrorReason::BadEnvelope);
    assert_eq!(EnvelopeError::MalformedBody.reason(), ErrorReason::BadEnvelope);
    assert_eq!(EnvelopeError::BadSignature.reason(), ErrorReason::BadSignature);
    assert_eq!(EnvelopeError::MalformedPayload.reason(), ErrorReason::InvalidRequest);
}

#[test]
fn share_equality_is_by_content() {
    let a = ShareBytes::from_slice(&[1, 2, 3]).unwrap();
    assert_eq!(a, ShareBytes::from_slice(&[1, 2, 3]).unwrap());
    assert_ne!(a, ShareBytes::from_slice(&[1, 2, 4]).unwrap());
    assert_ne!(a, ShareBytes::from_slice(&[1, 2]).unwrap());
}

#[test]
fn account_keypair_debug_is_redacted() {
    let seed = [0x77u8; 32];
    let keypair = AccountKeypair::from_seed(&seed).unwrap();
    let printed = format!("{keypair:?}");
    assert!(printed.contains("redacted"), "{printed}");
    let secret = keypair.as_schnorrkel().secret.to_bytes();
    assert!(!printed.contains(&hex::encode(&secret[..8])), "{printed}");
    assert!(!printed.contains(&format!("{:?}", &secret[..4])), "{printed}");
    assert!(printed.contains(&hex::encode(keypair.account().0)));
}
