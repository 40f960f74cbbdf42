//! The network task on its own (two real swarms on loopback, no chain): a full inbound queue is
//! answered `Unavailable` at once instead of stalling, and a request whose handler vanished
//! without answering still gets a typed `Internal` reply.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal_backup::network::{self, NetworkConfig, NetworkStats};
use peerseal_protocol::{AccountId, ErrorReason, Request, RequestNonce, Response};
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
    let server_config = NetworkConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        inbound_queue,
        ..NetworkConfig::default()
    };
    let (server, inbound, _) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), server_config).await.unwrap();
    let client_config = NetworkConfig { serve: false, ..NetworkConfig::default() };
    let (client, _, _) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), client_config).await.unwrap();
    (server, client, inbound.unwrap())
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
