//! RFC 9180 (HPKE) base mode, single shot, for the one suite the envelopes use:
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305 (ids `0x0020`, `0x0001`,
//! `0x0003`).
//!
//! Why this module rather than the `hpke` crate, which the envelopes used before: a provider
//! seals on every recovery and a client opens on every recovery, and the `hpke` crate's X25519
//! is curve25519-dalek's portable field arithmetic (measured here: 55 µs a key agreement, 16 µs
//! a public key), where AWS-LC's takes 25 and 8 µs. The `hpke` crate's key-exchange trait is
//! private, so another X25519 cannot be plugged into it. What is written here is only the RFC's
//! composition (§4 labelled HKDF, §4.1 DHKEM encapsulation, §5.1 base-mode key schedule, §6.1
//! single-shot seal/open); every primitive comes from a library: X25519 and ChaCha20-Poly1305
//! from `aws-lc-rs` (already the store's AEAD), HKDF-SHA256 from RustCrypto's `hkdf`. The
//! tests check the output byte for byte against the `hpke` crate (a dev-dependency) in both
//! directions, so the wire format is unchanged and old and new nodes read each other's
//! envelopes.
//!
//! Secrets: the key agreement's output comes zeroized-on-drop from `aws-lc-rs`, AWS-LC cleanses
//! its private keys and AEAD keys when they are freed, and every intermediate this module
//! holds (DH output, shared secret, AEAD key, plaintext buffers) is in [`Zeroizing`]. The HMAC
//! states inside `hkdf` are not zeroized, as they were not inside the `hpke` crate either.

use aws_lc_rs::{aead, agreement};
use hkdf::{Hkdf, HkdfExtract};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// `"KEM" || I2OSP(kem_id, 2)`: the suite id of the DHKEM's labelled HKDF calls (§4.1).
const KEM_SUITE_ID: [u8; 5] = [b'K', b'E', b'M', 0x00, 0x20];
/// `"HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2)` (§5.1).
const HPKE_SUITE_ID: [u8; 10] = [b'H', b'P', b'K', b'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x03];
/// The version label every labelled HKDF call starts with (§4).
const VERSION_LABEL: &[u8] = b"HPKE-v1";
/// `mode_base` (§5.1).
const MODE_BASE: u8 = 0x00;
/// `Nsecret` of DHKEM(X25519, HKDF-SHA256), `Nk` of ChaCha20-Poly1305: 32 bytes each.
const SECRET_LEN: usize = 32;
/// `Nn` of ChaCha20-Poly1305.
const NONCE_LEN: usize = 12;
/// `Nt` of ChaCha20-Poly1305: a ciphertext is the plaintext's length plus this.
pub const TAG_LEN: usize = 16;

/// Why sealing or opening failed. Deliberately coarse: an opener learns nothing about which
/// step refused (the key agreement, the key schedule or the tag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HpkeError {
    /// The recipient's public key is unusable (e.g. a small-order point: the key agreement's
    /// output would be all zeros, which §7.1.4 says to refuse), or the RNG failed.
    Seal,
    /// The encapsulated key, the recipient's key or the ciphertext did not open.
    Open,
}

/// Seals `plaintext` to the X25519 public key `recipient` under `info` (no AAD): the
/// encapsulated key (`enc`) and the ciphertext with its tag appended, as RFC 9180 §6.1's
/// `Seal` returns them.
pub fn seal(
    recipient: &[u8; 32],
    info: &[u8],
    plaintext: &[u8],
) -> Result<([u8; 32], Vec<u8>), HpkeError> {
    let ephemeral =
        agreement::PrivateKey::generate(&agreement::X25519).map_err(|_| HpkeError::Seal)?;
    seal_with_ephemeral(&ephemeral, recipient, info, plaintext)
}

/// [`seal`] with a given ephemeral key: the encapsulation of §4.1 (`Encap`) with the key that
/// `GenerateKeyPair` would have made. Separate so tests can fix the key and compare bytes.
fn seal_with_ephemeral(
    ephemeral: &agreement::PrivateKey,
    recipient: &[u8; 32],
    info: &[u8],
    plaintext: &[u8],
) -> Result<([u8; 32], Vec<u8>), HpkeError> {
    let enc = public_key_of(ephemeral).ok_or(HpkeError::Seal)?;
    let (key, nonce) =
        aead_context(ephemeral, recipient, &enc, recipient, info).ok_or(HpkeError::Seal)?;
    // Room for the tag up front, so appending it never moves (and leaves behind) the buffer;
    // zeroized if sealing fails half-way with plaintext still in it.
    let mut buffer = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
    buffer.extend_from_slice(plaintext);
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::empty(),
        &mut *buffer,
    )
    .map_err(|_| HpkeError::Seal)?;
    Ok((enc, std::mem::take(&mut *buffer)))
}

/// Opens what [`seal`] made for the X25519 secret key `recipient` under `info` (no AAD):
/// §4.1's `Decap`, the key schedule, then the AEAD's open. The plaintext is zeroized on drop.
pub fn open(
    recipient: &[u8; 32],
    enc: &[u8; 32],
    info: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
    let secret = agreement::PrivateKey::from_private_key(&agreement::X25519, recipient)
        .map_err(|_| HpkeError::Open)?;
    let recipient_public = public_key_of(&secret).ok_or(HpkeError::Open)?;
    let (key, nonce) =
        aead_context(&secret, enc, enc, &recipient_public, info).ok_or(HpkeError::Open)?;
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let opened = key
        .open_in_place(aead::Nonce::assume_unique_for_key(nonce), aead::Aad::empty(), &mut buffer)
        .map_err(|_| HpkeError::Open)?
        .len();
    buffer.truncate(opened);
    Ok(buffer)
}

/// What `Encap` and `Decap` (§4.1) then the base-mode key schedule (§5.1) derive, for both
/// sides alike: `DH(secret, peer)`, the shared secret over `kem_context = enc || pkRm`, and
/// from it the AEAD key and base nonce. The sender passes its ephemeral key and the
/// recipient's public key; the recipient its own key and `enc`.
fn aead_context(
    secret: &agreement::PrivateKey,
    peer: &[u8; 32],
    enc: &[u8; 32],
    recipient_public: &[u8; 32],
    info: &[u8],
) -> Option<(aead::LessSafeKey, [u8; NONCE_LEN])> {
    let dh = agree(secret, peer)?;
    let shared_secret = extract_and_expand(&dh, enc, recipient_public)?;
    let (key, nonce) = key_schedule(&shared_secret, info)?;
    Some((aead_key(&key)?, nonce))
}

/// The X25519 public key of `key` (`SerializePublicKey(pk(sk))`).
fn public_key_of(key: &agreement::PrivateKey) -> Option<[u8; 32]> {
    key.compute_public_key().ok()?.as_ref().try_into().ok()
}

/// `DH(sk, pk)`, refusing the all-zero output of a small-order `pk` (§7.1.4). AWS-LC refuses
/// it too; the check here does not rely on that.
fn agree(secret: &agreement::PrivateKey, public: &[u8; 32]) -> Option<Zeroizing<[u8; 32]>> {
    let public = agreement::UnparsedPublicKey::new(&agreement::X25519, public);
    let dh = agreement::agree(secret, public, (), |shared| {
        let mut out = Zeroizing::new([0u8; 32]);
        if shared.len() != out.len() {
            return Err(());
        }
        out.copy_from_slice(shared);
        Ok(out)
    })
    .ok()?;
    (!bool::from(dh.ct_eq(&[0u8; 32]))).then_some(dh)
}

/// §4.1 `ExtractAndExpand(dh, kem_context)` with `kem_context = enc || pkRm`.
fn extract_and_expand(
    dh: &[u8; 32],
    enc: &[u8; 32],
    recipient_public: &[u8; 32],
) -> Option<Zeroizing<[u8; SECRET_LEN]>> {
    let (_, eae_prk) = labeled_extract(&KEM_SUITE_ID, b"", b"eae_prk", dh);
    let mut shared_secret = Zeroizing::new([0u8; SECRET_LEN]);
    labeled_expand(
        &eae_prk,
        &KEM_SUITE_ID,
        b"shared_secret",
        &[enc, recipient_public],
        &mut *shared_secret,
    )?;
    Some(shared_secret)
}

/// §5.1 `KeySchedule` for `mode_base` (empty `psk` and `psk_id`): the AEAD key and base nonce.
/// Single shot, so the one message uses sequence number 0 and its nonce is the base nonce.
fn key_schedule(
    shared_secret: &[u8; SECRET_LEN],
    info: &[u8],
) -> Option<(Zeroizing<[u8; SECRET_LEN]>, [u8; NONCE_LEN])> {
    let (psk_id_hash, _) = labeled_extract(&HPKE_SUITE_ID, b"", b"psk_id_hash", b"");
    let (info_hash, _) = labeled_extract(&HPKE_SUITE_ID, b"", b"info_hash", info);
    let (_, secret) = labeled_extract(&HPKE_SUITE_ID, shared_secret, b"secret", b"");
    let context: [&[u8]; 3] = [&[MODE_BASE], &psk_id_hash[..], &info_hash[..]];
    let mut key = Zeroizing::new([0u8; SECRET_LEN]);
    labeled_expand(&secret, &HPKE_SUITE_ID, b"key", &context, &mut *key)?;
    let mut nonce = [0u8; NONCE_LEN];
    labeled_expand(&secret, &HPKE_SUITE_ID, b"base_nonce", &context, &mut nonce)?;
    Some((key, nonce))
}

/// §4 `LabeledExtract(salt, label, ikm)`: its PRK, and the HKDF ready to expand from it.
fn labeled_extract(
    suite_id: &[u8],
    salt: &[u8],
    label: &[u8],
    ikm: &[u8],
) -> (Zeroizing<[u8; 32]>, Hkdf<Sha256>) {
    let mut extract = HkdfExtract::<Sha256>::new(Some(salt));
    for part in [VERSION_LABEL, suite_id, label, ikm] {
        extract.input_ikm(part);
    }
    let (prk, hkdf) = extract.finalize();
    (Zeroizing::new(prk.into()), hkdf)
}

/// §4 `LabeledExpand(prk, label, info, L)` into `out` (`L = out.len()`, at most 32 here), the
/// `info` given in parts.
fn labeled_expand(
    prk: &Hkdf<Sha256>,
    suite_id: &[u8],
    label: &[u8],
    info: &[&[u8]],
    out: &mut [u8],
) -> Option<()> {
    let length = u16::try_from(out.len()).ok()?.to_be_bytes();
    let mut parts: [&[u8]; 7] = [&length, VERSION_LABEL, suite_id, label, &[], &[], &[]];
    let slots = parts.get_mut(4..4 + info.len())?;
    slots.copy_from_slice(info);
    prk.expand_multi_info(&parts, out).ok()
}

/// The ChaCha20-Poly1305 key for `key`.
fn aead_key(key: &[u8; SECRET_LEN]) -> Option<aead::LessSafeKey> {
    Some(aead::LessSafeKey::new(aead::UnboundKey::new(&aead::CHACHA20_POLY1305, key).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hpke::{Deserializable, Kem as _, Serializable};

    type Kem = hpke::kem::X25519HkdfSha256;
    type Kdf = hpke::kdf::HkdfSha256;
    type Aead = hpke::aead::ChaCha20Poly1305;

    /// An RNG that yields fixed bytes: the `hpke` crate derives its ephemeral key from them.
    struct Fixed([u8; 32]);
    impl hpke::rand_core::TryRng for Fixed {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]))
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&self.0[..8]);
            Ok(u64::from_le_bytes(bytes))
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
            for (d, s) in dest.iter_mut().zip(self.0.iter().cycle()) {
                *d = *s;
            }
            Ok(())
        }
    }
    impl hpke::rand_core::TryCryptoRng for Fixed {}

    fn keypair(seed: u8) -> ([u8; 32], [u8; 32]) {
        let (sk, pk) = Kem::derive_keypair(&[seed; 32]);
        (sk.to_bytes().into(), pk.to_bytes().into())
    }

    /// Seals with the ephemeral key the `hpke` crate derives from the RNG bytes `ikm`, and
    /// checks the envelope is the one the `hpke` crate makes from the same bytes.
    fn assert_same_seal_as_the_hpke_crate(
        recipient: &[u8; 32],
        info: &[u8],
        plaintext: &[u8],
        ikm: [u8; 32],
    ) {
        let (expected_enc, expected_ct) = hpke::single_shot_seal_with_rng::<Aead, Kdf, Kem>(
            &hpke::OpModeS::Base,
            &<Kem as hpke::Kem>::PublicKey::from_bytes(recipient).unwrap(),
            info,
            plaintext,
            &[],
            &mut Fixed(ikm),
        )
        .unwrap();
        let (ephemeral, _) = Kem::derive_keypair(&ikm);
        let ephemeral =
            agreement::PrivateKey::from_private_key(&agreement::X25519, &ephemeral.to_bytes())
                .unwrap();
        let (enc, ct) = seal_with_ephemeral(&ephemeral, recipient, info, plaintext).unwrap();
        assert_eq!(enc.as_slice(), expected_enc.to_bytes().as_slice());
        assert_eq!(ct, expected_ct);
    }

    #[test]
    fn seal_is_byte_for_byte_what_the_hpke_crate_makes_with_the_same_ephemeral_key() {
        for (seed, info, plaintext) in [
            (1u8, &b""[..], &b""[..]),
            (2, b"peerseal/hpke/v1 info", b"a share"),
            (3, b"x", &[0xA5; 4096][..]),
        ] {
            let (_, recipient) = keypair(seed);
            assert_same_seal_as_the_hpke_crate(&recipient, info, plaintext, [seed + 100; 32]);
        }
    }

    #[test]
    fn each_side_opens_what_the_other_sealed() {
        for seed in 1..=16u8 {
            let (secret, public) = keypair(seed);
            let info = [seed; 7];
            let plaintext: Vec<u8> = (0..seed as usize * 37).map(|i| i as u8).collect();

            let (enc, ct) = seal(&public, &info, &plaintext).unwrap();
            let opened = hpke::single_shot_open::<Aead, Kdf, Kem>(
                &hpke::OpModeR::Base,
                &<Kem as hpke::Kem>::PrivateKey::from_bytes(&secret).unwrap(),
                &<Kem as hpke::Kem>::EncappedKey::from_bytes(&enc).unwrap(),
                &info,
                &ct,
                &[],
            )
            .unwrap();
            assert_eq!(opened, plaintext);

            let (enc, ct) = hpke::single_shot_seal::<Aead, Kdf, Kem>(
                &hpke::OpModeS::Base,
                &<Kem as hpke::Kem>::PublicKey::from_bytes(&public).unwrap(),
                &info,
                &plaintext,
                &[],
            )
            .unwrap();
            let enc: [u8; 32] = enc.to_bytes().into();
            assert_eq!(&open(&secret, &enc, &info, &ct).unwrap()[..], &plaintext[..]);
        }
    }

    #[test]
    fn unclamped_and_high_bit_keys_agree_with_the_hpke_crate() {
        // RFC 7748 clamps the scalar and ignores the top bit of a u-coordinate; both libraries
        // must do so alike, or envelopes made by one would not open with the other.
        for byte in [0x00u8, 0x7F, 0x80, 0xFF] {
            let secret = [byte; 32];
            let public = agreement::PrivateKey::from_private_key(&agreement::X25519, &secret)
                .map(|k| public_key_of(&k).unwrap())
                .unwrap();
            let expected =
                Kem::sk_to_pk(&<Kem as hpke::Kem>::PrivateKey::from_bytes(&secret).unwrap());
            assert_eq!(public.as_slice(), expected.to_bytes().as_slice());
        }
        // A recipient key with its top bit set: both ignore the bit in the agreement, and both
        // put the bytes as given into the KEM context, so the envelopes are the same bytes.
        let (_, mut public) = keypair(9);
        public[31] |= 0x80;
        assert_same_seal_as_the_hpke_crate(&public, b"i", b"top bit set", [42; 32]);
    }

    #[test]
    fn small_order_recipient_keys_are_refused() {
        // u = 0 and u = 1 are of small order: the agreement would be all zeros.
        let mut one = [0u8; 32];
        one[0] = 1;
        for public in [[0u8; 32], one] {
            assert_eq!(seal(&public, b"", b"x"), Err(HpkeError::Seal));
            let (secret, _) = keypair(4);
            assert_eq!(open(&secret, &public, b"", &[0u8; 32]), Err(HpkeError::Open));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

        /// Any recipient key pair, `info`, plaintext and ephemeral key: the same envelope as the
        /// `hpke` crate's, and it opens with its key; also for 32 random bytes as the recipient's
        /// public key (high bit, non-canonical values), where only the sealing can be compared.
        #[test]
        fn matches_the_hpke_crate_for_any_input(
            recipient_seed in proptest::prelude::any::<[u8; 32]>(),
            raw_public in proptest::prelude::any::<[u8; 32]>(),
            ikm in proptest::prelude::any::<[u8; 32]>(),
            info in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            plaintext in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        ) {
            let (secret, public) = Kem::derive_keypair(&recipient_seed);
            let (secret, public): ([u8; 32], [u8; 32]) =
                (secret.to_bytes().into(), public.to_bytes().into());
            assert_same_seal_as_the_hpke_crate(&public, &info, &plaintext, ikm);
            assert_same_seal_as_the_hpke_crate(&raw_public, &info, &plaintext, ikm);
            let (enc, ct) = seal(&public, &info, &plaintext).unwrap();
            proptest::prop_assert_eq!(&open(&secret, &enc, &info, &ct).unwrap()[..], &plaintext[..]);
        }

        /// Arbitrary bytes as the encapsulated key and ciphertext: an error, never a panic.
        #[test]
        fn opening_garbage_is_an_error(
            enc in proptest::prelude::any::<[u8; 32]>(),
            ct in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        ) {
            let (secret, _) = keypair(11);
            proptest::prop_assert_eq!(open(&secret, &enc, b"info", &ct), Err(HpkeError::Open));
        }
    }

    #[test]
    fn any_change_fails_to_open() {
        let (secret, public) = keypair(5);
        let (enc, ct) = seal(&public, b"info", b"payload").unwrap();
        assert_eq!(&open(&secret, &enc, b"info", &ct).unwrap()[..], b"payload");
        assert_eq!(open(&secret, &enc, b"other info", &ct), Err(HpkeError::Open));
        let (other, _) = keypair(6);
        assert_eq!(open(&other, &enc, b"info", &ct), Err(HpkeError::Open));
        for i in 0..ct.len() {
            let mut bad = ct.clone();
            bad[i] ^= 1;
            assert_eq!(open(&secret, &enc, b"info", &bad), Err(HpkeError::Open));
        }
        let mut bad_enc = enc;
        bad_enc[3] ^= 1;
        assert_eq!(open(&secret, &bad_enc, b"info", &ct), Err(HpkeError::Open));
        assert_eq!(open(&secret, &enc, b"info", &ct[..TAG_LEN - 1]), Err(HpkeError::Open));
        assert_eq!(open(&secret, &enc, b"info", &[]), Err(HpkeError::Open));
    }
}
