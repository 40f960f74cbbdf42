//! The light-client rules, one test per way a header or justification can be wrong: justifications
//! are built and signed here with real ed25519 keys, exactly as GRANDPA voters sign them.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codec::Encode;
use finality_grandpa::{Precommit, SignedPrecommit};
use peerseal_finality::finality::{
    scheduled_change, verify_justification, AuthoritySet, FinalityError, Header,
};
use peerseal_finality::headers::{FinalHead, HeaderChain, HeaderError};
use proptest::prelude::*;
use sp_consensus_grandpa::{
    AuthorityId, AuthoritySignature, ConsensusLog, GrandpaJustification, ScheduledChange,
    GRANDPA_ENGINE_ID,
};
use sp_core::{ed25519, Pair, H256};
use sp_keyring::Ed25519Keyring as Keyring;
use sp_runtime::generic::{Digest, DigestItem};
use sp_runtime::traits::Header as _;

fn key(k: Keyring) -> [u8; 32] {
    k.public().0
}

fn set(set_id: u64, keys: &[Keyring]) -> AuthoritySet {
    AuthoritySet { set_id, authorities: keys.iter().map(|k| (key(*k), 1)).collect() }
}

fn header(parent: H256, number: u32, logs: Vec<DigestItem>) -> Header {
    Header::new(
        number,
        H256::repeat_byte(1),
        H256::repeat_byte(number as u8),
        parent,
        Digest { logs },
    )
}

fn change_log(next: &[Keyring], delay: u32) -> DigestItem {
    let change = ScheduledChange {
        next_authorities: next.iter().map(|k| (AuthorityId::from(k.public()), 1)).collect(),
        delay,
    };
    DigestItem::Consensus(GRANDPA_ENGINE_ID, ConsensusLog::ScheduledChange(change).encode())
}

fn precommit_signed(
    pair: &ed25519::Pair,
    round: u64,
    set_id: u64,
    target: (H256, u32),
) -> SignedPrecommit<H256, u32, AuthoritySignature, AuthorityId> {
    let precommit = Precommit { target_hash: target.0, target_number: target.1 };
    let payload = sp_consensus_grandpa::localized_payload(
        round,
        set_id,
        &finality_grandpa::Message::Precommit(precommit.clone()),
    );
    SignedPrecommit {
        precommit,
        signature: AuthoritySignature::from(pair.sign(&payload)),
        id: AuthorityId::from(pair.public()),
    }
}

fn justification(set_id: u64, target: &Header, signers: &[Keyring]) -> Vec<u8> {
    justification_with(set_id, target, signers, 7, Vec::new())
}

fn justification_with(
    set_id: u64,
    target: &Header,
    signers: &[Keyring],
    round: u64,
    votes_ancestries: Vec<Header>,
) -> Vec<u8> {
    let t = (target.hash(), *target.number());
    let precommits =
        signers.iter().map(|k| precommit_signed(&k.pair(), round, set_id, t)).collect();
    GrandpaJustification::<Header> {
        round,
        commit: finality_grandpa::Commit { target_hash: t.0, target_number: t.1, precommits },
        votes_ancestries,
    }
    .encode()
}

fn genesis() -> (Header, FinalHead) {
    let g = header(H256::zero(), 0, vec![]);
    let head = FinalHead { number: 0, hash: g.hash(), state_root: *g.state_root() };
    (g, head)
}

#[test]
fn a_justification_of_the_set_makes_a_header_final() {
    let (g, head) = genesis();
    let mut chain = HeaderChain::new(head, set(0, &[Keyring::Alice]), None).unwrap();
    let h1 = header(g.hash(), 1, vec![]);
    let final_heads =
        chain.import(h1.clone(), Some(&justification(0, &h1, &[Keyring::Alice]))).unwrap();
    assert_eq!(final_heads.len(), 1);
    assert_eq!(chain.final_head().hash, h1.hash());
    assert_eq!(chain.final_head().state_root, *h1.state_root());
}

#[test]
fn each_forgery_is_refused_with_its_own_error() {
    let s = set(0, &[Keyring::Alice, Keyring::Bob, Keyring::Charlie, Keyring::Eve]);
    let three = [Keyring::Alice, Keyring::Bob, Keyring::Charlie];
    let h = header(H256::repeat_byte(9), 5, vec![]);
    let target = (h.hash(), 5);
    // Three of four equal weights is more than two thirds: valid.
    verify_justification(&s, target.0, 5, &justification(0, &h, &three)).unwrap();
    // Two of four is not.
    assert_eq!(
        verify_justification(
            &s,
            target.0,
            5,
            &justification(0, &h, &[Keyring::Alice, Keyring::Bob])
        ),
        Err(FinalityError::NoSupermajority(0))
    );
    // A key outside the set, even with a valid signature.
    assert!(matches!(
        verify_justification(
            &s,
            target.0,
            5,
            &justification(0, &h, &[Keyring::Alice, Keyring::Bob, Keyring::Dave])
        ),
        Err(FinalityError::UnknownAuthority(_, 0))
    ));
    // Signed for another set id.
    assert!(matches!(
        verify_justification(&s, target.0, 5, &justification(1, &h, &three)),
        Err(FinalityError::BadSignature(..))
    ));
    // A valid justification of another block.
    let other = header(H256::repeat_byte(8), 5, vec![]);
    assert!(matches!(
        verify_justification(&s, target.0, 5, &justification(0, &other, &three)),
        Err(FinalityError::WrongTarget { .. })
    ));
    // A signature copied from another round.
    let mut forged =
        GrandpaJustification::<Header>::decode_all_bytes(&justification(0, &h, &three));
    forged.round += 1;
    assert!(matches!(
        verify_justification(&s, target.0, 5, &forged.encode()),
        Err(FinalityError::BadSignature(..))
    ));
    // The same voter twice does not count twice.
    assert_eq!(
        verify_justification(
            &s,
            target.0,
            5,
            &justification(0, &h, &[Keyring::Alice, Keyring::Alice, Keyring::Bob])
        ),
        Err(FinalityError::NoSupermajority(0))
    );
    // Padding with unused ancestry headers.
    let padded = justification_with(0, &h, &three, 7, vec![header(h.hash(), 6, vec![])]);
    assert_eq!(
        verify_justification(&s, target.0, 5, &padded),
        Err(FinalityError::RedundantAncestry(1))
    );
    // Garbage.
    assert!(matches!(
        verify_justification(&s, target.0, 5, &[1, 2, 3]),
        Err(FinalityError::Undecodable(_))
    ));
}

trait DecodeAllBytes: Sized {
    fn decode_all_bytes(bytes: &[u8]) -> Self;
}
impl DecodeAllBytes for GrandpaJustification<Header> {
    fn decode_all_bytes(bytes: &[u8]) -> Self {
        codec::Decode::decode(&mut &bytes[..]).unwrap()
    }
}

#[test]
fn precommits_for_descendants_need_their_ancestry() {
    let s = set(0, &[Keyring::Alice, Keyring::Bob, Keyring::Charlie, Keyring::Eve]);
    let h5 = header(H256::repeat_byte(9), 5, vec![]);
    let h6 = header(h5.hash(), 6, vec![]);
    let h7 = header(h6.hash(), 7, vec![]);
    // Votes for 7, 6 and 5: the GHOST with three of four is block 5, the commit target.
    let votes = vec![
        precommit_signed(&Keyring::Alice.pair(), 3, 0, (h7.hash(), 7)),
        precommit_signed(&Keyring::Bob.pair(), 3, 0, (h6.hash(), 6)),
        precommit_signed(&Keyring::Charlie.pair(), 3, 0, (h5.hash(), 5)),
    ];
    let make = |ancestries: Vec<Header>| {
        GrandpaJustification::<Header> {
            round: 3,
            commit: finality_grandpa::Commit {
                target_hash: h5.hash(),
                target_number: 5,
                precommits: votes.clone(),
            },
            votes_ancestries: ancestries,
        }
        .encode()
    };
    verify_justification(&s, h5.hash(), 5, &make(vec![h7.clone(), h6.clone()])).unwrap();
    // Without the route from a vote to the target, that vote is unrelated.
    assert!(verify_justification(&s, h5.hash(), 5, &make(vec![h7.clone()])).is_err());
    assert!(verify_justification(&s, h5.hash(), 5, &make(vec![])).is_err());
}

#[test]
fn headers_must_extend_the_verified_chain() {
    let (g, head) = genesis();
    let mut chain = HeaderChain::new(head, set(0, &[Keyring::Alice]), None).unwrap();
    let stray = header(H256::repeat_byte(3), 1, vec![]);
    assert!(matches!(
        chain.import(stray.clone(), Some(&justification(0, &stray, &[Keyring::Alice]))),
        Err(HeaderError::NotAChild { .. })
    ));
    let skip = header(g.hash(), 2, vec![]);
    assert!(matches!(chain.import(skip, None), Err(HeaderError::NotAChild { .. })));
    // Nothing changed: the honest block is still accepted.
    let h1 = header(g.hash(), 1, vec![]);
    chain.import(h1.clone(), Some(&justification(0, &h1, &[Keyring::Alice]))).unwrap();
}

#[test]
fn unjustified_headers_become_final_with_a_justified_descendant() {
    let (g, head) = genesis();
    let mut chain = HeaderChain::new(head, set(0, &[Keyring::Alice]), None).unwrap();
    let h1 = header(g.hash(), 1, vec![]);
    let h2 = header(h1.hash(), 2, vec![]);
    assert!(chain.import(h1.clone(), None).unwrap().is_empty());
    assert_eq!(chain.final_head().number, 0);
    let heads = chain.import(h2.clone(), Some(&justification(0, &h2, &[Keyring::Alice]))).unwrap();
    assert_eq!(heads.iter().map(|h| h.number).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(heads[0].hash, h1.hash());
}

#[test]
fn an_authority_set_change_is_followed_at_its_enactment_block() {
    let (g, head) = genesis();
    let mut chain = HeaderChain::new(head, set(0, &[Keyring::Alice]), None).unwrap();
    let old = [Keyring::Alice];
    let new = [Keyring::Bob, Keyring::Charlie];
    // Block 1 schedules [Bob, Charlie] with a delay of 2: enacted at block 3.
    let h1 = header(g.hash(), 1, vec![change_log(&new, 2)]);
    assert_eq!(scheduled_change(&h1).unwrap().map(|(n, d)| (n.len(), d)), Some((2, 2)));
    chain.import(h1.clone(), Some(&justification(0, &h1, &old))).unwrap();
    let h2 = header(h1.hash(), 2, vec![]);
    chain.import(h2.clone(), Some(&justification(0, &h2, &old))).unwrap();
    let h3 = header(h2.hash(), 3, vec![]);
    // The enactment block cannot be skipped over without its own justification.
    assert_eq!(chain.clone().import(h3.clone(), None), Err(HeaderError::UnjustifiedSetChange(3)));
    // Nor justified by the new set.
    assert!(chain.clone().import(h3.clone(), Some(&justification(1, &h3, &new))).is_err());
    chain.import(h3.clone(), Some(&justification(0, &h3, &old))).unwrap();
    assert_eq!(chain.authority_set(), &set(1, &new));
    let h4 = header(h3.hash(), 4, vec![]);
    // The old set no longer finalizes anything.
    assert!(matches!(
        chain.clone().import(h4.clone(), Some(&justification(0, &h4, &old))),
        Err(HeaderError::Finality(FinalityError::UnknownAuthority(..)))
    ));
    chain.import(h4.clone(), Some(&justification(1, &h4, &new))).unwrap();
    assert_eq!(chain.final_head().number, 4);
}

#[test]
fn forced_changes_and_malformed_digests_are_refused() {
    let (g, head) = genesis();
    let mut chain = HeaderChain::new(head, set(0, &[Keyring::Alice]), None).unwrap();
    let change = ScheduledChange {
        next_authorities: vec![(AuthorityId::from(Keyring::Bob.public()), 1)],
        delay: 0u32,
    };
    let forced =
        DigestItem::Consensus(GRANDPA_ENGINE_ID, ConsensusLog::ForcedChange(0u32, change).encode());
    let h1 = header(g.hash(), 1, vec![forced]);
    assert_eq!(
        chain.import(h1.clone(), Some(&justification(0, &h1, &[Keyring::Alice]))),
        Err(HeaderError::Finality(FinalityError::ForcedChange(1)))
    );
    let garbage =
        header(g.hash(), 1, vec![DigestItem::Consensus(GRANDPA_ENGINE_ID, vec![9, 9, 9])]);
    assert!(matches!(
        chain.import(garbage.clone(), Some(&justification(0, &garbage, &[Keyring::Alice]))),
        Err(HeaderError::Finality(FinalityError::BadDigest(1, _)))
    ));
    // An empty next set is no set.
    let empty = DigestItem::Consensus(
        GRANDPA_ENGINE_ID,
        ConsensusLog::ScheduledChange(ScheduledChange { next_authorities: vec![], delay: 1u32 })
            .encode(),
    );
    let h1 = header(g.hash(), 1, vec![empty]);
    assert!(chain.import(h1, None).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes as a justification never panic and never verify.
    #[test]
    fn arbitrary_justification_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let s = set(0, &[Keyring::Alice]);
        prop_assert!(verify_justification(&s, H256::zero(), 1, &bytes).is_err());
    }

    /// A valid justification with any byte flipped is refused, never panics.
    #[test]
    fn flipped_justification_bytes_are_refused(index in 0usize..4096, bit in 0u8..8) {
        let s = set(0, &[Keyring::Alice]);
        let h = header(H256::repeat_byte(2), 3, vec![]);
        let mut bytes = justification(0, &h, &[Keyring::Alice]);
        let index = index % bytes.len();
        bytes[index] ^= 1 << bit;
        prop_assert!(verify_justification(&s, h.hash(), 3, &bytes).is_err());
    }

    /// Arbitrary digest logs under the GRANDPA engine id never panic.
    #[test]
    fn arbitrary_digests_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let h = header(H256::zero(), 1, vec![DigestItem::Consensus(GRANDPA_ENGINE_ID, data)]);
        let _ = scheduled_change(&h);
    }
}

/// The dev-only mode for executors without GRANDPA (chopsticks): a header is final on the
/// endpoint's word, but it must still extend the chain it was offered to.
#[cfg(feature = "insecure-endpoint-finality")]
#[test]
fn unverified_import_takes_the_endpoint_word_but_keeps_the_chain_linked() {
    let (g, head) = genesis();
    let mut chain = HeaderChain::new(head, set(0, &[Keyring::Alice]), None).unwrap();
    let h1 = header(g.hash(), 1, vec![]);
    let h2 = header(h1.hash(), 2, vec![]);
    assert!(chain.import(h1.clone(), None).unwrap().is_empty());
    let heads = chain.import_unverified(h2.clone()).unwrap();
    assert_eq!(heads.iter().map(|h| h.number).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(chain.final_head().hash, h2.hash());
    assert_eq!(chain.final_head().state_root, *h2.state_root());
    let stray = header(H256::repeat_byte(3), 3, vec![]);
    assert!(matches!(chain.import_unverified(stray), Err(HeaderError::NotAChild { .. })));
    let skip = header(h2.hash(), 4, vec![]);
    assert!(matches!(chain.import_unverified(skip), Err(HeaderError::NotAChild { .. })));
    assert_eq!(chain.final_head().number, 2);
}
