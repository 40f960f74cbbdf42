//! The kill -9 soak (issue 12): a devnet of four dev nodes on one dev chain; a writer writes and
//! flushes numbered records through the nodes' stores (`POST /dev/records/<n>`, acknowledged
//! only once flushed); a loop SIGKILLs a random node — sometimes two at once, sometimes again
//! while the restarted one is mid-rotation — and restarts it, for `SOAK_CYCLES` cycles
//! (default 100). At the end every acknowledged record is read back. Reports cycles,
//! recoveries, rotations and lost acknowledged writes (goal: 0), as text and as one JSON line.
//!
//! `cargo bench -p peerseal-e2e --bench soak` (needs the `peerseal-dev` binary, which the
//! workspace test build makes). Not a test: it runs for minutes.
// A benchmark harness: fixtures fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal_testkit::{dev_ports, DaemonOptions, DevChain, TssDaemon};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];

/// A small deterministic generator (xorshift64*): the seed is printed, so a run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Where each node's HTTP endpoint is (changes at every restart) and what it acknowledged.
struct Shared {
    http: Mutex<Vec<Option<std::net::SocketAddr>>>,
    acked: Mutex<Vec<BTreeSet<u64>>>,
    refused: Mutex<u64>,
}

fn start(name: &'static str, chain: &DevChain, dirs: &Path) -> TssDaemon {
    TssDaemon::start_with(name, &chain.url, &dirs.join(name), &DaemonOptions::logs_in(dirs))
        .unwrap()
}

async fn writer(shared: Arc<Shared>, stop: Arc<std::sync::atomic::AtomicBool>) {
    let mut next = vec![0u64; NAMES.len()];
    let mut turn = 0usize;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        turn = (turn + 1) % NAMES.len();
        let addr = shared.http.lock().unwrap()[turn];
        if let Some(addr) = addr {
            let n = next[turn];
            match peerseal::http::post(addr, &format!("/dev/records/{n}")).await {
                Ok((200, _)) => {
                    shared.acked.lock().unwrap()[turn].insert(n);
                    next[turn] += 1;
                }
                // Not ready, killed mid-request, ...: not acknowledged, so not counted.
                _ => *shared.refused.lock().unwrap() += 1,
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn wait_ready(node: &TssDaemon) -> peerseal::Status {
    node.wait_for("ready", 240).await.unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let cycles: usize =
        std::env::var("SOAK_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let seed = std::env::var("SOAK_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            as u64
            | 1
    });
    let mut rng = Rng(seed);
    let _ports = dev_ports().await.unwrap();
    let chain = peerseal_e2e::dev_chain();
    let dirs = tempfile::tempdir().unwrap();
    let mut nodes: Vec<Option<TssDaemon>> =
        NAMES.iter().map(|n| Some(start(n, &chain, dirs.path()))).collect();
    let shared = Arc::new(Shared {
        http: Mutex::new(vec![None; NAMES.len()]),
        acked: Mutex::new(vec![BTreeSet::new(); NAMES.len()]),
        refused: Mutex::new(0),
    });
    let mut epochs = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let node = node.as_ref().unwrap();
        epochs.push(wait_ready(node).await.epoch.unwrap());
        shared.http.lock().unwrap()[i] = Some(node.http);
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writing = tokio::spawn(writer(shared.clone(), stop.clone()));
    let started = Instant::now();
    let (mut recoveries, mut rotations, mut doubles, mut mid_rotation) = (0u64, 0u64, 0u64, 0u64);
    let mut recovery_ms = Vec::new();

    for cycle in 1..=cycles {
        let first = rng.below(NAMES.len());
        let mut victims = vec![first];
        if rng.chance(20) {
            victims.push((first + 1 + rng.below(NAMES.len() - 1)) % NAMES.len());
            doubles += 1;
        }
        for &v in &victims {
            shared.http.lock().unwrap()[v] = None;
            nodes[v].take().unwrap().kill();
        }
        for &v in &victims {
            let node = start(NAMES[v], &chain, dirs.path());
            nodes[v] = Some(node);
        }
        if rng.chance(25) {
            // Again, while the first restarted one is mid-rotation (its boot rotation).
            let v = victims[0];
            let node = nodes[v].as_ref().unwrap();
            let rotating = node
                .wait_until("rotating", Duration::from_secs(120), |s| {
                    matches!(s.state.label(), "rotating" | "ready")
                })
                .await
                .unwrap();
            if rotating.state.label() == "rotating" {
                mid_rotation += 1;
            }
            nodes[v].take().unwrap().kill();
            nodes[v] = Some(start(NAMES[v], &chain, dirs.path()));
        }
        for &v in &victims {
            let node = nodes[v].as_ref().unwrap();
            let status = wait_ready(node).await;
            recoveries += 1;
            recovery_ms.extend(status.recovery_ms);
            let epoch = status.epoch.unwrap();
            rotations += epoch.saturating_sub(epochs[v]);
            epochs[v] = epoch;
            shared.http.lock().unwrap()[v] = Some(node.http);
        }
        if cycle % 10 == 0 {
            let acked: usize = shared.acked.lock().unwrap().iter().map(BTreeSet::len).sum();
            eprintln!("[soak] cycle {cycle}/{cycles}: {acked} writes acknowledged so far");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writing.await.unwrap();

    // Every acknowledged record must read back from the node that acknowledged it.
    let acked = shared.acked.lock().unwrap().clone();
    let mut lost = 0u64;
    for (i, records) in acked.iter().enumerate() {
        let node = nodes[i].as_ref().unwrap();
        for n in records {
            let (code, body) =
                peerseal::http::get(node.http, &format!("/dev/records/{n}")).await.unwrap();
            if code != 200 || body.trim() != format!("record {n}") {
                lost += 1;
            }
        }
    }
    let total: usize = acked.iter().map(BTreeSet::len).sum();
    recovery_ms.sort_unstable();
    let p50 = recovery_ms.get(recovery_ms.len() / 2).copied().unwrap_or(0);
    let p99 = recovery_ms.get(recovery_ms.len() * 99 / 100).copied().unwrap_or(0);
    let secs = started.elapsed().as_secs();
    println!(
        "soak: {cycles} cycles in {secs} s (seed {seed}): {recoveries} recoveries ({doubles} \
         double kills, {mid_rotation} kills mid-rotation), {rotations} rotations, {total} \
         acknowledged writes, {lost} lost; recovery p50 {p50} ms, p99 {p99} ms; {} writes not \
         acknowledged (node down or not ready)",
        shared.refused.lock().unwrap()
    );
    println!(
        "{{\"cycles\":{cycles},\"seed\":{seed},\"secs\":{secs},\"recoveries\":{recoveries},\
         \"double_kills\":{doubles},\"mid_rotation_kills\":{mid_rotation},\"rotations\":{rotations},\
         \"acked_writes\":{total},\"lost_acked_writes\":{lost},\"recovery_p50_ms\":{p50},\
         \"recovery_p99_ms\":{p99}}}"
    );
    assert_eq!(lost, 0, "acknowledged writes were lost");
}
