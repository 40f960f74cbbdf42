//! When a failed health check means a provider must be replaced.
//!
//! A rotation moves the key to new providers, so what triggers one must be something only the
//! provider itself can cause. A wrong proof, a provider saying it holds no share, or one
//! answering nonsense is that: the provider answered and the answer is bad. A timeout, a dial
//! failure or a `RateLimited`/`Unavailable` refusal is not: anyone who floods the provider or
//! the path to it can cause those, and rotating on them would let an attacker force a
//! rotation at every check. So [`HealthTracker`] replaces a provider after
//! [`HealthPolicy::proof_failures`] consecutive proof failures, and after it went unanswered
//! without a break for [`HealthPolicy::unanswered_for`] (a real outage: a provider that is gone
//! for good must not keep a share of the backup for ever). Time is passed in.

use super::failure::FailureReason;
use super::{HealthReport, HealthStatus};
use peerseal_protocol::{AccountId, ErrorReason};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// When a provider is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive checks whose answer was a bad proof.
    pub proof_failures: u32,
    /// How long a provider may go unanswered, without one good answer between.
    pub unanswered_for: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self { proof_failures: 3, unanswered_for: Duration::from_secs(15 * 60) }
    }
}

/// Why a provider is to be replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replace {
    /// It answered with bad proofs this many checks in a row (the last reason given).
    BadProofs {
        /// The provider.
        provider: AccountId,
        /// Consecutive bad proofs.
        checks: u32,
        /// The last one.
        last: FailureReason,
    },
    /// It went unanswered for this long.
    Unanswered {
        /// The provider.
        provider: AccountId,
        /// Since the first unanswered check of the run.
        for_: Duration,
        /// The last failure.
        last: FailureReason,
    },
}

impl FailureReason {
    /// Whether this failure is the provider's own answer being bad (it cannot be caused by a
    /// third party flooding the provider or the network), as opposed to no usable answer.
    pub fn is_bad_proof(&self) -> bool {
        match self {
            FailureReason::WrongProof
            | FailureReason::UnexpectedResponse
            | FailureReason::UnknownProvider => true,
            FailureReason::Refused(reason) => !matches!(
                reason,
                ErrorReason::RateLimited { .. } | ErrorReason::Unavailable | ErrorReason::Internal
            ),
            FailureReason::Network(_)
            | FailureReason::Quote(_)
            | FailureReason::Seal
            | FailureReason::BadReceipt(_)
            | FailureReason::BadShare(_)
            | FailureReason::CommitmentMismatch => false,
        }
    }
}

#[derive(Default)]
struct ProviderHealth {
    bad_proofs: u32,
    unanswered_since: Option<Instant>,
}

/// Per-provider history of health checks of the current backup.
#[derive(Default)]
pub struct HealthTracker {
    policy: HealthPolicy,
    providers: HashMap<AccountId, ProviderHealth>,
}

impl HealthTracker {
    /// A tracker with no history.
    pub fn new(policy: HealthPolicy) -> Self {
        Self { policy, providers: HashMap::new() }
    }

    /// Forgets everything (the backup moved to new providers).
    pub fn reset(&mut self) {
        self.providers.clear();
    }

    /// Takes one round of reports (at `now`) and says which provider, if any, must go.
    /// Providers absent from `reports` are forgotten.
    pub fn observe(&mut self, reports: &[HealthReport], now: Instant) -> Option<Replace> {
        self.providers.retain(|p, _| reports.iter().any(|r| r.provider == *p));
        let mut verdict = None;
        for report in reports {
            let entry = self.providers.entry(report.provider).or_default();
            let HealthStatus::Unhealthy(reason) = &report.status else {
                *entry = ProviderHealth::default();
                continue;
            };
            if reason.is_bad_proof() {
                entry.bad_proofs = entry.bad_proofs.saturating_add(1);
                entry.unanswered_since = None;
                if entry.bad_proofs >= self.policy.proof_failures.max(1) && verdict.is_none() {
                    verdict = Some(Replace::BadProofs {
                        provider: report.provider,
                        checks: entry.bad_proofs,
                        last: reason.clone(),
                    });
                }
            } else {
                let since = *entry.unanswered_since.get_or_insert(now);
                let for_ = now.saturating_duration_since(since);
                if for_ >= self.policy.unanswered_for && verdict.is_none() {
                    verdict = Some(Replace::Unanswered {
                        provider: report.provider,
                        for_,
                        last: reason.clone(),
                    });
                }
            }
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::RequestError;

    fn report(n: u8, status: HealthStatus) -> HealthReport {
        HealthReport { provider: AccountId([n; 32]), status }
    }

    fn bad(reason: FailureReason) -> HealthStatus {
        HealthStatus::Unhealthy(reason)
    }

    #[test]
    fn floods_cannot_force_a_replacement_at_the_check_interval() {
        let start = Instant::now();
        let mut t = HealthTracker::new(HealthPolicy::default());
        let flooded = [
            FailureReason::Network(RequestError::Timeout),
            FailureReason::Network(RequestError::Dial("denied".into())),
            FailureReason::Refused(ErrorReason::RateLimited { retry_after_secs: 1 }),
            FailureReason::Refused(ErrorReason::Unavailable),
        ];
        for minute in 0..14u64 {
            let now = start + Duration::from_secs(60 * minute);
            let reason = flooded[(minute % 4) as usize].clone();
            assert_eq!(
                t.observe(&[report(1, bad(reason)), report(2, HealthStatus::Healthy)], now),
                None
            );
        }
        // Fifteen minutes without one answer: that provider is really gone.
        let now = start + Duration::from_secs(15 * 60);
        let verdict = t.observe(&[report(1, bad(flooded[0].clone()))], now);
        assert!(
            matches!(verdict, Some(Replace::Unanswered { provider, .. }) if provider == AccountId([1; 32]))
        );
    }

    #[test]
    fn one_good_answer_ends_an_outage_and_a_run_of_bad_proofs() {
        let start = Instant::now();
        let policy = HealthPolicy { proof_failures: 2, unanswered_for: Duration::from_secs(10) };
        let mut t = HealthTracker::new(policy);
        let timeout = bad(FailureReason::Network(RequestError::Timeout));
        assert_eq!(t.observe(&[report(1, timeout.clone())], start), None);
        assert_eq!(
            t.observe(&[report(1, bad(FailureReason::WrongProof))], start + Duration::from_secs(5)),
            None
        );
        assert_eq!(
            t.observe(&[report(1, HealthStatus::Healthy)], start + Duration::from_secs(6)),
            None
        );
        assert_eq!(t.observe(&[report(1, timeout.clone())], start + Duration::from_secs(9)), None);
        assert_eq!(t.observe(&[report(1, timeout)], start + Duration::from_secs(18)), None);
        assert_eq!(
            t.observe(
                &[report(1, bad(FailureReason::WrongProof))],
                start + Duration::from_secs(20)
            ),
            None
        );
    }

    #[test]
    fn repeated_bad_proofs_from_the_provider_itself_replace_it() {
        let now = Instant::now();
        let mut t = HealthTracker::new(HealthPolicy::default());
        let lost = bad(FailureReason::Refused(ErrorReason::NoBackupHeld));
        assert_eq!(t.observe(&[report(3, bad(FailureReason::WrongProof))], now), None);
        assert_eq!(t.observe(&[report(3, lost.clone())], now), None);
        let verdict = t.observe(&[report(3, lost)], now);
        assert!(matches!(verdict, Some(Replace::BadProofs { checks: 3, .. })), "{verdict:?}");
        // After the rotation the new providers start clean.
        t.reset();
        assert_eq!(t.observe(&[report(3, bad(FailureReason::WrongProof))], now), None);
    }
}
