//! A node whose store is open: keeps its backup current. It follows finalized blocks and
//! re-backs up when `ProviderLeaving`/`ProviderLeft` names it as a client, or when a periodic
//! health check finds a provider that no longer proves it holds the share.
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
//! A test-only crash hook: with `PEERSEAL_TEST_CRASH_AT` set to `after_store_shares`,
//! `after_pending_file`, `after_commit` or `after_reseal`, the process aborts at that point.

use crate::config::Config;
use crate::lifecycle::{unix_now, Lifecycle, NodeState, ProviderView};
use crate::metrics::Metrics;
use crate::node::{backoff, move_to, wait_for_shutdown};
use crate::recovery_file::{hex, PendingBackup, ProviderEntry, RecoveryFile};
use crate::{BackupClient, BackupReport, HealthStatus, NodeKeys, TxSubmitter};
use futures::StreamExt;
use peerseal_chain::{ChainApi, ChainClient, ChainEvent, ServerRecord};
use peerseal_kvdb::{DbKey, Store};
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
pub struct Running {
    pub(crate) config: Config,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) metrics: Metrics,
    pub(crate) chain: Arc<dyn ChainApi>,
    pub(crate) client: BackupClient,
    pub(crate) tx: TxSubmitter,
    pub(crate) keys: NodeKeys,
    pub(crate) key: DbKey,
    pub(crate) store: Store,
}

fn crash_point(point: &str) {
    if std::env::var("PEERSEAL_TEST_CRASH_AT").is_ok_and(|p| p == point) {
        tracing::error!(point, "PEERSEAL_TEST_CRASH_AT: aborting the process");
        std::process::abort();
    }
}

impl Running {
    /// Compares the chain's record with the store.
    pub async fn backup_state(&self) -> BackupState {
        match self.chain.assignment(&self.keys.account().0).await {
            Ok(None) => BackupState::Missing,
            Ok(Some(a)) if a.epoch < self.store.epoch() => BackupState::Behind,
            Ok(Some(a)) if a.stale => BackupState::Stale,
            Ok(Some(_)) => BackupState::Current,
            Err(e) => {
                tracing::warn!("reading own assignment failed: {e}");
                BackupState::Current
            }
        }
    }

    /// Backs the current key up at the store's epoch (and records it), retrying until done.
    pub async fn backup_until_done(&self) {
        let mut delays = backoff(self.config.max_backoff);
        loop {
            let timer = self.metrics.backup_seconds.start_timer();
            let result = self.client.backup(&self.tx, &self.key, self.store.epoch()).await;
            timer.observe_duration();
            match result {
                Ok(report) => {
                    tracing::info!(node = %self.config.name, epoch = report.epoch, providers = report.providers.len(), "backed up");
                    return;
                }
                Err(e) => {
                    let delay = delays.next().unwrap_or(self.config.max_backoff);
                    tracing::warn!(node = %self.config.name, "backup failed ({e}), retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Rotates to a new key epoch and backs it up (module doc), retrying until done.
    pub async fn rotate_until_done(&mut self) {
        let mut delays = backoff(self.config.max_backoff);
        loop {
            match self.rotate().await {
                Ok(()) => {
                    self.metrics.rebackups.inc();
                    self.lifecycle.update(|s| {
                        s.rebackups += 1;
                        s.epoch = Some(self.store.epoch());
                    });
                    return;
                }
                Err(e) => {
                    let delay = delays.next().unwrap_or(self.config.max_backoff);
                    tracing::warn!(node = %self.config.name, "re-backup failed ({e}), retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn rotate(&mut self) -> Result<(), String> {
        let new_key = DbKey::generate().map_err(|e| e.to_string())?;
        let epoch = self.store.epoch().checked_add(1).ok_or("epoch overflow")?;
        let timer = self.metrics.backup_seconds.start_timer();
        let report = self.client.store_shares(&self.tx, &new_key, epoch).await;
        timer.observe_duration();
        let report = report.map_err(|e| e.to_string())?;
        crash_point("after_store_shares");
        self.publish(Some(&report)).await?;
        crash_point("after_pending_file");
        self.store.begin_rotation(&new_key).map_err(|e| e.to_string())?;
        self.key = new_key;
        self.lifecycle.update(|s| s.epoch = Some(epoch));
        tracing::info!(node = %self.config.name, epoch, "store rotated to a new key epoch");
        crash_point("after_commit");
        self.store.resume_rotation().map_err(|e| e.to_string())?;
        crash_point("after_reseal");
        self.tx
            .record_backup(epoch, report.threshold, report.providers.clone(), report.commitment)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(node = %self.config.name, epoch, providers = report.providers.len(), "re-backup recorded on chain");
        self.publish(None).await
    }

    /// Writes the recovery file (and status) from the on-chain assignment, plus `pending`.
    pub async fn publish(&self, pending: Option<&BackupReport>) -> Result<(), String> {
        let account = self.keys.account();
        let servers = self.chain.servers().await.map_err(|e| e.to_string())?;
        let assignment = self.chain.assignment(&account.0).await.map_err(|e| e.to_string())?;
        let (epoch, threshold, providers) = match &assignment {
            Some(a) => (a.epoch, a.threshold, a.providers.clone()),
            None => (0, 0, Vec::new()),
        };
        let file = RecoveryFile {
            version: 1,
            account: hex(&account.0),
            peer_id: self.keys.peer_id().to_base58(),
            epoch,
            threshold,
            providers: entries(&servers, &providers),
            pending: pending.map(|r| PendingBackup {
                epoch: r.epoch,
                threshold: r.threshold,
                providers: entries(
                    &servers,
                    &r.providers.iter().map(|(a, i)| (a.0, *i)).collect::<Vec<_>>(),
                ),
                commitment: hex(&r.commitment),
            }),
        };
        file.write_atomic(&self.config.data_dir).map_err(|e| e.to_string())?;
        if pending.is_none() {
            self.lifecycle.update(|s| {
                s.threshold = Some(threshold);
                s.providers = providers
                    .iter()
                    .map(|(p, i)| ProviderView { account: hex(p), share_index: *i })
                    .collect();
                s.last_backup_unix = Some(unix_now());
                s.epoch = Some(self.store.epoch());
            });
        }
        Ok(())
    }

    /// Follows finalized blocks and health checks until the process is asked to stop.
    pub async fn watch(&mut self, chain: ChainClient) {
        let me = self.keys.account().0;
        let mut blocks = Box::pin(chain.finalized_blocks());
        let mut health = tokio::time::interval(self.config.health_interval);
        health.tick().await; // The first tick is immediate; the backup was just made.
        let shutdown = wait_for_shutdown();
        tokio::pin!(shutdown);
        loop {
            let rebackup = tokio::select! {
                _ = &mut shutdown => return,
                item = blocks.next() => match item {
                    Some(Ok(block)) => block.events.iter().any(|event| match event {
                        ChainEvent::ProviderLeaving { provider, clients }
                        | ChainEvent::ProviderLeft { provider, clients } => {
                            let named = clients.contains(&me);
                            if named {
                                tracing::info!(node = %self.config.name, block = block.number, provider = %hex(provider), "a provider of this node leaves");
                            }
                            named
                        }
                        _ => false,
                    }),
                    Some(Err(e)) => {
                        tracing::warn!("finalized block stream: {e}");
                        false
                    }
                    None => {
                        tracing::warn!("finalized block stream ended; following again");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        blocks = Box::pin(chain.finalized_blocks());
                        false
                    }
                },
                _ = health.tick() => self.health_failed().await,
            };
            if rebackup {
                move_to(&self.lifecycle, NodeState::Registered);
                self.rotate_until_done().await;
                move_to(&self.lifecycle, NodeState::BackedUp);
                move_to(&self.lifecycle, NodeState::Ready);
            }
        }
    }

    async fn health_failed(&self) -> bool {
        match self.client.health_check(&self.keys.account(), &self.key).await {
            Ok(reports) => {
                let bad: Vec<_> =
                    reports.iter().filter(|r| r.status != HealthStatus::Healthy).collect();
                for r in &bad {
                    tracing::warn!(node = %self.config.name, provider = ?r.provider, status = ?r.status, "provider failed the health check");
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

fn entries(servers: &[ServerRecord], providers: &[([u8; 32], u8)]) -> Vec<ProviderEntry> {
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
