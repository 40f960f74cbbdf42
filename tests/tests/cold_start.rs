//! A whole-network cold start with real processes (issue 13): four nodes back up 2-of-3 with
//! each other and seal their keys 2-of-3 to three recovery operators; then all four are
//! SIGKILLed at once and restarted on the same disks. No provider can serve (each is locked
//! too), so every node reaches `awaiting_operators` and shows where operators reach it. An
//! operator outside the set is refused and releases nothing; two operators run `peerseal
//! operator recover` against two nodes, which open their stores, report
//! `RecoveredByOperators` on chain and serve as providers again; the other two then recover
//! from those providers without any operator. All four end ready at fresh epochs and read back
//! what they wrote before the outage. Then two partial outages, with expectations taken from
//! the nodes' recorded assignments (a node that backed up while few providers were up holds a
//! 2-of-2 backup): two nodes whose providers keep their threshold running recover from their
//! peers without operators; then three restart while one runs (a closed cycle), those left
//! below their threshold ask for operators, and once operators bring one back the others
//! recover from it if they now can, or get their operators too.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt;
use peerseal::recovery_file::parse_account;
use peerseal::Status;
use peerseal_chain::{AccountId, ChainEvent};
use peerseal_e2e::{bounded, dev_chain, recorded_at, start_ready, wait_for_epoch};
use peerseal_testkit::{dev_ports, governance, operator, DaemonOptions, TssDaemon};
use std::time::Duration;

const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];

async fn post(node: &TssDaemon, path: &str) -> (u16, String) {
    peerseal::http::post(node.http, path).await.unwrap()
}

/// Waits until `node` awaits its operators; its status then.
async fn awaiting_operators(node: &TssDaemon) -> Status {
    node.wait_until("awaiting operators", Duration::from_secs(90), |s| {
        s.state.label() == "awaiting_operators" && s.cold_start.is_some()
    })
    .await
    .unwrap()
}

/// The `RecoveredByOperators` events of the chain (client, epoch), from block 1 to the
/// verified head.
async fn recovered_by_operators(url: &str) -> Vec<(AccountId, u64)> {
    let chain = peerseal_testkit::connect_chain(url).await.unwrap();
    let head = chain.finalized_number().await.unwrap();
    let mut blocks = Box::pin(chain.finalized_blocks_from(1));
    let mut found = Vec::new();
    loop {
        let block = blocks.next().await.unwrap().unwrap();
        for event in &block.events {
            if let ChainEvent::RecoveredByOperators { client, epoch, operator_set } = event {
                assert_eq!(*operator_set, 1);
                found.push((*client, *epoch));
            }
        }
        if block.number >= head {
            return found;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_whose_every_node_restarted_at_once_comes_back_through_its_operators() {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let url = chain_node.url.clone();
    let chain = peerseal_testkit::connect_chain(&url).await.unwrap();
    let dirs = tempfile::tempdir().unwrap();
    let options = DaemonOptions::logs_in(dirs.path());
    let (mut nodes, before) = start_ready(&NAMES, &url, dirs.path(), &options).await;
    let accounts: Vec<AccountId> =
        before.iter().map(|s| parse_account(s.account.as_deref().unwrap()).unwrap()).collect();

    // Three operators, 2-of-3; every node seals its (rotated) key to them.
    let keys = tempfile::tempdir().unwrap();
    let mut listed = Vec::new();
    for i in 0..3u8 {
        let public =
            operator::keygen(&keys.path().join(format!("operator-{i}.key"))).await.unwrap();
        listed.push(([0xE0 + i; 32], public));
    }
    bounded(60, governance::set_recovery_operators(&url, &listed, 2)).await.unwrap();
    let mut sealed_epochs = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let node = node.as_ref().unwrap();
        let after = bounded(130, wait_for_epoch(node, before[i].epoch.unwrap() + 1)).await;
        let epoch = after.epoch.unwrap();
        bounded(60, recorded_at(&chain, &accounts[i], epoch)).await;
        sealed_epochs.push(epoch);
        let (code, body) = post(node, &format!("/dev/records/{}", 40 + i)).await;
        assert_eq!(code, 200, "{body}");
    }

    // The outage: every node SIGKILLed at once, then all restarted on the same disks.
    for node in &mut nodes {
        node.take().unwrap().kill();
    }
    let nodes: Vec<TssDaemon> = NAMES
        .iter()
        .map(|name| TssDaemon::start_with(name, &url, &dirs.path().join(name), &options).unwrap())
        .collect();
    let mut addresses = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let status = bounded(100, awaiting_operators(node)).await;
        let view = status.cold_start.unwrap();
        assert_eq!(view.epoch, sealed_epochs[i], "{:?}", node.name);
        assert_eq!((view.shares_held, view.shares_needed), (0, Some(2)));
        assert!(view.operator_address.contains("/p2p/"), "{view:?}");
        addresses.push(view.operator_address);
    }
    let root = peerseal_testkit::write_trust_root(&url, keys.path()).unwrap();

    // A key outside the operator set gets nothing (and the node holds no share from it).
    let outsider = keys.path().join("outsider.key");
    operator::keygen(&outsider).await.unwrap();
    let refused = operator::recover(&addresses[0], &outsider, &url, &root).await.unwrap();
    assert!(!refused.success, "{refused:?}");
    assert!(refused.stderr.contains("nothing released"), "{refused:?}");
    assert!(refused.stdout.contains("\"step\":\"checked\""), "the node itself passed: {refused:?}");
    let status = nodes[0].status().await.unwrap();
    assert_eq!(status.cold_start.unwrap().shares_held, 0);

    // Two operators release their shares to alice and bob: one share is not enough, two are.
    for target in 0..2 {
        for (n, op) in [0usize, 2].into_iter().enumerate() {
            let secret = keys.path().join(format!("operator-{op}.key"));
            let outcome =
                operator::recover(&addresses[target], &secret, &url, &root).await.unwrap();
            assert!(outcome.success, "{outcome:?}");
            let last: serde_json::Value =
                serde_json::from_str(outcome.stdout.lines().last().unwrap()).unwrap();
            assert_eq!(last["step"], "released", "{outcome:?}");
            assert_eq!(last["index"].as_u64(), Some(op as u64 + 1));
            assert_eq!(last["epoch"].as_u64(), Some(sealed_epochs[target]));
            assert_eq!(
                (last["held"].as_u64(), last["needed"].as_u64()),
                (Some(n as u64 + 1), Some(2))
            );
            if n == 0 {
                let status = nodes[target].status().await.unwrap();
                assert_eq!(status.state.label(), "awaiting_operators", "one share opens nothing");
            }
        }
    }

    // All four come back: alice and bob from the operators, charlie and dave from them.
    for (i, node) in nodes.iter().enumerate() {
        let ready = bounded(200, wait_for_epoch(node, sealed_epochs[i] + 1)).await;
        let view = ready.cold_start.as_ref().expect("the cold start stays in the status");
        assert_eq!(view.recovered_by_operators, i < 2, "{}: {ready:?}", node.name);
        let (code, body) = node.get(&format!("/dev/records/{}", 40 + i)).await.unwrap();
        assert_eq!((code, body.trim()), (200, format!("record {}", 40 + i).as_str()));
    }
    let audited = recovered_by_operators(&url).await;
    assert_eq!(
        audited,
        vec![(accounts[0], sealed_epochs[0]), (accounts[1], sealed_epochs[1])],
        "the chain records exactly the two cold starts"
    );

    // Partial outages. Which restarting node can recover from its peers depends on its recorded
    // assignment (a node that backed up while few providers were up holds a 2-of-2 backup), so
    // the expectations come from the nodes' own statuses: a node asks for operators exactly when
    // fewer than its threshold of its providers keep running.
    let mut nodes: Vec<Option<TssDaemon>> = nodes.into_iter().map(Some).collect();
    let mut operator_recoveries = 2;

    // Peers can help: two nodes each of whose backups keeps its threshold among the other two.
    let statuses = statuses_of(&nodes).await;
    let pair = (0..4)
        .flat_map(|a| (a + 1..4).map(move |b| [a, b]))
        .find(|pair| pair.iter().all(|&i| !needs_operators(&statuses[i], &statuses, pair)))
        .unwrap_or_else(|| panic!("no two nodes can restart from their peers: {statuses:?}"));
    let mut epochs: Vec<u64> = statuses.iter().map(|s| s.epoch.unwrap()).collect();
    restart(&mut nodes, &pair, &url, dirs.path(), &options);
    for &i in &pair {
        let ready = bounded(200, wait_for_epoch(nodes[i].as_ref().unwrap(), epochs[i] + 1)).await;
        let by_operators = ready.cold_start.as_ref().is_some_and(|c| c.recovered_by_operators);
        assert!(!by_operators, "{} needed operators with its providers up: {ready:?}", NAMES[i]);
        assert_eq!(ready.recovery_attempts, 1, "{ready:?}");
    }

    // A closed cycle with one node up: the other three restart. Those that keep fewer than
    // their threshold of providers running ask for operators; operators bring one back, then
    // each of the rest recovers from its peers if it now can, or gets its operators too.
    let statuses = statuses_of(&nodes).await;
    for (i, status) in statuses.iter().enumerate() {
        epochs[i] = status.epoch.unwrap();
        bounded(60, recorded_at(&chain, &accounts[i], epochs[i])).await;
    }
    let (running, restarting, cold) = (0..4)
        .map(|r| {
            let restarting: Vec<usize> = (0..4).filter(|&i| i != r).collect();
            let cold: Vec<usize> = restarting
                .iter()
                .copied()
                .filter(|&i| needs_operators(&statuses[i], &statuses, &restarting))
                .collect();
            (r, restarting, cold)
        })
        .max_by_key(|(_, _, cold)| cold.len())
        .unwrap();
    assert!(
        !cold.is_empty(),
        "no restart of three leaves a node without its threshold: {statuses:?}"
    );
    restart(&mut nodes, &restarting, &url, dirs.path(), &options);
    let mut addresses = std::collections::BTreeMap::new();
    for &i in &cold {
        let status = bounded(100, awaiting_operators(nodes[i].as_ref().unwrap())).await;
        addresses.insert(i, status.cold_start.unwrap().operator_address);
    }
    let mut by_operators = Vec::new();
    for (n, &i) in cold.iter().enumerate() {
        let node = nodes[i].as_ref().unwrap();
        if n > 0 {
            // Providers brought back since may be enough now.
            let on_its_own = node
                .wait_until("recovered from peers", Duration::from_secs(15), |s| {
                    s.state.label() != "awaiting_operators"
                })
                .await;
            if on_its_own.is_ok() {
                continue;
            }
        }
        for op in [1usize, 2] {
            let secret = keys.path().join(format!("operator-{op}.key"));
            let outcome = operator::recover(&addresses[&i], &secret, &url, &root).await.unwrap();
            assert!(outcome.success, "{outcome:?}");
        }
        by_operators.push(i);
    }
    for &i in &restarting {
        let ready = bounded(200, wait_for_epoch(nodes[i].as_ref().unwrap(), epochs[i] + 1)).await;
        let view = ready.cold_start.as_ref();
        assert_eq!(
            view.is_some_and(|c| c.recovered_by_operators),
            by_operators.contains(&i),
            "{} (running: {}): {ready:?}",
            NAMES[i],
            NAMES[running]
        );
        if cold.contains(&i) {
            assert!(view.is_some(), "{} had no peers and must have asked: {ready:?}", NAMES[i]);
        }
    }
    operator_recoveries += by_operators.len();
    let audited = recovered_by_operators(&url).await;
    assert_eq!(audited.len(), operator_recoveries, "{audited:?}");
    for (n, &i) in by_operators.iter().enumerate() {
        assert_eq!(audited[2 + n], (accounts[i], epochs[i]));
    }
}

/// Every node's status (all running).
async fn statuses_of(nodes: &[Option<TssDaemon>]) -> Vec<Status> {
    let mut statuses = Vec::new();
    for node in nodes.iter().flatten() {
        statuses.push(node.status().await.unwrap());
    }
    statuses
}

/// Whether the node of `status` keeps fewer than its threshold of providers running when the
/// nodes at `restarting` (indices into `all`) restart: it then needs its operators.
fn needs_operators(status: &Status, all: &[Status], restarting: &[usize]) -> bool {
    let down: Vec<&str> = restarting.iter().filter_map(|&i| all[i].account.as_deref()).collect();
    let up = status.providers.iter().filter(|p| !down.contains(&p.account.as_str())).count();
    up < usize::from(status.threshold.unwrap())
}

/// SIGKILLs the nodes at `which` at once, then starts them again on the same disks.
fn restart(
    nodes: &mut [Option<TssDaemon>],
    which: &[usize],
    url: &str,
    dirs: &std::path::Path,
    options: &DaemonOptions,
) {
    for &i in which {
        nodes[i].take().unwrap().kill();
    }
    for &i in which {
        nodes[i] =
            Some(TssDaemon::start_with(NAMES[i], url, &dirs.join(NAMES[i]), options).unwrap());
    }
}
