//! The backup client: ships this node's database key (or Shamir shares of it) to providers
//! chosen on chain, records the backup, and checks that providers still hold their shares.
//! Recovery lives in [`recovery`].
//!
//! Provider choice: the chain's rendezvous order (`ChainApi::candidate_providers`: registered,
//! non-leaving servers, this node excluded) for the epoch; each is dialled by its on-chain peer
//! id and addresses. Share `i` goes to the first candidate that stores it and answers with a
//! receipt that verifies (signed by that provider, naming this client, epoch, index and the
//! exact envelope sent); a provider that fails is skipped for the next candidate, with
//! exponential backoff between attempts at the same one. Only when `n` providers hold a share
//! is the assignment and the key commitment recorded with `record_backup`.

pub mod commitment;
pub mod failure;
pub mod health;
pub mod operators;
pub mod peers;
pub mod recovery;
pub mod shares;

use crate::network::NetworkHandle;
use crate::submit::TxSubmitter;
use commitment::key_commitment;
use failure::{FailureReason, ProviderFailure};
use peers::{endpoints, Endpoint};
use peerseal_chain::{ChainApi, ChainError};
use peerseal_kvdb::DbKey;
use peerseal_protocol::{
    verify_health_mac, AccountId, AccountSigner, BackupShare, HealthChallenge, Nonce32, Request,
    Response, ShareBytes, StoreBackup,
};
use rand::RngCore;
use shares::{deal, share_at, KeyShare, ShareError};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the backup client.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Shares needed to rebuild the key (1 = every provider holds a full copy).
    pub threshold: u8,
    /// Number of providers `n`. `None`: `min(2, others)` when `threshold` is 1, otherwise
    /// `min(threshold + 1, others)`.
    pub providers: Option<u8>,
    /// Settle for less than asked instead of failing (the node's default 2-of-3): with fewer
    /// candidates than `threshold`, every candidate holds a full copy (`t = n = candidates`);
    /// when fewer than `n` providers store a share but at least `t` do, the backup is recorded
    /// with those (`t`-of-stored). Never below `t` while `t` candidates exist. Off: the
    /// configuration is exact, and a shortfall is an error.
    pub accept_fewer: bool,
    /// Attempts at one provider before moving to the next.
    pub attempts_per_provider: usize,
    /// First backoff delay between attempts at one provider.
    pub min_backoff: Duration,
    /// Longest backoff delay.
    pub max_backoff: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            threshold: 1,
            providers: None,
            accept_fewer: false,
            attempts_per_provider: 3,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl ClientConfig {
    /// The threshold and number of providers to use when `others` candidates exist.
    pub fn plan(&self, others: usize) -> Result<(u8, u8), ClientError> {
        let others_u8 = u8::try_from(others).unwrap_or(u8::MAX);
        if self.accept_fewer && others > 0 && others < usize::from(self.threshold) {
            return Ok((others_u8, others_u8));
        }
        Ok((self.threshold, self.provider_count(others)?))
    }

    /// The number of providers to use when `others` candidates exist (at the configured
    /// threshold).
    pub fn provider_count(&self, others: usize) -> Result<u8, ClientError> {
        let others_u8 = u8::try_from(others).unwrap_or(u8::MAX);
        let n = match self.providers {
            Some(n) => n,
            None if self.threshold <= 1 => others_u8.min(2),
            None => others_u8.min(self.threshold.saturating_add(1)),
        };
        if self.threshold == 0 || n < self.threshold || n == 0 || usize::from(n) > others {
            return Err(ClientError::NotEnoughCandidates {
                threshold: self.threshold,
                wanted: n,
                available: others,
            });
        }
        Ok(n)
    }

    pub(crate) fn backoff(&self) -> impl Iterator<Item = Duration> {
        crate::retry::Backoff {
            min: self.min_backoff,
            max: self.max_backoff,
            jitter: true,
            max_retries: Some(self.attempts_per_provider.saturating_sub(1)),
        }
        .delays()
    }
}

/// Why a backup (or a health check) could not be done at all.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The chain could not be read or refused the transaction.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// Fewer candidate providers than the configuration needs.
    #[error("need {wanted} providers for threshold {threshold}, {available} available")]
    NotEnoughCandidates {
        /// Threshold.
        threshold: u8,
        /// Providers wanted.
        wanted: u8,
        /// Candidates available.
        available: usize,
    },
    /// Not enough providers stored a share; nothing was recorded on chain.
    #[error("only {stored} of {wanted} providers stored a share")]
    NotEnoughProviders {
        /// Providers that stored a share.
        stored: usize,
        /// Providers wanted.
        wanted: u8,
        /// Why the others failed.
        failures: Vec<ProviderFailure>,
    },
    /// The key could not be split.
    #[error("shares: {0}")]
    Shares(#[from] ShareError),
    /// The chain holds no backup assignment for this account.
    #[error("no backup assignment on chain")]
    NoAssignment,
    /// A share could not be sealed to a recovery operator's key.
    #[error("sealing a share to a recovery operator failed")]
    OperatorSeal,
}

/// What a successful backup did.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// Key epoch.
    pub epoch: u64,
    /// Threshold.
    pub threshold: u8,
    /// (provider, share index), as recorded on chain.
    pub providers: Vec<(AccountId, u8)>,
    /// Key commitment recorded on chain.
    pub commitment: [u8; 32],
    /// The key sealed to the chain's recovery operators, recorded with the backup (`None`
    /// while the chain has no operators).
    pub recovery: Option<peerseal_chain::SealedRecovery>,
    /// Providers that were tried and skipped.
    pub failures: Vec<ProviderFailure>,
}

/// Health of one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthStatus {
    /// It proved it holds the right share.
    Healthy,
    /// It did not.
    Unhealthy(FailureReason),
}

/// A provider's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    /// The provider.
    pub provider: AccountId,
    /// Its status.
    pub status: HealthStatus,
}

/// The backup and recovery client of one node.
#[derive(Clone)]
pub struct BackupClient {
    pub(crate) network: NetworkHandle,
    pub(crate) chain: Arc<dyn ChainApi>,
    pub(crate) config: ClientConfig,
}

impl BackupClient {
    /// A client sending through `network` and reading `chain`.
    pub fn new(network: NetworkHandle, chain: Arc<dyn ChainApi>, config: ClientConfig) -> Self {
        Self { network, chain, config }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Runs `attempt` against one provider up to `attempts_per_provider` times with exponential
    /// backoff while the failure is transient. Returns the value or the last failure.
    pub(crate) async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T, FailureReason>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, FailureReason>>,
    {
        let mut delays = self.config.backoff();
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(reason) if reason.is_retryable() => match delays.next() {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(reason),
                },
                Err(reason) => return Err(reason),
            }
        }
    }

    /// Backs `key` up at `epoch` and records it on chain, signing as `tx`'s account.
    pub async fn backup(
        &self,
        tx: &TxSubmitter,
        key: &DbKey,
        epoch: u64,
    ) -> Result<BackupReport, ClientError> {
        let report = self.store_shares(tx, key, epoch).await?;
        tx.record_backup(
            epoch,
            report.threshold,
            report.providers.clone(),
            report.commitment,
            report.recovery.as_ref(),
        )
        .await?;
        tracing::info!(
            epoch,
            threshold = report.threshold,
            providers = report.providers.len(),
            "backup recorded on chain"
        );
        Ok(report)
    }

    /// The first half of [`BackupClient::backup`]: deals `key` at `epoch` and stores the shares
    /// with providers, without recording anything on chain (a key rotation records only after
    /// its commit point; see the node's rotation).
    pub async fn store_shares(
        &self,
        tx: &TxSubmitter,
        key: &DbKey,
        epoch: u64,
    ) -> Result<BackupReport, ClientError> {
        let account = tx.account();
        let servers = endpoints(&self.chain.servers().await?);
        let candidates: Vec<Endpoint> = self
            .chain
            .candidate_providers(&account, epoch)
            .await?
            .into_iter()
            .filter(|p| *p != account)
            .filter_map(|p| servers.get(&p).cloned())
            .filter(|e| !e.leaving)
            .collect();
        let (threshold, n) = self.config.plan(candidates.len())?;
        let shares = deal(key.expose_secret(), &account, epoch, threshold, n)?;

        let mut assigned = Vec::with_capacity(usize::from(n));
        let mut failures = Vec::new();
        let mut next = candidates.iter();
        'shares: for share in &shares {
            for endpoint in next.by_ref() {
                let attempt = || self.store_one(tx, endpoint, share, epoch, threshold);
                match self.with_retries(attempt).await {
                    Ok(()) => {
                        assigned.push((endpoint.account, share.index));
                        continue 'shares;
                    }
                    Err(reason) => {
                        tracing::warn!(provider = ?endpoint.account, %reason, "provider skipped for backup");
                        failures.push(ProviderFailure { provider: endpoint.account, reason });
                    }
                }
            }
            break;
        }
        let enough = if self.config.accept_fewer { usize::from(threshold) } else { usize::from(n) };
        if assigned.len() < usize::from(n) && assigned.len() >= enough {
            tracing::warn!(
                stored = assigned.len(),
                wanted = n,
                threshold,
                "backup recorded with fewer providers than wanted (the others were unreachable)"
            );
        }
        if assigned.len() < enough {
            return Err(ClientError::NotEnoughProviders {
                stored: assigned.len(),
                wanted: n,
                failures,
            });
        }
        let commitment = key_commitment(&account, epoch, key.expose_secret());
        let recovery = match self.chain.recovery_operators().await? {
            Some(set) => Some(operators::seal_for_operators(
                &set,
                tx.signer(),
                key.expose_secret(),
                epoch,
                commitment,
            )?),
            None => None,
        };
        Ok(BackupReport { epoch, threshold, providers: assigned, commitment, recovery, failures })
    }

    async fn store_one(
        &self,
        tx: &TxSubmitter,
        endpoint: &Endpoint,
        share: &KeyShare,
        epoch: u64,
        threshold: u8,
    ) -> Result<(), FailureReason> {
        let account = tx.account();
        let payload = BackupShare {
            account,
            epoch,
            share_index: share.index,
            threshold,
            share: ShareBytes::from_slice(&share.bytes).map_err(|_| FailureReason::Seal)?,
        };
        let request = StoreBackup::seal(&endpoint.x25519, tx.signer(), &payload)
            .map_err(|_| FailureReason::Seal)?;
        let digest = request.envelope.digest();
        let response = self
            .network
            .request(endpoint.peer_id, endpoint.addrs.clone(), Request::StoreBackup(request))
            .await?;
        let signed = match response {
            Response::BackupReceipt(signed) => signed,
            Response::Error(reason) => return Err(FailureReason::Refused(reason)),
            _ => return Err(FailureReason::UnexpectedResponse),
        };
        let receipt = signed.verify().map_err(|_| FailureReason::BadReceipt("signature"))?;
        if receipt.provider != endpoint.account {
            return Err(FailureReason::BadReceipt("signed by another account"));
        }
        if receipt.client != account
            || receipt.epoch != epoch
            || receipt.share_index != share.index
            || receipt.envelope_digest != digest
        {
            return Err(FailureReason::BadReceipt("names other values than sent"));
        }
        Ok(())
    }

    /// Challenges every provider of `signer`'s current assignment to prove, without sending
    /// it, that it holds the share it was given for `key`. Each challenge is signed by
    /// `signer` (the node's TSS account) for the provider it goes to.
    pub async fn health_check<S: AccountSigner + ?Sized>(
        &self,
        signer: &S,
        key: &DbKey,
    ) -> Result<Vec<HealthReport>, ClientError> {
        let account = &signer.account();
        let assignment = self.chain.assignment(account).await?.ok_or(ClientError::NoAssignment)?;
        let servers = endpoints(&self.chain.servers().await?);
        let mut reports = Vec::with_capacity(assignment.providers.len());
        for (provider, index) in &assignment.providers {
            let provider = *provider;
            let status = match servers.get(&provider) {
                None => HealthStatus::Unhealthy(FailureReason::UnknownProvider),
                Some(endpoint) => {
                    let expected = share_at(
                        key.expose_secret(),
                        account,
                        assignment.epoch,
                        assignment.threshold,
                        *index,
                    )?;
                    let attempt =
                        || self.challenge_one(endpoint, signer, assignment.epoch, &expected);
                    match self.with_retries(attempt).await {
                        Ok(()) => HealthStatus::Healthy,
                        Err(reason) => HealthStatus::Unhealthy(reason),
                    }
                }
            };
            reports.push(HealthReport { provider, status });
        }
        Ok(reports)
    }

    async fn challenge_one<S: AccountSigner + ?Sized>(
        &self,
        endpoint: &Endpoint,
        signer: &S,
        epoch: u64,
        expected: &KeyShare,
    ) -> Result<(), FailureReason> {
        let mut challenge = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut challenge);
        let challenge = Nonce32(challenge);
        let account = &signer.account();
        let request = Request::HealthChallenge(HealthChallenge::sign(
            signer,
            endpoint.account,
            epoch,
            challenge,
        ));
        match self.network.request(endpoint.peer_id, endpoint.addrs.clone(), request).await? {
            Response::HealthProof(proof) => {
                if verify_health_mac(
                    &expected.bytes,
                    &endpoint.account,
                    account,
                    epoch,
                    &challenge,
                    &proof.mac,
                ) {
                    Ok(())
                } else {
                    Err(FailureReason::WrongProof)
                }
            }
            Response::Error(reason) => Err(FailureReason::Refused(reason)),
            _ => Err(FailureReason::UnexpectedResponse),
        }
    }
}
