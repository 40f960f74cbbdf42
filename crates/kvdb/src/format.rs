//! On-disk formats: the store header file and the sealed record layout, with the AEAD
//! associated data that binds each ciphertext to its place.
//!
//! Header file `PEERSEAL-KVDB` (138 bytes, replaced atomically by write + fsync + rename):
//!
//! ```text
//! magic "PEERSEAL" (8) ‖ format u16le ‖ store id (16) ‖ epoch u64le
//!   ‖ key-check nonce (24) ‖ key-check ciphertext+tag (32+16) ‖ sha256 of all before (32)
//! ```
//!
//! The checksum tells accidental damage (`CorruptHeader`) apart from a wrong key (`WrongKey`,
//! the key check fails to authenticate). The key check is sealed under the current epoch's
//! sealing key, so a store is unlocked, or refused, before sled opens any file.
//!
//! Record value (sled value of a user record):
//!
//! ```text
//! record format u8 (=1) ‖ epoch u64le ‖ nonce (24) ‖ ciphertext ‖ tag (16)
//! AAD = lp("peerseal-kvdb/record") ‖ format u8 ‖ store id ‖ epoch u64le ‖ lp(tree) ‖ lp(record key)
//! ```
//!
//! Record keys and tree names are plaintext; never put secrets in them.

use sha2::{Digest, Sha256};

use crate::key::{NONCE_LEN, TAG_LEN};

/// Current store (header) format version.
pub const STORE_FORMAT: u16 = 1;
/// Current record format version.
pub const RECORD_FORMAT: u8 = 1;
/// File name of the header inside a store directory.
pub const HEADER_FILE: &str = "PEERSEAL-KVDB";
/// Sub-directory holding the sled database.
pub const DATA_DIR: &str = "data";

const MAGIC: &[u8; 8] = b"PEERSEAL";
pub(crate) const STORE_ID_LEN: usize = 16;
pub(crate) const KEY_CHECK_PLAINTEXT: &[u8; 32] = b"peerseal-kvdb key check, v1 ....";
pub(crate) const HEADER_LEN: usize = 8 + 2 + STORE_ID_LEN + 8 + NONCE_LEN + 32 + TAG_LEN + 32;
/// Bytes before the ciphertext of a record.
pub(crate) const RECORD_PREFIX_LEN: usize = 1 + 8 + NONCE_LEN;

/// The parsed, checksum-verified header. Holds nothing secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub format: u16,
    pub store_id: [u8; STORE_ID_LEN],
    pub epoch: u64,
    pub(crate) check_nonce: [u8; NONCE_LEN],
    pub(crate) check_sealed: [u8; 32 + TAG_LEN],
}

/// Why a header could not be parsed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    NotAStore,
    Newer(u16),
    Corrupt(&'static str),
}

impl Header {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.format.to_le_bytes());
        out.extend_from_slice(&self.store_id);
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.extend_from_slice(&self.check_nonce);
        out.extend_from_slice(&self.check_sealed);
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, HeaderError> {
        if bytes.len() < MAGIC.len() + 2 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(HeaderError::NotAStore);
        }
        let mut reader = Reader(&bytes[MAGIC.len()..]);
        let format = u16::from_le_bytes(reader.take()?);
        if format > STORE_FORMAT {
            return Err(HeaderError::Newer(format));
        }
        if format == 0 {
            return Err(HeaderError::Corrupt("format version 0"));
        }
        if bytes.len() != HEADER_LEN {
            return Err(HeaderError::Corrupt("wrong header length"));
        }
        let (body, digest) = bytes.split_at(HEADER_LEN - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err(HeaderError::Corrupt("checksum mismatch"));
        }
        Ok(Self {
            format,
            store_id: reader.take()?,
            epoch: u64::from_le_bytes(reader.take()?),
            check_nonce: reader.take()?,
            check_sealed: reader.take()?,
        })
    }

    pub(crate) fn key_check_aad(format: u16, store_id: &[u8; STORE_ID_LEN], epoch: u64) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64);
        push_prefixed(&mut aad, b"peerseal-kvdb/key-check");
        aad.extend_from_slice(&format.to_le_bytes());
        aad.extend_from_slice(store_id);
        aad.extend_from_slice(&epoch.to_le_bytes());
        aad
    }
}

/// Reads fixed-size fields, failing instead of panicking on short input.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], HeaderError> {
        if self.0.len() < N {
            return Err(HeaderError::Corrupt("truncated header"));
        }
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }
}

/// `u32le(len) ‖ bytes`; tree names and record keys are far below 4 GiB (sled limits them).
pub(crate) fn push_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Bytes of a record's AAD before the tree name: lp(label) ‖ format ‖ store id ‖ epoch.
const RECORD_AAD_LABEL: &[u8] = b"peerseal-kvdb/record";
const RECORD_AAD_FIXED: usize = 4 + RECORD_AAD_LABEL.len() + 1 + STORE_ID_LEN + 8 + 4 + 4;
/// AADs up to this length (tree names are at most 255 bytes, so record keys up to ~130 bytes)
/// are built on the stack; longer ones on the heap.
const AAD_INLINE: usize = 448;

/// The associated data of one record, built without allocating in the common case.
// The inline variant is large on purpose: it is the stack buffer that replaces an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum RecordAad {
    Inline { buf: [u8; AAD_INLINE], len: usize },
    Heap(Vec<u8>),
}

impl RecordAad {
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline { buf, len } => &buf[..*len],
            Self::Heap(vec) => vec,
        }
    }
}

/// Associated data of a record: binds format, store, epoch, tree and record key.
pub(crate) fn record_aad(
    store_id: &[u8; STORE_ID_LEN],
    epoch: u64,
    tree: &[u8],
    key: &[u8],
) -> RecordAad {
    let len = RECORD_AAD_FIXED + tree.len() + key.len();
    if len > AAD_INLINE {
        return RecordAad::Heap(record_aad_vec(RECORD_FORMAT, store_id, epoch, tree, key));
    }
    let mut buf = [0u8; AAD_INLINE];
    let mut at = 0;
    for part in [
        &(RECORD_AAD_LABEL.len() as u32).to_le_bytes()[..],
        RECORD_AAD_LABEL,
        &[RECORD_FORMAT],
        store_id,
        &epoch.to_le_bytes(),
        &(tree.len() as u32).to_le_bytes(),
        tree,
        &(key.len() as u32).to_le_bytes(),
        key,
    ] {
        buf[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    RecordAad::Inline { buf, len }
}

/// The same AAD built in a `Vec` (the original construction, kept for long record keys).
pub(crate) fn record_aad_vec(
    format: u8,
    store_id: &[u8; STORE_ID_LEN],
    epoch: u64,
    tree: &[u8],
    key: &[u8],
) -> Vec<u8> {
    let mut aad = Vec::with_capacity(RECORD_AAD_FIXED + tree.len() + key.len());
    push_prefixed(&mut aad, RECORD_AAD_LABEL);
    aad.push(format);
    aad.extend_from_slice(store_id);
    aad.extend_from_slice(&epoch.to_le_bytes());
    push_prefixed(&mut aad, tree);
    push_prefixed(&mut aad, key);
    aad
}

/// The parsed parts of a sealed record.
pub(crate) struct RecordView<'a> {
    pub epoch: u64,
    pub nonce: [u8; NONCE_LEN],
    pub ciphertext: &'a [u8],
    pub tag: &'a [u8],
}

/// Why a record could not be parsed.
pub(crate) enum RecordError {
    Truncated,
    Newer(u8),
    UnknownFormat,
}

pub(crate) fn parse_record(raw: &[u8]) -> Result<RecordView<'_>, RecordError> {
    let Some(&format) = raw.first() else { return Err(RecordError::Truncated) };
    if format > RECORD_FORMAT {
        return Err(RecordError::Newer(format));
    }
    if format != RECORD_FORMAT {
        return Err(RecordError::UnknownFormat);
    }
    if raw.len() < RECORD_PREFIX_LEN + TAG_LEN {
        return Err(RecordError::Truncated);
    }
    let mut epoch = [0u8; 8];
    epoch.copy_from_slice(&raw[1..9]);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&raw[9..RECORD_PREFIX_LEN]);
    let (ciphertext, tag) =
        raw[RECORD_PREFIX_LEN..].split_at(raw.len() - RECORD_PREFIX_LEN - TAG_LEN);
    Ok(RecordView { epoch: u64::from_le_bytes(epoch), nonce, ciphertext, tag })
}

/// Fills `buf` (exactly `RECORD_PREFIX_LEN + plaintext.len() + TAG_LEN` bytes) with the record
/// prefix and the plaintext; returns the plaintext part, to be sealed in place. The tag goes
/// into the last `TAG_LEN` bytes.
pub(crate) fn write_record<'a>(
    buf: &'a mut [u8],
    epoch: u64,
    nonce: &[u8; NONCE_LEN],
    plaintext: &[u8],
) -> &'a mut [u8] {
    buf[0] = RECORD_FORMAT;
    buf[1..9].copy_from_slice(&epoch.to_le_bytes());
    buf[9..RECORD_PREFIX_LEN].copy_from_slice(nonce);
    let body = &mut buf[RECORD_PREFIX_LEN..RECORD_PREFIX_LEN + plaintext.len()];
    body.copy_from_slice(plaintext);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            format: STORE_FORMAT,
            store_id: [7; STORE_ID_LEN],
            epoch: 3,
            check_nonce: [1; NONCE_LEN],
            check_sealed: [2; 32 + TAG_LEN],
        }
    }

    #[test]
    fn header_round_trip() {
        let bytes = header().encode();
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(Header::decode(&bytes), Ok(header()));
    }

    #[test]
    fn header_damage_is_detected() {
        let bytes = header().encode();
        for i in 10..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(matches!(Header::decode(&bad), Err(HeaderError::Corrupt(_))), "byte {i}");
        }
        for len in 10..bytes.len() {
            assert!(matches!(Header::decode(&bytes[..len]), Err(HeaderError::Corrupt(_))));
        }
        assert_eq!(Header::decode(b""), Err(HeaderError::NotAStore));
        assert_eq!(Header::decode(b"hello world, not a store"), Err(HeaderError::NotAStore));
    }

    #[test]
    fn inline_aad_equals_the_vec_construction() {
        let id = [3; STORE_ID_LEN];
        for (tree, key) in [(0, 0), (1, 8), (255, 0), (255, 130), (255, 200), (10, 5000)] {
            let (tree, key) = (vec![b't'; tree], vec![b'k'; key]);
            let aad = record_aad(&id, 9, &tree, &key);
            assert_eq!(aad.as_slice(), record_aad_vec(RECORD_FORMAT, &id, 9, &tree, &key));
        }
    }

    #[test]
    fn newer_format_is_reported() {
        let mut bytes = header().encode();
        bytes[8..10].copy_from_slice(&(STORE_FORMAT + 1).to_le_bytes());
        assert_eq!(Header::decode(&bytes), Err(HeaderError::Newer(STORE_FORMAT + 1)));
    }
}
