//! Why a quote was rejected: one variant per distinct failure, SCALE-encodable so that a pallet can
//! surface it, and free of any key material.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// A quote failed verification. Checks run in the order of the variants below (framing, parse
/// and quote signature, platform checks, PCK, measurement, report data), and the first failure is
/// reported.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
    thiserror::Error,
)]
pub enum VerifyError {
    /// The quote is empty.
    #[error("quote is empty")]
    Empty,
    /// The quote is longer than [`crate::MAX_QUOTE_LEN`]; it was not parsed.
    #[error("quote is longer than the maximum quote length")]
    TooLarge,
    /// The quote ends before the structure its own header and length fields announce.
    #[error("quote is truncated")]
    Truncated,
    /// Non-zero bytes follow the end of the quote (zero padding is tolerated: real quotes have it).
    #[error("quote has trailing data")]
    TrailingData,
    /// The quote version is not 4 (the only version tdx-quote 0.0.5 parses reliably).
    #[error("unsupported quote version")]
    UnsupportedVersion,
    /// The attestation key type is not ECDSA-P256.
    #[error("unsupported attestation key type")]
    UnsupportedKeyType,
    /// The quote is not from a TDX trust domain (for example an SGX enclave quote).
    #[error("quote is not a TDX quote")]
    NotTdx,
    /// The quote's fields do not parse.
    #[error("quote is malformed")]
    Malformed,
    /// The certification data is not a PCK-signed QE report, so no PCK can vouch for it.
    #[error("unsupported certification data")]
    UnsupportedCertificationData,
    /// The attestation key's signature over header and body does not verify (tampered body or
    /// signature, or an invalid key or signature encoding).
    #[error("quote signature is invalid")]
    BadSignature,
    /// The QE report does not commit to the quote's attestation key.
    #[error("QE report does not match the attestation key")]
    AttestationKeyMismatch,
    /// The TD runs in debug mode: its memory is readable by the host.
    #[error("quote comes from a debug TD")]
    DebugTd,
    /// Production mode: the PCK certificate chain is missing, unparsable or does not verify up to
    /// Intel's root CA.
    #[error("PCK certificate chain is invalid")]
    PckChainInvalid,
    /// The PCK is known (allowed, or certified by the chain) but its signature over the QE report
    /// does not verify.
    #[error("PCK signature over the QE report is invalid")]
    PckSignatureInvalid,
    /// Dev mode: the PCK is not on the allow-list.
    #[error("PCK is not allowed")]
    PckNotAllowed,
    /// The TD's measurement is not in the accepted set.
    #[error("measurement is not accepted")]
    MeasurementNotAccepted,
    /// The report data does not bind what was expected. `nonce_ok` / `binding_ok` say which half
    /// matched (a stale nonce versus another account, key, peer id or context).
    #[error("report data mismatch (nonce ok: {nonce_ok}, binding ok: {binding_ok})")]
    ReportDataMismatch {
        /// The nonce half matched.
        nonce_ok: bool,
        /// The binding-hash half matched.
        binding_ok: bool,
    },
    /// The quote names no platform identity: its PCK leaf certificate has no (single,
    /// well-formed) SGX PPID extension, or (dev PCK mode) its mock PCK claim carries no
    /// platform. Only [`crate::platform_id`] reports it; appended last so the SCALE indices of
    /// the other variants stay.
    #[error("quote names no platform identity")]
    PlatformIdMissing,
}
