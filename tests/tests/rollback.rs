//! Rollback: the host restores an old copy of a node's disk and crafts the public recovery file
//! so that it names the old epoch's providers and commitment (old commitments are public). The
//! chain's recorded epoch, proven by the verifying client, is the source of truth: a store below
//! it is refused with `rolled_back` and not one file changes. On the code before this check the
//! node took the file's `pending` entry (epoch equal to the store's), the providers released the
//! old epoch's share they still held, and the old store opened.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal::phase::Phase;
use peerseal_e2e::{bounded, copy_dir, dev_chain, provider_accounts};
use peerseal_testkit::{dev_ports, governance, snapshot, TssDaemon};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_old_disk_with_a_crafted_pending_entry_is_refused_untouched() {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let chain = peerseal_testkit::connect_chain(&chain_node.url).await.unwrap();
    let dirs = tempfile::tempdir().unwrap();
    let start = |name: &'static str| {
        TssDaemon::start(name, &chain_node.url, &dirs.path().join(name), dirs.path()).unwrap()
    };
    let alice = start("alice");
    let _others: Vec<TssDaemon> = ["bob", "charlie", "dave"].into_iter().map(start).collect();
    let before = bounded(240, alice.wait_for("ready", 230)).await.unwrap();
    let old_epoch = before.epoch.unwrap();
    let account =
        peerseal::recovery_file::parse_account(before.account.as_deref().unwrap()).unwrap();
    let old_commitment =
        peerseal_e2e::recorded_assignment(&chain, &alice, &account).await.commitment;

    // The host keeps a copy of alice's disk at the old epoch.
    alice.kill();
    let alice_dir = dirs.path().join("alice");
    let old_copy = dirs.path().join("alice-old");
    copy_dir(&alice_dir, &old_copy);
    let alice = start("alice");
    let restarted = bounded(180, alice.wait_for("ready", 170)).await.unwrap();
    assert!(restarted.epoch > Some(old_epoch), "a fresh epoch on boot: {restarted:?}");

    // Governance removes one of alice's providers: alice rotates to a new epoch and records it.
    let victim = provider_accounts(&restarted)[0].clone();
    let victim_stash = ["bob", "charlie", "dave"]
        .into_iter()
        .map(|n| peerseal_devkeys::dev_identity(n).unwrap())
        .find(|id| hex::encode(id.tss_account) == victim.trim_start_matches("0x"))
        .unwrap()
        .stash_account;
    bounded(60, governance::remove_server(&chain_node.url, victim_stash)).await.unwrap();
    bounded(
        130,
        alice.wait_until("rotated", Duration::from_secs(120), |s| {
            s.state.label() == "ready" && s.epoch > restarted.epoch
        }),
    )
    .await
    .unwrap();
    alice.kill();

    // The host restores the old disk and crafts `pending` for the old epoch from public data.
    std::fs::remove_dir_all(&alice_dir).unwrap();
    copy_dir(&old_copy, &alice_dir);
    let file_path = alice_dir.join("recovery.json");
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file_path).unwrap()).unwrap();
    file["pending"] = serde_json::json!({
        "epoch": old_epoch,
        "threshold": file["threshold"],
        "providers": file["providers"],
        "commitment": hex::encode(old_commitment),
    });
    std::fs::write(&file_path, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
    let untouched = snapshot(&alice_dir).unwrap();

    let alice = start("alice");
    let refused = bounded(
        90,
        alice.wait_until("refused", Duration::from_secs(80), |s| {
            matches!(&s.state, Phase::RecoveryFailed { .. }) || s.state.label() == "ready"
        }),
    )
    .await
    .unwrap();
    let Phase::RecoveryFailed { label, reason, .. } = &refused.state else {
        panic!("a rolled-back store was opened: {refused:?}");
    };
    assert_eq!(label, "rolled_back", "{reason}");
    assert!(reason.contains(&format!("key epoch {old_epoch}")), "{reason}");
    // It keeps refusing, and keeps every file as it was.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_ne!(alice.status().await.unwrap().state.label(), "ready");
    assert_eq!(snapshot(&alice_dir).unwrap(), untouched, "not one file of the store changed");
}
