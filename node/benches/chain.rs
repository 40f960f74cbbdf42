//! Block production of the dev chain, in process: an empty block vs a block of 100 transfers,
//! and the pool's validation cost per submitted transaction.
//!
//! `cargo bench -p peerseal-node --bench chain` (numbers in BENCHMARKS.md).
// A benchmark that cannot set up its fixture has nothing to measure: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use peerseal_node::spec::ChainSpec;
use peerseal_node::{Chain, ChainConfig, Executor};

fn dev_chain() -> std::sync::Arc<Chain> {
    let executor = Executor::new(peerseal_runtime::api::dispatch);
    let spec = ChainSpec::dev(&executor).unwrap();
    Chain::new(
        executor,
        ChainConfig {
            genesis: spec.genesis().unwrap(),
            block_time: Duration::from_secs(3600),
            instant_seal: false,
            state_pruning: 32,
            base_path: None,
            pool_limit: 100_000,
            minimum_period_ms: peerseal_runtime::MINIMUM_PERIOD_MS,
        },
    )
    .unwrap()
}

fn block_production(c: &mut Criterion) {
    let chain = dev_chain();
    let alice = support::pair("//Alice");
    let bob = support::account(&support::pair("//Bob"));
    let genesis = chain.genesis_hash();
    let mut group = c.benchmark_group("block");
    group.sample_size(20);
    group.bench_function("empty", |b| b.iter(|| chain.produce_block().unwrap()));
    group.bench_function("100-transfers", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let nonce = chain.next_nonce(&support::account(&alice)).unwrap();
                for i in 0..100 {
                    let xt = support::transfer(&alice, &bob, 1_000_000, nonce + i, genesis);
                    chain.submit(&xt, false).unwrap();
                }
                let start = Instant::now();
                chain.produce_block().unwrap();
                spent += start.elapsed();
                assert_eq!(chain.pool_len(), 0, "all 100 transfers must be included");
            }
            spent
        })
    });
    group.finish();

    let mut group = c.benchmark_group("pool");
    group.throughput(Throughput::Elements(100));
    group.sample_size(20);
    group.bench_function("validate-100-transfers", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let nonce = chain.next_nonce(&support::account(&alice)).unwrap();
                let xts: Vec<Vec<u8>> = (0..100)
                    .map(|i| support::transfer(&alice, &bob, 1_000_000, nonce + i, genesis))
                    .collect();
                let start = Instant::now();
                for xt in &xts {
                    chain.submit(xt, false).unwrap();
                }
                spent += start.elapsed();
                chain.produce_block().unwrap();
            }
            spent
        })
    });
    group.finish();
}

criterion_group!(benches, block_production);
criterion_main!(benches);
