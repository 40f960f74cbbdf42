//! What verification costs the TSS node: CPU per newly final block (the GRANDPA justification
//! check for 1, 4 and 32 authorities, everyone signing; a read proof of 52 keys against a state
//! of 20,000 entries, the size of a full server-list reload for 16 servers), and the wall time of
//! connecting from a genesis trust root to a real dev chain 2,000 blocks long (every header
//! fetched and verified, then the first view). `cargo bench -p peerseal-chain --bench verify`
//! (needs `peerseal-node`, built by the harness when missing).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codec::Encode;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use peerseal_chain::verify::finality::{verify_justification, AuthoritySet, Header};
use peerseal_chain::verify::proof::check_read_proof;
use sp_core::{ed25519, Pair, H256};
use sp_runtime::traits::{BlakeTwo256, Header as _};
use sp_state_machine::{prove_read, InMemoryBackend};

fn justification(pairs: &[ed25519::Pair], set_id: u64, target: &Header) -> Vec<u8> {
    let t = (target.hash(), *target.number());
    let precommits = pairs
        .iter()
        .map(|pair| {
            let precommit = finality_grandpa::Precommit { target_hash: t.0, target_number: t.1 };
            let payload = sp_consensus_grandpa::localized_payload(
                1,
                set_id,
                &finality_grandpa::Message::Precommit(precommit.clone()),
            );
            finality_grandpa::SignedPrecommit {
                precommit,
                signature: sp_consensus_grandpa::AuthoritySignature::from(pair.sign(&payload)),
                id: sp_consensus_grandpa::AuthorityId::from(pair.public()),
            }
        })
        .collect();
    sp_consensus_grandpa::GrandpaJustification::<Header> {
        round: 1,
        commit: finality_grandpa::Commit { target_hash: t.0, target_number: t.1, precommits },
        votes_ancestries: vec![],
    }
    .encode()
}

fn bench_justification(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_justification");
    for n in [1usize, 4, 32] {
        let pairs: Vec<ed25519::Pair> =
            (0..n).map(|i| ed25519::Pair::from_seed(&[i as u8 + 1; 32])).collect();
        let set = AuthoritySet {
            set_id: 3,
            authorities: pairs.iter().map(|p| (p.public().0, 1)).collect(),
        };
        let header = Header::new(
            100,
            H256::repeat_byte(1),
            H256::repeat_byte(2),
            H256::repeat_byte(3),
            Default::default(),
        );
        let encoded = justification(&pairs, 3, &header);
        group.bench_with_input(BenchmarkId::from_parameter(n), &encoded, |b, encoded| {
            b.iter(|| verify_justification(&set, header.hash(), 100, encoded).unwrap())
        });
    }
    group.finish();
}

fn bench_read_proof(c: &mut Criterion) {
    // A state with 20,000 entries of 100 bytes to 2 KiB, like a chain with a few thousand
    // accounts; the view of 16 servers reads 4 + 16 * 3 keys.
    let mut pairs: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0u32..20_000)
        .map(|i| {
            let key = sp_crypto_hashing::blake2_256(&i.to_le_bytes()).to_vec();
            (key, Some(vec![i as u8; 100 + (i as usize % 1948)]))
        })
        .collect();
    let keys: Vec<Vec<u8>> = pairs.iter().step_by(400).take(52).map(|(k, _)| k.clone()).collect();
    pairs.sort();
    let mut backend = InMemoryBackend::<BlakeTwo256>::default();
    backend.insert(vec![(None, pairs)], sp_core::storage::StateVersion::V1);
    let root = *backend.root();
    let nodes: Vec<Vec<u8>> = prove_read(backend, &keys).unwrap().into_iter_nodes().collect();
    c.bench_function("check_read_proof/52_keys_of_20000", |b| {
        b.iter(|| check_read_proof(root, nodes.clone(), &keys).unwrap())
    });
}

fn bench_sync_from_genesis(c: &mut Criterion) {
    const BLOCKS: u32 = 2_000;
    // Blocks every 5 ms: the chain is 2,000 blocks long after about 10 s.
    let chain = peerseal_testkit::DevChain::start(&["--dev", "--block-time", "5"]).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let trust = peerseal_testkit::genesis_trust_root(&chain.url).unwrap();
    runtime.block_on(async {
        let client = peerseal_chain::ChainClient::connect(&chain.url, trust.clone()).await.unwrap();
        client.wait_verified(u64::from(BLOCKS), std::time::Duration::from_secs(120)).await.unwrap();
    });
    let mut group = c.benchmark_group("connect_from_genesis");
    group.sample_size(10);
    group.bench_function(format!("{BLOCKS}+_blocks"), |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let started = std::time::Instant::now();
                let client = runtime
                    .block_on(peerseal_chain::ChainClient::connect(&chain.url, trust.clone()))
                    .unwrap();
                total += started.elapsed();
                drop(client);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench_justification, bench_read_proof, bench_sync_from_genesis);
criterion_main!(benches);
