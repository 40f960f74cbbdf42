//! Getting the database key back after a restart, from the providers the chain names.
//!
//! The node knows only public things at this point: its account (from its recovery file or
//! configuration) and the chain. For each provider of its on-chain assignment, in order: ask
//! for a nonce, make a quote binding (recover, account, a one-off response key, nonce), send
//! `Recover`, open the answer with the response key and check it is signed by that provider
//! and names this account, epoch and the share index the chain lists for it. Transient
//! failures are retried with exponential backoff, then the next provider is tried. As soon as
//! `t` shares combine to a key whose commitment matches the chain's, recovery stops. A key that
//! fails the commitment is never returned. Because shares are dealt deterministically from the
//! key ([`super::shares`]), once the key is known every received share is checked, so a
//! provider that returned a wrong share is named even when the others outvoted it.

use crate::client::commitment::matches_commitment;
use crate::client::failure::{FailureReason, ProviderFailure};
use crate::client::peers::{endpoints, Endpoint};
use crate::client::shares::{combine, share_at, KeyShare, KEY_LEN};
use crate::client::BackupClient;
use crate::submit::TxSubmitter;
use peerseal_attestation::{report_data, Binding, QuoteProvider};
use peerseal_chain::{Assignment, ChainError};
use peerseal_kvdb::DbKey;
use peerseal_protocol::{
    AccountId, QuoteBytes, Recover, Request, RequestNonce, Response, X25519Secret,
};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Most `t`-subsets of received shares tried before giving up on finding a consistent set.
const MAX_COMBINATIONS: usize = 1024;

/// Why recovery failed. The store must be left untouched; the caller retries later.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The chain could not be read.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// The chain holds no backup assignment for this account.
    #[error("no backup assignment on chain")]
    NoAssignment,
    /// Not enough valid shares: every provider's failure is listed.
    #[error(
        "recovery failed: {obtained} valid shares of {threshold} needed; failures: {failures:?}"
    )]
    NotEnoughShares {
        /// Shares obtained that were not proven wrong.
        obtained: usize,
        /// Threshold.
        threshold: u8,
        /// Per provider, why it did not help.
        failures: Vec<ProviderFailure>,
    },
}

/// A recovered key, with an account of how it was obtained.
pub struct Recovered {
    /// The key (matches the on-chain commitment). Zeroized on drop.
    pub key: DbKey,
    /// Its epoch.
    pub epoch: u64,
    /// Providers whose shares rebuilt the key.
    pub used: Vec<AccountId>,
    /// Providers that failed, and why.
    pub failures: Vec<ProviderFailure>,
}

impl core::fmt::Debug for Recovered {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Recovered")
            .field("key", &self.key)
            .field("epoch", &self.epoch)
            .field("used", &self.used)
            .field("failures", &self.failures)
            .finish()
    }
}

struct Received {
    provider: AccountId,
    share: KeyShare,
}

impl BackupClient {
    /// Recovers `account`'s key of its current on-chain assignment, making quotes with `quotes`.
    pub async fn recover(
        &self,
        account: &AccountId,
        quotes: Arc<dyn QuoteProvider>,
    ) -> Result<Recovered, RecoveryError> {
        let assignment =
            self.chain.assignment(account).await?.ok_or(RecoveryError::NoAssignment)?;
        self.recover_assignment(account, &assignment, quotes).await
    }

    /// Recovers the key of `assignment`, which need not be the one on chain: a node whose key
    /// rotation was interrupted after its commit point but before its on-chain record takes
    /// the new epoch's providers and commitment from its recovery file. Provider endpoints
    /// still come from the chain's registry; the key is accepted only if it matches
    /// `assignment.commitment`.
    pub async fn recover_assignment(
        &self,
        account: &AccountId,
        assignment: &Assignment,
        quotes: Arc<dyn QuoteProvider>,
    ) -> Result<Recovered, RecoveryError> {
        let assignment = assignment.clone();
        let servers = endpoints(&self.chain.servers().await?);
        let threshold = assignment.threshold;
        let mut received: Vec<Received> = Vec::new();
        let mut failures: Vec<ProviderFailure> = Vec::new();

        for (provider, index) in &assignment.providers {
            let provider = *provider;
            let Some(endpoint) = servers.get(&provider) else {
                failures.push(ProviderFailure { provider, reason: FailureReason::UnknownProvider });
                continue;
            };
            let attempt =
                || self.fetch_share(endpoint, account, &assignment, *index, quotes.clone());
            match self.with_retries(attempt).await {
                Ok(share) => received.push(Received { provider, share }),
                Err(reason) => {
                    tracing::warn!(?provider, %reason, "provider failed during recovery");
                    failures.push(ProviderFailure { provider, reason });
                    continue;
                }
            }
            if received.len() < usize::from(threshold) {
                continue;
            }
            if let Some(key) = find_key(account, &assignment, &received) {
                return Ok(self.finish(account, &assignment, key, received, failures));
            }
            if threshold == 1 {
                // With full copies the share just received is the key: it alone is wrong.
                if let Some(bad) = received.pop() {
                    tracing::warn!(provider = ?bad.provider, "share does not match the on-chain commitment");
                    failures.push(ProviderFailure {
                        provider: bad.provider,
                        reason: FailureReason::CommitmentMismatch,
                    });
                }
            }
        }
        // Shares that never formed a consistent key cannot be told apart: all are suspect.
        for bad in &received {
            failures.push(ProviderFailure {
                provider: bad.provider,
                reason: FailureReason::CommitmentMismatch,
            });
        }
        Err(RecoveryError::NotEnoughShares { obtained: received.len(), threshold, failures })
    }

    fn finish(
        &self,
        account: &AccountId,
        assignment: &Assignment,
        key: Zeroizing<[u8; KEY_LEN]>,
        received: Vec<Received>,
        mut failures: Vec<ProviderFailure>,
    ) -> Recovered {
        let mut used = Vec::with_capacity(received.len());
        for r in received {
            let expected =
                share_at(&key, account, assignment.epoch, assignment.threshold, r.share.index);
            match expected {
                Ok(expected) if expected.bytes == r.share.bytes => used.push(r.provider),
                _ => failures.push(ProviderFailure {
                    provider: r.provider,
                    reason: FailureReason::CommitmentMismatch,
                }),
            }
        }
        tracing::info!(epoch = assignment.epoch, providers = used.len(), "key recovered");
        Recovered { key: DbKey::from_bytes(*key), epoch: assignment.epoch, used, failures }
    }

    async fn fetch_share(
        &self,
        endpoint: &Endpoint,
        account: &AccountId,
        assignment: &Assignment,
        index: u8,
        quotes: Arc<dyn QuoteProvider>,
    ) -> Result<KeyShare, FailureReason> {
        // A fresh response key per attempt: a share sealed to it is useless to anyone else.
        // Made before the nonce is asked for, so its scalar multiplication is off the path
        // between the nonce's arrival and the quote.
        let response_sk = X25519Secret::generate();
        let response_pk = response_sk.public();
        let nonce = match self
            .network
            .request(
                endpoint.peer_id,
                endpoint.addrs.clone(),
                Request::RequestNonce(RequestNonce { account: *account }),
            )
            .await?
        {
            Response::Nonce(nonce) => nonce.nonce,
            Response::Error(reason) => return Err(FailureReason::Refused(reason)),
            _ => return Err(FailureReason::UnexpectedResponse),
        };

        let binding = Binding::recover(&account.0, &response_pk.0, &nonce.0);
        let wanted = report_data(&binding);
        // Hardware quotes block for up to seconds: off the async workers.
        let quote = tokio::task::spawn_blocking(move || quotes.quote(&wanted))
            .await
            .map_err(|_| FailureReason::Quote("quote task failed".to_owned()))?
            .map_err(|e| FailureReason::Quote(e.to_string()))?;
        let quote = QuoteBytes::new(quote).map_err(|e| FailureReason::Quote(e.to_string()))?;

        let request = Request::Recover(Recover {
            account: *account,
            epoch: assignment.epoch,
            response_pk,
            quote,
        });
        let sealed =
            match self.network.request(endpoint.peer_id, endpoint.addrs.clone(), request).await? {
                Response::RecoveredShare(sealed) => sealed,
                Response::Error(reason) => return Err(FailureReason::Refused(reason)),
                _ => return Err(FailureReason::UnexpectedResponse),
            };
        let share = sealed.open(&response_sk, &endpoint.account).map_err(|_| {
            FailureReason::BadShare("envelope does not open or is not the provider's")
        })?;
        if share.account != *account || share.epoch != assignment.epoch {
            return Err(FailureReason::BadShare("names another account or epoch"));
        }
        if share.share_index != index || share.threshold != assignment.threshold {
            return Err(FailureReason::BadShare("names another index or threshold"));
        }
        if share.share.len() != KEY_LEN {
            return Err(FailureReason::BadShare("wrong length"));
        }
        Ok(KeyShare { index, bytes: share.share.into_zeroizing() })
    }

    /// Records on chain, signing as the recovered account, which providers released the key.
    /// Returns the providers for which reporting failed.
    pub async fn report_recovery(
        &self,
        tx: &TxSubmitter,
        recovered: &Recovered,
    ) -> Vec<(AccountId, ChainError)> {
        let mut errors = Vec::new();
        for provider in &recovered.used {
            if let Err(error) = tx.report_recovery(provider, recovered.epoch).await {
                tracing::warn!(?provider, %error, "report_recovery failed");
                errors.push((*provider, error));
            }
        }
        errors
    }
}

/// The key, if some `t`-subset of `received` combines to one matching the commitment.
fn find_key(
    account: &AccountId,
    assignment: &Assignment,
    received: &[Received],
) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    let shares: Vec<KeyShare> = received.iter().map(|r| r.share.clone()).collect();
    combine_committed(
        account,
        assignment.epoch,
        assignment.threshold,
        &assignment.commitment,
        &shares,
    )
}

/// The key of `account` at `epoch`, if some `threshold`-subset of `shares` combines to one
/// matching `commitment` (at most [`MAX_COMBINATIONS`] subsets are tried).
pub(crate) fn combine_committed(
    account: &AccountId,
    epoch: u64,
    threshold: u8,
    commitment: &[u8; 32],
    shares: &[KeyShare],
) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    let t = usize::from(threshold);
    let mut tried = 0usize;
    let mut picks: Vec<usize> = (0..t).collect();
    if t == 0 || shares.len() < t {
        return None;
    }
    loop {
        tried += 1;
        let subset: Vec<KeyShare> = picks.iter().map(|&i| shares[i].clone()).collect();
        if let Ok(key) = combine(threshold, &subset) {
            if matches_commitment(account, epoch, &key, commitment) {
                return Some(key);
            }
        }
        if tried >= MAX_COMBINATIONS || !next_combination(&mut picks, shares.len()) {
            return None;
        }
    }
}

/// Advances `picks` (sorted indices into `0..n`) to the next combination; false at the end.
fn next_combination(picks: &mut [usize], n: usize) -> bool {
    let k = picks.len();
    let mut i = k;
    while i > 0 {
        i -= 1;
        if picks[i] < n - k + i {
            picks[i] += 1;
            for j in i + 1..k {
                picks[j] = picks[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::commitment::key_commitment;
    use crate::client::shares::deal;

    #[test]
    fn combinations_enumerate_all_subsets() {
        let mut picks = vec![0, 1];
        let mut seen = vec![picks.clone()];
        while next_combination(&mut picks, 4) {
            seen.push(picks.clone());
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(seen.last().unwrap(), &vec![2, 3]);
    }

    #[test]
    fn a_wrong_share_is_outvoted_and_a_lone_wrong_share_never_passes() {
        let account = AccountId([5; 32]);
        let key = [0x33; 32];
        let shares = deal(&key, &account, 4, 2, 3).unwrap();
        let assignment = Assignment {
            epoch: 4,
            threshold: 2,
            providers: vec![],
            commitment: key_commitment(&account, 4, &key),
            stale: false,
        };
        let mut wrong = shares[0].clone();
        wrong.bytes[0] ^= 1;
        let received = vec![
            Received { provider: AccountId([1; 32]), share: wrong },
            Received { provider: AccountId([2; 32]), share: shares[1].clone() },
        ];
        assert!(find_key(&account, &assignment, &received).is_none());
        let mut received = received;
        received.push(Received { provider: AccountId([3; 32]), share: shares[2].clone() });
        assert_eq!(*find_key(&account, &assignment, &received).unwrap(), key);
    }
}
