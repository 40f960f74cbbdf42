//! Encrypted store vs plain sled vs the bare AEAD, side by side in one run; and full-rotation
//! throughput. Prints the goal of issue 14 at the end: encrypted ≤ plain + 1.3 × bare.
//!
//! `cargo bench -p peerseal-kvdb --bench kvdb` (numbers and ratios in BENCHMARKS.md).
// A benchmark that cannot set up its fixture has nothing to measure: failing loudly is right.
#![allow(clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use peerseal_kvdb::{DbKey, Store};

const KEYS: usize = 10_000;
const SIZES: [usize; 3] = [64, 1024, 16 * 1024];
/// Length of a record's AAD in this benchmark: lp(label) 24 + format 1 + store id 16 +
/// epoch 8 + lp("t") 5 + lp(8-byte key) 12.
const AAD_LEN: usize = 66;

/// Bytes a sealed record adds to its value: format byte, epoch, nonce, tag.
const RECORD_OVERHEAD: usize = 1 + 8 + 24 + 16;

fn record_key(i: usize) -> [u8; 8] {
    (i as u64).to_be_bytes()
}

fn load(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).expect("key"))
}

fn hchacha20(key: &[u8; 32], input: &[u8; 16]) -> [u8; 32] {
    chacha20::hchacha::<chacha20::R20>(key.into(), input.into()).into()
}

fn inner_nonce(nonce: &[u8; 24]) -> Nonce {
    let mut inner = [0u8; 12];
    inner[4..].copy_from_slice(&nonce[16..]);
    Nonce::assume_unique_for_key(inner)
}

/// The bare AEAD work of the store with the chosen implementation, nothing else: sealing is
/// ChaCha20-Poly1305 under the session subkey that stays loaded (the store's write path);
/// opening a record of an earlier session is XChaCha20-Poly1305 from scratch: HChaCha20 for
/// the subkey, load it, open (the store's read path after a restart, which this bench measures).
struct Bare {
    sealing_key: [u8; 32],
    session: LessSafeKey,
    aad: [u8; AAD_LEN],
}

impl Bare {
    fn new() -> Self {
        let sealing_key = [0x42; 32];
        let session = load(&hchacha20(&sealing_key, &[7; 16]));
        Self { sealing_key, session, aad: [0x5a; AAD_LEN] }
    }

    fn seal(&self, nonce: &[u8; 24], in_out: &mut [u8]) -> aws_lc_rs::aead::Tag {
        self.session
            .seal_in_place_separate_tag(inner_nonce(nonce), Aad::from(&self.aad[..]), in_out)
            .expect("seal")
    }

    fn open(&self, nonce: &[u8; 24], ciphertext: &[u8], tag: &[u8], out: &mut [u8]) {
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&nonce[..16]);
        let key = load(&hchacha20(&self.sealing_key, &prefix));
        key.open_separate_gather(inner_nonce(nonce), Aad::from(&self.aad[..]), ciphertext, tag, out)
            .expect("open")
    }
}

fn get_and_insert(c: &mut Criterion) {
    let bare = Bare::new();
    for size in SIZES {
        let dir = tempfile::tempdir().expect("tempdir");
        let plain_db = sled::open(dir.path().join("plain")).expect("sled");
        let plain = plain_db.open_tree("t").expect("tree");
        let db_key = DbKey::generate().expect("key");
        let value = vec![0xA5u8; size];
        {
            let store = Store::create(dir.path().join("sealed"), &db_key).expect("store");
            let sealed = store.tree("t").expect("tree");
            for i in 0..KEYS {
                plain.insert(record_key(i), value.as_slice()).expect("insert");
                sealed.insert(record_key(i), &value).expect("insert");
            }
            store.flush().expect("flush");
        }
        // Reopen: the records now belong to an earlier session, as after any restart, so every
        // get derives its record's subkey (the slower of the two read paths).
        let store = Store::open(dir.path().join("sealed"), &db_key).expect("reopen");
        let sealed = store.tree("t").expect("tree");

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
        let mut nonce = [7u8; 24]; // prefix = the session prefix of `Bare::new`
        let mut ciphertext = value.clone();
        let tag = bare.seal(&nonce, &mut ciphertext);
        let mut out = vec![0u8; size];
        group.bench_function(BenchmarkId::new("bare-open", size), |b| {
            b.iter(|| bare.open(&nonce, &ciphertext, tag.as_ref(), &mut out))
        });
        group.finish();

        let mut group = c.benchmark_group(format!("insert/{size}B"));
        group.throughput(Throughput::Bytes(size as u64));
        // sled skips a write whose value equals the stored one, and every plain record holds
        // `value`: stamp a counter into it so plain sled really writes, as the encrypted store
        // always does (a fresh nonce makes every sealed record new bytes).
        let mut fresh = value.clone();
        let mut stamp = 0u64;
        group.bench_function(BenchmarkId::new("plain-sled", size), |b| {
            b.iter(|| {
                i = (i + 7919) % KEYS;
                stamp += 1;
                fresh[..8].copy_from_slice(&stamp.to_le_bytes());
                plain.insert(record_key(i), fresh.as_slice()).expect("insert")
            })
        });
        group.bench_function(BenchmarkId::new("peerseal", size), |b| {
            b.iter(|| {
                i = (i + 7919) % KEYS;
                sealed.insert(record_key(i), &value).expect("insert")
            })
        });
        // Plain sled writing values as long as the sealed records (format byte, epoch, nonce
        // and tag: 49 bytes more), into a tree filled the same way: how much of the gap is
        // sled moving the longer record rather than anything the store does.
        let padded_tree = plain_db.open_tree("record-size").expect("tree");
        let mut padded = vec![0xA5u8; size + RECORD_OVERHEAD];
        for i in 0..KEYS {
            padded_tree.insert(record_key(i), padded.as_slice()).expect("insert");
        }
        group.bench_function(BenchmarkId::new("plain-sled-record-size", size), |b| {
            b.iter(|| {
                i = (i + 7919) % KEYS;
                stamp += 1;
                padded[..8].copy_from_slice(&stamp.to_le_bytes());
                padded_tree.insert(record_key(i), padded.as_slice()).expect("insert")
            })
        });
        let mut buf = value.clone();
        let mut counter = 0u64;
        group.bench_function(BenchmarkId::new("bare-seal", size), |b| {
            b.iter(|| {
                counter += 1;
                nonce[16..].copy_from_slice(&counter.to_le_bytes());
                bare.seal(&nonce, &mut buf)
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

/// Where criterion put its estimates: as criterion itself decides (CRITERION_HOME, then
/// CARGO_TARGET_DIR), else the target directory this bench binary was built into.
fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    // <target>/release/deps/kvdb-<hash>
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

/// Mean time in ns of one benchmark of this run, from criterion's `estimates.json`.
fn mean_ns(group: &str, function: &str, size: usize) -> Option<f64> {
    let path = criterion_dir()?.join(group).join(function).join(size.to_string());
    let json = std::fs::read_to_string(path.join("new/estimates.json")).ok()?;
    let mean = &json[json.find("\"mean\"")?..];
    let value = &mean[mean.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    value[..value.find([',', '}'])?].trim().parse().ok()
}

fn show(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The goal of issue 14: encrypted ≤ plain + 1.3 × bare, per operation and size. The last
/// column is plain sled inserting values of the sealed record's length (inserts only).
fn print_goal() {
    println!(
        "\n| operation | plain sled | peerseal | bare AEAD | goal: plain + 1.3 × bare | met | plain sled, record-size values |"
    );
    println!("|---|---|---|---|---|---|---|");
    for size in SIZES {
        for (op, bare) in [("get", "bare-open"), ("insert", "bare-seal")] {
            let group = format!("{op}_{size}B");
            let means = (
                mean_ns(&group, "plain-sled", size),
                mean_ns(&group, "peerseal", size),
                mean_ns(&group, bare, size),
            );
            let (Some(plain), Some(sealed), Some(bare_ns)) = means else { continue };
            let goal = plain + 1.3 * bare_ns;
            let met = if sealed <= goal { "yes" } else { "**no**" };
            let padded =
                mean_ns(&group, "plain-sled-record-size", size).map(show).unwrap_or_default();
            let (plain, sealed, bare_ns, goal) =
                (show(plain), show(sealed), show(bare_ns), show(goal));
            println!(
                "| {op} {size} B | {plain} | {sealed} | {bare_ns} | {goal} | {met} | {padded} |"
            );
        }
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_goal();
}
