//! sr25519 signatures exactly as Substrate makes them, and the domain tags that separate uses.
//!
//! Signatures are schnorrkel signatures under the signing context `b"substrate"`: the context
//! `sp_core::sr25519::Pair::sign` and `subxt_signer::sr25519::Keypair::sign` both use, so a
//! TSS account key held by any of them produces signatures this module verifies (a test checks
//! this against `sp-core`). Every signed byte string starts with a fixed, length-prefixed
//! context string and a [`DomainTag`], so a signature made for one use can never be replayed
//! as another.

use crate::error::EnvelopeError;
use crate::types::{AccountId, Signature};
use codec::Encode;
use zeroize::Zeroizing;

/// Substrate's sr25519 signing context.
pub const SUBSTRATE_SIGNING_CONTEXT: &[u8] = b"substrate";

/// Context string in front of every signed plaintext message (receipts).
const SIGNED_MESSAGE_CONTEXT: &[u8] = b"peerseal/signed-message/v1";

/// What a signature or an envelope is for. The tag is signed, and for envelopes also bound into
/// the HPKE key schedule, so a message made for one use is rejected in every other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DomainTag {
    /// A client's key share sealed to a provider (`StoreBackup`).
    StoreBackup,
    /// A provider returning a held share to a recovering node (`RecoveredShare`).
    RecoveredShare,
    /// A provider's signed `BackupReceipt` (plaintext, signed only).
    Receipt,
    /// A client's signed `HealthChallenge` (plaintext, signed only).
    HealthChallenge,
    /// A node's key share sealed to a recovery operator (recorded on chain).
    OperatorShare,
    /// An operator's share released to a cold-starting node's response key. The envelope is
    /// anonymous (operators hold no account key): what authenticates its content is the node's
    /// own signature from [`DomainTag::OperatorShare`], carried inside.
    OperatorRelease,
}

impl DomainTag {
    /// The tag's bytes as they are signed.
    pub const fn as_bytes(self) -> &'static [u8] {
        match self {
            DomainTag::StoreBackup => b"peerseal/v1/store-backup",
            DomainTag::RecoveredShare => b"peerseal/v1/recovered-share",
            DomainTag::Receipt => b"peerseal/v1/receipt",
            DomainTag::HealthChallenge => b"peerseal/v1/health-challenge",
            DomainTag::OperatorShare => b"peerseal/v1/operator-share",
            DomainTag::OperatorRelease => b"peerseal/v1/operator-release",
        }
    }

    /// Whether the tag may be used for a signed HPKE envelope (receipts are signed, not
    /// sealed).
    pub const fn is_envelope_tag(self) -> bool {
        matches!(
            self,
            DomainTag::StoreBackup | DomainTag::RecoveredShare | DomainTag::OperatorShare
        )
    }

    /// Whether the tag may be used for an anonymous HPKE envelope (no sender signature: the
    /// payload carries its own authentication).
    pub const fn is_anonymous_envelope_tag(self) -> bool {
        matches!(self, DomainTag::OperatorRelease)
    }
}

/// Something that signs as a TSS account with sr25519 (Substrate signing context).
///
/// Implemented for [`AccountKeypair`] (preferred: its `Debug` is redacted) and for
/// `schnorrkel::Keypair`, so an `sp_core::sr25519::Pair` signs through its
/// `AsRef<schnorrkel::Keypair>`.
pub trait AccountSigner {
    /// The signer's account (sr25519 public key).
    fn account(&self) -> AccountId;
    /// Signs `message` under the `b"substrate"` context.
    fn sign_bytes(&self, message: &[u8]) -> Signature;
}

impl AccountSigner for schnorrkel::Keypair {
    fn account(&self) -> AccountId {
        AccountId(self.public.to_bytes())
    }

    fn sign_bytes(&self, message: &[u8]) -> Signature {
        let transcript = schnorrkel::signing_context(SUBSTRATE_SIGNING_CONTEXT).bytes(message);
        Signature(self.sign(transcript).to_bytes())
    }
}

/// A TSS account's sr25519 keypair with a redacted `Debug` (schnorrkel's own `Debug` prints
/// the secret key). The secret is zeroized on drop by schnorrkel.
#[derive(Clone)]
pub struct AccountKeypair(schnorrkel::Keypair);

impl AccountKeypair {
    /// The keypair of a 32-byte mini secret key, expanded the way `sp-core` and `subxt-signer`
    /// expand seeds (`ExpansionMode::Ed25519`), so the account matches theirs.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, schnorrkel::SignatureError> {
        Ok(Self(
            schnorrkel::MiniSecretKey::from_bytes(seed)?
                .expand_to_keypair(schnorrkel::ExpansionMode::Ed25519),
        ))
    }

    /// The schnorrkel keypair inside (e.g. to hand to code that signs extrinsics).
    pub fn as_schnorrkel(&self) -> &schnorrkel::Keypair {
        &self.0
    }
}

impl From<schnorrkel::Keypair> for AccountKeypair {
    fn from(keypair: schnorrkel::Keypair) -> Self {
        Self(keypair)
    }
}

impl core::fmt::Debug for AccountKeypair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AccountKeypair(<secret redacted>, account {:?})", self.0.account())
    }
}

impl AccountSigner for AccountKeypair {
    fn account(&self) -> AccountId {
        self.0.account()
    }

    fn sign_bytes(&self, message: &[u8]) -> Signature {
        self.0.sign_bytes(message)
    }
}

/// Whether `signature` is `account`'s sr25519 signature of `message` (Substrate context).
pub fn verify_sr25519(account: &AccountId, message: &[u8], signature: &Signature) -> bool {
    let Ok(public) = schnorrkel::PublicKey::from_bytes(&account.0) else {
        return false;
    };
    let Ok(signature) = schnorrkel::Signature::from_bytes(&signature.0) else {
        return false;
    };
    public.verify_simple(SUBSTRATE_SIGNING_CONTEXT, message, &signature).is_ok()
}

/// The exact bytes signed for a plaintext message: context, tag, then the SCALE body.
fn signed_message_bytes(tag: DomainTag, body: &[u8]) -> Vec<u8> {
    (SIGNED_MESSAGE_CONTEXT, tag.as_bytes(), body).encode()
}

/// Signs a plaintext message body (already SCALE-encoded) under `tag`.
pub fn sign_message<S: AccountSigner + ?Sized>(
    signer: &S,
    tag: DomainTag,
    body: &[u8],
) -> Signature {
    signer.sign_bytes(&signed_message_bytes(tag, body))
}

/// Checks a signature made with [`sign_message`].
pub fn verify_message(
    account: &AccountId,
    tag: DomainTag,
    body: &[u8],
    signature: &Signature,
) -> Result<(), EnvelopeError> {
    if verify_sr25519(account, &signed_message_bytes(tag, body), signature) {
        Ok(())
    } else {
        Err(EnvelopeError::BadSignature)
    }
}

/// The exact bytes signed inside an envelope: context, tag, recipient key, payload.
///
/// The payload may be a key share, so the buffer is zeroized when dropped.
pub(crate) fn envelope_message_bytes(
    tag: DomainTag,
    recipient: &[u8; 32],
    payload: &[u8],
) -> Zeroizing<Vec<u8>> {
    const ENVELOPE_CONTEXT: &[u8] = b"peerseal/envelope/v1";
    Zeroizing::new((ENVELOPE_CONTEXT, tag.as_bytes(), recipient, payload).encode())
}
