//! [`ChainApi`]: everything the TSS node needs from the chain, as a trait so the node's logic can
//! be tested against an in-memory chain. `async-trait` (rather than native `async fn` in traits)
//! because the node holds it as `Arc<dyn ChainApi>`, which native async traits do not allow.

use subxt_signer::sr25519::Keypair;

use crate::error::ChainError;
use crate::types::{
    AccountId, Assignment, AttestationPolicy, BlockHash, RecordedRecovery, RecoveryOperatorSet,
    SealedRecovery, ServerRecord,
};
use peerseal_attestation::PlatformId;

/// Reads and transactions against the peerseal chain. Reads are at the latest finalized block.
/// Transactions are signed mortal, wait (bounded) for finalization, and return the hash of the
/// finalized block that includes them.
#[async_trait::async_trait]
pub trait ChainApi: Send + Sync + 'static {
    /// The registered server whose TSS account is `tss`, if any.
    async fn server_by_tss(&self, tss: &AccountId) -> Result<Option<ServerRecord>, ChainError>;

    /// Every registered server (active and leaving), ordered by TSS account.
    async fn servers(&self) -> Result<Vec<ServerRecord>, ChainError>;

    /// The attestation policy: accepted measurements, PCK mode and dev PCK allow-list.
    async fn attestation_policy(&self) -> Result<AttestationPolicy, ChainError>;

    /// The platform governance approved `tss` to move to (`Registry.ApprovedMoves`), if any:
    /// a provider releases `tss`'s share to a quote from that platform as well as from the
    /// platform of its registered quote.
    async fn approved_move(&self, tss: &AccountId) -> Result<Option<PlatformId>, ChainError>;

    /// `client`'s current backup assignment, if it recorded one.
    async fn assignment(&self, client: &AccountId) -> Result<Option<Assignment>, ChainError>;

    /// Providers `client` may choose at `epoch`, best first (the `BackupApi` runtime API:
    /// active servers in rendezvous order, without `client` and without full providers).
    async fn candidate_providers(
        &self,
        client: &AccountId,
        epoch: u64,
    ) -> Result<Vec<AccountId>, ChainError>;

    /// The recovery operator set (`Backup.RecoveryOperators`), if governance set one: every
    /// backup must then carry the key sealed to it.
    async fn recovery_operators(&self) -> Result<Option<RecoveryOperatorSet>, ChainError>;

    /// `client`'s key shares sealed to the recovery operators (`Backup.RecoveryShares`), as
    /// recorded with its last backup while an operator set existed.
    async fn recorded_recovery(
        &self,
        client: &AccountId,
    ) -> Result<Option<RecordedRecovery>, ChainError>;

    /// `Backup.record_backup`, signed by the client's TSS account, with the key's shares sealed
    /// to the recovery operators (required while the chain has operators set, refused while it
    /// has none).
    async fn record_backup(
        &self,
        signer: &Keypair,
        epoch: u64,
        threshold: u8,
        providers: Vec<(AccountId, u8)>,
        commitment: [u8; 32],
        recovery: Option<&SealedRecovery>,
    ) -> Result<BlockHash, ChainError>;

    /// `Backup.confirm_backup`, signed by a provider's TSS account.
    async fn confirm_backup(
        &self,
        signer: &Keypair,
        client: &AccountId,
        epoch: u64,
    ) -> Result<BlockHash, ChainError>;

    /// `Backup.report_recovered_by_operators`, signed by a client that opened its store with
    /// its recovery operators' shares of `epoch` (the epoch of its recorded shares).
    async fn report_recovered_by_operators(
        &self,
        signer: &Keypair,
        epoch: u64,
    ) -> Result<BlockHash, ChainError>;

    /// `Backup.report_recovery`, signed by the recovering client's TSS account.
    async fn report_recovery(
        &self,
        signer: &Keypair,
        provider: &AccountId,
        epoch: u64,
    ) -> Result<BlockHash, ChainError>;
}
