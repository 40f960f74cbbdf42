//! Why one provider could not be used during a backup, a recovery or a health check, and
//! whether trying it again can help. These values are what a node reports ("which providers
//! failed and why"); none carries key material.

use crate::network::RequestError;
use peerseal_protocol::{AccountId, ErrorReason};

/// What went wrong with one provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FailureReason {
    /// The chain has no usable record (peer id, addresses) for it.
    #[error("no usable chain record")]
    UnknownProvider,
    /// It could not be reached or did not answer.
    #[error("network: {0}")]
    Network(#[from] RequestError),
    /// It refused with a typed reason.
    #[error("refused: {0:?}")]
    Refused(ErrorReason),
    /// It answered with a response of the wrong kind.
    #[error("unexpected response")]
    UnexpectedResponse,
    /// Its receipt does not verify or names other values than those sent.
    #[error("bad receipt: {0}")]
    BadReceipt(&'static str),
    /// The returned share does not open, is not signed by it, or names other values.
    #[error("bad share: {0}")]
    BadShare(&'static str),
    /// The returned share, combined, does not give the key the chain's commitment names.
    #[error("share does not match the on-chain commitment")]
    CommitmentMismatch,
    /// Its health proof does not verify: it does not hold the right share.
    #[error("health proof does not verify")]
    WrongProof,
    /// This node could not make a quote.
    #[error("quote: {0}")]
    Quote(String),
    /// The envelope for it could not be built.
    #[error("sealing failed")]
    Seal,
}

impl FailureReason {
    /// Whether another attempt at the same provider may succeed (transient conditions only).
    pub fn is_retryable(&self) -> bool {
        match self {
            FailureReason::Network(_) | FailureReason::Quote(_) => true,
            FailureReason::Refused(reason) => matches!(
                reason,
                ErrorReason::Unavailable
                    | ErrorReason::Internal
                    | ErrorReason::RateLimited { .. }
                    | ErrorReason::NonceUnknown
                    | ErrorReason::NonceExpired
                    | ErrorReason::NonceReplayed
            ),
            _ => false,
        }
    }
}

/// One provider's failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderFailure {
    /// The provider's TSS account.
    pub provider: AccountId,
    /// What went wrong (the last attempt's reason).
    pub reason: FailureReason,
}
