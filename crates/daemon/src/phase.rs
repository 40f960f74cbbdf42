//! The node's lifecycle as one state machine. [`Phase`] is where the node is; [`Step`] is what
//! just happened; [`Phase::next`] is the whole transition table, a pure function, so every path
//! can be read top to bottom here and tested without a chain or a network. [`Lifecycle`] owns
//! the current phase and the public status: [`Lifecycle::advance`] is the only place the phase
//! changes, a step the table does not allow is an [`IllegalStep`] error (the daemon stops on it
//! rather than claim a state it is not in), and `/status` reports exactly the phase held here.
//!
//! ```text
//!  Starting ──chain──▶ ChainConnected ──store found──▶ Recovering ◀──retry── RecoveryFailed
//!                          │                               │   └──failed──────────▲  │
//!                      new store                        unlocked       no provider answers,
//!                          │                               │           operators hold shares
//!                          │                               │                         ▼
//!                          │                               ◀──unlocked──── AwaitingOperators
//!                          ▼                               ▼
//!                    AwaitingRegistration ──registered──▶ Registered
//!                                                          │ backup current ─────────────┐
//!                                                          │ backup missing ▶ BackingUp ─┤
//!                                                          │ backup stale ▶ Rotating ────┤
//!                                                          ▼                              ▼
//!                                      Rotating ◀──provider lost / health failed── Ready
//! ```
//! Any phase may go to `Stopping` (shutdown asked).

use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the node is in its life. Serialised as `{"state": "<label>", ...fields}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Phase {
    /// Reading the configuration, connecting to the chain.
    Starting,
    /// The chain answers (read-only use so far).
    ChainConnected,
    /// First start: the store is created; waiting until the stash registers this node.
    AwaitingRegistration {
        /// The new store's key epoch.
        epoch: u64,
    },
    /// Restart: fetching the database key back from providers.
    Recovering {
        /// Attempt number, from 1.
        attempt: u64,
    },
    /// The last recovery attempt failed; the node waits and retries, never touching the store.
    RecoveryFailed {
        /// Attempt number that failed.
        attempt: u64,
        /// Stable label of the failure (metrics).
        label: String,
        /// What went wrong, for the operator.
        reason: String,
    },
    /// Cold start: no provider of the recorded backup answered (the whole network restarted at
    /// once) and the chain holds this node's key sealed to recovery operators. The node
    /// listens for operators (`peerseal operator recover`) and keeps retrying its providers;
    /// whichever brings the key first opens the store.
    AwaitingOperators {
        /// The recovery attempt that found no provider.
        attempt: u64,
    },
    /// The store is open and the TSS account registered; the node serves as provider.
    Registered {
        /// The store's key epoch.
        epoch: u64,
    },
    /// Backing the current key up and recording it on chain.
    BackingUp {
        /// The epoch being backed up.
        epoch: u64,
    },
    /// Rotating the database key to a new epoch and backing that up.
    Rotating {
        /// The epoch rotated away from.
        from: u64,
        /// The new epoch of the first attempt (a retry after a failure before the store's
        /// commit point takes a later one; the rotation ends at the epoch recorded).
        to: u64,
        /// Why.
        cause: RotationCause,
    },
    /// Backed up, serving, following the chain.
    Ready {
        /// The store's key epoch.
        epoch: u64,
    },
    /// Shutting down.
    Stopping,
}

/// Why a rotation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationCause {
    /// The chain marks the recorded backup stale (a provider was removed).
    StaleBackup,
    /// A provider of this node is leaving or left.
    ProviderLeaving,
    /// A provider failed the health check.
    HealthCheck,
    /// Governance changed the recovery operators: the key is re-sealed to the new set (and
    /// rotated, so a removed operator's old share opens nothing written from now on).
    OperatorsChanged,
    /// The node recovered its key after a restart: it moves to a fresh epoch before it is
    /// ready, so a copy of its disk (or the disk it booted from) is superseded at once.
    Restart,
}

/// What happened: the input of the state machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The chain client is connected.
    ChainConnected,
    /// No store in the data directory: a new one was created at `epoch`.
    StoreCreated {
        /// The new store's epoch.
        epoch: u64,
    },
    /// A store exists: recover its key.
    StoreFound,
    /// The chain shows this node registered.
    RegistrationSeen,
    /// A recovery attempt failed.
    RecoveryFailed {
        /// Stable label.
        label: String,
        /// Operator-facing reason.
        reason: String,
    },
    /// Waited after a failure; trying again.
    RetryRecovery,
    /// The failed attempt reached no provider, and operators hold sealed shares of the store's
    /// epoch: wait for them (and keep trying providers).
    OperatorsNeeded,
    /// The key was recovered and opened the store.
    Unlocked {
        /// The store's epoch.
        epoch: u64,
    },
    /// The chain's record of this node's backup is the store's epoch and not stale.
    BackupCurrent,
    /// No backup (or an older one) is recorded for the store's epoch.
    BackupNeeded,
    /// Start rotating for `cause` to key epoch `to` (above the current one; epochs a failed
    /// attempt already used are skipped, so `to` may be more than one above).
    RotationNeeded {
        /// Why.
        cause: RotationCause,
        /// The new epoch.
        to: u64,
    },
    /// The backup (or rotation) is recorded on chain at `epoch`.
    BackedUp {
        /// The recorded epoch.
        epoch: u64,
    },
    /// Shutdown asked.
    Shutdown,
}

/// A step the lifecycle does not allow from the current phase (a bug, not an input error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("lifecycle: {step:?} is not allowed in phase {from:?}")]
pub struct IllegalStep {
    /// The phase the node was in.
    pub from: Phase,
    /// The refused step.
    pub step: Step,
}

impl Phase {
    /// A short stable label (metrics, logs, the `state` field of `/status`).
    pub fn label(&self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::ChainConnected => "chain_connected",
            Phase::AwaitingRegistration { .. } => "awaiting_registration",
            Phase::Recovering { .. } => "recovering",
            Phase::RecoveryFailed { .. } => "recovery_failed",
            Phase::AwaitingOperators { .. } => "awaiting_operators",
            Phase::Registered { .. } => "registered",
            Phase::BackingUp { .. } => "backing_up",
            Phase::Rotating { .. } => "rotating",
            Phase::Ready { .. } => "ready",
            Phase::Stopping => "stopping",
        }
    }

    /// Every label, for one-hot metrics.
    pub const LABELS: [&'static str; 11] = [
        "starting",
        "chain_connected",
        "awaiting_registration",
        "recovering",
        "recovery_failed",
        "awaiting_operators",
        "registered",
        "backing_up",
        "rotating",
        "ready",
        "stopping",
    ];

    /// The store's key epoch, where the phase knows it.
    pub fn epoch(&self) -> Option<u64> {
        match self {
            Phase::AwaitingRegistration { epoch }
            | Phase::Registered { epoch }
            | Phase::BackingUp { epoch }
            | Phase::Ready { epoch } => Some(*epoch),
            Phase::Rotating { to, .. } => Some(*to),
            _ => None,
        }
    }

    /// The whole transition table: the phase after `step`, or why the step is not allowed.
    pub fn next(&self, step: Step) -> Result<Phase, IllegalStep> {
        use Phase as P;
        use Step as S;
        let next = match (self, &step) {
            (_, S::Shutdown) => P::Stopping,
            (P::Starting, S::ChainConnected) => P::ChainConnected,
            (P::ChainConnected, S::StoreCreated { epoch }) => {
                P::AwaitingRegistration { epoch: *epoch }
            }
            (P::ChainConnected, S::StoreFound) => P::Recovering { attempt: 1 },
            (P::AwaitingRegistration { epoch }, S::RegistrationSeen) => {
                P::Registered { epoch: *epoch }
            }
            (P::Recovering { attempt }, S::RecoveryFailed { label, reason }) => P::RecoveryFailed {
                attempt: *attempt,
                label: label.clone(),
                reason: reason.clone(),
            },
            (P::RecoveryFailed { attempt, .. }, S::RetryRecovery) => {
                P::Recovering { attempt: attempt.saturating_add(1) }
            }
            (P::RecoveryFailed { attempt, .. }, S::OperatorsNeeded) => {
                P::AwaitingOperators { attempt: *attempt }
            }
            // Providers release a share only to a registered account, so an unlocked store
            // means the node is registered.
            (P::Recovering { .. } | P::AwaitingOperators { .. }, S::Unlocked { epoch }) => {
                P::Registered { epoch: *epoch }
            }
            (P::Registered { epoch }, S::BackupCurrent) => P::Ready { epoch: *epoch },
            (P::Registered { epoch }, S::BackupNeeded) => P::BackingUp { epoch: *epoch },
            (
                P::Registered { epoch },
                S::RotationNeeded {
                    cause: cause @ (RotationCause::StaleBackup | RotationCause::Restart),
                    to,
                },
            ) if to > epoch => P::Rotating { from: *epoch, to: *to, cause: *cause },
            (P::BackingUp { epoch }, S::BackedUp { epoch: recorded }) if recorded == epoch => {
                P::Ready { epoch: *epoch }
            }
            (
                P::Ready { epoch },
                S::RotationNeeded {
                    cause:
                        cause @ (RotationCause::ProviderLeaving
                        | RotationCause::HealthCheck
                        | RotationCause::OperatorsChanged),
                    to,
                },
            ) if to > epoch => P::Rotating { from: *epoch, to: *to, cause: *cause },
            // A retry after a failure before the commit point deals a later epoch than the
            // first attempt named.
            (P::Rotating { to, .. }, S::BackedUp { epoch: recorded }) if recorded >= to => {
                P::Ready { epoch: *recorded }
            }
            _ => return Err(IllegalStep { from: self.clone(), step }),
        };
        Ok(next)
    }
}

/// A provider of this node's current backup, as `/status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderView {
    /// TSS account, hex.
    pub account: String,
    /// Share index.
    pub share_index: u8,
    /// The last health check of this provider: `healthy`, or `unhealthy: <reason>`; absent until
    /// the first check after the backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// Unix seconds of that check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_unix: Option<u64>,
}

impl ProviderView {
    /// A provider of a backup just recorded (not checked yet).
    pub fn new(account: String, share_index: u8) -> Self {
        Self { account, share_index, health: None, checked_unix: None }
    }
}

/// What `/status` reports: the phase and public facts, never a secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Status {
    /// The node's name (logs, devnet).
    pub name: String,
    /// The current phase (`{"state": ..}` in JSON).
    pub state: Phase,
    /// The node's TSS account, hex (known once the identity is loaded or recovered).
    pub account: Option<String>,
    /// The libp2p peer id.
    pub peer_id: Option<String>,
    /// This node's server in the verified registry once it runs: `active`, `leaving` (it still
    /// serves the shares it holds) or `removed` (left after the delay, or by governance: it is
    /// no provider any more and its own backup was dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<String>,
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
    /// While (and after) the node awaited its recovery operators: where they reach it and how
    /// far they got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start: Option<ColdStartView>,
}

/// A cold start as `/status` shows it (public facts only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColdStartView {
    /// The multiaddr (with the throwaway peer id) operators pass to `peerseal operator recover
    /// --node`.
    pub operator_address: String,
    /// The key epoch whose shares the node needs.
    pub epoch: u64,
    /// Distinct operators' shares accepted so far.
    pub shares_held: u64,
    /// Shares needed, once known (the threshold the node signed into them; before the first
    /// share, the chain's current operator set's threshold if it is the set sealed to).
    pub shares_needed: Option<u8>,
    /// Whether the key came from the operators (false if a provider came back first).
    pub recovered_by_operators: bool,
}

impl Status {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            state: Phase::Starting,
            account: None,
            peer_id: None,
            registration: None,
            epoch: None,
            providers: Vec::new(),
            threshold: None,
            last_backup_unix: None,
            recovery_ms: None,
            recovery_attempts: 0,
            backups_held: None,
            first_start_marker: None,
            rebackups: 0,
            cold_start: None,
        }
    }
}

/// Told of every phase change (the daemon's metrics).
pub trait PhaseObserver: Send + Sync {
    /// The node entered `phase`.
    fn entered(&self, phase: &Phase);
}

/// The current phase and status of one node, shared with the HTTP endpoint.
#[derive(Clone)]
pub struct Lifecycle {
    inner: Arc<RwLock<Status>>,
    observer: Arc<dyn PhaseObserver>,
}

struct NoObserver;
impl PhaseObserver for NoObserver {
    fn entered(&self, _: &Phase) {}
}

impl Lifecycle {
    /// A lifecycle in `Starting` for the node `name`, reporting changes to `observer`.
    pub fn new(name: &str, observer: Arc<dyn PhaseObserver>) -> Self {
        observer.entered(&Phase::Starting);
        Self { inner: Arc::new(RwLock::new(Status::new(name))), observer }
    }

    /// A lifecycle nobody observes (tests).
    pub fn unobserved(name: &str) -> Self {
        Self::new(name, Arc::new(NoObserver))
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.snapshot().state
    }

    /// Applies `step`: the only place the phase changes. An illegal step changes nothing and
    /// is returned as an error.
    pub fn advance(&self, step: Step) -> Result<Phase, IllegalStep> {
        let mut status = self.write();
        let next = status.state.next(step)?;
        tracing::info!(node = %status.name, from = status.state.label(), to = next.label(), "phase change");
        if let Phase::RecoveryFailed { reason, .. } = &next {
            tracing::warn!(node = %status.name, %reason, "recovery failed");
        }
        if let Some(epoch) = next.epoch() {
            status.epoch = Some(epoch);
        }
        if let Phase::Recovering { attempt } = next {
            status.recovery_attempts = attempt;
        }
        status.state = next.clone();
        self.observer.entered(&next);
        Ok(next)
    }

    /// A copy of the status.
    pub fn snapshot(&self) -> Status {
        match self.inner.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Changes the public facts of the status with `f`; the phase is restored afterwards, so
    /// only [`Lifecycle::advance`] moves it.
    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        let mut status = self.write();
        let phase = status.state.clone();
        f(&mut status);
        status.state = phase;
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

    fn walk(steps: Vec<Step>) -> Result<Phase, IllegalStep> {
        let l = Lifecycle::unobserved("t");
        let mut last = l.phase();
        for step in steps {
            last = l.advance(step)?;
        }
        Ok(last)
    }

    #[test]
    fn first_start_goes_through_registration_and_a_backup_to_ready() {
        let phase = walk(vec![
            Step::ChainConnected,
            Step::StoreCreated { epoch: 0 },
            Step::RegistrationSeen,
            Step::BackupNeeded,
            Step::BackedUp { epoch: 0 },
        ]);
        assert_eq!(phase, Ok(Phase::Ready { epoch: 0 }));
    }

    #[test]
    fn restart_retries_after_failures_then_unlocks() {
        let l = Lifecycle::unobserved("t");
        l.advance(Step::ChainConnected).unwrap();
        l.advance(Step::StoreFound).unwrap();
        let failed = Step::RecoveryFailed { label: "network".into(), reason: "down".into() };
        l.advance(failed.clone()).unwrap();
        assert!(l.advance(Step::Unlocked { epoch: 3 }).is_err(), "no unlock while waiting");
        assert_eq!(l.advance(Step::RetryRecovery).unwrap(), Phase::Recovering { attempt: 2 });
        assert_eq!(l.snapshot().recovery_attempts, 2);
        assert_eq!(l.advance(Step::Unlocked { epoch: 3 }).unwrap(), Phase::Registered { epoch: 3 });
        assert_eq!(l.advance(Step::BackupCurrent).unwrap(), Phase::Ready { epoch: 3 });
        assert_eq!(l.snapshot().epoch, Some(3));
    }

    #[test]
    fn no_ready_without_a_backup_and_no_shortcut_past_recovery() {
        let err =
            walk(vec![Step::ChainConnected, Step::StoreCreated { epoch: 0 }, Step::BackupCurrent]);
        assert!(err.is_err(), "not registered yet");
        let err = walk(vec![Step::ChainConnected, Step::StoreFound, Step::RegistrationSeen]);
        assert!(err.is_err(), "a store that exists must be recovered, not re-registered");
        let err =
            walk(vec![Step::ChainConnected, Step::StoreCreated { epoch: 0 }, Step::StoreFound]);
        assert!(err.is_err());
        let err =
            walk(vec![Step::ChainConnected, Step::StoreCreated { epoch: 0 }, Step::RetryRecovery]);
        assert!(err.is_err(), "nothing to retry");
    }

    #[test]
    fn rotation_is_its_own_phase_and_ends_only_at_its_new_epoch() {
        let l = Lifecycle::unobserved("t");
        for step in [
            Step::ChainConnected,
            Step::StoreFound,
            Step::Unlocked { epoch: 4 },
            Step::BackupCurrent,
        ] {
            l.advance(step).unwrap();
        }
        let leaving = |to| Step::RotationNeeded { cause: RotationCause::ProviderLeaving, to };
        assert!(l.advance(leaving(4)).is_err(), "a rotation goes up");
        let rotating = l.advance(leaving(5)).unwrap();
        assert_eq!(
            rotating,
            Phase::Rotating { from: 4, to: 5, cause: RotationCause::ProviderLeaving }
        );
        assert!(l.advance(Step::BackedUp { epoch: 4 }).is_err(), "the old epoch does not end it");
        assert!(
            l.advance(Step::RotationNeeded { cause: RotationCause::HealthCheck, to: 6 }).is_err(),
            "no rotation inside a rotation"
        );
        assert_eq!(l.advance(Step::BackedUp { epoch: 5 }).unwrap(), Phase::Ready { epoch: 5 });
    }

    #[test]
    fn a_refused_step_leaves_the_phase_alone() {
        let l = Lifecycle::unobserved("t");
        l.advance(Step::ChainConnected).unwrap();
        let err = l.advance(Step::BackedUp { epoch: 0 }).unwrap_err();
        assert_eq!(err.from, Phase::ChainConnected);
        assert_eq!(l.phase(), Phase::ChainConnected);
    }

    #[test]
    fn stale_backup_rotates_from_registered_but_a_health_failure_needs_ready() {
        let l = Lifecycle::unobserved("t");
        for step in [Step::ChainConnected, Step::StoreFound, Step::Unlocked { epoch: 1 }] {
            l.advance(step).unwrap();
        }
        assert!(l
            .advance(Step::RotationNeeded { cause: RotationCause::HealthCheck, to: 2 })
            .is_err());
        let phase = l.advance(Step::RotationNeeded { cause: RotationCause::StaleBackup, to: 2 });
        assert_eq!(phase.unwrap().label(), "rotating");
    }

    #[test]
    fn a_recovered_node_rotates_to_a_fresh_epoch_before_it_is_ready() {
        let l = Lifecycle::unobserved("t");
        for step in [Step::ChainConnected, Step::StoreFound, Step::Unlocked { epoch: 3 }] {
            l.advance(step).unwrap();
        }
        // A failed attempt used epoch 4 already: the rotation may skip it.
        let phase = l.advance(Step::RotationNeeded { cause: RotationCause::Restart, to: 5 });
        assert_eq!(
            phase.unwrap(),
            Phase::Rotating { from: 3, to: 5, cause: RotationCause::Restart }
        );
        assert!(l.advance(Step::BackedUp { epoch: 4 }).is_err());
        assert_eq!(l.advance(Step::BackedUp { epoch: 5 }).unwrap(), Phase::Ready { epoch: 5 });
        // Once ready, a restart rotation is not a thing.
        let again = l.advance(Step::RotationNeeded { cause: RotationCause::Restart, to: 6 });
        assert!(again.is_err());
    }

    #[test]
    fn a_cold_start_waits_for_operators_only_after_a_failed_attempt_and_ends_unlocked() {
        let l = Lifecycle::unobserved("t");
        l.advance(Step::ChainConnected).unwrap();
        l.advance(Step::StoreFound).unwrap();
        assert!(l.advance(Step::OperatorsNeeded).is_err(), "only after an attempt failed");
        let failed = Step::RecoveryFailed { label: "not_enough_shares".into(), reason: "x".into() };
        l.advance(failed).unwrap();
        assert_eq!(
            l.advance(Step::OperatorsNeeded).unwrap(),
            Phase::AwaitingOperators { attempt: 1 }
        );
        assert_eq!(l.phase().label(), "awaiting_operators");
        assert!(l.advance(Step::BackupCurrent).is_err(), "no backup before the store opens");
        assert!(l.advance(Step::RetryRecovery).is_err(), "providers are retried while waiting");
        assert_eq!(l.advance(Step::Unlocked { epoch: 6 }).unwrap(), Phase::Registered { epoch: 6 });
        let again = walk(vec![Step::ChainConnected, Step::StoreCreated { epoch: 0 }]).unwrap();
        assert!(again.next(Step::OperatorsNeeded).is_err(), "a first start has no operators");
    }

    #[test]
    fn shutdown_is_allowed_from_anywhere() {
        let phase = walk(vec![Step::ChainConnected, Step::StoreFound, Step::Shutdown]);
        assert_eq!(phase, Ok(Phase::Stopping));
    }

    #[test]
    fn status_json_carries_the_phase_label_and_its_fields() {
        let l = Lifecycle::unobserved("t");
        l.advance(Step::ChainConnected).unwrap();
        l.advance(Step::StoreFound).unwrap();
        l.advance(Step::RecoveryFailed { label: "chain".into(), reason: "gone".into() }).unwrap();
        let json = serde_json::to_value(l.snapshot()).unwrap();
        assert_eq!(json["state"]["state"], "recovery_failed");
        assert_eq!(json["state"]["reason"], "gone");
        assert_eq!(json["state"]["attempt"], 1);
        let back: Status = serde_json::from_value(json).unwrap();
        assert_eq!(back.state.label(), "recovery_failed");
    }

    #[test]
    fn update_cannot_move_the_phase() {
        let l = Lifecycle::unobserved("t");
        l.update(|s| {
            s.state = Phase::Ready { epoch: 9 };
            s.rebackups = 2;
        });
        assert_eq!(l.phase(), Phase::Starting);
        assert_eq!(l.snapshot().rebackups, 2);
    }
}
