//! The dev chain driven end to end by unmodified clients over loopback: subxt (storage, maps,
//! signed transfers and pallet calls, events, finalized-block stream, historic state) and raw
//! JSON-RPC (error codes for invalid transactions, liveness afterwards).

// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::Node;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use subxt::dynamic::{At, Value};
use subxt::{OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::{dev, Keypair};
use subxt_signer::SecretUri;

type Client = OnlineClient<PolkadotConfig>;

const LIMIT: Duration = Duration::from_secs(60);

async fn connect(node: &Node) -> Client {
    tokio::time::timeout(LIMIT, Client::from_insecure_url(&node.url))
        .await
        .expect("connect timed out")
        .expect("connect")
}

fn tss_key(name: &str) -> Keypair {
    let uri: SecretUri = format!("//{name}//tss").parse().unwrap();
    Keypair::from_uri(&uri).unwrap()
}

async fn free_balance(client: &Client, block: Option<u32>, who: [u8; 32]) -> u128 {
    let at = match block {
        Some(n) => client.at_block(n).await.unwrap(),
        None => client.at_current_block().await.unwrap(),
    };
    let addr = subxt::dynamic::storage::<([u8; 32],), Value>("System", "Account");
    let value = at.storage().fetch(addr, (who,)).await.unwrap().decode().unwrap();
    value.at("data").at("free").and_then(|v| v.as_u128()).expect("free balance")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subxt_reads_writes_and_follows_the_chain() {
    let node = Node::start(&["--dev", "--block-time", "500"]);
    let client = connect(&node).await;
    let alice = dev::alice();
    let bob = dev::bob();
    let bob_id: [u8; 32] = bob.public_key().0;

    // Storage: an account and an iterated map (the four pre-registered dev TSS servers).
    let bob_before = free_balance(&client, None, bob_id).await;
    assert!(bob_before > 0, "dev accounts are funded");
    let at = client.at_current_block().await.unwrap();
    let before_number = at.block_number() as u32;
    let servers = subxt::dynamic::storage::<([u8; 32],), Value>("Registry", "Servers");
    let mut iter = at.storage().iter(servers, ()).await.unwrap();
    let mut count = 0;
    while let Some(entry) = iter.next().await {
        entry.unwrap();
        count += 1;
    }
    assert_eq!(count, 4, "Alice..Dave are registered in the dev genesis");

    // A signed balance transfer, watched to finalization, with its events.
    let transfer = subxt::dynamic::transaction(
        "Balances",
        "transfer_keep_alive",
        (bob.public_key().to_address::<()>(), 1_000_000_000u128),
    );
    let events = tokio::time::timeout(LIMIT, async {
        client
            .tx()
            .await
            .unwrap()
            .sign_and_submit_then_watch_default(&transfer, &alice)
            .await
            .unwrap()
            .wait_for_finalized_success()
            .await
    })
    .await
    .expect("transfer timed out")
    .expect("transfer succeeds");
    let names: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            let e = e.unwrap();
            (e.pallet_name().to_string(), e.event_name().to_string())
        })
        .collect();
    assert!(names.contains(&("Balances".into(), "Transfer".into())), "{names:?}");
    assert_eq!(free_balance(&client, None, bob_id).await, bob_before + 1_000_000_000);

    // Historic state: the balance at the block before the transfer is the old one.
    assert_eq!(free_balance(&client, Some(before_number), bob_id).await, bob_before);

    // A pallet-backup call signed by an unfunded dev TSS account (feeless for servers).
    let providers = vec![(tss_key("Bob").public_key().0, 1u8)];
    // No recovery operators in the dev genesis, so no sealed recovery shares.
    let no_recovery: Option<(u32, Vec<Vec<u8>>)> = None;
    let record = subxt::dynamic::transaction(
        "Backup",
        "record_backup",
        (1u64, 1u8, providers, [7u8; 32], no_recovery),
    );
    let events = tokio::time::timeout(LIMIT, async {
        client
            .tx()
            .await
            .unwrap()
            .sign_and_submit_then_watch_default(&record, &tss_key("Alice"))
            .await
            .unwrap()
            .wait_for_finalized_success()
            .await
    })
    .await
    .expect("record_backup timed out")
    .expect("record_backup succeeds");
    assert!(events.iter().any(|e| {
        let e = e.unwrap();
        e.pallet_name() == "Backup" && e.event_name() == "BackupRecorded"
    }));

    // Following finalized blocks: two new ones arrive on their own (interval sealing).
    let mut blocks = client.stream_blocks().await.unwrap();
    let first = tokio::time::timeout(LIMIT, blocks.next()).await.unwrap().unwrap().unwrap();
    let second = tokio::time::timeout(LIMIT, blocks.next()).await.unwrap().unwrap().unwrap();
    assert!(second.number() > first.number());
}

async fn raw_client(node: &Node) -> jsonrpsee::ws_client::WsClient {
    WsClientBuilder::default().build(&node.url).await.unwrap()
}

fn error_code(err: jsonrpsee::core::ClientError) -> i32 {
    match err {
        jsonrpsee::core::ClientError::Call(obj) => obj.code(),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_transactions_fail_at_once_and_the_chain_goes_on() {
    let node = Node::start(&["--dev", "--block-time", "300"]);
    let client = connect(&node).await;
    let rpc = raw_client(&node).await;

    // A valid signed transfer, to derive the bad variants from.
    let transfer = subxt::dynamic::transaction(
        "Balances",
        "transfer_keep_alive",
        (dev::bob().public_key().to_address::<()>(), 1_000_000u128),
    );
    let mut tx = client.tx().await.unwrap();
    let signed = tx.create_signed(&transfer, &dev::alice(), Default::default()).await.unwrap();
    let good = signed.encoded().to_vec();

    // Layout: compact length (2 bytes here) ‖ 0x84 ‖ MultiAddress::Id (1 + 32) ‖
    // MultiSignature::Sr25519 (1 + 64) ‖ extensions ‖ call. The call is pallet index, call index,
    // MultiAddress::Id (1 + 32) and a compact amount (4 bytes for 1_000_000): 39 bytes at the end.
    assert!(good.len() > 64 && good[2] == 0x84, "unexpected extrinsic layout");
    let mut bad_sig = good.clone();
    bad_sig[2 + 1 + 33 + 1 + 10] ^= 0xFF;
    let mut unknown_call = good.clone();
    let n = unknown_call.len();
    unknown_call[n - 39] = 0xEE;

    let submit = |bytes: Vec<u8>| {
        let rpc = &rpc;
        async move {
            let hex = format!("0x{}", hex::encode(bytes));
            tokio::time::timeout(
                Duration::from_secs(10),
                rpc.request::<String, _>("author_submitExtrinsic", rpc_params![hex]),
            )
            .await
            .expect("an invalid transaction must be answered at once")
        }
    };
    assert_eq!(error_code(submit(bad_sig).await.unwrap_err()), 1010);
    assert_eq!(error_code(submit(unknown_call).await.unwrap_err()), 1010);
    assert_eq!(error_code(submit(vec![1, 2, 3]).await.unwrap_err()), 1010);
    // Garbage hex is not even a parameter.
    let garbage = rpc
        .request::<String, _>("author_submitExtrinsic", rpc_params!["0xnothex"])
        .await
        .unwrap_err();
    assert_eq!(error_code(garbage), -32602);

    // The good one lands; sending it again is a stale nonce.
    let hash: String = rpc
        .request("author_submitExtrinsic", rpc_params![format!("0x{}", hex::encode(&good))])
        .await
        .unwrap();
    assert!(hash.starts_with("0x"));
    let start: serde_json::Value = rpc.request("chain_getHeader", rpc_params![]).await.unwrap();
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let pending: Vec<String> =
            rpc.request("author_pendingExtrinsics", rpc_params![]).await.unwrap();
        if pending.is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "transfer never included");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(error_code(submit(good).await.unwrap_err()), 1010);

    // submitAndWatch of an invalid transaction is an error, not a subscription that hangs.
    let watch = tokio::time::timeout(
        Duration::from_secs(10),
        jsonrpsee::core::client::SubscriptionClientT::subscribe::<serde_json::Value, _>(
            &rpc,
            "author_submitAndWatchExtrinsic",
            rpc_params!["0x0102"],
            "author_unwatchExtrinsic",
        ),
    )
    .await
    .expect("answered at once");
    assert!(watch.is_err());

    // Blocks keep coming.
    let start_number =
        u32::from_str_radix(start["number"].as_str().unwrap().trim_start_matches("0x"), 16)
            .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let now: serde_json::Value = rpc.request("chain_getHeader", rpc_params![]).await.unwrap();
    let now_number =
        u32::from_str_radix(now["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert!(now_number >= start_number + 2, "{start_number} -> {now_number}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_methods_answer_in_substrate_shapes() {
    let node = Node::start(&["--dev"]);
    let rpc = raw_client(&node).await;
    let methods: serde_json::Value = rpc.request("rpc_methods", rpc_params![]).await.unwrap();
    let list: Vec<&str> =
        methods["methods"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    for required in [
        "chain_getBlockHash",
        "chain_getHeader",
        "chain_getBlock",
        "chain_getFinalizedHead",
        "chain_subscribeNewHeads",
        "chain_subscribeFinalizedHeads",
        "chain_subscribeAllHeads",
        "state_call",
        "state_getStorage",
        "state_getKeysPaged",
        "state_queryStorageAt",
        "state_getMetadata",
        "state_getRuntimeVersion",
        "state_subscribeRuntimeVersion",
        "state_subscribeStorage",
        "author_submitExtrinsic",
        "author_submitAndWatchExtrinsic",
        "system_chain",
        "system_name",
        "system_version",
        "system_properties",
        "system_health",
        "system_accountNextIndex",
        "rpc_methods",
    ] {
        assert!(list.contains(&required), "missing {required}");
    }
    assert!(!list.iter().any(|m| m.starts_with("chainHead_")), "legacy methods only");
    let genesis: String = rpc.request("chain_getBlockHash", rpc_params![0]).await.unwrap();
    let again: String = rpc.request("chain_getBlockHash", rpc_params!["0x0"]).await.unwrap();
    assert_eq!(genesis, again);
    let version: serde_json::Value =
        rpc.request("state_getRuntimeVersion", rpc_params![]).await.unwrap();
    assert_eq!(version["specName"], "peerseal");
    let chain: String = rpc.request("system_chain", rpc_params![]).await.unwrap();
    assert_eq!(chain, "peerseal dev");
    let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    let nonce: u32 = rpc.request("system_accountNextIndex", rpc_params![alice]).await.unwrap();
    assert_eq!(nonce, 0);
    let too_many = rpc
        .request::<Vec<String>, _>("state_getKeysPaged", rpc_params!["0x", 100_000])
        .await
        .unwrap_err();
    assert_eq!(error_code(too_many), -32602);
    let keys: Vec<String> = rpc.request("state_getKeysPaged", rpc_params!["0x", 5]).await.unwrap();
    assert_eq!(keys.len(), 5);
    let next: Vec<String> =
        rpc.request("state_getKeysPaged", rpc_params!["0x", 5, keys[4].clone()]).await.unwrap();
    assert!(next[0] > keys[4]);
    // A block the node never had is `null`, not an error.
    let missing: Option<serde_json::Value> = rpc
        .request("chain_getHeader", rpc_params![format!("0x{}", "11".repeat(32))])
        .await
        .unwrap();
    assert!(missing.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_path_keeps_the_chain_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let base_arg = base.to_str().unwrap();
    let bob_id: [u8; 32] = dev::bob().public_key().0;
    let (genesis, best_number, bob_after) = {
        let node = Node::start(&["--dev", "--base-path", base_arg, "--block-time", "300"]);
        let client = connect(&node).await;
        let transfer = subxt::dynamic::transaction(
            "Balances",
            "transfer_keep_alive",
            (dev::bob().public_key().to_address::<()>(), 5_000_000u128),
        );
        tokio::time::timeout(LIMIT, async {
            client
                .tx()
                .await
                .unwrap()
                .sign_and_submit_then_watch_default(&transfer, &dev::alice())
                .await
                .unwrap()
                .wait_for_finalized_success()
                .await
                .unwrap()
        })
        .await
        .unwrap();
        let bob_after = free_balance(&client, None, bob_id).await;
        let number = client.at_current_block().await.unwrap().block_number();
        let genesis = client.genesis_hash();
        node.kill();
        (genesis, number, bob_after)
    };
    let node = Node::start(&["--dev", "--base-path", base_arg, "--block-time", "300"]);
    let client = connect(&node).await;
    assert_eq!(client.genesis_hash(), genesis);
    assert!(client.at_current_block().await.unwrap().block_number() >= best_number);
    assert_eq!(free_balance(&client, None, bob_id).await, bob_after);
    // And the old blocks are there with their old state.
    assert_eq!(free_balance(&client, Some(best_number as u32), bob_id).await, bob_after);
}

#[test]
fn a_foreign_base_path_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("chain")).unwrap();
    std::fs::write(dir.path().join("chain").join("db"), b"someone else's data").unwrap();
    let err = match Node::try_start(&["--dev", "--base-path", dir.path().to_str().unwrap()]) {
        Ok(_) => panic!("a foreign base path must be refused"),
        Err(err) => err,
    };
    assert!(err.contains("not a peerseal-node chain database"), "{err}");
    // Nothing of the foreign data was changed.
    assert_eq!(std::fs::read(dir.path().join("chain").join("db")).unwrap(), b"someone else's data");
}

#[test]
fn build_spec_prints_a_spec_that_runs() {
    let (ok, spec, err) = common::run_to_exit(&["build-spec"], None);
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&spec).unwrap();
    assert_eq!(json["id"], "peerseal_dev");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.json");
    std::fs::write(&path, &spec).unwrap();
    let node = Node::start(&["--chain", path.to_str().unwrap()]);
    drop(node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_with_wasm_code_and_its_raw_form_start_the_same_genesis() {
    // The node never executes `code` (it runs the runtime natively), so any bytes stand in for
    // the wasm here; scripts/chopsticks runs the real blob in another executor.
    let dir = tempfile::tempdir().unwrap();
    let code: Vec<u8> = b"\0asm\x01\0\0\0peerseal test code".to_vec();
    let wasm = dir.path().join("runtime.wasm");
    std::fs::write(&wasm, &code).unwrap();
    let wasm = wasm.to_str().unwrap();
    let spec_of = |args: &[&str]| {
        let (ok, spec, err) = common::run_to_exit(args, None);
        assert!(ok, "{err}");
        spec
    };
    let with_code = spec_of(&["build-spec", "--wasm", wasm]);
    let raw = spec_of(&["build-spec", "--wasm", wasm, "--raw"]);
    let json: serde_json::Value = serde_json::from_str(&with_code).unwrap();
    let hex_code = format!("0x{}", hex::encode(&code));
    assert_eq!(json["genesis"]["runtimeGenesis"]["code"], hex_code.as_str());
    let json: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(json["genesis"]["raw"]["top"]["0x3a636f6465"], hex_code.as_str(), ":code");
    assert!(json["genesis"]["raw"]["top"].as_object().unwrap().len() > 20);

    let mut genesis = Vec::new();
    for (name, spec) in [("code.json", &with_code), ("raw.json", &raw)] {
        let path = dir.path().join(name);
        std::fs::write(&path, spec).unwrap();
        let (ok, root, err) =
            common::run_to_exit(&["trust-root", "--chain", path.to_str().unwrap()], None);
        assert!(ok, "{err}");
        let root: serde_json::Value = serde_json::from_str(&root).unwrap();
        let node = Node::start(&["--chain", path.to_str().unwrap()]);
        let rpc = raw_client(&node).await;
        let served: String = rpc.request("chain_getBlockHash", rpc_params![0]).await.unwrap();
        assert_eq!(
            root["genesis_hash"],
            served.as_str(),
            "{name}: the node runs the genesis it computes"
        );
        genesis.push(served);
    }
    assert_eq!(genesis[0], genesis[1], "the raw form is the same genesis");
    let (_, plain, _) = common::run_to_exit(&["trust-root"], None);
    let plain: serde_json::Value = serde_json::from_str(&plain).unwrap();
    assert_ne!(plain["genesis_hash"], genesis[0].as_str(), ":code is part of genesis storage");
}

/// Specs as Substrate's own tools write them (`chain-spec-builder`, a Substrate node's
/// `build-spec`, omni-node's parachain extension) load here with the same genesis; a spec this
/// node cannot honour (code substitutes) is refused, not run with other rules.
#[test]
fn specs_in_substrate_tools_shape_load_with_the_same_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let genesis_of = |name: &str, spec: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, spec).unwrap();
        let (ok, root, err) =
            common::run_to_exit(&["trust-root", "--chain", path.to_str().unwrap()], None);
        (ok, root, err)
    };
    let (ok, plain, err) = common::run_to_exit(&["build-spec"], None);
    assert!(ok, "{err}");
    let (ok, plain_root, err) = genesis_of("plain.json", &plain);
    assert!(ok, "{err}");
    let plain_root: serde_json::Value = serde_json::from_str(&plain_root).unwrap();

    // `build-spec --para-id` writes Cumulus' extension, snake_case as sc-chain-spec does.
    let (ok, omni, err) = common::run_to_exit(&["build-spec", "--para-id", "2000", "--raw"], None);
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&omni).unwrap();
    assert_eq!((json["para_id"].as_u64(), json["relay_chain"].as_str()), (Some(2000), Some("dev")));
    let (ok, root, err) = genesis_of("omni.json", &omni);
    assert!(ok, "{err}");
    let root: serde_json::Value = serde_json::from_str(&root).unwrap();
    assert_eq!(root["genesis_hash"], plain_root["genesis_hash"], "the extension is not genesis");

    // The fields sc-chain-spec writes, a full `config` instead of a `patch`, camelCase
    // extension names: all accepted, same genesis.
    let mut substrate: serde_json::Value = serde_json::from_str(&plain).unwrap();
    let object = substrate.as_object_mut().unwrap();
    object.insert("bootNodes".into(), serde_json::json!([]));
    object.insert("telemetryEndpoints".into(), serde_json::Value::Null);
    object.insert("protocolId".into(), serde_json::json!("peerseal"));
    object.insert("codeSubstitutes".into(), serde_json::json!({}));
    object.insert("relayChain".into(), serde_json::json!("rococo-local"));
    object.insert("paraId".into(), serde_json::json!(1000));
    let runtime_genesis = object["genesis"]["runtimeGenesis"].as_object_mut().unwrap();
    let patch = runtime_genesis.remove("patch").unwrap();
    runtime_genesis.insert("config".into(), patch);
    let (ok, root, err) = genesis_of("substrate.json", &substrate.to_string());
    assert!(ok, "{err}");
    let root: serde_json::Value = serde_json::from_str(&root).unwrap();
    assert_eq!(root["genesis_hash"], plain_root["genesis_hash"]);

    // Code substitutes would change the rules from some block on: refused, clearly.
    substrate["codeSubstitutes"] = serde_json::json!({"5": "0x0061736d"});
    let (ok, _, err) = genesis_of("substitutes.json", &substrate.to_string());
    assert!(!ok);
    assert!(err.contains("codeSubstitutes"), "{err}");
    // An unknown field is still an error (a typo must not start another chain).
    let mut typo: serde_json::Value = serde_json::from_str(&plain).unwrap();
    typo["bootnodes"] = serde_json::json!([]);
    let (ok, _, err) = genesis_of("typo.json", &typo.to_string());
    assert!(!ok);
    assert!(err.contains("bootnodes"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_testnet_preset_starts_as_a_production_network_and_finalizes() {
    let (ok, spec, err) = common::run_to_exit(&["build-spec", "--preset", "local_testnet"], None);
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&spec).unwrap();
    assert_eq!(
        (json["id"].as_str(), json["chainType"].as_str()),
        (Some("peerseal_local_testnet"), Some("Local"))
    );
    let patch = &json["genesis"]["runtimeGenesis"]["patch"];
    assert_eq!(patch["attestation"]["pckMode"], "Production", "{patch}");
    assert!(
        patch["attestation"]["acceptedMeasurements"].as_array().is_none_or(Vec::is_empty),
        "{patch}"
    );
    assert!(
        patch["attestation"]["allowedMockPcks"].as_array().is_none_or(Vec::is_empty),
        "{patch}"
    );
    assert!(patch["registry"]["servers"].as_array().is_none_or(Vec::is_empty), "{patch}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.json");
    std::fs::write(&path, &spec).unwrap();
    let (ok, root, err) =
        common::run_to_exit(&["trust-root", "--chain", path.to_str().unwrap()], None);
    assert!(ok, "{err}");
    let root: serde_json::Value = serde_json::from_str(&root).unwrap();
    let authorities = root["checkpoint"]["authorities"].as_array().unwrap();
    assert_eq!(authorities.len(), 3, "three distinct GRANDPA authorities: {root}");
    // The dev node holds those three keys and finalizes with them.
    let node = Node::start(&["--chain", path.to_str().unwrap(), "--block-time", "200"]);
    let rpc = raw_client(&node).await;
    let finalized = tokio::time::timeout(LIMIT, async {
        loop {
            let head: String = rpc.request("chain_getFinalizedHead", rpc_params![]).await.unwrap();
            let header: serde_json::Value =
                rpc.request("chain_getHeader", rpc_params![head]).await.unwrap();
            let number = u64::from_str_radix(
                header["number"].as_str().unwrap().trim_start_matches("0x"),
                16,
            )
            .unwrap();
            if number >= 2 {
                break number;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the local testnet finalizes");
    assert!(finalized >= 2);
}
