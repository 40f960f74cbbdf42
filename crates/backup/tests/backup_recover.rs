//! Backup and recovery end to end: a real dev chain process, dev providers on their on-chain
//! loopback ports speaking real libp2p (TCP, noise, yamux), mock TDX quotes.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use peerseal_attestation::{MockQuoteProvider, QuoteProvider};
use peerseal_backup::client::commitment::key_commitment;
use peerseal_backup::{FailureReason, HealthStatus};
use peerseal_kvdb::DbKey;
use peerseal_protocol::{AccountId, BackupShare, ErrorReason, ShareBytes};
use std::sync::Arc;
use support::*;

fn quotes() -> Arc<dyn QuoteProvider> {
    Arc::new(MockQuoteProvider::dev())
}

fn alice() -> AccountId {
    peerseal_backup::NodeKeys::dev("alice").unwrap().account()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_then_recover_full_copies() {
    init_tracing();
    let _serial = serial().await;
    let node = ChainNode::start();
    let chain = node.client().await;
    let providers = start_providers(&["bob", "charlie", "dave"], &chain).await;
    let (client, _net) = backup_client(&chain, 1, None).await;
    let tx = alice_tx(&chain);
    let key = DbKey::generate().unwrap();

    let report = bounded(120, client.backup(&tx, &key, 1)).await.unwrap();
    assert_eq!(report.threshold, 1);
    assert_eq!(report.providers.len(), 2, "default n = min(2, others)");
    let expected_order = chain.candidate_providers(&alice(), 1).await.unwrap();
    assert_eq!(
        report.providers.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        expected_order[..2].to_vec(),
        "providers follow the chain's rendezvous order"
    );
    let assignment = chain.assignment(&alice()).await.unwrap().unwrap();
    assert_eq!(assignment.epoch, 1);
    assert_eq!(assignment.commitment, key_commitment(&alice(), 1, key.expose_secret()));

    let recovered = bounded(120, client.recover(&alice(), quotes())).await.unwrap();
    assert_eq!(recovered.key, key);
    assert_eq!(recovered.epoch, 1);
    assert_eq!(recovered.used, vec![report.providers[0].0], "stops at the first valid share");
    assert!(recovered.failures.is_empty());
    assert!(client.report_recovery(&tx, &recovered).await.is_empty());

    // Both chosen providers confirm on chain in the background.
    let chosen: Vec<_> = report.providers.iter().map(|(p, _)| *p).collect();
    bounded(60, async {
        loop {
            let confirmed: usize = providers
                .iter()
                .filter(|p| chosen.contains(&p.account()))
                .map(|p| p.provider.confirmations() as usize)
                .sum();
            if confirmed == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_then_recover_two_of_three() {
    init_tracing();
    let _serial = serial().await;
    let node = ChainNode::start();
    let chain = node.client().await;
    let providers = start_providers(&["bob", "charlie", "dave"], &chain).await;
    let (client, _net) = backup_client(&chain, 2, Some(3)).await;
    let tx = alice_tx(&chain);
    let key = DbKey::generate().unwrap();

    let report = bounded(120, client.backup(&tx, &key, 1)).await.unwrap();
    assert_eq!(report.providers.len(), 3);
    assert_eq!(report.providers.iter().map(|(_, i)| *i).collect::<Vec<_>>(), vec![1, 2, 3]);

    // No single provider holds the key.
    for p in &providers {
        let held = p.provider.held().get(&alice(), 1).unwrap().unwrap();
        assert_eq!(held.threshold, 2);
        assert_ne!(held.share.expose(), key.expose_secret().as_slice());
    }

    let recovered = bounded(120, client.recover(&alice(), quotes())).await.unwrap();
    assert_eq!(recovered.key, key);
    assert_eq!(recovered.used.len(), 2, "stops once t shares match the commitment");
    assert!(recovered.failures.is_empty());
}

/// The node's default (2-of-3, `accept_fewer`): with a registered provider down, the backup is
/// recorded 2-of-2 on the two that answered (an exact configuration fails instead), and with
/// fewer candidates than the threshold every candidate holds a full copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_two_of_three_settles_for_the_providers_that_answer() {
    init_tracing();
    let _serial = serial().await;
    let node = ChainNode::start();
    let chain = node.client().await;
    // Dave is registered on chain but not running.
    let _providers = start_providers(&["bob", "charlie"], &chain).await;
    let tx = alice_tx(&chain);
    let key = DbKey::generate().unwrap();
    let settle =
        peerseal_backup::ClientConfig { threshold: 2, accept_fewer: true, ..fast_client_config() };
    assert_eq!(settle.plan(3).unwrap(), (2, 3));
    assert_eq!(settle.plan(2).unwrap(), (2, 2));
    assert_eq!(settle.plan(1).unwrap(), (1, 1), "one candidate: a full copy");
    assert!(settle.plan(0).is_err());
    let exact = peerseal_backup::ClientConfig { accept_fewer: false, ..settle.clone() };
    assert!(exact.plan(1).is_err());

    let (strict, _net) = backup_client_with(&chain, exact).await;
    let error = bounded(120, strict.backup(&tx, &key, 1)).await.unwrap_err();
    assert!(
        matches!(
            error,
            peerseal_backup::ClientError::NotEnoughProviders { stored: 2, wanted: 3, .. }
        ),
        "{error:?}"
    );

    let (client, _net) = backup_client_with(&chain, settle).await;
    let report = bounded(120, client.backup(&tx, &key, 1)).await.unwrap();
    assert_eq!(report.threshold, 2);
    assert_eq!(report.providers.len(), 2, "{report:?}");
    let dave = peerseal_backup::NodeKeys::dev("dave").unwrap().account();
    assert!(report.failures.iter().any(|f| f.provider == dave), "{report:?}");
    let recovered = bounded(120, client.recover(&alice(), quotes())).await.unwrap();
    assert_eq!(recovered.key, key);
    assert_eq!(recovered.used.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_fails_over_when_the_first_provider_is_down() {
    init_tracing();
    let _serial = serial().await;
    let node = ChainNode::start();
    let chain = node.client().await;
    let mut providers = start_providers(&["bob", "charlie", "dave"], &chain).await;
    let (client, _net) = backup_client(&chain, 1, None).await;
    let tx = alice_tx(&chain);
    let key = DbKey::generate().unwrap();
    let report = bounded(120, client.backup(&tx, &key, 1)).await.unwrap();

    let first = report.providers[0].0;
    let position = providers.iter().position(|p| p.account() == first).unwrap();
    providers.remove(position).stop().await;

    let recovered = bounded(120, client.recover(&alice(), quotes())).await.unwrap();
    assert_eq!(recovered.key, key);
    assert_eq!(recovered.used, vec![report.providers[1].0]);
    assert_eq!(recovered.failures.len(), 1);
    assert_eq!(recovered.failures[0].provider, first);
    assert!(
        matches!(recovered.failures[0].reason, FailureReason::Network(_)),
        "{:?}",
        recovered.failures[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_share_fails_the_commitment_and_is_never_used() {
    init_tracing();
    let _serial = serial().await;
    let node = ChainNode::start();
    let chain = node.client().await;
    let providers = start_providers(&["bob", "charlie", "dave"], &chain).await;
    let (client, _net) = backup_client(&chain, 1, None).await;
    let tx = alice_tx(&chain);
    let key = DbKey::generate().unwrap();
    let report = bounded(120, client.backup(&tx, &key, 1)).await.unwrap();

    // The first provider turns malicious: it now holds (and would release) another key.
    let first = report.providers[0].0;
    let bad = providers.iter().find(|p| p.account() == first).unwrap();
    let mut share = bad.provider.held().get(&alice(), 1).unwrap().unwrap();
    share.share = ShareBytes::from_slice(&[0xEE; 32]).unwrap();
    // `put` never overwrites; a malicious provider edits its own storage however it likes.
    bad.provider.held().remove(&alice(), 1).unwrap();
    bad.provider.held().put(&share).unwrap();

    let recovered = bounded(120, client.recover(&alice(), quotes())).await.unwrap();
    assert_eq!(recovered.key, key, "the good copy wins");
    assert_eq!(recovered.used, vec![report.providers[1].0]);
    assert_eq!(recovered.failures.len(), 1);
    assert_eq!(recovered.failures[0].provider, first);
    assert_eq!(recovered.failures[0].reason, FailureReason::CommitmentMismatch);

    // With the second one wrong too, there is no key at all (rather than a wrong one).
    let second = providers.iter().find(|p| p.account() == report.providers[1].0).unwrap();
    let mut share = second.provider.held().get(&alice(), 1).unwrap().unwrap();
    share.share = ShareBytes::from_slice(&[0xDD; 32]).unwrap();
    second.provider.held().remove(&alice(), 1).unwrap();
    second.provider.held().put(&share).unwrap();
    let err = bounded(120, client.recover(&alice(), quotes())).await.unwrap_err();
    let peerseal_backup::RecoveryError::NotEnoughShares { failures, .. } = err else {
        panic!("expected NotEnoughShares, got {err:?}")
    };
    assert_eq!(failures.len(), 2);
    assert!(failures.iter().all(|f| f.reason == FailureReason::CommitmentMismatch));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_restart_keeps_held_backups() {
    init_tracing();
    let _serial = serial().await;
    let node = ChainNode::start();
    let chain = node.client().await;
    let mut providers = start_providers(&["bob", "charlie", "dave"], &chain).await;
    let (client, _net) = backup_client(&chain, 1, None).await;
    let tx = alice_tx(&chain);
    let key = DbKey::generate().unwrap();
    let report = bounded(120, client.backup(&tx, &key, 1)).await.unwrap();

    // Restart every provider that holds a copy (new process state, same encrypted store).
    let mut restarted = Vec::new();
    for (account, _) in &report.providers {
        let position = providers.iter().position(|p| p.account() == *account).unwrap();
        let old = providers.remove(position);
        let name = old.name;
        let previous = old.stop().await;
        restarted.push(
            ProviderNode::start_with(name, chain.clone(), Default::default(), Some(previous)).await,
        );
    }
    for p in &restarted {
        assert!(p.provider.held().get(&alice(), 1).unwrap().is_some());
    }
    let recovered = bounded(120, client.recover(&alice(), quotes())).await.unwrap();
    assert_eq!(recovered.key, key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_detects_a_provider_that_lost_or_changed_the_share() {
    init_tracing();
    let _serial = serial().await;
    let node = ChainNode::start();
    let chain = node.client().await;
    let providers = start_providers(&["bob", "charlie", "dave"], &chain).await;
    let (client, _net) = backup_client(&chain, 2, Some(3)).await;
    let tx = alice_tx(&chain);
    let key = DbKey::generate().unwrap();
    let report = bounded(120, client.backup(&tx, &key, 1)).await.unwrap();

    let health = bounded(
        60,
        client.health_check(&peerseal_backup::NodeKeys::dev("alice").unwrap().signer, &key),
    )
    .await
    .unwrap();
    assert_eq!(health.len(), 3);
    assert!(health.iter().all(|h| h.status == HealthStatus::Healthy), "{health:?}");

    let (lost, changed) = (report.providers[0].0, report.providers[1].0);
    let lost_node = providers.iter().find(|p| p.account() == lost).unwrap();
    assert!(lost_node.provider.held().remove(&alice(), 1).unwrap());
    let changed_node = providers.iter().find(|p| p.account() == changed).unwrap();
    let old = changed_node.provider.held().get(&alice(), 1).unwrap().unwrap();
    let mut bytes = old.share.expose().to_vec();
    bytes[0] ^= 0x01;
    changed_node.provider.held().remove(&alice(), 1).unwrap();
    changed_node
        .provider
        .held()
        .put(&BackupShare { share: ShareBytes::from_slice(&bytes).unwrap(), ..old })
        .unwrap();

    let health = bounded(
        60,
        client.health_check(&peerseal_backup::NodeKeys::dev("alice").unwrap().signer, &key),
    )
    .await
    .unwrap();
    let status = |p: AccountId| health.iter().find(|h| h.provider == p).unwrap().status.clone();
    assert_eq!(
        status(lost),
        HealthStatus::Unhealthy(FailureReason::Refused(ErrorReason::NoBackupHeld))
    );
    assert_eq!(status(changed), HealthStatus::Unhealthy(FailureReason::WrongProof));
    assert_eq!(status(report.providers[2].0), HealthStatus::Healthy);
}
