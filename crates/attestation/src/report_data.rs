//! The 64-byte report data a TD puts into its quote, and what it binds.
//!
//! Layout: `SHA-256(domain ‖ context ‖ account ‖ public_key ‖ stash ‖ peer_id) ‖ nonce`. The
//! first half ties the quote to one purpose, one set of keys and (for registrations) the one
//! validator stash allowed to present it; the second half is the chain-issued nonce in the clear,
//! so a verifier can tell a stale nonce apart from a wrong binding. Building and checking go
//! through the same function, so the two can never drift apart.
//!
//! Version 2 of the layout added the stash: a registration quote that does not name its stash
//! can be copied out of a pending transaction and presented by anyone (front-running). The
//! domain separator carries the version, so a v1 report data never checks under v2.

use crate::{error::VerifyError, types::QuoteContext, REPORT_DATA_LEN};
use sha2::{Digest, Sha256};

/// Domain separator of the binding hash: no other peerseal hash can produce the same value.
const REPORT_DATA_DOMAIN: &[u8] = b"peerseal/attestation/report-data/v2";

/// What the report data of a quote must bind.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Binding<'a> {
    /// The purpose the quote is presented for.
    pub context: QuoteContext,
    /// The TSS account (sr25519 public key / `AccountId32` bytes).
    pub account: &'a [u8; 32],
    /// The x25519 key (register, change of server info) or the response key (recover).
    pub public_key: &'a [u8; 32],
    /// The validator stash the server belongs to (register, change of server info): only that
    /// stash may present the quote. `None` where no stash is involved (recover).
    pub stash: Option<&'a [u8; 32]>,
    /// The libp2p peer id bytes, where the context publishes one (register).
    pub peer_id: Option<&'a [u8]>,
    /// The nonce the chain issued for this attestation.
    pub nonce: &'a [u8; 32],
}

impl<'a> Binding<'a> {
    /// The binding of a recovery quote: `account` asks for its share, to be sealed to
    /// `response_key`, answering the provider's `nonce`. No stash, no peer id. The one place
    /// this shape is written, for the client that makes such quotes and the provider that checks
    /// them.
    pub fn recover(account: &'a [u8; 32], response_key: &'a [u8; 32], nonce: &'a [u8; 32]) -> Self {
        Binding {
            context: QuoteContext::Recover,
            account,
            public_key: response_key,
            stash: None,
            peer_id: None,
            nonce,
        }
    }
}

/// The hash half of the report data.
fn binding_hash(binding: &Binding<'_>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(REPORT_DATA_DOMAIN);
    hasher.update([binding.context.tag()]);
    hasher.update(binding.account);
    hasher.update(binding.public_key);
    // A presence byte, then the fixed-size stash when present: "no stash" can never hash like
    // any stash, and the length of what follows is fixed by that byte.
    match binding.stash {
        None => hasher.update([0u8]),
        Some(stash) => {
            hasher.update([1u8]);
            hasher.update(stash);
        }
    }
    // The only variable-length field goes last, with a presence byte and a length prefix, so
    // "no peer id" and "empty peer id" hash differently and no field can bleed into another.
    match binding.peer_id {
        None => hasher.update([0u8]),
        Some(peer_id) => {
            hasher.update([1u8]);
            hasher.update((peer_id.len() as u64).to_le_bytes());
            hasher.update(peer_id);
        }
    }
    hasher.finalize().into()
}

/// Builds the report data a TD must put into its quote for `binding`.
pub fn report_data(binding: &Binding<'_>) -> [u8; REPORT_DATA_LEN] {
    let mut out = [0u8; REPORT_DATA_LEN];
    out[..32].copy_from_slice(&binding_hash(binding));
    out[32..].copy_from_slice(binding.nonce);
    out
}

/// Checks that `actual` is exactly the report data of `binding`.
///
/// On mismatch the error says which half differs: a wrong nonce (stale or replayed quote) or a
/// wrong binding (another account, key, peer id or context). Which binding field differs cannot
/// be known: only their hash is in the quote.
pub fn check_report_data(
    actual: &[u8; REPORT_DATA_LEN],
    binding: &Binding<'_>,
) -> Result<(), VerifyError> {
    let expected = report_data(binding);
    let binding_ok = actual[..32] == expected[..32];
    let nonce_ok = actual[32..] == expected[32..];
    if binding_ok && nonce_ok {
        Ok(())
    } else {
        Err(VerifyError::ReportDataMismatch { nonce_ok, binding_ok })
    }
}
