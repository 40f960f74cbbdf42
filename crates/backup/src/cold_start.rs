//! Cold start: getting a node's database key back from its recovery operators when no
//! provider can help (every node of the network restarted at once), CCF's recovery members.
//!
//! Both ends of the operator handshake ([`peerseal_protocol::operator`]) live here:
//! - [`OperatorIntake`], the node side: it answers an operator's nonce with a quote binding its
//!   account and a response key made for this cold start, takes released shares, keeps only
//!   those it signed itself for its store's epoch and the chain's key commitment, and once a
//!   threshold of distinct operators' shares rebuild a key matching that commitment hands the
//!   key over (once).
//! - [`check_node`] and [`release_share`], the operator side: what an operator checks before it
//!   releases anything — the chain's attestation policy applied to the quote (accepted
//!   measurement, PCK, platform of the registered quote or an approved move, the binding of
//!   account, response key and the operator's own nonce), a registered account, and a recorded
//!   share of exactly the epoch the node asks for, committed to by the chain — and the release
//!   itself, sealed to the quote's response key.
//!
//! Chain reads go through `ChainApi`, i.e. the verifying client: nothing the endpoint says
//! without proof decides where a share goes.

use crate::client::recovery::combine_committed;
use crate::client::shares::{KeyShare, KEY_LEN};
use crate::provider::policy::{
    check_move, quote_nonce, registered_platform, verify_recover_quote, MoveRefusal,
};
use codec::DecodeLimit;
use peerseal_attestation::{report_data, Binding, PckMode, QuoteProvider};
use peerseal_chain::{Assignment, ChainApi, ChainError, RecordedRecovery};
use peerseal_kvdb::DbKey;
use peerseal_protocol::operator::{
    OperatorChallenge, OperatorRelease, OperatorShare, RecoveryQuote, ReleasedShare, ShareIntake,
};
use peerseal_protocol::{
    AccountId, ErrorReason, Nonce32, QuoteBytes, QuoteRejection, Request, Response, Sealed,
    X25519Public, X25519Secret,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};

/// Most nesting a sealed share read from the chain may decode with.
const MAX_SEALED_DEPTH: u32 = 8;
/// How long an operator's challenge waits for the node's quote generator (one quote at a time,
/// so a flood of challenges costs one quote's work at once, never a queue of them).
const QUOTE_WAIT: Duration = Duration::from_secs(5);

/// What a cold-starting node knows about the key it needs, all from its store header and the
/// verified chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColdStartTarget {
    /// The node's TSS account.
    pub account: AccountId,
    /// Its store's key epoch, which is the epoch of its recorded recovery shares.
    pub epoch: u64,
    /// The key commitment the chain records for that epoch.
    pub commitment: [u8; 32],
    /// Revision of the operator set the recorded shares are sealed to.
    pub operator_set: u32,
}

impl ColdStartTarget {
    /// The target when the chain's recorded recovery shares and assignment are both at the
    /// store's epoch; `None` when operators cannot help (no shares recorded, or for another
    /// epoch: a rotation that crashed before its record, or a rolled-back disk).
    pub fn from_chain(
        account: AccountId,
        store_epoch: u64,
        assignment: Option<&Assignment>,
        recorded: Option<&RecordedRecovery>,
    ) -> Option<Self> {
        let assignment = assignment.filter(|a| a.epoch == store_epoch)?;
        let recorded = recorded.filter(|r| r.epoch == store_epoch)?;
        Some(Self {
            account,
            epoch: store_epoch,
            commitment: assignment.commitment,
            operator_set: recorded.sealed.operator_set,
        })
    }
}

/// The key an [`OperatorIntake`] rebuilt, and from how many operators.
pub struct OperatorRecovered {
    /// The key (matches the chain's commitment). Zeroized on drop.
    pub key: DbKey,
    /// Its epoch.
    pub epoch: u64,
    /// Distinct operators whose shares were held.
    pub operators: usize,
}

impl core::fmt::Debug for OperatorRecovered {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OperatorRecovered")
            .field("key", &self.key)
            .field("epoch", &self.epoch)
            .field("operators", &self.operators)
            .finish()
    }
}

#[derive(Default)]
struct Held {
    /// Verified shares by Shamir index (one per operator).
    shares: BTreeMap<u8, KeyShare>,
    /// The threshold the node signed into its shares (all must agree).
    threshold: Option<u8>,
    /// Where the rebuilt key goes; taken when it is sent.
    done: Option<oneshot::Sender<OperatorRecovered>>,
}

/// The node side of a cold start (module doc). Cheap to share: handlers run concurrently.
pub struct OperatorIntake {
    target: ColdStartTarget,
    response_sk: X25519Secret,
    quotes: Arc<dyn QuoteProvider>,
    quote_gate: Semaphore,
    held: Mutex<Held>,
}

impl OperatorIntake {
    /// An intake for `target` that quotes with `quotes`, and the receiver of the rebuilt key.
    /// The response key is made here and lives only as long as the intake.
    pub fn new(
        target: ColdStartTarget,
        quotes: Arc<dyn QuoteProvider>,
    ) -> (Self, oneshot::Receiver<OperatorRecovered>) {
        let (done, key) = oneshot::channel();
        let intake = Self {
            target,
            response_sk: X25519Secret::generate(),
            quotes,
            quote_gate: Semaphore::new(1),
            held: Mutex::new(Held { done: Some(done), ..Held::default() }),
        };
        (intake, key)
    }

    /// The response key operators seal to.
    pub fn response_pk(&self) -> X25519Public {
        self.response_sk.public()
    }

    /// Distinct operators' shares held, and the threshold once a share told it.
    pub fn progress(&self) -> (usize, Option<u8>) {
        let held = self.lock();
        (held.shares.len(), held.threshold)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // Plain values: a panic while holding the lock cannot leave them half-updated in a
        // way that matters (a share map and a sender), so a poisoned lock is used as is.
        match self.held.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Answers one request from the network. Never panics on peer input.
    pub async fn handle(&self, request: Request) -> Response {
        let outcome = match request {
            Request::OperatorChallenge(challenge) => self.challenge(challenge).await,
            Request::OperatorRelease(release) => self.release(&release),
            // A node that is cold-starting holds no shares and takes none.
            _ => Err(ErrorReason::Unavailable),
        };
        outcome.unwrap_or_else(Response::Error)
    }

    async fn challenge(&self, challenge: OperatorChallenge) -> Result<Response, ErrorReason> {
        let _turn = tokio::time::timeout(QUOTE_WAIT, self.quote_gate.acquire())
            .await
            .map_err(|_| ErrorReason::Unavailable)?
            .map_err(|_| ErrorReason::Internal)?;
        let response_pk = self.response_pk();
        let binding = Binding::recover(&self.target.account.0, &response_pk.0, &challenge.nonce.0);
        let wanted = report_data(&binding);
        let quotes = self.quotes.clone();
        // Hardware quotes block for up to seconds: off the async workers.
        let quote = tokio::task::spawn_blocking(move || quotes.quote(&wanted))
            .await
            .map_err(|_| ErrorReason::Internal)?
            .map_err(|e| {
                tracing::warn!(error = %e, "cold start: could not make a quote for an operator");
                ErrorReason::Internal
            })?;
        let quote = QuoteBytes::new(quote).map_err(|_| ErrorReason::Internal)?;
        Ok(Response::RecoveryQuote(RecoveryQuote {
            account: self.target.account,
            epoch: self.target.epoch,
            response_pk,
            quote,
        }))
    }

    fn release(&self, release: &OperatorRelease) -> Result<Response, ErrorReason> {
        let released = release.open(&self.response_sk).map_err(|e| e.reason())?;
        let share = released.verify(&self.target.account).map_err(|e| e.reason())?;
        let target = &self.target;
        if share.epoch != target.epoch
            || share.commitment != target.commitment
            || share.operator_set != target.operator_set
        {
            tracing::warn!(
                share_epoch = share.epoch,
                store_epoch = target.epoch,
                "cold start: refused an operator share for another epoch, commitment or set"
            );
            return Err(ErrorReason::ShareMismatch);
        }
        if share.index == 0 || share.threshold == 0 || share.share.len() != KEY_LEN {
            return Err(ErrorReason::InvalidRequest);
        }
        let mut held = self.lock();
        match held.threshold {
            Some(t) if t != share.threshold => return Err(ErrorReason::ShareMismatch),
            _ => held.threshold = Some(share.threshold),
        }
        let index = share.index;
        held.shares.insert(index, KeyShare { index, bytes: share.share.into_zeroizing() });
        let threshold = share.threshold;
        let count = held.shares.len();
        tracing::info!(held = count, needed = threshold, "cold start: operator share accepted");
        if count >= usize::from(threshold) && held.done.is_some() {
            let shares: Vec<KeyShare> = held.shares.values().cloned().collect();
            let Some(key) = combine_committed(
                &target.account,
                target.epoch,
                threshold,
                &target.commitment,
                &shares,
            ) else {
                // Every share is one this node signed for this commitment: a key that does not
                // come out means the node's own dealing was broken. Nothing to do but report.
                tracing::error!("cold start: operator shares do not rebuild the committed key");
                return Err(ErrorReason::Internal);
            };
            if let Some(done) = held.done.take() {
                let recovered = OperatorRecovered {
                    key: DbKey::from_bytes(*key),
                    epoch: target.epoch,
                    operators: count,
                };
                let _ = done.send(recovered);
            }
        }
        Ok(Response::ShareIntake(ShareIntake {
            held: u8::try_from(count).unwrap_or(u8::MAX),
            needed: threshold,
        }))
    }
}

/// Why an operator releases nothing. Each names what failed; none carries key material.
#[derive(Debug, thiserror::Error)]
pub enum OperatorRefusal {
    /// The chain is in the dev PCK mode (mock quotes accepted) and this is not a dev build.
    #[error("the chain accepts mock quotes (dev PCK mode); a production operator refuses it")]
    DevPckMode,
    /// The node's account is not a registered TSS server.
    #[error("account 0x{0} is not a registered TSS server")]
    NotRegistered(String),
    /// The quote is not bound to the nonce this operator just sent: replayed, or made for
    /// someone else's challenge.
    #[error(
        "the quote is not bound to this operator's fresh nonce (replayed or for another challenge)"
    )]
    StaleNonce,
    /// The chain's attestation policy refuses the quote.
    #[error("the quote is refused: {0:?}")]
    Quote(QuoteRejection),
    /// The quote comes from another platform than the registered one, without an approved move.
    #[error("the quote comes from another platform and governance approved no move to it")]
    PlatformNotApproved,
    /// The chain records no recovery shares for the node.
    #[error("the chain records no recovery shares for this node")]
    NoSharesRecorded,
    /// The node asks for another epoch than the chain records shares (and a commitment) for.
    #[error("the node asks for key epoch {node}, the chain records shares of epoch {chain}")]
    EpochMismatch {
        /// What the node asked for.
        node: u64,
        /// What the chain records.
        chain: u64,
    },
    /// None of the node's recorded shares opens with this operator's key.
    #[error("none of the node's recorded shares is sealed to this operator's key")]
    NoShareForThisOperator,
    /// The share opened but does not stand for the chain's record.
    #[error("this operator's share does not match the chain's record: {0}")]
    ShareInconsistent(&'static str),
    /// The chain could not be read (with proofs).
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// The release could not be sealed to the node's response key.
    #[error("sealing the release failed")]
    Seal,
}

/// Operator side, before anything is opened: is `answer` a fresh quote (bound to `nonce`) from
/// an accepted image on the registered platform of a registered account? `accept_dev_pck`:
/// whether this build honours the dev PCK mode (dev builds only).
pub async fn check_node(
    chain: &dyn ChainApi,
    nonce: &Nonce32,
    answer: &RecoveryQuote,
    accept_dev_pck: bool,
) -> Result<(), OperatorRefusal> {
    let policy = chain.attestation_policy().await?;
    if policy.pck_mode == PckMode::Dev && !accept_dev_pck {
        return Err(OperatorRefusal::DevPckMode);
    }
    let account = &answer.account;
    let server = chain
        .server_by_tss(account)
        .await?
        .ok_or_else(|| OperatorRefusal::NotRegistered(hex::encode(account.0)))?;
    let quote = answer.quote.as_slice();
    if quote_nonce(quote).as_ref() != Some(nonce) {
        return Err(OperatorRefusal::StaleNonce);
    }
    let registered = registered_platform(&server.quote, policy.pck_mode);
    let platform =
        verify_recover_quote(quote, account, &answer.response_pk, nonce, &policy, registered)
            .map_err(OperatorRefusal::Quote)?;
    check_move(chain, account, platform).await.map_err(|e| match e {
        MoveRefusal::NotApproved => OperatorRefusal::PlatformNotApproved,
        MoveRefusal::Chain(e) => OperatorRefusal::Chain(e),
    })
}

/// Opens this operator's share of `account`'s `recorded` shares (whichever one opens with
/// `secret`, so a share sealed to an earlier operator set still opens) and checks it stands for
/// the chain's record: the account, the recorded epoch and set, and the commitment of
/// `assignment`. The share and its release form (not yet sealed).
pub fn open_own_share(
    secret: &X25519Secret,
    account: &AccountId,
    recorded: &RecordedRecovery,
    assignment: Option<&Assignment>,
) -> Result<(OperatorShare, ReleasedShare), OperatorRefusal> {
    let (share, released) = recorded
        .sealed
        .shares
        .iter()
        .filter_map(|bytes| {
            Sealed::decode_all_with_depth_limit(MAX_SEALED_DEPTH, &mut &bytes[..]).ok()
        })
        .find_map(|envelope| OperatorShare::open_signed(secret, &envelope).ok())
        .ok_or(OperatorRefusal::NoShareForThisOperator)?;
    let commitment = assignment.filter(|a| a.epoch == recorded.epoch).map(|a| a.commitment);
    if share.account != *account {
        Err(OperatorRefusal::ShareInconsistent("it names another account"))
    } else if share.epoch != recorded.epoch || share.operator_set != recorded.sealed.operator_set {
        Err(OperatorRefusal::ShareInconsistent("it names another epoch or operator set"))
    } else if commitment != Some(share.commitment) {
        Err(OperatorRefusal::ShareInconsistent("its key commitment is not the chain's"))
    } else {
        Ok((share, released))
    }
}

/// What an operator released, for its report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released {
    /// The node's account.
    pub account: AccountId,
    /// The epoch of the released share.
    pub epoch: u64,
    /// The operator set it was sealed to.
    pub operator_set: u32,
    /// Its Shamir index.
    pub index: u8,
    /// The threshold.
    pub threshold: u8,
}

/// Operator side, after [`check_node`] passed: opens this operator's share of the epoch the
/// chain records for the node (which must be the epoch the node asks for) and seals it to the
/// node's response key.
pub async fn release_share(
    chain: &dyn ChainApi,
    secret: &X25519Secret,
    answer: &RecoveryQuote,
) -> Result<(OperatorRelease, Released), OperatorRefusal> {
    let account = &answer.account;
    let recorded =
        chain.recorded_recovery(account).await?.ok_or(OperatorRefusal::NoSharesRecorded)?;
    if recorded.epoch != answer.epoch {
        return Err(OperatorRefusal::EpochMismatch { node: answer.epoch, chain: recorded.epoch });
    }
    let assignment = chain.assignment(account).await?;
    let (share, released) = open_own_share(secret, account, &recorded, assignment.as_ref())?;
    let release = released.seal(&answer.response_pk).map_err(|_| OperatorRefusal::Seal)?;
    let report = Released {
        account: *account,
        epoch: share.epoch,
        operator_set: share.operator_set,
        index: share.index,
        threshold: share.threshold,
    };
    Ok((release, report))
}
