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
    /// A key rotation in progress: the new epoch's shares are stored with these providers but
    /// not yet recorded on chain. Written before the store's commit point, so a node that
    /// crashes after it finds the new key's providers and commitment here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingBackup>,
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
            pending: None,
        };
        file.write_atomic(dir.path()).unwrap();
        file.epoch = 2;
        file.pending = Some(PendingBackup {
            epoch: 3,
            threshold: 1,
            providers: vec![],
            commitment: hex([1; 32]),
        });
        file.write_atomic(dir.path()).unwrap();
        assert_eq!(RecoveryFile::read(dir.path()).unwrap().unwrap(), file);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap()).collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
        assert_eq!(parse_account(&file.account), Some(AccountId([7; 32])));
        assert_eq!(parse_account("zz"), None);
    }
}
