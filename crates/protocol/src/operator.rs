//! Shares of a node's database key sealed to recovery operators, for a cold start.
//!
//! With every backup a node splits its key threshold-of-m a second time, independently of the
//! provider shares, and seals share `i` to operator `i` of the chain's recovery operator set
//! with [`DomainTag::OperatorShare`], signed by its TSS account. The sealed bytes are recorded
//! on chain (`Backup.RecoveryShares`), so the payload binds everything the chain record stands
//! for: account, epoch, key commitment, operator set revision, threshold and index. An operator
//! opening one learns one share; it releases it only to an attested node that asks for that
//! account and epoch.

use crate::envelope::{open, seal, Sealed};
use crate::error::EnvelopeError;
use crate::limits::MAX_DECODE_DEPTH;
use crate::messages::ShareBytes;
use crate::signing::{AccountSigner, DomainTag};
use crate::types::{AccountId, X25519Public, X25519Secret};
use codec::{Decode, DecodeLimit, Encode};
use zeroize::Zeroizing;

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
        let (sender, payload) = open(operator_sk, DomainTag::OperatorShare, sealed)?;
        let share = Self::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &payload[..])
            .map_err(|_| EnvelopeError::MalformedPayload)?;
        if share.account != sender {
            return Err(EnvelopeError::UnexpectedSender);
        }
        Ok(share)
    }
}
