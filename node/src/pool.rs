//! The transaction pool: extrinsics validated at submission, waiting for a block.
//!
//! Bounded in count. Ready and future transactions wait together in submission order; the
//! block builder applies them in passes, so a nonce chain submitted out of order still lands
//! once its predecessors are in. Watchers get the Substrate status stream.

use std::collections::HashMap;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::types::{Extrinsic, Hash};

/// Transaction status as `author_submitAndWatchExtrinsic` reports it (Substrate's JSON shape).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TxStatus {
    /// Valid, but waits for an earlier nonce.
    Future,
    /// Valid and ready for the next block.
    Ready,
    /// Included in the block with this hash.
    InBlock(Hash),
    /// The block with this hash is final (instantly, on the dev chain).
    Finalized(Hash),
    /// Became invalid before it could be included.
    Invalid,
    /// Removed from the pool without being included.
    Dropped,
}

pub(crate) struct PoolTx {
    pub xt: Extrinsic,
    pub hash: Hash,
    /// Tags this transaction provides (`(account, nonce)` encodings from CheckNonce).
    pub provides: Vec<Vec<u8>>,
    pub watcher: Option<mpsc::UnboundedSender<TxStatus>>,
}

/// Bounded FIFO of pending extrinsics.
pub(crate) struct Pool {
    txs: Vec<PoolTx>,
    limit: usize,
}

impl Pool {
    pub fn new(limit: usize) -> Self {
        Self { txs: Vec::new(), limit }
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.txs.iter().any(|tx| tx.hash == *hash)
    }

    pub fn is_full(&self) -> bool {
        self.txs.len() >= self.limit
    }

    pub fn len(&self) -> usize {
        self.txs.len()
    }

    pub fn push(&mut self, tx: PoolTx) {
        self.txs.push(tx);
    }

    /// Extrinsics in submission order, for the block builder.
    pub fn pending(&self) -> Vec<Extrinsic> {
        self.txs.iter().map(|tx| tx.xt.clone()).collect()
    }

    /// Whether some pooled transaction provides `tag`.
    pub fn provides(&self, tag: &[u8]) -> bool {
        self.txs.iter().any(|tx| tx.provides.iter().any(|p| p == tag))
    }

    /// Removes the transactions with these hashes and sends each watcher its final statuses.
    pub fn finish(&mut self, outcome: &HashMap<Hash, Vec<TxStatus>>) {
        self.txs.retain(|tx| match outcome.get(&tx.hash) {
            Some(statuses) => {
                if let Some(watcher) = &tx.watcher {
                    for status in statuses {
                        // A watcher that went away is fine: nobody listens any more.
                        let _ = watcher.send(status.clone());
                    }
                }
                false
            }
            None => true,
        });
    }
}
