//! Encrypted store vs plain sled, side by side in one run; and full-rotation throughput.
//!
//! `cargo bench -p peerseal-kvdb --bench kvdb` (numbers and ratios in BENCHMARKS.md).
// A benchmark that cannot set up its fixture has nothing to measure: failing loudly is right.
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use peerseal_kvdb::{DbKey, Store};

const KEYS: usize = 10_000;
const SIZES: [usize; 3] = [64, 1024, 16 * 1024];

fn record_key(i: usize) -> [u8; 8] {
    (i as u64).to_be_bytes()
}

fn get_and_insert(c: &mut Criterion) {
    for size in SIZES {
        let dir = tempfile::tempdir().expect("tempdir");
        let plain_db = sled::open(dir.path().join("plain")).expect("sled");
        let plain = plain_db.open_tree("t").expect("tree");
        let store = Store::create(dir.path().join("sealed"), &DbKey::generate().expect("key"))
            .expect("store");
        let sealed = store.tree("t").expect("tree");
        let value = vec![0xA5u8; size];
        for i in 0..KEYS {
            plain.insert(record_key(i), value.as_slice()).expect("insert");
            sealed.insert(record_key(i), &value).expect("insert");
        }

        let mut group = c.benchmark_group(format!("get/{size}B"));
        group.throughput(Throughput::Bytes(size as u64));
        let mut i = 0usize;
        group.bench_function(BenchmarkId::new("plain-sled", size), |b| {
            b.iter(|| {
                i = (i + 7919) % KEYS;
                // Copy out as the encrypted store must, so both return an owned value.
                plain.get(record_key(i)).expect("get").map(|v| v.to_vec())
            })
        });
        group.bench_function(BenchmarkId::new("peerseal", size), |b| {
            b.iter(|| {
                i = (i + 7919) % KEYS;
                sealed.get(record_key(i)).expect("get")
            })
        });
        group.finish();

        let mut group = c.benchmark_group(format!("insert/{size}B"));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("plain-sled", size), |b| {
            b.iter(|| {
                i = (i + 7919) % KEYS;
                plain.insert(record_key(i), value.as_slice()).expect("insert")
            })
        });
        group.bench_function(BenchmarkId::new("peerseal", size), |b| {
            b.iter(|| {
                i = (i + 7919) % KEYS;
                sealed.insert(record_key(i), &value).expect("insert")
            })
        });
        group.finish();
    }
}

/// Re-sealing a 100 MiB store (6,400 records of 16 KiB) to a new epoch key, next to rewriting
/// the same bytes in plain sled (the storage engine's own cost: the physical floor).
fn rotation(c: &mut Criterion) {
    const VALUE: usize = 16 * 1024;
    const TOTAL: usize = 100 * 1024 * 1024;
    let records = TOTAL / VALUE;
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Store::create(dir.path().join("sealed"), &DbKey::generate().expect("key")).expect("store");
    let plain_db = sled::open(dir.path().join("plain")).expect("sled");
    let plain = plain_db.open_tree("t").expect("tree");
    let tree = store.tree("t").expect("tree");
    let value = vec![0x3Cu8; VALUE];
    for i in 0..records {
        tree.insert(record_key(i), &value).expect("insert");
        plain.insert(record_key(i), value.as_slice()).expect("insert");
    }
    store.flush().expect("flush");
    plain_db.flush().expect("flush");

    let mut group = c.benchmark_group("rotation/100MiB");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.bench_function("plain-sled-rewrite", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for n in 0..iters {
                for i in 0..records {
                    let mut v = value.clone();
                    v[0] = n as u8;
                    plain.insert(record_key(i), v).expect("insert");
                }
                plain_db.flush().expect("flush");
            }
            start.elapsed()
        })
    });
    group.bench_function("peerseal-rotate", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let next = DbKey::generate().expect("key");
                let start = Instant::now();
                store.rotate(&next).expect("rotate");
                elapsed += start.elapsed();
            }
            elapsed
        })
    });
    group.finish();
}

criterion_group!(benches, get_and_insert, rotation);
criterion_main!(benches);
