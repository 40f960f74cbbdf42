//! GRANDPA finality checks: a justification proves that a header is final for an authority set,
//! and a header's digest may schedule the next set.
//!
//! The rules are GRANDPA's, as Substrate's own client applies them: the commit must be valid for
//! the voter set (`finality_grandpa::validate_commit`: only known voters count, duplicates and
//! equivocations are not double-counted, and the precommit GHOST with more than two thirds of
//! the weight must be exactly the commit target); every precommit signature must verify over the
//! localized payload `(Precommit, round, set_id)` with the signer's ed25519 key; every precommit
//! must target the commit target or a descendant of it through the justification's
//! `votes_ancestries`; and every ancestry header must be used (a padded justification is refused
//! too, so its size stays bounded by what the votes need).

use std::collections::{BTreeMap, HashMap, HashSet};

use codec::{DecodeLimit, Encode};
use finality_grandpa::voter_set::VoterSet;
use sp_consensus_grandpa::{
    AuthorityId, ConsensusLog, GrandpaJustification, ScheduledChange, GRANDPA_ENGINE_ID,
};
use sp_core::H256;
use sp_runtime::generic::DigestItem;
use sp_runtime::traits::Header as _;

/// The header type of the peerseal chain (u32 block numbers, blake2-256 hashing).
pub type Header = sp_runtime::generic::Header<u32, sp_runtime::traits::BlakeTwo256>;

/// Largest encoded justification accepted (about 1,500 precommits; the runtime allows at most
/// `MaxAuthorities` = 32 voters, whose precommits take about 4.3 KiB).
pub const MAX_JUSTIFICATION_LEN: usize = 256 * 1024;
/// Most headers in a justification's `votes_ancestries`.
pub const MAX_VOTE_ANCESTRIES: usize = 1024;
/// Most authorities in a set (the runtime's `MaxAuthorities` is lower).
pub const MAX_AUTHORITIES: usize = 1024;
/// SCALE nesting depth bound for decoding justifications and digests.
const DECODE_DEPTH: u32 = 32;

/// Authorities with their weights: ed25519 public keys.
pub type AuthorityList = Vec<([u8; 32], u64)>;

/// A GRANDPA authority set: who votes, with what weight, under which set id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthoritySet {
    /// The set id (0 for the genesis set, +1 per enacted change).
    pub set_id: u64,
    /// Ed25519 public keys with their voting weights.
    pub authorities: AuthorityList,
}

impl AuthoritySet {
    /// Checks the set is usable: non-empty, bounded, no zero weight, no key twice.
    pub fn validate(&self) -> Result<(), FinalityError> {
        if self.authorities.is_empty() || self.authorities.len() > MAX_AUTHORITIES {
            return Err(FinalityError::BadAuthoritySet(format!(
                "{} authorities (1..={MAX_AUTHORITIES} allowed)",
                self.authorities.len()
            )));
        }
        let mut seen = HashSet::new();
        for (key, weight) in &self.authorities {
            if *weight == 0 {
                return Err(FinalityError::BadAuthoritySet("an authority has weight 0".into()));
            }
            if !seen.insert(*key) {
                return Err(FinalityError::BadAuthoritySet("an authority appears twice".into()));
            }
        }
        Ok(())
    }

    fn voters(&self) -> Result<VoterSet<AuthorityId>, FinalityError> {
        VoterSet::new(self.authorities.iter().map(|(key, weight)| {
            (AuthorityId::from(sp_core::ed25519::Public::from_raw(*key)), *weight)
        }))
        .ok_or_else(|| FinalityError::BadAuthoritySet("not a valid voter set".into()))
    }
}

/// Why a justification or a header digest was refused. Each variant is one reason, with a
/// stable [`FinalityError::label`] for metrics.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FinalityError {
    /// The justification bytes do not decode (or exceed their bound).
    #[error("justification does not decode: {0}")]
    Undecodable(String),
    /// The justification finalizes another block than the header it came with.
    #[error(
        "justification targets block #{found_number} {found}, not #{expected_number} {expected}"
    )]
    WrongTarget {
        /// The header's hash, hex.
        expected: String,
        /// The header's number.
        expected_number: u32,
        /// The justification's target hash, hex.
        found: String,
        /// The justification's target number.
        found_number: u32,
    },
    /// A precommit is signed by a key that is not in the authority set.
    #[error("precommit signed by {0}, which is not an authority of set {1}")]
    UnknownAuthority(String, u64),
    /// A precommit signature does not verify (wrong key, round, set id or message).
    #[error("precommit signature of {0} does not verify for round {1}, set {2}")]
    BadSignature(String, u64, u64),
    /// The commit does not carry more than two thirds of the set's weight for its target.
    #[error("commit is not supported by a supermajority of set {0}")]
    NoSupermajority(u64),
    /// A precommit targets a block that does not descend from the commit target.
    #[error("a precommit targets a block that is not a descendant of the commit target")]
    UnrelatedPrecommit,
    /// The justification carries ancestry headers that no vote needs.
    #[error("justification carries {0} unused ancestry headers")]
    RedundantAncestry(usize),
    /// The authority set itself is unusable.
    #[error("bad authority set: {0}")]
    BadAuthoritySet(String),
    /// A header schedules a forced authority change (used only to recover a stalled chain);
    /// a light client cannot follow it safely without a new checkpoint.
    #[error("block #{0} forces an authority set change: a new trust checkpoint is needed")]
    ForcedChange(u32),
    /// A header's GRANDPA digest does not decode, or names an unusable set.
    #[error("block #{0} has a malformed GRANDPA digest: {1}")]
    BadDigest(u32, String),
}

impl FinalityError {
    /// Stable label for metrics and status.
    pub fn label(&self) -> &'static str {
        match self {
            FinalityError::Undecodable(_) => "justification_undecodable",
            FinalityError::WrongTarget { .. } => "justification_wrong_target",
            FinalityError::UnknownAuthority(..) => "justification_unknown_authority",
            FinalityError::BadSignature(..) => "justification_bad_signature",
            FinalityError::NoSupermajority(_) => "justification_no_supermajority",
            FinalityError::UnrelatedPrecommit => "justification_unrelated_precommit",
            FinalityError::RedundantAncestry(_) => "justification_redundant_ancestry",
            FinalityError::BadAuthoritySet(_) => "bad_authority_set",
            FinalityError::ForcedChange(_) => "forced_authority_change",
            FinalityError::BadDigest(..) => "bad_grandpa_digest",
        }
    }
}

/// The votes' ancestry: headers by hash, for walking from a precommit target back to the
/// commit target.
struct Ancestry {
    headers: HashMap<H256, Header>,
}

impl finality_grandpa::Chain<H256, u32> for Ancestry {
    fn ancestry(&self, base: H256, block: H256) -> Result<Vec<H256>, finality_grandpa::Error> {
        let mut route = Vec::new();
        let mut current = block;
        // Each step consumes one distinct header, so the walk ends within `headers.len()` steps.
        for _ in 0..=self.headers.len() {
            if current == base {
                // The route excludes `block` itself and `base`, as the trait asks.
                if !route.is_empty() {
                    route.remove(0);
                }
                return Ok(route);
            }
            let header =
                self.headers.get(&current).ok_or(finality_grandpa::Error::NotDescendent)?;
            route.push(current);
            current = *header.parent_hash();
        }
        Err(finality_grandpa::Error::NotDescendent)
    }
}

/// Decodes `encoded` (bounded) and checks that it proves `(target_hash, target_number)` final
/// for `set` (module doc).
pub fn verify_justification(
    set: &AuthoritySet,
    target_hash: H256,
    target_number: u32,
    encoded: &[u8],
) -> Result<(), FinalityError> {
    if encoded.len() > MAX_JUSTIFICATION_LEN {
        return Err(FinalityError::Undecodable(format!(
            "{} bytes exceed the bound {MAX_JUSTIFICATION_LEN}",
            encoded.len()
        )));
    }
    let justification = GrandpaJustification::<Header>::decode_all_with_depth_limit(
        DECODE_DEPTH,
        &mut &encoded[..],
    )
    .map_err(|e| FinalityError::Undecodable(e.to_string()))?;
    let commit = &justification.commit;
    if commit.target_hash != target_hash || commit.target_number != target_number {
        return Err(FinalityError::WrongTarget {
            expected: hex::encode(target_hash),
            expected_number: target_number,
            found: hex::encode(commit.target_hash),
            found_number: commit.target_number,
        });
    }
    if justification.votes_ancestries.len() > MAX_VOTE_ANCESTRIES {
        return Err(FinalityError::Undecodable(format!(
            "{} ancestry headers exceed the bound {MAX_VOTE_ANCESTRIES}",
            justification.votes_ancestries.len()
        )));
    }
    let voters = set.voters()?;
    let known: BTreeMap<[u8; 32], u64> = set.authorities.iter().copied().collect();

    // Signatures first: an unknown signer or a bad signature is an attack, not a weak commit.
    let mut buffer = Vec::new();
    for signed in &commit.precommits {
        let key: [u8; 32] = signed.id.clone().into_inner().0;
        if !known.contains_key(&key) {
            return Err(FinalityError::UnknownAuthority(hex::encode(key), set.set_id));
        }
        let message = finality_grandpa::Message::Precommit(signed.precommit.clone());
        // `OutdatedSet` (signed for the previous set id) is a failure too: a vote counts only
        // for the set it was cast in.
        if !sp_consensus_grandpa::check_message_signature_with_buffer(
            &message,
            &signed.id,
            &signed.signature,
            justification.round,
            set.set_id,
            &mut buffer,
        )
        .is_valid()
        {
            return Err(FinalityError::BadSignature(
                hex::encode(key),
                justification.round,
                set.set_id,
            ));
        }
    }

    let ancestry = Ancestry {
        headers: justification.votes_ancestries.iter().map(|h| (h.hash(), h.clone())).collect(),
    };
    match finality_grandpa::validate_commit(commit, &voters, &ancestry) {
        Ok(result) if result.is_valid() => {}
        _ => return Err(FinalityError::NoSupermajority(set.set_id)),
    }

    // Every precommit on the target's chain, and every ancestry header on some precommit's route.
    let mut used = HashSet::new();
    for signed in &commit.precommits {
        let vote = signed.precommit.target_hash;
        if vote == commit.target_hash {
            continue;
        }
        let route = finality_grandpa::Chain::ancestry(&ancestry, commit.target_hash, vote)
            .map_err(|_| FinalityError::UnrelatedPrecommit)?;
        used.insert(vote);
        used.extend(route);
    }
    let unused = ancestry.headers.keys().filter(|h| !used.contains(*h)).count();
    if unused > 0 {
        return Err(FinalityError::RedundantAncestry(unused));
    }
    Ok(())
}

/// The block a justification claims to finalize (its commit target), without verifying it.
pub fn justification_target(encoded: &[u8]) -> Option<H256> {
    if encoded.len() > MAX_JUSTIFICATION_LEN {
        return None;
    }
    GrandpaJustification::<Header>::decode_with_depth_limit(DECODE_DEPTH, &mut &encoded[..])
        .ok()
        .map(|j| j.commit.target_hash)
}

/// The authority set change a header schedules, if any: `(next authorities, delay)`. The
/// earliest `ScheduledChange` of a header counts (sp-consensus-grandpa's rule; later ones are
/// ignored). A forced change, an undecodable GRANDPA log or an unusable next set is an error.
pub fn scheduled_change(header: &Header) -> Result<Option<(AuthorityList, u32)>, FinalityError> {
    let number = *header.number();
    let mut found: Option<ScheduledChange<u32>> = None;
    for item in header.digest().logs() {
        let DigestItem::Consensus(engine, data) = item else { continue };
        if *engine != GRANDPA_ENGINE_ID {
            continue;
        }
        let log = ConsensusLog::<u32>::decode_all_with_depth_limit(DECODE_DEPTH, &mut &data[..])
            .map_err(|e| FinalityError::BadDigest(number, e.to_string()))?;
        match log {
            ConsensusLog::ScheduledChange(change) => {
                if found.is_none() {
                    found = Some(change);
                }
            }
            ConsensusLog::ForcedChange(..) => return Err(FinalityError::ForcedChange(number)),
            // Disabling, pausing and resuming do not change who must sign; a light client
            // keeps requiring a supermajority of the whole set.
            ConsensusLog::OnDisabled(_) | ConsensusLog::Pause(_) | ConsensusLog::Resume(_) => {}
        }
    }
    let Some(change) = found else { return Ok(None) };
    let next: AuthorityList = change
        .next_authorities
        .iter()
        .map(|(id, weight)| (id.clone().into_inner().0, *weight))
        .collect();
    AuthoritySet { set_id: 0, authorities: next.clone() }
        .validate()
        .map_err(|e| FinalityError::BadDigest(number, e.to_string()))?;
    Ok(Some((next, change.delay)))
}

/// Encodes a header (for tests and for hashing checks by callers).
pub fn header_hash(header: &Header) -> H256 {
    sp_crypto_hashing::blake2_256(&header.encode()).into()
}
