//! The provider's table of recovery nonces: single use, short-lived, bound to one account,
//! bounded in size.
//!
//! A nonce stays in the table after use (as "used") until its time to live has passed, so a
//! replay is answered `NonceReplayed` rather than the vaguer `NonceUnknown`. Each account holds
//! at most `per_account` live nonces (the oldest is dropped for a new one: a client that lost a
//! nonce must not be locked out), and the table at most `total` (new requests are refused
//! until entries expire: memory stays bounded whatever peers send). Time is passed in, so the
//! table is plain data and tests need no clock.

use peerseal_protocol::{AccountId, ErrorReason, Nonce32};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Limits of the table.
#[derive(Clone, Copy, Debug)]
pub struct NonceLimits {
    /// How long a nonce is valid after issue.
    pub ttl: Duration,
    /// Most live nonces per account.
    pub per_account: usize,
    /// Most entries overall (issued and used-but-not-expired).
    pub total: usize,
}

impl Default for NonceLimits {
    fn default() -> Self {
        Self { ttl: Duration::from_secs(60), per_account: 8, total: 16_384 }
    }
}

struct Entry {
    account: AccountId,
    issued: Instant,
    used: bool,
}

/// The nonce table. Not synchronised: the provider keeps it behind a mutex.
///
/// Issuing costs O(`per_account`) (each account's unused nonces are listed oldest first);
/// only a full table is swept, in O(`total`).
pub struct NonceTable {
    limits: NonceLimits,
    entries: HashMap<Nonce32, Entry>,
    unused: HashMap<AccountId, VecDeque<Nonce32>>,
}

impl NonceTable {
    /// An empty table.
    pub fn new(limits: NonceLimits) -> Self {
        Self { limits, entries: HashMap::new(), unused: HashMap::new() }
    }

    /// The limits in force.
    pub fn limits(&self) -> NonceLimits {
        self.limits
    }

    /// Entries currently held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn purge(&mut self, now: Instant) {
        let ttl = self.limits.ttl;
        self.entries.retain(|_, e| now.saturating_duration_since(e.issued) < ttl);
        let entries = &self.entries;
        self.unused.retain(|_, queue| {
            queue.retain(|n| entries.contains_key(n));
            !queue.is_empty()
        });
    }

    /// Records `nonce` (fresh random bytes from the caller) as issued to `account` at `now`.
    /// Refuses with `RateLimited` when the table is full of live entries.
    pub fn issue(
        &mut self,
        account: AccountId,
        nonce: Nonce32,
        now: Instant,
    ) -> Result<(), ErrorReason> {
        if self.entries.len() >= self.limits.total {
            self.purge(now);
            if self.entries.len() >= self.limits.total {
                let retry = u32::try_from(self.limits.ttl.as_secs()).unwrap_or(u32::MAX).max(1);
                return Err(ErrorReason::RateLimited { retry_after_secs: retry });
            }
        }
        let ttl = self.limits.ttl;
        let entries = &mut self.entries;
        let queue = self.unused.entry(account).or_default();
        queue.retain(|n| {
            entries.get(n).is_some_and(|e| !e.used && now.saturating_duration_since(e.issued) < ttl)
        });
        if queue.len() >= self.limits.per_account.max(1) {
            if let Some(oldest) = queue.pop_front() {
                entries.remove(&oldest);
            }
        }
        queue.push_back(nonce);
        self.entries.insert(nonce, Entry { account, issued: now, used: false });
        Ok(())
    }

    /// Checks that `nonce` was issued to `account`, is unused and unexpired, and marks it used.
    /// A nonce presented for another account is left untouched (it is still its owner's).
    pub fn consume(
        &mut self,
        account: &AccountId,
        nonce: &Nonce32,
        now: Instant,
    ) -> Result<(), ErrorReason> {
        let ttl = self.limits.ttl;
        let Some(entry) = self.entries.get_mut(nonce) else {
            return Err(ErrorReason::NonceUnknown);
        };
        if &entry.account != account {
            return Err(ErrorReason::NonceAccountMismatch);
        }
        if now.saturating_duration_since(entry.issued) >= ttl {
            self.entries.remove(nonce);
            return Err(ErrorReason::NonceExpired);
        }
        if entry.used {
            return Err(ErrorReason::NonceReplayed);
        }
        entry.used = true;
        if let Some(queue) = self.unused.get_mut(account) {
            queue.retain(|n| n != nonce);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(per_account: usize, total: usize) -> NonceTable {
        NonceTable::new(NonceLimits { ttl: Duration::from_secs(60), per_account, total })
    }

    #[test]
    fn single_use_bound_to_account_and_ttl() {
        let now = Instant::now();
        let (a, b) = (AccountId([1; 32]), AccountId([2; 32]));
        let mut t = table(4, 16);
        t.issue(a, Nonce32([1; 32]), now).unwrap();
        assert_eq!(t.consume(&b, &Nonce32([1; 32]), now), Err(ErrorReason::NonceAccountMismatch));
        assert_eq!(t.consume(&a, &Nonce32([9; 32]), now), Err(ErrorReason::NonceUnknown));
        assert_eq!(t.consume(&a, &Nonce32([1; 32]), now), Ok(()));
        assert_eq!(t.consume(&a, &Nonce32([1; 32]), now), Err(ErrorReason::NonceReplayed));
        t.issue(a, Nonce32([2; 32]), now).unwrap();
        let later = now + Duration::from_secs(61);
        assert_eq!(t.consume(&a, &Nonce32([2; 32]), later), Err(ErrorReason::NonceExpired));
    }

    #[test]
    fn used_nonces_do_not_count_against_the_account() {
        let now = Instant::now();
        let a = AccountId([1; 32]);
        let mut t = table(1, 16);
        t.issue(a, Nonce32([1; 32]), now).unwrap();
        t.consume(&a, &Nonce32([1; 32]), now).unwrap();
        t.issue(a, Nonce32([2; 32]), now).unwrap();
        // The used one is still remembered as used (replay), the new one is live.
        assert_eq!(t.consume(&a, &Nonce32([1; 32]), now), Err(ErrorReason::NonceReplayed));
        assert_eq!(t.consume(&a, &Nonce32([2; 32]), now), Ok(()));
    }

    #[test]
    fn bounded_per_account_and_overall() {
        let now = Instant::now();
        let a = AccountId([1; 32]);
        let mut t = table(2, 3);
        for i in 0..3u8 {
            t.issue(a, Nonce32([i; 32]), now + Duration::from_millis(u64::from(i))).unwrap();
        }
        // The oldest of `a` was dropped for the third.
        assert_eq!(t.consume(&a, &Nonce32([0; 32]), now), Err(ErrorReason::NonceUnknown));
        assert_eq!(t.len(), 2);
        t.issue(AccountId([2; 32]), Nonce32([7; 32]), now).unwrap();
        assert!(matches!(
            t.issue(AccountId([3; 32]), Nonce32([8; 32]), now),
            Err(ErrorReason::RateLimited { .. })
        ));
        // Once entries expire there is room again.
        t.issue(AccountId([3; 32]), Nonce32([8; 32]), now + Duration::from_secs(61)).unwrap();
        assert_eq!(t.len(), 1);
    }
}
