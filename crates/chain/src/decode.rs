//! SCALE decoding of peerseal storage values, runtime-API results and events into this crate's
//! types. The layouts mirror the pallets' types field by field (so the TSS node needs no FRAME
//! crate); every decode is strict (no bytes left over) and bounded in input size.

use codec::{Decode, DecodeAll, Encode};

use crate::error::ChainError;
use crate::types::{AccountId, Assignment, ChainEvent, ServerRecord, ServerState};

/// Largest storage value read (a server record: a quote ≤ 16 KiB plus small fields).
pub(crate) const MAX_VALUE_LEN: usize = 64 * 1024;
/// Largest event payload decoded (a provider's client list is ≤ a few thousand accounts).
pub(crate) const MAX_EVENT_LEN: usize = 512 * 1024;

/// Strict SCALE decode of `bytes` (at most `max` long) as `T`; `what` names it in errors.
pub(crate) fn strict<T: Decode>(bytes: &[u8], max: usize, what: &str) -> Result<T, ChainError> {
    if bytes.len() > max {
        return Err(ChainError::Decode(format!(
            "{what}: {} bytes exceed the bound {max}",
            bytes.len()
        )));
    }
    T::decode_all(&mut &bytes[..]).map_err(|e| ChainError::Decode(format!("{what}: {e}")))
}

/// `pallet_registry::ServerInfo<AccountId32>` as stored in `Registry.Servers`.
#[derive(Encode, Decode)]
pub(crate) struct ServerInfo {
    pub tss_account: AccountId,
    pub x25519_public_key: [u8; 32],
    pub peer_id: Vec<u8>,
    pub multiaddrs: Vec<Vec<u8>>,
    pub quote: Vec<u8>,
}

impl ServerInfo {
    pub(crate) fn into_record(self, stash: AccountId, status: ServerState) -> ServerRecord {
        ServerRecord {
            stash,
            tss_account: self.tss_account,
            x25519_public_key: self.x25519_public_key,
            peer_id: self.peer_id,
            multiaddrs: self.multiaddrs,
            quote: self.quote,
            status,
        }
    }
}

/// `peerseal_primitives::ServerStatus` as stored in `Registry.ServerStatusOf`.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Status {
    Active,
    Leaving,
}

impl From<Status> for ServerState {
    fn from(status: Status) -> Self {
        match status {
            Status::Active => ServerState::Active,
            Status::Leaving => ServerState::Leaving,
        }
    }
}

/// `pallet_backup::Assignment` as stored in `Backup.Assignments`.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub(crate) struct StoredAssignment {
    pub epoch: u64,
    pub threshold: u8,
    pub providers: Vec<(AccountId, u8)>,
    pub commitment: [u8; 32],
    pub recorded_at: u32,
    pub stale: bool,
}

impl From<StoredAssignment> for Assignment {
    fn from(a: StoredAssignment) -> Self {
        Assignment {
            epoch: a.epoch,
            threshold: a.threshold,
            providers: a.providers,
            commitment: a.commitment,
            stale: a.stale,
        }
    }
}

// Event field layouts. Fields the TSS node does not use are decoded anyway, so a change of an
// event's shape is a decode error rather than silently misread data.

#[derive(Encode, Decode)]
struct ServerRegistered {
    stash: AccountId,
    tss_account: AccountId,
    _measurement: [u8; 32],
}

#[derive(Encode, Decode)]
struct ServerLeaving {
    stash: AccountId,
    tss_account: AccountId,
    _removable_at: u32,
}

#[derive(Encode, Decode)]
enum RemovalReason {
    Left,
    Governance,
}

#[derive(Encode, Decode)]
struct ServerRemoved {
    stash: AccountId,
    tss_account: AccountId,
    _reason: RemovalReason,
}

#[derive(Encode, Decode)]
struct BackupRecorded {
    client: AccountId,
    epoch: u64,
    _threshold: u8,
    _providers: Vec<(AccountId, u8)>,
    _commitment: [u8; 32],
}

#[derive(Encode, Decode)]
struct ClientProviderEpoch {
    client: AccountId,
    provider: AccountId,
    epoch: u64,
}

#[derive(Encode, Decode)]
struct RecoveredByOperators {
    client: AccountId,
    epoch: u64,
    operator_set: u32,
}

#[derive(Encode, Decode)]
struct ProviderClients {
    provider: AccountId,
    clients: Vec<AccountId>,
}

/// Decodes one event's fields if it is a peerseal event the TSS node follows; `Ok(None)` for
/// every other event.
pub(crate) fn event(
    pallet: &str,
    name: &str,
    fields: &[u8],
) -> Result<Option<ChainEvent>, ChainError> {
    let what = format!("{pallet}.{name} event");
    let event = match (pallet, name) {
        ("Registry", "ServerRegistered") => {
            let e: ServerRegistered = strict(fields, MAX_EVENT_LEN, &what)?;
            ChainEvent::ServerRegistered { stash: e.stash, tss_account: e.tss_account }
        }
        ("Registry", "ServerLeaving") => {
            let e: ServerLeaving = strict(fields, MAX_EVENT_LEN, &what)?;
            ChainEvent::ServerLeaving { stash: e.stash, tss_account: e.tss_account }
        }
        ("Registry", "ServerRemoved") => {
            let e: ServerRemoved = strict(fields, MAX_EVENT_LEN, &what)?;
            ChainEvent::ServerRemoved { stash: e.stash, tss_account: e.tss_account }
        }
        ("Backup", "BackupRecorded") => {
            let e: BackupRecorded = strict(fields, MAX_EVENT_LEN, &what)?;
            ChainEvent::BackupRecorded { client: e.client, epoch: e.epoch }
        }
        ("Backup", "BackupConfirmed") => {
            let e: ClientProviderEpoch = strict(fields, MAX_EVENT_LEN, &what)?;
            ChainEvent::BackupConfirmed { client: e.client, provider: e.provider, epoch: e.epoch }
        }
        ("Backup", "KeyRecovered") => {
            let e: ClientProviderEpoch = strict(fields, MAX_EVENT_LEN, &what)?;
            ChainEvent::KeyRecovered { client: e.client, provider: e.provider, epoch: e.epoch }
        }
        ("Backup", "RecoveredByOperators") => {
            let e: RecoveredByOperators = strict(fields, MAX_EVENT_LEN, &what)?;
            ChainEvent::RecoveredByOperators {
                client: e.client,
                epoch: e.epoch,
                operator_set: e.operator_set,
            }
        }
        ("Backup", "ProviderLeaving") => {
            let e: ProviderClients = strict(fields, MAX_EVENT_LEN, &what)?;
            ChainEvent::ProviderLeaving { provider: e.provider, clients: e.clients }
        }
        ("Backup", "ProviderLeft") => {
            let e: ProviderClients = strict(fields, MAX_EVENT_LEN, &what)?;
            ChainEvent::ProviderLeft { provider: e.provider, clients: e.clients }
        }
        _ => return Ok(None),
    };
    Ok(Some(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(n: u8) -> AccountId {
        AccountId([n; 32])
    }

    #[test]
    fn provider_left_decodes_with_its_clients() {
        let bytes = ProviderClients { provider: acct(1), clients: vec![acct(2), acct(3)] }.encode();
        let event = event("Backup", "ProviderLeft", &bytes).unwrap();
        assert_eq!(
            event,
            Some(ChainEvent::ProviderLeft { provider: acct(1), clients: vec![acct(2), acct(3)] })
        );
    }

    #[test]
    fn every_followed_event_decodes() {
        let cpe = ClientProviderEpoch { client: acct(1), provider: acct(2), epoch: 7 }.encode();
        assert_eq!(
            event("Backup", "BackupConfirmed", &cpe).unwrap(),
            Some(ChainEvent::BackupConfirmed { client: acct(1), provider: acct(2), epoch: 7 })
        );
        assert_eq!(
            event("Backup", "KeyRecovered", &cpe).unwrap(),
            Some(ChainEvent::KeyRecovered { client: acct(1), provider: acct(2), epoch: 7 })
        );
        let cold = RecoveredByOperators { client: acct(3), epoch: 8, operator_set: 2 }.encode();
        assert_eq!(
            event("Backup", "RecoveredByOperators", &cold).unwrap(),
            Some(ChainEvent::RecoveredByOperators { client: acct(3), epoch: 8, operator_set: 2 })
        );
        let recorded = BackupRecorded {
            client: acct(4),
            epoch: 9,
            _threshold: 1,
            _providers: vec![(acct(5), 1)],
            _commitment: [0; 32],
        }
        .encode();
        assert_eq!(
            event("Backup", "BackupRecorded", &recorded).unwrap(),
            Some(ChainEvent::BackupRecorded { client: acct(4), epoch: 9 })
        );
        let removed = ServerRemoved {
            stash: acct(6),
            tss_account: acct(7),
            _reason: RemovalReason::Governance,
        }
        .encode();
        assert_eq!(
            event("Registry", "ServerRemoved", &removed).unwrap(),
            Some(ChainEvent::ServerRemoved { stash: acct(6), tss_account: acct(7) })
        );
        let leaving =
            ServerLeaving { stash: acct(6), tss_account: acct(7), _removable_at: 3 }.encode();
        assert_eq!(
            event("Registry", "ServerLeaving", &leaving).unwrap(),
            Some(ChainEvent::ServerLeaving { stash: acct(6), tss_account: acct(7) })
        );
        let registered =
            ServerRegistered { stash: acct(6), tss_account: acct(7), _measurement: [1; 32] }
                .encode();
        assert_eq!(
            event("Registry", "ServerRegistered", &registered).unwrap(),
            Some(ChainEvent::ServerRegistered { stash: acct(6), tss_account: acct(7) })
        );
        let pl = ProviderClients { provider: acct(1), clients: vec![] }.encode();
        assert_eq!(
            event("Backup", "ProviderLeaving", &pl).unwrap(),
            Some(ChainEvent::ProviderLeaving { provider: acct(1), clients: vec![] })
        );
    }

    #[test]
    fn other_events_are_ignored_and_bad_shapes_rejected() {
        assert_eq!(event("Balances", "Transfer", &[1, 2, 3]).unwrap(), None);
        // Truncated, and with trailing bytes: both are decode errors, not misread data.
        let mut bytes =
            ClientProviderEpoch { client: acct(1), provider: acct(2), epoch: 7 }.encode();
        assert!(matches!(
            event("Backup", "BackupConfirmed", &bytes[..bytes.len() - 1]),
            Err(ChainError::Decode(_))
        ));
        bytes.push(0);
        assert!(matches!(event("Backup", "BackupConfirmed", &bytes), Err(ChainError::Decode(_))));
    }

    #[test]
    fn oversized_input_is_refused_before_decoding() {
        let huge = vec![0u8; MAX_VALUE_LEN + 1];
        assert!(matches!(strict::<Vec<u8>>(&huge, MAX_VALUE_LEN, "x"), Err(ChainError::Decode(_))));
        // A length prefix claiming more elements than there are bytes fails cleanly.
        let lying = codec::Compact(u32::MAX).encode();
        assert!(strict::<Vec<AccountId>>(&lying, MAX_VALUE_LEN, "x").is_err());
    }

    #[test]
    fn server_info_round_trips_and_key_yields_the_account() {
        let info = ServerInfo {
            tss_account: acct(1),
            x25519_public_key: [2; 32],
            peer_id: vec![0, 36, 8, 1],
            multiaddrs: vec![vec![4, 127, 0, 0, 1]],
            quote: vec![9; 100],
        };
        let decoded: ServerInfo = strict(&info.encode(), MAX_VALUE_LEN, "server").unwrap();
        let record = decoded.into_record(acct(3), ServerState::Leaving);
        assert_eq!(record.tss_account, acct(1));
        assert_eq!(record.multiaddrs, vec![vec![4, 127, 0, 0, 1]]);
        assert_eq!(record.status, ServerState::Leaving);
    }
}
