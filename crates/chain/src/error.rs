//! The one error type of the crate, and the mapping of subxt's errors onto it. Messages carry
//! chain data and RPC text only; no key material reaches this crate except signers, which are
//! never formatted.

use subxt::error::{
    DispatchError, ExtrinsicError, TransactionEventsError, TransactionProgressError,
    TransactionStatusError,
};

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The chain node could not be reached (or the connection was lost).
    #[error("cannot connect to chain node at {url}: {reason}")]
    Connect {
        /// The endpoint.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A JSON-RPC call failed.
    #[error("chain RPC failed: {0}")]
    Rpc(String),
    /// Chain data did not decode as the expected peerseal type (or exceeded its size bound).
    #[error("cannot decode chain data: {0}")]
    Decode(String),
    /// The transaction was included but its dispatch failed. For module errors `pallet` and
    /// `error` are the pallet and error variant names (e.g. `Backup`, `StaleEpoch`); other
    /// dispatch errors have `pallet` = `Runtime` and the `DispatchError` variant as `error`.
    #[error("transaction failed in dispatch: {pallet}::{error}")]
    Dispatch {
        /// Pallet name, or `Runtime`.
        pallet: String,
        /// Error variant name.
        error: String,
    },
    /// The node refused the transaction before inclusion (bad nonce, cannot pay fees, stale
    /// mortality...). An unfunded TSS account whose feeless call fails the pallet's checks
    /// lands here, because the checks then run as a fee-paying call's validity.
    #[error("transaction rejected by the node: {0}")]
    Invalid(String),
    /// An operation did not finish in its time bound.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The endpoint serves another chain than the pinned trust root names.
    #[error("the endpoint serves another chain: genesis {found}, trusted {expected}")]
    GenesisMismatch {
        /// The trusted hash, hex.
        expected: String,
        /// What the endpoint served, hex.
        found: String,
    },
    /// A header or justification failed verification.
    #[error("finality verification failed: {0}")]
    Finality(#[from] crate::verify::headers::HeaderError),
    /// A storage read proof failed verification.
    #[error(transparent)]
    Proof(#[from] crate::verify::proof::ProofError),
    /// The endpoint's metadata would make the client sign another call than it means to.
    #[error("the endpoint's metadata does not encode the call as the runtime does: {0}")]
    MetadataMismatch(String),
    /// No block has been verified yet (the reason of the last failure, if any).
    #[error("no verified chain view yet: {0}")]
    NotSynced(String),
    /// The verified view is too old: the endpoint withholds new blocks, or the chain stalled.
    #[error("verified chain view of block #{number} is {age_secs} s old")]
    Stale {
        /// The last verified block.
        number: u32,
        /// Its age.
        age_secs: u64,
    },
    /// A transaction was reported included, but the proven state does not show its effect.
    #[error("transaction not seen in verified state: {0}")]
    NotApplied(String),
}

impl ChainError {
    /// True when the error means the connection is gone and a reconnect may help.
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            ChainError::Connect { .. }
                | ChainError::Timeout(_)
                | ChainError::NotSynced(_)
                | ChainError::Stale { .. }
        )
    }

    /// True when the endpoint failed a verification check (a lying or broken endpoint), as
    /// opposed to being unreachable.
    pub fn is_verification(&self) -> bool {
        matches!(
            self,
            ChainError::GenesisMismatch { .. }
                | ChainError::Finality(_)
                | ChainError::Proof(_)
                | ChainError::MetadataMismatch(_)
                | ChainError::Decode(_)
        )
    }

    /// Stable label for metrics and status.
    pub fn label(&self) -> &'static str {
        match self {
            ChainError::Connect { .. } => "connect",
            ChainError::Rpc(_) => "rpc",
            ChainError::Decode(_) => "decode",
            ChainError::Dispatch { .. } => "dispatch",
            ChainError::Invalid(_) => "invalid_transaction",
            ChainError::GenesisMismatch { .. } => "genesis_mismatch",
            ChainError::Timeout(_) => "timeout",
            ChainError::Finality(e) => e.label(),
            ChainError::Proof(e) => e.label(),
            ChainError::MetadataMismatch(_) => "metadata_mismatch",
            ChainError::NotSynced(_) => "not_synced",
            ChainError::Stale { .. } => "stale_view",
            ChainError::NotApplied(_) => "not_applied",
        }
    }

    pub(crate) fn rpc(error: impl core::fmt::Display) -> Self {
        ChainError::Rpc(error.to_string())
    }
}

/// A runtime dispatch error as pallet and error names.
pub(crate) fn dispatch(error: DispatchError) -> ChainError {
    match error {
        DispatchError::Module(module) => match module.details() {
            Ok(details) => ChainError::Dispatch {
                pallet: details.pallet.name().to_string(),
                error: details.variant.name.clone(),
            },
            Err(_) => ChainError::Dispatch {
                pallet: format!("pallet#{}", module.pallet_index()),
                error: format!("error#{}", module.error_index()),
            },
        },
        other => {
            // The Debug form of the non-module variants is their name (with a nested reason
            // for Token/Arithmetic/Transactional), which is what a caller matches on.
            ChainError::Dispatch { pallet: "Runtime".into(), error: format!("{other:?}") }
        }
    }
}

fn status(error: TransactionStatusError) -> ChainError {
    match error {
        TransactionStatusError::Invalid(message) | TransactionStatusError::Dropped(message) => {
            ChainError::Invalid(message)
        }
        other => ChainError::rpc(other),
    }
}

/// Errors of creating, signing and submitting a transaction.
pub(crate) fn submit(error: ExtrinsicError) -> ChainError {
    match error {
        ExtrinsicError::ErrorSubmittingTransaction(backend) => {
            match user_error(&backend) {
                // The node answers an invalid transaction with a JSON-RPC error at submission
                // (code 1010, "Invalid Transaction"; 1011/1012 are unknown/pool errors).
                Some((code, message)) if (1010..=1019).contains(&code) => {
                    ChainError::Invalid(message)
                }
                _ => ChainError::rpc(backend),
            }
        }
        ExtrinsicError::TransactionStatusError(e) => status(e),
        other => ChainError::rpc(other),
    }
}

fn user_error(error: &subxt::error::BackendError) -> Option<(i32, String)> {
    match error {
        subxt::error::BackendError::Rpc(subxt::error::RpcError::ClientError(
            subxt::rpcs::Error::User(user),
        )) => {
            let mut message = user.message.clone();
            if let Some(data) = &user.data {
                message.push_str(": ");
                message.push_str(data.get());
            }
            Some((user.code, message))
        }
        _ => None,
    }
}

/// Errors while waiting for a submitted transaction to be finalized.
pub(crate) fn progress(error: TransactionProgressError) -> ChainError {
    match error {
        TransactionProgressError::TransactionStatusError(e) => status(e),
        other => ChainError::rpc(other),
    }
}

/// Errors while checking the finalized transaction's events.
pub(crate) fn events(error: TransactionEventsError) -> ChainError {
    match error {
        TransactionEventsError::ExtrinsicFailed(e) => dispatch(e),
        other => ChainError::rpc(other),
    }
}
