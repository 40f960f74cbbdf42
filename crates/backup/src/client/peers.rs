//! How to reach a registered server: its chain record turned into what libp2p dials.
//!
//! The chain publishes, per TSS server, its libp2p peer id, binary multiaddrs and x25519 key.
//! A client dials by peer id with those addresses, so noise proves the remote holds the peer
//! id's key: the provider is authenticated by chain data alone. Records whose peer id or
//! addresses do not parse are skipped (and logged), never trusted partially.

use libp2p::{Multiaddr, PeerId};
use peerseal_chain::{ServerRecord, ServerState};
use peerseal_protocol::{AccountId, X25519Public};
use std::collections::HashMap;

/// A registered server as a dialable provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The server's TSS account (signs receipts and returned shares).
    pub account: AccountId,
    /// Its libp2p peer id.
    pub peer_id: PeerId,
    /// Its addresses.
    pub addrs: Vec<Multiaddr>,
    /// Its x25519 key (shares are sealed to it).
    pub x25519: X25519Public,
    /// Whether it has started to leave.
    pub leaving: bool,
}

/// A chain record that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The peer id bytes are not a libp2p peer id.
    #[error("peer id does not parse")]
    BadPeerId,
    /// No address parses.
    #[error("no usable multiaddr")]
    NoAddress,
}

impl TryFrom<&ServerRecord> for Endpoint {
    type Error = EndpointError;

    fn try_from(record: &ServerRecord) -> Result<Self, EndpointError> {
        let peer_id = PeerId::from_bytes(&record.peer_id).map_err(|_| EndpointError::BadPeerId)?;
        let addrs: Vec<Multiaddr> = record
            .multiaddrs
            .iter()
            .filter_map(|bytes| Multiaddr::try_from(bytes.clone()).ok())
            .collect();
        if addrs.is_empty() {
            return Err(EndpointError::NoAddress);
        }
        Ok(Endpoint {
            account: record.tss_account,
            peer_id,
            addrs,
            x25519: X25519Public(record.x25519_public_key),
            leaving: record.status == ServerState::Leaving,
        })
    }
}

/// Endpoints of every usable record, by TSS account.
pub fn endpoints(records: &[ServerRecord]) -> HashMap<AccountId, Endpoint> {
    let mut out = HashMap::with_capacity(records.len());
    for record in records {
        match Endpoint::try_from(record) {
            Ok(endpoint) => {
                out.insert(endpoint.account, endpoint);
            }
            Err(error) => tracing::warn!(
                account = ?record.tss_account,
                %error,
                "skipping a registered server that cannot be dialled"
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(peer_id: Vec<u8>, addrs: Vec<Vec<u8>>) -> ServerRecord {
        ServerRecord {
            stash: AccountId([1; 32]),
            tss_account: AccountId([2; 32]),
            x25519_public_key: [3; 32],
            peer_id,
            multiaddrs: addrs,
            quote: vec![],
            status: ServerState::Active,
        }
    }

    #[test]
    fn dev_records_parse_and_garbage_is_refused() {
        let id = peerseal_devkeys::dev_identity("alice").unwrap();
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/30401".parse().unwrap();
        let ok = Endpoint::try_from(&record(id.peer_id.clone(), vec![addr.to_vec()])).unwrap();
        assert_eq!(ok.peer_id.to_bytes(), id.peer_id);
        assert_eq!(ok.addrs, vec![addr.clone()]);
        assert_eq!(
            Endpoint::try_from(&record(vec![1, 2, 3], vec![addr.to_vec()])),
            Err(EndpointError::BadPeerId)
        );
        assert_eq!(
            Endpoint::try_from(&record(id.peer_id.clone(), vec![vec![0xff; 4]])),
            Err(EndpointError::NoAddress)
        );
        assert_eq!(endpoints(&[record(vec![9], vec![])]).len(), 0);
    }
}
