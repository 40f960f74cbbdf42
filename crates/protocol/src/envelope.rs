//! HPKE envelopes: a payload sealed to one x25519 key, signed inside by the sender's account.
//!
//! Suite: RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256) + HKDF-SHA256 + ChaCha20-Poly1305.
//! The HPKE `info` binds the [`DomainTag`], so an envelope made for one use does not even
//! decrypt as another. Inside the ciphertext sits `(sender, signature, payload)`, the signature
//! covering (context, tag, recipient public key, payload). Signing the recipient key is what
//! stops a relay: a provider that opens a client's envelope cannot re-seal the same signed body
//! to a third party, because the signature names the provider's key, not the third party's.
//! The signature is inside the ciphertext so that an observer does not learn who sent what.

use crate::bounded::{BoundedBytes, SecretBytes};
use crate::error::EnvelopeError;
use crate::limits::{MAX_DECODE_DEPTH, MAX_ENVELOPE_PAYLOAD_LEN, MAX_SEALED_CIPHERTEXT_LEN};
use crate::rfc9180;
use crate::signing::{envelope_message_bytes, verify_sr25519, AccountSigner, DomainTag};
use crate::types::{AccountId, Signature, X25519Public, X25519Secret};
use codec::{Decode, DecodeLimit, Encode};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A sealed envelope as it travels: the HPKE encapsulated key and the ciphertext.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Sealed {
    /// The sender's ephemeral X25519 public key (HPKE `enc`).
    pub enc: [u8; 32],
    /// ChaCha20-Poly1305 ciphertext of the envelope body, tag included.
    pub ciphertext: BoundedBytes<MAX_SEALED_CIPHERTEXT_LEN>,
}

impl Sealed {
    /// SHA-256 of the envelope's SCALE encoding: what a provider's receipt names as stored.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }
}

/// The plaintext inside an envelope.
#[derive(Encode, Decode)]
struct EnvelopeBody {
    sender: AccountId,
    signature: Signature,
    payload: SecretBytes<MAX_ENVELOPE_PAYLOAD_LEN>,
}

fn hpke_info(tag: DomainTag) -> Vec<u8> {
    const HPKE_INFO_CONTEXT: &[u8] = b"peerseal/hpke/v1";
    (HPKE_INFO_CONTEXT, tag.as_bytes()).encode()
}

/// Seals `payload` to `recipient`, signed by `sender` for the use `tag`.
///
/// `tag` must be an envelope tag ([`DomainTag::is_envelope_tag`]) and the payload at most
/// [`MAX_ENVELOPE_PAYLOAD_LEN`] bytes.
pub fn seal<S: AccountSigner + ?Sized>(
    recipient: &X25519Public,
    sender: &S,
    tag: DomainTag,
    payload: &[u8],
) -> Result<Sealed, EnvelopeError> {
    if !tag.is_envelope_tag() {
        return Err(EnvelopeError::TagNotForEnvelopes);
    }
    let payload = SecretBytes::<MAX_ENVELOPE_PAYLOAD_LEN>::from_slice(payload)?;
    let signature = sender.sign_bytes(&envelope_message_bytes(tag, &recipient.0, payload.expose()));
    let body = EnvelopeBody { sender: sender.account(), signature, payload };
    seal_body(recipient, tag, &Zeroizing::new(body.encode()))
}

/// HPKE-seals an already built body. Separate from [`seal`] so tests can build hostile bodies.
fn seal_body(
    recipient: &X25519Public,
    tag: DomainTag,
    body: &[u8],
) -> Result<Sealed, EnvelopeError> {
    let (enc, ciphertext) =
        rfc9180::seal(&recipient.0, &hpke_info(tag), body).map_err(|_| EnvelopeError::Seal)?;
    let ciphertext = BoundedBytes::new(ciphertext)?;
    Ok(Sealed { enc, ciphertext })
}

/// Opens an envelope sealed to `recipient`'s public key for the use `expected_tag`, checks the
/// sender's signature, and returns the sender's account with the payload (zeroized on drop).
///
/// The caller still decides whether that sender is allowed to send this (e.g. registered on
/// chain, or the provider it dialled).
pub fn open(
    recipient: &X25519Secret,
    expected_tag: DomainTag,
    sealed: &Sealed,
) -> Result<(AccountId, Zeroizing<Vec<u8>>), EnvelopeError> {
    let (sender, _, payload) = open_with_signature(recipient, expected_tag, sealed)?;
    Ok((sender, payload))
}

/// Like [`open`], also returning the sender's (verified) signature, so the payload can be
/// passed on with proof of who made it (a recovery operator releasing a node's own share).
pub fn open_with_signature(
    recipient: &X25519Secret,
    expected_tag: DomainTag,
    sealed: &Sealed,
) -> Result<(AccountId, Signature, Zeroizing<Vec<u8>>), EnvelopeError> {
    if !expected_tag.is_envelope_tag() {
        return Err(EnvelopeError::TagNotForEnvelopes);
    }
    let plaintext = open_hpke(recipient, expected_tag, sealed)?;
    let body = EnvelopeBody::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &plaintext[..])
        .map_err(|_| EnvelopeError::MalformedBody)?;
    let payload = body.payload.expose();
    if !verify_envelope_signature(
        &body.sender,
        expected_tag,
        &recipient.public(),
        payload,
        &body.signature,
    ) {
        return Err(EnvelopeError::BadSignature);
    }
    Ok((body.sender, body.signature, body.payload.into_zeroizing()))
}

/// Whether `signature` is `sender`'s signature of `payload` as sealed in a signed envelope
/// for `recipient` under `tag` (what [`open_with_signature`] returned, checked again by
/// whoever receives the payload second-hand).
pub fn verify_envelope_signature(
    sender: &AccountId,
    tag: DomainTag,
    recipient: &X25519Public,
    payload: &[u8],
    signature: &Signature,
) -> bool {
    tag.is_envelope_tag()
        && verify_sr25519(sender, &envelope_message_bytes(tag, &recipient.0, payload), signature)
}

/// Seals `payload` to `recipient` for the use `tag` without a sender signature. Only for
/// [`DomainTag::is_anonymous_envelope_tag`] tags, whose payloads authenticate themselves.
pub fn seal_anonymous(
    recipient: &X25519Public,
    tag: DomainTag,
    payload: &[u8],
) -> Result<Sealed, EnvelopeError> {
    if !tag.is_anonymous_envelope_tag() {
        return Err(EnvelopeError::TagNotForEnvelopes);
    }
    let payload = SecretBytes::<MAX_ENVELOPE_PAYLOAD_LEN>::from_slice(payload)?;
    seal_body(recipient, tag, &Zeroizing::new(payload.encode()))
}

/// Opens an envelope made by [`seal_anonymous`] for `expected_tag`; the payload says nothing
/// about who sent it until the caller checks what it carries.
pub fn open_anonymous(
    recipient: &X25519Secret,
    expected_tag: DomainTag,
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    if !expected_tag.is_anonymous_envelope_tag() {
        return Err(EnvelopeError::TagNotForEnvelopes);
    }
    let plaintext = open_hpke(recipient, expected_tag, sealed)?;
    let payload = SecretBytes::<MAX_ENVELOPE_PAYLOAD_LEN>::decode_all_with_depth_limit(
        MAX_DECODE_DEPTH,
        &mut &plaintext[..],
    )
    .map_err(|_| EnvelopeError::MalformedBody)?;
    Ok(payload.into_zeroizing())
}

/// HPKE-opens `sealed` with `recipient`'s key under `tag`'s `info`.
fn open_hpke(
    recipient: &X25519Secret,
    tag: DomainTag,
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    rfc9180::open(recipient.expose(), &sealed.enc, &hpke_info(tag), sealed.ciphertext.as_slice())
        .map_err(|_| EnvelopeError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::AccountKeypair;

    fn account(seed: u8) -> AccountKeypair {
        AccountKeypair::from_seed(&[seed; 32]).unwrap()
    }

    #[test]
    fn round_trip_returns_sender_and_payload() {
        let provider = X25519Secret::from_bytes([7; 32]);
        let client = account(1);
        let sealed = seal(&provider.public(), &client, DomainTag::StoreBackup, b"share").unwrap();
        let (sender, payload) = open(&provider, DomainTag::StoreBackup, &sealed).unwrap();
        assert_eq!(sender, client.account());
        assert_eq!(&payload[..], b"share");
    }

    #[test]
    fn receipt_tag_is_refused_for_envelopes() {
        let provider = X25519Secret::from_bytes([7; 32]);
        let err = seal(&provider.public(), &account(1), DomainTag::Receipt, b"x").unwrap_err();
        assert_eq!(err, EnvelopeError::TagNotForEnvelopes);
        let sealed = seal(&provider.public(), &account(1), DomainTag::StoreBackup, b"x").unwrap();
        assert_eq!(
            open(&provider, DomainTag::Receipt, &sealed),
            Err(EnvelopeError::TagNotForEnvelopes)
        );
    }

    #[test]
    fn signature_under_another_tag_is_rejected_even_if_hpke_info_matches() {
        // A body signed for StoreBackup, then HPKE-sealed with RecoveredShare's info: the HPKE
        // layer opens, so only the signature's own tag binding can catch it.
        let provider = X25519Secret::from_bytes([7; 32]);
        let client = account(1);
        let payload = b"share bytes";
        let signature = client.sign_bytes(&envelope_message_bytes(
            DomainTag::StoreBackup,
            &provider.public().0,
            payload,
        ));
        let body = EnvelopeBody {
            sender: client.account(),
            signature,
            payload: SecretBytes::from_slice(payload).unwrap(),
        };
        let sealed =
            seal_body(&provider.public(), DomainTag::RecoveredShare, &body.encode()).unwrap();
        assert_eq!(
            open(&provider, DomainTag::RecoveredShare, &sealed),
            Err(EnvelopeError::BadSignature)
        );
    }

    #[test]
    fn relay_resealing_to_a_third_party_is_rejected() {
        // The provider opens the client's envelope, then re-seals the untouched signed body to
        // a third node, hoping it passes as the client's message to that node.
        let provider = X25519Secret::from_bytes([7; 32]);
        let third = X25519Secret::from_bytes([9; 32]);
        let client = account(1);
        let sealed = seal(&provider.public(), &client, DomainTag::StoreBackup, b"share").unwrap();

        let body = open_hpke(&provider, DomainTag::StoreBackup, &sealed).unwrap();
        let resealed = seal_body(&third.public(), DomainTag::StoreBackup, &body).unwrap();
        assert_eq!(
            open(&third, DomainTag::StoreBackup, &resealed),
            Err(EnvelopeError::BadSignature)
        );
    }

    #[test]
    fn body_claiming_another_sender_is_rejected() {
        // Signed by key 2, but the body names account 1 as the sender.
        let provider = X25519Secret::from_bytes([7; 32]);
        let payload = b"share";
        let signature = account(2).sign_bytes(&envelope_message_bytes(
            DomainTag::StoreBackup,
            &provider.public().0,
            payload,
        ));
        let body = EnvelopeBody {
            sender: account(1).account(),
            signature,
            payload: SecretBytes::from_slice(payload).unwrap(),
        };
        let sealed = seal_body(&provider.public(), DomainTag::StoreBackup, &body.encode()).unwrap();
        assert_eq!(
            open(&provider, DomainTag::StoreBackup, &sealed),
            Err(EnvelopeError::BadSignature)
        );
    }

    #[test]
    fn garbage_body_is_malformed_not_a_panic() {
        let provider = X25519Secret::from_bytes([7; 32]);
        let sealed = seal_body(&provider.public(), DomainTag::StoreBackup, &[0xff; 40]).unwrap();
        assert_eq!(
            open(&provider, DomainTag::StoreBackup, &sealed),
            Err(EnvelopeError::MalformedBody)
        );
    }
}
