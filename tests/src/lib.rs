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

/// The dev chain, in memory, logging at `warn`.
pub fn dev_chain() -> peerseal_testkit::DevChain {
    peerseal_testkit::DevChain::dev().unwrap_or_else(|e| panic!("chain node did not start: {e}"))
}

/// The provider accounts (hex) of a node's status.
pub fn provider_accounts(status: &peerseal::Status) -> Vec<String> {
    status.providers.iter().map(|p| p.account.clone()).collect()
}
