//! Following finalized blocks across chain-node restarts.
//!
//! The finalized-heads subscription only says how far finalization has got; blocks are then
//! fetched one by one *by number* from the next expected one up to that head. A lost
//! connection (node restart, network) therefore loses nothing: after reconnecting, the
//! follower asks for the numbers it has not delivered yet, so every finalized block is
//! delivered exactly once, in order.
//!
//! Reconnection uses a plain tokio loop with exponential backoff rather than a backoff crate:
//! the retry has to keep the follower's own state (next number, head) anyway, and the policy
//! (100 ms doubling to 5 s, reset after a successful connect) is a few lines. `backoff` is
//! unmaintained, and `backon` would add a dependency for the same few lines.

use std::time::Duration;

use futures::Stream;
use subxt::client::Blocks;
use subxt::PolkadotConfig;

use crate::connection::{hex32, Api, Conn};
use crate::decode;
use crate::error::ChainError;
use crate::types::FinalizedBlock;

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Without a new finalized head for this long, the follower asks for the head itself (a
/// subscription can stall silently when a connection half-dies).
const IDLE_POLL: Duration = Duration::from_secs(30);
/// Blocks fetched ahead of a slow consumer before the follower waits for it.
const BUFFERED_BLOCKS: usize = 16;

pub(crate) struct Follower {
    url: String,
    genesis: [u8; 32],
    /// Next block number to deliver; `None` until the first connection picks the head.
    next: Option<u64>,
    /// Highest finalized block number known.
    head: u64,
    live: Option<(Conn, Blocks<PolkadotConfig>)>,
    backoff: Duration,
    done: bool,
}

/// What fetching one block gave.
enum Fetch {
    Block(FinalizedBlock),
    /// The block's events did not decode; the number is consumed.
    Undecodable(ChainError),
}

impl Follower {
    pub(crate) fn new(url: String, genesis: [u8; 32], start: Option<u64>) -> Self {
        Follower {
            url,
            genesis,
            next: start,
            head: 0,
            live: None,
            backoff: BACKOFF_START,
            done: false,
        }
    }

    /// Starts following at once on a task of the current tokio runtime (so the starting
    /// head is the one of the moment of the call, not of the first poll) and returns the
    /// receiving end. The task stops as soon as the stream is dropped. Without a tokio
    /// runtime the stream yields one error and ends.
    pub(crate) fn into_stream(
        mut self,
    ) -> impl Stream<Item = Result<FinalizedBlock, ChainError>> + Send + 'static {
        let (tx, rx) = tokio::sync::mpsc::channel(BUFFERED_BLOCKS);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    loop {
                        tokio::select! {
                            _ = tx.closed() => break,
                            item = self.next_item() => match item {
                                Some(item) => {
                                    if tx.send(item).await.is_err() {
                                        break;
                                    }
                                }
                                None => break,
                            },
                        }
                    }
                });
            }
            Err(_) => {
                // The channel is empty, so this cannot fail for lack of room.
                let _ = tx.try_send(Err(ChainError::Rpc(
                    "finalized_blocks needs a tokio runtime".into(),
                )));
            }
        }
        futures::stream::unfold(rx, |mut rx| async move {
            let item = rx.recv().await?;
            Some((item, rx))
        })
    }

    async fn next_item(&mut self) -> Option<Result<FinalizedBlock, ChainError>> {
        if self.done {
            return None;
        }
        loop {
            let Some((conn, heads)) = &mut self.live else {
                match self.reconnect().await {
                    Ok(()) => continue,
                    Err(error @ ChainError::ChainChanged { .. }) => {
                        self.done = true;
                        return Some(Err(error));
                    }
                    Err(error) => {
                        tracing::warn!(%error, retry_in = ?self.backoff, "chain follower cannot connect");
                        tokio::time::sleep(self.backoff).await;
                        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                        continue;
                    }
                }
            };
            let Some(next) = self.next else {
                // Set by `reconnect`; reaching here means it was not, so start over.
                self.live = None;
                continue;
            };
            if next <= self.head {
                match fetch(&conn.api, next).await {
                    Ok(fetched) => {
                        self.next = Some(next.saturating_add(1));
                        return Some(match fetched {
                            Fetch::Block(block) => Ok(block),
                            Fetch::Undecodable(error) => Err(error),
                        });
                    }
                    Err(error) => {
                        tracing::warn!(%error, block = next, "fetching a finalized block failed; reconnecting");
                        self.drop_connection().await;
                        continue;
                    }
                }
            }
            match tokio::time::timeout(IDLE_POLL, heads.next()).await {
                Ok(Some(Ok(block))) => self.head = self.head.max(block.number()),
                Ok(Some(Err(error))) => {
                    tracing::warn!(%error, "finalized-heads subscription failed; reconnecting");
                    self.drop_connection().await;
                }
                Ok(None) => {
                    tracing::warn!("finalized-heads subscription ended; reconnecting");
                    self.drop_connection().await;
                }
                Err(_) => match conn.api.at_current_block().await {
                    Ok(at) => self.head = self.head.max(at.block_number()),
                    Err(error) => {
                        tracing::warn!(%error, "chain node silent; reconnecting");
                        self.drop_connection().await;
                    }
                },
            }
        }
    }

    /// Forgets the connection; a short pause first so a dying node is not hammered.
    async fn drop_connection(&mut self) {
        self.live = None;
        tokio::time::sleep(BACKOFF_START).await;
    }

    async fn reconnect(&mut self) -> Result<(), ChainError> {
        let conn = Conn::open(&self.url).await?;
        if conn.genesis() != self.genesis {
            return Err(ChainError::ChainChanged {
                expected: hex32(&self.genesis),
                found: hex32(&conn.genesis()),
            });
        }
        let head = conn.api.at_current_block().await.map_err(ChainError::rpc)?.block_number();
        let heads = conn.api.stream_blocks().await.map_err(ChainError::rpc)?;
        self.head = self.head.max(head);
        if self.next.is_none() {
            self.next = Some(head);
        }
        tracing::debug!(url = %self.url, head, next = ?self.next, "chain follower connected");
        self.live = Some((conn, heads));
        self.backoff = BACKOFF_START;
        Ok(())
    }
}

/// Block `number` with its peerseal events. `Err` only for transport-level failures (the
/// caller reconnects and retries the same number).
async fn fetch(api: &Api, number: u64) -> Result<Fetch, ChainError> {
    let at = api.at_block(number).await.map_err(ChainError::rpc)?;
    let hash = at.block_hash().0;
    let events = at.events().fetch().await.map_err(ChainError::rpc)?;
    let mut decoded = Vec::new();
    for event in events.iter() {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                return Ok(Fetch::Undecodable(ChainError::Decode(format!(
                    "events of block {number}: {error}"
                ))))
            }
        };
        match decode::event(event.pallet_name(), event.event_name(), event.field_bytes()) {
            Ok(Some(event)) => decoded.push(event),
            Ok(None) => {}
            Err(error) => return Ok(Fetch::Undecodable(error)),
        }
    }
    Ok(Fetch::Block(FinalizedBlock { number, hash, events: decoded }))
}
