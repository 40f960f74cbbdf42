//! The plaintext recovery file: only public data (own account, peer id, the providers of the
//! current backup with their peer ids and addresses, epoch, threshold), so an operator — or the
//! node after a restart — knows whom the key is backed up with. Written atomically: a temporary
//! file in the same directory is written, synced and renamed over the old one, so a crash leaves
//! either the old or the new file, never a torn one.

use peerseal_protocol::AccountId;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// File name inside the data directory.
pub const FILE_NAME: &str = "recovery.json";
/// Bound on the file size read back (it holds a handful of accounts and addresses).
const MAX_LEN: u64 = 64 * 1024;

/// One provider of the backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderEntry {
    /// TSS account, hex.
    pub account: String,
    /// Share index.
    pub share_index: u8,
    /// libp2p peer id, base58.
    pub peer_id: String,
    /// Multiaddrs, text form.
    pub addrs: Vec<String>,
}

/// The file's contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryFile {
    /// Format version (1).
    pub version: u32,
    /// The node's TSS account, hex.
    pub account: String,
    /// The node's peer id, base58.
    pub peer_id: String,
    /// The backed-up key epoch.
    pub epoch: u64,
    /// Shares needed to recover.
    pub threshold: u8,
    /// Providers of that epoch.
    pub providers: Vec<ProviderEntry>,
    /// Key rotations not yet recorded on chain, oldest first: each new epoch's shares are
    /// stored with these providers. Written before the store's commit point, so a node that
    /// crashes after it finds the new key's providers and commitment here. An entry is kept
    /// until the chain records its epoch or a later one (a rotation attempt that fails before
    /// its commit point adds an entry and never replaces the one the store may be at).
    /// Version 1 files held one object; both forms are read.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingBackup>,
}

/// Most pending rotations kept (a node retrying rotations for ever cannot grow the file).
pub const MAX_PENDING: usize = 8;

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PendingBackup>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(PendingBackup),
        Many(Vec<PendingBackup>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(p)) => vec![p],
        Some(OneOrMany::Many(ps)) => ps,
    })
}

impl RecoveryFile {
    /// The pending rotation to `epoch`, if the file names one.
    pub fn pending_at(&self, epoch: u64) -> Option<&PendingBackup> {
        self.pending.iter().find(|p| p.epoch == epoch)
    }
}

/// The pending list after a rotation to `new` starts, when the chain records `recorded`:
/// entries the chain has not caught up with are kept (the store may be at one of them), `new`
/// replaces an entry of its own epoch, at most [`MAX_PENDING`] remain (the newest).
pub fn pending_after(
    old: &[PendingBackup],
    new: Option<PendingBackup>,
    recorded: Option<u64>,
) -> Vec<PendingBackup> {
    let above_chain = |p: &&PendingBackup| recorded.is_none_or(|r| p.epoch > r);
    let mut kept: Vec<PendingBackup> = old
        .iter()
        .filter(above_chain)
        .filter(|p| new.as_ref().is_none_or(|n| n.epoch != p.epoch))
        .cloned()
        .collect();
    kept.extend(new.into_iter().filter(|n| recorded.is_none_or(|r| n.epoch > r)));
    kept.sort_by_key(|p| p.epoch);
    let excess = kept.len().saturating_sub(MAX_PENDING);
    kept.drain(..excess);
    kept
}

/// The not-yet-recorded backup of a rotation (public data only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingBackup {
    /// The new epoch.
    pub epoch: u64,
    /// Its threshold.
    pub threshold: u8,
    /// Its providers.
    pub providers: Vec<ProviderEntry>,
    /// The commitment to the new key, hex.
    pub commitment: String,
}

/// Why the file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryFileError {
    /// File system error.
    #[error("recovery file: {0}")]
    Io(#[from] std::io::Error),
    /// Larger than the bound.
    #[error("recovery file larger than {MAX_LEN} bytes")]
    TooLarge,
    /// Not valid JSON of the expected shape.
    #[error("recovery file malformed: {0}")]
    Malformed(#[from] serde_json::Error),
}

impl RecoveryFile {
    /// Writes the file into `dir` atomically (write temp, fsync, rename, fsync dir).
    pub fn write_atomic(&self, dir: &Path) -> Result<(), RecoveryFileError> {
        let json = serde_json::to_vec_pretty(self)?;
        let tmp = dir.join(format!(".{FILE_NAME}.tmp"));
        {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&json)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, dir.join(FILE_NAME))?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    }

    /// Reads the file from `dir`, if present.
    pub fn read(dir: &Path) -> Result<Option<Self>, RecoveryFileError> {
        let path = dir.join(FILE_NAME);
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if meta.len() > MAX_LEN {
            return Err(RecoveryFileError::TooLarge);
        }
        Ok(Some(serde_json::from_slice(&std::fs::read(path)?)?))
    }
}

/// Lower-case hex of `bytes` (the form accounts take in the file and on `/status`).
pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(bytes)
}

/// Parses 32 bytes of hex (a commitment), with or without a `0x` prefix.
pub fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    let text = text.strip_prefix("0x").unwrap_or(text);
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// Parses an account written by [`hex`], with or without a `0x` prefix.
pub fn parse_account(text: &str) -> Option<AccountId> {
    parse_hex32(text).map(AccountId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        assert!(RecoveryFile::read(dir.path()).unwrap().is_none());
        let mut file = RecoveryFile {
            version: 1,
            account: hex([7; 32]),
            peer_id: "12D3".into(),
            epoch: 1,
            threshold: 1,
            providers: vec![ProviderEntry {
                account: hex([8; 32]),
                share_index: 1,
                peer_id: "12D3x".into(),
                addrs: vec!["/ip4/127.0.0.1/tcp/1".into()],
            }],
            pending: vec![],
        };
        file.write_atomic(dir.path()).unwrap();
        file.epoch = 2;
        file.pending = vec![pending(3)];
        file.write_atomic(dir.path()).unwrap();
        assert_eq!(RecoveryFile::read(dir.path()).unwrap().unwrap(), file);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap()).collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
        assert_eq!(parse_account(&file.account), Some(AccountId([7; 32])));
        assert_eq!(parse_account("zz"), None);
    }

    fn pending(epoch: u64) -> PendingBackup {
        PendingBackup { epoch, threshold: 1, providers: vec![], commitment: hex([1; 32]) }
    }

    #[test]
    fn a_version_1_file_with_one_pending_object_still_reads() {
        let json = serde_json::json!({
            "version": 1, "account": hex([7; 32]), "peer_id": "p", "epoch": 1, "threshold": 1,
            "providers": [], "pending": {"epoch": 2, "threshold": 1, "providers": [],
            "commitment": hex([1; 32])}
        });
        let file: RecoveryFile = serde_json::from_value(json).unwrap();
        assert_eq!(file.pending, vec![pending(2)]);
        assert_eq!(file.pending_at(2), Some(&pending(2)));
        let none: RecoveryFile = serde_json::from_value(serde_json::json!({
            "version": 1, "account": "", "peer_id": "", "epoch": 0, "threshold": 0,
            "providers": [], "pending": null
        }))
        .unwrap();
        assert!(none.pending.is_empty());
    }

    #[test]
    fn pending_entries_stay_until_the_chain_records_their_epoch() {
        // The store is at 5 (pending), a new attempt to 6 fails before its commit point, then
        // one to 7 starts: 5 must still be there.
        let list = pending_after(&[pending(5)], Some(pending(6)), Some(4));
        let list = pending_after(&list, Some(pending(7)), Some(4));
        let epochs: Vec<u64> = list.iter().map(|p| p.epoch).collect();
        assert_eq!(epochs, vec![5, 6, 7]);
        // The chain records 7: nothing left.
        assert!(pending_after(&list, None, Some(7)).is_empty());
        // The chain records 5 only: 6 and 7 remain.
        assert_eq!(pending_after(&list, None, Some(5)).len(), 2);
        // Bounded.
        let mut many = Vec::new();
        for e in 10..30 {
            many = pending_after(&many, Some(pending(e)), None);
        }
        assert_eq!(many.len(), MAX_PENDING);
        assert_eq!(many.first().map(|p| p.epoch), Some(30 - MAX_PENDING as u64));
    }
}
