//! Where an idle libp2p round trip's time goes, against HTTP/1.1, in one run: the same request
//! and answer bytes (a `RequestNonce` and a `NotRegistered` refusal, framed as on the wire) go
//! back and forth on loopback, one at a time, four ways, alternating in rounds:
//!
//! - **request-response**: the node's own network ([`network::start`]: request-response over
//!   TCP + noise + coalesced yamux, lazy negotiation), a stream per request, driven by the
//!   swarm's event loop;
//! - **stream per request**: the same transport, but the application opens a yamux stream per
//!   request and reads and writes it itself (`libp2p-stream`), with no event loop in between;
//! - **kept stream**: the same transport, one stream opened once and carrying every request;
//! - **HTTP/1.1**: an axum server and a hyper client on one kept-alive connection, the same
//!   bytes as the body (binary, not JSON: this compares transports, not encodings).
//!
//! The first two differ by the event loop's hand-offs; the second and third by a stream's
//! set-up and close per request. `cargo bench -p peerseal-backup --bench round_trip`; without
//! `--bench` (as `cargo test --benches` runs it) a short smoke version runs. Numbers in
//! BENCHMARKS.md.
// A benchmark that cannot set up its fixture has nothing to measure: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use futures::{AsyncWriteExt, StreamExt};
use hyper::body::Bytes;
use libp2p::{identity::Keypair, Multiaddr, PeerId, StreamProtocol, Swarm};
use peerseal_backup::network::{self, NetworkConfig, NetworkHandle};
use peerseal_backup::provider::ratelimit::RateLimits;
use peerseal_protocol::limits::{MAX_REQUEST_LEN, MAX_RESPONSE_LEN};
use peerseal_protocol::p2p::{read_frame, write_frame};
use peerseal_protocol::{AccountId, ErrorReason, Request, RequestNonce, Response};
use std::time::Instant;

#[path = "shared/http1.rs"]
mod http1;

/// The stream protocols' name: not the backup protocol, which the node serves by
/// request-response.
const STREAM_PROTOCOL: StreamProtocol = StreamProtocol::new("/peerseal-bench/round-trip/1");

fn request() -> Request {
    Request::RequestNonce(RequestNonce { account: AccountId([7; 32]) })
}

fn answer() -> Response {
    Response::Error(ErrorReason::NotRegistered)
}

/// A swarm on the node's own transport ([`network::build_swarm`] with the default
/// configuration) and only the generic stream behaviour.
fn stream_swarm() -> Swarm<libp2p_stream::Behaviour> {
    // The kept stream stays open, so the connection is never idle.
    let config = NetworkConfig::default();
    network::build_swarm(Keypair::generate_ed25519(), &config, libp2p_stream::Behaviour::new())
        .unwrap()
}

/// Answers every frame on every accepted stream, until the stream ends.
async fn serve_streams(mut control: libp2p_stream::Control) {
    let mut incoming = control.accept(STREAM_PROTOCOL).unwrap();
    let reply = answer().to_bytes().unwrap();
    while let Some((_peer, mut stream)) = incoming.next().await {
        let reply = reply.clone();
        tokio::spawn(async move {
            while let Ok(frame) = read_frame(&mut stream, MAX_REQUEST_LEN).await {
                Request::from_bytes(&frame).unwrap();
                if write_frame(&mut stream, &reply, MAX_RESPONSE_LEN).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// One exchange on an open stream; checks the answer.
async fn exchange(stream: &mut libp2p::Stream, bytes: &[u8]) {
    write_frame(stream, bytes, MAX_REQUEST_LEN).await.unwrap();
    let frame = read_frame(stream, MAX_RESPONSE_LEN).await.unwrap();
    assert_eq!(Response::from_bytes(&frame).unwrap(), answer());
}

struct Fixture {
    node_client: NetworkHandle,
    /// Held: dropping a node's handle stops its network.
    _node_server: NetworkHandle,
    node_address: (PeerId, Vec<Multiaddr>),
    control: libp2p_stream::Control,
    stream_server: PeerId,
    kept: libp2p::Stream,
    http: http1::Http1Client,
}

async fn fixture() -> Fixture {
    // The node's network, serving one answer to everything; its per-peer bucket raised, as
    // the one client peer sends thousands of requests.
    let listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let peer_rate = RateLimits { burst: 1_000_000, per_second: 1_000_000, max_accounts: 16 };
    let config = NetworkConfig { listen, peer_rate, ..NetworkConfig::default() };
    let (node_server, inbound, _) =
        network::start(Keypair::generate_ed25519(), config).await.unwrap();
    let mut inbound = inbound.unwrap();
    tokio::spawn(async move {
        while let Some(request) = inbound.recv().await {
            request.respond(answer());
        }
    });
    let client_config = NetworkConfig { serve: false, ..NetworkConfig::default() };
    let (node_client, _, _) =
        network::start(Keypair::generate_ed25519(), client_config).await.unwrap();
    let node_address = (node_server.local_peer_id(), node_server.listen_addrs().to_vec());

    // The stream swarms.
    let mut server = stream_swarm();
    server.listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap()).unwrap();
    let address = loop {
        if let libp2p::swarm::SwarmEvent::NewListenAddr { address, .. } =
            server.select_next_some().await
        {
            break address;
        }
    };
    let stream_server = *server.local_peer_id();
    tokio::spawn(serve_streams(server.behaviour().new_control()));
    tokio::spawn(async move {
        loop {
            server.select_next_some().await;
        }
    });
    let mut client = stream_swarm();
    // The stream behaviour keeps no addresses: connect first, streams then use the connection.
    client.dial(address).unwrap();
    loop {
        if let libp2p::swarm::SwarmEvent::ConnectionEstablished { .. } =
            client.select_next_some().await
        {
            break;
        }
    }
    let mut control = client.behaviour().new_control();
    tokio::spawn(async move {
        loop {
            client.select_next_some().await;
        }
    });
    let kept = control.open_stream(stream_server, STREAM_PROTOCOL).await.unwrap();

    // HTTP/1.1.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/rpc",
        axum::routing::post(|body: Bytes| async move {
            Request::from_bytes(&body).unwrap();
            answer().to_bytes().unwrap()
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = http1::Http1Client::connect(http_addr).await.unwrap();

    Fixture {
        node_client,
        _node_server: node_server,
        node_address,
        control,
        stream_server,
        kept,
        http,
    }
}

/// The four ways, in the order of the table.
const WAYS: [&str; 4] =
    ["request-response (the node)", "stream per request", "kept stream", "HTTP/1.1 kept alive"];

impl Fixture {
    /// One round trip the `way`-th way; its time in µs.
    async fn round_trip(&mut self, way: usize, bytes: &[u8]) -> f64 {
        let started = Instant::now();
        match way {
            0 => {
                let (peer, addrs) = &self.node_address;
                let got = self.node_client.request(*peer, addrs.clone(), request()).await;
                assert_eq!(got.unwrap(), answer());
            }
            1 => {
                let mut stream =
                    self.control.open_stream(self.stream_server, STREAM_PROTOCOL).await.unwrap();
                exchange(&mut stream, bytes).await;
                stream.close().await.unwrap();
            }
            2 => exchange(&mut self.kept, bytes).await,
            _ => {
                let reply = self.http.post("/rpc", "application/octet-stream", bytes.to_vec());
                assert_eq!(Response::from_bytes(&reply.await.unwrap()).unwrap(), answer());
            }
        }
        started.elapsed().as_secs_f64() * 1e6
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rounds, per_round) = if full { (20, 200) } else { (2, 10) };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let mut f = fixture().await;
        let bytes = request().to_bytes().unwrap();
        // Connections up, caches warm.
        for way in 0..WAYS.len() {
            for _ in 0..per_round {
                f.round_trip(way, &bytes).await;
            }
        }
        let mut samples = vec![Vec::new(); WAYS.len()];
        for _ in 0..rounds {
            for (way, times) in samples.iter_mut().enumerate() {
                for _ in 0..per_round {
                    times.push(f.round_trip(way, &bytes).await);
                }
            }
        }
        for times in &mut samples {
            times.sort_by(f64::total_cmp);
        }
        let http_p50 = percentile(&samples[3], 0.5);
        println!(
            "idle round trips on loopback, {} each, alternating in {rounds} rounds \
             ({} request bytes, {} answer bytes)",
            samples[0].len(),
            bytes.len(),
            answer().to_bytes().unwrap().len()
        );
        println!("{:<30} {:>9} {:>9} {:>12}", "way", "p50 µs", "p99 µs", "p50 / HTTP");
        for (way, times) in samples.iter().enumerate() {
            let p50 = percentile(times, 0.5);
            println!(
                "{:<30} {:>9.1} {:>9.1} {:>12.2}",
                WAYS[way],
                p50,
                percentile(times, 0.99),
                p50 / http_p50
            );
        }
    });
}
