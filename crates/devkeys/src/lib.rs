//! Deterministic identities of the well-known dev accounts (Alice .. Ferdie) as peerseal TSS
//! servers, so that the dev chain's genesis and a dev TSS node agree on every key without a
//! registration step.
//!
//! Each identity has an sr25519 stash (`//Alice`) and TSS account (`//Alice//tss`, the same key
//! `subxt-signer` derives from that URI), an x25519 key and a libp2p ed25519 key derived from
//! domain-separated hashes of the name, the libp2p peer id of that key, a dev port, and a mock
//! registration quote that verifies under a dev policy. Everything here is public knowledge:
//! never use these keys outside dev and test chains.
//!
//! Dependencies: `sp-core` for sr25519 URI derivation and ed25519 (exactly what the chain and
//! `subxt-signer` use), `x25519-dalek` for the x25519 key (what the TSS node uses), `sha2` for
//! the seed hashes, `zeroize` so secrets are wiped on drop, `bs58` for the text form of peer ids,
//! and `peerseal-attestation` for the mock registration quote.

mod peer_id;

pub use peer_id::{ed25519_public, peer_id_from_ed25519, peer_id_to_base58};

use peerseal_attestation::{report_data, Binding, MockQuoteProvider, QuoteContext};
use sha2::{Digest, Sha256};
use sp_core::Pair;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// The dev names, in index order; the first four are pre-registered servers.
const NAMES: [&str; 6] = ["alice", "bob", "charlie", "dave", "eve", "ferdie"];
/// How many of [`NAMES`] are registered TSS servers in the dev genesis.
const DEV_SERVER_COUNT: usize = 4;
/// Dev p2p port of the identity with index 0; the others follow.
pub const BASE_P2P_PORT: u16 = 30401;
/// The nonce bound by dev registration quotes: genesis has no chain-issued nonce.
pub const DEV_REGISTRATION_NONCE: [u8; 32] = [0u8; 32];

/// Domain separators of the two hashed seeds.
const X25519_DOMAIN: &[u8] = b"peerseal/devkeys/x25519/v1";
const LIBP2P_DOMAIN: &[u8] = b"peerseal/devkeys/libp2p-ed25519/v1";

/// One dev identity. Secrets are zeroized on drop and left out of `Debug`.
#[derive(Clone)]
pub struct DevIdentity {
    /// Lower-case name: "alice" ..
    pub name: &'static str,
    /// Secret URI of the validator stash (sr25519), e.g. "//Alice".
    pub stash_uri: String,
    /// Public key (AccountId32 bytes) of the stash.
    pub stash_account: [u8; 32],
    /// Secret URI of the TSS account (sr25519), e.g. "//Alice//tss".
    pub tss_uri: String,
    /// Public key (AccountId32 bytes) of the TSS account.
    pub tss_account: [u8; 32],
    /// x25519 static secret (unclamped bytes, as `x25519_dalek::StaticSecret` takes them).
    pub x25519_secret: Zeroizing<[u8; 32]>,
    /// x25519 public key.
    pub x25519_public: [u8; 32],
    /// libp2p ed25519 secret key (32-byte seed).
    pub libp2p_ed25519_secret: Zeroizing<[u8; 32]>,
    /// libp2p ed25519 public key.
    pub libp2p_public: [u8; 32],
    /// Binary libp2p peer id of the ed25519 key (identity multihash).
    pub peer_id: Vec<u8>,
    /// Default dev p2p port: 30401 + index.
    pub p2p_port: u16,
}

impl DevIdentity {
    /// The peer id in its usual text form (`12D3KooW...`).
    pub fn peer_id_base58(&self) -> String {
        peer_id_to_base58(&self.peer_id)
    }
}

impl core::fmt::Debug for DevIdentity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The URIs are secrets too (they derive the sr25519 keys), so only public parts appear.
        f.debug_struct("DevIdentity")
            .field("name", &self.name)
            .field("stash_account", &HexBytes(&self.stash_account))
            .field("tss_account", &HexBytes(&self.tss_account))
            .field("x25519_public", &HexBytes(&self.x25519_public))
            .field("libp2p_public", &HexBytes(&self.libp2p_public))
            .field("peer_id", &self.peer_id_base58())
            .field("p2p_port", &self.p2p_port)
            .finish_non_exhaustive()
    }
}

struct HexBytes<'a>(&'a [u8]);

impl core::fmt::Debug for HexBytes<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// `SHA-256(domain ‖ name)`, the seed of a hashed dev key.
fn hashed_seed(domain: &[u8], name: &str) -> Zeroizing<[u8; 32]> {
    let mut hasher = Sha256::new();
    // Length-prefixing the domain keeps (domain, name) pairs unambiguous.
    hasher.update((domain.len() as u32).to_le_bytes());
    hasher.update(domain);
    hasher.update(name.as_bytes());
    Zeroizing::new(hasher.finalize().into())
}

fn sr25519_account(uri: &str) -> Option<[u8; 32]> {
    let pair = sp_core::sr25519::Pair::from_string(uri, None).ok()?;
    Some(pair.public().0)
}

/// The dev identity called `name` (case-insensitive: "alice", "Alice"), or `None` for any name
/// outside alice, bob, charlie, dave, eve, ferdie.
pub fn dev_identity(name: &str) -> Option<DevIdentity> {
    let index = NAMES.iter().position(|known| known.eq_ignore_ascii_case(name))?;
    let name = NAMES[index];
    let capitalised = capitalise(name);
    let stash_uri = format!("//{capitalised}");
    let tss_uri = format!("//{capitalised}//tss");

    let x25519_secret = hashed_seed(X25519_DOMAIN, name);
    let x25519_public =
        x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*x25519_secret)).to_bytes();
    let libp2p_ed25519_secret = hashed_seed(LIBP2P_DOMAIN, name);
    let libp2p_public = ed25519_public(&libp2p_ed25519_secret);

    Some(DevIdentity {
        name,
        stash_account: sr25519_account(&stash_uri)?,
        tss_account: sr25519_account(&tss_uri)?,
        stash_uri,
        tss_uri,
        x25519_secret,
        x25519_public,
        libp2p_ed25519_secret,
        libp2p_public,
        peer_id: peer_id_from_ed25519(&libp2p_public),
        // index < 6, so this cannot overflow.
        p2p_port: BASE_P2P_PORT + index as u16,
    })
}

/// The dev TSS servers pre-registered in the dev genesis: alice, bob, charlie, dave.
pub fn dev_servers() -> Vec<DevIdentity> {
    NAMES[..DEV_SERVER_COUNT].iter().filter_map(|name| dev_identity(name)).collect()
}

/// All six dev identities, alice .. ferdie.
pub fn dev_identities() -> Vec<DevIdentity> {
    NAMES.iter().filter_map(|name| dev_identity(name)).collect()
}

/// The binding of a dev registration quote: context `Register`, the identity's TSS account,
/// x25519 key, stash and peer id, and the zero nonce.
pub fn dev_registration_binding(id: &DevIdentity) -> Binding<'_> {
    Binding {
        context: QuoteContext::Register,
        account: &id.tss_account,
        public_key: &id.x25519_public,
        stash: Some(&id.stash_account),
        peer_id: Some(&id.peer_id),
        nonce: &DEV_REGISTRATION_NONCE,
    }
}

/// A deterministic mock quote registering `id` (see [`dev_registration_binding`]), signed with the
/// shared dev mock keys. It verifies under a dev policy that accepts
/// [`peerseal_attestation::mock_measurement`] and allows [`peerseal_attestation::dev_mock_pck`].
pub fn dev_registration_quote(id: &DevIdentity) -> Vec<u8> {
    // One provider for the process: its construction logs the mock warning once, not per quote.
    static PROVIDER: OnceLock<MockQuoteProvider> = OnceLock::new();
    let provider = PROVIDER.get_or_init(MockQuoteProvider::dev);
    provider.mock_quote(&report_data(&dev_registration_binding(id)))
}

fn capitalise(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}
