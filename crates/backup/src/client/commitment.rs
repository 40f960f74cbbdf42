//! The on-chain commitment to a database key: how a recovering node knows that what providers
//! returned is its key and not something else.
//!
//! `commitment = SHA-256(SCALE(domain, account, epoch, key))`. The domain tag keeps this hash
//! apart from every other hash in the project, and binding the account and epoch means a key
//! recovered for one node or epoch never passes as another's. The key is 256 uniformly random
//! bits, so the hash reveals nothing usable about it.

use codec::Encode;
use peerseal_protocol::AccountId;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Domain separator (versioned) of the key commitment.
const COMMITMENT_DOMAIN: &[u8] = b"peerseal/tss/key-commitment/v1";

/// The commitment recorded on chain for `account`'s key `key` at `epoch`.
pub fn key_commitment(account: &AccountId, epoch: u64, key: &[u8; 32]) -> [u8; 32] {
    let preimage = Zeroizing::new((COMMITMENT_DOMAIN, account, epoch, key).encode());
    Sha256::digest(preimage.as_slice()).into()
}

/// Whether `key` matches `commitment` (constant-time comparison).
pub fn matches_commitment(
    account: &AccountId,
    epoch: u64,
    key: &[u8; 32],
    commitment: &[u8; 32],
) -> bool {
    key_commitment(account, epoch, key).ct_eq(commitment).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_binds_account_epoch_and_key() {
        let a = AccountId([1; 32]);
        let c = key_commitment(&a, 3, &[7; 32]);
        assert!(matches_commitment(&a, 3, &[7; 32], &c));
        assert!(!matches_commitment(&AccountId([2; 32]), 3, &[7; 32], &c));
        assert!(!matches_commitment(&a, 4, &[7; 32], &c));
        assert!(!matches_commitment(&a, 3, &[8; 32], &c));
    }
}
