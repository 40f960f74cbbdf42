//! The wire protocol of peerseal's backup network, defined in one place.
//!
//! A TSS node backs its database key (or Shamir shares of it) up to attested peers and gets it
//! back after a restart by proving, with a fresh TDX quote, that it runs an accepted image.
//! This crate holds everything both ends must agree on: the messages ([`messages`]), their
//! size bounds ([`limits`]), the HPKE envelopes that carry key shares signed by the sender's
//! TSS account ([`envelope`], [`signing`]), the health-check MAC ([`health`]) and the libp2p
//! request-response codec for `/peerseal/backup/2` ([`p2p`]). It makes no policy decisions
//! (who is registered, which quote is good): the provider service and backup client do.
//!
//! **Encoding: SCALE, not CBOR.** The chain already speaks SCALE and accounts are
//! `AccountId32` bytes, so one codec covers both; SCALE has no self-describing maps, tags or
//! indefinite lengths to bound, every variable-length field here is a bounded byte string whose
//! length is checked before allocation, enum variants carry explicit indices, and decoding uses
//! a depth limit and rejects trailing bytes. A frame is length-prefixed and bounded per
//! direction before the codec sees it.
//!
//! Dependencies and why: `parity-scale-codec` (the encoding above); `aws-lc-rs` (X25519 and
//! ChaCha20-Poly1305 under the envelopes' RFC 9180 suite, twice as fast as curve25519-dalek's
//! X25519 here, see the `rfc9180` module; already the store's AEAD) and `hkdf` (RustCrypto's
//! HKDF-SHA256 for the suite's key schedule); `hpke` only as a test oracle the suite is checked
//! against byte for byte; `x25519-dalek` (deriving
//! public keys, generating response keys); `schnorrkel` (sr25519, the exact crate and context
//! `sp-core` and `subxt-signer` sign with); `sha2` + `hmac` (envelope digests, health MAC);
//! `subtle` (constant-time MAC comparison); `zeroize` (secrets wiped on drop); `thiserror`
//! (errors as values); `hex` (readable `Debug` of public keys); `libp2p` with only
//! `request-response` and `futures` (the codec's async I/O traits).

pub mod bounded;
pub mod envelope;
pub mod error;
pub mod health;
pub mod limits;
pub mod messages;
pub mod operator;
pub mod p2p;
pub mod rfc9180;
pub mod signing;
pub mod types;

pub use bounded::{BoundedBytes, SecretBytes, TooLong};
pub use envelope::{open, open_anonymous, open_with_signature, seal, seal_anonymous, Sealed};
pub use error::{EnvelopeError, WireError};
pub use health::{health_mac, verify_health_mac};
pub use messages::{
    BackupReceipt, BackupShare, ErrorReason, HealthChallenge, HealthProof, Nonce, QuoteBytes,
    QuoteRejection, Recover, RecoveredShare, Request, RequestNonce, Response, ShareBytes,
    SignedReceipt, StoreBackup,
};
pub use operator::{
    OperatorChallenge, OperatorRelease, OperatorShare, RecoveryQuote, ReleasedShare, ShareIntake,
};
pub use p2p::{behaviour, behaviour_with, BackupCodec, PROTOCOL, PROTOCOL_NAME};
/// Re-exported so callers name the same `schnorrkel` version this crate signs with.
pub use schnorrkel;
pub use signing::{verify_sr25519, AccountKeypair, AccountSigner, DomainTag};
pub use types::{AccountId, Nonce32, Signature, X25519Public, X25519Secret};
