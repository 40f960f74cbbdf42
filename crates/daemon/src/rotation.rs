//! A node whose store is open: keeps its backup current. It follows verified final blocks and
//! re-backs up when the proven state shows one of its providers leaving or removed (the
//! chain's `ProviderLeaving`/`ProviderLeft`, read as state), or when a periodic health check
//! finds a provider that no longer proves it holds the share.
//!
//! A re-backup rotates the database key, because the departing provider still holds the old
//! one. The order makes every crash point recoverable:
//! 1. deal the new key (epoch e+1) and store the shares with new providers — nothing on chain;
//!    a crash leaves store and chain at e;
//! 2. write the new providers and commitment as `pending` into the recovery file (atomically);
//! 3. `begin_rotation` — the store's commit point; from here the store is at e+1 while the
//!    chain still says e, and a restart recovers the new key from the pending providers;
//! 4. re-seal every record (`resume_rotation`; an interrupted one is resumed after a restart);
//! 5. record the e+1 backup on chain, then clear `pending`.
//!
//! Dev builds abort at each of those points when the crash tests ask ([`crate::fault`]).

use crate::context::Context;
use crate::error::{BackupError, DaemonError};
use crate::fault::{crash_point, CrashPoint};
use crate::phase::{unix_now, ProviderView, RotationCause, Step};
use crate::recovery_file::{hex, PendingBackup, ProviderEntry, RecoveryFile};
use futures::StreamExt;
use peerseal_backup::{BackupClient, BackupReport, HealthStatus, NodeKeys, TxSubmitter};
use peerseal_chain::{ChainApi, ChainClient, ServerRecord};
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
        let mut retry = self.ctx.retry();
        let assignment = loop {
            match self.chain.assignment(&self.keys.account()).await {
                Ok(assignment) => break assignment,
                Err(e) => {
                    retry.after_failure("reading this node's assignment", &e).await?;
                }
            }
        };
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

    /// From `Registered` to `Ready`: backs up or rotates as the chain's record needs, records
    /// it, publishes the recovery file.
    pub async fn bring_backup_current(&mut self) -> Result<(), DaemonError> {
        let step = match self.backup_state().await? {
            BackupState::Current => Step::BackupCurrent,
            BackupState::Missing | BackupState::Behind => {
                self.ctx.advance(Step::BackupNeeded)?;
                self.backup_until_done().await?;
                Step::BackedUp { epoch: self.store.epoch() }
            }
            BackupState::Stale => {
                self.ctx.advance(Step::RotationNeeded(RotationCause::StaleBackup))?;
                self.rotate_until_done().await?;
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

    /// Backs the current key up at the store's epoch (and records it), retrying until done.
    async fn backup_until_done(&self) -> Result<(), DaemonError> {
        let mut retry = self.ctx.retry();
        loop {
            let timer = self.ctx.metrics.backup_seconds.start_timer();
            let result = self.client.backup(&self.tx, &self.key, self.store.epoch()).await;
            timer.observe_duration();
            match result {
                Ok(report) => {
                    tracing::info!(node = %self.ctx.config.name, epoch = report.epoch, providers = report.providers.len(), "backed up");
                    return Ok(());
                }
                Err(e) => {
                    let e = BackupError::from(e);
                    self.ctx.metrics.backups_failed.with_label_values(&[e.label()]).inc();
                    retry.after_failure("backup", &e).await?;
                }
            }
        }
    }

    /// Rotates to a new key epoch and backs it up (module doc), retrying until done.
    async fn rotate_until_done(&mut self) -> Result<(), DaemonError> {
        let mut retry = self.ctx.retry();
        loop {
            match self.rotate().await {
                Ok(()) => {
                    self.ctx.metrics.rebackups.inc();
                    self.ctx.lifecycle.update(|s| s.rebackups += 1);
                    return Ok(());
                }
                Err(e) => {
                    self.ctx.metrics.backups_failed.with_label_values(&[e.label()]).inc();
                    retry.after_failure("re-backup", &e).await?;
                }
            }
        }
    }

    async fn rotate(&mut self) -> Result<(), BackupError> {
        let new_key = DbKey::generate().map_err(|e| BackupError::KeyGeneration(e.to_string()))?;
        let epoch = self.store.epoch().checked_add(1).ok_or(BackupError::EpochOverflow)?;
        let timer = self.ctx.metrics.backup_seconds.start_timer();
        let report = self.client.store_shares(&self.tx, &new_key, epoch).await;
        timer.observe_duration();
        let report = report?;
        crash_point(CrashPoint::AfterStoreShares);
        self.publish(Some(&report)).await?;
        crash_point(CrashPoint::AfterPendingFile);
        self.store.begin_rotation(&new_key)?;
        self.key = new_key;
        tracing::info!(node = %self.ctx.config.name, epoch, "store rotated to a new key epoch");
        crash_point(CrashPoint::AfterCommit);
        self.store.resume_rotation()?;
        crash_point(CrashPoint::AfterReseal);
        self.tx
            .record_backup(epoch, report.threshold, report.providers.clone(), report.commitment)
            .await?;
        tracing::info!(node = %self.ctx.config.name, epoch, providers = report.providers.len(), "re-backup recorded on chain");
        self.publish(None).await
    }

    /// Writes the recovery file (and status) from the on-chain assignment, plus `pending`.
    pub async fn publish(&self, pending: Option<&BackupReport>) -> Result<(), BackupError> {
        let account = self.keys.account();
        let servers = self.chain.servers().await?;
        let assignment = self.chain.assignment(&account).await?;
        let (epoch, threshold, providers) = match &assignment {
            Some(a) => (a.epoch, a.threshold, a.providers.clone()),
            None => (0, 0, Vec::new()),
        };
        let file = RecoveryFile {
            version: 1,
            account: hex(account.0),
            peer_id: self.keys.peer_id().to_base58(),
            epoch,
            threshold,
            providers: entries(&servers, &providers),
            pending: pending.map(|r| PendingBackup {
                epoch: r.epoch,
                threshold: r.threshold,
                providers: entries(&servers, &r.providers),
                commitment: hex(r.commitment),
            }),
        };
        file.write_atomic(&self.ctx.config.data_dir)?;
        if pending.is_none() {
            self.ctx.lifecycle.update(|s| {
                s.threshold = Some(threshold);
                s.providers = providers
                    .iter()
                    .map(|(p, i)| ProviderView { account: hex(p), share_index: *i })
                    .collect();
                s.last_backup_unix = Some(unix_now());
            });
        }
        Ok(())
    }

    /// Follows verified final blocks and health checks; rotates when a provider of this node
    /// leaves or fails its health check. Returns only when shutdown is asked (as `Stopped`).
    ///
    /// What decides is proven state at each verified block, not events: the node's own
    /// assignment marked stale (a provider was removed), or one of its providers shown leaving
    /// or gone in the verified registry. An endpoint that hides a `ProviderLeft` event
    /// therefore changes nothing, and one that forges events cannot trigger a rotation.
    pub async fn watch(&mut self, chain: ChainClient) -> Result<(), DaemonError> {
        let mut heads = Box::pin(chain.verified_heads());
        let mut health = tokio::time::interval(self.ctx.config.health_interval);
        health.tick().await; // The first tick is immediate; the backup was just made.
        let shutdown = self.ctx.shutdown.clone();
        loop {
            let cause = tokio::select! {
                () = shutdown.wait() => return Err(peerseal_backup::Stopped.into()),
                head = heads.next() => match head {
                    Some(head) => self.provider_gone(&chain, head.number).await,
                    None => {
                        tracing::warn!("verified block stream ended; following again");
                        self.ctx.retry().wait(Duration::from_secs(1)).await?;
                        heads = Box::pin(chain.verified_heads());
                        None
                    }
                },
                _ = health.tick() => self.health_failed().await.then_some(RotationCause::HealthCheck),
            };
            if let Some(cause) = cause {
                self.ctx.advance(Step::RotationNeeded(cause))?;
                self.rotate_until_done().await?;
                // `rotate` published the new backup already.
                self.ctx.advance(Step::BackedUp { epoch: self.store.epoch() })?;
            }
        }
    }

    /// Whether the verified state at the current view says a provider of this node left or is
    /// leaving. A read that fails is logged and retried at the next block.
    async fn provider_gone(&self, chain: &ChainClient, block: u32) -> Option<RotationCause> {
        let me = self.keys.account();
        let assignment = match self.chain.assignment(&me).await {
            Ok(Some(a)) => a,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(block, "reading own assignment from verified state: {e}");
                return None;
            }
        };
        if assignment.epoch != self.store.epoch() {
            // A rotation of ours is not recorded yet; its own retry handles it.
            return None;
        }
        if assignment.stale {
            tracing::info!(node = %self.ctx.config.name, block, "a provider of this node was removed");
            return Some(RotationCause::ProviderLeaving);
        }
        let view = match chain.view() {
            Ok(view) => view,
            Err(e) => {
                tracing::warn!(block, "verified view: {e}");
                return None;
            }
        };
        let leaving = assignment.providers.iter().find(|(p, _)| {
            view.server(p).is_none_or(|s| s.status == peerseal_chain::ServerState::Leaving)
        });
        if let Some((provider, _)) = leaving {
            tracing::info!(node = %self.ctx.config.name, block, provider = %hex(provider), "a provider of this node leaves");
            return Some(RotationCause::ProviderLeaving);
        }
        None
    }

    async fn health_failed(&self) -> bool {
        match self.client.health_check(&self.keys.account(), &self.key).await {
            Ok(reports) => {
                let bad: Vec<_> =
                    reports.iter().filter(|r| r.status != HealthStatus::Healthy).collect();
                for r in &bad {
                    tracing::warn!(node = %self.ctx.config.name, provider = ?r.provider, status = ?r.status, "provider failed the health check");
                }
                !bad.is_empty()
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
