//! A fixed workload for instruction-count profiling (`valgrind --tool=callgrind`), which is
//! repeatable on a busy machine where wall-clock benchmarks are noisy:
//!
//! `cargo build --release -p peerseal-kvdb --example kvdb_ops`
//! `valgrind --tool=callgrind target/release/examples/kvdb_ops <plain|sealed> <get|insert> <bytes> <ops>`
// A profiling driver that cannot set up its fixture has nothing to measure: fail loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use peerseal_kvdb::{DbKey, Store};

const KEYS: usize = 1000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (engine, op) = (args[1].as_str(), args[2].as_str());
    let size: usize = args[3].parse().expect("size");
    let ops: usize = args[4].parse().expect("ops");
    let dir = tempfile::tempdir().expect("tempdir");
    let value = vec![0x5Au8; size];
    let key = |i: usize| ((i * 7919) % KEYS).to_be_bytes();
    let mut checksum = 0usize;
    match engine {
        "plain" => {
            let db = sled::open(dir.path().join("plain")).unwrap();
            let t = db.open_tree("t").unwrap();
            for i in 0..KEYS {
                t.insert(i.to_be_bytes(), value.as_slice()).unwrap();
            }
            let mut fresh = value.clone();
            for i in 0..ops {
                match op {
                    "get" => {
                        checksum += t.get(key(i)).unwrap().map(|v| v.to_vec().len()).unwrap_or(0)
                    }
                    // A changed value: sled skips writing one equal to the stored value.
                    _ => {
                        fresh[0] = i as u8;
                        drop(t.insert(key(i), fresh.as_slice()).unwrap())
                    }
                }
            }
        }
        _ => {
            let store =
                Store::create(dir.path().join("sealed"), &DbKey::generate().unwrap()).unwrap();
            let t = store.tree("t").unwrap();
            for i in 0..KEYS {
                t.insert(i.to_be_bytes(), &value).unwrap();
            }
            for i in 0..ops {
                match op {
                    "get" => checksum += t.get(key(i)).unwrap().map(|v| v.len()).unwrap_or(0),
                    _ => t.insert(key(i), &value).unwrap(),
                }
            }
        }
    }
    println!("{checksum}");
}
