//! Self-registration: what a node with its own generated identity gives its operator so the
//! validator stash can register it, without a secret ever leaving the node.
//!
//! While the node waits to be registered, its local HTTP endpoint answers
//! `POST /registration/quote?stash=0x…&nonce=0x…` with a TDX quote (context `Register`) that
//! binds its TSS account, x25519 key and peer id to that stash and nonce, plus the rest of the
//! `ServerInfo` the stash submits (`peerseal register` does the whole round). The node quotes
//! only a nonce the chain really issued to that stash for this node's account and that has not
//! expired, read with a proof from its verified chain view — the rule `pallet-attestation`
//! documents ("it quotes only nonces requested by its own stash") — and, when the operator
//! configured `stash`, only for that stash. A quote reveals nothing secret (the account, key and
//! peer id are published at registration anyway); the checks keep the node from vouching for a
//! registration its operator did not start.

use crate::recovery_file::hex;
use peerseal_attestation::{report_data, Binding, QuoteContext, QuoteProvider};
use peerseal_backup::NodeKeys;
use peerseal_chain::{AccountId, ChainClient};
use std::sync::Arc;

/// The public parts of a node's identity, for operators and for registration.
#[derive(Clone, Debug)]
pub struct PublicIdentity {
    /// The TSS account.
    pub account: AccountId,
    /// The x25519 public key.
    pub x25519: [u8; 32],
    /// The libp2p peer id.
    pub peer_id: libp2p::PeerId,
    /// The multiaddr to register (where peers dial this node), if known.
    pub advertise: Option<libp2p::Multiaddr>,
}

impl PublicIdentity {
    /// The identity of `keys`, advertised at `advertise`.
    pub fn of(keys: &NodeKeys, advertise: Option<libp2p::Multiaddr>) -> Self {
        Self {
            account: keys.account(),
            x25519: keys.x25519.public().0,
            peer_id: keys.peer_id(),
            advertise,
        }
    }

    /// As JSON: hex keys, the peer id in text and as the bytes registered on chain.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "tss_account": hex(self.account.0),
            "x25519_public_key": hex(self.x25519),
            "peer_id": self.peer_id.to_base58(),
            "peer_id_bytes": hex(self.peer_id.to_bytes()),
            "multiaddr": self.advertise.as_ref().map(ToString::to_string),
        })
    }
}

/// Why the node would not make a registration quote. The text is for the operator.
#[derive(Debug, thiserror::Error)]
pub enum QuoteRefusal {
    /// The node does not know where peers can reach it.
    #[error(
        "no address to register: the node listens on an unspecified address; set `advertise` \
         (--advertise /ip4/<public ip>/tcp/<port>)"
    )]
    NoAdvertise,
    /// The operator configured another stash.
    #[error("this node is configured for stash {configured}, not {asked}")]
    WrongStash {
        /// The configured stash (hex).
        configured: String,
        /// The stash asked for (hex).
        asked: String,
    },
    /// The chain holds no nonce for the stash.
    #[error("the chain holds no attestation nonce for stash {0}: call Attestation.request_attestation first")]
    NoNonce(String),
    /// The stash's nonce was requested for another TSS account.
    #[error("the stash's nonce was requested for TSS account {0}, not this node's")]
    OtherAccount(String),
    /// Not the nonce the chain issued.
    #[error("that is not the nonce the chain issued to the stash")]
    NonceMismatch,
    /// The nonce expired.
    #[error("the nonce expired at block {expires_at} (verified block {now}): request a new one")]
    Expired {
        /// Last usable block.
        expires_at: u32,
        /// The verified block read.
        now: u32,
    },
    /// The chain could not be read (verified).
    #[error("reading the chain: {0}")]
    Chain(String),
    /// The quote could not be made.
    #[error("making the quote: {0}")]
    Quote(String),
}

impl QuoteRefusal {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> u16 {
        match self {
            QuoteRefusal::WrongStash { .. } => 403,
            QuoteRefusal::Chain(_) | QuoteRefusal::Quote(_) => 503,
            _ => 409,
        }
    }
}

/// Makes registration quotes while the node waits to be registered.
pub struct Registrar {
    identity: PublicIdentity,
    quotes: Arc<dyn QuoteProvider>,
    chain: ChainClient,
    stash: Option<AccountId>,
}

impl Registrar {
    /// A registrar for `identity`, quoting with `quotes`, checking nonces on `chain`, for the
    /// configured `stash` only (any stash when `None`).
    pub fn new(
        identity: PublicIdentity,
        quotes: Arc<dyn QuoteProvider>,
        chain: ChainClient,
        stash: Option<AccountId>,
    ) -> Self {
        Self { identity, quotes, chain, stash }
    }

    /// The registration quote for `stash` and `nonce` with the `ServerInfo` fields, as JSON.
    pub async fn quote(
        &self,
        stash: AccountId,
        nonce: [u8; 32],
    ) -> Result<serde_json::Value, QuoteRefusal> {
        let advertise = self.identity.advertise.clone().ok_or(QuoteRefusal::NoAdvertise)?;
        if let Some(configured) = self.stash {
            if configured != stash {
                return Err(QuoteRefusal::WrongStash {
                    configured: hex(configured.0),
                    asked: hex(stash.0),
                });
            }
        }
        let (now, pending) = self
            .chain
            .pending_nonce(&stash)
            .await
            .map_err(|e| QuoteRefusal::Chain(e.to_string()))?
            .ok_or_else(|| QuoteRefusal::NoNonce(hex(stash.0)))?;
        if pending.tss_account != self.identity.account {
            return Err(QuoteRefusal::OtherAccount(hex(pending.tss_account.0)));
        }
        // Not secret material: the nonce is public in the chain's events.
        if pending.nonce != nonce {
            return Err(QuoteRefusal::NonceMismatch);
        }
        if now > pending.expires_at {
            return Err(QuoteRefusal::Expired { expires_at: pending.expires_at, now });
        }
        let peer_id = self.identity.peer_id.to_bytes();
        let data = report_data(&Binding {
            context: QuoteContext::Register,
            account: &self.identity.account.0,
            public_key: &self.identity.x25519,
            stash: Some(&stash.0),
            peer_id: Some(&peer_id),
            nonce: &nonce,
        });
        let quotes = self.quotes.clone();
        // On hardware a quote takes a second or more: off the async workers.
        let quote = tokio::task::spawn_blocking(move || quotes.quote(&data))
            .await
            .map_err(|e| QuoteRefusal::Quote(e.to_string()))?
            .map_err(|e| QuoteRefusal::Quote(e.to_string()))?;
        tracing::info!(stash = %hex(stash.0), "registration quote made");
        let mut info = self.identity.json();
        info["stash"] = serde_json::Value::String(hex(stash.0));
        info["multiaddr"] = serde_json::Value::String(advertise.to_string());
        info["quote"] = serde_json::Value::String(hex(quote));
        Ok(info)
    }
}

/// Parses a 32-byte value given as `0x`-prefixed (or bare) hex.
pub fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.strip_prefix("0x").unwrap_or(text), &mut out).ok()?;
    Some(out)
}

/// An account given as hex or in SS58.
pub fn parse_account(text: &str) -> Option<AccountId> {
    if let Some(bytes) = parse_hex32(text) {
        return Some(AccountId(bytes));
    }
    let id: subxt::utils::AccountId32 = text.parse().ok()?;
    Some(AccountId(id.0))
}

/// The address to register when none is configured: the listen address, unless it is an
/// unspecified IP (`0.0.0.0`, `::`) or port 0, which nobody can dial.
pub fn default_advertise(listen: &libp2p::Multiaddr) -> Option<libp2p::Multiaddr> {
    use libp2p::multiaddr::Protocol;
    let dialable = listen.iter().all(|p| match p {
        Protocol::Ip4(ip) => !ip.is_unspecified(),
        Protocol::Ip6(ip) => !ip.is_unspecified(),
        Protocol::Tcp(port) => port != 0,
        _ => true,
    });
    dialable.then(|| listen.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_or_port_zero_listen_addresses_are_not_advertised() {
        let parse = |s: &str| s.parse::<libp2p::Multiaddr>().unwrap();
        assert_eq!(default_advertise(&parse("/ip4/0.0.0.0/tcp/30400")), None);
        assert_eq!(default_advertise(&parse("/ip4/127.0.0.1/tcp/0")), None);
        assert_eq!(default_advertise(&parse("/ip6/::/tcp/1")), None);
        let dialable = parse("/ip4/10.0.0.7/tcp/30400");
        assert_eq!(default_advertise(&dialable), Some(dialable));
    }

    #[test]
    fn accounts_parse_as_hex_or_ss58() {
        let alice = subxt_signer::sr25519::dev::alice().public_key().0;
        let ss58 = subxt::utils::AccountId32(alice).to_string();
        assert_eq!(parse_account(&ss58), Some(AccountId(alice)));
        assert_eq!(parse_account(&format!("0x{}", ::hex::encode(alice))), Some(AccountId(alice)));
        assert_eq!(parse_account("0x1234"), None);
        assert_eq!(parse_account("not an account"), None);
    }
}
