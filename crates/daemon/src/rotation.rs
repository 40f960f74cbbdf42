//! A node whose store is open: keeps its backup current. It follows verified final blocks and
//! re-backs up when the proven state shows one of its providers leaving or removed (the
//! chain's `ProviderLeaving`/`ProviderLeft`, read as state), when its recorded recovery shares
//! are not sealed to the chain's current recovery operator set (governance changed it), or when
//! a periodic health check finds a provider that no longer proves it holds the share. Every
//! backup also seals the key to the recovery operators, if the chain has any
//! ([`peerseal_backup::client::operators`]). After every recovery it rotates
//! to a fresh epoch before it is ready, so the disk it booted from (and any copy of it) is
//! superseded at once: providers release nothing below the chain's recorded epoch.
//!
//! A re-backup rotates the database key, because the departing provider still holds the old
//! one. The order makes every crash point recoverable:
//! 1. claim the new epoch ([`crate::epochs`]: above the store, the chain and every epoch
//!    dealt before), deal the new key and store the shares with new providers — nothing on
//!    chain; a crash leaves store and chain at e;
//! 2. add the new providers and commitment to the `pending` list of the recovery file
//!    (atomically; older entries stay until the chain records their epoch);
//! 3. `begin_rotation` — the store's commit point; from here the store is at the new epoch
//!    while the chain still says e, and a restart recovers the new key from the pending
//!    providers;
//! 4. re-seal every record (`resume_rotation`; an interrupted one is resumed after a restart);
//! 5. record the new backup on chain, then drop the recorded `pending` entries.
//!
//! A record that fails after the commit point is retried for the same epoch and key (dealing
//! is deterministic, so the providers see the same shares again and answer with receipts);
//! no new key is dealt over a committed one. Dev builds abort at each of those points, and
//! fail records, when the crash tests ask ([`crate::fault`]).

use crate::config::DEFAULT_THRESHOLD;
use crate::context::Context;
use crate::error::{BackupError, DaemonError};
use crate::fault::{crash_point, fail_record, CrashPoint};
use crate::phase::{unix_now, ProviderView, RotationCause, Step};
use crate::recovery_file::{hex, pending_after, PendingBackup, ProviderEntry, RecoveryFile};
use futures::StreamExt;
use peerseal_backup::{BackupClient, BackupReport, HealthStatus, NodeKeys, TxSubmitter};
use peerseal_chain::{Assignment, ChainApi, ChainClient, ServerRecord};
use peerseal_kvdb::{DbKey, Store};
use peerseal_protocol::AccountId;
use std::sync::Arc;
use std::time::Duration;

/// How the on-chain backup relates to the open store.
#[derive(Debug, PartialEq, Eq)]
pub enum BackupState {
    /// Recorded for the store's epoch, no provider removed since.
    Current,
    /// Nothing recorded.
    Missing,
    /// Recorded for an older epoch (a rotation crashed before its record).
    Behind,
    /// A provider was removed since the record: rotate.
    Stale,
}

/// Everything a node with an open store works with.
pub(crate) struct Running<'a> {
    pub ctx: &'a Context,
    pub chain: Arc<dyn ChainApi>,
    pub client: BackupClient,
    pub tx: TxSubmitter,
    pub keys: NodeKeys,
    pub key: DbKey,
    pub store: Store,
}

impl Running<'_> {
    /// Compares the chain's record with the store. A chain that cannot be read is "unknown":
    /// retried until it answers (or shutdown), never taken for `Current`. A record *above* the
    /// store's epoch means the disk was rolled back under the running node: an error, so the
    /// node never rotates at `store + 1` over the newer backup.
    pub async fn backup_state(&self) -> Result<BackupState, DaemonError> {
        let assignment = self.own_assignment().await?;
        let store = self.store.epoch();
        Ok(match assignment {
            None => BackupState::Missing,
            Some(a) if a.epoch > store => {
                return Err(DaemonError::RolledBack { store, chain: a.epoch })
            }
            Some(a) if a.epoch < store => BackupState::Behind,
            Some(a) if a.stale => BackupState::Stale,
            Some(_) => BackupState::Current,
        })
    }

    /// From `Registered` to `Ready`: backs up or rotates as the chain's record needs (and
    /// always rotates after a recovery: a fresh epoch per boot), records it, publishes the
    /// recovery file.
    pub async fn bring_backup_current(&mut self, recovered: bool) -> Result<(), DaemonError> {
        let state = self.backup_state().await?;
        let step = match state {
            _ if recovered => {
                self.rotate_until_done(RotationCause::Restart).await?;
                Step::BackedUp { epoch: self.store.epoch() }
            }
            BackupState::Current => Step::BackupCurrent,
            BackupState::Missing | BackupState::Behind => {
                self.ctx.advance(Step::BackupNeeded)?;
                self.backup_until_done().await?;
                Step::BackedUp { epoch: self.store.epoch() }
            }
            BackupState::Stale => {
                self.rotate_until_done(RotationCause::StaleBackup).await?;
                Step::BackedUp { epoch: self.store.epoch() }
            }
        };
        // The status names the providers before it says `Ready`.
        if let Err(e) = self.publish(None).await {
            tracing::warn!("writing the recovery file: {e}");
        }
        self.ctx.advance(step)?;
        Ok(())
    }

    /// Backs the current key up at the store's epoch and records it, retrying until the chain
    /// records it. Every attempt deals the same shares (deterministic dealing), so providers
    /// that stored one before answer the retry with a receipt instead of a conflict, and a
    /// record that landed although its answer was lost is seen and not repeated.
    async fn backup_until_done(&self) -> Result<(), DaemonError> {
        let mut retry = self.ctx.retry();
        loop {
            if matches!(self.backup_state().await?, BackupState::Current | BackupState::Stale) {
                return Ok(());
            }
            let timer = self.ctx.metrics.backup_seconds.start_timer();
            let result = self.backup_once().await;
            timer.observe_duration();
            match result {
                Ok(report) => {
                    tracing::info!(node = %self.ctx.config.name, epoch = report.epoch, providers = report.providers.len(), "backed up");
                    return Ok(());
                }
                Err(e) => {
                    self.ctx.metrics.backups_failed.with_label_values(&[e.label()]).inc();
                    retry.after_failure("backup", &e).await?;
                }
            }
        }
    }

    async fn backup_once(&self) -> Result<BackupReport, BackupError> {
        let report = self.client.store_shares(&self.tx, &self.key, self.store.epoch()).await?;
        self.record(&report).await?;
        Ok(report)
    }

    /// Records `report` on chain (the one place a backup record is submitted).
    async fn record(&self, report: &BackupReport) -> Result<(), BackupError> {
        if fail_record() {
            return Err(BackupError::Injected("record_backup"));
        }
        self.tx
            .record_backup(
                report.epoch,
                report.threshold,
                report.providers.clone(),
                report.commitment,
                report.recovery.as_ref(),
            )
            .await?;
        Ok(())
    }

    /// Rotates to a new key epoch and backs it up (module doc), retrying until done: an
    /// attempt that fails before the store's commit point is retried with a new key at a new
    /// epoch; once the store committed, only the record of that epoch is retried.
    async fn rotate_until_done(&mut self, cause: RotationCause) -> Result<(), DaemonError> {
        let from = self.store.epoch();
        let to = crate::epochs::highest_dealt(&self.store)
            .map_err(|e| DaemonError::Store(e.to_string()))?
            .max(self.own_assignment().await?.map_or(0, |a| a.epoch))
            .checked_add(1)
            .ok_or(DaemonError::Store("key epoch overflow".into()))?;
        self.ctx.advance(Step::RotationNeeded { cause, to })?;
        let mut retry = self.ctx.retry();
        loop {
            if self.store.epoch() > from {
                // Committed: the new key is the store's; record it (same epoch, same shares).
                self.backup_until_done().await?;
                break;
            }
            match self.rotate_once().await {
                Ok(()) => break,
                Err(e) => {
                    self.ctx.metrics.backups_failed.with_label_values(&[e.label()]).inc();
                    if self.store.epoch() > from {
                        crash_point(CrashPoint::AfterRecordFailed);
                    }
                    retry.after_failure("re-backup", &e).await?;
                }
            }
        }
        self.ctx.metrics.rebackups.inc();
        self.ctx.lifecycle.update(|s| s.rebackups += 1);
        if let Err(e) = self.publish(None).await {
            tracing::warn!("writing the recovery file: {e}");
        }
        Ok(())
    }

    /// This node's recorded assignment, retried while the chain cannot be read ("unknown" is
    /// never taken for an answer).
    async fn own_assignment(&self) -> Result<Option<Assignment>, DaemonError> {
        let mut retry = self.ctx.retry();
        loop {
            match self.chain.assignment(&self.keys.account()).await {
                Ok(assignment) => return Ok(assignment),
                Err(e) => {
                    retry.after_failure("reading this node's assignment", &e).await?;
                }
            }
        }
    }

    async fn rotate_once(&mut self) -> Result<(), BackupError> {
        let recorded = self.chain.assignment(&self.keys.account()).await?.map(|a| a.epoch);
        let epoch = crate::epochs::claim_next(&self.store, recorded)?;
        let new_key = DbKey::generate().map_err(|e| BackupError::KeyGeneration(e.to_string()))?;
        let timer = self.ctx.metrics.backup_seconds.start_timer();
        let report = self.client.store_shares(&self.tx, &new_key, epoch).await;
        timer.observe_duration();
        let report = report?;
        crash_point(CrashPoint::AfterStoreShares);
        self.publish(Some(&report)).await?;
        crash_point(CrashPoint::AfterPendingFile);
        self.store.begin_rotation_to(&new_key, epoch)?;
        self.key = new_key;
        tracing::info!(node = %self.ctx.config.name, epoch, "store rotated to a new key epoch");
        crash_point(CrashPoint::AfterCommit);
        self.store.resume_rotation()?;
        crash_point(CrashPoint::AfterReseal);
        self.record(&report).await?;
        tracing::info!(node = %self.ctx.config.name, epoch, providers = report.providers.len(), "re-backup recorded on chain");
        Ok(())
    }

    /// Writes the recovery file (and status) from the on-chain assignment, keeping the pending
    /// rotations the chain has not recorded yet, plus `pending` if given.
    pub async fn publish(&self, pending: Option<&BackupReport>) -> Result<(), BackupError> {
        let account = self.keys.account();
        let servers = self.chain.servers().await?;
        let assignment = self.chain.assignment(&account).await?;
        // Only entries of epochs this node dealt: the file is host-writable.
        let dealt = crate::epochs::highest_dealt(&self.store)?;
        let old_pending: Vec<PendingBackup> = RecoveryFile::read(&self.ctx.config.data_dir)
            .ok()
            .flatten()
            .map(|f| f.pending)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.epoch <= dealt)
            .collect();
        let new_pending = pending.map(|r| PendingBackup {
            epoch: r.epoch,
            threshold: r.threshold,
            providers: entries(&servers, &r.providers),
            commitment: hex(r.commitment),
        });
        let pending_list =
            pending_after(&old_pending, new_pending, assignment.as_ref().map(|a| a.epoch));
        let (epoch, threshold, providers) = match &assignment {
            Some(a) => (a.epoch, a.threshold, a.providers.clone()),
            None => (0, 0, Vec::new()),
        };
        let file = RecoveryFile {
            version: 2,
            account: hex(account.0),
            peer_id: self.keys.peer_id().to_base58(),
            epoch,
            threshold,
            providers: entries(&servers, &providers),
            pending: pending_list,
        };
        file.write_atomic(&self.ctx.config.data_dir)?;
        if pending.is_none() {
            // Below the default's t-of-(t+1) only with the default (an explicit threshold is the
            // operator's call).
            let below_target = self.ctx.config.threshold.is_none()
                && assignment.is_some()
                && (threshold < DEFAULT_THRESHOLD
                    || providers.len() < usize::from(DEFAULT_THRESHOLD) + 1);
            if below_target {
                tracing::warn!(
                    threshold,
                    providers = providers.len(),
                    "backup below the 2-of-3 target: too few providers exist or answered; the \
                     next rotation (a provider leaving or failing, or a restart) tries again"
                );
            }
            self.ctx.metrics.set_backup_shape(threshold, providers.len(), below_target);
            self.ctx.lifecycle.update(|s| {
                s.threshold = Some(threshold);
                s.providers =
                    providers.iter().map(|(p, i)| ProviderView::new(hex(p), *i)).collect();
                s.last_backup_unix = Some(unix_now());
            });
        }
        Ok(())
    }

    /// Follows verified final blocks and health checks; rotates when a provider of this node
    /// leaves, or fails its health checks the way only the provider itself can
    /// ([`peerseal_backup::HealthTracker`]: repeated bad proofs, or no answer for a long
    /// outage; a flood that makes checks time out or be refused forces nothing). Returns only
    /// when shutdown is asked (as `Stopped`).
    ///
    /// What decides is proven state at each verified block, not events: the node's own
    /// assignment marked stale (a provider was removed), or one of its providers shown leaving
    /// or gone in the verified registry. An endpoint that hides a `ProviderLeft` event
    /// therefore changes nothing, and one that forges events cannot trigger a rotation.
    pub async fn watch(&mut self, chain: ChainClient) -> Result<(), DaemonError> {
        let mut heads = Box::pin(chain.verified_heads());
        self.note_registration(&chain);
        let mut health = tokio::time::interval(self.ctx.config.health_interval);
        health.tick().await; // The first tick is immediate; the backup was just made.
        let mut tracker = peerseal_backup::HealthTracker::new(self.ctx.config.health);
        let shutdown = self.ctx.shutdown.clone();
        loop {
            let cause = tokio::select! {
                () = shutdown.wait() => return Err(peerseal_backup::Stopped.into()),
                head = heads.next() => match head {
                    Some(head) => self.rotation_needed(&chain, head.number).await?,
                    None => {
                        tracing::warn!("verified block stream ended; following again");
                        self.ctx.retry().wait(Duration::from_secs(1)).await?;
                        heads = Box::pin(chain.verified_heads());
                        None
                    }
                },
                _ = health.tick() => self.health_failed(&mut tracker).await.then_some(RotationCause::HealthCheck),
            };
            if let Some(cause) = cause {
                tracker.reset();
                self.rotate_until_done(cause).await?;
                self.ctx.advance(Step::BackedUp { epoch: self.store.epoch() })?;
            }
        }
    }

    /// Whether the verified state at the current view says a provider of this node left or is
    /// leaving, or that its recorded recovery shares are not sealed to the chain's current
    /// recovery operator set. A read that fails is logged and retried at the next block.
    ///
    /// A recorded epoch above the store's means another instance of this node (a copy of its
    /// disk, recovered while this one ran) or a rolled-back disk: an error that stops the node,
    /// so two instances never serve at once; the chain's record decides which one is genuine.
    async fn rotation_needed(
        &self,
        chain: &ChainClient,
        block: u32,
    ) -> Result<Option<RotationCause>, DaemonError> {
        let me = self.keys.account();
        self.note_registration(chain);
        let assignment = match self.chain.assignment(&me).await {
            Ok(Some(a)) => a,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!(block, "reading own assignment from verified state: {e}");
                return Ok(None);
            }
        };
        let store = self.store.epoch();
        if assignment.epoch > store {
            tracing::error!(node = %self.ctx.config.name, block, store, chain = assignment.epoch, "the chain records a newer backup of this node than its store: another instance or a rolled-back disk; stopping");
            return Err(DaemonError::RolledBack { store, chain: assignment.epoch });
        }
        if assignment.epoch != store {
            // A rotation of ours is not recorded yet; its own retry handles it.
            return Ok(None);
        }
        if assignment.stale {
            tracing::info!(node = %self.ctx.config.name, block, "a provider of this node was removed");
            return Ok(Some(RotationCause::ProviderLeaving));
        }
        match chain.recovery_seal(Some(&me)).await {
            Ok((set, recorded)) => {
                let current = set.map(|s| s.revision);
                let sealed_to =
                    recorded.filter(|r| r.epoch == store).map(|r| r.sealed.operator_set);
                if current != sealed_to {
                    tracing::info!(node = %self.ctx.config.name, block, operator_set = ?current, sealed_to = ?sealed_to, "the recovery operators changed; re-sealing");
                    return Ok(Some(RotationCause::OperatorsChanged));
                }
            }
            Err(e) => tracing::warn!(block, "reading the recovery operators: {e}"),
        }
        let view = match chain.view() {
            Ok(view) => view,
            Err(e) => {
                tracing::warn!(block, "verified view: {e}");
                return Ok(None);
            }
        };
        let leaving = assignment.providers.iter().find(|(p, _)| {
            view.server(p).is_none_or(|s| s.status == peerseal_chain::ServerState::Leaving)
        });
        if let Some((provider, _)) = leaving {
            tracing::info!(node = %self.ctx.config.name, block, provider = %hex(provider), "a provider of this node leaves");
            return Ok(Some(RotationCause::ProviderLeaving));
        }
        Ok(None)
    }

    /// Shows this node's own registry state in `/status` and logs each change: a node that
    /// leaves keeps serving until it is removed; a removed one is no provider any more and the
    /// chain dropped its own backup.
    fn note_registration(&self, chain: &ChainClient) {
        let Ok(view) = chain.view() else { return };
        let block = view.head.number;
        let state = match view.server(&self.keys.account()) {
            Some(s) if s.status == peerseal_chain::ServerState::Leaving => "leaving",
            Some(_) => "active",
            None => "removed",
        };
        let mut changed = false;
        self.ctx.lifecycle.update(|s| {
            changed = s.registration.as_deref() != Some(state);
            s.registration = Some(state.to_owned());
        });
        match (changed, state) {
            (true, "leaving") => {
                tracing::warn!(node = %self.ctx.config.name, block, "this node's server is leaving: its clients back up elsewhere; it serves what it holds until it is removed")
            }
            (true, "removed") => {
                tracing::error!(node = %self.ctx.config.name, block, "this node's server was removed from the registry (left, or by governance): it is no provider any more and its own backup was dropped; register it again or shut it down")
            }
            _ => {}
        }
    }

    /// Runs one health check round; true when a provider must be replaced.
    async fn health_failed(&self, tracker: &mut peerseal_backup::HealthTracker) -> bool {
        match self.client.health_check(&self.keys.signer, &self.key).await {
            Ok(reports) => {
                let now = unix_now();
                self.ctx.lifecycle.update(|s| {
                    for view in &mut s.providers {
                        if let Some(r) = reports.iter().find(|r| hex(r.provider) == view.account) {
                            view.health = Some(match &r.status {
                                HealthStatus::Healthy => "healthy".to_owned(),
                                HealthStatus::Unhealthy(reason) => format!("unhealthy: {reason}"),
                            });
                            view.checked_unix = Some(now);
                        }
                    }
                });
                let bad: Vec<_> =
                    reports.iter().filter(|r| r.status != HealthStatus::Healthy).collect();
                for r in &bad {
                    tracing::warn!(node = %self.ctx.config.name, provider = ?r.provider, status = ?r.status, "provider failed the health check");
                }
                match tracker.observe(&reports, std::time::Instant::now()) {
                    None => false,
                    Some(replace) => {
                        tracing::warn!(node = %self.ctx.config.name, ?replace, "replacing a provider that keeps failing its health checks");
                        true
                    }
                }
            }
            Err(e) => {
                tracing::warn!("health check could not run: {e}");
                false
            }
        }
    }
}

fn entries(servers: &[ServerRecord], providers: &[(AccountId, u8)]) -> Vec<ProviderEntry> {
    providers
        .iter()
        .map(|(p, index)| {
            let server = servers.iter().find(|s| s.tss_account == *p);
            ProviderEntry {
                account: hex(p),
                share_index: *index,
                peer_id: server
                    .and_then(|s| libp2p::PeerId::from_bytes(&s.peer_id).ok())
                    .map(|id| id.to_base58())
                    .unwrap_or_default(),
                addrs: server
                    .map(|s| {
                        s.multiaddrs
                            .iter()
                            .filter_map(|a| libp2p::Multiaddr::try_from(a.clone()).ok())
                            .map(|a| a.to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}
