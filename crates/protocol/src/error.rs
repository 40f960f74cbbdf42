//! Errors of this crate, as values. None of them carries key material or plaintext: only
//! lengths, bounds and static descriptions, so they are safe to log.

use crate::bounded::TooLong;

/// A wire message could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The encoded message is larger than the bound for its direction.
    #[error("message of {len} bytes exceeds the bound of {max} bytes")]
    TooLarge {
        /// Size of the offered message.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The bytes are not a valid SCALE encoding of the expected message (or have trailing bytes).
    #[error("malformed message: {0}")]
    Malformed(#[from] codec::Error),
}

/// An envelope could not be sealed or opened, or a signed message did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The payload is larger than an envelope may carry.
    #[error("payload too large: {0}")]
    PayloadTooLarge(#[from] TooLong),
    /// The domain tag is for signed plaintext messages, not for envelopes.
    #[error("domain tag is not usable for envelopes")]
    TagNotForEnvelopes,
    /// HPKE refused to seal (e.g. a recipient key that is not a valid X25519 public key).
    #[error("sealing failed")]
    Seal,
    /// The envelope did not decrypt: wrong recipient key, wrong domain tag, or tampered bytes.
    #[error("envelope does not open with this key and domain tag")]
    Open,
    /// The envelope decrypted but its content is not a well-formed envelope body.
    #[error("malformed envelope body")]
    MalformedBody,
    /// The sr25519 signature does not verify for the claimed account, domain tag and recipient.
    #[error("bad signature")]
    BadSignature,
    /// A signed message names one account but is signed with another key.
    #[error("signer is not the account named in the message")]
    WrongSigner,
    /// The envelope opened and verified, but its payload is not a valid `BackupShare`.
    #[error("malformed share payload")]
    MalformedPayload,
    /// The envelope was signed by an account other than the one it had to come from.
    #[error("envelope signed by an unexpected account")]
    UnexpectedSender,
}

impl EnvelopeError {
    /// The typed reply a provider sends when a request's envelope fails this way.
    pub fn reason(&self) -> crate::messages::ErrorReason {
        use crate::messages::ErrorReason;
        match self {
            EnvelopeError::Open | EnvelopeError::MalformedBody => ErrorReason::BadEnvelope,
            EnvelopeError::BadSignature => ErrorReason::BadSignature,
            EnvelopeError::WrongSigner | EnvelopeError::UnexpectedSender => {
                ErrorReason::AccountMismatch
            }
            EnvelopeError::MalformedPayload | EnvelopeError::PayloadTooLarge(_) => {
                ErrorReason::InvalidRequest
            }
            EnvelopeError::TagNotForEnvelopes | EnvelopeError::Seal => ErrorReason::Internal,
        }
    }
}
