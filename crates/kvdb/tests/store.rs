//! Round trips, trees, batches, and everything the store must refuse without losing data.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use peerseal_kvdb::{format, Batch, DbKey, Error, Store, MAX_TREE_NAME_LEN, MAX_VALUE_LEN};
use proptest::prelude::*;

#[test]
fn round_trip_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let k = key(1);
    let store = new_store(dir.path(), &k);
    let tree = store.tree("shares").unwrap();
    tree.insert("a", b"alpha").unwrap();
    tree.insert("b", vec![0u8; 0]).unwrap();
    tree.insert("c", vec![7u8; 100_000]).unwrap();
    assert_eq!(tree.get("a").unwrap().unwrap().as_slice(), b"alpha");
    assert!(tree.remove("a").unwrap());
    assert!(!tree.remove("a").unwrap());
    assert!(tree.get("a").unwrap().is_none());
    store.flush().unwrap();
    drop((tree, store));

    let store = Store::open(dir.path().join("db"), &k).unwrap();
    let tree = store.tree("shares").unwrap();
    assert_eq!(tree.get("b").unwrap().unwrap().len(), 0);
    assert_eq!(tree.get("c").unwrap().unwrap().as_slice(), &vec![7u8; 100_000][..]);
    assert_eq!(tree.len(), 2);
    assert_eq!(store.epoch(), 0);
}

#[test]
fn trees_are_separate_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), &key(1));
    let a = store.tree("a").unwrap();
    let b = store.tree("b").unwrap();
    a.insert("k", b"in a").unwrap();
    assert!(b.get("k").unwrap().is_none());
    b.insert("k", b"in b").unwrap();
    assert_eq!(a.get("k").unwrap().unwrap().as_slice(), b"in a");
    let mut names = store.tree_names();
    names.sort();
    assert_eq!(names, vec!["a".to_string(), "b".to_string()]);
}

#[test]
fn scan_prefix_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), &key(1));
    let tree = store.tree("t").unwrap();
    for k in ["user/2", "user/1", "other/1", "user/3", "userx"] {
        tree.insert(k, k.as_bytes()).unwrap();
    }
    let got: Vec<(Vec<u8>, Vec<u8>)> = tree
        .scan_prefix("user/")
        .map(|r| r.map(|(k, v)| (k, v.to_vec())))
        .collect::<Result<_, _>>()
        .unwrap();
    let keys: Vec<&[u8]> = got.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(keys, vec![&b"user/1"[..], b"user/2", b"user/3"]);
    assert!(got.iter().all(|(k, v)| k == v));
    assert_eq!(tree.iter().count(), 5);
}

#[test]
fn batch_is_atomic_and_applies_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), &key(1));
    let tree = store.tree("t").unwrap();
    tree.insert("gone", b"x").unwrap();
    let mut batch = Batch::default();
    batch.insert("a", b"1");
    batch.insert("b", b"2");
    batch.remove("gone");
    batch.insert("a", b"3");
    assert_eq!(batch.len(), 4);
    tree.apply_batch(batch).unwrap();
    assert_eq!(tree.get("a").unwrap().unwrap().as_slice(), b"3");
    assert_eq!(tree.get("b").unwrap().unwrap().as_slice(), b"2");
    assert!(tree.get("gone").unwrap().is_none());

    // A batch with one invalid operation changes nothing.
    let mut bad = Batch::default();
    bad.insert("c", b"ok");
    bad.insert("d", vec![0u8; MAX_VALUE_LEN + 1]);
    assert!(matches!(tree.apply_batch(bad), Err(Error::ValueTooLarge { .. })));
    assert!(tree.get("c").unwrap().is_none());
}

#[test]
fn limits_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), &key(1));
    assert!(matches!(store.tree(""), Err(Error::InvalidTreeName { .. })));
    let long = "x".repeat(MAX_TREE_NAME_LEN + 1);
    assert!(matches!(store.tree(&long), Err(Error::InvalidTreeName { .. })));
    let tree = store.tree("t").unwrap();
    assert!(matches!(
        tree.insert("big", vec![0u8; MAX_VALUE_LEN + 1]),
        Err(Error::ValueTooLarge { .. })
    ));
}

#[test]
fn wrong_key_fails_at_open_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), &key(1));
    store.tree("t").unwrap().insert("k", b"v").unwrap();
    store.flush().unwrap();
    drop(store);
    let before = snapshot(dir.path());
    let err = Store::open(dir.path().join("db"), &key(2)).unwrap_err();
    assert!(matches!(err, Error::WrongKey), "{err:?}");
    assert_eq!(snapshot(dir.path()), before, "a wrong key must not change any file");
    // And the right key still works afterwards.
    let store = Store::open(dir.path().join("db"), &key(1)).unwrap();
    assert_eq!(store.tree("t").unwrap().get("k").unwrap().unwrap().as_slice(), b"v");
}

#[test]
fn not_a_store_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    // Missing directory.
    assert!(matches!(
        Store::open(dir.path().join("missing"), &key(1)),
        Err(Error::NotAStore { .. })
    ));
    assert!(!dir.path().join("missing").exists());
    // A directory of someone else's files, including a file named like our header.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(foreign.join("data")).unwrap();
    std::fs::write(foreign.join("notes.txt"), b"hello").unwrap();
    std::fs::write(foreign.join("data").join("db"), vec![0xAB; 4096]).unwrap();
    let before = snapshot(&foreign);
    assert!(matches!(Store::open(&foreign, &key(1)), Err(Error::NotAStore { .. })));
    std::fs::write(foreign.join(format::HEADER_FILE), b"{\"json\": true}").unwrap();
    let before_with_header = snapshot(&foreign);
    assert!(matches!(Store::open(&foreign, &key(1)), Err(Error::NotAStore { .. })));
    assert_eq!(snapshot(&foreign), before_with_header);
    std::fs::remove_file(foreign.join(format::HEADER_FILE)).unwrap();
    assert_eq!(snapshot(&foreign), before);
    // And create refuses to write into it.
    assert!(matches!(Store::create(&foreign, &key(1)), Err(Error::AlreadyExists { .. })));
    assert_eq!(snapshot(&foreign), before);
}

#[test]
fn create_never_overwrites_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), &key(1));
    store.tree("t").unwrap().insert("k", b"v").unwrap();
    store.flush().unwrap();
    drop(store);
    let before = snapshot(dir.path());
    assert!(matches!(
        Store::create(dir.path().join("db"), &key(2)),
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn newer_format_and_damaged_header_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    drop(new_store(dir.path(), &key(1)));
    let header_path = dir.path().join("db").join(format::HEADER_FILE);
    let good = std::fs::read(&header_path).unwrap();

    let mut newer = good.clone();
    newer[8..10].copy_from_slice(&(format::STORE_FORMAT + 1).to_le_bytes());
    std::fs::write(&header_path, &newer).unwrap();
    let before = snapshot(dir.path());
    assert!(matches!(
        Store::open(dir.path().join("db"), &key(1)),
        Err(Error::UnsupportedFormat { what: "store", .. })
    ));
    assert_eq!(snapshot(dir.path()), before);

    let mut damaged = good.clone();
    damaged[30] ^= 0x40;
    std::fs::write(&header_path, &damaged).unwrap();
    assert!(matches!(
        Store::open(dir.path().join("db"), &key(1)),
        Err(Error::CorruptHeader { .. })
    ));
    std::fs::write(&header_path, &good[..good.len() - 1]).unwrap();
    assert!(matches!(
        Store::open(dir.path().join("db"), &key(1)),
        Err(Error::CorruptHeader { .. })
    ));
    std::fs::write(&header_path, &good).unwrap();
    assert!(Store::open(dir.path().join("db"), &key(1)).is_ok());
}

#[test]
fn info_is_readable_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), &key(1));
    store.rotate(&key(2)).unwrap();
    drop(store);
    let info = peerseal_kvdb::read_info(&dir.path().join("db")).unwrap();
    assert_eq!(info.epoch, 1);
    assert_eq!(info.format, format::STORE_FORMAT);
}

/// Damage records as a host with disk access could, then read them back.
#[test]
fn corrupt_and_truncated_records_are_typed_errors_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("db");
    let store = new_store(dir.path(), &key(1));
    let tree = store.tree("t").unwrap();
    for k in ["flip", "trunc", "empty", "newer", "tiny", "fine"] {
        tree.insert(k, b"some secret value").unwrap();
    }
    store.flush().unwrap();
    drop((tree, store));
    {
        let (db, raw) = raw_tree(&store_dir, "t");
        let mut v = raw.get("flip").unwrap().unwrap().to_vec();
        let last = v.len() - 1;
        v[last - 20] ^= 1;
        raw.insert("flip", v).unwrap();
        let v = raw.get("trunc").unwrap().unwrap().to_vec();
        raw.insert("trunc", &v[..v.len() - 3]).unwrap();
        raw.insert("empty", Vec::<u8>::new()).unwrap();
        let mut v = raw.get("newer").unwrap().unwrap().to_vec();
        v[0] = 9;
        raw.insert("newer", v).unwrap();
        raw.insert("tiny", vec![1u8; 10]).unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(&store_dir, &key(1)).unwrap();
    let tree = store.tree("t").unwrap();
    assert!(matches!(tree.get("flip"), Err(Error::CorruptRecord { .. })));
    assert!(matches!(tree.get("trunc"), Err(Error::CorruptRecord { .. })));
    assert!(matches!(tree.get("empty"), Err(Error::CorruptRecord { .. })));
    assert!(matches!(tree.get("tiny"), Err(Error::CorruptRecord { .. })));
    assert!(matches!(tree.get("newer"), Err(Error::UnsupportedFormat { what: "record", .. })));
    assert_eq!(tree.get("fine").unwrap().unwrap().as_slice(), b"some secret value");
    // Nothing was deleted: every damaged record is still there for forensics.
    assert_eq!(tree.len(), 6);
    let errors = tree.iter().filter(|r| r.is_err()).count();
    assert_eq!(errors, 5);
}

/// A ciphertext moved to another record key, another tree, or sealed under another epoch
/// number must not open.
#[test]
fn associated_data_binds_key_tree_and_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("db");
    let store = new_store(dir.path(), &key(1));
    store.tree("a").unwrap().insert("k1", b"one").unwrap();
    store.tree("a").unwrap().insert("k2", b"two").unwrap();
    store.tree("b").unwrap().insert("k1", b"bee").unwrap();
    store.flush().unwrap();
    drop(store);
    {
        let (db, a) = raw_tree(&store_dir, "a");
        let b = db.open_tree("t/b").unwrap();
        let a_k1 = a.get("k1").unwrap().unwrap();
        // Swap across keys within a tree.
        a.insert("k2", a_k1.clone()).unwrap();
        // Move across trees under the same record key.
        b.insert("k1", a_k1.clone()).unwrap();
        // Claim another epoch number in the record header.
        let mut relabelled = a_k1.to_vec();
        relabelled[1] ^= 1;
        a.insert("k3", relabelled).unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(&store_dir, &key(1)).unwrap();
    let a = store.tree("a").unwrap();
    assert_eq!(a.get("k1").unwrap().unwrap().as_slice(), b"one");
    assert!(matches!(a.get("k2"), Err(Error::CorruptRecord { .. })));
    assert!(matches!(store.tree("b").unwrap().get("k1"), Err(Error::CorruptRecord { .. })));
    assert!(matches!(a.get("k3"), Err(Error::EpochKeyNotHeld { epoch: 1, .. })));
}

/// The same sealed record copied into another store with the same key does not open there.
#[test]
fn ciphertexts_do_not_move_between_stores() {
    let dir = tempfile::tempdir().unwrap();
    let k = key(1);
    let one = Store::create(dir.path().join("one"), &k).unwrap();
    let two = Store::create(dir.path().join("two"), &k).unwrap();
    one.tree("t").unwrap().insert("k", b"v").unwrap();
    two.tree("t").unwrap().insert("other", b"w").unwrap();
    drop((one, two));
    let (db1, t1) = raw_tree(&dir.path().join("one"), "t");
    let sealed = t1.get("k").unwrap().unwrap();
    drop((t1, db1));
    let (db2, t2) = raw_tree(&dir.path().join("two"), "t");
    t2.insert("k", sealed).unwrap();
    db2.flush().unwrap();
    drop((t2, db2));
    let two = Store::open(dir.path().join("two"), &k).unwrap();
    assert!(matches!(two.tree("t").unwrap().get("k"), Err(Error::CorruptRecord { .. })));
}

/// Known plaintext and a known key never appear anywhere in the data directory, before or
/// after a rotation.
#[test]
fn no_plaintext_or_key_bytes_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let old_key_bytes = [0x5Au8; 32];
    let new_key_bytes = [0xC3u8; 32];
    let plaintext = b"KNOWN-PLAINTEXT-peerseal-0123456789-abcdefghijklmnopqrstuvwxyz";
    let store = Store::create(dir.path().join("db"), &DbKey::from_bytes(old_key_bytes)).unwrap();
    let tree = store.tree("secrets").unwrap();
    for i in 0..200u32 {
        tree.insert(format!("r{i}"), plaintext).unwrap();
    }
    let mut batch = Batch::default();
    batch.insert("batched", plaintext);
    tree.apply_batch(batch).unwrap();
    store.flush().unwrap();
    let scan = |label: &str| {
        for (path, bytes) in snapshot(dir.path()) {
            for (what, needle) in [
                ("plaintext", &plaintext[..]),
                ("plaintext prefix", &plaintext[..16]),
                ("old key", &old_key_bytes[..]),
                ("new key", &new_key_bytes[..]),
            ] {
                assert!(!contains(&bytes, needle), "{label}: {what} found in {}", path.display());
            }
        }
    };
    scan("before rotation");
    // Mid-rotation the old key exists on disk only wrapped under the new one.
    store.begin_rotation(&DbKey::from_bytes(new_key_bytes)).unwrap();
    store.continue_rotation(50).unwrap();
    store.flush().unwrap();
    scan("mid rotation");
    store.resume_rotation().unwrap();
    drop((tree, store));
    scan("after rotation");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_records_round_trip(
        records in proptest::collection::btree_map(
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(any::<u8>(), 0..2048),
            0..40,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let k = key(9);
        let store = new_store(dir.path(), &k);
        let tree = store.tree("p").unwrap();
        for (rk, v) in &records {
            tree.insert(rk, v).unwrap();
        }
        drop((tree, store));
        let store = Store::open(dir.path().join("db"), &k).unwrap();
        let tree = store.tree("p").unwrap();
        let got: Vec<(Vec<u8>, Vec<u8>)> =
            tree.iter().map(|r| r.map(|(k, v)| (k, v.to_vec()))).collect::<Result<_, _>>().unwrap();
        let want: Vec<(Vec<u8>, Vec<u8>)> = records.into_iter().collect();
        prop_assert_eq!(got, want);
    }

    /// Whatever bytes the host writes as a record, reading it is an error or the original
    /// value, never a panic and never a different value.
    #[test]
    fn arbitrary_record_bytes_never_panic(
        garbage in proptest::collection::vec(any::<u8>(), 0..200),
        flip in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store_dir = dir.path().join("db");
        let store = new_store(dir.path(), &key(3));
        store.tree("t").unwrap().insert("mutated", b"original").unwrap();
        drop(store);
        {
            let (db, raw) = raw_tree(&store_dir, "t");
            raw.insert("garbage", garbage).unwrap();
            let mut v = raw.get("mutated").unwrap().unwrap().to_vec();
            let i = flip.index(v.len());
            v[i] ^= 0x80;
            raw.insert("mutated", v).unwrap();
            db.flush().unwrap();
        }
        let store = Store::open(&store_dir, &key(3)).unwrap();
        let tree = store.tree("t").unwrap();
        let _ = tree.get("garbage");
        prop_assert!(tree.get("mutated").is_err());
    }
}

#[test]
fn a_second_open_handle_is_refused_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path(), &key(1));
    assert!(matches!(Store::open(dir.path().join("db"), &key(1)), Err(Error::Locked { .. })));
    drop(store);
}
