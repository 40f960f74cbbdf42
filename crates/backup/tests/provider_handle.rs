//! `Provider::handle` as a plain function (no network, an in-memory chain): the store-backup
//! rules, rate limiting, health proofs, a full recovery, and what happens when the chain is
//! unreachable.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use libp2p::PeerId;
use peerseal_attestation::{report_data, Binding, MockQuoteProvider};
use peerseal_backup::provider::held::HeldShares;
use peerseal_backup::provider::ratelimit::RateLimits;
use peerseal_backup::{NodeKeys, Provider, ProviderConfig, TxSubmitter};
use peerseal_kvdb::{DbKey, Store};
use peerseal_protocol::*;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use support::fake_chain::FakeChain;

struct Fixture {
    provider: Provider,
    chain: Arc<FakeChain>,
    _dir: tempfile::TempDir,
}

fn bob_provider(config: ProviderConfig) -> Fixture {
    let chain = Arc::new(FakeChain::dev());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path().join("db"), &DbKey::generate().unwrap()).unwrap();
    let keys = NodeKeys::dev("bob").unwrap();
    let tx = TxSubmitter::new(chain.clone(), keys.signer.clone());
    let config = ProviderConfig { confirm_on_chain: false, ..config };
    let provider =
        Provider::new(keys, chain.clone(), HeldShares::open(&store).unwrap(), tx, config);
    Fixture { provider, chain, _dir: dir }
}

fn share(account: AccountId, threshold: u8, index: u8) -> BackupShare {
    BackupShare {
        account,
        epoch: 3,
        share_index: index,
        threshold,
        share: ShareBytes::from_slice(&[0x5A; 32]).unwrap(),
    }
}

fn store_request(from: &NodeKeys, to: &X25519Public, share: &BackupShare) -> Request {
    Request::StoreBackup(StoreBackup::seal(to, &from.signer, share).unwrap())
}

/// Alice's share of epoch 3 stored with Bob's provider (and receipted): what her recoveries
/// and health checks ask for.
async fn alices_share_held(f: &Fixture, alice: &NodeKeys) -> BackupShare {
    let bob_pk = NodeKeys::dev("bob").unwrap().x25519.public();
    let stored = share(alice.account(), 1, 1);
    let request = store_request(alice, &bob_pk, &stored);
    assert!(matches!(f.provider.handle(peer(), request).await, Response::BackupReceipt(_)));
    stored
}

/// A `Recover` of `account`'s share of `epoch` with a mock quote bound to `nonce` and a fresh
/// response key, and that key's secret (to open the answer).
fn bound_recover(account: AccountId, epoch: u64, nonce: &Nonce32) -> (Recover, X25519Secret) {
    let response_sk = X25519Secret::generate();
    let response_pk = response_sk.public();
    let binding = Binding::recover(&account.0, &response_pk.0, &nonce.0);
    let quote =
        QuoteBytes::new(MockQuoteProvider::dev().mock_quote(&report_data(&binding))).unwrap();
    (Recover { account, epoch, response_pk, quote }, response_sk)
}

/// The one client peer of most tests (nonces and rate limits are per peer).
fn peer() -> PeerId {
    let key = libp2p::identity::Keypair::ed25519_from_bytes([7; 32]).unwrap();
    key.public().to_peer_id()
}

fn signed_health(
    client: &NodeKeys,
    provider: AccountId,
    epoch: u64,
    challenge: Nonce32,
) -> Request {
    Request::HealthChallenge(HealthChallenge::sign(&client.signer, provider, epoch, challenge))
}

#[tokio::test]
async fn store_backup_from_a_registered_signer_is_stored_and_receipted() {
    let f = bob_provider(ProviderConfig::default());
    let alice = NodeKeys::dev("alice").unwrap();
    let bob_pk = NodeKeys::dev("bob").unwrap().x25519.public();
    let request = store_request(&alice, &bob_pk, &share(alice.account(), 1, 1));
    let Request::StoreBackup(sent) = &request else { unreachable!() };
    let digest = sent.envelope.digest();

    let Response::BackupReceipt(signed) = f.provider.handle(peer(), request).await else {
        panic!("expected a receipt")
    };
    let receipt = signed.verify().unwrap();
    assert_eq!(receipt.provider, f.provider.account());
    assert_eq!((receipt.client, receipt.epoch, receipt.share_index), (alice.account(), 3, 1));
    assert_eq!(receipt.envelope_digest, digest);
    assert_eq!(
        f.provider.held().get(&alice.account(), 3).unwrap().unwrap(),
        share(alice.account(), 1, 1)
    );
}

#[tokio::test]
async fn store_backup_refusals_are_typed() {
    let f = bob_provider(ProviderConfig::default());
    let alice = NodeKeys::dev("alice").unwrap();
    let eve = NodeKeys::dev("eve").unwrap();
    let bob_pk = NodeKeys::dev("bob").unwrap().x25519.public();
    let charlie_pk = NodeKeys::dev("charlie").unwrap().x25519.public();

    // Sealed to another provider's key.
    let wrong_key = store_request(&alice, &charlie_pk, &share(alice.account(), 1, 1));
    assert_eq!(
        f.provider.handle(peer(), wrong_key).await,
        Response::Error(ErrorReason::BadEnvelope)
    );
    // Signed correctly, but by an account that is not a registered server.
    let unregistered = store_request(&eve, &bob_pk, &share(eve.account(), 1, 1));
    assert_eq!(
        f.provider.handle(peer(), unregistered).await,
        Response::Error(ErrorReason::NotRegistered)
    );
    // Semantically invalid shares.
    for bad in [share(alice.account(), 0, 1), share(alice.account(), 1, 0)] {
        let request = store_request(&alice, &bob_pk, &bad);
        assert_eq!(
            f.provider.handle(peer(), request).await,
            Response::Error(ErrorReason::InvalidRequest)
        );
    }
    // Tampered ciphertext.
    let Request::StoreBackup(mut tampered) =
        store_request(&alice, &bob_pk, &share(alice.account(), 1, 1))
    else {
        unreachable!()
    };
    let mut bytes = tampered.envelope.ciphertext.as_slice().to_vec();
    bytes[0] ^= 1;
    tampered.envelope.ciphertext = bytes.try_into().unwrap();
    assert_eq!(
        f.provider.handle(peer(), Request::StoreBackup(tampered)).await,
        Response::Error(ErrorReason::BadEnvelope)
    );
    assert!(f.provider.held().is_empty(), "nothing refused was stored");
    // The chain being unreachable is `Unavailable`, not `NotRegistered`.
    f.chain.down.store(true, Ordering::Relaxed);
    let request = store_request(&alice, &bob_pk, &share(alice.account(), 1, 1));
    assert_eq!(f.provider.handle(peer(), request).await, Response::Error(ErrorReason::Unavailable));
}

/// Limits are per (peer, claimed account): one peer cannot make the provider work without
/// bound, and a peer naming someone else's account spends only its own budget.
#[tokio::test]
async fn requests_are_rate_limited_per_peer_and_account() {
    let f = bob_provider(ProviderConfig {
        // No refill, so a slow machine cannot refill a token between the calls.
        rate: RateLimits { burst: 2, per_second: 0, max_accounts: 16 },
        ..ProviderConfig::default()
    });
    let alice = NodeKeys::dev("alice").unwrap().account();
    let charlie = NodeKeys::dev("charlie").unwrap().account();
    let ask = |account| Request::RequestNonce(RequestNonce { account });
    assert!(matches!(f.provider.handle(peer(), ask(alice)).await, Response::Nonce(_)));
    assert!(matches!(f.provider.handle(peer(), ask(alice)).await, Response::Nonce(_)));
    assert!(matches!(
        f.provider.handle(peer(), ask(alice)).await,
        Response::Error(ErrorReason::RateLimited { .. })
    ));
    assert!(matches!(f.provider.handle(peer(), ask(charlie)).await, Response::Nonce(_)));
    assert!(matches!(f.provider.handle(PeerId::random(), ask(alice)).await, Response::Nonce(_)));
}

/// The flood of the speed issue: an attacker asks for nonces naming the victim as fast as it
/// can. Before, the limits were per claimed account, so the victim's own requests were then
/// refused `RateLimited`, and the attacker's nonces evicted the victim's.
#[tokio::test]
async fn a_peer_naming_a_victim_uses_up_neither_its_budget_nor_its_nonces() {
    // The default burst without its refill: however slowly the loop runs, the attacker gets
    // the burst and no more.
    let rate = RateLimits { per_second: 0, ..RateLimits::default() };
    let f = bob_provider(ProviderConfig { rate, ..ProviderConfig::default() });
    let alice = NodeKeys::dev("alice").unwrap();
    let stored = alices_share_held(&f, &alice).await;
    // The genuine node gets its nonce first...
    let ask = Request::RequestNonce(RequestNonce { account: alice.account() });
    let Response::Nonce(nonce) = f.provider.handle(peer(), ask.clone()).await else { panic!() };
    // ...then an attacker floods requests naming it, and spoofed health challenges.
    let attacker = PeerId::random();
    let spoofer = NodeKeys::dev("eve").unwrap();
    let mut limited = 0;
    for i in 0..200u8 {
        if let Response::Error(ErrorReason::RateLimited { .. }) =
            f.provider.handle(attacker, ask.clone()).await
        {
            limited += 1;
        }
        let mut spoofed =
            HealthChallenge::sign(&spoofer.signer, f.provider.account(), 3, Nonce32([i; 32]));
        spoofed.account = alice.account();
        let answer = f.provider.handle(attacker, Request::HealthChallenge(spoofed)).await;
        assert!(matches!(answer, Response::Error(_)), "{answer:?}");
    }
    assert!(limited > 150, "the attacker is limited: {limited}");
    // The attacker's bucket is empty now.
    assert!(matches!(
        f.provider.handle(attacker, ask.clone()).await,
        Response::Error(ErrorReason::RateLimited { .. })
    ));
    // At once, the victim still gets a fresh nonce (before: refused `RateLimited`, its budget
    // was the attacker's).
    assert!(matches!(f.provider.handle(peer(), ask.clone()).await, Response::Nonce(_)));
    // The victim's nonce is still good, and its recovery goes through.
    let (recover, response_sk) = bound_recover(alice.account(), 3, &nonce.nonce);
    // Spent by another peer that saw it, the nonce is refused and stays the victim's.
    let stolen = f.provider.handle(attacker, Request::Recover(recover.clone())).await;
    assert!(
        matches!(
            stolen,
            Response::Error(ErrorReason::NonceAccountMismatch | ErrorReason::RateLimited { .. })
        ),
        "{stolen:?}"
    );
    let Response::RecoveredShare(sealed) =
        f.provider.handle(peer(), Request::Recover(recover)).await
    else {
        panic!("the victim recovers")
    };
    assert_eq!(sealed.open(&response_sk, &f.provider.account()).unwrap(), stored);
    // And its own signed health challenge is answered.
    let health = signed_health(&alice, f.provider.account(), 3, Nonce32([1; 32]));
    assert!(matches!(f.provider.handle(peer(), health).await, Response::HealthProof(_)));
}

/// Only the client can make a provider prove it holds the client's share: a challenge signed
/// by anyone else, or made for another provider, is refused before the share is read.
#[tokio::test]
async fn health_challenges_must_be_signed_by_the_client_for_this_provider() {
    let f = bob_provider(ProviderConfig::default());
    let alice = NodeKeys::dev("alice").unwrap();
    let bob_pk = NodeKeys::dev("bob").unwrap().x25519.public();
    let request = store_request(&alice, &bob_pk, &share(alice.account(), 1, 1));
    assert!(matches!(f.provider.handle(peer(), request).await, Response::BackupReceipt(_)));
    let charlie = NodeKeys::dev("charlie").unwrap().account();
    let for_charlie = signed_health(&alice, charlie, 3, Nonce32([1; 32]));
    assert_eq!(
        f.provider.handle(peer(), for_charlie).await,
        Response::Error(ErrorReason::BadSignature)
    );
    let Request::HealthChallenge(mut tampered) =
        signed_health(&alice, f.provider.account(), 3, Nonce32([1; 32]))
    else {
        unreachable!()
    };
    tampered.challenge = Nonce32([2; 32]);
    assert_eq!(
        f.provider.handle(peer(), Request::HealthChallenge(tampered)).await,
        Response::Error(ErrorReason::BadSignature)
    );
    assert_eq!(f.provider.stats().health_proofs.load(Ordering::Relaxed), 0);
}

/// A flood of made-up accounts costs one chain read per account per couple of seconds, not
/// one per request: the negative answer is kept briefly (seen here as the refusal staying
/// `NotRegistered` while the chain is unreachable, instead of `Unavailable`).
#[tokio::test]
async fn an_unregistered_account_is_refused_a_nonce_from_a_short_negative_cache() {
    let f = bob_provider(ProviderConfig::default());
    let nobody = AccountId([0xEE; 32]);
    let ask = Request::RequestNonce(RequestNonce { account: nobody });
    assert_eq!(
        f.provider.handle(peer(), ask.clone()).await,
        Response::Error(ErrorReason::NotRegistered)
    );
    f.chain.down.store(true, Ordering::Relaxed);
    assert_eq!(
        f.provider.handle(peer(), ask.clone()).await,
        Response::Error(ErrorReason::NotRegistered)
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(f.provider.handle(peer(), ask).await, Response::Error(ErrorReason::Unavailable));
}

#[tokio::test]
async fn health_and_recovery_through_handle() {
    let f = bob_provider(ProviderConfig::default());
    let alice = NodeKeys::dev("alice").unwrap();
    let stored = alices_share_held(&f, &alice).await;

    let challenge = Nonce32([9; 32]);
    let health = signed_health(&alice, f.provider.account(), 3, challenge);
    let Response::HealthProof(proof) = f.provider.handle(peer(), health).await else { panic!() };
    assert!(verify_health_mac(
        stored.share.expose(),
        &f.provider.account(),
        &alice.account(),
        3,
        &challenge,
        &proof.mac
    ));
    let other_epoch = signed_health(&alice, f.provider.account(), 4, challenge);
    assert_eq!(
        f.provider.handle(peer(), other_epoch).await,
        Response::Error(ErrorReason::NoBackupHeld)
    );

    let Response::Nonce(nonce) = f
        .provider
        .handle(peer(), Request::RequestNonce(RequestNonce { account: alice.account() }))
        .await
    else {
        panic!()
    };
    assert_eq!(nonce.ttl_secs, 60);
    let (recover, response_sk) = bound_recover(alice.account(), 3, &nonce.nonce);
    let Response::RecoveredShare(sealed) =
        f.provider.handle(peer(), Request::Recover(recover)).await
    else {
        panic!()
    };
    assert_eq!(sealed.open(&response_sk, &f.provider.account()).unwrap(), stored);
    assert_eq!(f.provider.stats().rejections().len(), 1, "only the NoBackupHeld refusal");
}

/// At most `max_verifying` recovery quotes are verified at once: the others wait for a slot
/// (counted), and every recovery still gets its share.
///
/// Deterministic, not a race against the verification's speed: the runtime has one blocking
/// thread and the test occupies it first, so the first recovery's verification (and its slot)
/// stays queued until every recovery has been polled. Before, a loaded machine could finish
/// each verification before the next recovery asked for a slot, and nothing waited.
#[test]
fn recoveries_past_the_verification_slots_wait_their_turn() {
    for (max_verifying, expected_waits) in [(1, 3), (64, 0)] {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        runtime.block_on(async {
            let f = bob_provider(ProviderConfig { max_verifying, ..ProviderConfig::default() });
            let alice = NodeKeys::dev("alice").unwrap();
            let stored = alices_share_held(&f, &alice).await;
            let mut recoveries = Vec::new();
            for _ in 0..4 {
                let ask = Request::RequestNonce(RequestNonce { account: alice.account() });
                let Response::Nonce(nonce) = f.provider.handle(peer(), ask).await else { panic!() };
                recoveries.push(bound_recover(alice.account(), 3, &nonce.nonce));
            }
            let (release, hold) = std::sync::mpsc::channel::<()>();
            let blocker = tokio::task::spawn_blocking(move || hold.recv());
            let waits = || f.provider.stats().verifications_queued.load(Ordering::Relaxed);
            let answers =
                futures::future::join_all(recoveries.iter().map(|(recover, _)| {
                    f.provider.handle(peer(), Request::Recover(recover.clone()))
                }));
            let gate = async {
                let all_waiting = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                    while waits() < expected_waits {
                        tokio::task::yield_now().await;
                    }
                })
                .await;
                // Released whatever happened, so a failure cannot hang the blocking thread.
                release.send(()).unwrap();
                all_waiting
            };
            let (answers, all_waiting) = futures::join!(answers, gate);
            assert!(all_waiting.is_ok(), "{} waited with {max_verifying} slots", waits());
            blocker.await.unwrap().unwrap();
            for (answer, (_, response_sk)) in answers.into_iter().zip(&recoveries) {
                let Response::RecoveredShare(sealed) = answer else { panic!("{answer:?}") };
                assert_eq!(sealed.open(response_sk, &f.provider.account()).unwrap(), stored);
            }
            assert_eq!(waits(), expected_waits, "with {max_verifying} slots");
        });
    }
}

fn share_at_epoch(account: AccountId, epoch: u64, byte: u8) -> BackupShare {
    BackupShare {
        epoch,
        share: ShareBytes::from_slice(&[byte; 32]).unwrap(),
        ..share(account, 1, 1)
    }
}

async fn recover_at(f: &Fixture, alice: &NodeKeys, epoch: u64) -> Response {
    let ask = Request::RequestNonce(RequestNonce { account: alice.account() });
    let Response::Nonce(nonce) = f.provider.handle(peer(), ask).await else { panic!() };
    let (recover, _) = bound_recover(alice.account(), epoch, &nonce.nonce);
    f.provider.handle(peer(), Request::Recover(recover)).await
}

/// A held (account, epoch) is never replaced: a copy of a node dealing another key at an epoch
/// the genuine node already stored (and may be at, unrecorded) gets `EpochTaken`, the genuine
/// share stays. The same bytes again are a retry and get a receipt, counted once.
#[tokio::test]
async fn a_held_epoch_is_never_overwritten_and_a_retry_is_receipted() {
    let f = bob_provider(ProviderConfig::default());
    let alice = NodeKeys::dev("alice").unwrap();
    let bob_pk = NodeKeys::dev("bob").unwrap().x25519.public();
    let genuine = share_at_epoch(alice.account(), 5, 0x11);
    let send = |s: &BackupShare| f.provider.handle(peer(), store_request(&alice, &bob_pk, s));
    assert!(matches!(send(&genuine).await, Response::BackupReceipt(_)));
    assert!(matches!(send(&genuine).await, Response::BackupReceipt(_)), "a retry");
    assert_eq!(f.provider.stats().backups_stored.load(Ordering::Relaxed), 1);
    let clone = share_at_epoch(alice.account(), 5, 0x22);
    assert!(matches!(send(&clone).await, Response::Error(ErrorReason::EpochTaken)));
    assert_eq!(f.provider.held().get(&alice.account(), 5).unwrap().unwrap(), genuine);
}

/// The chain's recorded epoch decides what a provider stores and releases: nothing at or below
/// it is stored, nothing below it is released, and what is superseded is dropped.
#[tokio::test]
async fn superseded_epochs_are_neither_stored_nor_released_and_are_pruned() {
    let f = bob_provider(ProviderConfig::default());
    let alice = NodeKeys::dev("alice").unwrap();
    let bob = f.provider.account();
    let bob_pk = NodeKeys::dev("bob").unwrap().x25519.public();
    let send = |s: &BackupShare| f.provider.handle(peer(), store_request(&alice, &bob_pk, s));
    for epoch in [3, 4] {
        let stored = send(&share_at_epoch(alice.account(), epoch, epoch as u8)).await;
        assert!(matches!(stored, Response::BackupReceipt(_)));
    }
    // The chain records epoch 4 with bob among the providers.
    f.chain.record(alice.account(), 4, &[bob]);
    let low = send(&share_at_epoch(alice.account(), 4, 0x44)).await;
    assert!(matches!(low, Response::Error(ErrorReason::SupersededEpoch)), "{low:?}");
    let older = send(&share_at_epoch(alice.account(), 2, 0x44)).await;
    assert!(matches!(older, Response::Error(ErrorReason::SupersededEpoch)));
    // A copy of alice's old disk asks for epoch 3: refused, and epoch 3 is dropped.
    let refused = recover_at(&f, &alice, 3).await;
    assert!(matches!(refused, Response::Error(ErrorReason::SupersededEpoch)), "{refused:?}");
    assert_eq!(f.provider.held().epochs(&alice.account()).unwrap(), vec![4]);
    // The recorded epoch is released, and so is a pending one above it.
    assert!(matches!(recover_at(&f, &alice, 4).await, Response::RecoveredShare(_)));
    assert!(matches!(
        send(&share_at_epoch(alice.account(), 5, 5)).await,
        Response::BackupReceipt(_)
    ));
    assert!(matches!(recover_at(&f, &alice, 5).await, Response::RecoveredShare(_)));
    // Alice records epoch 5 with other providers: the sweep drops bob's 4 and 5.
    let charlie = NodeKeys::dev("charlie").unwrap().account();
    f.chain.record(alice.account(), 5, &[charlie]);
    assert_eq!(f.provider.prune_superseded().await, 2);
    assert!(f.provider.held().epochs(&alice.account()).unwrap().is_empty());
    // An unreadable chain stores nothing and drops nothing.
    assert!(matches!(
        send(&share_at_epoch(alice.account(), 6, 6)).await,
        Response::BackupReceipt(_)
    ));
    f.chain.down.store(true, Ordering::Relaxed);
    assert!(matches!(
        send(&share_at_epoch(alice.account(), 7, 7)).await,
        Response::Error(ErrorReason::Unavailable)
    ));
    assert_eq!(f.provider.prune_superseded().await, 0);
    assert_eq!(f.provider.held().epochs(&alice.account()).unwrap(), vec![6]);
}

/// A provider built for production (`accept_dev_pck: false`, the default without the `dev`
/// feature) never releases a share under the dev PCK mode, even with a perfectly bound mock
/// quote: a host-chosen chain endpoint claiming that mode must not unlock anyone's key. The same
/// request succeeds when the provider accepts the dev mode, so the refusal is the mode's.
#[tokio::test]
async fn a_production_provider_refuses_the_dev_pck_mode() {
    for accept_dev_pck in [false, true] {
        let f = bob_provider(ProviderConfig { accept_dev_pck, ..ProviderConfig::default() });
        let alice = NodeKeys::dev("alice").unwrap();
        alices_share_held(&f, &alice).await;
        let ask = Request::RequestNonce(RequestNonce { account: alice.account() });
        let Response::Nonce(nonce) = f.provider.handle(peer(), ask).await else { panic!() };
        let (recover, _) = bound_recover(alice.account(), 3, &nonce.nonce);
        let answer = f.provider.handle(peer(), Request::Recover(recover)).await;
        if accept_dev_pck {
            assert!(matches!(answer, Response::RecoveredShare(_)), "{answer:?}");
        } else {
            assert_eq!(
                answer,
                Response::Error(ErrorReason::QuoteRejected(QuoteRejection::UntrustedPck))
            );
        }
    }
}
