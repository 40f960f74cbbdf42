//! The verified local view: registry entries, server status, every registered server's backup
//! assignment and the attestation policy at the last final header, served from memory. Each
//! update proves the registry's and the backup pallet's `Revision` and the policy (one read
//! proof of five small values); the server list is re-read (the index, then every server's entry
//! and status) only when the registry revision moved, and the assignments (one proof over every
//! registered server) only when either revision moved, so a block that changes neither costs the
//! same whatever the number of servers. The provider's per-request checks (registration, the
//! client's recorded epoch) and the client's provider choice read it without a chain round trip.
//! It is at most one final block behind the verifier, and the verifier refuses to serve it once
//! no block was verified for [`super::MAX_VIEW_AGE`] (a host that withholds blocks cannot keep
//! the node on an old registry for long).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use peerseal_attestation::PckMode;
use subxt::ext::jsonrpsee::ws_client::WsClient;

use super::headers::FinalHead;
use super::trust::FinalitySource;
use super::{keys, proof, rpc};
use crate::decode::{self, ServerInfo, Status, StoredAssignment, MAX_VALUE_LEN};
use crate::error::ChainError;
use crate::types::{AccountId, Assignment, AttestationPolicy, ServerRecord, ServerState};

/// Most entries of the registry's server index read (the runtime's `MaxServers` is lower).
pub(crate) const MAX_SERVERS: usize = 4096;
/// Largest value of the server index (4096 pairs of accounts).
const MAX_INDEX_LEN: usize = 8 + MAX_SERVERS * 64;

/// Most keys asked for in one read proof. Endpoints bound a proof request (the dev node takes
/// at most 1,024 keys, full nodes bound the response size), and a full registry needs two keys
/// per server, so longer lists are read as several proofs at the same block.
pub(crate) const KEYS_PER_PROOF: usize = 512;

/// Reads the values of `keys` at `head`, with one read proof per [`KEYS_PER_PROOF`] keys (none
/// for no keys); in the dev-only endpoint-finality mode, on the endpoint's word instead
/// ([`FinalitySource::trusts_endpoint`]).
pub(crate) async fn proven(
    rpc: &WsClient,
    finality: FinalitySource,
    head: &FinalHead,
    keys: &[Vec<u8>],
) -> Result<Vec<Option<Vec<u8>>>, ChainError> {
    let mut values = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS_PER_PROOF) {
        #[cfg(feature = "insecure-endpoint-finality")]
        if finality.trusts_endpoint() {
            values.extend(rpc::storage_unproven(rpc, chunk, head.hash).await?);
            continue;
        }
        // Only the dev-only mode above reads it.
        let _ = finality;
        let nodes = rpc::read_proof(rpc, chunk, head.hash).await?;
        values.extend(
            proof::check_read_proof(head.state_root, nodes, chunk).map_err(ChainError::Proof)?,
        );
    }
    Ok(values)
}

/// What the verifier knows at one final block.
#[derive(Clone, Debug)]
pub struct VerifiedView {
    /// The final block the view was read at.
    pub head: FinalHead,
    /// Every registered server, ordered by TSS account.
    pub servers: Vec<ServerRecord>,
    /// Index of `servers` by TSS account.
    by_tss: HashMap<AccountId, usize>,
    /// `Registry.Revision` the server list was read at.
    pub revision: u64,
    /// `Backup.Revision` the assignments were read at.
    pub backup_revision: u64,
    /// The recorded assignment of every server in `servers` that has one (shared between
    /// views while neither revision moves).
    assignments: Arc<HashMap<AccountId, Assignment>>,
    /// The attestation policy.
    pub policy: AttestationPolicy,
    /// When the view was verified (local monotonic clock).
    pub verified_at: Instant,
}

impl VerifiedView {
    /// The registered server with TSS account `tss`.
    pub fn server(&self, tss: &AccountId) -> Option<&ServerRecord> {
        self.by_tss.get(tss).and_then(|&i| self.servers.get(i))
    }

    /// The recorded backup assignment of `tss`, if `tss` is a registered server (`Some(None)`:
    /// registered, no assignment recorded). `None` means the view does not cover `tss`: it is
    /// not registered at this block, and a caller that needs its assignment (a removed server's
    /// is deleted, so it should be absent) must read it with a proof.
    pub fn assignment(&self, tss: &AccountId) -> Option<Option<&Assignment>> {
        self.by_tss.contains_key(tss).then(|| self.assignments.get(tss))
    }

    /// Reads the view at `head`: one read proof, plus two when the server list changed since
    /// `previous`, plus one when it or any assignment did (each of those split in proofs of at
    /// most [`KEYS_PER_PROOF`] keys).
    pub(crate) async fn load(
        rpc: &WsClient,
        finality: FinalitySource,
        head: FinalHead,
        previous: Option<&VerifiedView>,
    ) -> Result<Self, ChainError> {
        let first = [
            keys::value("Registry", "Revision"),
            keys::value("Attestation", "AcceptedMeasurements"),
            keys::value("Attestation", "PckPolicyMode"),
            keys::value("Attestation", "AllowedMockPcks"),
            keys::value("Backup", "Revision"),
        ];
        let [revision, measurements, mode, pcks, backup_revision] =
            <[Option<Vec<u8>>; 5]>::try_from(proven(rpc, finality, &head, &first).await?)
                .map_err(|_| ChainError::Decode("read proof answer shape".into()))?;
        // Both are `ValueQuery` counters: absent means never bumped.
        let revision: u64 = match revision {
            Some(bytes) => decode::strict(&bytes, 8, "Registry.Revision")?,
            None => 0,
        };
        let backup_revision: u64 = match backup_revision {
            Some(bytes) => decode::strict(&bytes, 8, "Backup.Revision")?,
            None => 0,
        };
        let policy = AttestationPolicy {
            accepted_measurements: match measurements {
                Some(b) => decode::strict(&b, MAX_VALUE_LEN, "Attestation.AcceptedMeasurements")?,
                None => Vec::new(),
            },
            // `ValueQuery` with the pallet's default: absent means the safe mode.
            pck_mode: match mode {
                Some(b) => decode::strict(&b, MAX_VALUE_LEN, "Attestation.PckPolicyMode")?,
                None => PckMode::Production,
            },
            allowed_mock_pcks: match pcks {
                Some(b) => decode::strict(&b, MAX_VALUE_LEN, "Attestation.AllowedMockPcks")?,
                None => Vec::new(),
            },
        };

        let unchanged = previous.filter(|p| p.revision == revision);
        let servers = match unchanged {
            Some(previous) => previous.servers.clone(),
            None => servers(rpc, finality, &head).await?,
        };
        let assignments = match unchanged.filter(|p| p.backup_revision == backup_revision) {
            Some(previous) => previous.assignments.clone(),
            None => Arc::new(assignments(rpc, finality, &head, &servers).await?),
        };
        let by_tss = servers.iter().enumerate().map(|(i, s)| (s.tss_account, i)).collect();
        Ok(VerifiedView {
            head,
            servers,
            by_tss,
            revision,
            backup_revision,
            assignments,
            policy,
            verified_at: Instant::now(),
        })
    }
}

/// The recorded assignment of each of `servers` at `head` that has one, with one read proof.
async fn assignments(
    rpc: &WsClient,
    finality: FinalitySource,
    head: &FinalHead,
    servers: &[ServerRecord],
) -> Result<HashMap<AccountId, Assignment>, ChainError> {
    let keys: Vec<Vec<u8>> =
        servers.iter().map(|s| keys::by_account("Backup", "Assignments", &s.tss_account)).collect();
    let values = proven(rpc, finality, head, &keys).await?;
    let mut assignments = HashMap::new();
    for (server, value) in servers.iter().zip(values) {
        if let Some(bytes) = value {
            let stored: StoredAssignment =
                decode::strict(&bytes, MAX_VALUE_LEN, "Backup.Assignments")?;
            assignments.insert(server.tss_account, stored.into());
        }
    }
    Ok(assignments)
}

/// Every registered server at `head`, ordered by TSS account: the proven index, then each
/// server's entry and status.
async fn servers(
    rpc: &WsClient,
    finality: FinalitySource,
    head: &FinalHead,
) -> Result<Vec<ServerRecord>, ChainError> {
    let key = keys::value("Registry", "ServerIndex");
    let index: Vec<(AccountId, AccountId)> =
        match proven(rpc, finality, head, std::slice::from_ref(&key))
            .await?
            .into_iter()
            .next()
            .flatten()
        {
            Some(bytes) => decode::strict(&bytes, MAX_INDEX_LEN, "Registry.ServerIndex")?,
            None => Vec::new(),
        };
    if index.len() > MAX_SERVERS {
        return Err(ChainError::Decode(format!("more than {MAX_SERVERS} servers")));
    }
    let mut keys = Vec::with_capacity(index.len() * 2);
    for (stash, tss) in &index {
        keys.push(keys::by_account("Registry", "Servers", stash));
        keys.push(keys::by_account("Registry", "ServerStatusOf", tss));
    }
    let values = proven(rpc, finality, head, &keys).await?;
    let mut servers = Vec::with_capacity(index.len());
    for ((stash, tss), entry) in index.iter().zip(values.chunks_exact(2)) {
        let [info, status] = entry else {
            return Err(ChainError::Decode("read proof answer shape".into()));
        };
        let info: ServerInfo = decode::strict(
            info.as_deref()
                .ok_or_else(|| ChainError::Decode("indexed server without an entry".into()))?,
            MAX_VALUE_LEN,
            "Registry.Servers",
        )?;
        if info.tss_account != *tss {
            return Err(ChainError::Decode("server index names another TSS account".into()));
        }
        let status: Status = decode::strict(
            status
                .as_deref()
                .ok_or_else(|| ChainError::Decode("registered server without a status".into()))?,
            MAX_VALUE_LEN,
            "Registry.ServerStatusOf",
        )?;
        servers.push(info.into_record(*stash, ServerState::from(status)));
    }
    servers.sort_by_key(|s| s.tss_account);
    Ok(servers)
}
