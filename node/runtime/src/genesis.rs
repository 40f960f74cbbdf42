//! Genesis presets: the dev chain's starting state.
//!
//! The `development` preset ([`DEV_RUNTIME_PRESET`]) funds the dev stash accounts Alice..Ferdie,
//! makes Alice the sudo key and `//Alice`'s ed25519 key the only GRANDPA authority
//! ([`dev_grandpa_authorities`]), accepts the mock TDX measurement and the mock PCK derived from
//! `DEV_MOCK_PCK_SEED` in `PckMode::Dev`, and pre-registers Alice..Dave as TSS servers with the
//! identities of `peerseal-devkeys`, so a dev chain and dev TSS nodes agree from block 0 without a
//! registration step (their mock quotes bind each server to its dev stash, like a registration
//! quote, over the zero nonce). It is deterministic: the same bytes on every call and every
//! machine.
//!
//! TSS accounts (`//Alice//tss`, ...) are not funded: the registry gives each registered TSS
//! account a sufficient reference, which is all `CheckNonce` needs, and their backup calls are
//! feeless.
//!
//! Server addresses are stored as **binary multiaddrs** (the byte form libp2p's
//! `Multiaddr::try_from(Vec<u8>)` reads), here `/ip4/127.0.0.1/tcp/<p2p_port>/p2p/<peer id>`; see
//! [`loopback_multiaddr`].
//!
//! The `local_testnet` preset ([`LOCAL_TESTNET_RUNTIME_PRESET`]) starts a network the way a
//! production one starts: three distinct GRANDPA authorities (the ed25519 keys of `//Alice`,
//! `//Bob` and `//Charlie`), the production PCK mode (Intel's certificate chain required), no
//! accepted measurement and no mock PCK (governance accepts the image it deploys), and no
//! pre-registered server (each registers with a real quote). Only its keys are the well-known dev
//! ones: sudo is Alice, and the dev stashes are funded.
//!
//! The presets exist only with the `dev` feature (dev keys are derived, and mock quotes signed,
//! natively; the development policy is the dev PCK mode, which only a dev runtime has); a build
//! without it, such as the wasm runtime for chain specs, lists none.

use alloc::vec::Vec;
use sp_genesis_builder::PresetId;

pub use sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};

/// Multiaddr protocol code of `/ip4`.
const MULTIADDR_IP4: u64 = 0x04;
/// Multiaddr protocol code of `/tcp`.
const MULTIADDR_TCP: u64 = 0x06;
/// Multiaddr protocol code of `/p2p`.
const MULTIADDR_P2P: u64 = 0x01a5;

/// The binary multiaddr `/ip4/127.0.0.1/tcp/<port>/p2p/<peer_id>`.
///
/// Layout: each protocol is its code as an unsigned LEB128 varint followed by its value: four
/// address bytes for `ip4`, the port big-endian for `tcp`, and for `p2p` the peer id bytes
/// prefixed with their varint length.
pub fn loopback_multiaddr(port: u16, peer_id: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + peer_id.len());
    push_varint(&mut out, MULTIADDR_IP4);
    out.extend_from_slice(&[127, 0, 0, 1]);
    push_varint(&mut out, MULTIADDR_TCP);
    out.extend_from_slice(&port.to_be_bytes());
    push_varint(&mut out, MULTIADDR_P2P);
    // usize → u64 never truncates on the targets Substrate supports (32 and 64 bit).
    push_varint(&mut out, peer_id.len() as u64);
    out.extend_from_slice(peer_id);
    out
}

/// Unsigned LEB128, as multiformats' `unsigned-varint` encodes.
fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// The presets this build offers.
pub fn preset_names() -> Vec<PresetId> {
    #[cfg(feature = "dev")]
    {
        alloc::vec![
            PresetId::from(DEV_RUNTIME_PRESET),
            PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET)
        ]
    }
    #[cfg(not(feature = "dev"))]
    {
        Vec::new()
    }
}

/// The JSON of preset `id`, or `None` if there is no such preset (or, which cannot happen with
/// the fixed dev identities, building it failed).
pub fn preset(id: &PresetId) -> Option<Vec<u8>> {
    #[cfg(feature = "dev")]
    if id.as_str() == DEV_RUNTIME_PRESET {
        return dev::dev_genesis_json().ok();
    }
    #[cfg(feature = "dev")]
    if id.as_str() == LOCAL_TESTNET_RUNTIME_PRESET {
        return dev::local_testnet_genesis_json().ok();
    }
    let _ = id;
    None
}

#[cfg(feature = "dev")]
pub use dev::{
    dev_genesis_config, dev_genesis_json, dev_genesis_storage, dev_grandpa_authorities,
    dev_runtime_genesis_config, local_testnet_genesis_json, local_testnet_grandpa_authorities,
    DevGenesisError, DEV_ACCOUNTS, DEV_ENDOWMENT,
};

#[cfg(feature = "dev")]
mod dev {
    use super::loopback_multiaddr;
    use crate::{
        AccountId, AttestationConfig, Balance, BalancesConfig, GrandpaConfig, RegistryConfig,
        RuntimeGenesisConfig, SudoConfig, UNIT,
    };
    use alloc::{string::String, vec, vec::Vec};
    use pallet_registry::ServerInfo;
    use peerseal_attestation::{mock_measurement, mock_pck_key, PckMode, DEV_MOCK_PCK_SEED};
    use peerseal_devkeys::DevIdentity;

    /// Balance each dev stash account starts with (one million tokens).
    pub const DEV_ENDOWMENT: Balance = 1_000_000 * UNIT;

    /// The dev identities whose stash accounts are funded, in genesis order.
    pub const DEV_ACCOUNTS: [&str; 6] = ["alice", "bob", "charlie", "dave", "eve", "ferdie"];

    /// The dev chain's genesis GRANDPA authority set (set id 0): the ed25519 key of `//Alice`
    /// (`sp_keyring::Ed25519Keyring::Alice`) with weight 1.
    ///
    /// The dev node holds the dev keyring's ed25519 secrets (Alice..Ferdie) and signs every
    /// block's justification with those of the current set, so tests and clients start from
    /// this list as their trust root.
    pub fn dev_grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
        vec![(sp_keyring::Ed25519Keyring::Alice.public().into(), 1)]
    }

    /// Why the dev genesis could not be built (none of these happen with the shipped dev keys).
    #[derive(Debug, thiserror::Error)]
    pub enum DevGenesisError {
        /// `peerseal-devkeys` does not know this dev identity.
        #[error("unknown dev identity {0:?}")]
        UnknownIdentity(&'static str),
        /// A dev server field exceeds the registry's bound.
        #[error("dev server {server:?}: field {field} exceeds its on-chain bound")]
        FieldTooLong {
            /// The dev identity.
            server: &'static str,
            /// The oversized field.
            field: &'static str,
        },
        /// Serializing the genesis config failed.
        #[error("serializing the dev genesis config: {0}")]
        Json(String),
        /// Building genesis storage from the config failed.
        #[error("building the dev genesis storage: {0}")]
        Build(String),
    }

    fn stash_account(id: &DevIdentity) -> AccountId {
        AccountId::from(id.stash_account)
    }

    fn too_long(server: &'static str, field: &'static str) -> DevGenesisError {
        DevGenesisError::FieldTooLong { server, field }
    }

    /// The registry entry of a dev server: its dev keys, its loopback address and its
    /// deterministic registration quote.
    fn server_info(id: &DevIdentity) -> Result<ServerInfo<AccountId>, DevGenesisError> {
        let address = loopback_multiaddr(id.p2p_port, &id.peer_id)
            .try_into()
            .map_err(|_| too_long(id.name, "multiaddr"))?;
        Ok(ServerInfo {
            tss_account: AccountId::from(id.tss_account),
            x25519_public_key: id.x25519_public,
            peer_id: id.peer_id.clone().try_into().map_err(|_| too_long(id.name, "peer_id"))?,
            multiaddrs: vec![address].try_into().map_err(|_| too_long(id.name, "multiaddrs"))?,
            quote: peerseal_devkeys::dev_registration_quote(id)
                .try_into()
                .map_err(|_| too_long(id.name, "quote"))?,
        })
    }

    /// The dev stashes with their endowment, Alice first.
    fn dev_balances() -> Result<Vec<(AccountId, Balance)>, DevGenesisError> {
        let mut balances = Vec::with_capacity(DEV_ACCOUNTS.len());
        for name in DEV_ACCOUNTS {
            let id = peerseal_devkeys::dev_identity(name)
                .ok_or(DevGenesisError::UnknownIdentity(name))?;
            balances.push((stash_account(&id), DEV_ENDOWMENT));
        }
        Ok(balances)
    }

    /// The local testnet's genesis GRANDPA set: `//Alice`, `//Bob` and `//Charlie`'s ed25519
    /// keys, weight 1 each (two of three finalize).
    pub fn local_testnet_grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
        use sp_keyring::Ed25519Keyring::{Alice, Bob, Charlie};
        vec![(Alice.public().into(), 1), (Bob.public().into(), 1), (Charlie.public().into(), 1)]
    }

    /// The `local_testnet` preset (module doc) as JSON.
    pub fn local_testnet_genesis_json() -> Result<Vec<u8>, DevGenesisError> {
        let balances = dev_balances()?;
        let sudo = balances.first().map(|(alice, _)| alice.clone());
        let config = RuntimeGenesisConfig {
            balances: BalancesConfig { balances, ..Default::default() },
            sudo: SudoConfig { key: sudo },
            attestation: AttestationConfig { pck_mode: PckMode::Production, ..Default::default() },
            grandpa: GrandpaConfig {
                authorities: local_testnet_grandpa_authorities(),
                ..Default::default()
            },
            ..Default::default()
        };
        serde_json::to_vec(&config).map_err(|e| DevGenesisError::Json(e.to_string()))
    }

    /// The development genesis as the runtime's config struct.
    pub fn dev_runtime_genesis_config() -> Result<RuntimeGenesisConfig, DevGenesisError> {
        let balances = dev_balances()?;
        let sudo = balances.first().map(|(alice, _)| alice.clone());

        let mut servers = Vec::new();
        for id in peerseal_devkeys::dev_servers() {
            servers.push((stash_account(&id), server_info(&id)?));
        }

        Ok(RuntimeGenesisConfig {
            balances: BalancesConfig { balances, ..Default::default() },
            sudo: SudoConfig { key: sudo },
            attestation: AttestationConfig {
                accepted_measurements: vec![mock_measurement()],
                allowed_mock_pcks: vec![mock_pck_key(&DEV_MOCK_PCK_SEED)],
                pck_mode: PckMode::Dev,
                ..Default::default()
            },
            registry: RegistryConfig { servers },
            grandpa: GrandpaConfig { authorities: dev_grandpa_authorities(), ..Default::default() },
            ..Default::default()
        })
    }

    /// The development genesis as JSON (the full `RuntimeGenesisConfig`, so it works both as a
    /// preset patch and as input to `GenesisBuilder_build_state`).
    pub fn dev_genesis_config() -> Result<serde_json::Value, DevGenesisError> {
        let config = dev_runtime_genesis_config()?;
        serde_json::to_value(&config).map_err(|e| DevGenesisError::Json(e.to_string()))
    }

    /// [`dev_genesis_config`] serialized: the bytes `GenesisBuilder_get_preset` returns.
    pub fn dev_genesis_json() -> Result<Vec<u8>, DevGenesisError> {
        let value = dev_genesis_config()?;
        serde_json::to_vec(&value).map_err(|e| DevGenesisError::Json(e.to_string()))
    }

    /// The genesis storage of the development chain (what `build_state` of the preset writes).
    pub fn dev_genesis_storage() -> Result<sp_core::storage::Storage, DevGenesisError> {
        use sp_runtime::BuildStorage;
        dev_runtime_genesis_config()?.build_storage().map_err(DevGenesisError::Build)
    }
}
