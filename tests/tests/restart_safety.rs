//! Restarts that can be neither stranded nor cloned (issue 12), with real processes on
//! loopback:
//! - a copy of a node's disk gets no share once the node has restarted: every recovery rotates
//!   to a fresh epoch before the node is ready, and providers release nothing below the chain's
//!   recorded epoch (before, the node kept its epoch on restart and the providers released it
//!   to anyone holding the copy and an accepted image);
//! - a rotation whose on-chain record fails is retried for the same epoch and key; a crash in
//!   the retry is recoverable (before, the retry dealt a new key at the next epoch and replaced
//!   the only `pending` entry, so a crash there left store e+1, chain e, pending e+2, and every
//!   restart failed with `epoch_mismatch`);
//! - a first start that dies before its first backup is recorded starts clean, setting the
//!   unrecoverable store aside (before, it stayed in `recovery_failed` for ever).
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal::recovery_file::parse_account;
use peerseal::Status;
use peerseal_backup::{FailureReason, RecoveryError};
use peerseal_chain::ChainApi;
use peerseal_e2e::{
    bounded, copy_dir, dev_chain, exited, provider_accounts, recorded_assignment, recovery_client,
};
use peerseal_protocol::ErrorReason;
use peerseal_testkit::{dev_ports, governance, snapshot, DaemonOptions, TssDaemon};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];

fn stash_of(tss_hex: &str) -> [u8; 32] {
    NAMES
        .into_iter()
        .map(|n| peerseal_devkeys::dev_identity(n).unwrap())
        .find(|id| hex::encode(id.tss_account) == tss_hex.trim_start_matches("0x"))
        .unwrap()
        .stash_account
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_the_disk_gets_no_share_once_the_node_has_restarted() {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let client = peerseal_testkit::connect_chain(&chain_node.url).await.unwrap();
    let chain: Arc<dyn ChainApi> = Arc::new(client.clone());
    let dirs = tempfile::tempdir().unwrap();
    let start = |name: &'static str| {
        TssDaemon::start(name, &chain_node.url, &dirs.path().join(name), dirs.path()).unwrap()
    };
    let nodes: Vec<TssDaemon> = NAMES[..3].iter().copied().map(start).collect();
    let before = bounded(240, nodes[0].wait_for("ready", 230)).await.unwrap();
    for node in &nodes[1..] {
        bounded(240, node.wait_for("ready", 230)).await.unwrap();
    }
    let account = parse_account(before.account.as_deref().unwrap()).unwrap();
    let copied = recorded_assignment(&client, &nodes[0], &account).await;

    // The host copies alice's disk, then alice restarts (as after any reboot).
    let mut nodes = nodes.into_iter();
    let alice = nodes.next().unwrap();
    let _others: Vec<TssDaemon> = nodes.collect();
    alice.kill();
    copy_dir(&dirs.path().join("alice"), &dirs.path().join("alice-copy"));
    let alice = start("alice");
    let after = bounded(180, alice.wait_for("ready", 170)).await.unwrap();
    assert!(after.epoch > before.epoch, "a fresh epoch before ready: {after:?}");
    let recorded = recorded_assignment(&client, &alice, &account).await;
    assert_eq!(Some(recorded.epoch), after.epoch, "recorded before ready");

    // The copy's owner asks the copied epoch's providers for their shares exactly as the node
    // would (accepted image: the dev mock quote, correct binding, fresh nonces).
    let (client, quotes, net_task) = recovery_client(chain.clone()).await;
    let err = bounded(120, client.recover_assignment(&account, &copied, quotes))
        .await
        .expect_err("a share of the superseded epoch was released");
    net_task.abort();
    let RecoveryError::NotEnoughShares { failures, .. } = &err else {
        panic!("expected NotEnoughShares, got {err:?}")
    };
    assert_eq!(failures.len(), copied.providers.len(), "{failures:?}");
    for failure in failures {
        assert!(
            matches!(
                failure.reason,
                FailureReason::Refused(ErrorReason::SupersededEpoch | ErrorReason::NoBackupHeld)
            ),
            "refused as superseded (or already pruned): {failure:?}"
        );
    }
    // The genuine node is untouched by the attempt.
    assert_eq!(alice.status().await.unwrap().state.label(), "ready");
}

/// Governance removes one of alice's providers, so she rotates; the record of that rotation
/// (her second record: the first is her first backup) fails by the dev fault hook, and
/// `crash_at` then aborts her at the named point. She must end ready at a recorded epoch with
/// her data, whatever the point.
async fn failed_record_story(crash_at: &str) {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let chain = peerseal_testkit::connect_chain(&chain_node.url).await.unwrap();
    let dirs = tempfile::tempdir().unwrap();
    let plain = DaemonOptions::logs_in(dirs.path());
    let faulty =
        plain.clone().env("PEERSEAL_TEST_FAIL_RECORD", "2").env("PEERSEAL_TEST_CRASH_AT", crash_at);
    let start = |name: &'static str, options: &DaemonOptions| {
        TssDaemon::start_with(name, &chain_node.url, &dirs.path().join(name), options).unwrap()
    };
    let mut alice = start("alice", &faulty);
    let _others: Vec<TssDaemon> = NAMES[1..].iter().map(|n| start(n, &plain)).collect();
    let first = bounded(240, alice.wait_for("ready", 230)).await.unwrap();
    let victim = provider_accounts(&first)[0].clone();
    bounded(60, governance::remove_server(&chain_node.url, stash_of(&victim))).await.unwrap();

    let mut restarts = 0;
    let ready: Status = bounded(240, async {
        loop {
            if let Some(exit) = alice.process().try_wait() {
                use std::os::unix::process::ExitStatusExt;
                assert_eq!(exit.signal(), Some(6), "alice aborted at {crash_at}");
                restarts += 1;
                assert!(restarts <= 1, "one crash, then a clean restart");
                alice = start("alice", &plain);
            }
            if let Some(s) = alice.status().await {
                if s.state.label() == "ready" && s.epoch > first.epoch {
                    break s;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    if crash_at == "after_record_failed" {
        assert_eq!(restarts, 1, "the crash point is reached on the failed record");
    }
    assert!(!provider_accounts(&ready).contains(&victim), "{ready:?}");
    let account = parse_account(ready.account.as_deref().unwrap()).unwrap();
    let recorded = recorded_assignment(&chain, &alice, &account).await;
    assert_eq!(Some(recorded.epoch), ready.epoch, "the store's epoch is the recorded one");
    assert_eq!(ready.first_start_marker, first.first_start_marker, "same store, same data");
    let file: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dirs.path().join("alice").join("recovery.json")).unwrap(),
    )
    .unwrap();
    assert!(file.get("pending").is_none(), "pending cleared once recorded: {file}");

    // And the state it ended in survives one more restart.
    alice.kill();
    let alice = start("alice", &plain);
    let again = bounded(180, alice.wait_for("ready", 170)).await.unwrap();
    assert!(again.epoch > ready.epoch);
    assert_eq!(again.first_start_marker, first.first_start_marker);
}

/// The failed record's retry reaches the pending-file write a second time on the old code
/// (which dealt a new key there); the crash there stranded the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_record_then_a_crash_in_its_retry_is_recoverable() {
    failed_record_story("after_pending_file#2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_right_after_a_failed_record_is_recoverable() {
    failed_record_story("after_record_failed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_killed_before_its_first_backup_starts_clean() {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let dirs = tempfile::tempdir().unwrap();
    let options = DaemonOptions { generated_identity: true, ..DaemonOptions::logs_in(dirs.path()) };
    let data = dirs.path().join("newcomer");
    let start = || TssDaemon::start_with("newcomer", &chain_node.url, &data, &options).unwrap();

    // A node with a generated identity waits for its stash to register it; the host kills it.
    let node = start();
    bounded(60, node.wait_for("awaiting_registration", 50)).await.unwrap();
    node.kill();
    let store = snapshot(&data.join("db")).unwrap();

    // Its key died with the process and it never held data: it sets the store aside (byte for
    // byte) and starts clean, with a new identity for the stash to register.
    let node = start();
    bounded(60, node.wait_for("awaiting_registration", 50)).await.unwrap();
    let log = std::fs::read_to_string(dirs.path().join("newcomer.log")).unwrap();
    assert!(log.contains("its store is set aside and the node starts clean"), "{log}");
    let aside: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("db.unrecorded-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let relative = |root: &Path, files: std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>| {
        files
            .into_iter()
            .map(|(path, bytes)| (path.strip_prefix(root).unwrap().to_path_buf(), bytes))
            .collect::<Vec<_>>()
    };
    let moved = data.join(&aside[0]);
    assert_eq!(
        relative(&moved, snapshot(&moved).unwrap()),
        relative(&data.join("db"), store),
        "set aside byte for byte"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_crashed_before_its_first_backup_starts_clean_and_backs_up() {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let chain = peerseal_testkit::connect_chain(&chain_node.url).await.unwrap();
    let dirs = tempfile::tempdir().unwrap();
    let plain = DaemonOptions::logs_in(dirs.path());
    let start = |name: &'static str, options: &DaemonOptions| {
        TssDaemon::start_with(name, &chain_node.url, &dirs.path().join(name), options).unwrap()
    };
    let _others: Vec<TssDaemon> = NAMES[1..].iter().map(|n| start(n, &plain)).collect();
    let mut alice =
        start("alice", &plain.clone().env("PEERSEAL_TEST_CRASH_AT", "after_store_created"));
    use std::os::unix::process::ExitStatusExt;
    let exit = exited(&mut alice, 60).await;
    assert_eq!(exit.signal(), Some(6), "aborted after creating the store");
    let alice = start("alice", &plain);
    let ready = bounded(240, alice.wait_for("ready", 230)).await.unwrap();
    assert_eq!(ready.recovery_attempts, 0, "a clean first start, not a recovery: {ready:?}");
    let account = parse_account(ready.account.as_deref().unwrap()).unwrap();
    assert_eq!(recorded_assignment(&chain, &alice, &account).await.epoch, 0);
    assert!(!provider_accounts(&ready).is_empty());
    assert!(!dirs.path().join("alice").join(peerseal::unlock::FIRST_BACKUP_MARKER).exists());
    // Now it is a normal node: a restart recovers (and does not start clean again).
    alice.kill();
    let alice = start("alice", &plain);
    let again = bounded(180, alice.wait_for("ready", 170)).await.unwrap();
    assert_eq!(again.first_start_marker, ready.first_start_marker);
    assert_eq!(again.recovery_attempts, 1);
}

/// Another instance of alice (a copy of her live disk, recovered while she runs) records a
/// newer backup of her: the running alice must stop rather than serve on from a store the chain
/// has superseded (before, she ignored a recorded epoch other than her store's and ran on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_node_stops_when_the_chain_records_a_newer_backup_of_it() {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let chain: Arc<dyn ChainApi> =
        Arc::new(peerseal_testkit::connect_chain(&chain_node.url).await.unwrap());
    let dirs = tempfile::tempdir().unwrap();
    let start = |name: &'static str| {
        TssDaemon::start(name, &chain_node.url, &dirs.path().join(name), dirs.path()).unwrap()
    };
    let mut alice = start("alice");
    let _others: Vec<TssDaemon> = NAMES[1..3].iter().copied().map(start).collect();
    let ready = bounded(240, alice.wait_for("ready", 230)).await.unwrap();
    let epoch = ready.epoch.unwrap();

    // The other instance's record, signed with alice's (dev, public) key.
    let keys = peerseal_backup::NodeKeys::dev("alice").unwrap();
    let tx = peerseal_backup::TxSubmitter::new(chain.clone(), keys.signer.clone());
    let provider = parse_account(&provider_accounts(&ready)[0]).unwrap();
    bounded(60, tx.record_backup(epoch + 1, 1, vec![(provider, 1)], [7; 32], None)).await.unwrap();

    use std::os::unix::process::ExitStatusExt;
    let exit = exited(&mut alice, 60).await;
    assert!(!exit.success() && exit.signal().is_none(), "alice stopped with an error: {exit:?}");
    let log = std::fs::read_to_string(dirs.path().join("alice.log")).unwrap();
    assert!(log.contains("another instance of this node recorded a newer backup"), "{log}");
    assert!(!log.contains('\x1b'), "no colour codes in a log written to a file");
}
