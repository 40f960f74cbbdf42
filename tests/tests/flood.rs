//! Recovery under a flood, with real processes: four dev nodes on one dev chain, and eight
//! attacker peers (real libp2p on loopback, each its own identity) flooding the victim's
//! providers as fast as their connections allow with spoofed `RequestNonce` and
//! `HealthChallenge` naming the victim, nonces for made-up accounts, `Recover` with junk
//! quotes, oversized and garbage frames, and plain TCP garbage. Meanwhile the victim runs its
//! health checks every second, is SIGKILLed and restarted. It must recover, no node may be
//! forced into a rotation, and the providers keep serving.
//!
//! Before the flood fixes, limits were keyed on the account a request *claims*: the spoofed
//! requests emptied the victim's budget at each provider, so its recovery was refused
//! `RateLimited` for as long as the flood lasted, and its health checks failed and rotated its
//! key at every check.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::stream::{FuturesUnordered, StreamExt};
use libp2p::{Multiaddr, PeerId};
use peerseal::Status;
use peerseal_backup::network::{self, NetworkConfig, NetworkHandle};
use peerseal_e2e::{bounded, dev_chain, metric, provider_accounts};
use peerseal_protocol::{
    AccountId, AccountKeypair, HealthChallenge, Nonce32, QuoteBytes, Recover, Request,
    RequestNonce, X25519Secret,
};
use peerseal_testkit::{dev_ports, raw_frames, DaemonOptions, TssDaemon};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];
const ATTACKERS: usize = 8;
/// Requests each attacker keeps in flight (its connection's stream limit is 64).
const IN_FLIGHT: usize = 24;

#[derive(Clone)]
struct Target {
    name: &'static str,
    account: AccountId,
    peer: PeerId,
    addrs: Vec<Multiaddr>,
}

fn target(name: &'static str) -> Target {
    let id = peerseal_devkeys::dev_identity(name).unwrap();
    Target {
        name,
        account: AccountId(id.tss_account),
        peer: PeerId::from_bytes(&id.peer_id).unwrap(),
        addrs: vec![format!("/ip4/127.0.0.1/tcp/{}", id.p2p_port).parse().unwrap()],
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(8) {
        let word = rand_word().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    out
}

/// A cheap, non-cryptographic source for made-up accounts and junk (the attacker's choice).
fn rand_word() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

/// One hostile request, chosen by `n`.
fn hostile(n: u64, victim: AccountId, provider: &Target, spoofer: &AccountKeypair) -> Request {
    match n % 4 {
        0 => Request::RequestNonce(RequestNonce { account: victim }),
        1 => {
            let mut spoofed =
                HealthChallenge::sign(spoofer, provider.account, 1, Nonce32(random_bytes()));
            spoofed.account = victim;
            Request::HealthChallenge(spoofed)
        }
        2 => Request::RequestNonce(RequestNonce { account: AccountId(random_bytes()) }),
        _ => Request::Recover(Recover {
            account: victim,
            epoch: 1,
            response_pk: X25519Secret::generate().public(),
            quote: QuoteBytes::new(vec![0x42; 600]).unwrap(),
        }),
    }
}

/// Floods `targets` over the backup protocol until `stop`; returns how many requests it sent.
async fn protocol_attacker(targets: Vec<Target>, victim: AccountId, stop: Arc<AtomicBool>) -> u64 {
    let config = NetworkConfig { listen: vec![], serve: false, ..NetworkConfig::default() };
    let (net, _, _task): (NetworkHandle, _, _) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), config).await.unwrap();
    let spoofer = AccountKeypair::from_seed(&random_bytes()).unwrap();
    let mut sent = 0u64;
    let mut in_flight = FuturesUnordered::new();
    while !stop.load(Ordering::Relaxed) {
        while in_flight.len() < IN_FLIGHT {
            let to = &targets[(sent as usize) % targets.len()];
            let request = hostile(sent / targets.len() as u64, victim, to, &spoofer);
            let (net, peer, addrs) = (net.clone(), to.peer, to.addrs.clone());
            in_flight.push(async move { net.request(peer, addrs, request).await });
            sent += 1;
        }
        in_flight.next().await;
    }
    sent
}

/// Sends oversized and garbage frames on the backup protocol, and raw TCP garbage to the
/// listeners, until `stop`; returns how many it sent.
async fn frame_attacker(targets: Vec<Target>, stop: Arc<AtomicBool>) -> u64 {
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let to = &targets[(sent as usize) % targets.len()];
        let mut frame = if sent.is_multiple_of(2) {
            (1u32 << 24).to_be_bytes().to_vec() // announces 16 MiB: over the bound
        } else {
            64u32.to_be_bytes().to_vec() // well-sized, not SCALE of any request
        };
        frame.extend_from_slice(&[0xFF; 64]);
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            raw_frames::send(to.peer, to.addrs.clone(), frame),
        )
        .await;
        if let Some(port) = to.addrs[0].iter().find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        }) {
            if let Ok(mut tcp) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                use tokio::io::AsyncWriteExt;
                let _ = tcp.write_all(&random_bytes::<512>()).await;
            }
        }
        sent += 2;
    }
    sent
}

fn epoch(status: &Status) -> u64 {
    status.epoch.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_recovers_under_a_flood_and_nobody_is_forced_to_rotate() {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let dirs = tempfile::tempdir().unwrap();
    // Health checks every second, and the default replacement policy (3 bad proofs in a row,
    // or 15 minutes without an answer): what a flood does to the checks shows within seconds.
    let options = DaemonOptions::logs_in(dirs.path()).env("PEERSEAL_HEALTH_INTERVAL_SECS", "1");
    let start = |name: &'static str| {
        TssDaemon::start_with(name, &chain_node.url, &dirs.path().join(name), &options).unwrap()
    };
    let mut nodes: Vec<Option<TssDaemon>> = NAMES.iter().map(|n| Some(start(n))).collect();
    let mut before = Vec::new();
    for node in nodes.iter().flatten() {
        before.push(bounded(240, node.wait_for("ready", 230)).await.unwrap());
    }
    let victim = target("alice");
    let providers: Vec<Target> = NAMES[1..]
        .iter()
        .map(|n| target(n))
        .filter(|t| provider_accounts(&before[0]).contains(&hex::encode(t.account.0)))
        .collect();
    assert!(providers.len() >= 2, "alice's backup names its providers: {:?}", before[0]);
    let mut served_before = 0;
    for t in &providers {
        served_before +=
            metric(node_named(&nodes, t.name), "peerseal_recoveries_served_total").await;
    }

    // The flood starts and runs until the end of the test.
    let stop = Arc::new(AtomicBool::new(false));
    let mut attackers = Vec::new();
    for _ in 0..ATTACKERS {
        let (targets, stop) = (providers.clone(), stop.clone());
        attackers.push(tokio::spawn(protocol_attacker(targets, victim.account, stop)));
    }
    let frames = tokio::spawn(frame_attacker(providers.clone(), stop.clone()));

    // Five seconds of health checks under the flood: no rotation.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during = nodes[0].as_ref().unwrap().status().await.unwrap();
    assert_eq!(epoch(&during), epoch(&before[0]), "no forced rotation: {during:?}");
    assert_eq!(during.rebackups, 0, "{during:?}");

    // SIGKILL the victim and restart it, still under the flood.
    nodes[0].take().unwrap().kill();
    let restarted_at = Instant::now();
    nodes[0] = Some(start("alice"));
    let after = bounded(150, nodes[0].as_ref().unwrap().wait_for("ready", 140)).await.unwrap();
    let recovery = restarted_at.elapsed();
    assert!(after.recovery_ms.is_some(), "it recovered its key: {after:?}");
    assert_eq!(epoch(&after), epoch(&before[0]) + 1, "the boot rotation and nothing else");

    // More health checks under the flood, then the flood stops by itself.
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::Relaxed);
    let sent = AtomicU64::new(0);
    for attacker in attackers {
        sent.fetch_add(bounded(60, attacker).await.unwrap(), Ordering::Relaxed);
    }
    let frames_sent = bounded(60, frames).await.unwrap();
    let sent = sent.into_inner();
    eprintln!(
        "flood: {sent} protocol requests and {frames_sent} hostile frames; victim ready {:.1} s \
         after its restart (recovery {} ms)",
        recovery.as_secs_f64(),
        after.recovery_ms.unwrap_or_default()
    );
    assert!(sent > 1_000, "the attackers really flooded: {sent}");

    // Nobody was forced to rotate: each node is at the epoch it had (alice: one boot rotation).
    for (i, node) in nodes.iter().enumerate() {
        let now = node.as_ref().unwrap().status().await.unwrap();
        let expected = epoch(&before[i]) + u64::from(i == 0);
        assert_eq!(epoch(&now), expected, "{}: {now:?}", NAMES[i]);
        // Alice's restarted process counts its boot rotation; nothing else rotated.
        let rotations = u64::from(i == 0);
        assert_eq!(now.rebackups, rotations, "{}: no health-check rotation: {now:?}", NAMES[i]);
        assert_eq!(now.state.label(), "ready", "{}", NAMES[i]);
    }
    // The providers served the victim and refused the flood, counted by reason.
    let mut served_after = 0;
    for t in &providers {
        let node = node_named(&nodes, t.name);
        served_after += metric(node, "peerseal_recoveries_served_total").await;
        let refused = metric(node, "peerseal_network_refusals_total").await
            + metric(node, "peerseal_provider_refusals_total").await;
        assert!(refused > 100, "{} refused the flood: {refused}", t.name);
    }
    assert!(served_after >= served_before + 2, "two shares released to the victim");
    drop(nodes);
}

fn node_named<'a>(nodes: &'a [Option<TssDaemon>], name: &str) -> &'a TssDaemon {
    nodes.iter().flatten().find(|n| n.name == name).unwrap()
}
