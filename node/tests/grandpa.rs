//! The verified chain view, checked the way a light client checks it, over real JSON-RPC against
//! a spawned dev node: every block's GRANDPA justification (from `chain_getBlock`,
//! `grandpa_proveFinality` and `grandpa_subscribeJustifications`) verifies with the authority
//! set followed from genesis and header digests; `state_getReadProof` proofs verify against the
//! header's state root (present and absent keys), not against another block's; genesis state
//! stays provable under pruning; a governance change of the authority set hands over exactly as
//! GRANDPA specifies, across a restart.

// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use codec::{Decode, Encode};
use common::Node;
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use peerseal_node::finality::FinalityProof;
use peerseal_node::types::{Hash, Header};
use serde::Deserialize;
use sp_consensus_grandpa::{
    AuthorityId, AuthorityList, ConsensusLog, GrandpaJustification, GRANDPA_ENGINE_ID,
};
use sp_core::{Bytes, Pair as _};
use sp_runtime::traits::BlakeTwo256;
use sp_runtime::DigestItem;
use sp_state_machine::{read_proof_check, StorageProof};
use subxt::dynamic::Value;
use subxt::{OnlineClient, PolkadotConfig};

const LIMIT: Duration = Duration::from_secs(60);

/// subxt's legacy `chain_getBlock` response (`subxt_rpcs::methods::legacy::BlockDetails`),
/// field for field: what existing clients decode.
#[derive(Deserialize)]
struct BlockDetails {
    block: serde_json::Value,
    justifications: Option<Vec<([u8; 4], Vec<u8>)>>,
}

/// `state_getReadProof`'s result.
#[derive(Deserialize)]
struct ReadProof {
    at: Hash,
    proof: Vec<Bytes>,
}

async fn rpc(node: &Node) -> WsClient {
    WsClientBuilder::default().build(&node.url).await.unwrap()
}

async fn hash_of(rpc: &WsClient, n: u32) -> Hash {
    let hash: Option<Hash> = rpc.request("chain_getBlockHash", rpc_params![n]).await.unwrap();
    hash.unwrap_or_else(|| panic!("no block #{n}"))
}

async fn header(rpc: &WsClient, hash: Hash) -> Header {
    let header: Option<Header> = rpc.request("chain_getHeader", rpc_params![hash]).await.unwrap();
    header.unwrap()
}

async fn best_number(rpc: &WsClient) -> u32 {
    let head: Header = rpc.request("chain_getHeader", rpc_params![]).await.unwrap();
    head.number
}

async fn wait_for_block(rpc: &WsClient, n: u32) {
    tokio::time::timeout(LIMIT, async {
        while best_number(rpc).await < n {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("chain did not advance");
}

/// The justification `chain_getBlock` serves for block `hash`, checked to have Substrate's shape.
async fn block_justification(rpc: &WsClient, hash: Hash) -> Vec<u8> {
    let raw: serde_json::Value = rpc.request("chain_getBlock", rpc_params![hash]).await.unwrap();
    let details: BlockDetails = serde_json::from_value(raw.clone()).unwrap();
    assert!(details.block.get("header").is_some());
    let justifications = details.justifications.expect("every sealed block is justified");
    assert_eq!(justifications.len(), 1);
    let (engine, bytes) = justifications.into_iter().next().unwrap();
    assert_eq!(engine, GRANDPA_ENGINE_ID);
    assert_eq!(engine, [70, 82, 78, 75]);
    // And polkadot-sdk's own type decodes the very same JSON.
    let signed: sp_runtime::generic::SignedBlock<peerseal_node::types::Block> =
        serde_json::from_value(raw).unwrap();
    assert_eq!(signed.justifications.unwrap().get(GRANDPA_ENGINE_ID), Some(&bytes));
    bytes
}

/// Verifies `encoded` as a GRANDPA justification of `header` by `set_id`/`authorities`, with the
/// primitives a light client uses; returns it. Requires a precommit from every authority (the
/// dev node holds all their keys) and checks the supermajority.
fn check_justification(
    encoded: &[u8],
    header: &Header,
    set_id: u64,
    authorities: &AuthorityList,
) -> GrandpaJustification<Header> {
    let justification = GrandpaJustification::<Header>::decode(&mut &encoded[..]).unwrap();
    let hash = header.hash();
    assert_eq!(justification.commit.target_hash, hash, "#{}", header.number);
    assert_eq!(justification.commit.target_number, header.number);
    assert!(justification.votes_ancestries.is_empty());
    let mut signers: Vec<AuthorityId> = Vec::new();
    for signed in &justification.commit.precommits {
        assert_eq!(signed.precommit.target_hash, hash);
        assert_eq!(signed.precommit.target_number, header.number);
        let message = finality_grandpa::Message::Precommit(signed.precommit.clone());
        // The signature is over the localized payload of exactly this round and set id.
        let payload =
            sp_consensus_grandpa::localized_payload(justification.round, set_id, &message);
        let signature =
            sp_core::ed25519::Signature::try_from(AsRef::<[u8]>::as_ref(&signed.signature))
                .unwrap();
        let public = sp_core::ed25519::Public::try_from(AsRef::<[u8]>::as_ref(&signed.id)).unwrap();
        assert!(
            sp_core::ed25519::Pair::verify(&signature, &payload, &public),
            "bad signature in #{} for set {set_id}",
            header.number
        );
        assert!(sp_consensus_grandpa::check_message_signature(
            &message,
            &signed.id,
            &signed.signature,
            justification.round,
            set_id
        )
        .is_valid());
        signers.push(signed.id.clone());
    }
    let mut expected: Vec<AuthorityId> = authorities.iter().map(|(id, _)| id.clone()).collect();
    expected.sort();
    signers.sort();
    assert_eq!(
        signers, expected,
        "#{}: one precommit per authority of set {set_id}",
        header.number
    );
    justification
}

fn storage_key(pallet: &str, item: &str) -> Vec<u8> {
    let mut key = sp_crypto_hashing::twox_128(pallet.as_bytes()).to_vec();
    key.extend_from_slice(&sp_crypto_hashing::twox_128(item.as_bytes()));
    key
}

fn hex_key(key: &[u8]) -> String {
    format!("0x{}", hex::encode(key))
}

async fn read_proof(rpc: &WsClient, keys: &[Vec<u8>], at: Hash) -> ReadProof {
    let keys: Vec<String> = keys.iter().map(|k| hex_key(k)).collect();
    rpc.request("state_getReadProof", rpc_params![keys, at]).await.unwrap()
}

fn verify_proof(
    root: Hash,
    proof: &ReadProof,
    keys: &[Vec<u8>],
) -> Result<std::collections::HashMap<Vec<u8>, Option<Vec<u8>>>, String> {
    let nodes = proof.proof.iter().map(|b| b.0.clone());
    read_proof_check::<BlakeTwo256, _>(root, StorageProof::new(nodes), keys)
        .map_err(|e| e.to_string())
}

fn genesis_set() -> AuthorityList {
    peerseal_runtime::genesis::dev_grandpa_authorities()
}

fn ed(who: sp_keyring::Ed25519Keyring) -> AuthorityId {
    who.public().into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_block_is_justified_by_the_genesis_set() {
    let node = Node::start(&["--dev", "--block-time", "200"]);
    let rpc = rpc(&node).await;
    // The client's trust root: the genesis set, proven from the genesis state root.
    let genesis = hash_of(&rpc, 0).await;
    let genesis_header = header(&rpc, genesis).await;
    let authorities_key = storage_key("Grandpa", "Authorities");
    let proof = read_proof(&rpc, std::slice::from_ref(&authorities_key), genesis).await;
    let values =
        verify_proof(genesis_header.state_root, &proof, std::slice::from_ref(&authorities_key))
            .unwrap();
    let proven =
        AuthorityList::decode(&mut &values[&authorities_key].clone().unwrap()[..]).unwrap();
    assert_eq!(proven, genesis_set());
    assert_eq!(proven, vec![(ed(sp_keyring::Ed25519Keyring::Alice), 1)]);

    wait_for_block(&rpc, 5).await;
    let mut last_round = 0;
    for n in 1..=5 {
        let hash = hash_of(&rpc, n).await;
        let header = header(&rpc, hash).await;
        let from_block = block_justification(&rpc, hash).await;
        let justification = check_justification(&from_block, &header, 0, &proven);
        assert!(justification.round > last_round, "rounds increase");
        last_round = justification.round;

        let proof: Option<Bytes> =
            rpc.request("grandpa_proveFinality", rpc_params![n]).await.unwrap();
        let proof = FinalityProof::decode(&mut &proof.unwrap().0[..]).unwrap();
        assert_eq!(proof.block, hash);
        assert_eq!(proof.justification, from_block);
        assert!(proof.unknown_headers.is_empty());
    }
    // The finalized head is justified too; unknown blocks have no proof.
    let finalized: Hash = rpc.request("chain_getFinalizedHead", rpc_params![]).await.unwrap();
    let finalized_header = header(&rpc, finalized).await;
    check_justification(&block_justification(&rpc, finalized).await, &finalized_header, 0, &proven);
    let none: Option<Bytes> =
        rpc.request("grandpa_proveFinality", rpc_params![1_000_000]).await.unwrap();
    assert!(none.is_none());
    // Genesis is final by definition and has no justification.
    let raw: serde_json::Value = rpc.request("chain_getBlock", rpc_params![genesis]).await.unwrap();
    assert!(raw["justifications"].is_null());

    let methods: serde_json::Value = rpc.request("rpc_methods", rpc_params![]).await.unwrap();
    let methods: Vec<&str> =
        methods["methods"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    for m in [
        "grandpa_proveFinality",
        "grandpa_subscribeJustifications",
        "grandpa_unsubscribeJustifications",
        "state_getReadProof",
    ] {
        assert!(methods.contains(&m), "rpc_methods lacks {m}");
    }

    // subxt, whose blocks API reads `chain_getBlock`, still follows the chain.
    let client = OnlineClient::<PolkadotConfig>::from_insecure_url(&node.url).await.unwrap();
    let at = client.at_block(3u32).await.unwrap();
    assert_eq!(at.block_number(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn justification_subscription_delivers_one_per_new_block() {
    let node = Node::start(&["--dev", "--block-time", "200"]);
    let rpc = rpc(&node).await;
    let mut sub = rpc
        .subscribe::<Bytes, _>(
            "grandpa_subscribeJustifications",
            rpc_params![],
            "grandpa_unsubscribeJustifications",
        )
        .await
        .unwrap();
    let mut numbers = Vec::new();
    for _ in 0..4 {
        let next = tokio::time::timeout(LIMIT, sub.next()).await.unwrap().unwrap().unwrap();
        let j = GrandpaJustification::<Header>::decode(&mut &next.0[..]).unwrap();
        let hash = hash_of(&rpc, j.commit.target_number).await;
        let header = header(&rpc, hash).await;
        check_justification(&next.0, &header, 0, &genesis_set());
        // The same bytes the block carries.
        assert_eq!(block_justification(&rpc, hash).await, next.0);
        numbers.push(j.commit.target_number);
    }
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "one per block, in order: {numbers:?}");
    sub.unsubscribe().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_proofs_verify_against_the_header_state_root() {
    let node = Node::start(&["--dev", "--block-time", "200"]);
    let rpc = rpc(&node).await;
    wait_for_block(&rpc, 3).await;
    let at = hash_of(&rpc, 3).await;
    let other = hash_of(&rpc, 2).await;
    let root = header(&rpc, at).await.state_root;
    let other_root = header(&rpc, other).await.state_root;
    assert_ne!(root, other_root);

    let present = vec![
        storage_key("System", "Number"),
        storage_key("Grandpa", "Authorities"),
        storage_key("Registry", "ServerIndex"),
    ];
    let absent = vec![storage_key("Nope", "Nothing"), b":not-a-key".to_vec()];
    let keys: Vec<Vec<u8>> = present.iter().chain(absent.iter()).cloned().collect();
    let proof = read_proof(&rpc, &keys, at).await;
    assert_eq!(proof.at, at);
    let values = verify_proof(root, &proof, &keys).unwrap();
    for key in &present {
        let direct: Option<Bytes> =
            rpc.request("state_getStorage", rpc_params![hex_key(key), at]).await.unwrap();
        assert_eq!(values[key], direct.map(|b| b.0), "value of {}", hex_key(key));
        assert!(values[key].is_some());
    }
    for key in &absent {
        assert_eq!(values[key], None, "absence of {} is proven", hex_key(key));
    }
    assert_eq!(u32::decode(&mut &values[&present[0]].clone().unwrap()[..]).unwrap(), 3);
    // The server index proves the complete registry: the four dev servers, sorted.
    let index = Vec::<([u8; 32], [u8; 32])>::decode(&mut &values[&present[2]].clone().unwrap()[..])
        .unwrap();
    assert_eq!(index.len(), 4);
    assert!(index.windows(2).all(|w| w[0].1 < w[1].1));

    // The same proof does not verify against another block's root.
    assert!(verify_proof(other_root, &proof, &keys).is_err());
    // A tampered proof does not verify either.
    let mut tampered = read_proof(&rpc, &present, at).await;
    let last = tampered.proof.len() - 1;
    let node_bytes = &mut tampered.proof[last].0;
    let mid = node_bytes.len() / 2;
    node_bytes[mid] ^= 0x01;
    let tampered_ok = verify_proof(root, &tampered, &present)
        .map(|v| present.iter().all(|k| v[k].is_some()))
        .unwrap_or(false);
    assert!(!tampered_ok);

    // Bounded: too many keys is an invalid-params error, not work.
    let many: Vec<String> = (0..1025u32).map(|i| hex_key(&i.to_le_bytes())).collect();
    let err = rpc
        .request::<serde_json::Value, _>("state_getReadProof", rpc_params![many, at])
        .await
        .unwrap_err();
    match err {
        jsonrpsee::core::client::Error::Call(e) => assert_eq!(e.code(), -32602),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genesis_state_stays_provable_under_pruning() {
    let node = Node::start(&["--dev", "--block-time", "100", "--state-pruning", "2"]);
    let rpc = rpc(&node).await;
    wait_for_block(&rpc, 6).await;
    // Block 1's state is gone ...
    let one = hash_of(&rpc, 1).await;
    let key = storage_key("Grandpa", "Authorities");
    let pruned = rpc
        .request::<serde_json::Value, _>(
            "state_getReadProof",
            rpc_params![vec![hex_key(&key)], one],
        )
        .await;
    assert!(pruned.is_err(), "block 1 state should be pruned");
    // ... but genesis is still served and verifies.
    let genesis = hash_of(&rpc, 0).await;
    let root = header(&rpc, genesis).await.state_root;
    let proof = read_proof(&rpc, std::slice::from_ref(&key), genesis).await;
    let values = verify_proof(root, &proof, std::slice::from_ref(&key)).unwrap();
    let set = AuthorityList::decode(&mut &values[&key].clone().unwrap()[..]).unwrap();
    assert_eq!(set, genesis_set());
}

/// The `ScheduledChange` in a header's digest, if any.
fn change_in(header: &Header) -> Option<sp_consensus_grandpa::ScheduledChange<u32>> {
    header.digest.logs.iter().find_map(|item| match item {
        DigestItem::Consensus(engine, data) if *engine == GRANDPA_ENGINE_ID => {
            match ConsensusLog::<u32>::decode(&mut &data[..]).ok()? {
                ConsensusLog::ScheduledChange(change) => Some(change),
                _ => None,
            }
        }
        _ => None,
    })
}

async fn set_id_at(rpc: &WsClient, at: Hash) -> u64 {
    let out: Bytes = rpc
        .request("state_call", rpc_params!["GrandpaApi_current_set_id", "0x", at])
        .await
        .unwrap();
    u64::decode(&mut &out.0[..]).unwrap()
}

async fn authorities_at(rpc: &WsClient, at: Hash) -> AuthorityList {
    let out: Bytes = rpc
        .request("state_call", rpc_params!["GrandpaApi_grandpa_authorities", "0x", at])
        .await
        .unwrap();
    AuthorityList::decode(&mut &out.0[..]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_changes_the_authority_set_across_a_restart() {
    use sp_keyring::Ed25519Keyring::{Alice, Bob, Charlie};
    const DELAY: u32 = 2;
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let base_arg = base.to_str().unwrap();
    let args = ["--dev", "--base-path", base_arg, "--block-time", "300"];
    let next: AuthorityList = vec![(ed(Bob), 1), (ed(Charlie), 1)];

    let (scheduled_at, stored) = {
        let node = Node::start(&args);
        let rpc = rpc(&node).await;
        let before = best_number(&rpc).await;
        let list = Value::unnamed_composite(next.iter().map(|(id, w)| {
            Value::unnamed_composite([Value::from_bytes(id.encode()), Value::u128(u128::from(*w))])
        }));
        let inner = Value::unnamed_variant(
            "FinalityAuthorities",
            [Value::named_variant(
                "schedule_change",
                [("next_authorities", list), ("delay", Value::u128(u128::from(DELAY)))],
            )],
        );
        let governance = peerseal_testkit::governance::sudo(
            &node.url,
            inner,
            ("FinalityAuthorities", "ChangeScheduled"),
        );
        tokio::time::timeout(LIMIT, governance).await.unwrap().unwrap();

        // Find block B: the one whose header carries the standard digest.
        let best = best_number(&rpc).await;
        let mut scheduled_at = None;
        for n in before + 1..=best {
            let h = header(&rpc, hash_of(&rpc, n).await).await;
            if let Some(change) = change_in(&h) {
                assert_eq!(change.next_authorities, next);
                assert_eq!(change.delay, DELAY);
                scheduled_at = Some(n);
            }
        }
        let b = scheduled_at.expect("a ScheduledChange digest after the sudo call");
        wait_for_block(&rpc, b + DELAY + 3).await;

        let mut stored = Vec::new();
        for n in 1..=b + DELAY + 3 {
            let hash = hash_of(&rpc, n).await;
            let h = header(&rpc, hash).await;
            let j = block_justification(&rpc, hash).await;
            if n <= b + DELAY {
                check_justification(&j, &h, 0, &genesis_set());
            } else {
                check_justification(&j, &h, 1, &next);
                // Not acceptable to a client still on set 0.
                let decoded = GrandpaJustification::<Header>::decode(&mut &j[..]).unwrap();
                assert!(decoded.commit.precommits.iter().all(|p| p.id != ed(Alice)));
            }
            stored.push((n, j));
        }
        // The runtime's view matches: the id and the set move together at the end of B+delay.
        for (n, id, set) in
            [(b, 0, genesis_set()), (b + DELAY - 1, 0, genesis_set()), (b + DELAY, 1, next.clone())]
        {
            let hash = hash_of(&rpc, n).await;
            assert_eq!(set_id_at(&rpc, hash).await, id, "set id after #{n}");
            assert_eq!(authorities_at(&rpc, hash).await, set, "authorities after #{n}");
        }
        node.kill();
        (b, stored)
    };

    // Restart: the stored justifications are served unchanged and new blocks use set 1.
    let node = Node::start(&args);
    let rpc = rpc(&node).await;
    for (n, j) in &stored {
        let hash = hash_of(&rpc, *n).await;
        assert_eq!(&block_justification(&rpc, hash).await, j, "#{n} after restart");
    }
    let last_stored = stored.last().map(|(n, _)| *n).unwrap();
    wait_for_block(&rpc, last_stored + 2).await;
    for n in last_stored + 1..=last_stored + 2 {
        let hash = hash_of(&rpc, n).await;
        let h = header(&rpc, hash).await;
        let j = block_justification(&rpc, hash).await;
        check_justification(&j, &h, 1, &next);
    }
    assert!(scheduled_at > 0);
}

/// `peerseal-node trust-root` prints what a TSS node pins: it parses as a trust root, its
/// genesis hash is the running dev chain's, and its checkpoint carries the genesis set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_root_names_the_genesis_and_its_authority_set() {
    let out = std::process::Command::new(peerseal_testkit::node_binary().unwrap())
        .args(["trust-root"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let root = peerseal_chain::TrustRoot::from_json(&out.stdout).unwrap();
    let node = Node::start(&["--dev"]);
    let served = peerseal_testkit::genesis_trust_root(&node.url).unwrap();
    assert_eq!(root.genesis_hash, served.genesis_hash);
    let checkpoint = root.checkpoint.clone().unwrap();
    assert_eq!(
        (checkpoint.number, checkpoint.hash, checkpoint.set.set_id),
        (0, root.genesis_hash, 0)
    );
    assert_eq!(checkpoint.set.authorities, vec![(sp_keyring::Ed25519Keyring::Alice.public().0, 1)]);
    // A TSS client started from it verifies the chain.
    let client = peerseal_chain::ChainClient::connect(&node.url, root).await.unwrap();
    assert!(client.view().is_ok());
}
