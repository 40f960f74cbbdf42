//! Chain-triggered re-backup with key rotation, with real processes: governance removes a
//! provider (`Sudo.sudo(Registry.remove { stash })` signed by //Alice); every node whose backup
//! named it rotates its store to a new key epoch, backs the new key up with other providers and
//! records it. The same story with the process aborted at each step of the rotation: after a
//! restart the node recovers, finishes, and still reads what it wrote at its first start.
//! Without a crash, every affected client's new backup is on chain within two blocks of the
//! removal, not counting the blocks the dev chain seals for the re-backups' own transactions
//! (one block per transaction there; see `peerseal_e2e::rebackup::Lag`).
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal::recovery_file::parse_account;
use peerseal::Status;
use peerseal_chain::ChainApi;
use peerseal_e2e::rebackup::removal_and_rebackup_lags;
use peerseal_e2e::{bounded, dev_chain, provider_accounts, start_ready, wait_for_epoch};
use peerseal_testkit::{dev_ports, governance, DaemonOptions, DevChain, TssDaemon};
use std::time::Duration;

const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];

fn start(name: &'static str, url: &str, dirs: &std::path::Path) -> TssDaemon {
    TssDaemon::start(name, url, &dirs.join(name), dirs).unwrap()
}

fn epoch(status: &Status) -> u64 {
    status.epoch.unwrap()
}

fn index_of(before: &[Status], account: &str) -> usize {
    before.iter().position(|s| s.account.as_deref() == Some(account)).unwrap()
}

async fn removal_story(crash_at: Option<&'static str>) {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let chain = peerseal_testkit::connect_chain(&chain_node.url).await.unwrap();
    let dirs = tempfile::tempdir().unwrap();
    let mut options = DaemonOptions::logs_in(dirs.path());
    if let Some(point) = crash_at {
        // Every affected node aborts at once. At the default 2-of-3 on four nodes that is every
        // node but the removed one, each needing another crashed node's share: a whole-network
        // cold start, which peers alone cannot solve (issue 13). Full copies keep this test on
        // what it is about, the crash windows of a rotation.
        options = options.env("PEERSEAL_TEST_CRASH_AT", point);
        options.args.extend(["--threshold".to_owned(), "1".to_owned()]);
    }
    let (mut nodes, before) = start_ready(&NAMES, &chain_node.url, dirs.path(), &options).await;

    // The victim: alice's first provider. Affected: every node whose backup names it.
    let victim_account = provider_accounts(&before[0])[0].clone();
    let victim = index_of(&before, &victim_account);
    let affected: Vec<usize> = (0..NAMES.len())
        .filter(|i| *i != victim && provider_accounts(&before[*i]).contains(&victim_account))
        .collect();
    assert!(affected.contains(&0));
    let stash = peerseal_devkeys::dev_identity(NAMES[victim]).unwrap().stash_account;
    let removal_started = std::time::Instant::now();
    // Fails unless the sudo call emitted `Registry.ServerRemoved`.
    bounded(60, governance::remove_server(&chain_node.url, stash)).await.unwrap();

    if crash_at.is_some() {
        // Every affected node aborts at the crash point; restart each without the hook.
        for &i in &affected {
            let mut node = nodes[i].take().unwrap();
            let exit = peerseal_e2e::exited(&mut node, 120).await;
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(exit.signal(), Some(6), "{} aborted at the crash point", NAMES[i]);
            drop(node);
            let name = NAMES[i];
            // The same configuration, without the crash hook.
            let again = DaemonOptions { env: Vec::new(), ..options.clone() };
            nodes[i] = Some(
                TssDaemon::start_with(name, &chain_node.url, &dirs.path().join(name), &again)
                    .unwrap(),
            );
        }
    }

    for &i in &affected {
        let node = nodes[i].as_ref().unwrap();
        let old_epoch = epoch(&before[i]);
        let after = bounded(130, wait_for_epoch(node, old_epoch + 1)).await;
        if crash_at.is_some() {
            assert_eq!(after.recovery_attempts, 1, "restarted through recovery: {after:?}");
        }
        assert!(!provider_accounts(&after).contains(&victim_account), "{after:?}");
        assert_eq!(after.first_start_marker, before[i].first_start_marker);
        let account = parse_account(after.account.as_deref().unwrap()).unwrap();
        // The test's own verified view may be a block behind the node's, which saw its record
        // final before it said `ready` (CI read epoch 0 here once).
        let assignment = bounded(30, async {
            loop {
                let a = chain.assignment(&account).await.unwrap().unwrap();
                if Some(a.epoch) >= after.epoch {
                    break a;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        })
        .await;
        assert_eq!(Some(assignment.epoch), after.epoch, "the chain records the store's epoch");
        assert!(!assignment.stale);
        assert!(assignment
            .providers
            .iter()
            .all(|(p, _)| p != &parse_account(&victim_account).unwrap()));
        let file: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dirs.path().join(NAMES[i]).join("recovery.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(file["epoch"].as_u64(), after.epoch);
        assert!(file.get("pending").is_none(), "pending cleared: {file}");
    }
    if crash_at.is_none() {
        let rebacked_up = removal_started.elapsed();
        let victim_tss = parse_account(&victim_account).unwrap();
        let clients: Vec<(peerseal_chain::AccountId, u64)> = affected
            .iter()
            .map(|&i| {
                let account = parse_account(before[i].account.as_deref().unwrap()).unwrap();
                (account, epoch(&before[i]) + 1)
            })
            .collect();
        let (removed, lags) =
            bounded(60, removal_and_rebackup_lags(&chain_node.url, victim_tss, &clients)).await;
        eprintln!(
            "removal in block {removed}; affected clients re-backed up after {lags:?}; all \
             ready at the new epoch {rebacked_up:?} after the removal call returned"
        );
        // Every affected client's new backup is recorded after the removal. How many blocks
        // later is measured by `cargo bench -p peerseal-e2e --bench node` (BENCHMARKS.md), not
        // asserted here: this dev chain seals a block per transaction, so the count depends on
        // unrelated transactions landing in between (initial confirmations of other nodes under
        // CI load), which made a block bound flaky.
        for (lag, &i) in lags.iter().zip(&affected) {
            assert!(
                lag.blocks >= 1,
                "{} re-backed up {lag:?} after the removal (block {removed})",
                NAMES[i]
            );
        }
    }

    // Unaffected nodes kept their epoch.
    for i in (0..NAMES.len()).filter(|i| !affected.contains(i)) {
        let status = nodes[i].as_ref().unwrap().status().await.unwrap();
        assert_eq!(status.epoch, before[i].epoch, "{}", NAMES[i]);
    }

    // The new key is recoverable: kill alice and restart her; she recovers it and rotates to a
    // fresh epoch before she is ready.
    let alice = nodes[0].take().unwrap();
    let rotated = alice.status().await.unwrap();
    alice.kill();
    let alice = start("alice", &chain_node.url, dirs.path());
    let status = bounded(130, wait_for_epoch(&alice, epoch(&rotated) + 1)).await;
    assert_eq!(status.first_start_marker, before[0].first_start_marker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_removal_rotates_and_rebacks_up_every_affected_client() {
    removal_story(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_storing_new_shares_is_recoverable() {
    removal_story(Some("after_store_shares")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_writing_the_pending_file_is_recoverable() {
    removal_story(Some("after_pending_file")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_the_store_commit_point_is_recoverable() {
    removal_story(Some("after_commit")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_resealing_before_the_chain_record_is_recoverable() {
    removal_story(Some("after_reseal")).await;
}

/// A dev chain with a persistent base path on a fixed port, so it can be restarted in place.
fn persistent_chain(base: &std::path::Path, port: u16) -> DevChain {
    let base = base.to_str().unwrap();
    DevChain::start_or_panic(&["--dev", "--rpc-port", &port.to_string(), "--base-path", base])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_keep_serving_and_follow_the_chain_across_a_chain_node_restart() {
    let _ports = dev_ports().await.unwrap();
    let dirs = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("ws://127.0.0.1:{port}");
    let chain = persistent_chain(&dirs.path().join("chain"), port);
    let nodes: Vec<TssDaemon> = NAMES.iter().map(|name| start(name, &url, dirs.path())).collect();
    let mut before = Vec::new();
    for node in &nodes {
        before.push(bounded(240, node.wait_for("ready", 230)).await.unwrap());
    }

    chain.kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    for node in &nodes {
        let (code, _) = node.get("/health").await.unwrap();
        assert_eq!(code, 200, "{} stays up while the chain is down", node.name);
    }
    let chain = persistent_chain(&dirs.path().join("chain"), port);

    // A removal after the restart still reaches the affected client.
    let victim_account = provider_accounts(&before[0])[0].clone();
    let victim = index_of(&before, &victim_account);
    let stash = peerseal_devkeys::dev_identity(NAMES[victim]).unwrap().stash_account;
    bounded(60, governance::remove_server(&url, stash)).await.unwrap();
    let after = bounded(130, wait_for_epoch(&nodes[0], epoch(&before[0]) + 1)).await;
    assert!(!provider_accounts(&after).contains(&victim_account));
    drop(nodes);
    chain.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_failing_the_health_check_triggers_a_rotation() {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let dirs = tempfile::tempdir().unwrap();
    // A provider that is simply gone (no answer at all) is replaced only after an outage of
    // `PEERSEAL_HEALTH_UNANSWERED_SECS` (900 s by default): timeouts alone are something a
    // flood can cause. Three seconds here.
    let options = DaemonOptions::logs_in(dirs.path())
        .env("PEERSEAL_HEALTH_INTERVAL_SECS", "1")
        .env("PEERSEAL_HEALTH_UNANSWERED_SECS", "3");
    let mut nodes: Vec<Option<TssDaemon>> = NAMES
        .iter()
        .map(|name| {
            let dir = dirs.path().join(name);
            Some(TssDaemon::start_with(name, &chain_node.url, &dir, &options).unwrap())
        })
        .collect();
    let mut before = Vec::new();
    for node in nodes.iter().flatten() {
        before.push(bounded(240, node.wait_for("ready", 230)).await.unwrap());
    }
    // Alice's first provider goes down for good (still registered on chain).
    let dead_account = provider_accounts(&before[0])[0].clone();
    let dead = index_of(&before, &dead_account);
    nodes[dead].take().unwrap().kill();

    let after =
        bounded(130, wait_for_epoch(nodes[0].as_ref().unwrap(), epoch(&before[0]) + 1)).await;
    assert!(!provider_accounts(&after).contains(&dead_account), "{after:?}");
    assert_eq!(after.rebackups, 1);
    assert_eq!(after.first_start_marker, before[0].first_start_marker);
}
