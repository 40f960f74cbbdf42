//! The verified header chain: from a trust root, headers are accepted one by one, each linked to
//! its parent by hash, and become *final* only when a GRANDPA justification of the current
//! authority set proves them (or a descendant) final. Authority set changes are taken from the
//! digests of final headers and enacted at the scheduled block, which must itself be justified
//! by the outgoing set before any later block can be.
//!
//! This is pure state (no I/O), so every rule is unit-tested; the async follower feeds it.

use sp_core::H256;
use sp_runtime::traits::Header as _;

use super::finality::{self, AuthorityList, AuthoritySet, FinalityError, Header};

/// Most headers held while waiting for a justification (a real node stores a justification at
/// least every 512 blocks and at every set change; the dev node justifies every block).
pub const MAX_UNJUSTIFIED: usize = 4096;

/// A header the client has proven final.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinalHead {
    /// Block number.
    pub number: u32,
    /// Block hash (blake2-256 of the SCALE header, computed here).
    pub hash: H256,
    /// The state root every proven storage read of this block is checked against.
    pub state_root: H256,
}

/// Why a header could not be accepted.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// The header does not extend the verified chain (wrong number or parent hash).
    #[error("header #{number} does not extend the verified chain at #{tip} {tip_hash}")]
    NotAChild {
        /// The offered header's number.
        number: u32,
        /// The tip it should extend.
        tip: u32,
        /// The tip's hash, hex.
        tip_hash: String,
    },
    /// The header is where an authority set change is enacted, and came without a
    /// justification: later blocks cannot be judged without it.
    #[error("block #{0} enacts an authority set change but came without a justification")]
    UnjustifiedSetChange(u32),
    /// The endpoint claims block `0` final but gives no justification for it or a descendant.
    #[error("the endpoint claims block #{0} final but offers no justification for it")]
    JustificationMissing(u32),
    /// Too many headers without any justification.
    #[error("more than {MAX_UNJUSTIFIED} headers without a justification")]
    TooManyUnjustified,
    /// The justification or the digest is invalid.
    #[error(transparent)]
    Finality(#[from] FinalityError),
}

impl HeaderError {
    /// Stable label for metrics and status.
    pub fn label(&self) -> &'static str {
        match self {
            HeaderError::NotAChild { .. } => "header_not_a_child",
            HeaderError::UnjustifiedSetChange(_) => "unjustified_set_change",
            HeaderError::TooManyUnjustified => "too_many_unjustified",
            HeaderError::JustificationMissing(_) => "justification_missing",
            HeaderError::Finality(e) => e.label(),
        }
    }
}

/// A change scheduled by a final header, enacted when block `enact_at` is final.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PendingChange {
    enact_at: u32,
    next: AuthorityList,
}

/// The verified chain: the last final header, the current authority set and the headers
/// received after it that await a justification.
#[derive(Clone, Debug)]
pub struct HeaderChain {
    final_head: FinalHead,
    set: AuthoritySet,
    pending: Option<PendingChange>,
    unjustified: Vec<(Header, H256)>,
}

impl HeaderChain {
    /// Starts from a trusted final header (a checkpoint or the genesis header) and the set
    /// that finalizes the blocks after it. `pending` is a change already scheduled at or before
    /// the checkpoint (`(enact_at, next authorities)`), if any.
    pub fn new(
        final_head: FinalHead,
        set: AuthoritySet,
        pending: Option<(u32, AuthorityList)>,
    ) -> Result<Self, FinalityError> {
        set.validate()?;
        Ok(HeaderChain {
            final_head,
            set,
            pending: pending.map(|(enact_at, next)| PendingChange { enact_at, next }),
            unjustified: Vec::new(),
        })
    }

    /// The last header proven final.
    pub fn final_head(&self) -> FinalHead {
        self.final_head
    }

    /// The authority set that finalizes the blocks after [`HeaderChain::final_head`].
    pub fn authority_set(&self) -> &AuthoritySet {
        &self.set
    }

    /// Number of the next header expected.
    pub fn next_number(&self) -> u32 {
        self.tip().0.saturating_add(1)
    }

    fn tip(&self) -> (u32, H256) {
        match self.unjustified.last() {
            Some((header, hash)) => (*header.number(), *hash),
            None => (self.final_head.number, self.final_head.hash),
        }
    }

    /// The change pending at the tip: the one from final headers, or one signalled by a header
    /// still awaiting its justification.
    fn pending_at_tip(&self) -> Result<Option<u32>, FinalityError> {
        let mut enact = self.pending.as_ref().map(|p| p.enact_at);
        for (header, _) in &self.unjustified {
            if let Some((_, delay)) = finality::scheduled_change(header)? {
                enact = Some(header.number().saturating_add(delay));
            }
        }
        Ok(enact)
    }

    /// Dev-only, for executors that produce no GRANDPA justifications (chopsticks): takes the
    /// next header as final on the endpoint's word alone. It must still extend the chain by
    /// number and parent hash, and its digest must decode, but no authority set signs it, so
    /// the endpoint decides what is final. Authority set signals are ignored (nothing here is
    /// ever checked against a set). Compiled only with the `insecure-endpoint-finality`
    /// feature, which no production build enables.
    #[cfg(feature = "insecure-endpoint-finality")]
    pub fn import_unverified(&mut self, header: Header) -> Result<Vec<FinalHead>, HeaderError> {
        let (_, hash) = self.child(&header)?;
        finality::scheduled_change(&header)?;
        let mut newly_final = std::mem::take(&mut self.unjustified);
        newly_final.push((header, hash));
        let heads = final_heads(&newly_final);
        if let Some(last) = heads.last() {
            self.final_head = *last;
        }
        Ok(heads)
    }

    /// The number and hash of `header` if it extends the chain's tip.
    fn child(&self, header: &Header) -> Result<(u32, H256), HeaderError> {
        let (tip, tip_hash) = self.tip();
        let number = *header.number();
        if number != tip.saturating_add(1) || *header.parent_hash() != tip_hash {
            return Err(HeaderError::NotAChild { number, tip, tip_hash: hex::encode(tip_hash) });
        }
        Ok((number, finality::header_hash(header)))
    }

    /// Offers the next header, with its GRANDPA justification if the endpoint had one.
    /// Returns the headers that became final, oldest first (empty while it awaits a
    /// justification). On error nothing changes: the same number can be offered again.
    pub fn import(
        &mut self,
        header: Header,
        justification: Option<&[u8]>,
    ) -> Result<Vec<FinalHead>, HeaderError> {
        let (number, hash) = self.child(&header)?;
        // Validates the digest now, so a malformed one is refused before it is stored.
        let signal = finality::scheduled_change(&header)?;
        let enact_here = self.pending_at_tip()? == Some(number)
            || signal.as_ref().is_some_and(|(_, delay)| *delay == 0);
        let Some(justification) = justification else {
            if enact_here {
                return Err(HeaderError::UnjustifiedSetChange(number));
            }
            if self.unjustified.len() >= MAX_UNJUSTIFIED {
                return Err(HeaderError::TooManyUnjustified);
            }
            self.unjustified.push((header, hash));
            return Ok(Vec::new());
        };
        finality::verify_justification(&self.set, hash, number, justification)?;

        // Final: apply the signals of every header up to this one, in order, then enact.
        let mut newly_final = std::mem::take(&mut self.unjustified);
        newly_final.push((header, hash));
        for (header, _) in &newly_final {
            if let Some((next, delay)) = finality::scheduled_change(header)? {
                self.pending =
                    Some(PendingChange { enact_at: header.number().saturating_add(delay), next });
            }
        }
        let heads = final_heads(&newly_final);
        self.final_head = FinalHead {
            number,
            hash,
            state_root: heads.last().map(|h| h.state_root).unwrap_or_default(),
        };
        if let Some(pending) = self.pending.take() {
            if pending.enact_at == number {
                self.set = AuthoritySet {
                    set_id: self.set.set_id.saturating_add(1),
                    authorities: pending.next,
                };
            } else {
                self.pending = Some(pending);
            }
        }
        Ok(heads)
    }
}

/// The final heads of headers that just became final, oldest first.
fn final_heads(newly_final: &[(Header, H256)]) -> Vec<FinalHead> {
    newly_final
        .iter()
        .map(|(h, hash)| FinalHead {
            number: *h.number(),
            hash: *hash,
            state_root: *h.state_root(),
        })
        .collect()
}
