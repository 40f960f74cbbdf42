//! Deterministic mock-quote identities for dev chains and tests.
//!
//! Without TDX hardware a quote can only be built with keys we hold ourselves. These keys are
//! derived from a public seed, so they prove nothing: a [`crate::PckMode::Dev`] chain accepts
//! them only because governance put their PCK on the allow-list. They live here, outside the
//! `std`-only provider, so that a `no_std` runtime can compute the dev PCK and the mock
//! measurement for its dev genesis.

use crate::types::{Measurement, PckKey, PlatformId};
#[cfg(feature = "std")]
use alloc::vec::Vec;
use p256::ecdsa::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The public seed of the dev mock PCK and attestation key that every dev node and dev chain
/// shares. Public on purpose: a chain that allows its PCK accepts quotes anyone can forge.
pub const DEV_MOCK_PCK_SEED: [u8; 32] = *b"peerseal/dev-mock-pck-seed/v1\0\0\0";

/// Domain separator for deriving the mock P-256 keys from a seed.
const KEY_DOMAIN: &[u8] = b"peerseal/attestation/mock-key/v1";
/// Which of the two mock keys is derived.
const LABEL_PCK: &[u8] = b"pck";
#[cfg(any(feature = "std", test))]
const LABEL_ATTESTATION_KEY: &[u8] = b"attestation-key";

/// Mock quotes carry this marker followed by the SEC1-compressed PCK and the 16-byte platform id
/// in the slot where a real quote has its PEM certificate chain (a claim of the PCK alone, the
/// format before platform ids, is still read, and names no platform). It is a claim, not a
/// proof: dev-mode verification checks the claimed key against the allow-list and then checks
/// its signature; the platform is believed as claimed (that slot is signed by nothing, in real
/// quotes too: there the certificate chain authenticates itself); production mode finds no
/// certificate in it and rejects the quote.
const MOCK_PCK_CLAIM_PREFIX: &[u8] = b"peerseal mock PCK, not an Intel certificate chain:";

/// Derives a P-256 signing key from `seed` and `label` by hashing with a counter until the hash
/// is a valid scalar (non-zero and below the group order; a retry happens with probability about
/// 2^-32, so in practice never).
fn derive_key(seed: &[u8; 32], label: &[u8]) -> SigningKey {
    let mut counter: u32 = 0;
    loop {
        let mut hasher = Sha256::new();
        hasher.update(KEY_DOMAIN);
        hasher.update((label.len() as u32).to_le_bytes());
        hasher.update(label);
        hasher.update(seed);
        hasher.update(counter.to_le_bytes());
        let candidate: [u8; 32] = hasher.finalize().into();
        if let Ok(key) = SigningKey::from_bytes(&candidate.into()) {
            return key;
        }
        counter = counter.wrapping_add(1);
    }
}

/// The mock PCK signing key of `seed`.
pub(crate) fn mock_pck_signing_key(seed: &[u8; 32]) -> SigningKey {
    derive_key(seed, LABEL_PCK)
}

/// The mock attestation (quoting enclave) signing key of `seed`.
#[cfg(feature = "std")]
pub(crate) fn mock_attestation_signing_key(seed: &[u8; 32]) -> SigningKey {
    derive_key(seed, LABEL_ATTESTATION_KEY)
}

/// The SEC1-compressed form of a P-256 public key.
pub(crate) fn compress(key: &VerifyingKey) -> PckKey {
    let point = key.to_encoded_point(true);
    let mut out = [0u8; 33];
    // A compressed P-256 point is always 33 bytes; `zip` keeps this panic-free regardless.
    for (dst, src) in out.iter_mut().zip(point.as_bytes()) {
        *dst = *src;
    }
    PckKey(out)
}

/// The PCK public key of the mock quotes made from `seed`.
pub fn mock_pck_key(seed: &[u8; 32]) -> PckKey {
    compress(mock_pck_signing_key(seed).verifying_key())
}

/// The PCK public key of the shared dev seed [`DEV_MOCK_PCK_SEED`]: what a dev genesis allows.
pub fn dev_mock_pck() -> PckKey {
    mock_pck_key(&DEV_MOCK_PCK_SEED)
}

/// The measurement of every mock quote: tdx-quote's mock builder leaves all registers zero.
pub fn mock_measurement() -> Measurement {
    Measurement::from_registers(&[0u8; 48], &[[0u8; 48]; 4])
}

/// Domain of the MRTD a labelled mock image carries.
const MOCK_IMAGE_DOMAIN: &[u8] = b"peerseal/dev/mock-image-mrtd/v1";

/// The MRTD of the mock image called `label`: a stand-in for "another image build" in dev and
/// test chains (SHA-384 of a domain and the label). The unlabelled mock image has MRTD zero.
pub fn mock_image_mrtd(label: &str) -> [u8; 48] {
    use sha2::Digest;
    let mut hasher = sha2::Sha384::new();
    hasher.update(MOCK_IMAGE_DOMAIN);
    hasher.update(label.as_bytes());
    hasher.finalize().into()
}

/// The measurement of the mock quotes of the mock image called `label` (see
/// [`mock_image_mrtd`]); what a dev chain must accept for that image.
pub fn mock_image_measurement(label: &str) -> Measurement {
    Measurement::from_registers(&mock_image_mrtd(label), &[[0u8; 48]; 4])
}

/// The certification-data payload a mock quote carries in place of a certificate chain.
#[cfg(feature = "std")]
pub(crate) fn mock_pck_claim(key: &PckKey, platform: &PlatformId) -> Vec<u8> {
    let mut claim =
        Vec::with_capacity(MOCK_PCK_CLAIM_PREFIX.len() + key.0.len() + platform.0.len());
    claim.extend_from_slice(MOCK_PCK_CLAIM_PREFIX);
    claim.extend_from_slice(&key.0);
    claim.extend_from_slice(&platform.0);
    claim
}

/// What a mock quote claims in its certification data.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct MockClaim {
    /// The PCK that signed the QE report (checked against the allow-list and the signature).
    pub pck: PckKey,
    /// The platform, if the claim names one.
    pub platform: Option<PlatformId>,
}

/// The claim of a mock quote, if `chain` is a mock claim at all (exact lengths only).
pub(crate) fn parse_mock_claim(chain: &[u8]) -> Option<MockClaim> {
    let rest = chain.strip_prefix(MOCK_PCK_CLAIM_PREFIX)?;
    let (key, platform) = match rest.len() {
        33 => (rest, None),
        49 => {
            let (key, platform) = rest.split_at(33);
            (key, Some(PlatformId(platform.try_into().ok()?)))
        }
        _ => return None,
    };
    Some(MockClaim { pck: PckKey(key.try_into().ok()?), platform })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_are_deterministic_and_distinct() {
        let a = mock_pck_key(&[1u8; 32]);
        assert_eq!(a, mock_pck_key(&[1u8; 32]));
        assert_ne!(a, mock_pck_key(&[2u8; 32]));
        assert_ne!(
            derive_key(&[1u8; 32], LABEL_PCK),
            derive_key(&[1u8; 32], LABEL_ATTESTATION_KEY)
        );
        assert!(matches!(dev_mock_pck().0[0], 2 | 3), "compressed SEC1 prefix");
    }

    #[test]
    fn claim_parsing_requires_prefix_and_exact_length() {
        assert_eq!(parse_mock_claim(b"-----BEGIN CERTIFICATE-----"), None);
        let mut claim = MOCK_PCK_CLAIM_PREFIX.to_vec();
        claim.extend_from_slice(&[9u8; 33]);
        // The older claim: a PCK and no platform.
        assert_eq!(
            parse_mock_claim(&claim),
            Some(MockClaim { pck: PckKey([9u8; 33]), platform: None })
        );
        claim.push(0);
        assert_eq!(parse_mock_claim(&claim), None);
        claim.truncate(MOCK_PCK_CLAIM_PREFIX.len() + 33);
        claim.extend_from_slice(&[7u8; 16]);
        assert_eq!(
            parse_mock_claim(&claim),
            Some(MockClaim { pck: PckKey([9u8; 33]), platform: Some(PlatformId([7u8; 16])) })
        );
        claim.push(0);
        assert_eq!(parse_mock_claim(&claim), None);
    }

    #[cfg(feature = "std")]
    #[test]
    fn claims_round_trip() {
        use crate::DEV_MOCK_PLATFORM;
        let claim = mock_pck_claim(&dev_mock_pck(), &DEV_MOCK_PLATFORM);
        assert_eq!(
            parse_mock_claim(&claim),
            Some(MockClaim { pck: dev_mock_pck(), platform: Some(DEV_MOCK_PLATFORM) })
        );
    }
}
