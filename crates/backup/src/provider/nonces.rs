//! The provider's table of recovery nonces: single use, short-lived, bound to one account and
//! to the peer that asked for it, bounded in size.
//!
//! A nonce stays in the table after use (as "used") until its time to live has passed, so a
//! replay is answered `NonceReplayed` rather than the vaguer `NonceUnknown`. Budgets are per
//! peer, never per claimed account alone (the account in `RequestNonce` is not authenticated):
//! each (peer, account) holds at most `per_account` live nonces and each peer at most
//! `per_peer` (the oldest is dropped for a new one, so a client that lost a nonce is not locked
//! out, and a peer that floods requests naming a victim only evicts its own nonces), and the
//! table at most `total` (new requests are refused until entries expire: memory stays bounded
//! whatever peers send). A nonce is good only for the peer it was issued to, so one seen on the
//! wire cannot be spent by another peer. Time is passed in, so the table is plain data and
//! tests need no clock.

use libp2p::PeerId;
use peerseal_protocol::{AccountId, ErrorReason, Nonce32};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Limits of the table.
#[derive(Clone, Copy, Debug)]
pub struct NonceLimits {
    /// How long a nonce is valid after issue.
    pub ttl: Duration,
    /// Most live nonces per (peer, account).
    pub per_account: usize,
    /// Most live nonces per peer, whatever accounts it names.
    pub per_peer: usize,
    /// Most entries overall (issued and used-but-not-expired).
    pub total: usize,
}

impl Default for NonceLimits {
    fn default() -> Self {
        // With the network's cap on incoming connections (256), peers hold at most 256 × 16
        // live nonces: the table (16,384) always has room for a legitimate client.
        Self { ttl: Duration::from_secs(60), per_account: 8, per_peer: 16, total: 16_384 }
    }
}

struct Entry {
    account: AccountId,
    peer: PeerId,
    issued: Instant,
    used: bool,
}

/// The nonce table. Not synchronised: the provider keeps it behind a mutex.
///
/// Issuing costs O(`per_account` + `per_peer`) (the unused nonces of the pair and of the peer
/// are listed oldest first); only a full table is swept, in O(`total`).
pub struct NonceTable {
    limits: NonceLimits,
    entries: HashMap<Nonce32, Entry>,
    by_pair: HashMap<(PeerId, AccountId), VecDeque<Nonce32>>,
    by_peer: HashMap<PeerId, VecDeque<Nonce32>>,
}

/// Keeps the live unused nonces of `queue` and drops the oldest (also from `entries`) until
/// there is room for one more under `max`.
fn make_room(
    queue: &mut VecDeque<Nonce32>,
    entries: &mut HashMap<Nonce32, Entry>,
    max: usize,
    now: Instant,
    ttl: Duration,
) {
    queue.retain(|n| {
        entries.get(n).is_some_and(|e| !e.used && now.saturating_duration_since(e.issued) < ttl)
    });
    while queue.len() >= max.max(1) {
        match queue.pop_front() {
            Some(oldest) => {
                entries.remove(&oldest);
            }
            None => break,
        }
    }
}

impl NonceTable {
    /// An empty table.
    pub fn new(limits: NonceLimits) -> Self {
        Self { limits, entries: HashMap::new(), by_pair: HashMap::new(), by_peer: HashMap::new() }
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
        self.by_pair.retain(|_, queue| {
            queue.retain(|n| entries.contains_key(n));
            !queue.is_empty()
        });
        self.by_peer.retain(|_, queue| {
            queue.retain(|n| entries.contains_key(n));
            !queue.is_empty()
        });
    }

    /// Records `nonce` (fresh random bytes from the caller) as issued to `account` asked by
    /// `peer` at `now`. Refuses with `RateLimited` when the table is full of live entries.
    pub fn issue(
        &mut self,
        peer: PeerId,
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
        let pair = self.by_pair.entry((peer, account)).or_default();
        make_room(pair, &mut self.entries, self.limits.per_account, now, ttl);
        pair.push_back(nonce);
        let of_peer = self.by_peer.entry(peer).or_default();
        make_room(of_peer, &mut self.entries, self.limits.per_peer, now, ttl);
        of_peer.push_back(nonce);
        self.entries.insert(nonce, Entry { account, peer, issued: now, used: false });
        Ok(())
    }

    /// Checks that `nonce` was issued to `account` for `peer`, is unused and unexpired, and
    /// marks it used. A nonce presented for another account or by another peer is left
    /// untouched (it is still its owner's) and refused `NonceAccountMismatch`.
    pub fn consume(
        &mut self,
        peer: &PeerId,
        account: &AccountId,
        nonce: &Nonce32,
        now: Instant,
    ) -> Result<(), ErrorReason> {
        let ttl = self.limits.ttl;
        let Some(entry) = self.entries.get_mut(nonce) else {
            return Err(ErrorReason::NonceUnknown);
        };
        if &entry.account != account || &entry.peer != peer {
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
        if let Some(queue) = self.by_pair.get_mut(&(*peer, *account)) {
            queue.retain(|n| n != nonce);
        }
        if let Some(queue) = self.by_peer.get_mut(peer) {
            queue.retain(|n| n != nonce);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(per_account: usize, per_peer: usize, total: usize) -> NonceTable {
        NonceTable::new(NonceLimits { ttl: Duration::from_secs(60), per_account, per_peer, total })
    }

    #[test]
    fn single_use_bound_to_account_peer_and_ttl() {
        let now = Instant::now();
        let (a, b) = (AccountId([1; 32]), AccountId([2; 32]));
        let (p, q) = (PeerId::random(), PeerId::random());
        let mut t = table(4, 16, 16);
        t.issue(p, a, Nonce32([1; 32]), now).unwrap();
        assert_eq!(
            t.consume(&p, &b, &Nonce32([1; 32]), now),
            Err(ErrorReason::NonceAccountMismatch)
        );
        // Another peer that saw the nonce cannot spend it, and does not burn it.
        assert_eq!(
            t.consume(&q, &a, &Nonce32([1; 32]), now),
            Err(ErrorReason::NonceAccountMismatch)
        );
        assert_eq!(t.consume(&p, &a, &Nonce32([9; 32]), now), Err(ErrorReason::NonceUnknown));
        assert_eq!(t.consume(&p, &a, &Nonce32([1; 32]), now), Ok(()));
        assert_eq!(t.consume(&p, &a, &Nonce32([1; 32]), now), Err(ErrorReason::NonceReplayed));
        t.issue(p, a, Nonce32([2; 32]), now).unwrap();
        let later = now + Duration::from_secs(61);
        assert_eq!(t.consume(&p, &a, &Nonce32([2; 32]), later), Err(ErrorReason::NonceExpired));
    }

    #[test]
    fn used_nonces_do_not_count_against_the_budget() {
        let now = Instant::now();
        let (a, p) = (AccountId([1; 32]), PeerId::random());
        let mut t = table(1, 1, 16);
        t.issue(p, a, Nonce32([1; 32]), now).unwrap();
        t.consume(&p, &a, &Nonce32([1; 32]), now).unwrap();
        t.issue(p, a, Nonce32([2; 32]), now).unwrap();
        // The used one is still remembered as used (replay), the new one is live.
        assert_eq!(t.consume(&p, &a, &Nonce32([1; 32]), now), Err(ErrorReason::NonceReplayed));
        assert_eq!(t.consume(&p, &a, &Nonce32([2; 32]), now), Ok(()));
    }

    #[test]
    fn bounded_per_pair_per_peer_and_overall() {
        let now = Instant::now();
        let (a, p) = (AccountId([1; 32]), PeerId::random());
        let mut t = table(2, 3, 4);
        for i in 0..3u8 {
            t.issue(p, a, Nonce32([i; 32]), now + Duration::from_millis(u64::from(i))).unwrap();
        }
        // The oldest of (p, a) was dropped for the third.
        assert_eq!(t.consume(&p, &a, &Nonce32([0; 32]), now), Err(ErrorReason::NonceUnknown));
        assert_eq!(t.len(), 2);
        // The peer's budget spans accounts: a fourth nonce (another account) evicts its oldest.
        t.issue(p, AccountId([2; 32]), Nonce32([3; 32]), now).unwrap();
        t.issue(p, AccountId([3; 32]), Nonce32([4; 32]), now).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.consume(&p, &a, &Nonce32([1; 32]), now), Err(ErrorReason::NonceUnknown));
        // Overall bound.
        t.issue(PeerId::random(), AccountId([4; 32]), Nonce32([7; 32]), now).unwrap();
        assert!(matches!(
            t.issue(PeerId::random(), AccountId([5; 32]), Nonce32([8; 32]), now),
            Err(ErrorReason::RateLimited { .. })
        ));
        // Once entries expire there is room again.
        let later = now + Duration::from_secs(61);
        t.issue(PeerId::random(), AccountId([5; 32]), Nonce32([8; 32]), later).unwrap();
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_peer_flooding_requests_that_name_a_victim_evicts_only_its_own_nonces() {
        let now = Instant::now();
        let (victim, client, attacker) = (AccountId([1; 32]), PeerId::random(), PeerId::random());
        let mut t = table(8, 16, 16_384);
        t.issue(client, victim, Nonce32([0; 32]), now).unwrap();
        for i in 1..=200u32 {
            let mut bytes = [0xAA; 32];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            t.issue(attacker, victim, Nonce32(bytes), now).unwrap();
        }
        assert!(t.len() <= 1 + 8, "the attacker holds at most its own budget: {}", t.len());
        assert_eq!(t.consume(&client, &victim, &Nonce32([0; 32]), now), Ok(()));
    }
}
