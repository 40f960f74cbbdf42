//! A malicious chain endpoint, one test per tamper: a TSS node (alice) talks to the dev chain
//! through a man-in-the-middle JSON-RPC proxy (`peerseal_testkit::RpcProxy`, the host's choice
//! of endpoint) while its trust root comes from the honest chain. Each tamper is detected with
//! its own verification error (counted in `/metrics` by reason), the node never gets past
//! connecting, no provider serves it a share meanwhile, and it recovers once the proxy turns
//! honest again.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codec::Encode;
use peerseal_e2e::{bounded, dev_chain, metric, verified};
use peerseal_testkit::{
    dev_ports, tamper, write_trust_root, DaemonOptions, DevChain, RpcProxy, Tamper, TssDaemon,
};
use serde_json::Value;
use sp_runtime::traits::Header as _;
use std::sync::Arc;
use std::time::Duration;

type Header = sp_runtime::generic::Header<u32, sp_runtime::traits::BlakeTwo256>;

struct Net {
    chain: DevChain,
    proxy: RpcProxy,
    dirs: tempfile::TempDir,
    providers: Vec<TssDaemon>,
}

impl Net {
    /// The dev chain, bob and charlie on it directly, and a proxy in front of it.
    async fn start() -> Net {
        let chain = dev_chain();
        let proxy = RpcProxy::start(&chain.url).unwrap();
        let dirs = tempfile::tempdir().unwrap();
        let providers: Vec<TssDaemon> = ["bob", "charlie"]
            .into_iter()
            .map(|n| TssDaemon::start(n, &chain.url, &dirs.path().join(n), dirs.path()).unwrap())
            .collect();
        Net { chain, proxy, dirs, providers }
    }

    /// Alice through the proxy, trusting the honest chain's genesis.
    fn alice(&self) -> TssDaemon {
        let mut options = DaemonOptions::logs_in(self.dirs.path());
        options.trust_root = Some(write_trust_root(&self.chain.url, self.dirs.path()).unwrap());
        TssDaemon::start_with("alice", &self.proxy.url(), &self.dirs.path().join("alice"), &options)
            .unwrap()
    }

    async fn served(&self) -> u64 {
        let mut total = 0;
        for p in &self.providers {
            total += metric(p, "peerseal_recoveries_served_total").await;
        }
        total
    }
}

async fn verification_failures(node: &TssDaemon, reason: &str) -> u64 {
    metric(node, &format!("peerseal_chain_verification_failures_total{{reason=\"{reason}\"}}"))
        .await
}

/// The tamper scenario: alice backs up through the honest proxy, is killed, restarts with the
/// proxy tampering; the failure `reason` is counted, alice stays unconnected and nobody serves
/// her a share; the proxy turns honest; alice recovers.
async fn refused_then_recovered(tamper: Arc<dyn Tamper>, reason: &str) {
    let _ports = dev_ports().await.unwrap();
    let net = bounded(120, Net::start()).await;
    let alice = net.alice();
    bounded(240, alice.wait_for("ready", 230)).await.unwrap();
    for p in &net.providers {
        bounded(120, p.wait_for("ready", 110)).await.unwrap();
    }
    let before = alice.status().await.unwrap();
    alice.kill();

    let served = net.served().await;
    net.proxy.set_tamper(tamper);
    let alice = net.alice();
    bounded(60, async {
        while verification_failures(&alice, reason).await == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    // Tampered long enough for a recovery to have happened, were the data believed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = alice.status().await.unwrap();
    assert_eq!(status.state.label(), "starting", "never connected on tampered data: {status:?}");
    assert_eq!(net.served().await, served, "no provider released a share meanwhile");

    net.proxy.clear_tamper();
    let after = bounded(180, alice.wait_for("ready", 170)).await.unwrap();
    assert_eq!(after.first_start_marker, before.first_start_marker, "the same store came back");
    assert!(net.served().await > served, "recovered from the providers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_provider_key_in_a_storage_proof_is_detected() {
    let bob = peerseal_devkeys::dev_identity("bob").unwrap();
    let honest = hex::encode(bob.x25519_public);
    let attacker = hex::encode([0x66u8; 32]);
    // Everywhere a storage value can come back: in proofs, and in the plain answers an
    // unverifying client would have believed.
    let rewrite = move |_params: &Value, response: &mut Value| {
        let text = response.to_string().replace(&honest, &attacker);
        *response = serde_json::from_str(&text).unwrap();
        true
    };
    let tamper = tamper::stack(vec![
        tamper::on_response("state_getReadProof", rewrite.clone()),
        tamper::on_response("state_getStorage", rewrite.clone()),
        tamper::on_response("state_queryStorageAt", rewrite),
    ]);
    refused_then_recovered(tamper, "proof_invalid").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_genesis_is_refused() {
    let tamper = tamper::on_response("chain_getBlockHash", |params, response| {
        if params.as_array().and_then(|p| p.first()).and_then(Value::as_u64) == Some(0) {
            response["result"] = Value::String(format!("0x{}", "11".repeat(32)));
        }
        true
    });
    refused_then_recovered(tamper, "genesis_mismatch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_justifications_leave_nothing_believed() {
    let tamper = tamper::stack(vec![
        tamper::on_response("chain_getBlock", |_params, response| {
            if response["result"].is_object() {
                response["result"]["justifications"] = Value::Null;
            }
            true
        }),
        tamper::on_notification("grandpa_subscribeJustifications", |_| false),
        tamper::on_response("grandpa_proveFinality", |_params, response| {
            response["result"] = Value::Null;
            true
        }),
    ]);
    refused_then_recovered(tamper, "justification_missing").await;
}

/// Every block the proxy serves is replaced by a forged header (another state root, where an
/// attacker would put its own registry) with a well-formed justification signed by a key that
/// is not a GRANDPA authority (Dave's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_header_with_a_non_authority_justification_is_refused() {
    let tamper = tamper::on_response("chain_getBlock", |_params, response| {
        let Some(header) = response["result"]["block"]["header"].as_object().cloned() else {
            return true;
        };
        let mut header: Header = serde_json::from_value(Value::Object(header)).unwrap();
        header.set_state_root(sp_core::H256::repeat_byte(0x66));
        let forged = forged_justification(&header);
        response["result"]["block"]["header"] = serde_json::to_value(&header).unwrap();
        response["result"]["justifications"] =
            serde_json::json!([[[70, 82, 78, 75], format!("0x{}", hex::encode(forged))]]);
        true
    });
    refused_then_recovered(tamper, "justification_unknown_authority").await;
}

fn forged_justification(header: &Header) -> Vec<u8> {
    use sp_core::Pair;
    let dave = sp_keyring::Ed25519Keyring::Dave.pair();
    let precommit =
        finality_grandpa::Precommit { target_hash: header.hash(), target_number: *header.number() };
    let payload = sp_consensus_grandpa::localized_payload(
        1,
        0,
        &finality_grandpa::Message::Precommit(precommit.clone()),
    );
    let signed = finality_grandpa::SignedPrecommit {
        precommit,
        signature: sp_consensus_grandpa::AuthoritySignature::from(dave.sign(&payload)),
        id: sp_consensus_grandpa::AuthorityId::from(dave.public()),
    };
    sp_consensus_grandpa::GrandpaJustification::<Header> {
        round: 1,
        commit: finality_grandpa::Commit {
            target_hash: header.hash(),
            target_number: *header.number(),
            precommits: vec![signed],
        },
        votes_ancestries: vec![],
    }
    .encode()
}

/// An endpoint hides `ProviderLeft` (the events read the plain way come back empty, and the
/// events' read proof is emptied): alice still rotates away from the removed provider, because
/// the daemon decides from its proven assignment (marked stale by the chain), not from events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_provider_left_event_changes_nothing() {
    let _ports = dev_ports().await.unwrap();
    let net = bounded(120, Net::start()).await;
    let dave =
        TssDaemon::start("dave", &net.chain.url, &net.dirs.path().join("dave"), net.dirs.path())
            .unwrap();
    let alice = net.alice();
    let before = bounded(240, alice.wait_for("ready", 230)).await.unwrap();
    bounded(120, dave.wait_for("ready", 110)).await.unwrap();

    let events_key = format!("0x{}", hex::encode(peerseal_chain::verify::keys::system_events()));
    let (k1, k2, k3) = (events_key.clone(), events_key.clone(), events_key);
    net.proxy.set_tamper(tamper::stack(vec![
        tamper::on_response("state_getStorage", move |params, response| {
            if params[0].as_str() == Some(&k1) {
                response["result"] = Value::Null;
            }
            true
        }),
        tamper::on_response("state_queryStorageAt", move |params, response| {
            if params[0].as_array().is_some_and(|keys| keys.iter().any(|k| k.as_str() == Some(&k2)))
            {
                response["result"] = serde_json::json!([]);
            }
            true
        }),
        tamper::on_response("state_getReadProof", move |params, response| {
            if params[0].as_array().is_some_and(|keys| keys.iter().any(|k| k.as_str() == Some(&k3)))
            {
                response["result"]["proof"] = serde_json::json!([]);
            }
            true
        }),
    ]));

    // Governance removes one of alice's providers.
    let removed = before.providers[0].account.clone();
    let stash = ["bob", "charlie", "dave"]
        .into_iter()
        .map(|n| peerseal_devkeys::dev_identity(n).unwrap())
        .find(|id| hex::encode(id.tss_account) == removed.trim_start_matches("0x"))
        .expect("alice's provider is a dev identity")
        .stash_account;
    bounded(60, peerseal_testkit::governance::remove_server(&net.chain.url, stash)).await.unwrap();

    let after = bounded(
        120,
        alice.wait_until("re-backed up and ready", Duration::from_secs(110), |s| {
            s.rebackups >= 1 && s.state.label() == "ready"
        }),
    )
    .await
    .unwrap();
    assert!(after.epoch > before.epoch, "rotated to a new epoch: {after:?}");
    assert!(
        after.providers.iter().all(|p| p.account != removed),
        "the removed provider holds none of the new backup: {after:?}"
    );
}

/// Governance changes the GRANDPA authority set; alice follows the change (later headers still
/// verify, nothing is refused), and a restart verifies the whole chain from genesis across it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authority_set_change_is_followed() {
    use peerseal_testkit::governance::sudo;
    use subxt::dynamic::Value as Dyn;
    let _ports = dev_ports().await.unwrap();
    let net = bounded(120, Net::start()).await;
    let alice = net.alice();
    bounded(240, alice.wait_for("ready", 230)).await.unwrap();

    let next = [sp_keyring::Ed25519Keyring::Bob, sp_keyring::Ed25519Keyring::Charlie]
        .map(|k| Dyn::unnamed_composite([Dyn::from_bytes(k.public().0), Dyn::u128(1)]));
    let change = Dyn::unnamed_variant(
        "FinalityAuthorities",
        [Dyn::named_variant(
            "schedule_change",
            [("next_authorities", Dyn::unnamed_composite(next)), ("delay", Dyn::u128(2))],
        )],
    );
    let at = metric(&alice, "peerseal_chain_verified_block").await;
    bounded(60, sudo(&net.chain.url, change, ("FinalityAuthorities", "ChangeScheduled")))
        .await
        .unwrap();
    bounded(60, async {
        while metric(&alice, "peerseal_chain_verified_block").await < at + 8 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert_eq!(
        metric(&alice, "peerseal_chain_verification_failures_total").await,
        0,
        "nothing refused across the change"
    );
    alice.kill();
    let alice = net.alice();
    bounded(180, alice.wait_for("ready", 170)).await.unwrap();
    assert_eq!(metric(&alice, "peerseal_chain_verification_failures_total").await, 0);
}

/// The endpoint of a provider (bob) forges the attestation policy: after governance revoked the
/// mock image measurement, it reports the dev PCK mode with the public mock PCK allowed and the
/// revoked measurement accepted — everything a forged mock quote needs — with a well-formed read
/// proof of its own trie (and in the plain storage answers). Bob refuses the forged proof, keeps
/// the honest policy, and releases nothing to alice, who runs the revoked image; once governance
/// accepts the measurement again, alice recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_shown_a_forged_dev_pck_policy_releases_nothing() {
    use peerseal_testkit::governance::sudo;
    use subxt::dynamic::Value as Dyn;
    let _ports = dev_ports().await.unwrap();
    let chain = dev_chain();
    let proxy = RpcProxy::start(&chain.url).unwrap();
    let dirs = tempfile::tempdir().unwrap();
    let trust_root = write_trust_root(&chain.url, dirs.path()).unwrap();
    let mut via_proxy = DaemonOptions::logs_in(dirs.path());
    via_proxy.trust_root = Some(trust_root);
    let bob =
        TssDaemon::start_with("bob", &proxy.url(), &dirs.path().join("bob"), &via_proxy).unwrap();
    let start = |name: &'static str| {
        TssDaemon::start(name, &chain.url, &dirs.path().join(name), dirs.path()).unwrap()
    };
    let charlie = start("charlie");
    let alice = start("alice");
    for node in [&alice, &bob, &charlie] {
        bounded(240, node.wait_for("ready", 230)).await.unwrap();
    }
    alice.kill();

    let mock = peerseal_attestation::mock_measurement();
    let measurement = |call: &str| {
        Dyn::unnamed_variant(
            "Attestation",
            [Dyn::named_variant(
                call,
                [("measurement", Dyn::unnamed_composite([Dyn::from_bytes(mock.0)]))],
            )],
        )
    };
    let revoked_at = bounded(
        60,
        sudo(&chain.url, measurement("revoke_measurement"), ("Attestation", "MeasurementRevoked")),
    )
    .await
    .unwrap();
    // Both providers have verified the revocation before bob's endpoint starts lying (bob's
    // view then stays at or after it: a forged proof never moves it).
    verified(&[&bob, &charlie], revoked_at, 30).await;

    let policy_key = |item| peerseal_chain::verify::keys::value("Attestation", item);
    let forged: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (policy_key("AcceptedMeasurements"), vec![mock].encode()),
        (policy_key("PckPolicyMode"), peerseal_attestation::PckMode::Dev.encode()),
        (
            policy_key("AllowedMockPcks"),
            vec![peerseal_attestation::mock_pck_key(&peerseal_attestation::DEV_MOCK_PCK_SEED)]
                .encode(),
        ),
    ];
    let plain: Vec<(String, String)> = forged
        .iter()
        .map(|(k, v)| (format!("0x{}", hex::encode(k)), format!("0x{}", hex::encode(v))))
        .collect();
    let forged_keys: Vec<Vec<u8>> = forged.iter().map(|(k, _)| k.clone()).collect();
    proxy.set_tamper(tamper::stack(vec![
        tamper::on_response("state_getReadProof", move |params, response| {
            let keys: Vec<Vec<u8>> = params[0]
                .as_array()
                .map(|keys| {
                    keys.iter()
                        .filter_map(|k| hex::decode(k.as_str()?.trim_start_matches("0x")).ok())
                        .collect()
                })
                .unwrap_or_default();
            if keys.iter().any(|k| forged_keys.contains(k)) {
                response["result"]["proof"] = Value::Array(
                    forged_proof(&keys, &forged)
                        .into_iter()
                        .map(|n| Value::String(format!("0x{}", hex::encode(n))))
                        .collect(),
                );
            }
            true
        }),
        tamper::on_response("state_getStorage", move |params, response| {
            if let Some((_, value)) = plain.iter().find(|(k, _)| params[0].as_str() == Some(k)) {
                response["result"] = Value::String(value.clone());
            }
            true
        }),
    ]));
    let served = metric(&bob, "peerseal_recoveries_served_total").await;
    let alice = start("alice");
    bounded(60, async {
        while verification_failures(&bob, "proof_invalid").await == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    bounded(
        60,
        alice.wait_until("refused twice", Duration::from_secs(55), |s| s.recovery_attempts >= 2),
    )
    .await
    .unwrap();
    assert_ne!(alice.status().await.unwrap().state.label(), "ready");
    assert_eq!(
        metric(&bob, "peerseal_recoveries_served_total").await,
        served,
        "bob released nothing under the forged policy"
    );

    proxy.clear_tamper();
    bounded(
        60,
        sudo(&chain.url, measurement("accept_measurement"), ("Attestation", "MeasurementAccepted")),
    )
    .await
    .unwrap();
    bounded(180, alice.wait_for("ready", 170)).await.unwrap();
}

/// A read proof of the attacker's own trie: the `forged` values, every other key absent.
fn forged_proof(keys: &[Vec<u8>], forged: &[(Vec<u8>, Vec<u8>)]) -> Vec<Vec<u8>> {
    use sp_state_machine::{prove_read, InMemoryBackend};
    let mut backend = InMemoryBackend::<sp_runtime::traits::BlakeTwo256>::default();
    let entries = forged.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
    backend.insert(vec![(None, entries)], sp_core::storage::StateVersion::V1);
    prove_read(backend, keys).unwrap().into_iter_nodes().collect()
}
