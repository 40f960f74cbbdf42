//! Token buckets: how often one key (a peer, or a peer asking for one account) may make the
//! provider work.
//!
//! Each key's bucket refills at `per_second` up to `burst`. The map of buckets is bounded
//! (`max_accounts`): when full, buckets that have refilled completely (idle keys, nothing to
//! remember) are dropped, and if none has, the request is refused — a flood of made-up keys
//! cannot grow memory. Time is passed in, as in [`super::nonces`].
//!
//! The provider keys its buckets by (peer, claimed account), never by the claimed account
//! alone: the account inside a request is not authenticated, so a bucket per account would
//! let anyone empty a victim's bucket by naming it. The network task keeps one more bucket
//! per connected peer ([`crate::network`]) before a request reaches the provider.

use peerseal_protocol::ErrorReason;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Limits of the rate limiter.
#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    /// Requests an idle key may make at once.
    pub burst: u32,
    /// Sustained requests per second per key.
    pub per_second: u32,
    /// Most keys tracked at once.
    pub max_accounts: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        // A recovery is two requests; a restarting node retries with backoff. 20 at once and
        // 5 per second leave room for that and for health checks, while keeping one account
        // from monopolising quote verification.
        Self { burst: 20, per_second: 5, max_accounts: 4096 }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The rate limiter. Not synchronised: its owner keeps it behind a mutex or in one task.
pub struct RateLimiter<K> {
    limits: RateLimits,
    buckets: HashMap<K, Bucket>,
}

impl<K: Hash + Eq + Copy> RateLimiter<K> {
    /// A limiter with no history.
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, buckets: HashMap::new() }
    }

    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * f64::from(self.limits.per_second))
            .min(f64::from(self.limits.burst))
    }

    /// Forgets `key` (a peer that disconnected).
    pub fn forget(&mut self, key: &K) {
        self.buckets.remove(key);
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Takes one token for `account`, or says how long to wait.
    pub fn check(&mut self, account: &K, now: Instant) -> Result<(), ErrorReason> {
        if !self.buckets.contains_key(account) && self.buckets.len() >= self.limits.max_accounts {
            let burst = f64::from(self.limits.burst);
            let limits = self.limits;
            self.buckets.retain(|_, b| {
                let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
                (b.tokens + elapsed * f64::from(limits.per_second)) < burst
            });
            if self.buckets.len() >= self.limits.max_accounts {
                return Err(ErrorReason::RateLimited { retry_after_secs: 1 });
            }
        }
        let tokens = match self.buckets.get(account) {
            Some(bucket) => self.refilled(bucket, now),
            None => f64::from(self.limits.burst),
        };
        if tokens >= 1.0 {
            self.buckets.insert(*account, Bucket { tokens: tokens - 1.0, at: now });
            Ok(())
        } else {
            self.buckets.insert(*account, Bucket { tokens, at: now });
            let per_second = f64::from(self.limits.per_second.max(1));
            let wait = Duration::from_secs_f64(((1.0 - tokens) / per_second).max(0.0));
            let secs = u32::try_from(wait.as_secs()).unwrap_or(u32::MAX).saturating_add(1);
            Err(ErrorReason::RateLimited { retry_after_secs: secs })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerseal_protocol::AccountId;

    #[test]
    fn burst_then_refill() {
        let now = Instant::now();
        let a = AccountId([1; 32]);
        let mut l = RateLimiter::new(RateLimits { burst: 2, per_second: 1, max_accounts: 8 });
        assert!(l.check(&a, now).is_ok());
        assert!(l.check(&a, now).is_ok());
        assert!(matches!(l.check(&a, now), Err(ErrorReason::RateLimited { .. })));
        // Another account is not affected.
        assert!(l.check(&AccountId([2; 32]), now).is_ok());
        assert!(l.check(&a, now + Duration::from_millis(1100)).is_ok());
    }

    #[test]
    fn account_map_is_bounded() {
        let now = Instant::now();
        let mut l = RateLimiter::new(RateLimits { burst: 1, per_second: 1, max_accounts: 2 });
        assert!(l.check(&AccountId([1; 32]), now).is_ok());
        assert!(l.check(&AccountId([2; 32]), now).is_ok());
        assert!(l.check(&AccountId([3; 32]), now).is_err());
        // After the others refilled, they are forgotten and make room.
        assert!(l.check(&AccountId([3; 32]), now + Duration::from_secs(2)).is_ok());
    }
}
