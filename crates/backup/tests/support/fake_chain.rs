//! An in-memory `ChainApi` for tests of `Provider::handle` that need no chain process: a
//! registry of dev servers, a policy, and a switch that makes every call fail.

use async_trait::async_trait;
use peerseal_chain::{
    AccountId, Assignment, AttestationPolicy, BlockHash, ChainApi, ChainError, ServerRecord,
    ServerState,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub struct FakeChain {
    /// Governance-approved moves (TSS account, platform), as a test sets them.
    pub moves: Mutex<Vec<(AccountId, peerseal_attestation::PlatformId)>>,
    pub servers: Mutex<Vec<ServerRecord>>,
    pub policy: Mutex<AttestationPolicy>,
    pub down: AtomicBool,
    /// Recorded backups, as a test sets them.
    pub assignments: Mutex<Vec<Assignment>>,
    /// Recorded recovery shares (client, record), as a test sets them.
    pub recorded: Mutex<Vec<(AccountId, peerseal_chain::RecordedRecovery)>>,
    assigned_to: Mutex<Vec<AccountId>>,
}

impl FakeChain {
    /// Alice..Dave registered as in the dev genesis, the dev attestation policy.
    pub fn dev() -> FakeChain {
        let servers = peerseal_devkeys::dev_servers()
            .into_iter()
            .map(|id| ServerRecord {
                stash: AccountId(id.stash_account),
                tss_account: AccountId(id.tss_account),
                x25519_public_key: id.x25519_public,
                peer_id: id.peer_id.clone(),
                multiaddrs: vec![],
                quote: peerseal_devkeys::dev_registration_quote(&id),
                status: ServerState::Active,
            })
            .collect();
        FakeChain {
            moves: Mutex::new(Vec::new()),
            servers: Mutex::new(servers),
            policy: Mutex::new(AttestationPolicy {
                accepted_measurements: vec![peerseal_attestation::mock_measurement()],
                pck_mode: peerseal_attestation::PckMode::Dev,
                allowed_mock_pcks: vec![peerseal_attestation::dev_mock_pck()],
            }),
            down: AtomicBool::new(false),
            assignments: Mutex::new(Vec::new()),
            recorded: Mutex::new(Vec::new()),
            assigned_to: Mutex::new(Vec::new()),
        }
    }

    /// Records `client`'s backup at `epoch` with `providers` (share index 1, 2, ...).
    pub fn record(&self, client: AccountId, epoch: u64, providers: &[AccountId]) {
        let assignment = Assignment {
            epoch,
            threshold: 1,
            providers: providers.iter().zip(1u8..).map(|(p, i)| (*p, i)).collect(),
            commitment: [0; 32],
            stale: false,
        };
        let mut clients = self.assigned_to.lock().unwrap();
        let mut all = self.assignments.lock().unwrap();
        match clients.iter().position(|c| *c == client) {
            Some(i) => all[i] = assignment,
            None => {
                clients.push(client);
                all.push(assignment);
            }
        }
    }

    fn check(&self) -> Result<(), ChainError> {
        if self.down.load(Ordering::Relaxed) {
            Err(ChainError::Rpc("fake chain is down".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl ChainApi for FakeChain {
    async fn server_by_tss(&self, tss: &AccountId) -> Result<Option<ServerRecord>, ChainError> {
        self.check()?;
        Ok(self.servers.lock().unwrap().iter().find(|s| &s.tss_account == tss).cloned())
    }
    async fn servers(&self) -> Result<Vec<ServerRecord>, ChainError> {
        self.check()?;
        Ok(self.servers.lock().unwrap().clone())
    }
    async fn attestation_policy(&self) -> Result<AttestationPolicy, ChainError> {
        self.check()?;
        Ok(self.policy.lock().unwrap().clone())
    }
    async fn assignment(&self, client: &AccountId) -> Result<Option<Assignment>, ChainError> {
        self.check()?;
        let clients = self.assigned_to.lock().unwrap();
        let i = clients.iter().position(|c| c == client);
        Ok(i.map(|i| self.assignments.lock().unwrap()[i].clone()))
    }
    async fn candidate_providers(
        &self,
        _client: &AccountId,
        _epoch: u64,
    ) -> Result<Vec<AccountId>, ChainError> {
        self.check()?;
        Ok(vec![])
    }
    async fn record_backup(
        &self,
        _signer: &subxt_signer::sr25519::Keypair,
        _epoch: u64,
        _threshold: u8,
        _providers: Vec<(AccountId, u8)>,
        _commitment: [u8; 32],
        _recovery: Option<&peerseal_chain::SealedRecovery>,
    ) -> Result<BlockHash, ChainError> {
        Err(ChainError::Rpc("fake chain takes no transactions".into()))
    }
    async fn recovery_operators(
        &self,
    ) -> Result<Option<peerseal_chain::RecoveryOperatorSet>, ChainError> {
        self.check()?;
        Ok(None)
    }
    async fn recorded_recovery(
        &self,
        client: &AccountId,
    ) -> Result<Option<peerseal_chain::RecordedRecovery>, ChainError> {
        self.check()?;
        let recorded = self.recorded.lock().unwrap();
        Ok(recorded.iter().find(|(c, _)| c == client).map(|(_, r)| r.clone()))
    }
    async fn report_recovered_by_operators(
        &self,
        _signer: &subxt_signer::sr25519::Keypair,
        _epoch: u64,
    ) -> Result<BlockHash, ChainError> {
        Err(ChainError::Rpc("fake chain takes no transactions".into()))
    }
    async fn confirm_backup(
        &self,
        _signer: &subxt_signer::sr25519::Keypair,
        _client: &AccountId,
        _epoch: u64,
    ) -> Result<BlockHash, ChainError> {
        Err(ChainError::Rpc("fake chain takes no transactions".into()))
    }
    async fn report_recovery(
        &self,
        _signer: &subxt_signer::sr25519::Keypair,
        _provider: &AccountId,
        _epoch: u64,
    ) -> Result<BlockHash, ChainError> {
        Err(ChainError::Rpc("fake chain takes no transactions".into()))
    }
    async fn approved_move(
        &self,
        tss: &AccountId,
    ) -> Result<Option<peerseal_attestation::PlatformId>, ChainError> {
        self.check()?;
        Ok(self.moves.lock().unwrap().iter().find(|(a, _)| a == tss).map(|(_, p)| *p))
    }
}
