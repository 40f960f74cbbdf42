//! Prometheus metrics of one node: its lifecycle state (one-hot gauge), recoveries it served as
//! provider, its own failed recoveries by reason, backups it holds for others, and latency
//! histograms of its backup and recovery exchanges. Every value is set where it changes: the
//! state gauge by the lifecycle ([`PhaseObserver`]), the provider figures by the provider
//! ([`ProviderObserver`]); a scrape only renders. Text exposition format.

use crate::phase::{Phase, PhaseObserver};
use peerseal_backup::ProviderObserver;
use peerseal_protocol::ErrorReason;
use prometheus::{Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge};
use prometheus::{IntGaugeVec, Opts, Registry, TextEncoder};

/// The node's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    state: IntGaugeVec,
    /// Recoveries of this node's key that failed, by reason.
    pub recoveries_failed: IntCounterVec,
    recoveries_served: IntCounter,
    verifications_queued: IntCounter,
    backups_held: IntGauge,
    /// Seconds of one backup (deal, store with every provider, record on chain).
    pub backup_seconds: Histogram,
    /// Seconds of one recovery (nonce, quote, recover with providers until the key is found).
    pub recovery_seconds: Histogram,
    /// Re-backups (provider left, failed health check).
    pub rebackups: IntCounter,
    /// Failed backup or rotation attempts, by reason.
    pub backups_failed: IntCounterVec,
    /// Requests this node refused as provider, by reason.
    refusals: IntCounterVec,
    /// What the network task refused before any work (peer over its rate, connection limits,
    /// shed for recoveries, bad frames), by reason.
    network_refusals: IntCounterVec,
    /// Chain data that failed verification (bad justification, bad proof, other genesis, ...),
    /// by reason.
    pub chain_verification_failures: IntCounterVec,
    /// The last verified final block.
    chain_verified_block: IntGauge,
    backup_threshold: IntGauge,
    backup_providers: IntGauge,
    backup_below_target: IntGauge,
    /// CPU seconds spent verifying each newly final block (justification, headers, proofs).
    chain_verify_seconds: Histogram,
}

/// Why metrics could not be set up (a duplicate name: a programming error).
#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let state = IntGaugeVec::new(
            Opts::new("peerseal_node_state", "1 for the node's current lifecycle state"),
            &["state"],
        )?;
        let recoveries_failed = IntCounterVec::new(
            Opts::new("peerseal_recoveries_failed_total", "own key recoveries that failed"),
            &["reason"],
        )?;
        let recoveries_served = IntCounter::new(
            "peerseal_recoveries_served_total",
            "shares released to recovering clients",
        )?;
        let verifications_queued = IntCounter::new(
            "peerseal_verifications_queued_total",
            "recoveries that waited for a quote verification slot as provider",
        )?;
        let backups_held =
            IntGauge::new("peerseal_backups_held", "shares of other nodes held as provider")?;
        let buckets = vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
        let backup_seconds = Histogram::with_opts(
            HistogramOpts::new("peerseal_backup_seconds", "backup exchange latency")
                .buckets(buckets.clone()),
        )?;
        let recovery_seconds = Histogram::with_opts(
            HistogramOpts::new("peerseal_recovery_seconds", "recovery exchange latency")
                .buckets(buckets),
        )?;
        let rebackups = IntCounter::new("peerseal_rebackups_total", "re-backups done")?;
        let backups_failed = IntCounterVec::new(
            Opts::new("peerseal_backups_failed_total", "backup or rotation attempts that failed"),
            &["reason"],
        )?;
        let refusals = IntCounterVec::new(
            Opts::new("peerseal_provider_refusals_total", "requests refused as provider"),
            &["reason"],
        )?;
        let network_refusals = IntCounterVec::new(
            Opts::new(
                "peerseal_network_refusals_total",
                "inbound requests, frames and connections the network refused before any work",
            ),
            &["reason"],
        )?;
        let chain_verification_failures = IntCounterVec::new(
            Opts::new(
                "peerseal_chain_verification_failures_total",
                "chain data refused by the verifying client",
            ),
            &["reason"],
        )?;
        let chain_verified_block =
            IntGauge::new("peerseal_chain_verified_block", "last verified final block")?;
        let chain_verify_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "peerseal_chain_verify_seconds",
                "verification work per newly final block",
            )
            .buckets(vec![0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05]),
        )?;
        let backup_threshold = IntGauge::new(
            "peerseal_backup_threshold",
            "shares needed to recover (current backup)",
        )?;
        let backup_providers =
            IntGauge::new("peerseal_backup_providers", "providers of the current backup")?;
        let backup_below_target = IntGauge::new(
            "peerseal_backup_below_target",
            "1 when the current backup is below the default 2-of-3 (too few providers exist or \
             answered)",
        )?;
        registry.register(Box::new(backup_threshold.clone()))?;
        registry.register(Box::new(backup_providers.clone()))?;
        registry.register(Box::new(backup_below_target.clone()))?;
        registry.register(Box::new(chain_verification_failures.clone()))?;
        registry.register(Box::new(chain_verified_block.clone()))?;
        registry.register(Box::new(chain_verify_seconds.clone()))?;
        registry.register(Box::new(state.clone()))?;
        registry.register(Box::new(recoveries_failed.clone()))?;
        registry.register(Box::new(recoveries_served.clone()))?;
        registry.register(Box::new(verifications_queued.clone()))?;
        registry.register(Box::new(backups_held.clone()))?;
        registry.register(Box::new(backup_seconds.clone()))?;
        registry.register(Box::new(recovery_seconds.clone()))?;
        registry.register(Box::new(rebackups.clone()))?;
        registry.register(Box::new(backups_failed.clone()))?;
        registry.register(Box::new(refusals.clone()))?;
        registry.register(Box::new(network_refusals.clone()))?;
        Ok(Self {
            registry,
            state,
            recoveries_failed,
            recoveries_served,
            verifications_queued,
            backups_held,
            backup_seconds,
            recovery_seconds,
            rebackups,
            backups_failed,
            refusals,
            network_refusals,
            chain_verification_failures,
            chain_verified_block,
            chain_verify_seconds,
            backup_threshold,
            backup_providers,
            backup_below_target,
        })
    }

    /// Sets the number of shares held (at start, from the open store).
    pub fn set_backups_held(&self, held: u64) {
        self.backups_held.set(i64::try_from(held).unwrap_or(i64::MAX));
    }

    /// The shape of the backup recorded on chain: `threshold`-of-`providers`, and whether it
    /// falls short of the 2-of-3 target (only with the default threshold).
    pub fn set_backup_shape(&self, threshold: u8, providers: usize, below_target: bool) {
        self.backup_threshold.set(i64::from(threshold));
        self.backup_providers.set(i64::try_from(providers).unwrap_or(i64::MAX));
        self.backup_below_target.set(i64::from(below_target));
    }

    /// Renders every metric as it stands.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec only fails on a metric family without metrics of the expected
        // type, which registration above rules out; an error renders as an empty page.
        if TextEncoder::new().encode(&self.registry.gather(), &mut out).is_err() {
            out.clear();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl peerseal_chain::VerifyObserver for Metrics {
    fn verified(&self, head: &peerseal_chain::FinalHead, cpu: std::time::Duration) {
        self.chain_verified_block.set(i64::from(head.number));
        self.chain_verify_seconds.observe(cpu.as_secs_f64());
    }

    fn failure(&self, label: &'static str) {
        self.chain_verification_failures.with_label_values(&[label]).inc();
    }
}

impl PhaseObserver for Metrics {
    fn entered(&self, phase: &Phase) {
        for label in Phase::LABELS {
            self.state.with_label_values(&[label]).set(i64::from(label == phase.label()));
        }
    }
}

impl ProviderObserver for Metrics {
    fn share_stored(&self, held: u64) {
        self.set_backups_held(held);
    }

    fn share_released(&self) {
        self.recoveries_served.inc();
    }

    fn refused(&self, reason: &ErrorReason) {
        self.refusals.with_label_values(&[reason.label()]).inc();
    }

    fn verification_queued(&self) {
        self.verifications_queued.inc();
    }
}

impl peerseal_backup::NetworkObserver for Metrics {
    fn refused(&self, reason: &'static str) {
        self.network_refusals.with_label_values(&[reason]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_state_and_counters() {
        let m = Metrics::new().unwrap();
        m.recoveries_failed.with_label_values(&["network"]).inc();
        m.recovery_seconds.observe(0.3);
        m.entered(&Phase::Ready { epoch: 1 });
        for _ in 0..3 {
            m.share_released();
        }
        m.share_stored(2);
        m.verification_queued();
        ProviderObserver::refused(&m, &ErrorReason::NotRegistered);
        peerseal_backup::NetworkObserver::refused(&m, "peer_rate_limited");
        let text = m.render();
        assert!(text.contains("peerseal_node_state{state=\"ready\"} 1"), "{text}");
        assert!(text.contains("peerseal_node_state{state=\"starting\"} 0"));
        assert!(text.contains("peerseal_recoveries_served_total 3"));
        assert!(text.contains("peerseal_backups_held 2"));
        assert!(text.contains("peerseal_verifications_queued_total 1"));
        assert!(text.contains("peerseal_recoveries_failed_total{reason=\"network\"} 1"));
        assert!(text.contains("peerseal_recovery_seconds_count 1"));
        assert!(text.contains("peerseal_provider_refusals_total{reason=\"not_registered\"} 1"));
        assert!(text.contains("peerseal_network_refusals_total{reason=\"peer_rate_limited\"} 1"));
        m.entered(&Phase::Stopping);
        assert!(m.render().contains("peerseal_node_state{state=\"ready\"} 0"));
    }
}
