//! The platform rule of `Recover`, through `Provider::handle` against an in-memory chain: a
//! quote from the platform of the account's registered quote is accepted even with a new PCK
//! key (a TCB update), a quote from another platform only while governance's approved move
//! names exactly that platform. Mock quotes in the dev PCK mode carry the platform they claim
//! (`MockQuoteProvider::with_platform`), so the rule runs here as it does in production, where
//! the platform is the PPID of the quote's Intel PCK certificate.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use libp2p::PeerId;
use peerseal_attestation::{mock_pck_key, report_data, Binding, MockQuoteProvider, PlatformId};
use peerseal_backup::provider::held::HeldShares;
use peerseal_backup::{NodeKeys, Provider, ProviderConfig, TxSubmitter};
use peerseal_kvdb::{DbKey, Store};
use peerseal_protocol::*;
use std::sync::Arc;
use support::fake_chain::FakeChain;

const EPOCH: u64 = 3;
const NEW_HOST: PlatformId = PlatformId([0xE1; 16]);
const OTHER_HOST: PlatformId = PlatformId([0xE2; 16]);
/// The mock seed of a node after a (mock) TCB update: another PCK key.
const UPDATED_SEED: [u8; 32] = [0x77; 32];

struct Fixture {
    provider: Provider,
    chain: Arc<FakeChain>,
    alice: NodeKeys,
    _dir: tempfile::TempDir,
}

/// Bob provides for Alice (registered with the dev mock quote, on the dev platform) and holds
/// her share of `EPOCH`; the policy also allows the updated seed's PCK.
async fn bob_holding_alices_share() -> Fixture {
    let chain = Arc::new(FakeChain::dev());
    chain.policy.lock().unwrap().allowed_mock_pcks.push(mock_pck_key(&UPDATED_SEED));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path().join("db"), &DbKey::generate().unwrap()).unwrap();
    let keys = NodeKeys::dev("bob").unwrap();
    let bob_pk = keys.x25519.public();
    let tx = TxSubmitter::new(chain.clone(), keys.signer.clone());
    let config = ProviderConfig { confirm_on_chain: false, ..ProviderConfig::default() };
    let provider =
        Provider::new(keys, chain.clone(), HeldShares::open(&store).unwrap(), tx, config);
    let alice = NodeKeys::dev("alice").unwrap();
    let share = BackupShare {
        account: alice.account(),
        epoch: EPOCH,
        share_index: 1,
        threshold: 1,
        share: ShareBytes::from_slice(&[0x5A; 32]).unwrap(),
    };
    let store = Request::StoreBackup(StoreBackup::seal(&bob_pk, &alice.signer, &share).unwrap());
    let stored = provider.handle(PeerId::random(), store).await;
    assert!(matches!(stored, Response::BackupReceipt(_)), "{stored:?}");
    Fixture { provider, chain, alice, _dir: dir }
}

/// One full recovery attempt by Alice with quotes from `quotes`.
async fn recover_with(f: &Fixture, quotes: &MockQuoteProvider) -> Response {
    let account = f.alice.account();
    // One recovery is one peer: a nonce is good only for the peer it was issued to.
    let peer = PeerId::random();
    let ask = Request::RequestNonce(RequestNonce { account });
    let Response::Nonce(nonce) = f.provider.handle(peer, ask).await else { panic!() };
    let response_pk = X25519Secret::generate().public();
    let binding = Binding::recover(&account.0, &response_pk.0, &nonce.nonce.0);
    let quote = QuoteBytes::new(quotes.mock_quote(&report_data(&binding))).unwrap();
    let recover = Request::Recover(Recover { account, epoch: EPOCH, response_pk, quote });
    f.provider.handle(peer, recover).await
}

fn approve(f: &Fixture, platform: PlatformId) {
    *f.chain.moves.lock().unwrap() = vec![(f.alice.account(), platform)];
}

const MISMATCH: Response = Response::Error(ErrorReason::QuoteRejected(QuoteRejection::PckMismatch));

#[tokio::test]
async fn a_tcb_update_keeps_the_platform_and_recovers() {
    let f = bob_holding_alices_share().await;
    let updated = MockQuoteProvider::from_seed(UPDATED_SEED);
    assert_ne!(updated.pck_key(), MockQuoteProvider::dev().pck_key(), "a new PCK key");
    let answer = recover_with(&f, &updated).await;
    assert!(matches!(answer, Response::RecoveredShare(_)), "{answer:?}");
}

#[tokio::test]
async fn another_platform_is_refused_without_an_approved_move() {
    let f = bob_holding_alices_share().await;
    let moved = MockQuoteProvider::dev().with_platform(NEW_HOST);
    assert_eq!(recover_with(&f, &moved).await, MISMATCH);
    // A move approved to another platform than the quote's does not help.
    approve(&f, OTHER_HOST);
    assert_eq!(recover_with(&f, &moved).await, MISMATCH);
}

#[tokio::test]
async fn an_approved_move_recovers_until_it_is_revoked() {
    let f = bob_holding_alices_share().await;
    let moved = MockQuoteProvider::from_seed(UPDATED_SEED).with_platform(NEW_HOST);
    approve(&f, NEW_HOST);
    let answer = recover_with(&f, &moved).await;
    assert!(matches!(answer, Response::RecoveredShare(_)), "{answer:?}");
    // The registered platform stays acceptable while the move is approved.
    let answer = recover_with(&f, &MockQuoteProvider::dev()).await;
    assert!(matches!(answer, Response::RecoveredShare(_)), "{answer:?}");
    // Governance revokes the move: the new host is refused again.
    f.chain.moves.lock().unwrap().clear();
    assert_eq!(recover_with(&f, &moved).await, MISMATCH);
}
