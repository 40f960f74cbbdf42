//! The wire messages of `/peerseal/backup/2`: every request, every response, and the typed
//! reasons a provider gives when it refuses.
//!
//! Encoding is SCALE with explicit variant indices (so reordering the source never changes the
//! wire), bounded byte strings, a depth limit and "decode all" (no trailing bytes). Flow:
//!
//! | request            | success response   | purpose                                         |
//! |--------------------|--------------------|-------------------------------------------------|
//! | [`StoreBackup`]    | [`SignedReceipt`]  | a client hands a provider its sealed key share  |
//! | [`RequestNonce`]   | [`Nonce`]          | step 1 of recovery: a fresh single-use nonce    |
//! | [`Recover`]        | [`RecoveredShare`] | step 2: quote in, share sealed to response key  |
//! | [`HealthChallenge`]| [`HealthProof`]    | does the provider still hold the right share?   |
//! | [`OperatorChallenge`] | [`RecoveryQuote`] | cold start: an operator asks a node to quote |
//! | [`OperatorRelease`] | [`ShareIntake`]   | cold start: an operator releases its share      |
//!
//! Any request may instead be answered with [`Response::Error`] and an [`ErrorReason`].

use crate::bounded::{BoundedBytes, SecretBytes};
use crate::envelope::{open, seal, Sealed};
use crate::error::{EnvelopeError, WireError};
use crate::limits::{
    MAX_DECODE_DEPTH, MAX_QUOTE_LEN, MAX_REQUEST_LEN, MAX_RESPONSE_LEN, MAX_SHARE_LEN,
};
use crate::operator::{OperatorChallenge, OperatorRelease, RecoveryQuote, ShareIntake};
use crate::signing::{sign_message, verify_message, AccountSigner, DomainTag};
use crate::types::{AccountId, Nonce32, Signature, X25519Public, X25519Secret};
use codec::{Decode, DecodeLimit, Encode};
use zeroize::Zeroizing;

/// A key share (or, with threshold 1, the whole key): secret, bounded.
pub type ShareBytes = SecretBytes<MAX_SHARE_LEN>;
/// A TDX quote: public, bounded.
pub type QuoteBytes = BoundedBytes<MAX_QUOTE_LEN>;

/// The plaintext of a key share. It only ever travels inside an envelope: sealed to the
/// provider in [`StoreBackup`] (tag [`DomainTag::StoreBackup`], signed by the client) and sealed
/// to the response key in [`RecoveredShare`] (tag [`DomainTag::RecoveredShare`], signed by the
/// provider).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct BackupShare {
    /// The TSS account whose database key this share belongs to. In a `StoreBackup` it must be
    /// the envelope's signer.
    pub account: AccountId,
    /// Key epoch the share belongs to (a node may hold several while rotating).
    pub epoch: u64,
    /// Shamir x-coordinate of this share (1..=255); 1 when `threshold` is 1 (a full copy).
    pub share_index: u8,
    /// Number of shares needed to rebuild the key (1 = this share is the key).
    pub threshold: u8,
    /// The share bytes.
    pub share: ShareBytes,
}

impl BackupShare {
    /// SCALE encoding, for use as an envelope payload (zeroized on drop).
    pub fn to_payload(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.encode())
    }

    /// Decodes an opened envelope payload.
    pub fn from_payload(payload: &[u8]) -> Result<Self, WireError> {
        Ok(Self::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &payload[..])?)
    }
}

/// Request: store this key share. The envelope is sealed to the provider's on-chain x25519 key
/// with [`DomainTag::StoreBackup`] and holds a SCALE [`BackupShare`], signed by the client's TSS
/// account. The provider accepts it only from a registered account equal to `share.account`.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct StoreBackup {
    /// The sealed [`BackupShare`].
    pub envelope: Sealed,
}

impl StoreBackup {
    /// Client side: seals `share` to the provider's on-chain x25519 key, signed by `client`.
    /// Refuses ([`EnvelopeError::UnexpectedSender`]) a share that names another account.
    pub fn seal<S: AccountSigner + ?Sized>(
        provider_pk: &X25519Public,
        client: &S,
        share: &BackupShare,
    ) -> Result<Self, EnvelopeError> {
        if share.account != client.account() {
            return Err(EnvelopeError::UnexpectedSender);
        }
        let envelope = seal(provider_pk, client, DomainTag::StoreBackup, &share.to_payload())?;
        Ok(Self { envelope })
    }

    /// Provider side: opens with the provider's x25519 secret, checks the client's signature
    /// and that the share belongs to its signer. The returned `share.account` is the verified
    /// sender; the caller still checks that it is registered on chain.
    pub fn open(&self, provider_sk: &X25519Secret) -> Result<BackupShare, EnvelopeError> {
        let (sender, payload) = open(provider_sk, DomainTag::StoreBackup, &self.envelope)?;
        let share =
            BackupShare::from_payload(&payload).map_err(|_| EnvelopeError::MalformedPayload)?;
        if share.account != sender {
            return Err(EnvelopeError::UnexpectedSender);
        }
        Ok(share)
    }
}

/// What a provider attests to having stored; signed as a [`SignedReceipt`].
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct BackupReceipt {
    /// The provider's TSS account (the signer of the receipt).
    pub provider: AccountId,
    /// The client whose share is held.
    pub client: AccountId,
    /// Key epoch of the held share.
    pub epoch: u64,
    /// Shamir index of the held share.
    pub share_index: u8,
    /// [`Sealed::digest`] of the `StoreBackup` envelope as received: binds the receipt to
    /// exactly the bytes the client sent.
    pub envelope_digest: [u8; 32],
}

/// Response to [`StoreBackup`]: the receipt and the provider's sr25519 signature over
/// (context, [`DomainTag::Receipt`], SCALE of the receipt).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct SignedReceipt {
    /// The receipt.
    pub receipt: BackupReceipt,
    /// `receipt.provider`'s signature.
    pub signature: Signature,
}

impl SignedReceipt {
    /// Signs `receipt` as its provider; fails if `signer` is not `receipt.provider`.
    pub fn sign<S: AccountSigner + ?Sized>(
        receipt: BackupReceipt,
        signer: &S,
    ) -> Result<Self, EnvelopeError> {
        if signer.account() != receipt.provider {
            return Err(EnvelopeError::WrongSigner);
        }
        let signature = sign_message(signer, DomainTag::Receipt, &receipt.encode());
        Ok(Self { receipt, signature })
    }

    /// Checks the signature against `receipt.provider` and returns the receipt. The caller
    /// still checks that the provider, client, epoch and digest are the ones it expects.
    pub fn verify(&self) -> Result<&BackupReceipt, EnvelopeError> {
        verify_message(
            &self.receipt.provider,
            DomainTag::Receipt,
            &self.receipt.encode(),
            &self.signature,
        )?;
        Ok(&self.receipt)
    }
}

/// Request, recovery step 1: "give me a nonce for `account`". Public; nothing secret is asked.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct RequestNonce {
    /// The TSS account that is about to recover.
    pub account: AccountId,
}

/// Response to [`RequestNonce`]: a fresh random nonce, valid once, for `ttl_secs` seconds,
/// for the requested account only. It goes into the quote's report data.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Nonce {
    /// 32 random bytes.
    pub nonce: Nonce32,
    /// How long the provider keeps it (seconds from issue).
    pub ttl_secs: u32,
}

/// Request, recovery step 2: a quote whose report data binds (context "recover", `account`,
/// `response_pk`, nonce) and the nonce itself, as built by `peerseal-attestation`.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Recover {
    /// The recovering TSS account (must still be registered on chain).
    pub account: AccountId,
    /// Key epoch wanted (the one recorded on chain with `record_backup`).
    pub epoch: u64,
    /// One-off x25519 key generated inside the TEE; the share is sealed to it.
    pub response_pk: X25519Public,
    /// The TDX quote.
    pub quote: QuoteBytes,
}

/// Response to [`Recover`]: the held [`BackupShare`] sealed to `response_pk` with
/// [`DomainTag::RecoveredShare`], signed by the provider's TSS account.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct RecoveredShare {
    /// The sealed [`BackupShare`].
    pub envelope: Sealed,
}

impl RecoveredShare {
    /// Provider side: seals the held `share` to the recovering node's response key, signed
    /// by the provider's TSS account. Call only after the quote and nonce checks passed.
    pub fn seal<S: AccountSigner + ?Sized>(
        response_pk: &X25519Public,
        provider: &S,
        share: &BackupShare,
    ) -> Result<Self, EnvelopeError> {
        let envelope = seal(response_pk, provider, DomainTag::RecoveredShare, &share.to_payload())?;
        Ok(Self { envelope })
    }

    /// Client side: opens with the one-off response key and requires the provider's signature
    /// (`expected_provider`: the account of the provider it dialled, from the chain). The caller
    /// still checks `account`, `epoch` and, once combined, the on-chain commitment.
    pub fn open(
        &self,
        response_sk: &X25519Secret,
        expected_provider: &AccountId,
    ) -> Result<BackupShare, EnvelopeError> {
        let (sender, payload) = open(response_sk, DomainTag::RecoveredShare, &self.envelope)?;
        if &sender != expected_provider {
            return Err(EnvelopeError::UnexpectedSender);
        }
        BackupShare::from_payload(&payload).map_err(|_| EnvelopeError::MalformedPayload)
    }
}

/// Request: prove you still hold `account`'s share of `epoch`, without sending it.
///
/// Signed by `account` for one `provider` ([`DomainTag::HealthChallenge`]): only the client
/// itself can make a provider do the work, so nobody else can spend the client's budget at
/// that provider or make its checks fail. A replay gets the same answer the client already
/// had and costs only the replaying peer's own budget.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct HealthChallenge {
    /// The client whose share is checked (the signer).
    pub account: AccountId,
    /// The provider challenged (signed, so a challenge is good at this provider only).
    pub provider: AccountId,
    /// The key epoch checked.
    pub epoch: u64,
    /// Fresh random challenge from the client.
    pub challenge: Nonce32,
    /// `account`'s signature of (provider, account, epoch, challenge).
    pub signature: Signature,
}

impl HealthChallenge {
    fn signed_body(
        provider: &AccountId,
        account: &AccountId,
        epoch: u64,
        challenge: &Nonce32,
    ) -> Vec<u8> {
        (provider, account, epoch, challenge).encode()
    }

    /// Client side: a challenge of `provider` for the signer's share of `epoch`.
    pub fn sign<S: AccountSigner + ?Sized>(
        signer: &S,
        provider: AccountId,
        epoch: u64,
        challenge: Nonce32,
    ) -> Self {
        let account = signer.account();
        let body = Self::signed_body(&provider, &account, epoch, &challenge);
        let signature = sign_message(signer, DomainTag::HealthChallenge, &body);
        Self { account, provider, epoch, challenge, signature }
    }

    /// Provider side: whether `account` signed this challenge for `me`.
    pub fn verify(&self, me: &AccountId) -> Result<(), EnvelopeError> {
        if &self.provider != me {
            return Err(EnvelopeError::UnexpectedSender);
        }
        let body = Self::signed_body(&self.provider, &self.account, self.epoch, &self.challenge);
        verify_message(&self.account, DomainTag::HealthChallenge, &body, &self.signature)
    }
}

/// Response to [`HealthChallenge`]: [`crate::health::health_mac`] over the challenge, keyed by
/// the held share and bound to the answering provider.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct HealthProof {
    /// HMAC-SHA256 tag.
    pub mac: [u8; 32],
}

/// Why a quote was refused (the attestation verifier's verdict, coarse enough to be public).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub enum QuoteRejection {
    /// Not a parsable quote.
    #[codec(index = 0)]
    Malformed,
    /// The quote's attestation-key signature or PCK certificate chain does not verify.
    #[codec(index = 1)]
    BadSignature,
    /// The PCK is not trusted (not Intel-rooted in production, not allow-listed in dev).
    #[codec(index = 2)]
    UntrustedPck,
    /// The quote is not from the account's platform: neither the platform of its registered
    /// quote (the PPID of the PCK certificate, which survives TCB updates; the PCK key itself
    /// is no longer compared) nor a platform governance approved it to move to; or the quote
    /// names no platform. The name is from when the PCK key was compared; the index is kept.
    #[codec(index = 3)]
    PckMismatch,
    /// The report data does not bind (recover, account, response key, nonce).
    #[codec(index = 4)]
    ReportDataMismatch,
    /// The measurement is not among the chain's accepted measurements.
    #[codec(index = 5)]
    MeasurementNotAccepted,
    /// Debug TD or another TD attribute the policy refuses.
    #[codec(index = 6)]
    PolicyViolation,
    /// A verifier reason without its own variant; the code is for logs and metrics.
    #[codec(index = 255)]
    Other(u16),
}

/// Typed refusal: every rejection a provider makes is one of these.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub enum ErrorReason {
    /// The account is not (or no longer) a registered TSS server on chain.
    #[codec(index = 0)]
    NotRegistered,
    /// The envelope does not open with the provider's key (wrong key, tag or tampered).
    #[codec(index = 1)]
    BadEnvelope,
    /// The signature inside the envelope does not verify.
    #[codec(index = 2)]
    BadSignature,
    /// The envelope's signer is not the account the content names.
    #[codec(index = 3)]
    AccountMismatch,
    /// No such nonce was issued (or it was already dropped).
    #[codec(index = 4)]
    NonceUnknown,
    /// The nonce's time to live has passed.
    #[codec(index = 5)]
    NonceExpired,
    /// The nonce was already used.
    #[codec(index = 6)]
    NonceReplayed,
    /// The nonce was issued to another account.
    #[codec(index = 7)]
    NonceAccountMismatch,
    /// The quote was refused, with the verifier's reason.
    #[codec(index = 8)]
    QuoteRejected(QuoteRejection),
    /// Too many requests from this account (or in total); retry after the given delay.
    #[codec(index = 9)]
    RateLimited {
        /// Seconds to wait before retrying.
        retry_after_secs: u32,
    },
    /// The provider holds no backup for this account and epoch.
    #[codec(index = 10)]
    NoBackupHeld,
    /// The request is well-formed SCALE but semantically invalid (e.g. threshold 0, index 0).
    #[codec(index = 11)]
    InvalidRequest,
    /// The provider is not ready to serve (e.g. not chain-connected yet).
    #[codec(index = 12)]
    Unavailable,
    /// Something went wrong inside the provider; details are in its own log only.
    #[codec(index = 13)]
    Internal,
    /// The epoch is below the client's epoch recorded on chain: superseded shares are neither
    /// stored nor released (a rolled-back or copied node cannot get its old key back).
    #[codec(index = 14)]
    SupersededEpoch,
    /// The provider already holds a different share for this (account, epoch); it never
    /// overwrites one, so a clone cannot replace the genuine node's pending shares.
    #[codec(index = 15)]
    EpochTaken,
    /// Cold start: a released operator share is for another key epoch, key commitment,
    /// operator set or threshold than the node's store needs.
    #[codec(index = 16)]
    ShareMismatch,
}

impl ErrorReason {
    /// A short stable label (metrics, logs); quote rejections are one label.
    pub fn label(&self) -> &'static str {
        match self {
            ErrorReason::NotRegistered => "not_registered",
            ErrorReason::BadEnvelope => "bad_envelope",
            ErrorReason::BadSignature => "bad_signature",
            ErrorReason::AccountMismatch => "account_mismatch",
            ErrorReason::NonceUnknown => "nonce_unknown",
            ErrorReason::NonceExpired => "nonce_expired",
            ErrorReason::NonceReplayed => "nonce_replayed",
            ErrorReason::NonceAccountMismatch => "nonce_account_mismatch",
            ErrorReason::QuoteRejected(_) => "quote_rejected",
            ErrorReason::RateLimited { .. } => "rate_limited",
            ErrorReason::NoBackupHeld => "no_backup_held",
            ErrorReason::InvalidRequest => "invalid_request",
            ErrorReason::Unavailable => "unavailable",
            ErrorReason::Internal => "internal",
            ErrorReason::SupersededEpoch => "superseded_epoch",
            ErrorReason::EpochTaken => "epoch_taken",
            ErrorReason::ShareMismatch => "share_mismatch",
        }
    }
}

/// Every request of the protocol.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub enum Request {
    /// See [`StoreBackup`].
    #[codec(index = 0)]
    StoreBackup(StoreBackup),
    /// See [`RequestNonce`].
    #[codec(index = 1)]
    RequestNonce(RequestNonce),
    /// See [`Recover`].
    #[codec(index = 2)]
    Recover(Recover),
    /// See [`HealthChallenge`].
    #[codec(index = 3)]
    HealthChallenge(HealthChallenge),
    /// Cold start, operator → node: see [`OperatorChallenge`].
    #[codec(index = 4)]
    OperatorChallenge(OperatorChallenge),
    /// Cold start, operator → node: see [`OperatorRelease`].
    #[codec(index = 5)]
    OperatorRelease(OperatorRelease),
}

/// Every response of the protocol.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub enum Response {
    /// Answer to [`Request::StoreBackup`].
    #[codec(index = 0)]
    BackupReceipt(SignedReceipt),
    /// Answer to [`Request::RequestNonce`].
    #[codec(index = 1)]
    Nonce(Nonce),
    /// Answer to [`Request::Recover`].
    #[codec(index = 2)]
    RecoveredShare(RecoveredShare),
    /// Answer to [`Request::HealthChallenge`].
    #[codec(index = 3)]
    HealthProof(HealthProof),
    /// Refusal of any request.
    #[codec(index = 4)]
    Error(ErrorReason),
    /// Answer to [`Request::OperatorChallenge`].
    #[codec(index = 5)]
    RecoveryQuote(RecoveryQuote),
    /// Answer to [`Request::OperatorRelease`].
    #[codec(index = 6)]
    ShareIntake(ShareIntake),
}

fn encode_bounded<T: Encode>(value: &T, max: usize) -> Result<Vec<u8>, WireError> {
    let len = value.encoded_size();
    if len > max {
        return Err(WireError::TooLarge { len, max });
    }
    Ok(value.encode())
}

fn decode_bounded<T: Decode>(bytes: &[u8], max: usize) -> Result<T, WireError> {
    if bytes.len() > max {
        return Err(WireError::TooLarge { len: bytes.len(), max });
    }
    Ok(T::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &bytes[..])?)
}

impl Request {
    /// SCALE encoding, refused if larger than [`MAX_REQUEST_LEN`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        encode_bounded(self, MAX_REQUEST_LEN)
    }

    /// Decodes exactly one request from `bytes` (at most [`MAX_REQUEST_LEN`], no trailing bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        decode_bounded(bytes, MAX_REQUEST_LEN)
    }
}

impl Response {
    /// SCALE encoding, refused if larger than [`MAX_RESPONSE_LEN`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        encode_bounded(self, MAX_RESPONSE_LEN)
    }

    /// Decodes exactly one response from `bytes` (at most [`MAX_RESPONSE_LEN`], no trailing bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        decode_bounded(bytes, MAX_RESPONSE_LEN)
    }
}
