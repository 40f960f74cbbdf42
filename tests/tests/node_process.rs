//! The `peerseal` binary end to end: a real dev chain process and dev TSS nodes as separate
//! processes on loopback. A node killed with SIGKILL recovers its key from its providers and
//! reads back what it wrote before; a node whose store is corrupted or foreign reports a clear
//! reason and leaves every file byte-identical. No file any node wrote (stores, recovery files,
//! logs) holds a database key or an identity secret, raw or in hex.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt;
use peerseal::recovery_file::parse_account;
use peerseal_chain::ChainEvent;
use peerseal_e2e::{bounded, dev_chain};
use peerseal_testkit::{dev_ports, peerseal_dev_binary, snapshot, DevChain, TssDaemon};
use std::time::Duration;

struct Net {
    chain: DevChain,
    dirs: tempfile::TempDir,
    nodes: Vec<TssDaemon>,
}

const NAMES: [&str; 3] = ["alice", "bob", "charlie"];

async fn start_network() -> Net {
    let chain = dev_chain();
    let dirs = tempfile::tempdir().unwrap();
    let nodes: Vec<TssDaemon> = NAMES.iter().map(|name| start(name, &chain, dirs.path())).collect();
    for node in &nodes {
        let status = node.wait_for("ready", 240).await.unwrap();
        assert!(status.epoch.is_some(), "{status:?}");
        assert!(!status.providers.is_empty(), "{status:?}");
    }
    Net { chain, dirs, nodes }
}

fn start(name: &'static str, chain: &DevChain, dirs: &std::path::Path) -> TssDaemon {
    TssDaemon::start(name, &chain.url, &dirs.join(name), dirs).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_node_recovers_its_key_and_reads_back_its_data() {
    let _ports = dev_ports().await.unwrap();
    let mut net = bounded(300, start_network()).await;
    let bob = net.nodes.remove(1);
    let before = bob.status().await.unwrap();
    let recovery_file = std::fs::read(net.dirs.path().join("bob/recovery.json")).unwrap();
    let file: serde_json::Value = serde_json::from_slice(&recovery_file).unwrap();
    assert_eq!(file["account"].as_str(), before.account.as_deref());
    assert_eq!(file["providers"].as_array().unwrap().len(), before.providers.len());
    let held_before = before.backups_held.unwrap();
    assert!(held_before >= 1, "bob holds a share of another node: {before:?}");
    bob.kill();

    let bob = start("bob", &net.chain, net.dirs.path());
    let after = bounded(180, bob.wait_for("ready", 170)).await.unwrap();
    assert_eq!(after.first_start_marker, before.first_start_marker, "same store, same data");
    assert_eq!(after.backups_held, Some(held_before), "held shares read back");
    assert_eq!(after.account, before.account);
    assert!(after.epoch > before.epoch, "a fresh epoch after the restart: {after:?}");
    assert!(after.recovery_ms.is_some(), "{after:?}");
    let (code, metrics) = bob.get("/metrics").await.unwrap();
    assert_eq!(code, 200);
    assert!(metrics.contains("peerseal_node_state{state=\"ready\"} 1"), "{metrics}");
    assert!(metrics.contains("peerseal_recovery_seconds_count 1"), "{metrics}");
    assert!(
        metrics.contains(&format!("peerseal_backups_held {held_before}")),
        "held shares counted at the source: {metrics}"
    );
    let (code, health) = bob.get("/health").await.unwrap();
    assert_eq!((code, health.trim()), (200, "ok ready"));

    // `peerseal status` asks the running node.
    let out = std::process::Command::new(peerseal_dev_binary().unwrap())
        .args(["status", "--http", &bob.http.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["state"]["state"], "ready");
    assert_eq!(printed["account"].as_str(), after.account.as_deref());

    // The recovery is on chain as an audit record.
    let bob_account = parse_account(after.account.as_deref().unwrap()).unwrap();
    let client = peerseal_testkit::connect_chain(&net.chain.url).await.unwrap();
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
    let _ports = dev_ports().await.unwrap();
    let mut net = bounded(300, start_network()).await;
    for (i, name) in NAMES.iter().copied().enumerate() {
        let before = net.nodes[i].status().await.unwrap();
        net.nodes.remove(i).kill();
        let node = start(name, &net.chain, net.dirs.path());
        net.nodes.insert(i, node);
        let after = bounded(120, net.nodes[i].wait_for("ready", 110)).await.unwrap();
        assert_eq!(after.first_start_marker, before.first_start_marker, "{name}");
        assert!(after.epoch > before.epoch, "{name} rotated on boot: {after:?}");
        assert_eq!(after.recovery_attempts, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_or_foreign_store_fails_clearly_and_stays_byte_identical() {
    let _ports = dev_ports().await.unwrap();
    let mut net = bounded(300, start_network()).await;
    let charlie = net.nodes.remove(2);
    charlie.kill();
    let dir = net.dirs.path().join("charlie");

    // A damaged header: the node must not get as far as asking for the key.
    let header = dir.join("db/PEERSEAL-KVDB");
    let mut bytes = std::fs::read(&header).unwrap();
    bytes[40] ^= 0xFF;
    std::fs::write(&header, &bytes).unwrap();
    let before = snapshot(&dir).unwrap();
    let node = start("charlie", &net.chain, net.dirs.path());
    let status = bounded(120, node.wait_for("recovery_failed", 110)).await.unwrap();
    let peerseal::Phase::RecoveryFailed { reason, label, .. } = status.state else {
        panic!("{status:?}")
    };
    assert!(reason.contains("cannot be used"), "{reason}");
    assert_eq!(label, "store");
    let (code, _) = node.get("/health").await.unwrap();
    assert_eq!(code, 503);
    // Let it retry at least once more before checking the files.
    node.wait_until("retried", Duration::from_secs(30), |s| s.recovery_attempts >= 2)
        .await
        .unwrap();
    node.kill();
    assert!(snapshot(&dir).unwrap() == before, "a damaged store was modified");

    // A foreign store (valid, but under another key): the recovered key does not open it.
    std::fs::remove_dir_all(dir.join("db")).unwrap();
    {
        let key = peerseal_kvdb::DbKey::generate().unwrap();
        let store = peerseal_kvdb::Store::create(dir.join("db"), &key).unwrap();
        store.tree("t").unwrap().insert(b"k", b"v").unwrap();
        store.flush().unwrap();
    }
    let before = snapshot(&dir).unwrap();
    let node = start("charlie", &net.chain, net.dirs.path());
    let status = bounded(180, node.wait_for("recovery_failed", 170)).await.unwrap();
    let peerseal::Phase::RecoveryFailed { reason, label, .. } = status.state else {
        panic!("{status:?}")
    };
    assert!(reason.contains("does not open this store"), "{reason}");
    assert_eq!(label, "wrong_key");
    node.kill();
    assert!(snapshot(&dir).unwrap() == before, "a foreign store was modified");
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
    let _ports = dev_ports().await.unwrap();
    let net = bounded(300, start_network()).await;
    let chain: std::sync::Arc<dyn peerseal_chain::ChainApi> =
        std::sync::Arc::new(peerseal_testkit::connect_chain(&net.chain.url).await.unwrap());

    // The database keys are generated inside the nodes; learn them the way a restarted node
    // does: recover each from its providers (dev mock quotes, fresh libp2p identity).
    let (client, quotes, net_task) = peerseal_e2e::recovery_client(chain.clone()).await;
    let mut keys = Vec::new();
    for node in &net.nodes {
        let status = node.status().await.unwrap();
        let account = parse_account(status.account.as_deref().unwrap()).unwrap();
        let recovered = bounded(60, client.recover(&account, quotes.clone())).await.unwrap();
        assert_eq!(Some(recovered.epoch), status.epoch, "{}", node.name);
        keys.push((node.name, account, recovered.key));
    }
    net_task.abort();
    let Net { chain: _chain, dirs, nodes } = net;
    for node in nodes {
        node.kill();
    }

    // Every file of the run: data dirs (stores, held shares, recovery files) and logs.
    let files = snapshot(dirs.path()).unwrap();
    assert!(files.keys().any(|p| p.ends_with("recovery.json")), "{:?}", files.keys());
    assert!(files.keys().any(|p| p.extension().is_some_and(|e| e == "log")));
    for (name, account, key) in &keys {
        // The scan can find things: the public account is in the node's recovery file.
        let public = occurrences(&files, account.as_bytes());
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
    let out = std::process::Command::new(peerseal_dev_binary().unwrap())
        .args(["info", "--dev-identity", "bob"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = peerseal_devkeys::dev_identity("bob").unwrap();
    assert_eq!(info["tss_account"], peerseal::recovery_file::hex(id.tss_account));
    assert_eq!(info["peer_id"], id.peer_id_base58());
    assert!(!info["registration_quote"].as_str().unwrap().is_empty());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(&peerseal::recovery_file::hex(*id.x25519_secret)));
    assert!(!text.contains(&peerseal::recovery_file::hex(*id.libp2p_ed25519_secret)));

    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(peerseal_dev_binary().unwrap())
        .args(["info", "--data-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "no recovery file, no identity to print");
}

/// SIGTERM ends a node promptly and cleanly even while it waits out a long backoff (here:
/// retrying a chain endpoint nobody listens on, with delays growing towards 10 minutes).
#[tokio::test]
async fn sigterm_stops_a_node_in_a_long_backoff_promptly_and_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let dead_port =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let trust_root = dir.path().join("trust-root.json");
    std::fs::write(&trust_root, peerseal_chain::TrustRoot::genesis([7; 32]).to_json()).unwrap();
    let mut cmd = std::process::Command::new(peerseal_dev_binary().unwrap());
    cmd.args(["run", "--dev-identity", "alice", "--http", "127.0.0.1:0"])
        .args(["--chain-url", &format!("ws://127.0.0.1:{dead_port}")])
        .arg("--trust-root")
        .arg(&trust_root)
        .arg("--data-dir")
        .arg(dir.path().join("alice"))
        .args(["--max-backoff-secs", "600"])
        .env("RUST_LOG", "info");
    let (mut process, http) = peerseal_testkit::Process::spawn(
        cmd,
        "HTTP listening on http://",
        Duration::from_secs(30),
        true,
    )
    .unwrap();
    let http: std::net::SocketAddr = http.parse().unwrap();
    // Let it fail a few connection attempts: the next delay is then seconds long.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let status = peerseal_testkit::daemon::status_at(http).await.unwrap();
    assert_eq!(status.state.label(), "starting", "{status:?}");
    process.terminate().unwrap();
    let started = std::time::Instant::now();
    let exit = process.wait_exit(Duration::from_secs(10)).expect("the node did not stop");
    assert!(exit.success(), "a clean shutdown exits 0: {exit:?}\n{}", process.stderr());
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(process.stderr().contains("shutting down"), "{}", process.stderr());
    assert!(!dir.path().join("alice").join("db").exists(), "nothing created before the chain");
}

/// `peerseal-node --log-format json`: the dev chain's log lines are JSON objects too (for the
/// same log shippers as the TSS node's).
#[test]
fn the_dev_chain_writes_json_log_lines_when_asked() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(peerseal_testkit::node_binary().unwrap())
        .args(["--dev", "--rpc-port", "0", "--log-format", "json"])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    // The node logs as it starts and seals; a few lines arrive within seconds (bounded: the
    // reader gives up when the child is killed).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = stderr.lines().take(3).map_while(Result::ok).collect();
        let _ = tx.send(lines);
    });
    let lines = rx.recv_timeout(Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    let lines = lines.expect("three log lines within 60 s");
    assert_eq!(lines.len(), 3);
    for line in &lines {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(entry["level"].is_string() && entry["fields"].is_object(), "{line}");
    }
}
