//! The block and header types the node stores and serves. They match the runtime's opaque
//! block (`generic::Header<u32, BlakeTwo256>`, extrinsics as opaque bytes), as a real Substrate
//! node's client side does: the node never decodes a call.

use sp_runtime::traits::BlakeTwo256;

/// Block number type of the runtime.
pub type BlockNumber = u32;
/// Block and state hash type.
pub type Hash = sp_core::H256;
/// Substrate header; its hash is blake2-256 of its SCALE encoding.
pub type Header = sp_runtime::generic::Header<BlockNumber, BlakeTwo256>;
/// Extrinsic as the exact bytes a client submitted.
pub type Extrinsic = sp_runtime::OpaqueExtrinsic;
/// A block: header plus the exact extrinsic bytes.
pub type Block = sp_runtime::generic::Block<Header, Extrinsic>;
/// The in-memory trie state of one block.
pub type State = sp_state_machine::InMemoryBackend<BlakeTwo256>;
