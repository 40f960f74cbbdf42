//! JSON-RPC latency over a real WebSocket on loopback, against an in-process dev chain with
//! instant sealing and a 1 s idle block time: `state_getStorage` round trips (p50/p99) and
//! submit-to-finalized of signed transfers (p50/p99), compared with the idle block time.
//!
//! `cargo bench -p peerseal-node --bench rpc_latency` (numbers in BENCHMARKS.md). Prints a table;
//! percentiles need the raw samples, which criterion does not report.
// A benchmark that cannot set up its fixture has nothing to measure: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use codec::Encode;
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use peerseal_node::rpc::{self, NodeInfo, RpcConfig};
use peerseal_node::spec::ChainSpec;
use peerseal_node::{Chain, ChainConfig, Executor};

const BLOCK_TIME: Duration = Duration::from_millis(1000);
const READS: usize = 2000;
const SUBMITS: u32 = 50;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run a short smoke
    // version then, so the bench code stays compiled and exercised.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (reads, submits) = if quick { (20, 2) } else { (READS, SUBMITS) };
    let executor = Executor::new(peerseal_runtime::api::dispatch);
    let spec = ChainSpec::dev(&executor).unwrap();
    let chain = Chain::new(
        executor,
        ChainConfig {
            genesis: spec.genesis().unwrap(),
            block_time: BLOCK_TIME,
            instant_seal: true,
            state_pruning: 256,
            base_path: None,
            pool_limit: 10_000,
            minimum_period_ms: peerseal_runtime::MINIMUM_PERIOD_MS,
        },
    )
    .unwrap();
    chain.spawn_producer().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let info = NodeInfo {
            chain_name: spec.name.clone(),
            chain_type: spec.chain_type.clone(),
            properties: spec.properties.clone(),
        };
        let (addr, handle) = rpc::serve(chain.clone(), info, RpcConfig::loopback(0)).await.unwrap();
        let client = WsClientBuilder::default().build(format!("ws://{addr}")).await.unwrap();

        let alice = support::pair("//Alice");
        let mut key = sp_crypto_hashing::twox_128(b"System").to_vec();
        key.extend_from_slice(&sp_crypto_hashing::twox_128(b"Account"));
        let who = support::account(&alice).encode();
        key.extend_from_slice(&sp_crypto_hashing::blake2_128(&who));
        key.extend_from_slice(&who);
        let key_hex = format!("0x{}", hex::encode(&key));
        let mut reads_taken = Vec::with_capacity(reads);
        for _ in 0..reads {
            let start = Instant::now();
            let value: Option<String> =
                client.request("state_getStorage", rpc_params![key_hex.clone()]).await.unwrap();
            reads_taken.push(start.elapsed());
            assert!(value.is_some());
        }
        reads_taken.sort();

        let bob = support::account(&support::pair("//Bob"));
        let genesis = chain.genesis_hash();
        let mut finals = Vec::new();
        for _ in 0..submits {
            let nonce = chain.next_nonce(&support::account(&alice)).unwrap();
            let xt = support::transfer(&alice, &bob, 1_000_000, nonce, genesis);
            let start = Instant::now();
            let mut sub = client
                .subscribe::<serde_json::Value, _>(
                    "author_submitAndWatchExtrinsic",
                    rpc_params![format!("0x{}", hex::encode(&xt))],
                    "author_unwatchExtrinsic",
                )
                .await
                .unwrap();
            loop {
                let status = tokio::time::timeout(Duration::from_secs(30), sub.next())
                    .await
                    .expect("status in time")
                    .expect("stream open")
                    .unwrap();
                if status.get("finalized").is_some() {
                    break;
                }
                assert!(status.get("invalid").is_none() && status != "invalid", "{status}");
            }
            finals.push(start.elapsed());
        }
        finals.sort();
        let _ = handle.stop();

        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let block = ms(BLOCK_TIME);
        println!("| metric | p50 | p99 | p50 / idle block time ({block:.0} ms) |");
        println!("|---|---|---|---|");
        println!(
            "| state_getStorage round trip ({reads} reads) | {:.3} ms | {:.3} ms | {:.6} |",
            ms(support::percentile(&reads_taken, 50.0)),
            ms(support::percentile(&reads_taken, 99.0)),
            ms(support::percentile(&reads_taken, 50.0)) / block
        );
        println!(
            "| submit → finalized ({submits} transfers) | {:.1} ms | {:.1} ms | {:.3} |",
            ms(support::percentile(&finals, 50.0)),
            ms(support::percentile(&finals, 99.0)),
            ms(support::percentile(&finals, 50.0)) / block
        );
    });
}
