//! The daemon's errors as values: [`DaemonError`] for what stops the process, [`UnlockError`]
//! for one failed attempt at opening the store after a restart (retried), [`BackupError`] for
//! one failed backup or rotation attempt (retried). Each has a stable [`label`](UnlockError::label)
//! for metrics and the `/status` page; messages never carry key material.

use crate::phase::IllegalStep;
use peerseal_backup::{ClientError, RecoveryError, Stopped};
use peerseal_chain::ChainError;
use std::path::PathBuf;

/// Why the daemon stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The HTTP endpoint could not start.
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    /// Metrics could not be set up.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    /// First start: the store or identity could not be created.
    #[error("creating the store: {0}")]
    Create(String),
    /// The open store failed (resuming a rotation, reading the marker, holding shares).
    #[error("store: {0}")]
    Store(String),
    /// The libp2p network could not start.
    #[error("network: {0}")]
    Network(#[from] peerseal_backup::network::NetworkError),
    /// The chain reports an attestation policy this build must not accept (dev PCK mode in a
    /// production build).
    #[error("{0}")]
    Policy(String),
    /// The open store's epoch is below the one the chain records for this node: the disk was
    /// rolled back while the node ran, or another instance of this node (a copy of its disk)
    /// recovered and recorded a newer backup. Stop rather than build on it or serve from it.
    #[error(
        "the store is at key epoch {store}, below the chain's recorded epoch {chain} (a rolled-back \
         disk, or another instance of this node recorded a newer backup): stopping instead of \
         serving from a superseded store"
    )]
    RolledBack {
        /// The store's epoch.
        store: u64,
        /// The chain's epoch.
        chain: u64,
    },
    /// No usable chain trust root.
    #[error(transparent)]
    TrustRoot(#[from] crate::trust_root::TrustRootSourceError),
    /// A lifecycle step that the state machine does not allow: a bug.
    #[error(transparent)]
    Lifecycle(#[from] IllegalStep),
    /// Shutdown was asked for.
    #[error("stopped")]
    Stopped(#[from] Stopped),
}

/// Why one attempt at recovering the key and opening the store failed. The store's files are
/// untouched whatever the variant.
#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    /// The data directory's store cannot be used (missing header, foreign, damaged).
    #[error("the store in {dir} cannot be used: {detail}")]
    Store {
        /// The store directory.
        dir: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The node's own account is not known (no dev identity, no readable recovery file).
    #[error("recovery file: {0}")]
    RecoveryFile(String),
    /// The chain could not be read.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// No backup of this node is recorded on chain.
    #[error("no backup of this node is recorded on chain")]
    NoAssignment,
    /// The store's epoch matches neither the chain's record nor a pending rotation.
    #[error(
        "the store is at key epoch {store} but the backup on chain is epoch {chain} \
         (and recovery.json names no pending rotation to it)"
    )]
    EpochMismatch {
        /// The store's epoch.
        store: u64,
        /// The chain's epoch.
        chain: u64,
    },
    /// The store is at an older key epoch than the one the chain records for this node: a
    /// restored or copied old disk. Refused, files untouched: opening it would bring back (and
    /// the next rotation would build on) a superseded state.
    #[error(
        "the store is at key epoch {store}, older than the epoch {chain} the chain records for \
         this node: a rolled-back or copied disk; refused, nothing changed"
    )]
    RolledBack {
        /// The store's epoch.
        store: u64,
        /// The chain's epoch.
        chain: u64,
    },
    /// Too few providers answered with a share that matches the commitment.
    #[error("{0}")]
    NotEnoughShares(RecoveryError),
    /// The recovered key (matching the commitment) does not open the store.
    #[error(
        "the recovered key (matching the on-chain commitment) does not open this store: the \
         store is foreign or was replaced"
    )]
    WrongKey,
    /// The identity inside the store is missing, damaged, another node's, or a dev identity
    /// in a production build.
    #[error("identity: {0}")]
    Identity(String),
    /// The recovery network could not start.
    #[error("network: {0}")]
    Network(String),
}

impl UnlockError {
    /// A short stable label (metrics `reason`, `/status` `label`).
    pub fn label(&self) -> &'static str {
        match self {
            UnlockError::Store { .. } => "store",
            UnlockError::RecoveryFile(_) => "recovery_file",
            UnlockError::Chain(_) => "chain",
            UnlockError::NoAssignment => "no_assignment",
            UnlockError::EpochMismatch { .. } => "epoch_mismatch",
            UnlockError::RolledBack { .. } => "rolled_back",
            UnlockError::NotEnoughShares(_) => "not_enough_shares",
            UnlockError::WrongKey => "wrong_key",
            UnlockError::Identity(_) => "identity",
            UnlockError::Network(_) => "network",
        }
    }
}

impl From<RecoveryError> for UnlockError {
    fn from(e: RecoveryError) -> Self {
        match e {
            RecoveryError::NoAssignment => UnlockError::NoAssignment,
            RecoveryError::Chain(e) => UnlockError::Chain(e),
            other => UnlockError::NotEnoughShares(other),
        }
    }
}

/// Why one backup or rotation attempt failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Dealing or storing the shares, or recording the backup, failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The chain could not be read or refused the record.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// The store could not rotate.
    #[error("store: {0}")]
    Store(#[from] peerseal_kvdb::Error),
    /// A new key could not be generated.
    #[error("key generation: {0}")]
    KeyGeneration(String),
    /// The recovery file could not be written.
    #[error("recovery file: {0}")]
    RecoveryFile(#[from] crate::recovery_file::RecoveryFileError),
    /// The epoch counter is exhausted.
    #[error("key epoch overflow")]
    EpochOverflow,
    /// A fault the crash tests inject (dev builds only).
    #[error("injected fault: {0}")]
    Injected(&'static str),
}

impl From<crate::epochs::EpochError> for BackupError {
    fn from(e: crate::epochs::EpochError) -> Self {
        match e {
            crate::epochs::EpochError::Store(e) => BackupError::Store(e),
            crate::epochs::EpochError::Overflow => BackupError::EpochOverflow,
        }
    }
}

impl BackupError {
    /// A short stable label (metrics).
    pub fn label(&self) -> &'static str {
        match self {
            BackupError::Client(_) => "client",
            BackupError::Chain(_) => "chain",
            BackupError::Store(_) => "store",
            BackupError::KeyGeneration(_) => "key_generation",
            BackupError::RecoveryFile(_) => "recovery_file",
            BackupError::EpochOverflow => "epoch_overflow",
            BackupError::Injected(_) => "injected",
        }
    }
}
