//! Reading a provider removal and the affected clients' re-backups back from the chain's
//! finalized events (the "within two blocks" check and its benchmark).

use futures::StreamExt;
use peerseal_chain::{AccountId, ChainEvent};

/// How long one affected client took to re-back up after the removal, in finalized blocks.
#[derive(Debug)]
pub struct Lag {
    /// Blocks from the removal block to the block recording the new backup (that one included).
    pub blocks: u64,
    /// Of the blocks before that one, those holding nothing but re-backup traffic of this
    /// removal (`BackupConfirmed` / `BackupRecorded` of an affected client at its new epoch):
    /// the dev chain seals a block per transaction, so each of those transactions adds a block
    /// that a chain with a block time would have batched into one.
    pub rebackup_tx_blocks: u64,
    /// Of the blocks before that one, those with no peerseal event at all: the dev chain's
    /// interval blocks, sealed on a timer while the re-backup was in flight.
    pub idle_blocks: u64,
}

impl Lag {
    /// The lag a chain that batches transactions into blocks on its block time would show: raw
    /// blocks minus the dev chain's per-transaction blocks of this re-backup and its idle
    /// interval blocks.
    pub fn batched_blocks(&self) -> u64 {
        self.blocks.saturating_sub(self.rebackup_tx_blocks + self.idle_blocks)
    }
}

/// The block that removed `victim` (TSS account) and, per client `(account, new epoch)`, how
/// many blocks later its new backup was recorded, read from the chain's finalized events.
pub async fn removal_and_rebackup_lags(
    url: &str,
    victim: AccountId,
    clients: &[(AccountId, u64)],
) -> (u64, Vec<Lag>) {
    let chain = peerseal_testkit::connect_chain(url).await.unwrap();
    let mut blocks = Box::pin(chain.finalized_blocks_from(1));
    let mut removed = None;
    let mut after_removal = Vec::new();
    let mut recorded: Vec<Option<u64>> = vec![None; clients.len()];
    while removed.is_none() || recorded.iter().any(Option::is_none) {
        let block = blocks.next().await.unwrap().unwrap();
        for event in &block.events {
            match event {
                ChainEvent::ServerRemoved { tss_account, .. } if *tss_account == victim => {
                    removed.get_or_insert(block.number);
                }
                ChainEvent::BackupRecorded { client, epoch } if removed.is_some() => {
                    for (i, (account, wanted)) in clients.iter().enumerate() {
                        if client == account && epoch == wanted {
                            recorded[i].get_or_insert(block.number);
                        }
                    }
                }
                _ => {}
            }
        }
        if removed.is_some_and(|r| block.number > r) {
            after_removal.push(block);
        }
    }
    let removed = removed.unwrap();
    let lags = clients
        .iter()
        .zip(recorded)
        .map(|(_, recorded)| {
            let recorded = recorded.unwrap();
            let rebackup_tx_blocks = after_removal
                .iter()
                .filter(|b| b.number < recorded && !b.events.is_empty())
                .filter(|b| b.events.iter().all(|e| is_rebackup(e, clients)))
                .count() as u64;
            let idle_blocks =
                after_removal.iter().filter(|b| b.number < recorded && b.events.is_empty()).count()
                    as u64;
            Lag { blocks: recorded - removed, rebackup_tx_blocks, idle_blocks }
        })
        .collect();
    (removed, lags)
}

/// An event of an affected client's re-backup at its new epoch.
fn is_rebackup(event: &ChainEvent, clients: &[(AccountId, u64)]) -> bool {
    let (ChainEvent::BackupConfirmed { client, epoch, .. }
    | ChainEvent::BackupRecorded { client, epoch }) = event
    else {
        return false;
    };
    clients.iter().any(|(account, wanted)| account == client && wanted == epoch)
}
