//! The provider under attack, over real libp2p against a real dev chain: every misuse of the
//! recovery handshake gets its own typed refusal, hostile frames are dropped without harming
//! the service, and the provider keeps serving afterwards.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use libp2p::{Multiaddr, PeerId};
use peerseal_attestation::{report_data, Binding, MockQuoteProvider};
use peerseal_backup::network::{NetworkHandle, NetworkStats};
use peerseal_backup::{NodeKeys, ProviderConfig};
use peerseal_kvdb::DbKey;
use peerseal_protocol::{
    AccountId, ErrorReason, Nonce32, QuoteBytes, QuoteRejection, Recover, Request, RequestNonce,
    Response, X25519Public, X25519Secret,
};
use peerseal_testkit::governance;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::*;

struct Target {
    peer: PeerId,
    addrs: Vec<Multiaddr>,
}

fn target(name: &str) -> Target {
    let id = peerseal_devkeys::dev_identity(name).unwrap();
    Target {
        peer: PeerId::from_bytes(&id.peer_id).unwrap(),
        addrs: vec![format!("/ip4/127.0.0.1/tcp/{}", id.p2p_port).parse().unwrap()],
    }
}

fn account(name: &str) -> AccountId {
    NodeKeys::dev(name).unwrap().account()
}

async fn ask(net: &NetworkHandle, to: &Target, request: Request) -> Response {
    bounded(30, net.request(to.peer, to.addrs.clone(), request)).await.unwrap()
}

async fn nonce_for(net: &NetworkHandle, to: &Target, who: AccountId) -> Nonce32 {
    match ask(net, to, Request::RequestNonce(RequestNonce { account: who })).await {
        Response::Nonce(n) => n.nonce,
        other => panic!("expected a nonce, got {other:?}"),
    }
}

/// A `Recover` whose quote binds (`who`, `quoted_pk`, `nonce`) but asks for `sent_pk`.
fn recover(
    who: AccountId,
    nonce: Nonce32,
    quoted_pk: X25519Public,
    sent_pk: X25519Public,
) -> Request {
    let binding = Binding::recover(&who.0, &quoted_pk.0, &nonce.0);
    let quote = MockQuoteProvider::dev().mock_quote(&report_data(&binding));
    Request::Recover(Recover {
        account: who,
        epoch: 1,
        response_pk: sent_pk,
        quote: QuoteBytes::new(quote).unwrap(),
    })
}

/// Starts the chain and Bob/Charlie/Dave, backs Alice's key up with full copies to all three,
/// so every provider holds a share of Alice's epoch 1.
async fn setup(config: ProviderConfig) -> (ChainNode, Vec<ProviderNode>, NetworkHandle) {
    setup_each(|_| config.clone()).await
}

/// [`setup`] with each provider's own configuration (by dev name).
async fn setup_each(
    config_of: impl Fn(&str) -> ProviderConfig,
) -> (ChainNode, Vec<ProviderNode>, NetworkHandle) {
    let node = ChainNode::start();
    let chain = node.client().await;
    let mut providers = Vec::new();
    for name in ["bob", "charlie", "dave"] {
        providers.push(ProviderNode::start_with(name, chain.clone(), config_of(name), None).await);
    }
    let (client, _task) = backup_client(&chain, 1, Some(3)).await;
    let key = DbKey::generate().unwrap();
    bounded(120, client.backup(&alice_tx(&chain), &key, 1)).await.unwrap();
    let (net, _) = client_network().await;
    (node, providers, net)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonce_misuse_is_refused_with_its_own_reason() {
    init_tracing();
    let _serial = serial().await;
    // Bob keeps the default time to live, so the replay and mismatch checks cannot expire on a
    // slow machine; Dave's is short, for the expiry check.
    let (_node, providers, net) = setup_each(|name| {
        let mut config = ProviderConfig::default();
        if name == "dave" {
            config.nonces.ttl = Duration::from_secs(1);
        }
        config
    })
    .await;
    let (bob, dave) = (target("bob"), target("dave"));
    let (alice, charlie) = (account("alice"), account("charlie"));
    let pk = X25519Secret::generate().public();

    // A valid recovery, then the same nonce again: replay.
    let nonce = nonce_for(&net, &bob, alice).await;
    let first = ask(&net, &bob, recover(alice, nonce, pk, pk)).await;
    assert!(matches!(first, Response::RecoveredShare(_)), "{first:?}");
    let replay = ask(&net, &bob, recover(alice, nonce, pk, pk)).await;
    assert_eq!(replay, Response::Error(ErrorReason::NonceReplayed));

    // A nonce the provider never issued.
    let made_up = ask(&net, &bob, recover(alice, Nonce32([7; 32]), pk, pk)).await;
    assert_eq!(made_up, Response::Error(ErrorReason::NonceUnknown));

    // A nonce issued to Charlie, used in a quote for Alice.
    let charlies = nonce_for(&net, &bob, charlie).await;
    let stolen = ask(&net, &bob, recover(alice, charlies, pk, pk)).await;
    assert_eq!(stolen, Response::Error(ErrorReason::NonceAccountMismatch));

    // A nonce used after its time to live (issued before the reply left, so more than the
    // sleep has passed on the provider's monotonic clock).
    let nonce = nonce_for(&net, &dave, alice).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let late = ask(&net, &dave, recover(alice, nonce, pk, pk)).await;
    assert_eq!(late, Response::Error(ErrorReason::NonceExpired));

    let (bobs, daves) =
        (providers[0].provider.stats().rejections(), providers[2].provider.stats().rejections());
    for reason in ["NonceReplayed", "NonceUnknown", "NonceAccountMismatch"] {
        assert_eq!(bobs.get(reason), Some(&1), "{reason}: {bobs:?}");
    }
    assert_eq!(daves.get("NonceExpired"), Some(&1), "{daves:?}");
    assert_eq!(bobs.get("NonceExpired"), None, "{bobs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_that_do_not_bind_or_are_not_accepted_are_refused() {
    init_tracing();
    let _serial = serial().await;
    let (node, providers, net) = setup(ProviderConfig::default()).await;
    let charlie = target("charlie");
    let alice = account("alice");

    // Quote made for one response key, request asks for the share under another.
    let nonce = nonce_for(&net, &charlie, alice).await;
    let quoted = X25519Secret::generate().public();
    let swapped = X25519Secret::generate().public();
    let response = ask(&net, &charlie, recover(alice, nonce, quoted, swapped)).await;
    assert_eq!(
        response,
        Response::Error(ErrorReason::QuoteRejected(QuoteRejection::ReportDataMismatch))
    );

    // Too short to even carry report data: malformed, before any nonce is looked at.
    let short = Request::Recover(Recover {
        account: alice,
        epoch: 1,
        response_pk: quoted,
        quote: QuoteBytes::new(vec![0x42; 100]).unwrap(),
    });
    assert_eq!(
        ask(&net, &charlie, short).await,
        Response::Error(ErrorReason::QuoteRejected(QuoteRejection::Malformed))
    );
    // Long enough, but its "nonce" bytes were never issued.
    let forged = Request::Recover(Recover {
        account: alice,
        epoch: 1,
        response_pk: quoted,
        quote: QuoteBytes::new(vec![0x42; 700]).unwrap(),
    });
    assert_eq!(ask(&net, &charlie, forged).await, Response::Error(ErrorReason::NonceUnknown));

    // Governance revokes the (mock) measurement: a well-bound quote is now refused.
    governance::revoke_measurement(&node.url, peerseal_attestation::mock_measurement().0)
        .await
        .unwrap();
    // Charlie decides on its own verified view, which may be a block behind the finalized
    // sudo call: wait (bounded) until that view has the revocation.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !providers[1].chain.attestation_policy().await.unwrap().accepted_measurements.is_empty() {
        assert!(std::time::Instant::now() < deadline, "the revocation was never verified");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let nonce = nonce_for(&net, &charlie, alice).await;
    let response = ask(&net, &charlie, recover(alice, nonce, quoted, quoted)).await;
    assert_eq!(
        response,
        Response::Error(ErrorReason::QuoteRejected(QuoteRejection::MeasurementNotAccepted))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregistered_and_removed_requesters_are_refused() {
    init_tracing();
    let _serial = serial().await;
    let (node, providers, net) = setup(ProviderConfig::default()).await;
    let dave = target("dave");
    let pk = X25519Secret::generate().public();

    // Eve has a dev identity but is not a registered server.
    let eve = account("eve");
    let response = ask(&net, &dave, Request::RequestNonce(RequestNonce { account: eve })).await;
    assert_eq!(response, Response::Error(ErrorReason::NotRegistered));

    // Alice gets a nonce while registered, then governance removes her server.
    let alice = account("alice");
    let nonce = nonce_for(&net, &dave, alice).await;
    remove_and_wait_seen(&node.url, providers[2].chain.as_ref(), "alice").await;
    let response = ask(&net, &dave, recover(alice, nonce, pk, pk)).await;
    assert_eq!(response, Response::Error(ErrorReason::NotRegistered));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_account_gets_no_share_while_its_cached_registration_is_live() {
    init_tracing();
    let _serial = serial().await;
    // A TTL far longer than the test, so the cached positive answer is surely live throughout.
    let config = ProviderConfig {
        registration_cache_ttl: Duration::from_secs(600),
        ..ProviderConfig::default()
    };
    let (node, providers, net) = setup(config).await;
    let dave = target("dave");
    let alice = account("alice");
    let pk = X25519Secret::generate().public();

    // Registered: a nonce, which caches Alice's registration at Dave.
    let _ = nonce_for(&net, &dave, alice).await;
    remove_and_wait_seen(&node.url, providers[2].chain.as_ref(), "alice").await;

    // The cache entry is live: removed Alice still gets a nonce...
    let nonce = nonce_for(&net, &dave, alice).await;
    // ...but never the share: `Recover` reads the registration fresh.
    let response = ask(&net, &dave, recover(alice, nonce, pk, pk)).await;
    assert_eq!(response, Response::Error(ErrorReason::NotRegistered));
    let dave_provider = &providers[2];
    assert_eq!(dave_provider.name, "dave");
    assert_eq!(dave_provider.provider.stats().recoveries_served.load(Ordering::Relaxed), 0);
    // An account never registered is refused a nonce at once (negatives are not cached).
    let eve = account("eve");
    let response = ask(&net, &dave, Request::RequestNonce(RequestNonce { account: eve })).await;
    assert_eq!(response, Response::Error(ErrorReason::NotRegistered));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_garbage_frames_are_dropped_and_the_provider_keeps_serving() {
    init_tracing();
    let _serial = serial().await;
    let (_node, providers, net) = setup(ProviderConfig::default()).await;
    let bob = target("bob");
    let stats = providers[0].network.stats();
    assert_eq!(providers[0].name, "bob");

    // A frame announcing 1 MiB (over the 20 KiB request bound).
    let mut oversized = (1u32 << 20).to_be_bytes().to_vec();
    oversized.extend_from_slice(&[0u8; 64]);
    let err = peerseal_testkit::raw_frames::send(bob.peer, bob.addrs.clone(), oversized).await;
    assert!(err.is_err(), "an oversized frame gets no response");
    // A well-sized frame that is not SCALE of any request.
    let mut garbage = 16u32.to_be_bytes().to_vec();
    garbage.extend_from_slice(&[0xFF; 16]);
    let err = peerseal_testkit::raw_frames::send(bob.peer, bob.addrs.clone(), garbage).await;
    assert!(err.is_err(), "a garbage frame gets no response");

    bounded(10, async {
        while NetworkStats::get(&stats.oversized_frames) < 1
            || NetworkStats::get(&stats.malformed_frames) < 1
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(NetworkStats::get(&stats.oversized_frames), 1);
    assert_eq!(NetworkStats::get(&stats.malformed_frames), 1);

    // Still serving.
    let alice = account("alice");
    let _ = nonce_for(&net, &bob, alice).await;
}
