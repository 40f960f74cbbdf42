//! GRANDPA finality of the dev chain: the authority set followed from header digests, and a real
//! `GrandpaJustification` for every sealed block, signed with the dev keyring.
//!
//! The dev node has instant finality, but what it hands out must convince a client that trusts
//! only GRANDPA: each block gets a justification (round, commit to that block, one precommit
//! per authority of the current set whose secret key the node holds, signed over
//! `localized_payload(round, set_id, Message::Precommit)`, no vote ancestries), exactly what a
//! Substrate full node stores for the blocks it finalizes.
//!
//! **Set tracking** (the same rules a light client applies): the genesis set (id 0) comes from
//! the genesis state (`GrandpaApi_grandpa_authorities`); afterwards only header digests count. A
//! `ConsensusLog::ScheduledChange { next_authorities, delay }` (engine `FRNK`) in block `B`
//! schedules the change for block `B + delay`; that block is still justified by the current set
//! and every later block by the next set, whose id is one higher. Forced changes are never
//! scheduled by this runtime; one seen in a digest halts finality rather than being guessed at.
//!
//! **Refusing to pretend:** if the node's keys carry less than the GRANDPA threshold of the
//! current set's weight (`total - (total - 1) / 3`, finality-grandpa's supermajority), it logs an
//! error and stops finalizing for good: later blocks are still sealed, but get no justification
//! and the finalized head stays where it is. A restart replays to the same point.

use std::collections::BTreeMap;

use codec::{Decode, DecodeLimit, Encode};
use sp_consensus_grandpa::{AuthorityId, AuthorityList, AuthoritySignature, SetId};
use sp_core::{ed25519, Pair as _};

use crate::types::{BlockNumber, Hash, Header};

/// The justification type served (`sp_consensus_grandpa::GrandpaJustification` of our header).
pub type Justification = sp_consensus_grandpa::GrandpaJustification<Header>;

/// Nesting depth limit for decoding justifications (headers in ancestries have digests).
const DECODE_DEPTH: u32 = 32;

/// A GRANDPA finality proof, encoded exactly like `sc_consensus_grandpa::FinalityProof` (what
/// `grandpa_proveFinality` returns), defined here so the node does not depend on `sc-*` crates.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct FinalityProof {
    /// The hash of the block the justification finalizes.
    pub block: Hash,
    /// SCALE-encoded [`Justification`] of that block.
    pub justification: Vec<u8>,
    /// Headers from the requested block up to `block` the client may not know (always empty
    /// here: every block has its own justification).
    pub unknown_headers: Vec<Header>,
}

/// Why a justification could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum FinalityError {
    /// The node's keys do not reach the threshold of the current set.
    #[error("the node holds keys for weight {held} of set {set_id}, below the threshold {threshold} of its total weight {total}")]
    NotEnoughKeys {
        /// The set id.
        set_id: SetId,
        /// Weight the node can sign for.
        held: u64,
        /// Weight needed.
        threshold: u64,
        /// Total weight of the set.
        total: u64,
    },
    /// The authority set is empty or its weights overflow.
    #[error("authority set {0} is empty or its total weight overflows")]
    BadSet(SetId),
    /// A digest asked for something this node does not follow (a forced change, or a change
    /// while one is pending).
    #[error("block #{number}: {what}")]
    Unsupported {
        /// The block whose digest it was.
        number: BlockNumber,
        /// What was seen.
        what: String,
    },
    /// A justification does not decode.
    #[error("justification does not decode: {0}")]
    Decode(codec::Error),
    /// A justification does not prove the block with the given set.
    #[error("justification invalid: {0}")]
    Invalid(String),
    /// The shared verifier refused a justification or a digest.
    #[error(transparent)]
    Check(#[from] peerseal_finality::finality::FinalityError),
}

/// The ed25519 dev keys the node signs with: `//Alice` .. `//Ferdie` of `sp-keyring`.
pub fn dev_keyring() -> Vec<ed25519::Pair> {
    use sp_keyring::Ed25519Keyring::*;
    [Alice, Bob, Charlie, Dave, Eve, Ferdie].iter().map(|k| k.pair()).collect()
}

/// The sum of the weights, if non-zero and without overflow.
fn total_weight(list: &AuthorityList) -> Option<u64> {
    list.iter().try_fold(0u64, |acc, (_, w)| acc.checked_add(*w)).filter(|t| *t > 0)
}

/// finality-grandpa's supermajority threshold of a total weight.
pub fn threshold(total: u64) -> u64 {
    total - total.saturating_sub(1) / 3
}

/// A GRANDPA authority set and its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthoritySet {
    /// The set id (0 for the genesis set).
    pub set_id: SetId,
    /// The authorities and their weights.
    pub authorities: AuthorityList,
}

/// The authority set change `header`'s digest schedules, if any, by the rules the TSS node's
/// verifier applies (`peerseal-finality`: the earliest `ScheduledChange` counts, a forced change
/// is refused), converted to the node's types.
pub fn scheduled_change(
    header: &Header,
) -> Result<Option<sp_consensus_grandpa::ScheduledChange<BlockNumber>>, FinalityError> {
    let change = peerseal_finality::finality::scheduled_change(header)?;
    Ok(change.map(|(next, delay)| sp_consensus_grandpa::ScheduledChange {
        next_authorities: next
            .into_iter()
            .map(|(key, weight)| (AuthorityId::from(ed25519::Public::from_raw(key)), weight))
            .collect(),
        delay,
    }))
}

/// Follows the authority set along the chain and justifies each block.
#[derive(Clone)]
pub struct Finality {
    keys: BTreeMap<AuthorityId, ed25519::Pair>,
    set: AuthoritySet,
    /// `(enacted at, next authorities)` of a scheduled change.
    pending: Option<(BlockNumber, AuthorityList)>,
    next_round: u64,
    halted: bool,
}

impl Finality {
    /// Starts at genesis with the genesis `authorities` (set id 0) and the `keys` to sign with.
    pub fn new(authorities: AuthorityList, keys: Vec<ed25519::Pair>) -> Self {
        let keys = keys.into_iter().map(|pair| (AuthorityId::from(pair.public()), pair)).collect();
        Self {
            keys,
            set: AuthoritySet { set_id: 0, authorities },
            pending: None,
            next_round: 1,
            halted: false,
        }
    }

    /// The set that justifies the next block.
    pub fn current_set(&self) -> &AuthoritySet {
        &self.set
    }

    /// Whether finality stopped (the node's keys no longer reach the threshold).
    pub fn halted(&self) -> bool {
        self.halted
    }

    /// Signs a justification of `header` with the current set.
    fn sign(&self, header: &Header) -> Result<Justification, FinalityError> {
        let total =
            total_weight(&self.set.authorities).ok_or(FinalityError::BadSet(self.set.set_id))?;
        let needed = threshold(total);
        let signers: Vec<_> = self
            .set
            .authorities
            .iter()
            .filter_map(|(id, _)| self.keys.get(id).map(|pair| (id, pair)))
            .collect();
        let held = self
            .set
            .authorities
            .iter()
            .filter(|(id, _)| self.keys.contains_key(id))
            .map(|(_, w)| *w)
            .fold(0u64, u64::saturating_add);
        if held < needed {
            return Err(FinalityError::NotEnoughKeys {
                set_id: self.set.set_id,
                held,
                threshold: needed,
                total,
            });
        }
        let round = self.next_round;
        let hash = header.hash();
        let precommit = finality_grandpa::Precommit::new(hash, header.number);
        let message = finality_grandpa::Message::Precommit(precommit.clone());
        let payload = sp_consensus_grandpa::localized_payload(round, self.set.set_id, &message);
        let precommits = signers
            .into_iter()
            .map(|(id, pair)| finality_grandpa::SignedPrecommit {
                precommit: precommit.clone(),
                signature: AuthoritySignature::from(pair.sign(&payload)),
                id: id.clone(),
            })
            .collect();
        Ok(Justification {
            round,
            commit: finality_grandpa::Commit {
                target_hash: hash,
                target_number: header.number,
                precommits,
            },
            votes_ancestries: Vec::new(),
        })
    }

    /// Handles the next block of the chain: returns its encoded justification (`stored` is
    /// checked and reused when given, e.g. on replay; otherwise one is signed), or `None` once
    /// finality has halted; then applies the block's digest to the tracked set.
    pub fn on_block(
        &mut self,
        header: &Header,
        stored: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, FinalityError> {
        let justification = if self.halted {
            None
        } else if let Some(bytes) = stored {
            let justification = verify_justification(bytes, header, &self.set)?;
            self.next_round = justification.round.saturating_add(1);
            Some(bytes.to_vec())
        } else {
            match self.sign(header) {
                Ok(justification) => {
                    self.next_round = justification.round.saturating_add(1);
                    Some(justification.encode())
                }
                Err(err @ FinalityError::NotEnoughKeys { .. }) => {
                    tracing::error!(
                        %err,
                        number = header.number,
                        "cannot justify blocks with the keys this node holds: finality stops here \
                         (blocks are still sealed, the finalized head no longer moves)"
                    );
                    self.halted = true;
                    None
                }
                Err(err) => return Err(err),
            }
        };
        self.apply_digest(header)?;
        Ok(justification)
    }

    /// Applies `header`'s GRANDPA digest and enacts a change due at this block.
    fn apply_digest(&mut self, header: &Header) -> Result<(), FinalityError> {
        if let Some(change) = scheduled_change(header)? {
            if self.pending.is_some() {
                return Err(FinalityError::Unsupported {
                    number: header.number,
                    what: "authority set change scheduled while another is pending".into(),
                });
            }
            let at = header.number.checked_add(change.delay).ok_or(FinalityError::Unsupported {
                number: header.number,
                what: "change delay overflows the block number".into(),
            })?;
            tracing::info!(
                number = header.number,
                enacted_at = at,
                next_set_id = self.set.set_id.saturating_add(1),
                authorities = change.next_authorities.len(),
                "GRANDPA authority set change scheduled"
            );
            self.pending = Some((at, change.next_authorities));
        }
        if let Some((at, _)) = &self.pending {
            if *at == header.number {
                if let Some((_, next)) = self.pending.take() {
                    self.set = AuthoritySet {
                        set_id: self.set.set_id.saturating_add(1),
                        authorities: next,
                    };
                    tracing::info!(
                        after = header.number,
                        set_id = self.set.set_id,
                        "GRANDPA authority set changed"
                    );
                }
            }
        }
        Ok(())
    }
}

/// Checks that `encoded` is a justification of `header` by `set`, with the TSS node's own
/// verifier (`peerseal-finality`), and returns it decoded.
pub fn verify_justification(
    encoded: &[u8],
    header: &Header,
    set: &AuthoritySet,
) -> Result<Justification, FinalityError> {
    let checked = peerseal_finality::finality::AuthoritySet {
        set_id: set.set_id,
        authorities: set
            .authorities
            .iter()
            .map(|(id, weight)| (id.clone().into_inner().0, *weight))
            .collect(),
    };
    peerseal_finality::finality::verify_justification(
        &checked,
        header.hash(),
        header.number,
        encoded,
    )?;
    Justification::decode_all_with_depth_limit(DECODE_DEPTH, &mut &encoded[..])
        .map_err(FinalityError::Decode)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use sp_consensus_grandpa::{ConsensusLog, GRANDPA_ENGINE_ID};
    use sp_keyring::Ed25519Keyring::{Alice, Bob, Charlie};
    use sp_runtime::traits::Header as _;
    use sp_runtime::DigestItem;

    fn header(number: BlockNumber, logs: Vec<DigestItem>) -> Header {
        Header::new(
            number,
            Default::default(),
            Default::default(),
            Default::default(),
            sp_runtime::Digest { logs },
        )
    }

    fn change(next: AuthorityList, delay: BlockNumber) -> DigestItem {
        DigestItem::Consensus(
            GRANDPA_ENGINE_ID,
            ConsensusLog::ScheduledChange(sp_consensus_grandpa::ScheduledChange {
                next_authorities: next,
                delay,
            })
            .encode(),
        )
    }

    fn set(keys: &[sp_keyring::Ed25519Keyring]) -> AuthorityList {
        keys.iter().map(|k| (AuthorityId::from(k.public()), 1)).collect()
    }

    #[test]
    fn threshold_matches_finality_grandpa() {
        assert_eq!(threshold(1), 1);
        assert_eq!(threshold(3), 3);
        assert_eq!(threshold(4), 3);
        assert_eq!(threshold(6), 5);
        assert_eq!(threshold(7), 5);
    }

    #[test]
    fn change_enacts_after_delay_and_rounds_increase() {
        let mut f = Finality::new(set(&[Alice]), dev_keyring());
        let genesis_set = f.current_set().clone();
        let next = set(&[Bob, Charlie]);
        let b1 = header(1, vec![change(next.clone(), 2)]);
        let j1 = f.on_block(&b1, None).unwrap().unwrap();
        let j1 = verify_justification(&j1, &b1, &genesis_set).unwrap();
        for n in 2..=3 {
            let h = header(n, vec![]);
            let j = f.on_block(&h, None).unwrap().unwrap();
            let j = verify_justification(&j, &h, &genesis_set).unwrap();
            assert!(j.round > j1.round);
        }
        let new_set = AuthoritySet { set_id: 1, authorities: next };
        assert_eq!(f.current_set(), &new_set);
        let h4 = header(4, vec![]);
        let j4 = f.on_block(&h4, None).unwrap().unwrap();
        assert_eq!(verify_justification(&j4, &h4, &new_set).unwrap().commit.precommits.len(), 2);
        assert!(verify_justification(&j4, &h4, &genesis_set).is_err());
        assert!(verify_justification(&j4, &header(5, vec![]), &new_set).is_err());
    }

    #[test]
    fn stops_finalizing_without_enough_keys() {
        let mut f = Finality::new(set(&[Alice, Bob, Charlie]), vec![Alice.pair()]);
        assert!(f.on_block(&header(1, vec![]), None).unwrap().is_none());
        assert!(f.halted());
        // Stays halted, even if a later set would be signable.
        assert!(f.on_block(&header(2, vec![]), None).unwrap().is_none());
    }

    #[test]
    fn forced_changes_are_refused() {
        let forced = DigestItem::Consensus(
            GRANDPA_ENGINE_ID,
            ConsensusLog::<BlockNumber>::ForcedChange(
                0,
                sp_consensus_grandpa::ScheduledChange { next_authorities: set(&[Bob]), delay: 0 },
            )
            .encode(),
        );
        let mut f = Finality::new(set(&[Alice]), dev_keyring());
        assert!(matches!(
            f.on_block(&header(1, vec![forced]), None),
            Err(FinalityError::Check(peerseal_finality::finality::FinalityError::ForcedChange(1)))
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let f = AuthoritySet { set_id: 0, authorities: set(&[Alice]) };
        for len in 0..200 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            assert!(verify_justification(&junk, &header(1, vec![]), &f).is_err());
        }
    }
}
