//! The network task on its own (real swarms on loopback, no chain): a full inbound queue is
//! answered `Unavailable` at once instead of stalling, the last places of the queue are kept
//! for `Recover`, each peer has a request bucket and the incoming connections a cap, a
//! request whose handler vanished without answering still gets a typed `Internal` reply, and a
//! request to a peer without the protocol fails at once whether it was sent behind the protocol
//! name (`V1Lazy`) or after its confirmation.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal_backup::network::{self, NetworkConfig, NetworkStats};
use peerseal_backup::provider::ratelimit::RateLimits;
use peerseal_protocol::{
    AccountId, ErrorReason, QuoteBytes, Recover, Request, RequestNonce, Response, X25519Secret,
};
use std::time::Duration;

fn ask() -> Request {
    Request::RequestNonce(RequestNonce { account: AccountId([1; 32]) })
}

async fn pair(
    inbound_queue: usize,
) -> (
    network::NetworkHandle,
    network::NetworkHandle,
    tokio::sync::mpsc::Receiver<network::InboundRequest>,
) {
    pair_with(NetworkConfig { inbound_queue, ..NetworkConfig::default() }).await
}

async fn pair_with(
    server_config: NetworkConfig,
) -> (
    network::NetworkHandle,
    network::NetworkHandle,
    tokio::sync::mpsc::Receiver<network::InboundRequest>,
) {
    let server_config =
        NetworkConfig { listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()], ..server_config };
    let (server, inbound, _) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), server_config).await.unwrap();
    (server, client().await, inbound.unwrap())
}

async fn client() -> network::NetworkHandle {
    let client_config = NetworkConfig { serve: false, ..NetworkConfig::default() };
    let (client, _, _) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), client_config).await.unwrap();
    client
}

fn recover() -> Request {
    Request::Recover(Recover {
        account: AccountId([1; 32]),
        epoch: 1,
        response_pk: X25519Secret::generate().public(),
        quote: QuoteBytes::new(vec![0; 64]).unwrap(),
    })
}

async fn wait_for(counter: &std::sync::atomic::AtomicU64, at_least: u64) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while NetworkStats::get(counter) < at_least {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("counter reached in time");
}

/// A flood of nonce requests fills the queue up to its reserve and is shed from there, while
/// a `Recover` still finds a place.
#[tokio::test]
async fn the_last_places_of_the_queue_take_only_recoveries() {
    let config =
        NetworkConfig { inbound_queue: 8, reserved_for_recover: 2, ..NetworkConfig::default() };
    let (server, client, mut inbound) = pair_with(config).await;
    let (peer, addrs) = (server.local_peer_id(), server.listen_addrs().to_vec());
    let mut waiting = Vec::new();
    for _ in 0..6 {
        let (client, addrs) = (client.clone(), addrs.clone());
        waiting.push(tokio::spawn(async move { client.request(peer, addrs, ask()).await }));
    }
    wait_for(&server.stats().inbound_requests, 6).await;
    let shed = client.request(peer, addrs.clone(), ask()).await.unwrap();
    assert_eq!(shed, Response::Error(ErrorReason::Unavailable));
    assert_eq!(NetworkStats::get(&server.stats().shed_for_recover), 1);
    let recovering = {
        let (client, addrs) = (client.clone(), addrs.clone());
        tokio::spawn(async move { client.request(peer, addrs, recover()).await })
    };
    wait_for(&server.stats().inbound_requests, 7).await;
    // Drain: every queued request, the recovery among them, reaches the handler.
    let mut recoveries = 0;
    for _ in 0..7 {
        let request = inbound.recv().await.unwrap();
        recoveries += usize::from(matches!(request.request(), Request::Recover(_)));
        request.respond(Response::Error(ErrorReason::NotRegistered));
    }
    assert_eq!(recoveries, 1);
    assert_eq!(recovering.await.unwrap().unwrap(), Response::Error(ErrorReason::NotRegistered));
    for request in waiting {
        assert_eq!(request.await.unwrap().unwrap(), Response::Error(ErrorReason::NotRegistered));
    }
}

/// One peer cannot make the provider decode and queue more than its bucket allows; another
/// peer is not affected.
#[tokio::test]
async fn each_peer_has_its_own_request_bucket() {
    let config = NetworkConfig {
        // No refill: exactly the burst passes, however slow the machine.
        peer_rate: RateLimits { burst: 3, per_second: 0, max_accounts: 16 },
        ..NetworkConfig::default()
    };
    let (server, flooder, mut inbound) = pair_with(config).await;
    let (peer, addrs) = (server.local_peer_id(), server.listen_addrs().to_vec());
    let answerer = tokio::spawn(async move {
        while let Some(request) = inbound.recv().await {
            request.respond(Response::Error(ErrorReason::NotRegistered));
        }
    });
    let mut limited = 0;
    for _ in 0..10 {
        let answer = flooder.request(peer, addrs.clone(), ask()).await.unwrap();
        limited += usize::from(matches!(answer, Response::Error(ErrorReason::RateLimited { .. })));
    }
    assert_eq!(limited, 7, "{limited} of 10 limited");
    assert_eq!(NetworkStats::get(&server.stats().peer_rate_limited), limited as u64);
    let other = client().await;
    let answer = other.request(peer, addrs, ask()).await.unwrap();
    assert_eq!(answer, Response::Error(ErrorReason::NotRegistered));
    answerer.abort();
}

/// Incoming connections are capped: past the cap a new peer is denied before any request.
#[tokio::test]
async fn incoming_connections_are_capped() {
    let config = NetworkConfig { max_incoming: 1, ..NetworkConfig::default() };
    let (server, first, mut inbound) = pair_with(config).await;
    let (peer, addrs) = (server.local_peer_id(), server.listen_addrs().to_vec());
    let answerer = tokio::spawn(async move {
        while let Some(request) = inbound.recv().await {
            request.respond(Response::Error(ErrorReason::NotRegistered));
        }
    });
    let answer = first.request(peer, addrs.clone(), ask()).await.unwrap();
    assert_eq!(answer, Response::Error(ErrorReason::NotRegistered));
    let second = client().await;
    let denied = tokio::time::timeout(Duration::from_secs(10), second.request(peer, addrs, ask()))
        .await
        .expect("a denied connection fails at once");
    assert!(denied.is_err(), "{denied:?}");
    wait_for(&server.stats().connections_denied, 1).await;
    answerer.abort();
}

#[tokio::test]
async fn a_full_queue_is_answered_unavailable_without_stalling() {
    let (server, client, mut inbound) = pair(1).await;
    let (peer, addrs) = (server.local_peer_id(), server.listen_addrs().to_vec());

    // Nobody reads the queue: the first request fills it and waits.
    let first = {
        let client = client.clone();
        let addrs = addrs.clone();
        tokio::spawn(async move { client.request(peer, addrs, ask()).await })
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        while NetworkStats::get(&server.stats().inbound_requests) < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    // The second is refused at once.
    let second = tokio::time::timeout(Duration::from_secs(5), client.request(peer, addrs, ask()))
        .await
        .expect("an overloaded provider answers at once")
        .unwrap();
    assert_eq!(second, Response::Error(ErrorReason::Unavailable));
    assert_eq!(NetworkStats::get(&server.stats().overloaded), 1);

    // Draining the queue answers the first.
    let request = inbound.recv().await.unwrap();
    request.respond(Response::Error(ErrorReason::NotRegistered));
    assert_eq!(first.await.unwrap().unwrap(), Response::Error(ErrorReason::NotRegistered));
}

#[tokio::test]
async fn a_vanished_handler_still_gets_the_peer_a_typed_answer() {
    let (server, client, mut inbound) = pair(8).await;
    let (peer, addrs) = (server.local_peer_id(), server.listen_addrs().to_vec());
    let request = tokio::spawn(async move { client.request(peer, addrs, ask()).await });
    // The handler drops the request without answering (as a panicking handler would).
    drop(inbound.recv().await.unwrap());
    let answer = tokio::time::timeout(Duration::from_secs(10), request).await.unwrap().unwrap();
    assert_eq!(answer.unwrap(), Response::Error(ErrorReason::Internal));
}

/// A request sent right behind the protocol name (`V1Lazy`, the default) to a peer that does
/// not serve the backup protocol fails at once with a typed error, as one that waits for the
/// protocol's confirmation does: it neither hangs until the request timeout nor is taken as a
/// request by the peer.
#[tokio::test]
async fn a_peer_without_the_protocol_fails_the_request_at_once_either_way() {
    let not_serving = NetworkConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        serve: false,
        ..NetworkConfig::default()
    };
    let (peer, inbound, _) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), not_serving).await.unwrap();
    assert!(inbound.is_none());
    for lazy in [true, false] {
        let config = NetworkConfig {
            serve: false,
            lazy_protocol_negotiation: lazy,
            request_timeout: Duration::from_secs(60),
            ..NetworkConfig::default()
        };
        let (client, _, _) =
            network::start(libp2p::identity::Keypair::generate_ed25519(), config).await.unwrap();
        let started = std::time::Instant::now();
        let answer =
            client.request(peer.local_peer_id(), peer.listen_addrs().to_vec(), ask()).await;
        assert!(
            matches!(
                answer,
                Err(network::RequestError::UnsupportedProtocols | network::RequestError::Io(_))
            ),
            "lazy {lazy}: {answer:?}"
        );
        // Well under the request timeout, with room for a slow machine's dial and handshakes.
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "lazy {lazy}: {:?}",
            started.elapsed()
        );
    }
}

/// Counts the noise messages each way through a TCP relay, by their framing: after the two
/// multistream-select messages that pick noise (varint length prefixed), every noise message
/// is a 2-byte big-endian length and that many bytes.
struct NoiseRelay {
    addr: libp2p::Multiaddr,
    /// Messages from the dialer to the listener, and back.
    to_listener: std::sync::Arc<std::sync::atomic::AtomicU64>,
    to_dialer: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl NoiseRelay {
    async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let to_listener = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let to_dialer = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counters = (to_listener.clone(), to_dialer.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let outbound = tokio::net::TcpStream::connect(target).await.unwrap();
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                tokio::spawn(Self::pump(in_read, out_write, counters.0.clone()));
                tokio::spawn(Self::pump(out_read, in_write, counters.1.clone()));
            }
        });
        let addr = format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap();
        Self { addr, to_listener, to_dialer }
    }

    async fn pump(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        messages: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut pending = Vec::new();
        let mut multistream_left = 2;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
            pending.extend_from_slice(&buf[..n]);
            loop {
                let (header, body) = if multistream_left > 0 {
                    // An unsigned varint length (short: the protocol names are short).
                    let Some(&len) = pending.first() else { break };
                    assert!(len < 0x80, "multistream message too long for this relay");
                    (1, len as usize)
                } else {
                    let [hi, lo, ..] = pending[..] else { break };
                    (2, u16::from_be_bytes([hi, lo]) as usize)
                };
                if pending.len() < header + body {
                    break;
                }
                pending.drain(..header + body);
                if multistream_left > 0 {
                    multistream_left -= 1;
                } else {
                    messages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    }

    fn counts(&self) -> (u64, u64) {
        let get = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        (get(&self.to_listener), get(&self.to_dialer))
    }

    /// The counts once nothing has moved for a while (a stream's close may trail its answer);
    /// fails the test if they are still moving after 10 s.
    async fn settled(&self) -> (u64, u64) {
        let mut last = self.counts();
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let now = self.counts();
                if now == last {
                    return now;
                }
                last = now;
            }
        })
        .await
        .expect("the relay's counts settle")
    }
}

/// Noise messages per request-response exchange, each way, between a client and a server
/// that both do or both do not coalesce a connection's writes.
async fn noise_messages_per_exchange(coalesce_writes: bool) -> (f64, f64) {
    const EXCHANGES: u64 = 20;
    let listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let server_config = NetworkConfig { listen, coalesce_writes, ..NetworkConfig::default() };
    let (server, inbound, _) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), server_config).await.unwrap();
    let mut inbound = inbound.unwrap();
    tokio::spawn(async move {
        while let Some(request) = inbound.recv().await {
            request.respond(Response::Error(ErrorReason::NotRegistered));
        }
    });
    let client_config = NetworkConfig { serve: false, coalesce_writes, ..NetworkConfig::default() };
    let (client, _, _) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), client_config).await.unwrap();
    let port = server.listen_addrs().iter().find_map(peerseal_testkit::flood::tcp_port);
    let relay =
        NoiseRelay::start(std::net::SocketAddr::from(([127, 0, 0, 1], port.unwrap()))).await;
    let peer = server.local_peer_id();
    // The first exchange also sets the connection up (noise handshake, muxer negotiation).
    let answer = client.request(peer, vec![relay.addr.clone()], ask()).await.unwrap();
    assert_eq!(answer, Response::Error(ErrorReason::NotRegistered));
    let before = relay.settled().await;
    for _ in 0..EXCHANGES {
        let answer = client.request(peer, vec![relay.addr.clone()], ask()).await.unwrap();
        assert_eq!(answer, Response::Error(ErrorReason::NotRegistered));
    }
    let after = relay.settled().await;
    let per = |a: u64, b: u64| (a - b) as f64 / EXCHANGES as f64;
    (per(after.0, before.0), per(after.1, before.1))
}

/// yamux flushes its socket after every frame, so every frame was a noise message and a socket
/// write of its own: a request, its stream's close, the protocol's confirmation, the response
/// and the close of that stream. Coalesced, a request leaves with its close and an answer
/// with its close; only the confirmation, written as the stream opens, still goes alone.
#[tokio::test]
async fn an_answer_leaves_with_its_streams_close_in_one_noise_message() {
    let (to_server, to_client) = noise_messages_per_exchange(true).await;
    // One message more or two in the twenty exchanges is allowed: yamux's keep-alive ping (every
    // 10 s) and its pong, or a late frame of the set-up exchange on a stalled machine, go alone.
    // A write per frame is at least twice the coalesced count, so this still tells them apart.
    assert!(to_server <= 1.1, "{to_server} noise messages per request");
    assert!(to_client <= 2.1, "{to_client} noise messages per answer");
    let (plain_to_server, plain_to_client) = noise_messages_per_exchange(false).await;
    assert!(plain_to_server >= 2.0, "{plain_to_server} noise messages per request, uncoalesced");
    assert!(plain_to_client >= 3.0, "{plain_to_client} noise messages per answer, uncoalesced");
    eprintln!(
        "noise messages per exchange: {to_server} / {to_client} coalesced, \
         {plain_to_server} / {plain_to_client} a write per frame"
    );
}
