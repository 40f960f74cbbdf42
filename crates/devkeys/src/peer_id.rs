//! libp2p peer ids of ed25519 keys, computed from the spec rather than by pulling in libp2p.
//!
//! A peer id is a multihash of the protobuf-encoded public key (libp2p `peer-ids` spec). For an
//! ed25519 key the encoding is 36 bytes, under the 42-byte limit, so the multihash is the
//! "identity" one: the encoding itself, behind a code byte and a length byte.

use sp_core::Pair;

/// Protobuf `PublicKey { Type: Ed25519 (1), Data: <32 bytes> }`: field 1 varint tag `0x08`,
/// value `0x01`; field 2 length-delimited tag `0x12`, length `0x20`.
const ED25519_PROTOBUF_PREFIX: [u8; 4] = [0x08, 0x01, 0x12, 0x20];
/// Multihash code of the identity "hash".
const MULTIHASH_IDENTITY: u8 = 0x00;

/// The ed25519 public key of a 32-byte secret (seed), as libp2p and RFC 8032 derive it.
pub fn ed25519_public(secret: &[u8; 32]) -> [u8; 32] {
    sp_core::ed25519::Pair::from_seed(secret).public().0
}

/// The binary libp2p peer id of an ed25519 public key: `[0x00, 36] ‖ [0x08, 0x01, 0x12, 0x20] ‖ pk`.
pub fn peer_id_from_ed25519(public: &[u8; 32]) -> Vec<u8> {
    let encoded_len = ED25519_PROTOBUF_PREFIX.len() + public.len();
    let mut peer_id = Vec::with_capacity(2 + encoded_len);
    peer_id.push(MULTIHASH_IDENTITY);
    // 36 fits in one varint byte.
    peer_id.push(encoded_len as u8);
    peer_id.extend_from_slice(&ED25519_PROTOBUF_PREFIX);
    peer_id.extend_from_slice(public);
    peer_id
}

/// The usual text form of a peer id (base58btc, `12D3KooW...` for ed25519 keys).
pub fn peer_id_to_base58(peer_id: &[u8]) -> String {
    bs58::encode(peer_id).into_string()
}
