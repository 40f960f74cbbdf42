//! Stores written before the AEAD backend moved from RustCrypto's `XChaCha20Poly1305` to
//! HChaCha20 + AWS-LC (record format 1 either way) still open, read and rotate.
//!
//! The fixture was produced by the previous implementation (`peerseal-kvdb` as of the commit
//! before this test was added): a store created under key A = [0x11; 32] with three records,
//! then `begin_rotation` to key B = [0x22; 32] (epoch 1, not resumed) and one more record.
//! So it holds a header whose key check was sealed by RustCrypto, the previous key wrapped by
//! RustCrypto in the meta tree, records of epoch 0 (under A) and one of epoch 1 (under B).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal_kvdb::{format, DbKey, Error, Store};

const HEADER: &str = concat!(
    "504545525345414c01008c05b8eda958db7985f48e936e3becf10100000000000000a14dce87cff7",
    "e6d9d50868c70b9a7c11c2dc39faed37e4add482953ac3095d3b3f0782c70ea1dc5d231ba345d4ff",
    "d26f07d1a87ec6f4b327568de4d0c2aa4917bef5a45a46d7c6fc0800873789ff44af704b9a651e4b",
    "a4edd34dd686d173ea3eee377c7f9b4f4a6f",
);

/// (sled tree name, record key, raw sled value), all hex.
const RECORDS: &[(&str, &str, &str)] = &[
    (
        "742f6f74686572",
        "000102",
        concat!(
            "010000000000000000bd0c32309edb303f087bc06dd71756b5c2f269eeee8f81ed29b33649a92145",
            "2a9c5ddbfcfb71e3b260330d9475f9b6291a5b019b7ea254491e3f0e1450cdb325eeeea186052428",
            "1b18b97a6680f8bc30dc80dfca38d5119ffe833dced17490bf7b215be9f996d5db4e0cd589834fc3",
            "50ad2bb47446207ef1c3077a55ba4a2a0a104b290d5fec0865e8360c36",
        ),
    ),
    (
        "742f6b6579736861726573",
        "",
        concat!(
            "0100000000000000000b0cfda4e5cef21bba101d6363b1e871d4572e11dff8b3a7e3c2d0c0b7f83d",
            "2c602481d77a28a1bf",
        ),
    ),
    (
        "742f6b6579736861726573",
        "61667465722d726f746174696f6e",
        concat!(
            "010100000000000000f69f748b71c71162f0f523c015269d27dd283f22a122108421a4445a8317f7",
            "fbe57ba6ef4d1e0bb9c40d24cd1866dad4735d86678a2a12d4665a5007",
        ),
    ),
    (
        "742f6b6579736861726573",
        "73657373696f6e2d31",
        concat!(
            "01000000000000000012f987b783f6f96961d87d3dfe6fe87d096df33300cb9a12755d217529751f",
            "b15c656cf435acf2bebf6f2b876fd92e6f11c2bc3d",
        ),
    ),
    (
        "6d2f6d657461",
        "726f746174696f6e2f70726576696f75732d6b6579",
        concat!(
            "00000000000000000100000000000000bdac88e8aa9e1bb0a2ec6a8cb35c046bc3cef899f231050f",
            "3212475026b95c85fb2641e4d994e876a0e29761171928ae10ece2e604045004b8e20621028ec881",
            "29d360eb6e130ff0",
        ),
    ),
];

/// Opens the raw sled database without sled's background flusher: a flusher thread can still
/// hold the database's file lock for a moment after the handle is dropped, and the next open
/// (the store's) then fails with "could not acquire lock" (seen once in CI).
fn open_raw(dir: &std::path::Path) -> sled::Db {
    sled::Config::new().path(dir.join(format::DATA_DIR)).flush_every_ms(None).open().unwrap()
}

/// Lays the fixture out on disk exactly as the old code left it.
fn write_fixture(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format::HEADER_FILE), hex::decode(HEADER).unwrap()).unwrap();
    let db = open_raw(dir);
    for (tree, key, value) in RECORDS {
        let tree = db.open_tree(hex::decode(tree).unwrap()).unwrap();
        tree.insert(hex::decode(key).unwrap(), hex::decode(value).unwrap()).unwrap();
    }
    db.flush().unwrap();
}

fn read_all(store: &Store) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for name in store.tree_names() {
        for item in store.tree(&name).unwrap().iter() {
            let (key, value) = item.unwrap();
            out.push((name.clone(), key, value.to_vec()));
        }
    }
    out.sort();
    out
}

fn expected() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let mut want = vec![
        ("keyshares".to_owned(), b"".to_vec(), b"".to_vec()),
        ("keyshares".to_owned(), b"after-rotation".to_vec(), b"sealed under epoch 1".to_vec()),
        ("keyshares".to_owned(), b"session-1".to_vec(), b"secret share".to_vec()),
        ("other".to_owned(), vec![0, 1, 2], vec![0xA5; 100]),
    ];
    want.sort();
    want
}

#[test]
fn old_store_opens_reads_and_finishes_its_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    write_fixture(&dir);
    let (a, b) = (DbKey::from_bytes([0x11; 32]), DbKey::from_bytes([0x22; 32]));

    // The old key no longer opens it (the header is at epoch 1), and refusing changes nothing.
    let header_before = std::fs::read(dir.join(format::HEADER_FILE)).unwrap();
    assert!(matches!(Store::open(&dir, &a), Err(Error::WrongKey)));
    assert_eq!(std::fs::read(dir.join(format::HEADER_FILE)).unwrap(), header_before);

    let store = Store::open(&dir, &b).unwrap();
    assert_eq!(store.epoch(), 1);
    let status = store.rotation_status().expect("the fixture is mid-rotation");
    assert_eq!((status.from, status.to), (0, 1));
    assert_eq!(read_all(&store), expected());
    let keyshares = store.tree("keyshares").unwrap();
    assert_eq!(&keyshares.get("session-1").unwrap().unwrap()[..], b"secret share");

    // New writes next to old records; then the rotation re-seals the old ones with the new code.
    keyshares.insert("new", b"written by the new code").unwrap();
    store.resume_rotation().unwrap();
    assert_eq!(store.records_behind_current_epoch().unwrap(), 0);
    let mut want = expected();
    want.push(("keyshares".to_owned(), b"new".to_vec(), b"written by the new code".to_vec()));
    want.sort();
    assert_eq!(read_all(&store), want);
    drop((keyshares, store));

    let store = Store::open(&dir, &b).unwrap();
    assert_eq!(store.rotation_status(), None);
    assert_eq!(read_all(&store), want);
}

#[test]
fn tampered_old_record_is_reported_not_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    write_fixture(&dir);
    {
        let db = open_raw(&dir);
        let tree = db.open_tree("t/keyshares").unwrap();
        let mut raw = tree.get("session-1").unwrap().unwrap().to_vec();
        let last = raw.len() - 1;
        raw[last] ^= 0x80;
        tree.insert("session-1", raw).unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(&dir, &DbKey::from_bytes([0x22; 32])).unwrap();
    let keyshares = store.tree("keyshares").unwrap();
    assert!(matches!(keyshares.get("session-1"), Err(Error::CorruptRecord { .. })));
    assert_eq!(&keyshares.get("after-rotation").unwrap().unwrap()[..], b"sealed under epoch 1");
}
