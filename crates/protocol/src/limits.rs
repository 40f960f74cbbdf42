//! Every size bound of the protocol, in one place.
//!
//! The frame bounds are what the libp2p codec enforces before it allocates; the field bounds
//! are enforced again while decoding, and are chosen so that the largest legal message of each
//! direction fits its frame bound (a test checks this).

/// Largest key share: a share of a 32-byte key plus Shamir metadata, with ample room.
pub const MAX_SHARE_LEN: usize = 1024;
/// Largest TDX quote accepted (v4/v5 quotes with a PCK chain are about 5 KiB).
pub const MAX_QUOTE_LEN: usize = 16 * 1024;
/// Largest payload an envelope carries (a SCALE `BackupShare` is at most ~1.1 KiB).
pub const MAX_ENVELOPE_PAYLOAD_LEN: usize = 2 * 1024;
/// Largest envelope ciphertext: the body (sender 32 + signature 64 + length prefix + payload)
/// plus the 16-byte AEAD tag, rounded up.
pub const MAX_SEALED_CIPHERTEXT_LEN: usize = MAX_ENVELOPE_PAYLOAD_LEN + 128;
/// Largest request frame (a `Recover` with a maximal quote is ~16.1 KiB).
pub const MAX_REQUEST_LEN: usize = 20 * 1024;
/// Largest response frame: a cold-starting node's `RecoveryQuote` carries a quote, so
/// responses take the request bound (a `RecoveredShare` is ~2.2 KiB). It bounds what a client
/// reads from a peer it dialled itself.
pub const MAX_RESPONSE_LEN: usize = MAX_REQUEST_LEN;
/// Nesting depth limit for SCALE decoding; the message types nest only a few levels.
pub const MAX_DECODE_DEPTH: u32 = 16;
