//! The node's side of a cold start (`AwaitingOperators`): when a recovery attempt reached no
//! provider of the recorded backup (every node of the network restarted at once, so every
//! provider is itself locked) and the chain holds the store's key sealed to recovery operators,
//! the node listens for operators on its p2p address and takes their shares
//! (`peerseal_backup::cold_start::OperatorIntake`), while `unlock` keeps retrying providers.
//!
//! The listener runs on a throwaway libp2p identity: the node's own one is inside the store it
//! is trying to open. Nothing depends on that peer id: an operator releases only against a
//! quote bound to its own fresh nonce, and seals to the response key the quote binds, so a
//! host that redirects operators elsewhere gains nothing. The operator address (multiaddr with
//! that peer id) is in `/status` and in the log line that tells operators what to run.

use crate::config::Config;
use crate::context::Context;
use crate::error::{DaemonError, UnlockError};
use crate::phase::ColdStartView;
use peerseal_backup::client::failure::FailureReason;
use peerseal_backup::cold_start::{ColdStartTarget, OperatorIntake};
use peerseal_backup::{NetworkHandle, RecoveryError};
use peerseal_chain::ChainApi;
use peerseal_protocol::{AccountId, ErrorReason};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Whether a failed recovery attempt found fewer than the threshold of providers able to
/// help: every provider that failed was unreachable, unknown or too busy to answer, except
/// those whose share came back but could not make a key alone (fewer than the threshold
/// arrived; the recovery labels those `CommitmentMismatch`). A provider that refused on policy
/// grounds — a rejected quote, a superseded epoch — would refuse operators' business too, so
/// that is not a cold start; nor are shares that did reach the threshold and still make no
/// committed key.
pub(crate) fn no_provider_answered(failure: &UnlockError) -> bool {
    let UnlockError::NotEnoughShares(RecoveryError::NotEnoughShares {
        obtained,
        threshold,
        failures,
    }) = failure
    else {
        return false;
    };
    let too_few = *obtained < usize::from(*threshold);
    too_few
        && failures.iter().all(|f| match &f.reason {
            FailureReason::Network(_) | FailureReason::UnknownProvider => true,
            // A share that arrived, alone below the threshold.
            FailureReason::CommitmentMismatch => true,
            FailureReason::Refused(reason) => matches!(
                reason,
                ErrorReason::Unavailable | ErrorReason::RateLimited { .. } | ErrorReason::Internal
            ),
            _ => false,
        })
}

/// What the operators' shares must rebuild for this store, if the verified chain holds shares
/// of exactly the store's epoch; `None` (logged) when operators cannot help.
pub(crate) async fn target(
    config: &Config,
    chain: &Arc<dyn ChainApi>,
    account: AccountId,
    store_epoch: u64,
) -> Option<ColdStartTarget> {
    let read = async {
        let assignment = chain.assignment(&account).await?;
        let recorded = chain.recorded_recovery(&account).await?;
        Ok::<_, peerseal_chain::ChainError>((assignment, recorded))
    };
    match read.await {
        Ok((assignment, recorded)) => {
            let target = ColdStartTarget::from_chain(
                account,
                store_epoch,
                assignment.as_ref(),
                recorded.as_ref(),
            );
            if target.is_none() {
                tracing::warn!(
                    node = %config.name,
                    store_epoch,
                    recorded = ?recorded.as_ref().map(|r| r.epoch),
                    "no provider answered, and the chain holds no recovery operator shares of \
                     the store's epoch: waiting for providers only"
                );
            }
            target
        }
        Err(e) => {
            tracing::warn!(node = %config.name, error = %e, "reading the recovery shares failed");
            None
        }
    }
}

/// A running operator listener: its network task and the task that answers requests.
pub(crate) struct Listener {
    /// Where operators reach it (multiaddr with the throwaway peer id).
    pub address: String,
    network: Option<NetworkHandle>,
    net_task: JoinHandle<()>,
    serve_task: JoinHandle<()>,
}

impl Listener {
    /// Binds the node's p2p listen address with a throwaway identity (retrying while a
    /// previous process's listener lingers) and serves `intake` on it, publishing progress in
    /// the status.
    pub(crate) async fn start(
        ctx: &Context,
        intake: Arc<OperatorIntake>,
        target: &ColdStartTarget,
        needed: Option<u8>,
    ) -> Result<Self, DaemonError> {
        let keypair = libp2p::identity::Keypair::generate_ed25519();
        let (network, inbound, net_task) =
            ctx.bind_p2p(&keypair, "binding the operator listener").await?;
        let peer = network.local_peer_id();
        let base = ctx.config.advertise.clone().or_else(|| network.listen_addrs().first().cloned());
        let address = match base {
            Some(addr) => format!("{addr}/p2p/{peer}"),
            None => format!("/p2p/{peer}"),
        };
        let lifecycle = ctx.lifecycle.clone();
        let view = ColdStartView {
            operator_address: address.clone(),
            epoch: target.epoch,
            shares_held: 0,
            shares_needed: needed,
            recovered_by_operators: false,
        };
        lifecycle.update(|s| s.cold_start = Some(view));
        let serve_task = tokio::spawn(async move {
            let Some(mut inbound) = inbound else { return };
            while let Some(request) = inbound.recv().await {
                let intake = intake.clone();
                let lifecycle = lifecycle.clone();
                tokio::spawn(async move {
                    let (_peer, request, reply) = request.into_parts();
                    let response = intake.handle(request).await;
                    let (held, threshold) = intake.progress();
                    lifecycle.update(|s| {
                        if let Some(view) = s.cold_start.as_mut() {
                            view.shares_held = held as u64;
                            view.shares_needed = threshold.or(view.shares_needed);
                        }
                    });
                    let _ = reply.send(response);
                });
            }
        });
        Ok(Self { address, network: Some(network), net_task, serve_task })
    }

    /// Stops serving and releases the listen address (the provider's swarm binds it next).
    pub(crate) async fn stop(mut self) {
        self.serve_task.abort();
        self.network.take();
        self.net_task.abort();
        let _ = (&mut self.net_task).await;
        let _ = (&mut self.serve_task).await;
    }
}

/// The warning that tells operators what to run (public facts only).
pub(crate) fn tell_operators(config: &Config, address: &str, target: &ColdStartTarget) {
    tracing::warn!(
        node = %config.name,
        account = %crate::recovery_file::hex(target.account.0),
        epoch = target.epoch,
        operator_address = %address,
        "AWAITING RECOVERY OPERATORS: no provider of this node's backup answers (a whole-network \
         restart?). Each recovery operator runs `peerseal operator recover --node {address} \
         --secret <operator key file> --chain-url <chain endpoint> --trust-root <trust root \
         file>` (docs/deployment.md §8.2); the node keeps retrying its providers meanwhile"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerseal_backup::network::RequestError;
    use peerseal_backup::ProviderFailure;
    use peerseal_protocol::QuoteRejection;

    fn failed_with(obtained: usize, reasons: Vec<FailureReason>) -> UnlockError {
        let failures = reasons
            .into_iter()
            .map(|reason| ProviderFailure { provider: AccountId([1; 32]), reason })
            .collect();
        UnlockError::NotEnoughShares(RecoveryError::NotEnoughShares {
            obtained,
            threshold: 2,
            failures,
        })
    }

    fn failed(reasons: Vec<FailureReason>) -> UnlockError {
        failed_with(0, reasons)
    }

    #[test]
    fn only_unreachable_or_busy_providers_make_a_cold_start() {
        let down = FailureReason::Network(RequestError::Dial("refused".into()));
        let busy = FailureReason::Refused(ErrorReason::Unavailable);
        assert!(no_provider_answered(&failed(vec![
            down.clone(),
            busy,
            FailureReason::UnknownProvider
        ])));
        // One provider answered and refused the node's quote: operators would refuse it too.
        let refused = FailureReason::Refused(ErrorReason::QuoteRejected(
            QuoteRejection::MeasurementNotAccepted,
        ));
        assert!(!no_provider_answered(&failed(vec![down.clone(), refused])));
        let superseded = FailureReason::Refused(ErrorReason::SupersededEpoch);
        assert!(!no_provider_answered(&failed(vec![down.clone(), superseded])));
        // One provider up, its share alone below the threshold: still no peer can help.
        let alone = FailureReason::CommitmentMismatch;
        assert!(no_provider_answered(&failed_with(1, vec![down.clone(), down.clone(), alone])));
        // Two shares arrived and made no committed key: wrong shares, not an outage.
        let wrong = vec![FailureReason::CommitmentMismatch, FailureReason::CommitmentMismatch];
        assert!(!no_provider_answered(&failed_with(2, wrong)));
        // Other failures are not about providers at all.
        assert!(!no_provider_answered(&UnlockError::RolledBack { store: 1, chain: 2 }));
        assert!(!no_provider_answered(&UnlockError::NoAssignment));
    }
}
