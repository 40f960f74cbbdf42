//! Sealing the database key to the chain's recovery operators (issue 13's cold start).
//!
//! While governance has a recovery operator set on chain, every backup records, in the same
//! `record_backup`, the key split threshold-of-m on its own polynomial
//! ([`super::shares::deal_as`] for [`Dealing::Operators`]) with share `i` sealed to operator `i`
//! ([`OperatorShare`]). Neither the host nor the chain sees a share in the clear; an operator
//! opens only its own.

use super::shares::{deal_as, Dealing, ShareError};
use super::ClientError;
use codec::Encode;
use peerseal_chain::{RecoveryOperatorSet, SealedRecovery};
use peerseal_protocol::{
    messages::ShareBytes, operator::OperatorShare, AccountSigner, X25519Public,
};

/// The key of `epoch` (committed to as `commitment`) split for `set` and sealed to each of its
/// operators, signed by `node`.
pub fn seal_for_operators<S: AccountSigner + ?Sized>(
    set: &RecoveryOperatorSet,
    node: &S,
    key: &[u8; 32],
    epoch: u64,
    commitment: [u8; 32],
) -> Result<SealedRecovery, ClientError> {
    let count = u8::try_from(set.operators.len()).map_err(|_| {
        ClientError::Shares(ShareError::BadThreshold {
            threshold: set.threshold,
            count: set.operators.len(),
        })
    })?;
    let account = node.account();
    let shares = deal_as(Dealing::Operators, key, &account, epoch, set.threshold, count)?;
    let mut sealed = Vec::with_capacity(shares.len());
    for (operator, share) in set.operators.iter().zip(&shares) {
        let payload = OperatorShare {
            account,
            epoch,
            commitment,
            operator_set: set.revision,
            threshold: set.threshold,
            index: share.index,
            share: ShareBytes::from_slice(&share.bytes).map_err(|_| ClientError::OperatorSeal)?,
        };
        let envelope = payload
            .seal(&X25519Public(operator.x25519_public_key), node)
            .map_err(|_| ClientError::OperatorSeal)?;
        sealed.push(envelope.encode());
    }
    Ok(SealedRecovery { operator_set: set.revision, shares: sealed })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::client::shares::{combine, deal, KeyShare};
    use codec::Decode;
    use peerseal_chain::RecoveryOperator;
    use peerseal_protocol::{AccountKeypair, Sealed, X25519Secret};
    use zeroize::Zeroizing;

    const KEY: [u8; 32] = [0x5A; 32];
    const COMMITMENT: [u8; 32] = [0xC0; 32];

    fn set_of(secrets: &[X25519Secret], threshold: u8) -> RecoveryOperatorSet {
        RecoveryOperatorSet {
            revision: 4,
            threshold,
            operators: secrets
                .iter()
                .enumerate()
                .map(|(i, sk)| RecoveryOperator {
                    account: peerseal_protocol::AccountId([i as u8 + 1; 32]),
                    x25519_public_key: sk.public().0,
                })
                .collect(),
        }
    }

    fn open_all(secrets: &[X25519Secret], sealed: &SealedRecovery) -> Vec<OperatorShare> {
        secrets
            .iter()
            .zip(&sealed.shares)
            .map(|(sk, bytes)| {
                let envelope = Sealed::decode(&mut &bytes[..]).unwrap();
                OperatorShare::open(sk, &envelope).unwrap()
            })
            .collect()
    }

    fn as_key_share(share: &OperatorShare) -> KeyShare {
        KeyShare { index: share.index, bytes: Zeroizing::new(share.share.expose().to_vec()) }
    }

    #[test]
    fn a_threshold_of_operators_rebuilds_the_key_and_fewer_do_not() {
        let node = AccountKeypair::from_seed(&[3; 32]).unwrap();
        let secrets: Vec<X25519Secret> = (0..3).map(|_| X25519Secret::generate()).collect();
        let set = set_of(&secrets, 2);
        let sealed = seal_for_operators(&set, &node, &KEY, 9, COMMITMENT).unwrap();
        assert_eq!(sealed.operator_set, 4);
        assert_eq!(sealed.shares.len(), 3);
        assert!(sealed.shares.iter().all(|s| s.len() <= 512), "fits the runtime's bound");

        let opened = open_all(&secrets, &sealed);
        for (i, share) in opened.iter().enumerate() {
            assert_eq!(share.account, node.account());
            assert_eq!((share.epoch, share.commitment, share.operator_set), (9, COMMITMENT, 4));
            assert_eq!((share.threshold, share.index), (2, i as u8 + 1));
        }
        let two: Vec<KeyShare> = opened[1..].iter().map(as_key_share).collect();
        assert_eq!(*combine(2, &two).unwrap(), KEY);
        let one: Vec<KeyShare> = opened[..1].iter().map(as_key_share).collect();
        assert!(combine(2, &one).is_err());
    }

    #[test]
    fn each_share_opens_only_with_its_own_operators_key() {
        let node = AccountKeypair::from_seed(&[3; 32]).unwrap();
        let secrets: Vec<X25519Secret> = (0..2).map(|_| X25519Secret::generate()).collect();
        let sealed = seal_for_operators(&set_of(&secrets, 1), &node, &KEY, 1, COMMITMENT).unwrap();
        let first = Sealed::decode(&mut &sealed.shares[0][..]).unwrap();
        assert!(OperatorShare::open(&secrets[1], &first).is_err());
        assert!(OperatorShare::open(&X25519Secret::generate(), &first).is_err());
    }

    #[test]
    fn operator_shares_do_not_combine_with_provider_shares() {
        let node = AccountKeypair::from_seed(&[3; 32]).unwrap();
        let secrets: Vec<X25519Secret> = (0..2).map(|_| X25519Secret::generate()).collect();
        let sealed = seal_for_operators(&set_of(&secrets, 2), &node, &KEY, 1, COMMITMENT).unwrap();
        let operator = as_key_share(&open_all(&secrets, &sealed)[0]);
        let provider = deal(&KEY, &node.account(), 1, 2, 2).unwrap().remove(1);
        assert_ne!(*combine(2, &[operator, provider]).unwrap(), KEY);
    }
}
