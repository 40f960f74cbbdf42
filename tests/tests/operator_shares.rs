//! Recovery operators with real processes (issue 13, first part): three operators make their
//! keys with `peerseal operator keygen`; governance sets them as a 2-of-3 recovery operator set
//! (`Sudo.sudo(Backup.set_recovery_operators ..)`); every running node
//! sees it in proven state, rotates, and records its new key sealed to the operators in the
//! same `record_backup`. The shares on chain open only with the operators' secret keys, two of
//! them rebuild exactly the key the chain's commitment names, and one does not;
//! `peerseal operator check` opens each operator's share of every node through the verified
//! chain and refuses a key outside the set. A node SIGKILLed and restarted seals its fresh
//! epoch to the set again.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codec::Decode;
use peerseal::recovery_file::parse_account;
use peerseal::recovery_operator::read_secret;
use peerseal_backup::client::commitment::key_commitment;
use peerseal_backup::client::shares::{combine, KeyShare};
use peerseal_chain::{AccountId, ChainApi, ChainClient};
use peerseal_e2e::{bounded, dev_chain, recorded_at, start_ready, wait_for_epoch};
use peerseal_protocol::operator::OperatorShare;
use peerseal_protocol::{Sealed, X25519Secret};
use peerseal_testkit::{dev_ports, governance, operator, DaemonOptions, TssDaemon};
use zeroize::Zeroizing;

const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];

/// `peerseal operator keygen --out file`: the secret read back from the file, and the public key
/// the command printed.
async fn keygen(file: &std::path::Path) -> (X25519Secret, [u8; 32]) {
    let public = operator::keygen(file).await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the operator reads the key");
    }
    assert!(operator::keygen(file).await.is_err(), "an existing key file is never overwritten");
    (read_secret(file).unwrap(), public)
}

fn open(secret: &X25519Secret, sealed: &[u8]) -> Option<OperatorShare> {
    let envelope = Sealed::decode(&mut &sealed[..]).ok()?;
    OperatorShare::open(secret, &envelope).ok()
}

fn key_share(share: &OperatorShare) -> KeyShare {
    KeyShare { index: share.index, bytes: Zeroizing::new(share.share.expose().to_vec()) }
}

/// Checks `account`'s recorded shares at `epoch` against the operators' keys and the chain's
/// commitment.
async fn check_sealed_to_operators(
    chain: &ChainClient,
    account: &AccountId,
    epoch: u64,
    operators: &[X25519Secret],
    revision: u32,
) {
    let recorded = bounded(60, recorded_at(chain, account, epoch)).await;
    assert_eq!(recorded.sealed.operator_set, revision);
    assert_eq!(recorded.sealed.shares.len(), operators.len());
    let assignment = chain.assignment(account).await.unwrap().unwrap();
    assert_eq!(assignment.epoch, epoch);

    let outsider = X25519Secret::generate();
    let mut opened = Vec::new();
    for (i, (secret, sealed)) in operators.iter().zip(&recorded.sealed.shares).enumerate() {
        assert!(open(&outsider, sealed).is_none(), "share {i} opens without its operator's key");
        let other = &operators[(i + 1) % operators.len()];
        assert!(open(other, sealed).is_none(), "share {i} opens with another operator's key");
        let share = open(secret, sealed).expect("the operator opens its own share");
        assert_eq!(share.account, *account);
        assert_eq!((share.epoch, share.operator_set), (epoch, revision));
        assert_eq!(share.commitment, assignment.commitment);
        assert_eq!((share.threshold, share.index), (2, i as u8 + 1));
        opened.push(key_share(&share));
    }
    let key = combine(2, &opened[1..]).unwrap();
    assert_eq!(key_commitment(account, epoch, &key), assignment.commitment, "two rebuild the key");
    let alone = combine(2, &opened[..1]);
    assert!(alone.is_err(), "one operator's share alone rebuilds nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_seal_their_key_to_the_recovery_operators_governance_sets() {
    let _ports = dev_ports().await.unwrap();
    let chain_node = dev_chain();
    let chain = peerseal_testkit::connect_chain(&chain_node.url).await.unwrap();
    let dirs = tempfile::tempdir().unwrap();
    let options = DaemonOptions::logs_in(dirs.path());
    let (mut nodes, before) = start_ready(&NAMES, &chain_node.url, dirs.path(), &options).await;
    let accounts: Vec<AccountId> =
        before.iter().map(|s| parse_account(s.account.as_deref().unwrap()).unwrap()).collect();
    for account in &accounts {
        let (set, recorded) = chain.recovery_seal(Some(account)).await.unwrap();
        assert!(set.is_none() && recorded.is_none(), "no operators, no shares");
    }

    let keys = tempfile::tempdir().unwrap();
    let mut operators = Vec::new();
    let mut listed = Vec::new();
    for i in 0..3u8 {
        let (secret, public) = keygen(&keys.path().join(format!("operator-{i}.key"))).await;
        assert_eq!(secret.public().0, public, "the printed key is the file's public key");
        listed.push(([0xE0 + i; 32], public));
        operators.push(secret);
    }
    bounded(60, governance::set_recovery_operators(&chain_node.url, &listed, 2)).await.unwrap();

    // Every node rotates and seals its new key to the set.
    for (i, node) in nodes.iter().enumerate() {
        let node = node.as_ref().unwrap();
        let after = bounded(130, wait_for_epoch(node, before[i].epoch.unwrap() + 1)).await;
        check_sealed_to_operators(&chain, &accounts[i], after.epoch.unwrap(), &operators, 1).await;
    }

    // The drill: each operator opens its share of every node through the verified chain.
    let root = peerseal_testkit::write_trust_root(&chain_node.url, keys.path()).unwrap();
    for i in 0..3 {
        let file = keys.path().join(format!("operator-{i}.key"));
        let outcome = operator::check(&file, &chain_node.url, &root).await.unwrap();
        assert!(outcome.success, "{outcome:?}");
        let summary: serde_json::Value =
            serde_json::from_str(outcome.stdout.lines().last().unwrap()).unwrap();
        assert_eq!(summary["opened"], NAMES.len(), "{outcome:?}");
        assert_eq!(
            (summary["index"].as_u64(), summary["problems"].as_u64()),
            (Some(i + 1), Some(0))
        );
    }
    let outsider = keys.path().join("outsider.key");
    keygen(&outsider).await;
    let refused = operator::check(&outsider, &chain_node.url, &root).await.unwrap();
    assert!(!refused.success);
    assert!(refused.stderr.contains("not in the chain's recovery operator set"), "{refused:?}");

    // A node killed and restarted recovers from its providers, rotates to a fresh epoch and
    // seals that one to the operators too.
    let sealed_epoch = chain.assignment(&accounts[0]).await.unwrap().unwrap().epoch;
    nodes[0].take().unwrap().kill();
    let restarted =
        TssDaemon::start_with(NAMES[0], &chain_node.url, &dirs.path().join(NAMES[0]), &options)
            .unwrap();
    let after = bounded(200, wait_for_epoch(&restarted, sealed_epoch + 1)).await;
    assert_eq!(after.recovery_attempts, 1, "{after:?}");
    check_sealed_to_operators(&chain, &accounts[0], after.epoch.unwrap(), &operators, 1).await;
}
