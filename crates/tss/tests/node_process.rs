//! The `peerseal` binary end to end: a real dev chain process and dev TSS nodes as separate
//! processes on loopback. A node killed with SIGKILL recovers its key from its providers and
//! reads back what it wrote before; a node whose store is corrupted or foreign reports a clear
//! reason and leaves every file byte-identical. No file any node wrote (stores, recovery files,
//! logs) holds a database key or an identity secret, raw or in hex.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use futures::StreamExt;
use peerseal::recovery_file::parse_account;
use peerseal_chain::ChainEvent;
use std::time::Duration;
use support::process::{snapshot, TssNode};
use support::{bounded, serial, ChainNode};

struct Net {
    chain: ChainNode,
    dirs: tempfile::TempDir,
    nodes: Vec<TssNode>,
}

const NAMES: [&str; 3] = ["alice", "bob", "charlie"];

async fn start_network() -> Net {
    let chain = ChainNode::start();
    let dirs = tempfile::tempdir().unwrap();
    let nodes: Vec<TssNode> = NAMES
        .iter()
        .map(|name| TssNode::start(name, &chain.url, &dirs.path().join(name), dirs.path()))
        .collect();
    for node in &nodes {
        let status = node.wait_for("ready", 240).await;
        assert!(status["epoch"].as_u64().is_some(), "{status}");
        assert!(!status["providers"].as_array().unwrap().is_empty(), "{status}");
    }
    Net { chain, dirs, nodes }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_node_recovers_its_key_and_reads_back_its_data() {
    let _serial = serial().await;
    let mut net = bounded(300, start_network()).await;
    let bob = net.nodes.remove(1);
    let before = bob.status().await.unwrap();
    let recovery_file = std::fs::read(net.dirs.path().join("bob/recovery.json")).unwrap();
    let file: serde_json::Value = serde_json::from_slice(&recovery_file).unwrap();
    assert_eq!(file["account"], before["account"]);
    assert_eq!(
        file["providers"].as_array().unwrap().len(),
        before["providers"].as_array().unwrap().len()
    );
    let held_before = before["backups_held"].as_u64().unwrap();
    assert!(held_before >= 1, "bob holds a share of another node: {before}");
    bob.kill();

    let bob = TssNode::start("bob", &net.chain.url, &net.dirs.path().join("bob"), net.dirs.path());
    let after = bounded(180, bob.wait_for("ready", 170)).await;
    assert_eq!(after["first_start_marker"], before["first_start_marker"], "same store, same data");
    assert_eq!(after["backups_held"].as_u64().unwrap(), held_before, "held shares read back");
    assert_eq!(after["account"], before["account"]);
    assert_eq!(after["epoch"], before["epoch"]);
    assert!(after["recovery_ms"].as_u64().is_some(), "{after}");
    let (code, metrics) = peerseal::http::get(bob.http, "/metrics").await.unwrap();
    assert_eq!(code, 200);
    assert!(metrics.contains("peerseal_node_state{state=\"ready\"} 1"), "{metrics}");
    assert!(metrics.contains("peerseal_recovery_seconds_count 1"), "{metrics}");
    let (code, health) = peerseal::http::get(bob.http, "/health").await.unwrap();
    assert_eq!((code, health.trim()), (200, "ok ready"));

    // `peerseal status` asks the running node.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peerseal"))
        .args(["status", "--http", &bob.http.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["state"]["state"], "ready");
    assert_eq!(printed["account"], after["account"]);

    // The recovery is on chain as an audit record.
    let bob_account = parse_account(after["account"].as_str().unwrap()).unwrap();
    let client = peerseal_chain::ChainClient::connect(&net.chain.url).await.unwrap();
    let mut blocks = Box::pin(client.finalized_blocks_from(1));
    bounded(60, async {
        loop {
            let block = blocks.next().await.unwrap().unwrap();
            if block.events.iter().any(
                |e| matches!(e, ChainEvent::KeyRecovered { client, .. } if *client == bob_account),
            ) {
                break;
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_restarts_one_by_one() {
    let _serial = serial().await;
    let mut net = bounded(300, start_network()).await;
    for (i, name) in NAMES.iter().copied().enumerate() {
        let before = net.nodes[i].status().await.unwrap();
        net.nodes.remove(i).kill();
        let node =
            TssNode::start(name, &net.chain.url, &net.dirs.path().join(name), net.dirs.path());
        net.nodes.insert(i, node);
        let after = bounded(120, net.nodes[i].wait_for("ready", 110)).await;
        assert_eq!(after["first_start_marker"], before["first_start_marker"], "{name}");
        assert_eq!(after["epoch"], before["epoch"]);
        assert_eq!(after["recovery_attempts"], 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_or_foreign_store_fails_clearly_and_stays_byte_identical() {
    let _serial = serial().await;
    let mut net = bounded(300, start_network()).await;
    let charlie = net.nodes.remove(2);
    charlie.kill();
    let dir = net.dirs.path().join("charlie");

    // A damaged header: the node must not get as far as asking for the key.
    let header = dir.join("db/PEERSEAL-KVDB");
    let mut bytes = std::fs::read(&header).unwrap();
    bytes[40] ^= 0xFF;
    std::fs::write(&header, &bytes).unwrap();
    let before = snapshot(&dir);
    let node = TssNode::start("charlie", &net.chain.url, &dir, net.dirs.path());
    let status = bounded(120, node.wait_for("recovery_failed", 110)).await;
    let reason = status["state"]["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("cannot be used"), "{reason}");
    let (code, _) = peerseal::http::get(node.http, "/health").await.unwrap();
    assert_eq!(code, 503);
    // Let it retry at least once more before checking the files.
    bounded(30, async {
        while node.status().await.unwrap()["recovery_attempts"].as_u64().unwrap() < 2 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    node.kill();
    assert!(snapshot(&dir) == before, "a damaged store was modified");

    // A foreign store (valid, but under another key): the recovered key does not open it.
    std::fs::remove_dir_all(dir.join("db")).unwrap();
    {
        let key = peerseal_kvdb::DbKey::generate().unwrap();
        let store = peerseal_kvdb::Store::create(dir.join("db"), &key).unwrap();
        store.tree("t").unwrap().insert(b"k", b"v").unwrap();
        store.flush().unwrap();
    }
    let before = snapshot(&dir);
    let node = TssNode::start("charlie", &net.chain.url, &dir, net.dirs.path());
    let status = bounded(180, node.wait_for("recovery_failed", 170)).await;
    let reason = status["state"]["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("does not open this store"), "{reason}");
    node.kill();
    assert!(snapshot(&dir) == before, "a foreign store was modified");
}

/// Every place `needle` occurs, raw or as lower-case hex, in the files of `files`.
fn occurrences(
    files: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
    needle: &[u8],
) -> Vec<String> {
    let hex = peerseal::recovery_file::hex(needle).into_bytes();
    let mut found = Vec::new();
    for (path, bytes) in files {
        for (form, pattern) in [("raw", needle), ("hex", &hex[..])] {
            if bytes.windows(pattern.len()).any(|w| w == pattern) {
                found.push(format!("{} ({form})", path.display()));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_data_dir_or_log_holds_a_database_key_or_identity_secret() {
    let _serial = serial().await;
    let net = bounded(300, start_network()).await;
    let chain = net.chain.client().await;

    // The database keys are generated inside the nodes; learn them the way a restarted node
    // does: recover each from its providers (dev mock quotes, fresh libp2p identity).
    let (client, net_task) = support::backup_client(&chain, 1, None).await;
    let quotes: std::sync::Arc<dyn peerseal_attestation::QuoteProvider> =
        std::sync::Arc::new(peerseal_attestation::MockQuoteProvider::dev());
    let mut keys = Vec::new();
    for node in &net.nodes {
        let status = node.status().await.unwrap();
        let account = parse_account(status["account"].as_str().unwrap()).unwrap();
        let recovered =
            bounded(60, client.recover(&peerseal_protocol::AccountId(account), quotes.clone()))
                .await
                .unwrap();
        assert_eq!(Some(recovered.epoch), status["epoch"].as_u64(), "{}", node.name);
        keys.push((node.name, account, recovered.key));
    }
    net_task.abort();
    let Net { chain: _chain, dirs, nodes } = net;
    for node in nodes {
        node.kill();
    }

    // Every file of the run: data dirs (stores, held shares, recovery files) and logs.
    let files = snapshot(dirs.path());
    assert!(files.keys().any(|p| p.ends_with("recovery.json")), "{:?}", files.keys());
    assert!(files.keys().any(|p| p.extension().is_some_and(|e| e == "log")));
    for (name, account, key) in &keys {
        // The scan can find things: the public account is in the node's recovery file.
        let public = occurrences(&files, account);
        assert!(
            public.iter().any(|p| p.contains(&format!("{name}/recovery.json"))),
            "{name}: account not found by the scan: {public:?}"
        );

        // The recovered key is the real one: it opens the node's store.
        let db = dirs.path().join(name).join("db");
        let store = peerseal_kvdb::Store::open(&db, key).unwrap();
        let identity = peerseal::stored_identity::StoredIdentity::load(&store).unwrap();
        let mut secrets: Vec<(&str, Vec<u8>)> =
            vec![("database key", key.expose_secret().to_vec())];
        match &identity {
            peerseal::stored_identity::StoredIdentity::Dev(dev) => {
                let id = peerseal_devkeys::dev_identity(dev).unwrap();
                secrets.push(("x25519 secret", id.x25519_secret.to_vec()));
                secrets.push(("libp2p secret", id.libp2p_ed25519_secret.to_vec()));
            }
            peerseal::stored_identity::StoredIdentity::Generated { sr25519, x25519, ed25519 } => {
                secrets.push(("sr25519 secret", sr25519.to_vec()));
                secrets.push(("x25519 secret", x25519.to_vec()));
                secrets.push(("libp2p secret", ed25519.to_vec()));
            }
        }
        drop(store);
        for (what, secret) in secrets {
            let found = occurrences(&files, &secret);
            assert!(found.is_empty(), "{name}'s {what} found in {found:?}");
        }
    }
}

#[test]
fn info_prints_the_public_identity_and_no_secret() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peerseal"))
        .args(["info", "--dev-identity", "bob"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = peerseal_devkeys::dev_identity("bob").unwrap();
    assert_eq!(info["tss_account"], peerseal::recovery_file::hex(&id.tss_account));
    assert_eq!(info["peer_id"], id.peer_id_base58());
    assert!(!info["registration_quote"].as_str().unwrap().is_empty());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(&peerseal::recovery_file::hex(&*id.x25519_secret)));
    assert!(!text.contains(&peerseal::recovery_file::hex(&*id.libp2p_ed25519_secret)));

    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peerseal"))
        .args(["info", "--data-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "no recovery file, no identity to print");
}
