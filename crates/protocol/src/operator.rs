//! Shares of a node's database key sealed to recovery operators, for a cold start.
//!
//! With every backup a node splits its key threshold-of-m a second time, independently of the
//! provider shares, and seals share `i` to operator `i` of the chain's recovery operator set
//! with [`DomainTag::OperatorShare`], signed by its TSS account. The sealed bytes are recorded
//! on chain (`Backup.RecoveryShares`), so the payload binds everything the chain record stands
//! for: account, epoch, key commitment, operator set revision, threshold and index. An operator
//! opening one learns one share; it releases it only to an attested node that asks for that
//! account and epoch.
//!
//! ## Cold start: the operator handshake
//! A node whose providers are all down (every node restarted at once) listens for operators on
//! its p2p address with a throwaway libp2p identity (its own one is inside its locked store):
//!
//! | operator sends                | node answers         |
//! |-------------------------------|----------------------|
//! | [`OperatorChallenge`] (nonce) | [`RecoveryQuote`]    |
//! | [`OperatorRelease`]           | [`ShareIntake`]      |
//!
//! The operator chooses the nonce, so a quote bound to it is fresh; it verifies the quote
//! against the chain's policy (measurement, PCK, platform, registered account, binding of
//! account, response key and nonce), opens its share of the epoch the chain records, and
//! releases it sealed to the quote's response key as a [`ReleasedShare`]: the share exactly as
//! the node signed it when it sealed it to this operator, with that signature. The node checks
//! its own signature, so nobody but an operator the node itself dealt to can hand it a share,
//! and the envelope needs no sender signature of its own ([`DomainTag::OperatorRelease`]).

use crate::bounded::SecretBytes;
use crate::envelope::{
    open_anonymous, open_with_signature, seal, seal_anonymous, verify_envelope_signature, Sealed,
};
use crate::error::EnvelopeError;
use crate::limits::{MAX_DECODE_DEPTH, MAX_SHARE_LEN};
use crate::messages::{QuoteBytes, ShareBytes};
use crate::signing::{AccountSigner, DomainTag};
use crate::types::{AccountId, Nonce32, Signature, X25519Public, X25519Secret};
use codec::{Decode, DecodeLimit, Encode};
use zeroize::Zeroizing;

/// Largest SCALE [`OperatorShare`]: the fixed fields and a maximal share.
pub const MAX_OPERATOR_SHARE_LEN: usize = MAX_SHARE_LEN + 128;

/// The payload sealed to one recovery operator.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct OperatorShare {
    /// The node whose database key this share belongs to (the envelope's signer).
    pub account: AccountId,
    /// Key epoch the share belongs to.
    pub epoch: u64,
    /// The key commitment recorded on chain with the backup.
    pub commitment: [u8; 32],
    /// Revision of the operator set the share was sealed to.
    pub operator_set: u32,
    /// Operators' shares needed to rebuild the key.
    pub threshold: u8,
    /// Shamir x-coordinate (operator `index - 1` of the set).
    pub index: u8,
    /// The share bytes.
    pub share: ShareBytes,
}

impl OperatorShare {
    /// Node side: seals this share to the operator's public key, signed by `node`. Refuses
    /// ([`EnvelopeError::UnexpectedSender`]) a share that names another account.
    pub fn seal<S: AccountSigner + ?Sized>(
        &self,
        operator_pk: &X25519Public,
        node: &S,
    ) -> Result<Sealed, EnvelopeError> {
        if self.account != node.account() {
            return Err(EnvelopeError::UnexpectedSender);
        }
        let payload = Zeroizing::new(self.encode());
        seal(operator_pk, node, DomainTag::OperatorShare, &payload)
    }

    /// Operator side: opens with the operator's secret key, checks the node's signature and
    /// that the share belongs to its signer.
    pub fn open(operator_sk: &X25519Secret, sealed: &Sealed) -> Result<Self, EnvelopeError> {
        Ok(Self::open_signed(operator_sk, sealed)?.0)
    }

    /// Like [`OperatorShare::open`], also returning the node's signature over the payload as a
    /// [`ReleasedShare`] carries it to the node.
    pub fn open_signed(
        operator_sk: &X25519Secret,
        sealed: &Sealed,
    ) -> Result<(Self, ReleasedShare), EnvelopeError> {
        let (sender, signature, payload) =
            open_with_signature(operator_sk, DomainTag::OperatorShare, sealed)?;
        let share = Self::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &payload[..])
            .map_err(|_| EnvelopeError::MalformedPayload)?;
        if share.account != sender {
            return Err(EnvelopeError::UnexpectedSender);
        }
        let released = ReleasedShare {
            operator_pk: operator_sk.public(),
            payload: SecretBytes::new(payload)?,
            node_signature: signature,
        };
        Ok((share, released))
    }
}

/// An operator's share as it goes back to the node it belongs to: the payload the node sealed
/// to `operator_pk`, byte for byte, with the node's signature over it.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct ReleasedShare {
    /// The operator key the node sealed the share to.
    pub operator_pk: X25519Public,
    /// SCALE [`OperatorShare`], as signed.
    pub payload: SecretBytes<MAX_OPERATOR_SHARE_LEN>,
    /// The node's signature of the payload for `operator_pk` ([`DomainTag::OperatorShare`]).
    pub node_signature: Signature,
}

impl ReleasedShare {
    /// Operator side: seals this to the node's response key (from its verified quote).
    pub fn seal(&self, response_pk: &X25519Public) -> Result<OperatorRelease, EnvelopeError> {
        let payload = Zeroizing::new(self.encode());
        Ok(OperatorRelease {
            envelope: seal_anonymous(response_pk, DomainTag::OperatorRelease, &payload)?,
        })
    }

    /// Node side: checks that `node` itself signed the payload for `operator_pk` and returns
    /// the share. The caller still checks epoch and commitment against the chain.
    pub fn verify(&self, node: &AccountId) -> Result<OperatorShare, EnvelopeError> {
        let payload = self.payload.expose();
        if !verify_envelope_signature(
            node,
            DomainTag::OperatorShare,
            &self.operator_pk,
            payload,
            &self.node_signature,
        ) {
            return Err(EnvelopeError::BadSignature);
        }
        let share = OperatorShare::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &payload[..])
            .map_err(|_| EnvelopeError::MalformedPayload)?;
        if share.account != *node {
            return Err(EnvelopeError::UnexpectedSender);
        }
        Ok(share)
    }
}

/// Request, operator → cold-starting node: "quote for this nonce".
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct OperatorChallenge {
    /// 32 random bytes chosen by the operator for this one exchange.
    pub nonce: Nonce32,
}

/// Response to [`OperatorChallenge`]: who the node is, the epoch its store needs, and a quote
/// whose report data binds (recover, `account`, `response_pk`, the operator's nonce).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct RecoveryQuote {
    /// The node's TSS account.
    pub account: AccountId,
    /// The key epoch of its store.
    pub epoch: u64,
    /// The one-off key generated inside the TEE for this cold start.
    pub response_pk: X25519Public,
    /// The TDX quote.
    pub quote: QuoteBytes,
}

/// Request, operator → node: a [`ReleasedShare`] sealed to the node's response key
/// ([`DomainTag::OperatorRelease`]).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct OperatorRelease {
    /// The sealed [`ReleasedShare`].
    pub envelope: Sealed,
}

impl OperatorRelease {
    /// Node side: opens with the response key and decodes the released share (its signature
    /// is checked by [`ReleasedShare::verify`]).
    pub fn open(&self, response_sk: &X25519Secret) -> Result<ReleasedShare, EnvelopeError> {
        let payload = open_anonymous(response_sk, DomainTag::OperatorRelease, &self.envelope)?;
        ReleasedShare::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &payload[..])
            .map_err(|_| EnvelopeError::MalformedPayload)
    }
}

/// Response to [`OperatorRelease`]: the share was accepted; how many distinct operators'
/// shares the node holds and how many it needs (`held >= needed`: the store is opening).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct ShareIntake {
    /// Distinct shares held for the store's epoch.
    pub held: u8,
    /// The threshold.
    pub needed: u8,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::signing::AccountKeypair;

    fn node(seed: u8) -> AccountKeypair {
        AccountKeypair::from_seed(&[seed; 32]).unwrap()
    }

    fn share_of(node: &AccountKeypair, epoch: u64) -> OperatorShare {
        OperatorShare {
            account: node.account(),
            epoch,
            commitment: [7; 32],
            operator_set: 2,
            threshold: 2,
            index: 1,
            share: ShareBytes::from_slice(&[0x11; 32]).unwrap(),
        }
    }

    /// What an operator releases for `share`, sealed by `node` to `operator`.
    fn released(
        node: &AccountKeypair,
        operator: &X25519Secret,
        share: &OperatorShare,
    ) -> ReleasedShare {
        let sealed = share.seal(&operator.public(), node).unwrap();
        OperatorShare::open_signed(operator, &sealed).unwrap().1
    }

    #[test]
    fn a_released_share_reaches_the_node_and_verifies_as_its_own() {
        let node = node(1);
        let operator = X25519Secret::generate();
        let share = share_of(&node, 5);
        let response = X25519Secret::generate();
        let release = released(&node, &operator, &share).seal(&response.public()).unwrap();
        let opened = release.open(&response).unwrap();
        assert_eq!(opened.operator_pk, operator.public());
        assert_eq!(opened.verify(&node.account()).unwrap(), share);
        assert!(release.open(&X25519Secret::generate()).is_err(), "only the response key opens it");
    }

    #[test]
    fn a_released_share_the_node_did_not_sign_is_refused() {
        let node = node(1);
        let operator = X25519Secret::generate();
        let mut release = released(&node, &operator, &share_of(&node, 5));
        // Another node's share, or this node's share claimed for another operator key.
        assert_eq!(release.verify(&self::node(2).account()), Err(EnvelopeError::BadSignature));
        let honest = release.clone();
        release.operator_pk = X25519Secret::generate().public();
        assert_eq!(release.verify(&node.account()), Err(EnvelopeError::BadSignature));
        // A payload changed after signing (another epoch).
        let mut forged = honest.clone();
        let mut payload = forged.payload.expose().to_vec();
        payload[32] ^= 1;
        forged.payload = SecretBytes::from_slice(&payload).unwrap();
        assert_eq!(forged.verify(&node.account()), Err(EnvelopeError::BadSignature));
        // A share another account signed for itself, offered as this node's.
        let other = self::node(3);
        let foreign = released(&other, &operator, &share_of(&other, 5));
        assert!(foreign.verify(&node.account()).is_err());
        assert!(honest.verify(&node.account()).is_ok());
    }

    #[test]
    fn release_envelopes_are_anonymous_only_and_signed_tags_are_not() {
        let response = X25519Secret::generate();
        assert_eq!(
            seal_anonymous(&response.public(), DomainTag::RecoveredShare, b"x"),
            Err(EnvelopeError::TagNotForEnvelopes)
        );
        let sealed = seal_anonymous(&response.public(), DomainTag::OperatorRelease, b"x").unwrap();
        assert!(crate::envelope::open(&response, DomainTag::RecoveredShare, &sealed).is_err());
        assert_eq!(
            crate::envelope::open(&response, DomainTag::OperatorRelease, &sealed),
            Err(EnvelopeError::TagNotForEnvelopes)
        );
        assert_eq!(
            &open_anonymous(&response, DomainTag::OperatorRelease, &sealed).unwrap()[..],
            b"x"
        );
    }
}
