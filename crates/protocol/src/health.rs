//! The health-check MAC: proof that a provider holds a share, without sending the share.
//!
//! `mac = HMAC-SHA256(key = share, SCALE(context, provider, client, epoch, challenge))`.
//! Binding the answering provider matters with full copies (threshold 1), where several
//! providers hold the same bytes: a provider that lost its copy cannot forward the challenge to
//! another provider and pass the answer off as its own.

use crate::types::{AccountId, Nonce32};
use codec::Encode;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const HEALTH_CONTEXT: &[u8] = b"peerseal/v1/health";

/// The MAC a provider (`provider`) answers a [`crate::HealthChallenge`] with.
pub fn health_mac(
    share: &[u8],
    provider: &AccountId,
    client: &AccountId,
    epoch: u64,
    challenge: &Nonce32,
) -> [u8; 32] {
    // Provably infallible: HMAC accepts keys of every length (longer ones are hashed first);
    // `new_from_slice` can only fail for MACs with a fixed key size, which HMAC is not.
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(share).expect("HMAC takes keys of any length");
    mac.update(&(HEALTH_CONTEXT, provider, client, epoch, challenge).encode());
    mac.finalize().into_bytes().into()
}

/// Whether `mac` is the right answer, compared in constant time.
pub fn verify_health_mac(
    share: &[u8],
    provider: &AccountId,
    client: &AccountId,
    epoch: u64,
    challenge: &Nonce32,
    mac: &[u8; 32],
) -> bool {
    use subtle::ConstantTimeEq;
    let expected = health_mac(share, provider, client, epoch, challenge);
    expected.ct_eq(mac).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_depends_on_every_input() {
        let (p, c, ch) = (AccountId([1; 32]), AccountId([2; 32]), Nonce32([3; 32]));
        let base = health_mac(b"share", &p, &c, 5, &ch);
        assert!(verify_health_mac(b"share", &p, &c, 5, &ch, &base));
        assert_ne!(base, health_mac(b"shard", &p, &c, 5, &ch));
        assert_ne!(base, health_mac(b"share", &AccountId([9; 32]), &c, 5, &ch));
        assert_ne!(base, health_mac(b"share", &p, &AccountId([9; 32]), 5, &ch));
        assert_ne!(base, health_mac(b"share", &p, &c, 6, &ch));
        assert_ne!(base, health_mac(b"share", &p, &c, 5, &Nonce32([4; 32])));
        assert!(!verify_health_mac(b"lost", &p, &c, 5, &ch, &base));
    }
}
