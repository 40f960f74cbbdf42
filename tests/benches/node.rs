//! The `peerseal` node's two issue-6 numbers, with real processes on loopback:
//!
//! 1. **Process start → store unlocked**, over repeated restarts (SIGKILL, then `peerseal run`
//!    on the same data dir): the node's own `recovery_ms` (from `main` to the store opened
//!    with the recovered key) and the wall time from spawning the process to its `/status`
//!    saying `ready`, seen from outside (polled every 10 ms).
//! 2. **Provider removal → last affected client re-backed up**: on a fresh 4-node network per
//!    round, governance removes Alice's first provider; counted in finalized blocks (removal
//!    block to each affected client's new `BackupRecorded`) and in seconds (from the removal
//!    call returning, i.e. the removal block finalized, to the last affected node reporting
//!    `ready` at its new epoch).
//!
//! `cargo bench -p peerseal-e2e --bench node` (numbers in BENCHMARKS.md): uses the release
//! `peerseal-dev` and `peerseal-node` next to it (built first by the harness when missing, or
//! `PEERSEAL_DEV_BIN` / `PEERSEAL_NODE_BIN`). Without `--bench` (as `cargo test --benches` runs it) a short smoke
//! version runs. The dev p2p ports 30401..30404 are fixed, so the run holds the same file lock
//! as the tests that bind them. Every process is killed when the run ends or fails.
// A benchmark that cannot set up its fixture has nothing to measure: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use peerseal::Status;
use peerseal_e2e::rebackup::removal_and_rebackup_lags;
use peerseal_e2e::{bounded, dev_chain, provider_accounts};
use peerseal_testkit::TssDaemon;
use std::path::Path;
use std::time::{Duration, Instant};

const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run a short smoke
    // version then, so the bench code stays compiled and exercised.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (restarts, rounds) = if quick { (3, 1) } else { (20, 5) };
    let _ports = peerseal_testkit::ports::lock_file().unwrap();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let load_before = loadavg();
    let restart = runtime.block_on(bounded(120 + 30 * restarts as u64, restart_run(restarts)));
    let removal = runtime.block_on(bounded(90 * rounds as u64, removal_runs(rounds)));
    let load_after = loadavg();
    report(quick, &restart, &removal, &load_before, &load_after);
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Polls `node` every 10 ms until it is ready (at `epoch`, when given).
async fn ready(node: &TssDaemon, epoch: Option<u64>) -> Status {
    loop {
        if let Some(status) = node.status().await {
            if status.state.label() == "ready" && epoch.is_none_or(|e| status.epoch == Some(e)) {
                return status;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn start_all(names: &[&'static str], url: &str, dirs: &Path) -> Vec<TssDaemon> {
    let nodes: Vec<TssDaemon> =
        names.iter().map(|n| TssDaemon::start(n, url, &dirs.join(n), dirs).unwrap()).collect();
    for node in &nodes {
        ready(node, None).await;
    }
    nodes
}

struct RestartRun {
    /// In-process `recovery_ms`: process start to store unlocked.
    unlocked_ms: Vec<f64>,
    /// Spawn to `/status` ready, seen from outside.
    ready_ms: Vec<f64>,
}

/// Three nodes; restarts them in turn, `count` times in all.
async fn restart_run(count: usize) -> RestartRun {
    let chain = dev_chain();
    let dirs = tempfile::tempdir().unwrap();
    let names = &NAMES[..3];
    let mut nodes = start_all(names, &chain.url, dirs.path()).await;
    let mut run = RestartRun { unlocked_ms: Vec::new(), ready_ms: Vec::new() };
    for i in 0..count {
        let slot = i % names.len();
        nodes.remove(slot).kill();
        let spawned = Instant::now();
        let node =
            TssDaemon::start(names[slot], &chain.url, &dirs.path().join(names[slot]), dirs.path())
                .unwrap();
        let status = ready(&node, None).await;
        run.ready_ms.push(spawned.elapsed().as_secs_f64() * 1e3);
        run.unlocked_ms.push(status.recovery_ms.expect("a restart reports recovery_ms") as f64);
        nodes.insert(slot, node);
    }
    run
}

struct RemovalRound {
    removal_block: u64,
    /// Per affected client: blocks to its new backup, and how many of those held only
    /// re-backup transactions of this removal (see `peerseal_e2e::rebackup::Lag`).
    lags: Vec<(u64, u64)>,
    /// Removal call returned (block finalized, events read) → last affected client ready at
    /// its new epoch. A lower bound: the nodes may react while the call reads the events.
    secs: f64,
    /// Removal call made (transaction not yet submitted) → the same. An upper bound.
    secs_from_call: f64,
}

async fn removal_runs(rounds: usize) -> Vec<RemovalRound> {
    let mut out = Vec::new();
    for _ in 0..rounds {
        out.push(removal_round().await);
    }
    out
}

async fn removal_round() -> RemovalRound {
    let chain = dev_chain();
    let dirs = tempfile::tempdir().unwrap();
    let nodes = start_all(&NAMES, &chain.url, dirs.path()).await;
    let mut before = Vec::new();
    for node in &nodes {
        before.push(node.status().await.unwrap());
    }
    let providers = provider_accounts;
    // The victim: the provider named by the most backups, so the most clients are affected.
    let named: Vec<String> = before.iter().flat_map(&providers).collect();
    let victim_account =
        named.iter().max_by_key(|a| named.iter().filter(|b| b == a).count()).unwrap().clone();
    let victim = before.iter().position(|s| s.account.as_deref() == Some(&victim_account)).unwrap();
    let affected: Vec<usize> = (0..NAMES.len())
        .filter(|i| *i != victim && providers(&before[*i]).contains(&victim_account))
        .collect();
    let stash = peerseal_devkeys::dev_identity(NAMES[victim]).unwrap().stash_account;

    let called_at = Instant::now();
    peerseal_testkit::governance::remove_server(&chain.url, stash).await.unwrap();
    let removed_at = Instant::now();
    for &i in &affected {
        ready(&nodes[i], Some(before[i].epoch.unwrap() + 1)).await;
    }
    let secs = removed_at.elapsed().as_secs_f64();
    let secs_from_call = called_at.elapsed().as_secs_f64();

    let parse = |s: &Status| -> peerseal_chain::AccountId {
        peerseal::recovery_file::parse_account(s.account.as_deref().unwrap()).unwrap()
    };
    let clients: Vec<(peerseal_chain::AccountId, u64)> =
        affected.iter().map(|&i| (parse(&before[i]), before[i].epoch.unwrap() + 1)).collect();
    let victim_tss = peerseal::recovery_file::parse_account(&victim_account).unwrap();
    let (removal_block, lags) = removal_and_rebackup_lags(&chain.url, victim_tss, &clients).await;
    RemovalRound {
        removal_block,
        lags: lags.iter().map(|l| (l.blocks, l.rebackup_tx_blocks)).collect(),
        secs,
        secs_from_call,
    }
}

fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn report(
    quick: bool,
    restart: &RestartRun,
    removal: &[RemovalRound],
    load_before: &str,
    load_after: &str,
) {
    println!(
        "\npeerseal node benchmark{} — load average before: {load_before}, after: {load_after}\n",
        if quick { " (quick smoke run)" } else { "" }
    );
    println!("| restarts: {} | p50 | p90 | min | max |", restart.unlocked_ms.len());
    println!("|---|---|---|---|---|");
    for (what, samples) in [
        ("process start → store unlocked (in-process `recovery_ms`)", &restart.unlocked_ms),
        ("spawn → `/status` ready (outside view)", &restart.ready_ms),
    ] {
        println!(
            "| {what} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms |",
            percentile(samples, 50.0),
            percentile(samples, 90.0),
            percentile(samples, 0.0),
            percentile(samples, 100.0)
        );
    }
    println!();
    println!(
        "| round | removal block | per affected client: blocks to new backup (of which \
         re-backup transaction blocks) | last affected ready: s after removal finalized | … s after removal call made |"
    );
    println!("|---|---|---|---|---|");
    for (i, r) in removal.iter().enumerate() {
        let lags: Vec<String> = r.lags.iter().map(|(b, c)| format!("{b} ({c})")).collect();
        println!(
            "| {} | {} | {} | {:.3} s | {:.3} s |",
            i + 1,
            r.removal_block,
            lags.join(", "),
            r.secs,
            r.secs_from_call
        );
    }
    let worst: Vec<f64> =
        removal.iter().map(|r| r.lags.iter().map(|l| l.0).max().unwrap_or(0) as f64).collect();
    let secs: Vec<f64> = removal.iter().map(|r| r.secs).collect();
    println!(
        "\nlast affected client: p50 {:.0} blocks / {:.3} s; max {:.0} blocks / {:.3} s",
        percentile(&worst, 50.0),
        percentile(&secs, 50.0),
        percentile(&worst, 100.0),
        percentile(&secs, 100.0)
    );
}
