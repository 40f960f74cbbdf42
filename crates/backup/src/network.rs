//! The node's one libp2p swarm, owned by one task: TCP, noise (peer ids authenticated), yamux,
//! and the backup protocol's request-response behaviour.
//!
//! Everything else talks to that task through bounded channels:
//! - [`NetworkHandle::request`] sends a command (dial a peer by its peer id and addresses, send
//!   a request, get the response or a typed failure);
//! - inbound requests come out of the receiver returned by [`start`] as [`InboundRequest`]s;
//!   the provider answers each with [`InboundRequest::respond`], and the task sends the answer.
//!
//! The task never waits on a consumer: when the inbound queue or the table of requests awaiting
//! an answer is full, the request is answered `Unavailable` at once, so a flood of requests
//! costs bounded memory and never stalls the swarm. Frames that are oversized or do not decode
//! are dropped by the codec before they become requests; they are counted in
//! [`NetworkStats`] and logged.
//!
//! A request goes out right behind the protocol name (multistream-select `V1Lazy`,
//! [`NetworkConfig::lazy_protocol_negotiation`]) rather than a round trip later: the backup
//! protocol is the only one offered, so there is nothing to negotiate. The frames a
//! connection sends in one pass (a response and its stream's close) leave as one noise
//! message and one socket write ([`crate::coalesce`]).
//!
//! Limits before any work, for a flood (nothing here trusts the account a request names):
//! - connections: at most [`NetworkConfig::max_incoming`] established incoming connections,
//!   [`NetworkConfig::max_pending_incoming`] handshakes at once, and
//!   [`NetworkConfig::max_connections_per_peer`] per peer (libp2p's `connection_limits`);
//! - requests: a token bucket per authenticated peer id ([`NetworkConfig::peer_rate`]); an
//!   empty bucket is answered `RateLimited` by this task, before the request is queued;
//! - queue: the last [`NetworkConfig::reserved_for_recover`] places of the inbound queue and of
//!   the in-flight table take only `Recover`, so a flood of nonce or health requests cannot
//!   crowd out the requests that release shares.
//!
//! Each refusal is counted in [`NetworkStats`] and reported to a [`NetworkObserver`].

use crate::coalesce::CoalescedYamux;
use crate::provider::ratelimit::{RateLimiter, RateLimits};
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{AsyncRead, AsyncWrite};
use futures::{FutureExt, StreamExt};
use libp2p::connection_limits::{self, ConnectionLimits};
use libp2p::request_response::{
    self, InboundFailure, Message, OutboundFailure, OutboundRequestId, ProtocolSupport,
    ResponseChannel,
};
use libp2p::swarm::{ListenError, NetworkBehaviour, SwarmEvent};
use libp2p::StreamProtocol;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use peerseal_protocol::{BackupCodec, ErrorReason, Request, Response, WireError, PROTOCOL};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Settings of the network task.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Addresses to listen on (`/ip4/127.0.0.1/tcp/30401`); empty for a pure client.
    pub listen: Vec<Multiaddr>,
    /// Whether inbound backup requests are accepted (provider) or only sent (client only).
    pub serve: bool,
    /// How long an outbound request may take before it fails with a timeout.
    pub request_timeout: Duration,
    /// Concurrent streams per connection.
    pub max_concurrent_streams: usize,
    /// How long an idle connection is kept.
    pub idle_timeout: Duration,
    /// Capacity of the command channel.
    pub command_queue: usize,
    /// Capacity of the inbound-request channel.
    pub inbound_queue: usize,
    /// Most inbound requests waiting for an answer at once.
    pub max_pending_inbound: usize,
    /// How long [`start`] waits for every listener to be up.
    pub listen_timeout: Duration,
    /// Most established incoming connections.
    pub max_incoming: u32,
    /// Most incoming connections in their handshake at once.
    pub max_pending_incoming: u32,
    /// Most connections with one peer (both directions).
    pub max_connections_per_peer: u32,
    /// Token bucket per peer id for inbound requests.
    pub peer_rate: RateLimits,
    /// Places of the inbound queue and of the in-flight table kept for `Recover`.
    pub reserved_for_recover: usize,
    /// Whether this node, opening a stream, sends its request right behind the protocol name
    /// instead of first waiting for the peer to confirm it (multistream-select `V1Lazy`): one
    /// round trip less per request. Safe here: the backup protocol is the only one offered,
    /// and a peer without it fails the request either way. Listening is unaffected (a
    /// listener understands both).
    pub lazy_protocol_negotiation: bool,
    /// Send the frames a connection queues in one pass as one noise message and one socket
    /// write, instead of one per frame ([`crate::coalesce`]): a response and its stream's
    /// close then leave together. Nothing on the wire changes but the number of noise
    /// messages, so either setting talks to either.
    pub coalesce_writes: bool,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            serve: true,
            request_timeout: Duration::from_secs(20),
            max_concurrent_streams: peerseal_protocol::p2p::DEFAULT_MAX_CONCURRENT_STREAMS,
            idle_timeout: Duration::from_secs(30),
            command_queue: 256,
            inbound_queue: 1024,
            max_pending_inbound: 2048,
            listen_timeout: Duration::from_secs(10),
            max_incoming: 256,
            max_pending_incoming: 64,
            max_connections_per_peer: 4,
            // A recovery is two requests per provider, a health check one per interval, a
            // backup one per rotation: 32 at once and 16 per second leave a client plenty,
            // and one hostile connection can make the provider decode no more than that.
            peer_rate: RateLimits { burst: 32, per_second: 16, max_accounts: 4096 },
            reserved_for_recover: 256,
            lazy_protocol_negotiation: true,
            coalesce_writes: true,
        }
    }
}

/// The network task could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The transport could not be built.
    #[error("transport setup failed: {0}")]
    Transport(String),
    /// A listen address was refused (in use, malformed, unsupported).
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// The listeners did not come up in time.
    #[error("listeners not up within {0:?}")]
    ListenTimeout(Duration),
}

/// Why an outbound request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The peer could not be dialled (down, wrong address, or not the expected peer id).
    #[error("dial failed: {0}")]
    Dial(String),
    /// No response in time.
    #[error("request timed out")]
    Timeout,
    /// The connection closed before the response arrived.
    #[error("connection closed")]
    ConnectionClosed,
    /// The peer does not speak the backup protocol.
    #[error("peer does not support the backup protocol")]
    UnsupportedProtocols,
    /// The stream failed (including a response frame that is oversized or does not decode).
    #[error("stream error: {0}")]
    Io(String),
    /// The network task is gone or its queue is full.
    #[error("network task unavailable")]
    Unavailable,
}

/// Counters of what the network task refused or failed, for logs, metrics and tests.
#[derive(Debug, Default)]
pub struct NetworkStats {
    /// Inbound frames over the size bound.
    pub oversized_frames: AtomicU64,
    /// Inbound frames that are empty or not a valid request.
    pub malformed_frames: AtomicU64,
    /// Other inbound stream failures (timeouts, closed connections).
    pub inbound_failures: AtomicU64,
    /// Inbound requests answered `Unavailable` because the queues were full.
    pub overloaded: AtomicU64,
    /// Inbound requests handed to the provider.
    pub inbound_requests: AtomicU64,
    /// Inbound requests refused because their peer's bucket was empty.
    pub peer_rate_limited: AtomicU64,
    /// Inbound requests other than `Recover` refused because only reserved places were left.
    pub shed_for_recover: AtomicU64,
    /// Incoming connections denied by the connection limits.
    pub connections_denied: AtomicU64,
}

/// Told by the network task as it refuses things, so a daemon keeps its metrics at the source.
pub trait NetworkObserver: Send + Sync {
    /// Something was refused; `reason` is a stable label (`peer_rate_limited`,
    /// `shed_for_recover`, `overloaded`, `connection_denied`, `oversized_frame`,
    /// `malformed_frame`).
    fn refused(&self, _reason: &'static str) {}
}

/// Observes nothing.
impl NetworkObserver for () {}

impl NetworkStats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A request from a peer, to be answered exactly once.
pub struct InboundRequest {
    /// The authenticated remote peer.
    pub peer: PeerId,
    /// The decoded request.
    pub request: Request,
    reply: oneshot::Sender<Response>,
}

impl InboundRequest {
    /// Sends the answer (dropped silently if the peer is gone).
    pub fn respond(self, response: Response) {
        let _ = self.reply.send(response);
    }

    /// The request.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Splits into its parts, for handlers that answer from another task.
    pub fn into_parts(self) -> (PeerId, Request, oneshot::Sender<Response>) {
        (self.peer, self.request, self.reply)
    }
}

enum Command {
    Request {
        peer: PeerId,
        addrs: Vec<Multiaddr>,
        request: Request,
        reply: oneshot::Sender<Result<Response, RequestError>>,
    },
}

/// A cheap, cloneable handle to the network task. The task stops when every handle is dropped.
#[derive(Clone)]
pub struct NetworkHandle {
    commands: mpsc::Sender<Command>,
    local_peer_id: PeerId,
    listen_addrs: Arc<Vec<Multiaddr>>,
    stats: Arc<NetworkStats>,
}

impl NetworkHandle {
    /// Sends `request` to `peer`, dialling `addrs` if not connected. Noise guarantees the
    /// answer comes from `peer`'s key.
    pub async fn request(
        &self,
        peer: PeerId,
        addrs: Vec<Multiaddr>,
        request: Request,
    ) -> Result<Response, RequestError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Request { peer, addrs, request, reply })
            .await
            .map_err(|_| RequestError::Unavailable)?;
        answer.await.map_err(|_| RequestError::Unavailable)?
    }

    /// This node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// The addresses the listeners are bound to (ports resolved).
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    /// The task's counters.
    pub fn stats(&self) -> &NetworkStats {
        &self.stats
    }
}

/// What [`start`] returns: the handle, the inbound-request receiver (`None` unless
/// `config.serve`) and the task.
pub type Started = (NetworkHandle, Option<mpsc::Receiver<InboundRequest>>, JoinHandle<()>);

/// Builds the swarm, starts listening, waits until every listener is up, and spawns the task.
pub async fn start(
    keypair: libp2p::identity::Keypair,
    config: NetworkConfig,
) -> Result<Started, NetworkError> {
    start_observed(keypair, config, Arc::new(())).await
}

/// Like [`start`], reporting refusals to `observer`.
pub async fn start_observed(
    keypair: libp2p::identity::Keypair,
    config: NetworkConfig,
    observer: Arc<dyn NetworkObserver>,
) -> Result<Started, NetworkError> {
    let support = if config.serve { ProtocolSupport::Full } else { ProtocolSupport::Outbound };
    let stats = Arc::new(NetworkStats::default());
    let codec =
        CountingCodec { inner: BackupCodec, stats: stats.clone(), observer: observer.clone() };
    let backup = request_response::Behaviour::with_codec(
        codec,
        [(PROTOCOL, support)],
        request_response::Config::default()
            .with_request_timeout(config.request_timeout)
            .with_max_concurrent_streams(config.max_concurrent_streams),
    );
    let limits = connection_limits::Behaviour::new(
        ConnectionLimits::default()
            .with_max_established_incoming(Some(config.max_incoming))
            .with_max_pending_incoming(Some(config.max_pending_incoming))
            .with_max_established_per_peer(Some(config.max_connections_per_peer)),
    );
    let behaviour = Behaviour { limits, backup };
    let mut swarm = build_swarm(keypair, &config, behaviour)?;

    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| NetworkError::Listen { addr: addr.clone(), reason: e.to_string() })?;
    }
    let listen_addrs = wait_listening(&mut swarm, &config).await?;

    let (commands, command_rx) = mpsc::channel(config.command_queue.max(1));
    let (inbound_tx, inbound_rx) = if config.serve {
        let (tx, rx) = mpsc::channel(config.inbound_queue.max(1));
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let handle = NetworkHandle {
        commands,
        local_peer_id: *swarm.local_peer_id(),
        listen_addrs: Arc::new(listen_addrs),
        stats: stats.clone(),
    };
    let task = EventLoop {
        swarm,
        commands: command_rx,
        inbound: inbound_tx,
        pending_out: HashMap::new(),
        pending_in: FuturesUnordered::new(),
        max_pending_inbound: config.max_pending_inbound.max(1),
        // Never more than a quarter of either bound: a small queue must still take requests.
        reserve_queue: config.reserved_for_recover.min(config.inbound_queue / 4),
        reserve_in_flight: config.reserved_for_recover.min(config.max_pending_inbound / 4),
        peers: RateLimiter::new(config.peer_rate),
        stats,
        observer,
    };
    let join = tokio::spawn(task.run());
    Ok((handle, inbound_rx, join))
}

/// A swarm on the node's transport, with `behaviour`: TCP without Nagle, noise, yamux on a
/// socket that coalesces a pass's writes ([`NetworkConfig::coalesce_writes`]), multistream
/// `V1Lazy` if [`NetworkConfig::lazy_protocol_negotiation`], and the idle timeout. Public so
/// the benches measure other protocols on exactly this transport.
pub fn build_swarm<B: NetworkBehaviour>(
    keypair: libp2p::identity::Keypair,
    config: &NetworkConfig,
    behaviour: B,
) -> Result<Swarm<B>, NetworkError> {
    let idle = config.idle_timeout;
    let lazy = config.lazy_protocol_negotiation;
    let coalesce = config.coalesce_writes;
    Ok(libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, move || {
            CoalescedYamux::new(yamux::Config::default(), coalesce)
        })
        .map_err(|e| NetworkError::Transport(e.to_string()))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| NetworkError::Transport(e.to_string()))?
        .with_swarm_config(|c| {
            let c = c.with_idle_connection_timeout(idle);
            if lazy {
                c.with_substream_upgrade_protocol_override(libp2p::core::upgrade::Version::V1Lazy)
            } else {
                c
            }
        })
        .build())
}

async fn wait_listening(
    swarm: &mut Swarm<Behaviour>,
    config: &NetworkConfig,
) -> Result<Vec<Multiaddr>, NetworkError> {
    let mut addrs = Vec::new();
    let wanted = config.listen.len();
    let deadline = tokio::time::sleep(config.listen_timeout);
    tokio::pin!(deadline);
    while addrs.len() < wanted {
        tokio::select! {
            _ = &mut deadline => return Err(NetworkError::ListenTimeout(config.listen_timeout)),
            event = swarm.select_next_some() => match event {
                SwarmEvent::NewListenAddr { address, .. } => addrs.push(address),
                SwarmEvent::ListenerError { error, .. } => {
                    return Err(NetworkError::Listen {
                        addr: config.listen.first().cloned().unwrap_or_else(Multiaddr::empty),
                        reason: error.to_string(),
                    })
                }
                SwarmEvent::ListenerClosed { addresses, reason, .. } => {
                    let reason = match reason {
                        Ok(()) => "closed".to_owned(),
                        Err(e) => e.to_string(),
                    };
                    return Err(NetworkError::Listen {
                        addr: addresses.first().cloned().unwrap_or_else(Multiaddr::empty),
                        reason,
                    });
                }
                _ => {}
            }
        }
    }
    Ok(addrs)
}

type PendingInbound = BoxFuture<'static, (ResponseChannel<Response>, Option<Response>)>;

struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    inbound: Option<mpsc::Sender<InboundRequest>>,
    pending_out: HashMap<OutboundRequestId, oneshot::Sender<Result<Response, RequestError>>>,
    pending_in: FuturesUnordered<PendingInbound>,
    max_pending_inbound: usize,
    reserve_queue: usize,
    reserve_in_flight: usize,
    peers: RateLimiter<PeerId>,
    stats: Arc<NetworkStats>,
    observer: Arc<dyn NetworkObserver>,
}

impl EventLoop {
    async fn run(mut self) {
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    // Every handle is gone: nobody can use the network any more.
                    None => break,
                },
                event = self.swarm.select_next_some() => self.on_event(event),
                Some((channel, response)) = self.pending_in.next(), if !self.pending_in.is_empty() => {
                    // A handler that vanished without answering (it panicked or was dropped)
                    // still gets the peer a typed answer.
                    let response = response.unwrap_or(Response::Error(ErrorReason::Internal));
                    if self.swarm.behaviour_mut().backup.send_response(channel, response).is_err() {
                        tracing::debug!("peer went away before its response could be sent");
                    }
                }
            }
        }
        tracing::debug!("network task stopped");
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Request { peer, addrs, request, reply } => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .backup
                    .send_request_with_addresses(&peer, request, addrs);
                self.pending_out.insert(id, reply);
            }
        }
    }

    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        let event = match event {
            SwarmEvent::Behaviour(BehaviourEvent::Backup(event)) => event,
            SwarmEvent::IncomingConnectionError {
                error: ListenError::Denied { cause }, ..
            } => {
                NetworkStats::bump(&self.stats.connections_denied);
                self.observer.refused("connection_denied");
                tracing::debug!(%cause, "incoming connection denied");
                return;
            }
            _ => return,
        };
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                Message::Request { request, channel, .. } => {
                    self.on_request(peer, request, channel)
                }
                Message::Response { request_id, response } => {
                    if let Some(reply) = self.pending_out.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                tracing::debug!(%peer, %error, "outbound request failed");
                if let Some(reply) = self.pending_out.remove(&request_id) {
                    let _ = reply.send(Err(outbound_error(error)));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                self.on_inbound_failure(peer, error)
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn answer_now(&mut self, channel: ResponseChannel<Response>, reason: ErrorReason) {
        let _ = self.swarm.behaviour_mut().backup.send_response(channel, Response::Error(reason));
    }

    fn on_request(&mut self, peer: PeerId, request: Request, channel: ResponseChannel<Response>) {
        let Some(inbound) = self.inbound.clone() else {
            self.answer_now(channel, ErrorReason::Unavailable);
            return;
        };
        if let Err(limited) = self.peers.check(&peer, Instant::now()) {
            NetworkStats::bump(&self.stats.peer_rate_limited);
            self.observer.refused("peer_rate_limited");
            tracing::debug!(%peer, "inbound request refused: peer over its rate");
            self.answer_now(channel, limited);
            return;
        }
        // Only `Recover` may take the last reserved places of the in-flight table and queue.
        // An operator's release is a recovery too (a cold start's).
        let recover = matches!(request, Request::Recover(_) | Request::OperatorRelease(_));
        let (queue_reserve, in_flight_reserve) =
            if recover { (0, 0) } else { (self.reserve_queue, self.reserve_in_flight) };
        let in_flight_full = self.pending_in.len() >= self.max_pending_inbound;
        if in_flight_full || inbound.capacity() == 0 {
            NetworkStats::bump(&self.stats.overloaded);
            self.observer.refused("overloaded");
            tracing::warn!(%peer, "inbound request refused: too many requests in flight");
            self.answer_now(channel, ErrorReason::Unavailable);
            return;
        }
        let reserved_only = self.pending_in.len() + in_flight_reserve >= self.max_pending_inbound
            || inbound.capacity() <= queue_reserve;
        if reserved_only {
            NetworkStats::bump(&self.stats.shed_for_recover);
            self.observer.refused("shed_for_recover");
            tracing::debug!(%peer, "inbound request refused: the rest is kept for recoveries");
            self.answer_now(channel, ErrorReason::Unavailable);
            return;
        }
        let (reply, answer) = oneshot::channel();
        match inbound.try_send(InboundRequest { peer, request, reply }) {
            Ok(()) => {
                NetworkStats::bump(&self.stats.inbound_requests);
                self.pending_in.push(async move { (channel, answer.await.ok()) }.boxed());
            }
            Err(_) => {
                NetworkStats::bump(&self.stats.overloaded);
                self.observer.refused("overloaded");
                tracing::warn!(%peer, "inbound request refused: provider queue full or closed");
                self.answer_now(channel, ErrorReason::Unavailable);
            }
        }
    }

    fn on_inbound_failure(&mut self, peer: PeerId, error: InboundFailure) {
        NetworkStats::bump(&self.stats.inbound_failures);
        tracing::debug!(%peer, %error, "inbound request failed");
    }
}

/// The protocol's codec, counting and logging the inbound frames it refuses. libp2p drops a
/// stream whose request does not decode without reporting it to the behaviour, so this is the
/// one place that sees hostile frames.
#[derive(Clone)]
pub(crate) struct CountingCodec {
    inner: BackupCodec,
    stats: Arc<NetworkStats>,
    observer: Arc<dyn NetworkObserver>,
}

impl CountingCodec {
    fn refused(&self, error: &std::io::Error) {
        if error.kind() != std::io::ErrorKind::InvalidData {
            NetworkStats::bump(&self.stats.inbound_failures);
            return;
        }
        let decoded_badly = error.get_ref().is_some_and(|inner| inner.is::<WireError>());
        if !decoded_badly && error.to_string().contains("exceeds the bound") {
            NetworkStats::bump(&self.stats.oversized_frames);
            self.observer.refused("oversized_frame");
            tracing::debug!("inbound frame rejected: over the size bound");
        } else {
            NetworkStats::bump(&self.stats.malformed_frames);
            self.observer.refused("malformed_frame");
            tracing::debug!("inbound frame rejected: not a valid request");
        }
    }
}

impl request_response::Codec for CountingCodec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let result = self.inner.read_request(protocol, io).await;
        if let Err(error) = &result {
            self.refused(error);
        }
        result
    }

    async fn read_response<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        self.inner.read_response(protocol, io).await
    }

    async fn write_request<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
        request: Request,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.inner.write_request(protocol, io, request).await
    }

    async fn write_response<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.inner.write_response(protocol, io, response).await
    }
}

/// The swarm's behaviour: connection limits first (they deny before a handshake completes),
/// then the backup protocol.
#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: connection_limits::Behaviour,
    backup: request_response::Behaviour<CountingCodec>,
}

fn outbound_error(error: OutboundFailure) -> RequestError {
    match error {
        OutboundFailure::DialFailure => RequestError::Dial("dial failure".to_owned()),
        OutboundFailure::Timeout => RequestError::Timeout,
        OutboundFailure::ConnectionClosed => RequestError::ConnectionClosed,
        OutboundFailure::UnsupportedProtocols => RequestError::UnsupportedProtocols,
        OutboundFailure::Io(e) => RequestError::Io(e.to_string()),
    }
}
