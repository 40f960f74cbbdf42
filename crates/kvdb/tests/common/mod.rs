//! Helpers shared by the kvdb integration tests.
#![allow(dead_code)]
// Test fixtures: a failed set-up step should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use peerseal_kvdb::{DbKey, Store};

pub fn key(byte: u8) -> DbKey {
    DbKey::from_bytes([byte; 32])
}

pub fn new_store(dir: &Path, k: &DbKey) -> Store {
    Store::create(dir.join("db"), k).expect("create store")
}

/// Every file below `dir` with its bytes, to prove an operation changed nothing on disk.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).expect("read file"));
            }
        }
    }
    out
}

/// Opens the raw sled database of a closed store, for tampering as the host could.
pub fn raw_tree(store_dir: &Path, tree: &str) -> (sled::Db, sled::Tree) {
    // sled drops its file lock from background threads a moment after close; retry briefly.
    let mut attempt = 0;
    let db = loop {
        match sled::open(store_dir.join("data")) {
            Ok(db) => break db,
            Err(err) if attempt < 40 => {
                attempt += 1;
                let _ = err;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(err) => panic!("open raw sled: {err}"),
        }
    };
    let t = db.open_tree(format!("t/{tree}")).expect("open raw tree");
    (db, t)
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}
