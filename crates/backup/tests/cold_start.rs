//! Both ends of the cold-start operator handshake (`peerseal_backup::cold_start`) against an
//! in-memory chain: a node's intake quotes for an operator's nonce and rebuilds its key from a
//! threshold of released shares; an operator releases nothing to a quote from an image the
//! chain does not accept, to a replayed quote, to an unregistered account, to a quote bound to
//! another response key, from another platform, or under the dev PCK mode in a production
//! build; a node takes no share of another epoch and none it did not sign itself, and fewer
//! than a threshold of shares never give it a key.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use peerseal_attestation::{report_data, Binding, MockQuoteProvider, PlatformId, QuoteProvider};
use peerseal_backup::client::commitment::key_commitment;
use peerseal_backup::client::operators::seal_for_operators;
use peerseal_backup::cold_start::{
    check_node, open_own_share, release_share, ColdStartTarget, OperatorIntake, OperatorRecovered,
    OperatorRefusal,
};
use peerseal_backup::NodeKeys;
use peerseal_chain::{Assignment, RecordedRecovery, RecoveryOperator, RecoveryOperatorSet};
use peerseal_protocol::operator::{OperatorChallenge, OperatorShare};
use peerseal_protocol::{
    AccountId, AccountKeypair, AccountSigner, ErrorReason, Nonce32, QuoteBytes, QuoteRejection,
    RecoveryQuote, Request, Response, ShareIntake, X25519Secret,
};
use std::sync::Arc;
use support::fake_chain::FakeChain;
use tokio::sync::oneshot;

const EPOCH: u64 = 5;
const KEY: [u8; 32] = [0x4B; 32];

struct Fixture {
    chain: FakeChain,
    node: NodeKeys,
    operators: Vec<X25519Secret>,
    commitment: [u8; 32],
}

fn set_of(operators: &[X25519Secret]) -> RecoveryOperatorSet {
    RecoveryOperatorSet {
        revision: 1,
        threshold: 2,
        operators: operators
            .iter()
            .zip(1u8..)
            .map(|(sk, i)| RecoveryOperator {
                account: AccountId([i; 32]),
                x25519_public_key: sk.public().0,
            })
            .collect(),
    }
}

/// Alice's key of `epoch` sealed 2-of-3 to three operators.
fn sealed(f: &Fixture, epoch: u64) -> RecordedRecovery {
    let commitment = key_commitment(&f.node.account(), epoch, &KEY);
    let sealed =
        seal_for_operators(&set_of(&f.operators), &f.node.signer, &KEY, epoch, commitment).unwrap();
    RecordedRecovery { epoch, sealed }
}

/// Alice registered (the dev genesis), her backup of `EPOCH` recorded with its commitment and
/// its shares sealed to three operators.
fn fixture() -> Fixture {
    let chain = FakeChain::dev();
    let node = NodeKeys::dev("alice").unwrap();
    let operators: Vec<X25519Secret> = (0..3).map(|_| X25519Secret::generate()).collect();
    let commitment = key_commitment(&node.account(), EPOCH, &KEY);
    chain.record(node.account(), EPOCH, &[AccountId([9; 32])]);
    chain.assignments.lock().unwrap().last_mut().unwrap().commitment = commitment;
    let f = Fixture { chain, node, operators, commitment };
    let recorded = sealed(&f, EPOCH);
    f.chain.recorded.lock().unwrap().push((f.node.account(), recorded));
    f
}

/// An assignment of `epoch` committing to `commitment`.
fn assignment_at(epoch: u64, commitment: [u8; 32]) -> Assignment {
    Assignment { epoch, threshold: 2, providers: vec![], commitment, stale: false }
}

fn target(f: &Fixture) -> ColdStartTarget {
    ColdStartTarget {
        account: f.node.account(),
        epoch: EPOCH,
        commitment: f.commitment,
        operator_set: 1,
    }
}

fn intake(
    f: &Fixture,
    quotes: MockQuoteProvider,
) -> (OperatorIntake, oneshot::Receiver<OperatorRecovered>) {
    OperatorIntake::new(target(f), Arc::new(quotes))
}

fn fresh_nonce() -> Nonce32 {
    Nonce32(rand::random())
}

/// The node's answer to an operator's challenge with `nonce`.
async fn quote_for(intake: &OperatorIntake, nonce: Nonce32) -> RecoveryQuote {
    match intake.handle(Request::OperatorChallenge(OperatorChallenge { nonce })).await {
        Response::RecoveryQuote(answer) => answer,
        other => panic!("no quote: {other:?}"),
    }
}

/// Operator `op` checks the node and releases its share to it; the node's answer.
async fn operator_releases(f: &Fixture, intake: &OperatorIntake, op: usize) -> Response {
    let nonce = fresh_nonce();
    let answer = quote_for(intake, nonce).await;
    check_node(&f.chain, &nonce, &answer, true).await.unwrap();
    let (release, _) = release_share(&f.chain, &f.operators[op], &answer).await.unwrap();
    intake.handle(Request::OperatorRelease(release)).await
}

#[tokio::test]
async fn a_threshold_of_operators_rebuilds_the_committed_key_and_fewer_never_do() {
    let f = fixture();
    let (intake, mut key) = intake(&f, MockQuoteProvider::dev());
    let intake = Arc::new(intake);
    let first = operator_releases(&f, &intake, 2).await;
    assert_eq!(first, Response::ShareIntake(ShareIntake { held: 1, needed: 2 }));
    // The same operator again adds nothing.
    let again = operator_releases(&f, &intake, 2).await;
    assert_eq!(again, Response::ShareIntake(ShareIntake { held: 1, needed: 2 }));
    assert!(key.try_recv().is_err(), "one share of two gives no key");
    assert_eq!(intake.progress(), (1, Some(2)));

    let second = operator_releases(&f, &intake, 0).await;
    assert_eq!(second, Response::ShareIntake(ShareIntake { held: 2, needed: 2 }));
    let recovered = key.try_recv().expect("two shares give the key");
    assert_eq!(recovered.key.expose_secret(), &KEY);
    assert_eq!((recovered.epoch, recovered.operators), (EPOCH, 2));
}

#[tokio::test]
async fn operators_refuse_quotes_that_are_not_fresh_accepted_and_bound() {
    let f = fixture();
    let (intake, _) = intake(&f, MockQuoteProvider::dev());

    // A measurement the chain does not accept.
    let (other_image, _) = self::intake(&f, MockQuoteProvider::dev().with_image("not-accepted"));
    let nonce = fresh_nonce();
    let answer = quote_for(&other_image, nonce).await;
    let refused = check_node(&f.chain, &nonce, &answer, true).await.unwrap_err();
    assert!(
        matches!(refused, OperatorRefusal::Quote(QuoteRejection::MeasurementNotAccepted)),
        "{refused:?}"
    );

    // A replayed quote: made for an earlier challenge, answered to a new nonce.
    let old = quote_for(&intake, fresh_nonce()).await;
    let refused = check_node(&f.chain, &fresh_nonce(), &old, true).await.unwrap_err();
    assert!(matches!(refused, OperatorRefusal::StaleNonce), "{refused:?}");

    // A quote bound to another response key than the one the answer names.
    let nonce = fresh_nonce();
    let mut swapped = quote_for(&intake, nonce).await;
    swapped.response_pk = X25519Secret::generate().public();
    let refused = check_node(&f.chain, &nonce, &swapped, true).await.unwrap_err();
    assert!(
        matches!(refused, OperatorRefusal::Quote(QuoteRejection::ReportDataMismatch)),
        "{refused:?}"
    );

    // An account that is not registered, with a quote that binds it correctly.
    let stranger = AccountKeypair::from_seed(&[0x31; 32]).unwrap().account();
    let nonce = fresh_nonce();
    let response_pk = X25519Secret::generate().public();
    let bound = report_data(&Binding::recover(&stranger.0, &response_pk.0, &nonce.0));
    let quote = MockQuoteProvider::dev().quote(&bound).unwrap();
    let unregistered = RecoveryQuote {
        account: stranger,
        epoch: EPOCH,
        response_pk,
        quote: QuoteBytes::new(quote).unwrap(),
    };
    let refused = check_node(&f.chain, &nonce, &unregistered, true).await.unwrap_err();
    assert!(matches!(refused, OperatorRefusal::NotRegistered(_)), "{refused:?}");

    // The accepted image on another host, without a move governance approved.
    let (elsewhere, _) =
        self::intake(&f, MockQuoteProvider::dev().with_platform(PlatformId([0xEE; 16])));
    let nonce = fresh_nonce();
    let answer = quote_for(&elsewhere, nonce).await;
    let refused = check_node(&f.chain, &nonce, &answer, true).await.unwrap_err();
    assert!(matches!(refused, OperatorRefusal::PlatformNotApproved), "{refused:?}");

    // A production operator refuses a chain that accepts mock quotes at all.
    let nonce = fresh_nonce();
    let answer = quote_for(&intake, nonce).await;
    let refused = check_node(&f.chain, &nonce, &answer, false).await.unwrap_err();
    assert!(matches!(refused, OperatorRefusal::DevPckMode), "{refused:?}");
    // The same fresh, bound quote passes in a dev build.
    check_node(&f.chain, &nonce, &answer, true).await.unwrap();
}

#[tokio::test]
async fn only_the_epoch_the_chain_records_is_released_and_taken() {
    let f = fixture();
    let (intake, mut key) = intake(&f, MockQuoteProvider::dev());

    // The node asks for another epoch than the chain records shares of: the operator refuses.
    let nonce = fresh_nonce();
    let mut answer = quote_for(&intake, nonce).await;
    answer.epoch = EPOCH - 1;
    let refused = release_share(&f.chain, &f.operators[0], &answer).await.unwrap_err();
    assert!(
        matches!(refused, OperatorRefusal::EpochMismatch { node: 4, chain: EPOCH }),
        "{refused:?}"
    );

    // A share of an earlier epoch (genuinely signed by the node, say from an old record an
    // operator kept) is not taken by a node whose store is at EPOCH.
    let old = sealed(&f, EPOCH - 1);
    let old_assignment =
        assignment_at(EPOCH - 1, key_commitment(&f.node.account(), EPOCH - 1, &KEY));
    let response_pk = intake.response_pk();
    for op in 0..2 {
        let (_, released) =
            open_own_share(&f.operators[op], &f.node.account(), &old, Some(&old_assignment))
                .unwrap();
        let release = released.seal(&response_pk).unwrap();
        let answer = intake.handle(Request::OperatorRelease(release)).await;
        assert_eq!(answer, Response::Error(ErrorReason::ShareMismatch));
    }
    assert!(key.try_recv().is_err());
    assert_eq!(intake.progress().0, 0, "nothing of another epoch is held");

    // A share Bob signed for himself is not Alice's, whatever it says.
    let bob = NodeKeys::dev("bob").unwrap();
    let set = set_of(&f.operators);
    let bobs = seal_for_operators(&set, &bob.signer, &KEY, EPOCH, f.commitment).unwrap();
    let bobs = RecordedRecovery { epoch: EPOCH, sealed: bobs };
    let current = assignment_at(EPOCH, f.commitment);
    let (_, released) =
        open_own_share(&f.operators[0], &bob.account(), &bobs, Some(&current)).unwrap();
    let answer =
        intake.handle(Request::OperatorRelease(released.seal(&response_pk).unwrap())).await;
    assert_eq!(answer, Response::Error(ErrorReason::BadSignature));

    // A genuine release sealed to another key than this cold start's.
    let (_, released) =
        open_own_share(&f.operators[0], &f.node.account(), &sealed(&f, EPOCH), Some(&current))
            .unwrap();
    let misdirected = released.seal(&X25519Secret::generate().public()).unwrap();
    let answer = intake.handle(Request::OperatorRelease(misdirected)).await;
    assert_eq!(answer, Response::Error(ErrorReason::BadEnvelope));
    assert!(key.try_recv().is_err());
}

#[tokio::test]
async fn recorded_shares_open_only_with_an_operators_own_key() {
    let f = fixture();
    let recorded = f.chain.recorded.lock().unwrap()[0].1.clone();
    let assignment = f.chain.assignments.lock().unwrap()[0].clone();
    let outsider = X25519Secret::generate();
    let refused =
        open_own_share(&outsider, &f.node.account(), &recorded, Some(&assignment)).unwrap_err();
    assert!(matches!(refused, OperatorRefusal::NoShareForThisOperator), "{refused:?}");
    for (i, op) in f.operators.iter().enumerate() {
        let (share, _): (OperatorShare, _) =
            open_own_share(op, &f.node.account(), &recorded, Some(&assignment)).unwrap();
        assert_eq!((share.index, share.threshold, share.epoch), (i as u8 + 1, 2, EPOCH));
    }
    // A chain whose commitment is not the one the share names: nothing is released.
    let mut other = assignment.clone();
    other.commitment = [0; 32];
    let refused =
        open_own_share(&f.operators[0], &f.node.account(), &recorded, Some(&other)).unwrap_err();
    assert!(matches!(refused, OperatorRefusal::ShareInconsistent(_)), "{refused:?}");
}
