//! The verified local view: registry entries, server status and the attestation policy at the
//! last final header, served from memory. Each update proves the registry's `Revision` and the
//! policy (one read proof of four small values); the server list is re-read (the index, then
//! every server's entry and status) only when the revision moved, so the per-block cost does not
//! grow with the number of servers. The provider's per-request checks and the client's provider choice read it without a
//! chain round trip. It is at most one final block behind the verifier, and the verifier refuses
//! to serve it once no block was verified for [`super::MAX_VIEW_AGE`] (a host that withholds
//! blocks cannot keep the node on an old registry for long).

use std::collections::HashMap;
use std::time::Instant;

use peerseal_attestation::PckMode;
use subxt::ext::jsonrpsee::ws_client::WsClient;

use super::headers::FinalHead;
use super::{keys, proof, rpc};
use crate::decode::{self, ServerInfo, Status, MAX_VALUE_LEN};
use crate::error::ChainError;
use crate::types::{AccountId, AttestationPolicy, ServerRecord, ServerState};

/// Most entries of the registry's server index read (the runtime's `MaxServers` is lower).
pub(crate) const MAX_SERVERS: usize = 4096;
/// Largest value of the server index (4096 pairs of accounts).
const MAX_INDEX_LEN: usize = 8 + MAX_SERVERS * 64;

/// Reads the values of `keys` at `head` with one read proof.
pub(crate) async fn proven(
    rpc: &WsClient,
    head: &FinalHead,
    keys: &[Vec<u8>],
) -> Result<Vec<Option<Vec<u8>>>, ChainError> {
    let nodes = rpc::read_proof(rpc, keys, head.hash).await?;
    proof::check_read_proof(head.state_root, nodes, keys).map_err(ChainError::Proof)
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

    /// Reads the view at `head`: one read proof, plus two when the server list changed since
    /// `previous`.
    pub(crate) async fn load(
        rpc: &WsClient,
        head: FinalHead,
        previous: Option<&VerifiedView>,
    ) -> Result<Self, ChainError> {
        let first = [
            keys::value("Registry", "Revision"),
            keys::value("Attestation", "AcceptedMeasurements"),
            keys::value("Attestation", "PckPolicyMode"),
            keys::value("Attestation", "AllowedMockPcks"),
        ];
        let [revision, measurements, mode, pcks] =
            <[Option<Vec<u8>>; 4]>::try_from(proven(rpc, &head, &first).await?)
                .map_err(|_| ChainError::Decode("read proof answer shape".into()))?;
        let revision: u64 = match revision {
            Some(bytes) => decode::strict(&bytes, 8, "Registry.Revision")?,
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

        let servers = match previous {
            Some(previous) if previous.revision == revision => previous.servers.clone(),
            _ => servers(rpc, &head).await?,
        };
        let by_tss = servers.iter().enumerate().map(|(i, s)| (s.tss_account, i)).collect();
        Ok(VerifiedView { head, servers, by_tss, revision, policy, verified_at: Instant::now() })
    }
}

/// Every registered server at `head`, ordered by TSS account: the proven index, then each
/// server's entry and status.
async fn servers(rpc: &WsClient, head: &FinalHead) -> Result<Vec<ServerRecord>, ChainError> {
    let key = keys::value("Registry", "ServerIndex");
    let index: Vec<(AccountId, AccountId)> =
        match proven(rpc, head, std::slice::from_ref(&key)).await?.into_iter().next().flatten() {
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
    let values = if keys.is_empty() { Vec::new() } else { proven(rpc, head, &keys).await? };
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
