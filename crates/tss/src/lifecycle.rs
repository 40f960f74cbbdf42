//! The node's lifecycle as an explicit state machine, and the status snapshot the HTTP endpoint
//! serves. Every state change goes through [`Lifecycle::transition`], which refuses changes the
//! lifecycle does not allow, so a bug shows up as a logged refusal rather than as a node that
//! claims `Ready` without a backup.

use serde::Serialize;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the node is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum NodeState {
    /// Reading the configuration and the data directory.
    Starting,
    /// The chain answers (read-only use so far).
    ChainConnected,
    /// The node's TSS account is registered on chain; it serves as provider from here on.
    Registered,
    /// The node's key is backed up and the backup is recorded on chain.
    BackedUp,
    /// Serving and watching the chain.
    Ready,
    /// Restart: fetching the database key back from providers.
    Recovering,
    /// Recovery (or opening the store with the recovered key) failed; the node retries with
    /// backoff and never touches the store meanwhile.
    RecoveryFailed(String),
}

impl NodeState {
    /// A short label (metrics, logs).
    pub fn label(&self) -> &'static str {
        match self {
            NodeState::Starting => "starting",
            NodeState::ChainConnected => "chain_connected",
            NodeState::Registered => "registered",
            NodeState::BackedUp => "backed_up",
            NodeState::Ready => "ready",
            NodeState::Recovering => "recovering",
            NodeState::RecoveryFailed(_) => "recovery_failed",
        }
    }

    /// Every label, for one-hot metrics.
    pub const LABELS: [&'static str; 7] = [
        "starting",
        "chain_connected",
        "registered",
        "backed_up",
        "ready",
        "recovering",
        "recovery_failed",
    ];

    /// Whether the lifecycle allows going from `self` to `next`.
    pub fn allows(&self, next: &NodeState) -> bool {
        use NodeState::*;
        matches!(
            (self, next),
            (Starting, ChainConnected)
                | (ChainConnected, Registered)
                | (ChainConnected, Recovering)
                | (Recovering, RecoveryFailed(_))
                | (RecoveryFailed(_), RecoveryFailed(_))
                | (RecoveryFailed(_), Recovering)
                | (Recovering, Registered)
                | (Registered, BackedUp)
                | (BackedUp, Ready)
                // A re-backup (provider left, failed health check) passes through BackedUp again.
                | (Ready, BackedUp)
                | (Ready, Registered)
        )
    }
}

/// A provider of this node's current backup, as shown by `/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProviderView {
    /// TSS account, hex.
    pub account: String,
    /// Share index.
    pub share_index: u8,
}

/// What `/status` reports. Public data only.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    /// The node's name (logs, devnet).
    pub name: String,
    /// The current state.
    pub state: Option<NodeState>,
    /// The node's TSS account, hex (known once the identity is loaded or recovered).
    pub account: Option<String>,
    /// The libp2p peer id.
    pub peer_id: Option<String>,
    /// The store's key epoch.
    pub epoch: Option<u64>,
    /// The providers of the current backup.
    pub providers: Vec<ProviderView>,
    /// The threshold of the current backup.
    pub threshold: Option<u8>,
    /// Unix seconds of the last backup recorded on chain.
    pub last_backup_unix: Option<u64>,
    /// Milliseconds from process start to the store being unlocked by recovery (restarts).
    pub recovery_ms: Option<u64>,
    /// Recovery attempts made since the start.
    pub recovery_attempts: u64,
    /// Shares of other nodes this node holds as provider.
    pub backups_held: Option<u64>,
    /// A value this node wrote into its own store at its first start (hex); a restarted node
    /// reading it back shows the store opened with the right key.
    pub first_start_marker: Option<String>,
    /// Re-backups done since the start (provider left, failed health check).
    pub rebackups: u64,
}

/// The shared, lock-protected status and state of one node.
#[derive(Clone, Default)]
pub struct Lifecycle {
    inner: Arc<RwLock<Status>>,
}

/// A refused state change.
#[derive(Debug, thiserror::Error)]
#[error("lifecycle does not allow {from:?} -> {to:?}")]
pub struct TransitionError {
    /// Current state.
    pub from: NodeState,
    /// Refused target.
    pub to: NodeState,
}

impl Lifecycle {
    /// A lifecycle in `Starting` for the node `name`.
    pub fn new(name: &str) -> Self {
        let status =
            Status { name: name.to_owned(), state: Some(NodeState::Starting), ..Status::default() };
        Self { inner: Arc::new(RwLock::new(status)) }
    }

    /// The current state.
    pub fn state(&self) -> NodeState {
        self.snapshot().state.unwrap_or(NodeState::Starting)
    }

    /// Moves to `next` if the lifecycle allows it.
    pub fn transition(&self, next: NodeState) -> Result<(), TransitionError> {
        let mut status = self.write();
        let from = status.state.clone().unwrap_or(NodeState::Starting);
        if !from.allows(&next) {
            return Err(TransitionError { from, to: next });
        }
        tracing::info!(node = %status.name, from = from.label(), to = next.label(), "state change");
        if let NodeState::RecoveryFailed(reason) = &next {
            tracing::warn!(node = %status.name, %reason, "recovery failed");
        }
        status.state = Some(next);
        Ok(())
    }

    /// A copy of the status.
    pub fn snapshot(&self) -> Status {
        match self.inner.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Changes the status with `f` (anything but the state).
    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        f(&mut self.write());
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Status> {
        // A panic while holding the lock cannot leave `Status` inconsistent in a harmful way
        // (plain values), so a poisoned lock is used as is.
        match self.inner.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_path_is_allowed_and_shortcuts_are_not() {
        let l = Lifecycle::new("t");
        l.transition(NodeState::ChainConnected).unwrap();
        assert!(l.transition(NodeState::Ready).is_err(), "no Ready without a backup");
        l.transition(NodeState::Registered).unwrap();
        l.transition(NodeState::BackedUp).unwrap();
        l.transition(NodeState::Ready).unwrap();
        assert_eq!(l.state(), NodeState::Ready);
    }

    #[test]
    fn restart_path_retries_after_failure() {
        let l = Lifecycle::new("t");
        l.transition(NodeState::ChainConnected).unwrap();
        l.transition(NodeState::Recovering).unwrap();
        l.transition(NodeState::RecoveryFailed("down".into())).unwrap();
        assert!(l.transition(NodeState::Registered).is_err(), "no store, no provider");
        l.transition(NodeState::Recovering).unwrap();
        l.transition(NodeState::Registered).unwrap();
        let json = serde_json::to_string(&l.snapshot().state).unwrap();
        assert!(json.contains("registered"), "{json}");
    }
}
