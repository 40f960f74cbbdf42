//! Splitting the database key into Shamir shares over GF(256) and putting it back together.
//!
//! `t`-of-`n`: any `t` shares rebuild the key; fewer than `t` reveal nothing about it beyond
//! what the key's own randomness allows. With `t = 1` the polynomial is constant, so every
//! share *is* the key: the "all copies" mode is the same code path, with distinct share
//! indices as the chain requires.
//!
//! Dealing is deterministic: the polynomial coefficients come from a ChaCha20 stream keyed by
//! HKDF-SHA256 of the key, bound to (account, epoch, threshold). So the node can recompute any
//! provider's share from the key alone — for health checks, for re-sending a share, and to
//! tell which provider returned a wrong share after recovery — without storing shares. The
//! coefficients are pseudo-random to anyone without the 256-bit key, so the scheme's secrecy
//! becomes computational instead of information-theoretic, at the strength of the key itself.
//!
//! The arithmetic is `blahaj` (the maintained fork of `sharks`); its shares and field elements
//! zeroize on drop, and the buffers this module builds are `Zeroizing` too.

use chacha20::rand_core::SeedableRng;
use codec::Encode;
use peerseal_protocol::AccountId;
use zeroize::Zeroizing;

/// Length of the database key.
pub const KEY_LEN: usize = 32;

/// Who a dealing is for. Each has its own polynomial (its own HKDF salt, versioned), so a
/// provider's share and a recovery operator's share never combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dealing {
    /// The provider shares of a backup ([`deal`]).
    Providers,
    /// The shares sealed to the chain's recovery operators.
    Operators,
}

impl Dealing {
    fn salt(self) -> &'static [u8] {
        match self {
            Dealing::Providers => b"peerseal/tss/shamir-dealing/v1",
            Dealing::Operators => b"peerseal/tss/shamir-dealing-operators/v1",
        }
    }
}

/// Why shares could not be made or combined. No variant carries share bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// Threshold 0, or more shares needed than exist.
    #[error("threshold {threshold} is not within 1..={count}")]
    BadThreshold {
        /// The threshold asked for.
        threshold: u8,
        /// Number of shares.
        count: usize,
    },
    /// Share index 0 is the secret itself and is never dealt.
    #[error("share index 0 is not a valid share")]
    ZeroIndex,
    /// Two shares with the same index but different content were given.
    #[error("conflicting shares with index {0}")]
    ConflictingIndex(u8),
    /// A share is not exactly as long as the key.
    #[error("share of {0} bytes, expected {KEY_LEN}")]
    BadLength(usize),
    /// Fewer distinct shares than the threshold.
    #[error("{have} distinct shares, {need} needed")]
    NotEnough {
        /// Shares given.
        have: usize,
        /// The threshold.
        need: u8,
    },
}

/// One share: its index (the x-coordinate, 1..=255) and bytes. Zeroized on drop.
#[derive(Clone)]
pub struct KeyShare {
    /// x-coordinate.
    pub index: u8,
    /// y-values, one per key byte.
    pub bytes: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeyShare {{ index: {}, bytes: <redacted> }}", self.index)
    }
}

fn dealing_rng(
    salt: &[u8],
    key: &[u8; KEY_LEN],
    account: &AccountId,
    epoch: u64,
    threshold: u8,
) -> chacha20::ChaCha20Rng {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), key);
    let mut seed = Zeroizing::new([0u8; 32]);
    // Provably infallible: HKDF-SHA256 can expand up to 255 * 32 bytes; 32 are asked for.
    #[allow(clippy::expect_used)]
    hk.expand(&(account, epoch, threshold).encode(), seed.as_mut_slice())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    chacha20::ChaCha20Rng::from_seed(*seed)
}

/// Shares `1..=count` of `key` for threshold `threshold` (deterministic, see the module doc).
pub fn deal(
    key: &[u8; KEY_LEN],
    account: &AccountId,
    epoch: u64,
    threshold: u8,
    count: u8,
) -> Result<Vec<KeyShare>, ShareError> {
    deal_as(Dealing::Providers, key, account, epoch, threshold, count)
}

/// [`deal`] for `dealing`: the same inputs give unrelated shares for another dealing.
pub fn deal_as(
    dealing: Dealing,
    key: &[u8; KEY_LEN],
    account: &AccountId,
    epoch: u64,
    threshold: u8,
    count: u8,
) -> Result<Vec<KeyShare>, ShareError> {
    if threshold == 0 || threshold > count {
        return Err(ShareError::BadThreshold { threshold, count: usize::from(count) });
    }
    let mut rng = dealing_rng(dealing.salt(), key, account, epoch, threshold);
    let dealer = blahaj::Sharks(threshold).dealer_rng(key, &mut rng);
    Ok(dealer
        .take(usize::from(count))
        .map(|share| {
            // blahaj's byte form is x ‖ y; the index travels separately on the wire.
            let raw = Zeroizing::new(Vec::<u8>::from(&share));
            KeyShare {
                index: raw.first().copied().unwrap_or(0),
                bytes: Zeroizing::new(raw.get(1..).unwrap_or_default().to_vec()),
            }
        })
        .collect())
}

/// The share with `index` that [`deal`] gives for these inputs.
pub fn share_at(
    key: &[u8; KEY_LEN],
    account: &AccountId,
    epoch: u64,
    threshold: u8,
    index: u8,
) -> Result<KeyShare, ShareError> {
    if index == 0 {
        return Err(ShareError::ZeroIndex);
    }
    let mut all = deal(key, account, epoch, threshold, index.max(threshold))?;
    all.retain(|s| s.index == index);
    all.pop().ok_or(ShareError::ZeroIndex)
}

/// Rebuilds the key from at least `threshold` shares with distinct, non-zero indices.
/// The result is only a candidate: check it against the on-chain commitment.
pub fn combine(threshold: u8, shares: &[KeyShare]) -> Result<Zeroizing<[u8; KEY_LEN]>, ShareError> {
    if threshold == 0 {
        return Err(ShareError::BadThreshold { threshold, count: shares.len() });
    }
    let mut distinct: Vec<&KeyShare> = Vec::with_capacity(shares.len());
    for share in shares {
        if share.index == 0 {
            return Err(ShareError::ZeroIndex);
        }
        if share.bytes.len() != KEY_LEN {
            return Err(ShareError::BadLength(share.bytes.len()));
        }
        match distinct.iter().find(|d| d.index == share.index) {
            Some(seen) if seen.bytes != share.bytes => {
                return Err(ShareError::ConflictingIndex(share.index))
            }
            Some(_) => {}
            None => distinct.push(share),
        }
    }
    if distinct.len() < usize::from(threshold) {
        return Err(ShareError::NotEnough { have: distinct.len(), need: threshold });
    }
    let mut parsed = Vec::with_capacity(distinct.len());
    for share in distinct {
        let mut raw = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
        raw.push(share.index);
        raw.extend_from_slice(&share.bytes);
        // Length ≥ 2 was checked above, the only way `try_from` fails.
        let parsed_share = blahaj::Share::try_from(raw.as_slice())
            .map_err(|_| ShareError::BadLength(share.bytes.len()))?;
        parsed.push(parsed_share);
    }
    let secret = Zeroizing::new(
        blahaj::Sharks(threshold)
            .recover(parsed.iter())
            .map_err(|_| ShareError::NotEnough { have: parsed.len(), need: threshold })?,
    );
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if secret.len() != KEY_LEN {
        return Err(ShareError::BadLength(secret.len()));
    }
    key.copy_from_slice(&secret);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: AccountId = AccountId([9; 32]);

    #[test]
    fn any_t_of_n_rebuild_and_dealing_is_deterministic() {
        let key = [0x42; 32];
        let shares = deal(&key, &A, 1, 2, 3).unwrap();
        assert_eq!(shares.iter().map(|s| s.index).collect::<Vec<_>>(), vec![1, 2, 3]);
        for pair in [[0, 1], [0, 2], [1, 2]] {
            let chosen = [shares[pair[0]].clone(), shares[pair[1]].clone()];
            assert_eq!(*combine(2, &chosen).unwrap(), key);
        }
        assert_eq!(
            combine(2, &shares[..1]).unwrap_err(),
            ShareError::NotEnough { have: 1, need: 2 }
        );
        assert_eq!(*share_at(&key, &A, 1, 2, 3).unwrap().bytes, *shares[2].bytes);
        assert_ne!(*deal(&key, &A, 2, 2, 3).unwrap()[0].bytes, *shares[0].bytes);
    }

    #[test]
    fn threshold_one_shares_are_copies() {
        let key = [0x17; 32];
        for share in deal(&key, &A, 5, 1, 2).unwrap() {
            assert_eq!(share.bytes.as_slice(), &key);
            assert_eq!(*combine(1, &[share]).unwrap(), key);
        }
    }

    #[test]
    fn one_share_of_two_is_not_the_key() {
        let key = [0x99; 32];
        let shares = deal(&key, &A, 1, 2, 2).unwrap();
        assert_ne!(shares[0].bytes.as_slice(), &key);
        assert_ne!(shares[1].bytes.as_slice(), &key);
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let key = [1; 32];
        assert!(deal(&key, &A, 1, 0, 2).is_err());
        assert!(deal(&key, &A, 1, 3, 2).is_err());
        let mut s = deal(&key, &A, 1, 2, 2).unwrap();
        s[1].index = 0;
        assert_eq!(combine(2, &s).unwrap_err(), ShareError::ZeroIndex);
        let mut s = deal(&key, &A, 1, 2, 2).unwrap();
        s[1].index = 1;
        assert_eq!(combine(2, &s).unwrap_err(), ShareError::ConflictingIndex(1));
        let mut s = deal(&key, &A, 1, 1, 1).unwrap();
        s[0].bytes.push(0);
        assert_eq!(combine(1, &s).unwrap_err(), ShareError::BadLength(33));
        assert!(combine(0, &[]).is_err());
    }
}
