//! Support for the end-to-end suite (`tests/tests/`) and the node bench (`tests/benches/`):
//! what is specific to these tests on top of the `peerseal-testkit` harness — a time bound for
//! every step, and reading a provider removal and the re-backups back from the chain
//! ([`rebackup`]). Each test starts real `peerseal-node` and `peerseal-dev` processes on loopback
//! and stops them when it ends.
// Test support: a broken fixture should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod rebackup;

use std::time::Duration;

/// Runs `fut` with a time bound, so a hang is a failure rather than a stuck CI job.
pub async fn bounded<T>(secs: u64, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut).await.expect("test step timed out")
}

/// Waits (up to 120 s) until `node` is ready at `epoch` or later (a node that restarted
/// rotated to a fresh epoch on boot, after any epoch a crashed attempt used).
pub async fn wait_for_epoch(node: &peerseal_testkit::TssDaemon, epoch: u64) -> peerseal::Status {
    node.wait_until(&format!("ready at epoch {epoch} or later"), Duration::from_secs(120), |s| {
        s.state.label() == "ready" && s.epoch >= Some(epoch)
    })
    .await
    .unwrap()
}

/// Starts one TSS node per name (data in `dirs/<name>`) against the chain at `url` and waits
/// until each is ready; the nodes (as `Some`, so a test can take one out) and their statuses.
pub async fn start_ready(
    names: &[&'static str],
    url: &str,
    dirs: &std::path::Path,
    options: &peerseal_testkit::DaemonOptions,
) -> (Vec<Option<peerseal_testkit::TssDaemon>>, Vec<peerseal::Status>) {
    let nodes: Vec<Option<peerseal_testkit::TssDaemon>> = names
        .iter()
        .map(|name| {
            Some(
                peerseal_testkit::TssDaemon::start_with(name, url, &dirs.join(name), options)
                    .unwrap(),
            )
        })
        .collect();
    let mut ready = Vec::new();
    for node in nodes.iter().flatten() {
        ready.push(bounded(240, node.wait_for("ready", 230)).await.unwrap());
    }
    (nodes, ready)
}

/// The dev chain, in memory, logging at `warn`.
pub fn dev_chain() -> peerseal_testkit::DevChain {
    peerseal_testkit::DevChain::dev().unwrap_or_else(|e| panic!("chain node did not start: {e}"))
}

/// The provider accounts (hex) of a node's status.
pub fn provider_accounts(status: &peerseal::Status) -> Vec<String> {
    status.providers.iter().map(|p| p.account.clone()).collect()
}

/// Copies the directory tree `from` to `to` (the host copying a node's disk).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Waits (at most `secs`) until `node`'s process has exited, and returns how.
pub async fn exited(node: &mut peerseal_testkit::TssDaemon, secs: u64) -> std::process::ExitStatus {
    bounded(secs, async {
        loop {
            if let Some(exit) = node.process().try_wait() {
                break exit;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
}

/// A backup client recovering the way a restarted node does (fresh libp2p identity, no
/// listener, dev mock quotes), and the task of its network.
pub async fn recovery_client(
    chain: std::sync::Arc<dyn peerseal_chain::ChainApi>,
) -> (
    peerseal_backup::BackupClient,
    std::sync::Arc<dyn peerseal_attestation::QuoteProvider>,
    tokio::task::JoinHandle<()>,
) {
    let net_config = peerseal_backup::NetworkConfig {
        listen: vec![],
        serve: false,
        ..peerseal_backup::NetworkConfig::default()
    };
    let (network, _, net_task) =
        peerseal_backup::network::start(libp2p::identity::Keypair::generate_ed25519(), net_config)
            .await
            .unwrap();
    let client = peerseal_backup::BackupClient::new(
        network,
        chain,
        peerseal_backup::ClientConfig::default(),
    );
    (client, std::sync::Arc::new(peerseal_attestation::MockQuoteProvider::dev()), net_task)
}

/// A counter or gauge from a node's `/metrics`: the sum over its label sets (0 when absent).
pub async fn metric(node: &peerseal_testkit::TssDaemon, name: &str) -> u64 {
    let (_, text) = node.get("/metrics").await.unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// Waits (at most `secs`) until each of `nodes` has verified the final block `number` (the
/// block a governance call landed in): from then on their decisions rest on it.
pub async fn verified(nodes: &[&peerseal_testkit::TssDaemon], number: u64, secs: u64) {
    bounded(secs, async {
        for node in nodes {
            while metric(node, "peerseal_chain_verified_block").await < number {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    })
    .await
}

/// `account`'s recorded recovery shares (read with a proof) once they are at `epoch`; waits.
pub async fn recorded_at(
    chain: &peerseal_chain::ChainClient,
    account: &peerseal_chain::AccountId,
    epoch: u64,
) -> peerseal_chain::RecordedRecovery {
    loop {
        if let (_, Some(recorded)) = chain.recovery_seal(Some(account)).await.unwrap() {
            if recorded.epoch == epoch {
                return recorded;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `account`'s backup assignment as the test's own verified view records it once that view
/// has reached the block `node` has verified (a node says `ready` once *its* view shows its
/// record, and the test's view may be a block behind it; waiting for a given epoch instead
/// would hide a node that said `ready` before its record was final).
pub async fn recorded_assignment(
    chain: &peerseal_chain::ChainClient,
    node: &peerseal_testkit::TssDaemon,
    account: &peerseal_chain::AccountId,
) -> peerseal_chain::Assignment {
    use peerseal_chain::ChainApi as _;
    let seen = metric(node, "peerseal_chain_verified_block").await;
    chain.wait_verified(seen, Duration::from_secs(30)).await.unwrap();
    chain.assignment(account).await.unwrap().expect("the chain records the node's backup")
}
