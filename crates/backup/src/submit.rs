//! The node's transactions to the chain, one at a time.
//!
//! A TSS node signs four kinds of transactions with its one TSS account: `record_backup` (as a
//! client), `confirm_backup` (as a provider), `report_recovery` and
//! `report_recovered_by_operators`. Submitted concurrently, two
//! of them could be built with the same account nonce and one would be rejected; this wrapper
//! serialises them behind one lock shared by the provider and the client of a node.

use crate::identity::TssSigner;
use peerseal_chain::{BlockHash, ChainApi, ChainError, SealedRecovery};
use peerseal_protocol::AccountId;
use std::sync::Arc;

/// Signs and submits this node's transactions, serialised. Cheap to clone; clones share the lock.
#[derive(Clone)]
pub struct TxSubmitter {
    chain: Arc<dyn ChainApi>,
    signer: TssSigner,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl TxSubmitter {
    /// A submitter signing with `signer`.
    pub fn new(chain: Arc<dyn ChainApi>, signer: TssSigner) -> Self {
        Self { chain, signer, lock: Arc::new(tokio::sync::Mutex::new(())) }
    }

    /// The signing account.
    pub fn account(&self) -> AccountId {
        peerseal_protocol::AccountSigner::account(&self.signer)
    }

    /// The signer (for envelopes signed by the same account).
    pub fn signer(&self) -> &TssSigner {
        &self.signer
    }

    /// The chain this submits to.
    pub fn chain(&self) -> &Arc<dyn ChainApi> {
        &self.chain
    }

    /// `record_backup` as the signer (client).
    pub async fn record_backup(
        &self,
        epoch: u64,
        threshold: u8,
        providers: Vec<(AccountId, u8)>,
        commitment: [u8; 32],
        recovery: Option<&SealedRecovery>,
    ) -> Result<BlockHash, ChainError> {
        let _turn = self.lock.lock().await;
        self.chain
            .record_backup(self.signer.keypair(), epoch, threshold, providers, commitment, recovery)
            .await
    }

    /// `confirm_backup` as the signer (provider).
    pub async fn confirm_backup(
        &self,
        client: &AccountId,
        epoch: u64,
    ) -> Result<BlockHash, ChainError> {
        let _turn = self.lock.lock().await;
        self.chain.confirm_backup(self.signer.keypair(), client, epoch).await
    }

    /// `report_recovered_by_operators` as the signer (a client that opened its store with its
    /// recovery operators' shares of `epoch`).
    pub async fn report_recovered_by_operators(&self, epoch: u64) -> Result<BlockHash, ChainError> {
        let _turn = self.lock.lock().await;
        self.chain.report_recovered_by_operators(self.signer.keypair(), epoch).await
    }

    /// `report_recovery` as the signer (client that recovered).
    pub async fn report_recovery(
        &self,
        provider: &AccountId,
        epoch: u64,
    ) -> Result<BlockHash, ChainError> {
        let _turn = self.lock.lock().await;
        self.chain.report_recovery(self.signer.keypair(), provider, epoch).await
    }
}

impl core::fmt::Debug for TxSubmitter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TxSubmitter").field("signer", &self.signer).finish_non_exhaustive()
    }
}
