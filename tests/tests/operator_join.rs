//! The validator operator's journey with real processes on loopback (issue 15): a node with its
//! own generated identity (no dev identity, no pre-registration) starts unregistered, its stash
//! registers it with `peerseal register` (nonce, the node's own quote over local HTTP,
//! `Registry.register`), it backs up 2-of-3, is SIGKILLed, recovers and reads its data back;
//! then the stash makes it leave with `peerseal leave`: its client backs up elsewhere while it
//! still serves, it is removed after the chain's leave delay, and it drops the shares it held.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal_e2e::{bounded, dev_chain, metric, provider_accounts, verified};
use peerseal_testkit::{dev_ports, governance, DaemonOptions, TssDaemon};
use std::net::SocketAddr;
use std::time::Duration;

/// Runs `peerseal-dev <args>` with the stash secret in the environment; (success, stdout, stderr).
async fn operator(args: Vec<String>, stash_uri: &str) -> (bool, String, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome =
        peerseal_testkit::operator::run(&args, stash_uri, Duration::from_secs(150)).await.unwrap();
    (outcome.success, outcome.stdout, outcome.stderr)
}

/// `Attestation.request_attestation(account)` signed by `stash`; the nonce of its event, once
/// `node` has verified the block that holds it.
async fn request_nonce(
    url: &str,
    node: &TssDaemon,
    stash: &subxt_signer::sr25519::Keypair,
    account: [u8; 32],
) -> [u8; 32] {
    let api = subxt::OnlineClient::<subxt::PolkadotConfig>::from_insecure_url(url).await.unwrap();
    let call = subxt::dynamic::transaction(
        "Attestation",
        "request_attestation",
        (subxt::dynamic::Value::from_bytes(account),),
    );
    let in_block = api
        .tx()
        .await
        .unwrap()
        .sign_and_submit_then_watch_default(&call, stash)
        .await
        .unwrap()
        .wait_for_finalized()
        .await
        .unwrap();
    let events = in_block.wait_for_success().await.unwrap();
    let event = events
        .iter()
        .filter_map(Result::ok)
        .find(|e| e.event_name() == "AttestationRequested")
        .unwrap();
    let (_, _, nonce, _): ([u8; 32], [u8; 32], [u8; 32], u32) =
        codec::Decode::decode(&mut event.field_bytes()).unwrap();
    verified(&[node], in_block.at().await.unwrap().block_number(), 30).await;
    nonce
}

fn quote_path(stash: [u8; 32], nonce: [u8; 32]) -> String {
    format!("/registration/quote?stash=0x{}&nonce=0x{}", hex::encode(stash), hex::encode(nonce))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn post(node: SocketAddr, path: &str) -> (u16, String) {
    peerseal::http::post(node, path).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_identity_registers_itself_backs_up_two_of_three_recovers_and_leaves() {
    let _ports = dev_ports().await.unwrap();
    let chain = dev_chain();
    let dirs = tempfile::tempdir().unwrap();
    let start = |name: &'static str| {
        TssDaemon::start(name, &chain.url, &dirs.path().join(name), dirs.path()).unwrap()
    };
    // A network of three dev servers: dave (registered in the dev genesis) is removed, so the
    // provider choices below are not left to a down node.
    let dave = peerseal_devkeys::dev_identity("dave").unwrap();
    bounded(60, governance::remove_server(&chain.url, dave.stash_account)).await.unwrap();
    let mut dev_nodes: Vec<TssDaemon> =
        ["alice", "bob", "charlie"].into_iter().map(start).collect();
    for node in &dev_nodes {
        bounded(240, node.wait_for("ready", 230)).await.unwrap();
    }

    // The operator's node: a generated identity on a fixed address, 2-of-3.
    let listen = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let mut options = DaemonOptions::logs_in(dirs.path());
    options.generated_identity = true;
    let eve_stash = hex::encode(peerseal_devkeys::dev_identity("eve").unwrap().stash_account);
    options.args =
        ["--listen", &listen, "--threshold", "2", "--log-format", "json", "--stash", &eve_stash]
            .map(str::to_owned)
            .to_vec();
    let data_dir = dirs.path().join("operator");
    let node = TssDaemon::start_with("operator", &chain.url, &data_dir, &options).unwrap();
    let waiting = bounded(120, node.wait_for("awaiting_registration", 110)).await.unwrap();
    assert_eq!(waiting.state.label(), "awaiting_registration");
    let (code, identity) = node.get("/identity").await.unwrap();
    assert_eq!(code, 200, "{identity}");
    let identity: serde_json::Value = serde_json::from_str(&identity).unwrap();
    assert_eq!(identity["registered"], false);
    assert_eq!(identity["multiaddr"], listen.as_str());
    let account = identity["tss_account"].as_str().unwrap().to_owned();

    // The node quotes only a nonce the chain issued to that stash for its account, unexpired,
    // and (configured with `--stash`) only for its own stash.
    let eve = peerseal_devkeys::dev_identity("eve").unwrap().stash_account;
    let (code, body) = post(node.http, &quote_path(eve, [0x11; 32])).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("no attestation nonce"), "{body}");
    let (code, body) = post(node.http, "/registration/quote?stash=nonsense").await;
    assert_eq!(code, 400, "{body}");
    let bob_tss = peerseal_devkeys::dev_identity("bob").unwrap().tss_account;
    let for_bob =
        request_nonce(&chain.url, &node, &subxt_signer::sr25519::dev::eve(), bob_tss).await;
    let (code, body) = post(node.http, &quote_path(eve, for_bob)).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("requested for TSS account"), "{body}");
    let account_bytes: [u8; 32] = hex::decode(&account).unwrap().try_into().unwrap();
    let eves =
        request_nonce(&chain.url, &node, &subxt_signer::sr25519::dev::eve(), account_bytes).await;
    let (code, body) = post(node.http, &quote_path(eve, [0x11; 32])).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("not the nonce"), "{body}");
    let ferdie = peerseal_devkeys::dev_identity("ferdie").unwrap().stash_account;
    let ferdies =
        request_nonce(&chain.url, &node, &subxt_signer::sr25519::dev::ferdie(), account_bytes)
            .await;
    let (code, body) = post(node.http, &quote_path(ferdie, ferdies)).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("configured for stash"), "{body}");

    // For a hardware wallet: the call data to sign elsewhere (Registry = pallet 11, call 0,
    // then the ServerInfo, which starts with the TSS account).
    let http = node.http.to_string();
    let (ok, out, err) = operator(
        ["register", "--node", &http, "--chain-url", &chain.url, "--print-call", "--stash"]
            .into_iter()
            .map(str::to_owned)
            .chain([eve_stash.clone(), "--nonce".into(), hex::encode(eves)])
            .collect(),
        "",
    )
    .await;
    assert!(ok, "register --print-call failed: {out}\n{err}");
    let printed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        printed["call_data"].as_str().unwrap().starts_with(&format!("0x0b00{account}")),
        "{printed}"
    );
    let (ok, out, _) = operator(
        ["leave", "--chain-url", &chain.url, "--print-call"].map(str::to_owned).to_vec(),
        "",
    )
    .await;
    assert!(ok);
    assert!(out.contains("\"call_data\":\"0x0b02\""), "{out}");

    // The stash (//Eve, not a server in the dev genesis) registers it.
    let (ok, out, err) = operator(
        ["register", "--node", &http, "--chain-url", &chain.url].map(str::to_owned).to_vec(),
        "//Eve",
    )
    .await;
    assert!(ok, "register failed: {out}\n{err}");
    let registered: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(registered["registered"], account.as_str());
    assert_eq!(registered["stash"], hex::encode(eve));

    // Ready, and following the chain (its own registry state shown).
    let ready = bounded(
        240,
        node.wait_until("ready", Duration::from_secs(230), |s| {
            s.state.label() == "ready" && s.registration.is_some()
        }),
    )
    .await
    .unwrap();
    assert_eq!(ready.threshold, Some(2));
    let providers = provider_accounts(&ready);
    assert_eq!(providers.len(), 3, "{ready:?}");
    let (code, identity) = node.get("/identity").await.unwrap();
    assert_eq!(code, 200);
    assert!(identity.contains("\"registered\":true"), "{identity}");
    // `info --http` and `status --table` show the generated identity and its 2-of-3 backup.
    let (ok, info, err) = operator(["info", "--http", &http].map(str::to_owned).to_vec(), "").await;
    assert!(ok, "{err}");
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["tss_account"], account.as_str());
    assert_eq!(info["registered"], true);
    let (ok, table, err) =
        operator(["status", "--http", &http, "--table"].map(str::to_owned).to_vec(), "").await;
    assert!(ok, "{err}");
    assert!(table.contains("state            ready"), "{table}");
    assert!(table.contains("backup           2-of-3"), "{table}");
    assert!(table.contains("registration     active"), "{table}");
    assert_eq!(table.matches("provider ").count(), 3, "{table}");
    // No quote once registered.
    let (code, body) = post(node.http, &quote_path(eve, [0x11; 32])).await;
    assert_eq!(code, 409);
    assert!(body.contains("not waiting to be registered"), "{body}");

    // Data written, SIGKILL, restart on the same disk and address: recovered, read back.
    let (code, body) = post(node.http, "/dev/records/7").await;
    assert_eq!(code, 200, "{body}");
    node.kill();
    let node = TssDaemon::start_with("operator", &chain.url, &data_dir, &options).unwrap();
    let recovered = bounded(240, node.wait_for("ready", 230)).await.unwrap();
    assert_eq!(recovered.account.as_deref(), Some(account.as_str()));
    assert!(recovered.epoch > ready.epoch, "rotated on boot: {recovered:?}");
    let (code, body) = node.get("/dev/records/7").await.unwrap();
    assert_eq!((code, body.trim()), (200, "record 7"));

    // Alice restarts asking for 2-of-n: her boot rotation takes all three others, the
    // operator's node among them.
    dev_nodes.remove(0).kill();
    let mut two_of_n = DaemonOptions::logs_in(dirs.path());
    two_of_n.args = ["--threshold", "2"].map(str::to_owned).to_vec();
    let alice =
        TssDaemon::start_with("alice", &chain.url, &dirs.path().join("alice"), &two_of_n).unwrap();
    let alice_ready = bounded(240, alice.wait_for("ready", 230)).await.unwrap();
    assert!(provider_accounts(&alice_ready).contains(&account), "{alice_ready:?}");

    // The stash makes it leave: the chain marks it leaving, and its client backs up elsewhere
    // (2-of-2 on the two servers left) while it still serves.
    let (ok, out, err) =
        operator(["leave", "--chain-url", &chain.url].map(str::to_owned).to_vec(), "//Eve").await;
    assert!(ok, "leave failed: {out}\n{err}");
    let left: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(left["leaving"], account.as_str());
    let moved = bounded(
        120,
        alice.wait_until("backed up away from the leaving node", Duration::from_secs(110), |s| {
            s.state.label() == "ready" && !provider_accounts(s).contains(&account)
        }),
    )
    .await
    .unwrap();
    assert!(moved.epoch > alice_ready.epoch);
    assert_eq!(provider_accounts(&moved).len(), 2, "{moved:?}");
    let leaving = node.status().await.unwrap();
    assert_ne!(leaving.state.label(), "recovery_failed");
    assert_eq!(leaving.registration.as_deref(), Some("leaving"), "{leaving:?}");

    // After the chain's leave delay it is removed; by then it holds no share of anyone (its
    // client moved away, and its sweep drops what no recorded backup names it for).
    let verified = peerseal_testkit::connect_chain(&chain.url).await.unwrap();
    let account_id = peerseal::recovery_file::parse_account(&account).unwrap();
    bounded(150, async {
        while peerseal_chain::ChainApi::server_by_tss(&verified, &account_id)
            .await
            .unwrap()
            .is_some()
        {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    let after = bounded(
        100,
        node.wait_until("held shares dropped", Duration::from_secs(90), |s| {
            s.backups_held == Some(0) && s.registration.as_deref() == Some("removed")
        }),
    )
    .await
    .unwrap();
    assert_ne!(after.state.label(), "recovery_failed");
    let (_, identity) = node.get("/identity").await.unwrap();
    assert!(identity.contains("\"registered\":false"), "{identity}");

    // The audit trail, in block order: registered, leaving (its client told), the client's new
    // backup, removed.
    use futures::StreamExt;
    use peerseal_chain::ChainEvent;
    let alice_account = peerseal::recovery_file::parse_account(&moved.account.clone().unwrap());
    let mut steps: Vec<(&str, u64)> = Vec::new();
    let mut blocks = Box::pin(verified.finalized_blocks_from(1));
    bounded(60, async {
        while !steps.iter().any(|(step, _)| *step == "removed") {
            let block = blocks.next().await.unwrap().unwrap();
            for event in &block.events {
                let step = match event {
                    ChainEvent::ServerRegistered { tss_account, .. }
                        if *tss_account == account_id =>
                    {
                        "registered"
                    }
                    ChainEvent::ServerLeaving { tss_account, .. } if *tss_account == account_id => {
                        "leaving"
                    }
                    ChainEvent::ProviderLeaving { provider, clients }
                        if *provider == account_id
                            && alice_account.is_some_and(|a| clients.contains(&a)) =>
                    {
                        "client told"
                    }
                    ChainEvent::BackupRecorded { client, epoch }
                        if Some(*client) == alice_account && Some(*epoch) == moved.epoch =>
                    {
                        "client moved"
                    }
                    ChainEvent::ServerRemoved { tss_account, .. } if *tss_account == account_id => {
                        "removed"
                    }
                    _ => continue,
                };
                steps.push((step, block.number));
            }
        }
    })
    .await;
    let at = |name: &str| {
        let found: Vec<u64> = steps.iter().filter(|(s, _)| *s == name).map(|(_, b)| *b).collect();
        assert_eq!(found.len(), 1, "{name} once: {steps:?}");
        found[0]
    };
    // The leave and the notice to its clients are one extrinsic, hence one block.
    assert!(at("registered") < at("leaving"), "{steps:?}");
    assert_eq!(at("leaving"), at("client told"), "{steps:?}");
    assert!(at("client told") <= at("client moved"), "{steps:?}");
    assert!(at("client moved") < at("removed"), "moved before the removal: {steps:?}");

    // `--log-format json`: every line of its log is one JSON object with level and fields.
    node.kill();
    let log = std::fs::read_to_string(dirs.path().join("operator.log")).unwrap();
    assert!(log.lines().count() > 5);
    for line in log.lines() {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(entry["level"].is_string() && entry["fields"].is_object(), "{line}");
    }
    assert!(log.contains("registration quote made"));
}

/// 2-of-3 (the default) end to end: with one provider down a killed node still recovers and
/// backs up 2-of-2 on the two that answer (below target, in /metrics), then 2-of-3 again once
/// all are up; with two down its recovery fails with a reason naming the providers that did not
/// answer (and the one share it got matches no key: the commitment check refuses it), and its
/// store is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_three_recovers_with_one_provider_down_and_names_the_missing_two() {
    let _ports = dev_ports().await.unwrap();
    let chain = dev_chain();
    let dirs = tempfile::tempdir().unwrap();
    let mut two_of_three = DaemonOptions::logs_in(dirs.path());
    // The default threshold (2-of-3, settling for fewer only when it must).
    two_of_three.args = ["--health-interval-secs", "2"].map(str::to_owned).to_vec();
    let alice_dir = dirs.path().join("alice");
    let start_alice =
        || TssDaemon::start_with("alice", &chain.url, &alice_dir, &two_of_three).unwrap();
    let start = |name: &'static str| {
        TssDaemon::start(name, &chain.url, &dirs.path().join(name), dirs.path()).unwrap()
    };
    let alice = start_alice();
    let mut peers: Vec<Option<TssDaemon>> =
        ["bob", "charlie", "dave"].into_iter().map(|n| Some(start(n))).collect();
    let ready = bounded(240, alice.wait_for("ready", 230)).await.unwrap();
    assert_eq!(ready.threshold, Some(2));
    assert_eq!(provider_accounts(&ready).len(), 3, "{ready:?}");
    let tss = |name: &str| hex::encode(peerseal_devkeys::dev_identity(name).unwrap().tss_account);
    // `/status` and `status --table` show each provider's last health check.
    let checked = bounded(
        60,
        alice.wait_until("providers checked", Duration::from_secs(50), |s| {
            s.providers.iter().all(|p| p.health.as_deref() == Some("healthy"))
        }),
    )
    .await
    .unwrap();
    assert!(checked.providers.iter().all(|p| p.checked_unix.is_some()), "{checked:?}");
    let http = alice.http.to_string();
    let (ok, table, err) =
        operator(["status", "--http", &http, "--table"].map(str::to_owned).to_vec(), "").await;
    assert!(ok, "{err}");
    assert_eq!(table.matches(") healthy").count(), 3, "{table}");

    // Dave down: two of the three shares are still there. Alice recovers, and her boot
    // rotation settles for 2-of-2 on the two that answer (below target, shown in /metrics).
    peers[2].take().unwrap().kill();
    alice.kill();
    let alice = start_alice();
    let settled = bounded(
        120,
        alice.wait_until("recovered and re-backed up", Duration::from_secs(110), |s| {
            s.state.label() == "ready" && s.epoch > ready.epoch
        }),
    )
    .await
    .unwrap();
    assert_eq!(settled.first_start_marker, ready.first_start_marker, "the same store");
    assert_eq!(settled.threshold, Some(2));
    assert_eq!(provider_accounts(&settled).len(), 2, "{settled:?}");
    assert!(!provider_accounts(&settled).contains(&tss("dave")), "{settled:?}");
    assert_eq!(metric(&alice, "peerseal_backup_below_target").await, 1);

    // Dave back and alice restarted: 2-of-3 again.
    peers[2] = Some(start("dave"));
    bounded(120, peers[2].as_ref().unwrap().wait_for("ready", 110)).await.unwrap();
    alice.kill();
    let alice = start_alice();
    let full = bounded(
        120,
        alice.wait_until("2-of-3 again", Duration::from_secs(110), |s| {
            s.state.label() == "ready" && s.epoch > settled.epoch && s.providers.len() == 3
        }),
    )
    .await
    .unwrap();
    assert_eq!(full.threshold, Some(2));
    assert_eq!(metric(&alice, "peerseal_backup_below_target").await, 0);

    // Bob and dave down: one share is not enough; the failure names both.
    peers[0].take().unwrap().kill();
    peers[2].take().unwrap().kill();
    alice.kill();
    let before = peerseal_testkit::snapshot(&alice_dir.join("db")).unwrap();
    let alice = start_alice();
    let failed = bounded(
        120,
        alice.wait_until("recovery failed", Duration::from_secs(110), |s| {
            s.state.label() == "recovery_failed"
        }),
    )
    .await
    .unwrap();
    let peerseal::phase::Phase::RecoveryFailed { reason, .. } = &failed.state else {
        unreachable!()
    };
    assert!(reason.contains("1 valid shares of 2"), "{reason}");
    assert!(reason.contains(&tss("bob")) && reason.contains(&tss("dave")), "{reason}");
    // Charlie answered, and his share alone matches no key: the commitment check refuses it.
    let charlie = reason.split("ProviderFailure").find(|f| f.contains(&tss("charlie"))).unwrap();
    assert!(charlie.contains("CommitmentMismatch"), "{reason}");
    alice.kill();
    assert_eq!(
        peerseal_testkit::snapshot(&alice_dir.join("db")).unwrap(),
        before,
        "store untouched"
    );
}
