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

use libp2p::{Multiaddr, PeerId};
use peerseal::Status;
use peerseal_e2e::{bounded, dev_chain, metric, provider_accounts};
use peerseal_protocol::AccountId;
use peerseal_testkit::flood::{frame_attacker, protocol_attacker, FloodTarget};
use peerseal_testkit::{dev_ports, DaemonOptions, TssDaemon};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];
const ATTACKERS: usize = 8;

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

fn flood_targets(targets: &[Target]) -> Vec<FloodTarget> {
    targets
        .iter()
        .map(|t| FloodTarget { account: t.account, peer: t.peer, addrs: t.addrs.clone() })
        .collect()
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
        let (targets, stop) = (flood_targets(&providers), stop.clone());
        attackers.push(tokio::spawn(protocol_attacker(targets, victim.account, stop)));
    }
    let frames = tokio::spawn(frame_attacker(flood_targets(&providers), stop.clone()));

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
        sent.fetch_add(bounded(60, attacker).await.unwrap().unwrap(), Ordering::Relaxed);
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
