//! The report-data binding and the measurement hash: what changes them, what does not, and that
//! both are domain separated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use peerseal_attestation::{
    check_report_data, report_data, Binding, Measurement, QuoteContext, VerifyError,
};
use sha2::{Digest, Sha256};

#[test]
fn report_data_is_deterministic_and_checks_against_itself() {
    let binding = register_binding();
    let rd = report_data(&binding);
    assert_eq!(rd, report_data(&register_binding()));
    assert_eq!(check_report_data(&rd, &binding), Ok(()));
}

#[test]
fn nonce_occupies_the_second_half() {
    let binding = register_binding();
    let rd = report_data(&binding);
    assert_eq!(&rd[32..], &NONCE);
    let other_nonce = [0x77; 32];
    let rd2 = report_data(&Binding { nonce: &other_nonce, ..binding });
    assert_eq!(&rd2[32..], &other_nonce);
    // The nonce is not hashed into the first half: a new nonce leaves the binding hash alone.
    assert_eq!(rd[..32], rd2[..32]);
}

#[test]
fn every_bound_field_changes_the_binding_hash() {
    let base = register_binding();
    let other = [0x11; 32];
    let other_peer = b"another-peer".to_vec();
    let variants = [
        Binding { context: QuoteContext::Recover, ..base },
        Binding { context: QuoteContext::ChangeServerInfo, ..base },
        Binding { account: &other, ..base },
        Binding { public_key: &other, ..base },
        Binding { stash: Some(&other), ..base },
        Binding { stash: None, ..base },
        Binding { peer_id: Some(&other_peer), ..base },
        Binding { peer_id: None, ..base },
        Binding { peer_id: Some(&[]), ..base },
    ];
    let mut hashes = vec![report_data(&base)[..32].to_vec()];
    for variant in &variants {
        let rd = report_data(variant);
        assert_eq!(&rd[32..], &NONCE, "nonce half unchanged");
        hashes.push(rd[..32].to_vec());
    }
    for (i, a) in hashes.iter().enumerate() {
        for b in &hashes[i + 1..] {
            assert_ne!(a, b, "two different bindings share a binding hash");
        }
    }
}

#[test]
fn account_and_key_cannot_be_swapped() {
    // Fixed field positions: swapping two 32-byte fields must change the hash.
    let a = [0x01; 32];
    let b = [0x02; 32];
    let base = register_binding();
    let one = report_data(&Binding { account: &a, public_key: &b, ..base });
    let two = report_data(&Binding { account: &b, public_key: &a, ..base });
    assert_ne!(one, two);
    let three = report_data(&Binding { account: &a, stash: Some(&b), ..base });
    let four = report_data(&Binding { account: &b, stash: Some(&a), ..base });
    assert_ne!(three, four);
}

#[test]
fn binding_hash_is_domain_separated() {
    // Without a domain the hash would be SHA-256 of the raw fields; it must not be.
    let binding = Binding { peer_id: None, ..register_binding() };
    let mut raw = Sha256::new();
    raw.update([QuoteContext::Register.tag()]);
    raw.update(binding.account);
    raw.update(binding.public_key);
    raw.update([0u8]);
    let raw: [u8; 32] = raw.finalize().into();
    let rd = report_data(&binding);
    assert_ne!(rd[..32], raw);
    let plain: [u8; 32] = Sha256::digest([&ACCOUNT[..], &X25519[..]].concat()).into();
    assert_ne!(rd[..32], plain);
}

#[test]
fn check_names_the_half_that_differs() {
    let binding = register_binding();
    let mut rd = report_data(&binding);
    rd[40] ^= 1;
    assert_eq!(
        check_report_data(&rd, &binding),
        Err(VerifyError::ReportDataMismatch { nonce_ok: false, binding_ok: true })
    );
    rd[3] ^= 1;
    assert_eq!(
        check_report_data(&rd, &binding),
        Err(VerifyError::ReportDataMismatch { nonce_ok: false, binding_ok: false })
    );
    rd[40] ^= 1;
    assert_eq!(
        check_report_data(&rd, &binding),
        Err(VerifyError::ReportDataMismatch { nonce_ok: true, binding_ok: false })
    );
}

#[test]
fn context_tags_are_stable() {
    // These bytes are hashed into every quote ever made: they must never change.
    assert_eq!(QuoteContext::Register.tag(), 1);
    assert_eq!(QuoteContext::Recover.tag(), 2);
    assert_eq!(QuoteContext::ChangeServerInfo.tag(), 3);
}

#[test]
fn measurement_depends_on_every_register_and_is_domain_separated() {
    let zero = [0u8; 48];
    let base = Measurement::from_registers(&zero, &[zero; 4]);
    let mut seen = vec![base];
    let mut mrtd = zero;
    mrtd[47] = 1;
    seen.push(Measurement::from_registers(&mrtd, &[zero; 4]));
    for i in 0..4 {
        let mut rtmr = [zero; 4];
        rtmr[i][0] = 1;
        seen.push(Measurement::from_registers(&zero, &rtmr));
    }
    for (i, a) in seen.iter().enumerate() {
        for b in &seen[i + 1..] {
            assert_ne!(a, b);
        }
    }
    let plain: [u8; 32] = Sha256::digest([0u8; 48 * 5]).into();
    assert_ne!(base.0, plain);
    assert_eq!(base, peerseal_attestation::mock_measurement());
}
