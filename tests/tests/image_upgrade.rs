//! An image upgrade end to end, with real processes on loopback and labelled mock images (dev
//! mock quotes with another MRTD stand in for another image build): governance accepts the new
//! image's measurement, a node restarts on the new image and recovers its key (and rotates to a
//! fresh epoch), governance revokes the old measurement, and a node still on the old image is
//! refused until it too restarts on the new one.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal::phase::Phase;
use peerseal_attestation::{mock_image_measurement, mock_measurement};
use peerseal_e2e::{bounded, dev_chain, verified};
use peerseal_testkit::{dev_ports, governance, DaemonOptions, TssDaemon};
use std::time::Duration;

const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_upgraded_to_an_accepted_image_recovers_and_the_revoked_image_is_refused() {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let dirs = tempfile::tempdir().unwrap();
    let old_image = DaemonOptions::logs_in(dirs.path());
    let mut new_image = old_image.clone();
    new_image.args.extend(["--mock-image".to_owned(), "v2".to_owned()]);
    let start = |name: &'static str, options: &DaemonOptions| {
        TssDaemon::start_with(name, &chain_node.url, &dirs.path().join(name), options).unwrap()
    };
    let mut nodes: Vec<Option<TssDaemon>> =
        NAMES.iter().map(|n| Some(start(n, &old_image))).collect();
    let mut before = Vec::new();
    for node in nodes.iter().flatten() {
        before.push(bounded(240, node.wait_for("ready", 230)).await.unwrap());
    }

    // Governance accepts the new image; alice restarts on it and recovers.
    let v2 = mock_image_measurement("v2");
    bounded(60, governance::accept_measurement(&chain_node.url, v2.0)).await.unwrap();
    nodes[0].take().unwrap().kill();
    nodes[0] = Some(start("alice", &new_image));
    let alice = bounded(180, nodes[0].as_ref().unwrap().wait_for("ready", 170)).await.unwrap();
    assert_eq!(alice.first_start_marker, before[0].first_start_marker, "the same store");
    assert!(alice.epoch > before[0].epoch, "rotated on boot: {alice:?}");

    // Governance revokes the old image. Bob, still on it, restarts: no provider releases his
    // share (each refuses the measurement), and his store is left alone.
    let revoked_at =
        bounded(60, governance::revoke_measurement(&chain_node.url, mock_measurement().0))
            .await
            .unwrap();
    // The providers refuse from the first verified block holding the revocation (no cache).
    let providers: Vec<&TssDaemon> = [0, 2, 3].iter().filter_map(|&i| nodes[i].as_ref()).collect();
    verified(&providers, revoked_at, 30).await;
    nodes[1].take().unwrap().kill();
    nodes[1] = Some(start("bob", &old_image));
    let refused = bounded(
        90,
        nodes[1].as_ref().unwrap().wait_until("refused", Duration::from_secs(80), |s| {
            matches!(&s.state, Phase::RecoveryFailed { reason, .. }
                if reason.contains("measurement_not_accepted") || reason.contains("MeasurementNotAccepted"))
                || s.state.label() == "ready"
        }),
    )
    .await
    .unwrap();
    assert!(
        matches!(refused.state, Phase::RecoveryFailed { .. }),
        "a node on the revoked image recovered: {refused:?}"
    );

    // Bob upgrades too: he recovers the same store.
    nodes[1].take().unwrap().kill();
    nodes[1] = Some(start("bob", &new_image));
    let bob = bounded(180, nodes[1].as_ref().unwrap().wait_for("ready", 170)).await.unwrap();
    assert_eq!(bob.first_start_marker, before[1].first_start_marker);
}

/// The platform rule end to end (dev mock quotes claim a platform and a PCK the flags choose): a
/// TCB update (new PCK key, same platform) recovers once the dev chain allows the new mock PCK;
/// a move to another host is refused until governance approves it for that account, then
/// recovers; the approval is an audit event on chain (`Registry.MoveApproved`, which the
/// governance helper waits for).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcb_update_recovers_and_a_move_recovers_once_governance_approves_it() {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let dirs = tempfile::tempdir().unwrap();
    let plain = DaemonOptions::logs_in(dirs.path());
    let with_args = |args: &[&str]| {
        let mut options = plain.clone();
        options.args.extend(args.iter().map(|a| (*a).to_owned()));
        options
    };
    let start = |name: &'static str, options: &DaemonOptions| {
        TssDaemon::start_with(name, &chain_node.url, &dirs.path().join(name), options).unwrap()
    };
    let mut nodes: Vec<Option<TssDaemon>> = NAMES.iter().map(|n| Some(start(n, &plain))).collect();
    let mut before = Vec::new();
    for node in nodes.iter().flatten() {
        before.push(bounded(240, node.wait_for("ready", 230)).await.unwrap());
    }

    // A TCB update: alice's mock PCK changes, her platform does not.
    let seed = [0x77u8; 32];
    let new_pck = peerseal_attestation::mock_pck_key(&seed);
    bounded(60, governance::allow_mock_pck(&chain_node.url, new_pck.0)).await.unwrap();
    nodes[0].take().unwrap().kill();
    let updated = with_args(&["--mock-pck-seed", &hex::encode(seed)]);
    nodes[0] = Some(start("alice", &updated));
    let alice = bounded(180, nodes[0].as_ref().unwrap().wait_for("ready", 170)).await.unwrap();
    assert_eq!(alice.first_start_marker, before[0].first_start_marker);

    // A move: alice now runs on another host. Refused, files untouched, until approved.
    let host = [0xE1u8; 16];
    let moved =
        with_args(&["--mock-pck-seed", &hex::encode(seed), "--mock-platform", &hex::encode(host)]);
    nodes[0].take().unwrap().kill();
    nodes[0] = Some(start("alice", &moved));
    let refused = bounded(
        90,
        nodes[0].as_ref().unwrap().wait_until("refused", Duration::from_secs(80), |s| {
            matches!(&s.state, Phase::RecoveryFailed { .. }) || s.state.label() == "ready"
        }),
    )
    .await
    .unwrap();
    let Phase::RecoveryFailed { reason, .. } = &refused.state else {
        panic!("a move to another host recovered without approval: {refused:?}")
    };
    assert!(reason.contains("PckMismatch"), "{reason}");
    let tss = peerseal_devkeys::dev_identity("alice").unwrap().tss_account;
    bounded(60, governance::approve_move(&chain_node.url, tss, host)).await.unwrap();
    let alice = bounded(180, nodes[0].as_ref().unwrap().wait_for("ready", 170)).await.unwrap();
    assert_eq!(alice.first_start_marker, before[0].first_start_marker, "the same store moved");
}
