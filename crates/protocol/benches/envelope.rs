//! The envelopes' HPKE (RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! ChaCha20-Poly1305), side by side in one run: this crate's suite (`rfc9180`: AWS-LC's X25519
//! and AEAD) against the `hpke` crate it replaced (curve25519-dalek's X25519, RustCrypto's
//! AEAD), sealing and opening the size of a recovered share's envelope body; and a whole signed
//! envelope as a provider seals it for every recovery.
//!
//! `cargo bench -p peerseal-protocol --bench envelope` (numbers in BENCHMARKS.md).
// A benchmark that cannot set up its fixture has nothing to measure: failing loudly is right.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use criterion::{criterion_group, Criterion};
use hpke::{Deserializable, Kem as _, Serializable};
use peerseal_protocol::{rfc9180, AccountKeypair, DomainTag, X25519Secret};

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

/// A recovered share's envelope body: sender (32) + signature (64) + a SCALE-encoded share.
const BODY_LEN: usize = 256;
const INFO: &[u8] = b"peerseal/hpke/v1 bench";

fn hpke_suites(c: &mut Criterion) {
    let (secret, public) = Kem::derive_keypair(&[7; 32]);
    let secret_bytes: [u8; 32] = secret.to_bytes().into();
    let public_bytes: [u8; 32] = public.to_bytes().into();
    let body = vec![0x5A; BODY_LEN];

    let mut group = c.benchmark_group("hpke_seal");
    group.bench_function("rfc9180_aws_lc", |b| {
        b.iter(|| rfc9180::seal(&public_bytes, INFO, &body).unwrap())
    });
    group.bench_function("hpke_crate", |b| {
        b.iter(|| {
            hpke::single_shot_seal::<Aead, Kdf, Kem>(
                &hpke::OpModeS::Base,
                &public,
                INFO,
                &body,
                &[],
            )
            .unwrap()
        })
    });
    group.finish();

    let (enc, ciphertext) = rfc9180::seal(&public_bytes, INFO, &body).unwrap();
    let mut group = c.benchmark_group("hpke_open");
    group.bench_function("rfc9180_aws_lc", |b| {
        b.iter(|| rfc9180::open(&secret_bytes, &enc, INFO, &ciphertext).unwrap())
    });
    let encapped = <Kem as hpke::Kem>::EncappedKey::from_bytes(&enc).unwrap();
    group.bench_function("hpke_crate", |b| {
        b.iter(|| {
            hpke::single_shot_open::<Aead, Kdf, Kem>(
                &hpke::OpModeR::Base,
                &secret,
                &encapped,
                INFO,
                &ciphertext,
                &[],
            )
            .unwrap()
        })
    });
    group.finish();

    // What the provider does per recovery: sign the body (sr25519), then seal it.
    let provider = AccountKeypair::from_seed(&[3; 32]).unwrap();
    let recipient = X25519Secret::from_bytes(secret_bytes).public();
    let share = vec![0x11; BODY_LEN - 96];
    c.bench_function("signed_envelope_seal", |b| {
        b.iter(|| {
            peerseal_protocol::seal(&recipient, &provider, DomainTag::RecoveredShare, &share)
                .unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = hpke_suites
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
