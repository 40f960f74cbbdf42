//! Recovery handshake cost against its physical limit, all in one run: the bare cost of
//! verifying one mock recover quote (`verify_quote`, 1 and 2 threads), the latency of one full
//! handshake over real libp2p on loopback (RequestNonce → quote → Recover → open the sealed
//! share; p50/p99), and the throughput of one provider under 1,000 concurrent recoveries, with
//! its ratio to the bare 2-thread verify throughput (issue 5's goal: ≥ 60 %).
//!
//! The provider is the real service ([`Provider::serve`] behind [`peerseal_backup::network`]) reading
//! a real dev chain node process through the verified chain view. The chain is started from a
//! spec that registers [`CLIENT_ACCOUNTS`] extra servers at genesis, so every recovery of the
//! throughput run is by a **distinct registered account** (cold per-account state everywhere);
//! only the provider's per-peer rate and nonce limits are raised, because all of them come from
//! a few client peers. Provider and clients share this machine's cores, so the run also splits
//! CPU time by thread group (the provider and the clients run on separate, named tokio
//! runtimes) and reads the chain node's CPU time: that says how much of the machine the
//! provider itself used per recovery.
//!
//! The goal's ratio (provider CPU per recovery against a bare verification) is also taken
//! time-matched ([`paired_cpu`]): slices of bare verification alternate with slices of
//! recoveries against providers on runtimes of their own (the default one, one writing each
//! yamux frame on its own, one verifying without bound), so each figure and its baseline see
//! the machine at the same moments.
//!
//! In the same run: the same handshake over HTTP/1.1 + JSON (axum server, hyper client: the
//! design the seeds come from; see `recovery/http.rs`), against the same provider, and bytes on
//! the wire for both transports through a counting TCP relay; and idle handshakes alternating
//! between the two transports, so their latencies see the same moments.
//!
//! `cargo bench -p peerseal-backup --bench recovery` (numbers in BENCHMARKS.md). Needs the dev chain
//! node binary (`cargo build -p peerseal-node`, same target dir, or `PEERSEAL_NODE_BIN`).
//! Prints tables; percentiles need the raw samples, which criterion does not report. Without
//! `--bench` (as `cargo test --benches` runs it) a short smoke version runs.
// A benchmark that cannot set up its fixture has nothing to measure: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use libp2p::{Multiaddr, PeerId};
use peerseal_attestation::{report_data, verify_quote, Binding, MockQuoteProvider, Policy};
use peerseal_backup::network::{self, NetworkConfig, NetworkHandle};
use peerseal_backup::provider::held::HeldShares;
use peerseal_backup::provider::nonces::NonceLimits;
use peerseal_backup::provider::ratelimit::RateLimits;
use peerseal_backup::{NodeKeys, Provider, ProviderConfig, TxSubmitter};
use peerseal_chain::{AttestationPolicy, ChainApi, ChainClient};
use peerseal_kvdb::{DbKey, Store};
use peerseal_protocol::{
    AccountId, BackupShare, Nonce32, QuoteBytes, Recover, RecoveredShare, Request, RequestNonce,
    Response, ShareBytes, X25519Secret,
};
use peerseal_testkit::DevChain;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "recovery/http.rs"]
mod http;
#[path = "shared/http1.rs"]
mod http1;

/// Key epoch of the shares the provider holds.
const EPOCH: u64 = 1;
/// Distinct accounts registered at genesis that recover from the provider (Bob) in a full run.
const CLIENT_ACCOUNTS: usize = 1000;
/// Handshakes through the counting relay, per transport.
const WIRE_HANDSHAKES: usize = 100;
/// Names of the threads of Bob's provider runtime and of the clients' runtime.
const PROVIDER_THREADS: &str = "prov";
const CLIENT_THREADS: &str = "cli";

struct Settings {
    accounts: usize,
    verify_time: Duration,
    stage_iterations: usize,
    handshakes: usize,
    recoveries: usize,
    in_flight: usize,
    client_swarms: usize,
    /// Rounds of [`paired_cpu`], and its bare-verification slice per round.
    paired_rounds: usize,
    paired_verify_slice: Duration,
    /// How long the provider's idle upkeep is measured.
    upkeep_window: Duration,
}

impl Settings {
    /// How many `RequestNonce` exchanges [`nonce_exchange_cpu`] times.
    fn nonce_exchanges(&self) -> usize {
        2 * self.recoveries
    }

    fn new(quick: bool) -> Self {
        if quick {
            Self {
                accounts: 16,
                verify_time: Duration::from_millis(200),
                stage_iterations: 20,
                handshakes: 10,
                recoveries: 40,
                in_flight: 8,
                client_swarms: 2,
                paired_rounds: 2,
                paired_verify_slice: Duration::from_millis(50),
                upkeep_window: Duration::from_millis(500),
            }
        } else {
            Self {
                accounts: CLIENT_ACCOUNTS,
                verify_time: Duration::from_secs(3),
                stage_iterations: 500,
                handshakes: 200,
                recoveries: 1000,
                in_flight: 64,
                client_swarms: 4,
                paired_rounds: 5,
                paired_verify_slice: Duration::from_millis(300),
                upkeep_window: Duration::from_secs(5),
            }
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run a short smoke
    // version then, so the bench code stays compiled and exercised.
    let quick = !std::env::args().any(|a| a == "--bench");
    let settings = Settings::new(quick);
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let load_before = loadavg();

    let clients = bench_clients(settings.accounts);
    let node = ChainNode::start(&clients);
    let provider_rt = runtime(PROVIDER_THREADS);
    let client_rt = runtime(CLIENT_THREADS);
    let chain: Arc<ChainClient> =
        Arc::new(provider_rt.block_on(peerseal_testkit::connect_chain(&node.url)).unwrap());
    // The first view reads every registered server and its assignment: wait for it.
    let view_started = Instant::now();
    let first_view =
        provider_rt.block_on(chain.verifier().wait_view(Duration::from_secs(120))).unwrap();
    eprintln!(
        "first verified view: {} servers, {:.0} ms after connecting",
        first_view.servers.len(),
        view_started.elapsed().as_secs_f64() * 1000.0
    );
    let policy = provider_rt.block_on(chain.attestation_policy()).unwrap();

    // (1) The physical limit: verifying one recover quote, nothing else.
    let sample = Sample::new();
    let single = verify_rate(&sample, &policy, 1, settings.verify_time);
    let double = verify_rate(&sample, &policy, 2, settings.verify_time);

    // The provider: Bob's keys, a share held for each client account, served on loopback.
    let bob = NodeKeys::dev("bob").unwrap();
    let accounts: Vec<AccountId> = clients.iter().map(|c| AccountId(c.tss_account)).collect();
    let (_bob_store, held) = holding(&accounts);
    let config = bench_provider_config();
    let max_concurrent = config.max_concurrent;
    let chain_api: Arc<dyn ChainApi> = chain.clone();
    let (provider, target, _provider_network) =
        provider_rt.block_on(serve(&bob, chain_api, held.clone(), config));

    // Provider stages one by one (single thread / sequential), to see where the time goes.
    let stages = provider_rt.block_on(stage_costs(
        &sample,
        &held,
        &bob,
        chain.as_ref(),
        node.pid(),
        &settings,
    ));

    // What the provider's runtime spends with no request at all: following the chain (a block
    // a second here) and keeping the verified view, which the load runs below also pay.
    let upkeep = {
        let before = CpuSnapshot::take(node.pid());
        let started = Instant::now();
        std::thread::sleep(settings.upkeep_window);
        CpuSnapshot::take(node.pid()).since(&before).group(PROVIDER_THREADS)
            / started.elapsed().as_secs_f64()
    };

    let quotes = Arc::new(MockQuoteProvider::dev());
    let swarms = client_rt.block_on(client_swarms(settings.client_swarms, client_config()));
    let (latency, load) =
        client_rt.block_on(measure(&swarms, &target, &accounts, &quotes, &settings, node.pid()));

    // The same handshake against a provider that asks the chain per request (a proven read of
    // the registration for every `RequestNonce` and `Recover`) instead of the verified view:
    // the cost the view removes, in the same run. Another identity (Eve), so its peer id is
    // its own; the clients are the same.
    let eve = NodeKeys::dev("eve").unwrap();
    let (_eve_store, eve_held) = holding(&accounts);
    let per_request: Arc<dyn ChainApi> = Arc::new(PerRequest(chain.clone()));
    let (per_request_provider, per_request_target, _per_request_network) =
        provider_rt.block_on(serve(&eve, per_request, eve_held, bench_provider_config()));
    let per_request_swarms =
        client_rt.block_on(client_swarms(settings.client_swarms, client_config()));
    let (per_request_latency, per_request_load) = client_rt.block_on(measure(
        &per_request_swarms,
        &per_request_target,
        &accounts,
        &quotes,
        &settings,
        node.pid(),
    ));
    let per_request_served = peerseal_backup::provider::ProviderStats::get(
        &per_request_provider.stats().recoveries_served,
    );
    let served = peerseal_backup::provider::ProviderStats::get(&provider.stats().recoveries_served);

    // The HTTP/1.1 + JSON baseline: Bob's provider again, behind axum instead of libp2p.
    let http_addr = provider_rt.block_on(http::serve(provider.clone()));
    let (http_latency, http_load) = client_rt.block_on(measure_http(
        http_addr,
        &target.account,
        &accounts,
        &quotes,
        &settings,
        node.pid(),
    ));

    // What sealing during verification saves on an idle handshake: two providers alike but
    // for `seal_while_verifying`, handshakes alternating between them (same run, same moment).
    let overlap = {
        let mut targets = Vec::new();
        let mut keep = Vec::new();
        for (name, on) in [("dave", true), ("ferdie", false)] {
            let keys = NodeKeys::dev(name).unwrap();
            let (store, held) = holding(&accounts);
            let config = ProviderConfig { seal_while_verifying: on, ..bench_provider_config() };
            let chain_api: Arc<dyn ChainApi> = chain.clone();
            let (provider, target, network) =
                provider_rt.block_on(serve(&keys, chain_api, held, config));
            targets.push(target);
            keep.push((store, provider, network));
        }
        let pairs = [(&swarms[0], &targets[0]), (&swarms[0], &targets[1])];
        let result = client_rt.block_on(interleaved(pairs, &accounts, &quotes, &settings));
        drop(keep);
        result
    };
    // What sending the request behind the protocol name saves (multistream-select `V1Lazy`):
    // two clients alike but for that, alternating against Bob.
    let lazy = {
        let eager = client_rt.block_on(client_network_with(false));
        let lazy_client = client_rt.block_on(client_network_with(true));
        let pairs = [(&lazy_client, &target), (&eager, &target)];
        client_rt.block_on(interleaved(pairs, &accounts, &quotes, &settings))
    };

    // The provider's CPU per recovery against a bare verification, time-matched, for the
    // default set-up, for one that writes every frame on its own (`coalesce_writes` off at
    // both ends) and for one that verifies every recovery in flight at once; then the idle
    // handshakes of the first two, alternating.
    let (paired, coalesce) = {
        let mut arms = Vec::new();
        let unbounded = 1 << 20;
        let defaults = bench_provider_config().max_verifying;
        for (threads, name, coalesce_writes, max_verifying) in [
            ("cmp-default", "dave", true, defaults),
            ("cmp-frames", "ferdie", false, defaults),
            ("cmp-unbounded", "alice", true, unbounded),
        ] {
            let runtime = runtime(threads);
            let keys = NodeKeys::dev(name).unwrap();
            let (store, held) = holding(&accounts);
            let chain_api: Arc<dyn ChainApi> = chain.clone();
            let (provider, target, network) = runtime.block_on(serve_with(
                &keys,
                chain_api,
                held,
                ProviderConfig { max_verifying, ..bench_provider_config() },
                NetworkConfig { coalesce_writes, ..bench_network_config() },
            ));
            let swarms = client_rt.block_on(client_swarms(
                settings.client_swarms,
                NetworkConfig { coalesce_writes, ..client_config() },
            ));
            arms.push(Arm {
                threads,
                _runtime: runtime,
                target,
                swarms,
                _keep: (store, provider, network),
            });
        }
        let paired = paired_cpu(
            &client_rt,
            &arms,
            &accounts,
            &quotes,
            &settings,
            (&sample, &policy),
            node.pid(),
        );
        let exchanges: Vec<f64> = arms[..2]
            .iter()
            .map(|arm| {
                client_rt.block_on(nonce_exchange_cpu(arm, &accounts, &settings, node.pid()))
            })
            .collect();
        let pairs = [(&arms[0].swarms[0], &arms[0].target), (&arms[1].swarms[0], &arms[1].target)];
        let coalesce = client_rt.block_on(interleaved(pairs, &accounts, &quotes, &settings));
        ((paired, exchanges), coalesce)
    };

    // Where a libp2p round trip's time goes: the same `RequestNonce` answered by a responder
    // that replies at once from the inbound queue (the network loop and transport, without the
    // provider's dispatch), in the same run.
    let echo_rtt = client_rt.block_on(echo_round_trips(&provider_rt, &swarms, &settings));

    // Bytes on the wire per handshake, both transports, through a counting relay (fresh
    // connections, so each count includes its connection's set-up once).
    let wire = client_rt.block_on(wire_bytes(&target, http_addr, &accounts, &quotes));
    // Idle handshakes alternating between the two transports to the same provider, so both
    // see the same machine at the same moments (the table above measures them one after the
    // other).
    let transports = client_rt.block_on(interleaved_transports(
        &swarms[0], &target, http_addr, &accounts, &quotes, &settings,
    ));

    // (5) Under a flood: a provider with the production limits (Charlie's keys), idle and
    // then flooded by attacker peers on their own runtime.
    let charlie = NodeKeys::dev("charlie").unwrap();
    let (_charlie_store, charlie_held) = holding(&accounts);
    let production = ProviderConfig { confirm_on_chain: false, ..ProviderConfig::default() };
    let charlie_chain: Arc<dyn ChainApi> = chain.clone();
    let (charlie_provider, charlie_target, _charlie_network) = provider_rt.block_on(serve_with(
        &charlie,
        charlie_chain,
        charlie_held,
        production,
        NetworkConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            ..NetworkConfig::default()
        },
    ));
    let attack_rt = runtime("atk");
    let flood = client_rt.block_on(flood_phase(
        &charlie_target,
        &accounts,
        &quotes,
        &settings,
        attack_rt.handle(),
    ));
    drop(charlie_provider);
    // Bare verification with as many threads as recoveries in flight: what verifying without
    // bound costs each verification (`ProviderConfig::max_verifying`). Last, so its dozens of
    // threads run after every latency measurement.
    let crowded = verify_rate(&sample, &policy, settings.in_flight, settings.verify_time);
    let load_after = loadavg();
    let served_total =
        peerseal_backup::provider::ProviderStats::get(&provider.stats().recoveries_served);

    report(&Report {
        settings: &settings,
        quick,
        node_binary: node.binary.display().to_string(),
        single,
        double,
        crowded,
        stages,
        latency,
        load,
        served,
        per_request_latency,
        per_request_load,
        per_request_served,
        http_latency,
        http_load,
        wire,
        echo_rtt,
        overlap,
        lazy,
        paired,
        coalesce,
        transports,
        upkeep,
        flood,
        max_concurrent,
        load_before,
        load_after,
    });
    let expected = settings.recoveries + settings.handshakes + settings.client_swarms;
    assert_eq!(served as usize, expected);
    assert_eq!(per_request_served as usize, expected);
    let http_expected = settings.recoveries + settings.handshakes + 1;
    // The V1Lazy comparison ran against Bob too: a warm-up each and 2 × handshakes.
    let lazy_expected = 2 + 2 * settings.handshakes;
    // So did the transports' alternation: a warm-up each, then `handshakes` each.
    let transports_expected = 2 + 2 * settings.handshakes;
    assert_eq!(
        served_total as usize,
        expected + http_expected + 2 * WIRE_HANDSHAKES + lazy_expected + transports_expected
    );
}

/// The bench's client accounts: `n` distinct servers for the genesis registry, with
/// deterministic accounts and keys (only their TSS accounts sign nothing here: a recovery
/// proves itself with a quote, and the provider checks the account is registered).
fn bench_clients(n: usize) -> Vec<peerseal_testkit::GenesisServer> {
    (0..n as u64).map(peerseal_testkit::GenesisServer::numbered).collect()
}

/// A provider's store (kept in a temporary directory for the run) holding a share for each of
/// `accounts`.
fn holding(accounts: &[AccountId]) -> ((tempfile::TempDir, Store), HeldShares) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path().join("db"), &DbKey::generate().unwrap()).unwrap();
    let held = HeldShares::open(&store).unwrap();
    for (i, account) in accounts.iter().enumerate() {
        held.put(&held_share(*account, i as u8)).unwrap();
    }
    ((dir, store), held)
}

/// Idle handshakes alternating between two (client, provider) pairs (distinct accounts, one at
/// a time), so both see the same machine at the same moments: the sorted latencies of each.
async fn interleaved(
    pairs: [(&NetworkHandle, &Target); 2],
    accounts: &[AccountId],
    quotes: &Arc<MockQuoteProvider>,
    settings: &Settings,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut latencies = [Vec::new(), Vec::new()];
    for (i, (net, target)) in pairs.iter().enumerate() {
        handshake(net, target, accounts[i], quotes).await.unwrap();
    }
    for i in 0..2 * settings.handshakes {
        let account = accounts[(2 + i) % accounts.len()];
        let (net, target) = pairs[i % 2];
        let started = Instant::now();
        handshake(net, target, account, quotes).await.unwrap();
        latencies[i % 2].push(started.elapsed());
    }
    let [mut on, mut off] = latencies;
    on.sort();
    off.sort();
    (on, off)
}

/// Warm-up (connect every client swarm, fill the policy cache), then (2) the latency of one
/// handshake on an idle provider, sequential, and (3) the throughput: all recoveries started at
/// once, at most `in_flight` outstanding (a semaphore), spread over the client swarms, with the
/// CPU time by thread group.
async fn measure(
    swarms: &[NetworkHandle],
    target: &Target,
    accounts: &[AccountId],
    quotes: &Arc<MockQuoteProvider>,
    settings: &Settings,
    chain_pid: u32,
) -> (Vec<Duration>, Load) {
    // Warm-up: one handshake per swarm opens its connection. Both runs below walk the account
    // list, so consecutive handshakes are by distinct registered accounts (the latency run from
    // the end of the list, the throughput run from the start).
    for (i, net) in swarms.iter().enumerate() {
        handshake(net, target, accounts[i % accounts.len()], quotes).await.unwrap();
    }
    let mut latency = Vec::with_capacity(settings.handshakes);
    for i in 0..settings.handshakes {
        let account = accounts[accounts.len() - 1 - i % accounts.len()];
        let started = Instant::now();
        handshake(&swarms[0], target, account, quotes).await.unwrap();
        latency.push(started.elapsed());
    }
    latency.sort();
    // One `RequestNonce` round trip alone: the transport and dispatch, no quote work.
    let mut nonce_rtt = Vec::with_capacity(settings.handshakes);
    for i in 0..settings.handshakes {
        let ask = Request::RequestNonce(RequestNonce { account: accounts[i % accounts.len()] });
        let started = Instant::now();
        let answer = swarms[0].request(target.peer, target.addrs.clone(), ask).await;
        nonce_rtt.push(started.elapsed());
        assert!(matches!(answer, Ok(Response::Nonce(_))), "{answer:?}");
    }
    nonce_rtt.sort();

    let cpu_before = CpuSnapshot::take(chain_pid);
    let started = Instant::now();
    let (under_load, failed) =
        recover_many(swarms, target, accounts, 0..settings.recoveries, quotes, settings.in_flight)
            .await;
    let wall = started.elapsed();
    let cpu = CpuSnapshot::take(chain_pid).since(&cpu_before);
    (latency, Load { wall, under_load, cpu, failed, nonce_rtt })
}

/// The recoveries of `accounts[range]` (indices wrap) started at once, at most `in_flight`
/// outstanding (a semaphore), spread over `swarms`: their latencies, sorted, and how many
/// failed.
async fn recover_many(
    swarms: &[NetworkHandle],
    target: &Target,
    accounts: &[AccountId],
    range: std::ops::Range<usize>,
    quotes: &Arc<MockQuoteProvider>,
    in_flight: usize,
) -> (Vec<Duration>, u64) {
    let outcomes = at_most_in_flight(range, in_flight, |i| {
        let net = swarms[i % swarms.len()].clone();
        let account = accounts[i % accounts.len()];
        let (target, quotes) = (target.clone(), quotes.clone());
        async move {
            let begun = Instant::now();
            let outcome = handshake(&net, &target, account, &quotes).await;
            (begun.elapsed(), outcome)
        }
    })
    .await;
    let mut failed = 0;
    let mut latencies = Vec::with_capacity(outcomes.len());
    for (latency, outcome) in outcomes {
        if let Err(e) = outcome {
            eprintln!("recovery failed: {e}");
            failed += 1;
        }
        latencies.push(latency);
    }
    latencies.sort();
    (latencies, failed)
}

/// `job(i)` for every `i` in `range`, each on a task of its own, at most `in_flight` running at
/// once (a semaphore taken before the job starts): the outputs in `range` order.
async fn at_most_in_flight<T, Job>(
    range: std::ops::Range<usize>,
    in_flight: usize,
    job: impl Fn(usize) -> Job,
) -> Vec<T>
where
    T: Send + 'static,
    Job: std::future::Future<Output = T> + Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let mut tasks = Vec::with_capacity(range.len());
    for i in range {
        let (permits, job) = (permits.clone(), job(i));
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            job.await
        }));
    }
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}

/// The provider's CPU seconds per `RequestNonce` exchange with `arm`, at `in_flight` at once
/// over the arm's swarms, distinct accounts in turn.
async fn nonce_exchange_cpu(
    arm: &Arm,
    accounts: &[AccountId],
    settings: &Settings,
    chain_pid: u32,
) -> f64 {
    let count = settings.nonce_exchanges();
    let before = CpuSnapshot::take(chain_pid);
    let answers = at_most_in_flight(0..count, settings.in_flight, |i| {
        let net = arm.swarms[i % arm.swarms.len()].clone();
        let target = arm.target.clone();
        let ask = Request::RequestNonce(RequestNonce { account: accounts[i % accounts.len()] });
        async move { net.request(target.peer, target.addrs, ask).await }
    })
    .await;
    for answer in answers {
        assert!(matches!(answer, Ok(Response::Nonce(_))), "{answer:?}");
    }
    CpuSnapshot::take(chain_pid).since(&before).group(arm.threads) / count as f64
}

/// One provider set-up of [`paired_cpu`]: a provider on a runtime of its own (its threads are
/// named `threads`, so its CPU is read from them alone) and client swarms to reach it.
struct Arm {
    threads: &'static str,
    _runtime: tokio::runtime::Runtime,
    target: Target,
    swarms: Vec<NetworkHandle>,
    _keep: ((tempfile::TempDir, Store), Provider, NetworkHandle),
}

/// Provider CPU per recovery against a bare quote verification, time-matched: `rounds` rounds,
/// each a slice of bare 2-thread verification and then a slice of recoveries (64 in flight,
/// distinct accounts) against each arm, the arms' order alternating from round to round. The
/// host of this VM moves a bare verification's CPU cost by ±15 % from minute to minute, which
/// a ratio of numbers taken a minute apart inherits; slices a second apart see the same
/// machine. Returns (CPU seconds per bare verification, CPU seconds per recovery per arm).
fn paired_cpu(
    client_rt: &tokio::runtime::Runtime,
    arms: &[Arm],
    accounts: &[AccountId],
    quotes: &Arc<MockQuoteProvider>,
    settings: &Settings,
    (sample, policy): (&Sample, &AttestationPolicy),
    chain_pid: u32,
) -> (f64, Vec<f64>) {
    for arm in arms {
        // Connect every swarm first: connection set-up is not a recovery's cost.
        for (i, net) in arm.swarms.iter().enumerate() {
            client_rt.block_on(handshake(net, &arm.target, accounts[i], quotes)).unwrap();
        }
    }
    let per_round = settings.recoveries / settings.paired_rounds;
    let (mut verified, mut verify_cpu) = (0u64, 0.0);
    let mut arm_cpu = vec![0.0; arms.len()];
    for round in 0..settings.paired_rounds {
        let (done, cpu, _) = verify_counts(sample, policy, 2, settings.paired_verify_slice);
        verified += done;
        verify_cpu += cpu;
        let range = round * per_round..(round + 1) * per_round;
        for k in 0..arms.len() {
            let i = if round % 2 == 0 { k } else { arms.len() - 1 - k };
            let arm = &arms[i];
            let before = CpuSnapshot::take(chain_pid);
            let (_, failed) = client_rt.block_on(recover_many(
                &arm.swarms,
                &arm.target,
                accounts,
                range.clone(),
                quotes,
                settings.in_flight,
            ));
            assert_eq!(failed, 0, "recoveries failed in the paired CPU run");
            arm_cpu[i] += CpuSnapshot::take(chain_pid).since(&before).group(arm.threads);
        }
    }
    let recoveries = (per_round * settings.paired_rounds) as f64;
    (verify_cpu / verified as f64, arm_cpu.into_iter().map(|c| c / recoveries).collect())
}

/// [`measure`] over HTTP/1.1 + JSON: the latency on one keep-alive connection, then the
/// throughput with `in_flight` connections (HTTP/1.1 has one request at a time per connection),
/// each taking the next recovery from a shared counter.
async fn measure_http(
    addr: std::net::SocketAddr,
    provider_account: &AccountId,
    accounts: &[AccountId],
    quotes: &Arc<MockQuoteProvider>,
    settings: &Settings,
    chain_pid: u32,
) -> (Vec<Duration>, Load) {
    let mut client = http::HttpClient::connect(addr).await.unwrap();
    http_handshake(&mut client, provider_account, accounts[0], quotes).await.unwrap();
    let mut latency = Vec::with_capacity(settings.handshakes);
    for i in 0..settings.handshakes {
        let account = accounts[accounts.len() - 1 - i % accounts.len()];
        let started = Instant::now();
        http_handshake(&mut client, provider_account, account, quotes).await.unwrap();
        latency.push(started.elapsed());
    }
    latency.sort();
    let mut nonce_rtt = Vec::with_capacity(settings.handshakes);
    for i in 0..settings.handshakes {
        let started = Instant::now();
        client.request_nonce(accounts[i % accounts.len()]).await.unwrap();
        nonce_rtt.push(started.elapsed());
    }
    nonce_rtt.sort();

    let mut connections = Vec::with_capacity(settings.in_flight);
    for _ in 0..settings.in_flight {
        connections.push(http::HttpClient::connect(addr).await.unwrap());
    }
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let accounts: Arc<Vec<AccountId>> = Arc::new(accounts.to_vec());
    let cpu_before = CpuSnapshot::take(chain_pid);
    let started = Instant::now();
    let mut workers = Vec::with_capacity(connections.len());
    for mut client in connections {
        let (next, failures, accounts) = (next.clone(), failures.clone(), accounts.clone());
        let (quotes, provider_account, total) =
            (quotes.clone(), *provider_account, settings.recoveries as u64);
        workers.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break times;
                }
                let account = accounts[i as usize % accounts.len()];
                let begun = Instant::now();
                if let Err(e) =
                    http_handshake(&mut client, &provider_account, account, &quotes).await
                {
                    eprintln!("http recovery failed: {e}");
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                times.push(begun.elapsed());
            }
        }));
    }
    let mut under_load = Vec::with_capacity(settings.recoveries);
    for worker in workers {
        under_load.extend(worker.await.unwrap());
    }
    let wall = started.elapsed();
    let cpu = CpuSnapshot::take(chain_pid).since(&cpu_before);
    under_load.sort();
    let failed = failures.load(Ordering::Relaxed);
    (latency, Load { wall, under_load, cpu, failed, nonce_rtt })
}

/// Idle handshakes to one provider alternating between libp2p (`net`) and HTTP (a keep-alive
/// connection to `http_addr`), one at a time, distinct accounts: the sorted latencies of each.
async fn interleaved_transports(
    net: &NetworkHandle,
    target: &Target,
    http_addr: std::net::SocketAddr,
    accounts: &[AccountId],
    quotes: &Arc<MockQuoteProvider>,
    settings: &Settings,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut client = http::HttpClient::connect(http_addr).await.unwrap();
    handshake(net, target, accounts[0], quotes).await.unwrap();
    http_handshake(&mut client, &target.account, accounts[1], quotes).await.unwrap();
    let (mut libp2p, mut http) = (Vec::new(), Vec::new());
    for i in 0..2 * settings.handshakes {
        let account = accounts[(2 + i) % accounts.len()];
        let started = Instant::now();
        if i % 2 == 0 {
            handshake(net, target, account, quotes).await.unwrap();
            libp2p.push(started.elapsed());
        } else {
            http_handshake(&mut client, &target.account, account, quotes).await.unwrap();
            http.push(started.elapsed());
        }
    }
    libp2p.sort();
    http.sort();
    (libp2p, http)
}

/// [`handshake`] over HTTP: nonce, quote, recover, open.
async fn http_handshake(
    client: &mut http::HttpClient,
    provider_account: &AccountId,
    account: AccountId,
    quotes: &Arc<MockQuoteProvider>,
) -> Result<(), String> {
    let response_sk = X25519Secret::generate();
    let nonce = client.request_nonce(account).await?;
    let recover = bound_recover(account, nonce, quotes, &response_sk).await?;
    let sealed = client.recover(recover).await?;
    let share = sealed.open(&response_sk, provider_account).map_err(|e| e.to_string())?;
    if share.account != account || share.epoch != EPOCH {
        return Err("share names another account or epoch".into());
    }
    Ok(())
}

/// The `Recover` bound to `account`, `nonce` and the response key `response_sk` (made before
/// the nonce was asked for, like the real client; the quote is made on the blocking pool).
async fn bound_recover(
    account: AccountId,
    nonce: Nonce32,
    quotes: &Arc<MockQuoteProvider>,
    response_sk: &X25519Secret,
) -> Result<Recover, String> {
    let response_pk = response_sk.public();
    let wanted = report_data(&binding(&account, &response_pk.0, &nonce));
    let quotes = quotes.clone();
    let quote = tokio::task::spawn_blocking(move || quotes.mock_quote(&wanted))
        .await
        .map_err(|e| e.to_string())?;
    let recover = Recover {
        account,
        epoch: EPOCH,
        response_pk,
        quote: QuoteBytes::new(quote).map_err(|_| "quote too long".to_string())?,
    };
    Ok(recover)
}

/// Bytes on the wire per handshake, (libp2p, HTTP): [`WIRE_HANDSHAKES`] sequential handshakes
/// on one fresh connection through a [`http::CountingProxy`], both directions counted, the
/// connection's set-up (TCP payload only: noise and yamux or nothing) included once.
async fn wire_bytes(
    target: &Target,
    http_addr: std::net::SocketAddr,
    accounts: &[AccountId],
    quotes: &Arc<MockQuoteProvider>,
) -> (f64, f64) {
    let port = target.addrs.iter().find_map(peerseal_testkit::flood::tcp_port).unwrap();
    let libp2p_upstream = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let relay = http::CountingProxy::start(libp2p_upstream).await;
    let via_relay = Target {
        peer: target.peer,
        addrs: vec![format!("/ip4/127.0.0.1/tcp/{}", relay.addr.port()).parse().unwrap()],
        account: target.account,
    };
    let net = client_network().await;
    for i in 0..WIRE_HANDSHAKES {
        handshake(&net, &via_relay, accounts[i % accounts.len()], quotes).await.unwrap();
    }
    drop(net);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let libp2p_bytes = relay.bytes() as f64 / WIRE_HANDSHAKES as f64;

    let relay = http::CountingProxy::start(http_addr).await;
    let mut client = http::HttpClient::connect(relay.addr).await.unwrap();
    for i in 0..WIRE_HANDSHAKES {
        http_handshake(&mut client, &target.account, accounts[i % accounts.len()], quotes)
            .await
            .unwrap();
    }
    drop(client);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let http_bytes = relay.bytes() as f64 / WIRE_HANDSHAKES as f64;
    (libp2p_bytes, http_bytes)
}

/// What the flood phase measured: the victim's recovery time from a fresh connection (as
/// after a restart), and legitimate throughput, idle and under the flood.
struct Flood {
    victim_idle: Vec<Duration>,
    victim_flooded: Vec<Duration>,
    rate_idle: f64,
    rate_flooded: f64,
    failed_idle: u64,
    failed_flooded: u64,
    /// Requests and frames the attackers sent during the flooded measurements.
    sent: u64,
    frames: u64,
    legit_peers: usize,
    recoveries: usize,
}

/// Legitimate clients for the flood phase: one peer per connection, as real recovering nodes
/// are, so the production per-peer limits apply to them exactly as to the attackers (each does
/// about ten recoveries per run: twenty requests, within the per-peer burst).
const LEGIT_PEERS: usize = 100;
/// Victim recoveries measured idle and again under the flood.
const VICTIM_RECOVERIES: usize = 30;

/// Round trips of `RequestNonce` to a libp2p responder (on the provider runtime) that answers
/// from the inbound queue at once, from the first client swarm; sorted.
async fn echo_round_trips(
    provider_rt: &tokio::runtime::Runtime,
    swarms: &[NetworkHandle],
    settings: &Settings,
) -> Vec<Duration> {
    let (net, inbound, _task) = provider_rt
        .spawn(async {
            network::start(libp2p::identity::Keypair::generate_ed25519(), bench_network_config())
                .await
                .unwrap()
        })
        .await
        .unwrap();
    let mut inbound = inbound.unwrap();
    provider_rt.spawn(async move {
        while let Some(request) = inbound.recv().await {
            let nonce = peerseal_protocol::Nonce { nonce: Nonce32([7; 32]), ttl_secs: 60 };
            request.respond(Response::Nonce(nonce));
        }
    });
    let (peer, addrs) = (net.local_peer_id(), net.listen_addrs().to_vec());
    let ask = || Request::RequestNonce(RequestNonce { account: AccountId([1; 32]) });
    swarms[0].request(peer, addrs.clone(), ask()).await.unwrap();
    let mut rtt = Vec::with_capacity(settings.handshakes);
    for _ in 0..settings.handshakes {
        let started = Instant::now();
        let answer = swarms[0].request(peer, addrs.clone(), ask()).await;
        rtt.push(started.elapsed());
        assert!(matches!(answer, Ok(Response::Nonce(_))), "{answer:?}");
    }
    drop(net);
    rtt.sort();
    rtt
}

/// (5) Idle, then flooded by [`peerseal_testkit::flood`] attackers (8 protocol attackers with
/// spoofed requests for the victim, one frame attacker) running on `attack`: the victim's
/// recovery time from a fresh peer (connect, nonce, quote, recover, open; retried with a
/// short backoff as the real client does, until it gets its share) and the throughput of
/// `settings.recoveries` legitimate recoveries over [`LEGIT_PEERS`] peers.
async fn flood_phase(
    target: &Target,
    accounts: &[AccountId],
    quotes: &Arc<MockQuoteProvider>,
    settings: &Settings,
    attack: &tokio::runtime::Handle,
) -> Flood {
    use std::sync::atomic::AtomicBool;
    let victim = accounts[0];
    let peers = LEGIT_PEERS.min(settings.recoveries.max(1));
    let mut legit = Vec::with_capacity(peers);
    for i in 0..peers {
        // Connected one after another before measuring: a hundred simultaneous first dials
        // meet the provider's pending-connection limit, which is not what is measured here.
        let net = client_network().await;
        let ask =
            Request::RequestNonce(RequestNonce { account: accounts[1 + i % (accounts.len() - 1)] });
        let answer = net.request(target.peer, target.addrs.clone(), ask).await;
        assert!(matches!(answer, Ok(Response::Nonce(_))), "{answer:?}");
        legit.push(net);
    }
    let victims = if settings.recoveries < 100 { 5 } else { VICTIM_RECOVERIES };
    let victim_idle = victim_recoveries(target, victim, quotes, victims).await;
    let (rate_idle, failed_idle) =
        legit_throughput(&legit, target, &accounts[1..], quotes, settings.recoveries).await;

    let stop = Arc::new(AtomicBool::new(false));
    let flood_target = peerseal_testkit::flood::FloodTarget {
        account: target.account,
        peer: target.peer,
        addrs: target.addrs.clone(),
    };
    let mut attackers = Vec::new();
    for _ in 0..8 {
        let (targets, stop) = (vec![flood_target.clone()], stop.clone());
        attackers
            .push(attack.spawn(peerseal_testkit::flood::protocol_attacker(targets, victim, stop)));
    }
    let frames = attack
        .spawn(peerseal_testkit::flood::frame_attacker(vec![flood_target.clone()], stop.clone()));
    // Let the flood reach full rate before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let victim_flooded = victim_recoveries(target, victim, quotes, victims).await;
    let (rate_flooded, failed_flooded) =
        legit_throughput(&legit, target, &accounts[1..], quotes, settings.recoveries).await;
    stop.store(true, Ordering::Relaxed);
    let mut sent = 0;
    for attacker in attackers {
        sent += attacker.await.unwrap().unwrap();
    }
    let frames = frames.await.unwrap();
    Flood {
        victim_idle,
        victim_flooded,
        rate_idle,
        rate_flooded,
        failed_idle,
        failed_flooded,
        sent,
        frames,
        legit_peers: peers,
        recoveries: settings.recoveries,
    }
}

/// `n` recoveries of `victim`, each from a fresh peer, each retried every 50 ms until it gets
/// its share (bounded: 10 s); their times, sorted.
async fn victim_recoveries(
    target: &Target,
    victim: AccountId,
    quotes: &Arc<MockQuoteProvider>,
    n: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let net = client_network().await;
        loop {
            match handshake(&net, target, victim, quotes).await {
                Ok(()) => break,
                Err(e) if started.elapsed() > Duration::from_secs(10) => {
                    panic!("the victim did not recover within 10 s: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        times.push(started.elapsed());
    }
    times.sort();
    times
}

/// `total` recoveries of distinct accounts, each peer of `peers` doing its share one after
/// another; successful recoveries per second and how many failed.
async fn legit_throughput(
    peers: &[NetworkHandle],
    target: &Target,
    accounts: &[AccountId],
    quotes: &Arc<MockQuoteProvider>,
    total: usize,
) -> (f64, u64) {
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let accounts: Arc<Vec<AccountId>> = Arc::new(accounts.to_vec());
    let started = Instant::now();
    let mut workers = Vec::with_capacity(peers.len());
    for net in peers {
        let (net, target, quotes) = (net.clone(), target.clone(), quotes.clone());
        let (next, failures, accounts) = (next.clone(), failures.clone(), accounts.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= total {
                    break;
                }
                if let Err(e) =
                    handshake(&net, &target, accounts[i % accounts.len()], &quotes).await
                {
                    if failures.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("legitimate recovery failed: {e}");
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let failed = failures.load(Ordering::Relaxed);
    ((total as u64 - failed) as f64 / started.elapsed().as_secs_f64(), failed)
}

/// A provider with `keys` on `chain`, served on loopback; keep the handle for the whole run.
async fn serve(
    keys: &NodeKeys,
    chain: Arc<dyn ChainApi>,
    held: HeldShares,
    config: ProviderConfig,
) -> (Provider, Target, NetworkHandle) {
    serve_with(keys, chain, held, config, bench_network_config()).await
}

/// [`serve`] with its network configuration.
async fn serve_with(
    keys: &NodeKeys,
    chain: Arc<dyn ChainApi>,
    held: HeldShares,
    config: ProviderConfig,
    network_config: NetworkConfig,
) -> (Provider, Target, NetworkHandle) {
    let tx = TxSubmitter::new(chain.clone(), keys.signer.clone());
    let provider = Provider::new(keys.clone(), chain, held, tx, config);
    let (network, inbound, _task) =
        network::start(keys.libp2p.clone(), network_config).await.unwrap();
    provider.serve(inbound.unwrap());
    let target = Target {
        peer: network.local_peer_id(),
        addrs: network.listen_addrs().to_vec(),
        account: keys.account(),
    };
    (provider, target, network)
}

/// The baseline the verified view replaced: every registration check asks the chain, here with
/// a read proof at the last verified block (`StashOf` and `ServerStatusOf`, then `Servers`:
/// two proven reads, as the old unverified client made two `state_queryStorageAt` calls).
/// Everything else is the verifying client's.
struct PerRequest(Arc<ChainClient>);

#[async_trait::async_trait]
impl ChainApi for PerRequest {
    async fn server_by_tss(
        &self,
        tss: &AccountId,
    ) -> Result<Option<peerseal_chain::ServerRecord>, peerseal_chain::ChainError> {
        use peerseal_chain::verify::keys;
        let verifier = self.0.verifier();
        let first = [
            keys::by_account("Registry", "StashOf", tss),
            keys::by_account("Registry", "ServerStatusOf", tss),
        ];
        let (head, values) = verifier.read(&first).await?;
        let Some(Some(stash)) = values.first().cloned() else { return Ok(None) };
        let stash = <[u8; 32]>::try_from(stash.as_slice())
            .map(AccountId)
            .map_err(|_| peerseal_chain::ChainError::Decode("StashOf".into()))?;
        let second = [keys::by_account("Registry", "Servers", &stash)];
        let info = verifier.read_at(&head, &second).await?;
        // The value is proven; the record itself comes from the view (same block or newer).
        if info.first().is_some_and(Option::is_some) {
            self.0.server_by_tss(tss).await
        } else {
            Ok(None)
        }
    }
    async fn servers(
        &self,
    ) -> Result<Vec<peerseal_chain::ServerRecord>, peerseal_chain::ChainError> {
        self.0.servers().await
    }
    async fn attestation_policy(&self) -> Result<AttestationPolicy, peerseal_chain::ChainError> {
        self.0.attestation_policy().await
    }
    async fn approved_move(
        &self,
        tss: &AccountId,
    ) -> Result<Option<peerseal_attestation::PlatformId>, peerseal_chain::ChainError> {
        self.0.approved_move(tss).await
    }
    async fn assignment(
        &self,
        client: &AccountId,
    ) -> Result<Option<peerseal_chain::Assignment>, peerseal_chain::ChainError> {
        self.0.assignment(client).await
    }
    async fn candidate_providers(
        &self,
        client: &AccountId,
        epoch: u64,
    ) -> Result<Vec<AccountId>, peerseal_chain::ChainError> {
        self.0.candidate_providers(client, epoch).await
    }
    async fn record_backup(
        &self,
        signer: &peerseal_chain::Keypair,
        epoch: u64,
        threshold: u8,
        providers: Vec<(AccountId, u8)>,
        commitment: [u8; 32],
        recovery: Option<&peerseal_chain::SealedRecovery>,
    ) -> Result<peerseal_chain::BlockHash, peerseal_chain::ChainError> {
        self.0.record_backup(signer, epoch, threshold, providers, commitment, recovery).await
    }
    async fn recovery_operators(
        &self,
    ) -> Result<Option<peerseal_chain::RecoveryOperatorSet>, peerseal_chain::ChainError> {
        self.0.recovery_operators().await
    }
    async fn recorded_recovery(
        &self,
        client: &AccountId,
    ) -> Result<Option<peerseal_chain::RecordedRecovery>, peerseal_chain::ChainError> {
        self.0.recorded_recovery(client).await
    }
    async fn report_recovered_by_operators(
        &self,
        signer: &peerseal_chain::Keypair,
        epoch: u64,
    ) -> Result<peerseal_chain::BlockHash, peerseal_chain::ChainError> {
        self.0.report_recovered_by_operators(signer, epoch).await
    }
    async fn confirm_backup(
        &self,
        signer: &peerseal_chain::Keypair,
        client: &AccountId,
        epoch: u64,
    ) -> Result<peerseal_chain::BlockHash, peerseal_chain::ChainError> {
        self.0.confirm_backup(signer, client, epoch).await
    }
    async fn report_recovery(
        &self,
        signer: &peerseal_chain::Keypair,
        provider: &AccountId,
        epoch: u64,
    ) -> Result<peerseal_chain::BlockHash, peerseal_chain::ChainError> {
        self.0.report_recovery(signer, provider, epoch).await
    }
}

/// The provider configuration of the bench: defaults except the per-(peer, account) limits,
/// which would otherwise throttle 1,000 recoveries from one client peer and three accounts
/// (defaults: burst 20 and 5/s per pair; 8 live nonces per pair, 16 per peer), and no on-chain
/// confirmations (no backups here). The network's per-peer bucket is raised the same way
/// ([`bench_network_config`]).
fn bench_provider_config() -> ProviderConfig {
    ProviderConfig {
        nonces: NonceLimits {
            ttl: Duration::from_secs(60),
            per_account: 4096,
            per_peer: 4096,
            total: 65_536,
        },
        rate: RateLimits { burst: 1_000_000, per_second: 1_000_000, max_accounts: 4096 },
        confirm_on_chain: false,
        ..ProviderConfig::default()
    }
}

/// A provider's network with the per-peer request bucket out of the way: the bench's one
/// client peer sends 1,000 recoveries as fast as it can.
fn bench_network_config() -> NetworkConfig {
    NetworkConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        peer_rate: RateLimits { burst: 1_000_000, per_second: 1_000_000, max_accounts: 4096 },
        ..NetworkConfig::default()
    }
}

fn held_share(account: AccountId, byte: u8) -> BackupShare {
    BackupShare {
        account,
        epoch: EPOCH,
        share_index: 1,
        threshold: 1,
        share: ShareBytes::from_slice(&[0xA0 | byte; 32]).unwrap(),
    }
}

fn runtime(name: &'static str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        // Threads must outlive the run: CPU time is read per live thread.
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()
        .unwrap()
}

/// One recover quote with its binding, as a provider sees it.
struct Sample {
    account: AccountId,
    response_sk: X25519Secret,
    nonce: Nonce32,
    quote: Vec<u8>,
}

impl Sample {
    fn new() -> Self {
        let account = NodeKeys::dev("alice").unwrap().account();
        let response_sk = X25519Secret::generate();
        let nonce = Nonce32([7; 32]);
        let pk = response_sk.public();
        let quote =
            MockQuoteProvider::dev().mock_quote(&report_data(&binding(&account, &pk.0, &nonce)));
        Self { account, response_sk, nonce, quote }
    }
}

fn binding<'a>(account: &'a AccountId, pk: &'a [u8; 32], nonce: &'a Nonce32) -> Binding<'a> {
    Binding::recover(&account.0, pk, &nonce.0)
}

fn policy_ref(policy: &AttestationPolicy) -> Policy<'_> {
    Policy {
        accepted_measurements: &policy.accepted_measurements,
        pck_mode: policy.pck_mode,
        allowed_mock_pcks: &policy.allowed_mock_pcks,
    }
}

/// Bare verification with `threads` threads verifying the same quote for `time`: wall-clock
/// verifications per second, and CPU seconds per verification (each thread's own CPU time, so
/// not inflated by other processes competing for the cores).
fn verify_rate(
    sample: &Sample,
    policy: &AttestationPolicy,
    threads: usize,
    time: Duration,
) -> (f64, f64) {
    let (total, cpu, wall) = verify_counts(sample, policy, threads, time);
    (total as f64 / wall.as_secs_f64(), cpu / total as f64)
}

/// Verifications of the sample quote on `threads` threads for `time`: (how many, their CPU
/// seconds, wall time).
fn verify_counts(
    sample: &Sample,
    policy: &AttestationPolicy,
    threads: usize,
    time: Duration,
) -> (u64, f64, Duration) {
    let pk = sample.response_sk.public();
    let b = binding(&sample.account, &pk.0, &sample.nonce);
    let p = policy_ref(policy);
    assert!(verify_quote(&sample.quote, &b, &p).is_ok());
    let started = Instant::now();
    let (total, cpu) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let cpu_before = thread_cpu();
                    let mut done = 0u64;
                    while started.elapsed() < time {
                        assert!(verify_quote(black_box(&sample.quote), &b, &p).is_ok());
                        done += 1;
                    }
                    (done, thread_cpu() - cpu_before)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold((0u64, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    (total, cpu, started.elapsed())
}

/// CPU seconds of the calling thread so far.
fn thread_cpu() -> f64 {
    seconds(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap_or_else(|| {
        read_stat(std::path::Path::new("/proc/thread-self/stat")).map(|(_, s)| s).unwrap_or(0.0)
    })
}

/// CPU seconds of this whole process so far (all threads, live or exited).
fn process_cpu() -> f64 {
    seconds(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID).unwrap_or_else(|| {
        read_stat(std::path::Path::new("/proc/self/stat")).map(|(_, s)| s).unwrap_or(0.0)
    })
}

/// Mean time of each stage of one recovery, measured alone.
async fn stage_costs(
    sample: &Sample,
    held: &HeldShares,
    bob: &NodeKeys,
    chain: &ChainClient,
    chain_pid: u32,
    settings: &Settings,
) -> Vec<(&'static str, &'static str, Duration)> {
    let n = settings.stage_iterations;
    let mean = |total: Duration| total / n as u32;
    let pk = sample.response_sk.public();
    let rd = report_data(&binding(&sample.account, &pk.0, &sample.nonce));
    let mock = MockQuoteProvider::dev();
    let share = held_share(sample.account, 0);

    let started = Instant::now();
    for _ in 0..n {
        black_box(mock.mock_quote(black_box(&rd)));
    }
    let quote_gen = mean(started.elapsed());

    let started = Instant::now();
    for _ in 0..n {
        black_box(held.get(&sample.account, EPOCH).unwrap());
    }
    let held_get = mean(started.elapsed());

    let started = Instant::now();
    let mut sealed = None;
    for _ in 0..n {
        sealed = Some(RecoveredShare::seal(&pk, &bob.signer, black_box(&share)).unwrap());
    }
    let seal = mean(started.elapsed());
    let sealed = sealed.unwrap();

    let started = Instant::now();
    for _ in 0..n {
        black_box(sealed.open(&sample.response_sk, &bob.account()).unwrap());
    }
    let open = mean(started.elapsed());

    let lookups = n.min(200);
    let (cpu_before, chain_before) = (process_cpu(), chain_cpu(chain_pid));
    let started = Instant::now();
    for _ in 0..lookups {
        assert!(chain.server_by_tss(&sample.account).await.unwrap().is_some());
    }
    let lookup = started.elapsed() / lookups as u32;
    let lookup_cpu = Duration::from_secs_f64((process_cpu() - cpu_before) / lookups as f64);
    let lookup_chain_cpu =
        Duration::from_secs_f64((chain_cpu(chain_pid) - chain_before) / lookups as f64);

    vec![
        ("client", "mock quote generation (1 ECDSA P-256 signature, QE report reused)", quote_gen),
        ("provider", "held share read (kvdb get + decrypt + decode)", held_get),
        ("provider", "RecoveredShare::seal (HPKE + sr25519 sign)", seal),
        ("client", "RecoveredShare::open (HPKE + sr25519 verify)", open),
        ("provider", "registration lookup `server_by_tss` (wall, sequential)", lookup),
        ("provider", "… its CPU in this process (subxt, jsonrpsee)", lookup_cpu),
        ("chain node", "… its CPU in the chain node process", lookup_chain_cpu),
    ]
}

#[derive(Clone)]
struct Target {
    peer: PeerId,
    addrs: Vec<Multiaddr>,
    account: AccountId,
}

async fn client_network() -> NetworkHandle {
    client_swarm(client_config()).await
}

/// A client swarm that does or does not send a request behind the protocol name at once.
async fn client_network_with(lazy_protocol_negotiation: bool) -> NetworkHandle {
    client_swarm(NetworkConfig { lazy_protocol_negotiation, ..client_config() }).await
}

/// A client's network configuration: no listening, no serving.
fn client_config() -> NetworkConfig {
    NetworkConfig { listen: vec![], serve: false, ..NetworkConfig::default() }
}

/// `n` client swarms with `config`.
async fn client_swarms(n: usize, config: NetworkConfig) -> Vec<NetworkHandle> {
    let mut swarms = Vec::with_capacity(n);
    for _ in 0..n {
        swarms.push(client_swarm(config.clone()).await);
    }
    swarms
}

async fn client_swarm(config: NetworkConfig) -> NetworkHandle {
    let (handle, _, _task) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), config).await.unwrap();
    handle
}

/// One recovery handshake as the client does it: nonce, quote (on the blocking pool, like
/// the real client), `Recover`, and opening the sealed share.
async fn handshake(
    net: &NetworkHandle,
    target: &Target,
    account: AccountId,
    quotes: &Arc<MockQuoteProvider>,
) -> Result<(), String> {
    // As the node's client does: the response key is made before the nonce is asked for.
    let response_sk = X25519Secret::generate();
    let ask = Request::RequestNonce(RequestNonce { account });
    let nonce = match net.request(target.peer, target.addrs.clone(), ask).await {
        Ok(Response::Nonce(n)) => n.nonce,
        other => return Err(format!("nonce: {other:?}")),
    };
    let recover = bound_recover(account, nonce, quotes, &response_sk).await?;
    let sealed =
        match net.request(target.peer, target.addrs.clone(), Request::Recover(recover)).await {
            Ok(Response::RecoveredShare(sealed)) => sealed,
            Ok(other) => return Err(format!("recover: {other:?}")),
            Err(e) => return Err(format!("recover: {e}")),
        };
    let share = sealed.open(&response_sk, &target.account).map_err(|e| e.to_string())?;
    if share.account != account || share.epoch != EPOCH {
        return Err("share names another account or epoch".into());
    }
    Ok(())
}

/// The dev chain node as a child process, killed on drop; dereferences to [`DevChain`].
struct ChainNode {
    chain: DevChain,
    binary: PathBuf,
    _spec: tempfile::TempDir,
}

impl ChainNode {
    /// The dev chain with `clients` registered at genesis beside the dev servers.
    fn start(clients: &[peerseal_testkit::GenesisServer]) -> Self {
        let binary = node_binary();
        let dir = tempfile::tempdir().unwrap();
        let spec = peerseal_testkit::spec_with_servers(&binary, dir.path(), clients).unwrap();
        let chain = DevChain::start_with_binary(
            &binary,
            &["--chain", spec.to_str().unwrap()],
            Some("warn"),
        )
        .unwrap_or_else(|e| panic!("chain node did not start: {e}"));
        Self { chain, binary, _spec: dir }
    }
}

impl std::ops::Deref for ChainNode {
    type Target = DevChain;
    fn deref(&self) -> &DevChain {
        &self.chain
    }
}

/// `PEERSEAL_NODE_BIN`, else `peerseal-node` in the debug, then release, dir of this target dir.
fn node_binary() -> PathBuf {
    if let Ok(path) = std::env::var("PEERSEAL_NODE_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/<bench binary> → target/
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().unwrap().parent().unwrap().parent().unwrap();
    ["debug", "release"]
        .iter()
        .map(|profile| target.join(profile).join("peerseal-node"))
        .find(|path| path.exists())
        .expect("peerseal-node not found: `cargo build -p peerseal-node` or set PEERSEAL_NODE_BIN")
}

/// CPU seconds by thread group of this process (`prov*`, `cli*`, other) and of the chain node.
#[derive(Clone, Default)]
struct CpuSnapshot {
    /// CPU seconds by thread name (tokio names a runtime's threads after it).
    threads: BTreeMap<String, f64>,
    chain: f64,
}

impl CpuSnapshot {
    fn take(chain_pid: u32) -> Self {
        let mut threads = BTreeMap::new();
        for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
            let Some((comm, ticks)) = read_stat(&task.path().join("stat")) else { continue };
            let tid = task.file_name().to_str().and_then(|t| t.parse::<i32>().ok());
            let secs = tid.and_then(cpu_of_thread).unwrap_or(ticks);
            *threads.entry(comm).or_default() += secs;
        }
        Self { threads, chain: chain_cpu(chain_pid) }
    }

    fn since(&self, before: &Self) -> Self {
        let mut threads = self.threads.clone();
        for (name, secs) in threads.iter_mut() {
            *secs -= before.threads.get(name).copied().unwrap_or(0.0);
        }
        Self { threads, chain: self.chain - before.chain }
    }

    /// CPU seconds of the threads whose name starts with `prefix`.
    fn group(&self, prefix: &str) -> f64 {
        self.threads.iter().filter(|(name, _)| name.starts_with(prefix)).map(|(_, s)| s).sum()
    }

    /// CPU seconds of threads that are neither Bob's provider's nor the clients'.
    fn other(&self) -> f64 {
        let total: f64 = self.threads.values().sum();
        total - self.group(PROVIDER_THREADS) - self.group(CLIENT_THREADS)
    }
}

/// CPU seconds of the chain node process so far.
fn chain_cpu(pid: u32) -> f64 {
    // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED) of the kernel's posix-cpu-timers.
    let clock = i32::try_from(pid).ok().map(|pid| (!pid << 3) | 2).and_then(cpu_clock);
    clock.unwrap_or_else(|| {
        read_stat(&PathBuf::from(format!("/proc/{pid}/stat"))).map(|(_, s)| s).unwrap_or(0.0)
    })
}

/// CPU seconds of thread `tid` of this process so far, to the nanosecond.
fn cpu_of_thread(tid: i32) -> Option<f64> {
    // MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED): per-thread, scheduler-accurate.
    cpu_clock((!tid << 3) | 6)
}

fn cpu_clock(id: i32) -> Option<f64> {
    seconds(nix::time::ClockId::from_raw(id))
}

fn seconds(clock: nix::time::ClockId) -> Option<f64> {
    let time = nix::time::clock_gettime(clock).ok()?;
    Some(time.tv_sec() as f64 + time.tv_nsec() as f64 * 1e-9)
}

/// (comm, utime + stime in seconds) from a `/proc/.../stat` file (clock ticks of 10 ms: only
/// where the CPU clocks above cannot be read).
fn read_stat(path: &std::path::Path) -> Option<(String, f64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); the slice starts at field 3.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((comm, (utime + stime) / 100.0))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

struct Load {
    wall: Duration,
    under_load: Vec<Duration>,
    cpu: CpuSnapshot,
    failed: u64,
    /// Idle round trips of `RequestNonce` alone, sorted.
    nonce_rtt: Vec<Duration>,
}

struct Report<'a> {
    settings: &'a Settings,
    quick: bool,
    node_binary: String,
    single: (f64, f64),
    double: (f64, f64),
    crowded: (f64, f64),
    stages: Vec<(&'static str, &'static str, Duration)>,
    latency: Vec<Duration>,
    load: Load,
    served: u64,
    per_request_latency: Vec<Duration>,
    per_request_load: Load,
    per_request_served: u64,
    http_latency: Vec<Duration>,
    http_load: Load,
    /// Bytes on the wire per handshake: (libp2p, HTTP).
    wire: (f64, f64),
    /// Idle `RequestNonce` round trips to a responder without the provider, sorted.
    echo_rtt: Vec<Duration>,
    /// Idle handshake latencies, sorted, with and without sealing during verification.
    overlap: (Vec<Duration>, Vec<Duration>),
    /// The same, with and without sending requests behind the protocol name (`V1Lazy`).
    lazy: (Vec<Duration>, Vec<Duration>),
    /// [`paired_cpu`]: CPU seconds per bare verification, and per recovery by the default
    /// provider, one writing each frame on its own, one verifying without bound; then the CPU
    /// seconds per `RequestNonce` exchange of the first two ([`nonce_exchange_cpu`]).
    paired: ((f64, Vec<f64>), Vec<f64>),
    /// Idle handshake latencies, sorted, with writes coalesced and with a write per frame.
    coalesce: (Vec<Duration>, Vec<Duration>),
    /// Idle handshake latencies, sorted, over libp2p and over HTTP, alternating.
    transports: (Vec<Duration>, Vec<Duration>),
    /// CPU seconds per second of Bob's provider runtime with no request at all.
    upkeep: f64,
    flood: Flood,
    max_concurrent: usize,
    load_before: String,
    load_after: String,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn report(r: &Report<'_>) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let s = r.settings;
    println!(
        "recovery bench{}: load average before {} / after {}; chain node {}",
        if r.quick { " (quick smoke run)" } else { "" },
        r.load_before,
        r.load_after,
        r.node_binary
    );
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| bare `verify_quote`, 1 thread | {:.0}/s wall ({:.0} µs CPU each) |",
        r.single.0,
        1e6 * r.single.1
    );
    println!(
        "| bare `verify_quote`, 2 threads | {:.0}/s wall ({:.0} µs CPU each) |",
        r.double.0,
        1e6 * r.double.1
    );
    println!(
        "| bare `verify_quote`, {} threads at once | {:.0}/s wall ({:.0} µs CPU each: {:.2} × 2 threads') |",
        s.in_flight,
        r.crowded.0,
        1e6 * r.crowded.1,
        r.crowded.1 / r.double.1
    );
    println!(
        "| provider runtime with no request (following the chain, a block a second; keeping the verified view of {} servers) | {:.1} ms CPU per second |",
        s.accounts,
        r.upkeep * 1e3
    );
    println!(
        "| handshake latency, idle provider ({} sequential) | p50 {:.2} ms (goal ≤ 2 ms), p99 {:.2} ms |",
        s.handshakes,
        ms(percentile(&r.latency, 50.0)),
        ms(percentile(&r.latency, 99.0))
    );
    for (what, (on, off)) in [
        (
            "alternating between a provider that seals during verification and one that seals after",
            &r.overlap,
        ),
        (
            "alternating between a client that sends requests behind the protocol name (`V1Lazy`) and one that waits for its confirmation",
            &r.lazy,
        ),
        (
            "alternating between a client and provider that coalesce a pass's frames into one write and a pair that writes each frame",
            &r.coalesce,
        ),
    ] {
        println!(
            "| the same, {what} ({} each) | p50 {:.2} / {:.2} ms (ratio {:.2}), p99 {:.2} / {:.2} ms |",
            on.len(),
            ms(percentile(on, 50.0)),
            ms(percentile(off, 50.0)),
            ms(percentile(on, 50.0)) / ms(percentile(off, 50.0)).max(f64::MIN_POSITIVE),
            ms(percentile(on, 99.0)),
            ms(percentile(off, 99.0))
        );
    }
    let rate = s.recoveries as f64 / r.load.wall.as_secs_f64();
    println!(
        "| {} recoveries, ≤ {} in flight over {} connections | {:.2} s: **{:.0} recoveries/s** ({} failed) |",
        s.recoveries,
        s.in_flight,
        s.client_swarms,
        r.load.wall.as_secs_f64(),
        rate,
        r.load.failed
    );
    println!(
        "| handshake latency under that load | p50 {:.1} ms, p99 {:.1} ms |",
        ms(percentile(&r.load.under_load, 50.0)),
        ms(percentile(&r.load.under_load, 99.0))
    );
    println!(
        "| ratio to bare 2-thread verify (wall, all parties on the same cores) | **{:.1} %** (goal ≥ 60 %) |",
        100.0 * rate / r.double.0
    );
    println!();
    let per = |secs: f64| 1000.0 * secs / s.recoveries as f64;
    let cpu = &r.load.cpu;
    let provider = cpu.group(PROVIDER_THREADS);
    println!("CPU time during the throughput run (ms per recovery; 2 cores = {:.1} ms of CPU per recovery at the measured rate):", 2000.0 / rate);
    println!();
    println!("| provider runtime | client runtimes | chain node process | other threads |");
    println!("|---|---|---|---|");
    println!(
        "| {:.2} | {:.2} | {:.2} | {:.2} |",
        per(provider),
        per(cpu.group(CLIENT_THREADS)),
        per(cpu.chain),
        per(cpu.other())
    );
    if provider > 0.0 {
        let provider_cpu = provider / s.recoveries as f64;
        println!();
        println!(
            "CPU-time ratio (load-independent): a recovery costs the provider {:.0} µs of CPU, a bare verify {:.0} µs: \
             the provider alone on 2 cores would serve {:.0} recoveries/s = **{:.1} %** of bare verify throughput \
             (2 cores / {:.0} µs = {:.0} verifies/s; goal ≥ 70 %, i.e. at most 1/0.7 bare verifications of CPU)",
            provider_cpu * 1e6,
            r.double.1 * 1e6,
            2.0 / provider_cpu,
            100.0 * r.double.1 / provider_cpu,
            r.double.1 * 1e6,
            2.0 / r.double.1
        );
    }
    let ((verify, arms), exchanges) = &r.paired;
    if let [default, per_frame, unbounded] = arms.as_slice() {
        println!();
        println!(
            "Time-matched CPU ({} rounds, each a {} ms slice of bare 2-thread verification and {} recoveries against each of three providers, \
             ≤ {} in flight, distinct accounts; the providers' order reversed every round): a bare verify {:.0} µs; \
             a recovery by the default provider {:.0} µs = **{:.2}** bare verifications (goal ≤ 1/0.7 = 1.43); \
             writing each frame on its own {:.0} µs = {:.2} (default / it: **{:.2}**); \
             verifying every recovery in flight at once {:.0} µs = {:.2} (default / it: **{:.2}**)",
            s.paired_rounds,
            s.paired_verify_slice.as_millis(),
            s.recoveries / s.paired_rounds,
            s.in_flight,
            verify * 1e6,
            default * 1e6,
            default / verify,
            per_frame * 1e6,
            per_frame / verify,
            default / per_frame,
            unbounded * 1e6,
            unbounded / verify,
            default / unbounded
        );
    }
    if let [coalesced, per_frame] = exchanges.as_slice() {
        println!();
        println!(
            "Provider CPU per `RequestNonce` exchange ({} at ≤ {} in flight, no quote work: the transport and dispatch of one request): \
             {:.1} µs with writes coalesced, {:.1} µs writing each frame on its own (ratio **{:.2}**)",
            s.nonce_exchanges(),
            s.in_flight,
            coalesced * 1e6,
            per_frame * 1e6,
            coalesced / per_frame
        );
    }
    println!();
    let per_request_rate = s.recoveries as f64 / r.per_request_load.wall.as_secs_f64();
    let view_cpu = cpu.group(PROVIDER_THREADS) / s.recoveries as f64;
    let pr_cpu = r.per_request_load.cpu.group(PROVIDER_THREADS) / s.recoveries as f64;
    println!(
        "Verified view against a per-request proven registration lookup, same run, same clients:"
    );
    println!();
    println!("| provider | idle p50 | idle p99 | recoveries/s ({} in flight) | provider CPU per recovery | chain node CPU per recovery |", s.in_flight);
    println!("|---|---|---|---|---|---|");
    for (name, latency, load, rate, prov_cpu) in [
        ("verified view (memory)", &r.latency, &r.load, rate, view_cpu),
        (
            "per-request proven lookup",
            &r.per_request_latency,
            &r.per_request_load,
            per_request_rate,
            pr_cpu,
        ),
    ] {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.0} ({} failed) | {:.0} µs | {:.0} µs |",
            ms(percentile(latency, 50.0)),
            ms(percentile(latency, 99.0)),
            rate,
            load.failed,
            prov_cpu * 1e6,
            1e6 * load.cpu.chain / s.recoveries as f64
        );
    }
    println!(
        "| ratio view / per-request | {:.2} | {:.2} | {:.2} | {:.2} | |",
        ms(percentile(&r.latency, 50.0)) / ms(percentile(&r.per_request_latency, 50.0)),
        ms(percentile(&r.latency, 99.0)) / ms(percentile(&r.per_request_latency, 99.0)),
        rate / per_request_rate,
        view_cpu / pr_cpu
    );
    println!();
    let http_rate = s.recoveries as f64 / r.http_load.wall.as_secs_f64();
    let http_cpu = r.http_load.cpu.group(PROVIDER_THREADS) / s.recoveries as f64;
    // The clients share these 2 cores, so their CPU bounds the rate as much as the provider's.
    let client_cpu = r.load.cpu.group(CLIENT_THREADS) / s.recoveries as f64;
    let http_client_cpu = r.http_load.cpu.group(CLIENT_THREADS) / s.recoveries as f64;
    println!(
        "libp2p (noise + yamux, SCALE) against HTTP/1.1 + JSON (axum + hyper, plain TCP), same provider, same run:"
    );
    println!();
    println!("| transport | idle p50 | idle p99 | recoveries/s ({} in flight) | p50 / p99 under load | bytes on the wire per handshake | provider CPU per recovery | clients' CPU per recovery |", s.in_flight);
    println!("|---|---|---|---|---|---|---|---|");
    for (name, latency, load, rate, bytes, prov_cpu, cli_cpu) in [
        ("libp2p", &r.latency, &r.load, rate, r.wire.0, view_cpu, client_cpu),
        (
            "HTTP/1.1 + JSON",
            &r.http_latency,
            &r.http_load,
            http_rate,
            r.wire.1,
            http_cpu,
            http_client_cpu,
        ),
    ] {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.0} ({} failed) | {:.1} / {:.1} ms | {:.0} B | {:.0} µs | {:.0} µs |",
            ms(percentile(latency, 50.0)),
            ms(percentile(latency, 99.0)),
            rate,
            load.failed,
            ms(percentile(&load.under_load, 50.0)),
            ms(percentile(&load.under_load, 99.0)),
            bytes,
            prov_cpu * 1e6,
            cli_cpu * 1e6
        );
    }
    println!(
        "| `RequestNonce` round trip alone, idle p50 | {:.3} ms (libp2p) | {:.3} ms (HTTP) | ratio {:.2} | | | | |",
        ms(percentile(&r.load.nonce_rtt, 50.0)),
        ms(percentile(&r.http_load.nonce_rtt, 50.0)),
        ms(percentile(&r.load.nonce_rtt, 50.0)) / ms(percentile(&r.http_load.nonce_rtt, 50.0))
    );
    println!(
        "| `RequestNonce` to a libp2p responder that answers from the inbound queue at once, idle p50 | {:.3} ms | | | | | | |",
        ms(percentile(&r.echo_rtt, 50.0))
    );
    let (libp2p_alt, http_alt) = &r.transports;
    println!(
        "| idle handshake, the two transports alternating ({} each), p50 / p99 | {:.2} / {:.2} ms (libp2p) | {:.2} / {:.2} ms (HTTP) | ratio {:.2} / {:.2} | | | | |",
        libp2p_alt.len(),
        ms(percentile(libp2p_alt, 50.0)),
        ms(percentile(libp2p_alt, 99.0)),
        ms(percentile(http_alt, 50.0)),
        ms(percentile(http_alt, 99.0)),
        ms(percentile(libp2p_alt, 50.0)) / ms(percentile(http_alt, 50.0)).max(f64::MIN_POSITIVE),
        ms(percentile(libp2p_alt, 99.0)) / ms(percentile(http_alt, 99.0)).max(f64::MIN_POSITIVE)
    );
    println!(
        "| ratio libp2p / HTTP | {:.2} | {:.2} | {:.2} | {:.2} / {:.2} | {:.2} | {:.2} | {:.2} |",
        ms(percentile(&r.latency, 50.0)) / ms(percentile(&r.http_latency, 50.0)),
        ms(percentile(&r.latency, 99.0)) / ms(percentile(&r.http_latency, 99.0)),
        rate / http_rate,
        ms(percentile(&r.load.under_load, 50.0)) / ms(percentile(&r.http_load.under_load, 50.0)),
        ms(percentile(&r.load.under_load, 99.0)) / ms(percentile(&r.http_load.under_load, 99.0)),
        r.wire.0 / r.wire.1,
        view_cpu / http_cpu,
        client_cpu / http_client_cpu
    );
    println!();
    let f = &r.flood;
    println!(
        "Under a flood (a provider with the production limits; 8 protocol attackers with spoofed requests for the victim, \
         unregistered accounts and junk quotes, and a frame attacker: {} requests and {} hostile frames during the flooded measurements; \
         attackers on 2 threads of their own on the same 2 cores):",
        f.sent, f.frames
    );
    println!();
    println!("| | idle | flooded | flooded / idle |");
    println!("|---|---|---|---|");
    println!(
        "| victim recovery from a fresh peer, p50 ({} each) | {:.2} ms | {:.2} ms | {:.2} |",
        f.victim_idle.len(),
        ms(percentile(&f.victim_idle, 50.0)),
        ms(percentile(&f.victim_flooded, 50.0)),
        ms(percentile(&f.victim_flooded, 50.0)) / ms(percentile(&f.victim_idle, 50.0))
    );
    println!(
        "| victim recovery, p99 | {:.2} ms | {:.2} ms | {:.2} |",
        ms(percentile(&f.victim_idle, 99.0)),
        ms(percentile(&f.victim_flooded, 99.0)),
        ms(percentile(&f.victim_flooded, 99.0)) / ms(percentile(&f.victim_idle, 99.0))
    );
    println!(
        "| legitimate recoveries/s ({} distinct accounts over {} peers) | {:.0} ({} failed) | {:.0} ({} failed) | **{:.0} %** (goal ≥ 50 %) |",
        f.recoveries,
        f.legit_peers,
        f.rate_idle,
        f.failed_idle,
        f.rate_flooded,
        f.failed_flooded,
        100.0 * f.rate_flooded / f.rate_idle
    );
    println!();
    println!("Stages of one recovery measured alone (mean of {} runs):", s.stage_iterations);
    println!();
    println!("| side | stage | mean |");
    println!("|---|---|---|");
    println!("| provider | `verify_quote` (CPU) | {:.0} µs |", 1e6 * r.single.1);
    for (side, stage, time) in &r.stages {
        println!("| {side} | {stage} | {:.0} µs |", us(*time));
    }
    println!();
    println!(
        "providers: {} recoveries served with the view, {} per-request; max_concurrent {}",
        r.served, r.per_request_served, r.max_concurrent
    );
}
