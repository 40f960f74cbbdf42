//! Quotes from TDX hardware through the Linux configfs-tsm report interface
//! (`Documentation/ABI/testing/configfs-tsm` in the kernel tree).
//!
//! Protocol: an entry directory under the report root (the kernel populates it with attribute
//! files on `mkdir`); write the report data to `inblob`; read the quote from `outblob`; the
//! `generation` attribute counts writes, so reading it before and after `outblob` detects another
//! writer using the same entry. The quote's own report data is checked too, which catches a race
//! that `generation` alone could miss.

use super::{ProviderError, QuoteProvider};
use crate::{MAX_QUOTE_LEN, REPORT_DATA_LEN};
use std::{
    fs,
    io::{self, Read},
    path::{Path, PathBuf},
    string::{String, ToString},
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
    vec::Vec,
};

/// Where the kernel exposes configfs-tsm reports.
pub const DEFAULT_TSM_REPORT_ROOT: &str = "/sys/kernel/config/tsm/report";
/// The `provider` attribute of a TDX guest.
pub const TDX_TSM_PROVIDER: &str = "tdx_guest";

/// Offset of the report data in a v4 TDX quote: header (48) + body fields before it (520).
const REPORT_DATA_OFFSET: usize = 48 + 520;
/// Upper bound on the `generation` and `provider` attributes we are willing to read.
const MAX_ATTRIBUTE_LEN: u64 = 64;

/// A quote provider backed by configfs-tsm. Calls are serialised, because they share one entry.
#[derive(Debug)]
pub struct ConfigfsTsmProvider {
    entry: PathBuf,
    root: PathBuf,
    expected_provider: String,
    lock: Mutex<()>,
    /// Whether this provider made the entry (and so removes it when dropped).
    created: AtomicBool,
}

impl ConfigfsTsmProvider {
    /// The provider on the standard path, expecting a TDX guest. The entry is named after the
    /// process so that two peerseal processes on one TD do not share it.
    pub fn new() -> Self {
        Self::with_root(DEFAULT_TSM_REPORT_ROOT)
    }

    /// A provider on another report root (tests use a temporary directory imitating configfs).
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        let entry_name = format!("peerseal-{}", std::process::id());
        Self::with_root_and_entry(root, entry_name, TDX_TSM_PROVIDER)
    }

    /// Full control: report root, entry name, and the `provider` attribute value to insist on.
    pub fn with_root_and_entry(
        root: impl Into<PathBuf>,
        entry_name: impl AsRef<Path>,
        expected_provider: impl Into<String>,
    ) -> Self {
        let root = root.into();
        ConfigfsTsmProvider {
            entry: root.join(entry_name),
            root,
            expected_provider: expected_provider.into(),
            lock: Mutex::new(()),
            created: AtomicBool::new(false),
        }
    }

    /// The entry directory this provider writes to.
    pub fn entry_path(&self) -> &Path {
        &self.entry
    }

    fn quote_locked(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, ProviderError> {
        if !self.root.is_dir() {
            return Err(ProviderError::Unavailable { path: self.root.clone() });
        }
        match fs::create_dir(&self.entry) {
            // An existing entry is reused: configfs allows it, and `generation` guards it.
            Ok(()) => self.created.store(true, Ordering::Relaxed),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(ProviderError::Io { path: self.entry.clone(), source }),
        }

        let provider = read_attribute(&self.entry.join("provider"))?;
        if provider.trim() != self.expected_provider {
            return Err(ProviderError::WrongProvider {
                expected: self.expected_provider.clone(),
                found: provider.trim().to_string(),
            });
        }

        let inblob = self.entry.join("inblob");
        fs::write(&inblob, report_data)
            .map_err(|source| ProviderError::Io { path: inblob, source })?;

        let generation = self.entry.join("generation");
        let before = read_generation(&generation)?;
        let quote = read_bounded(&self.entry.join("outblob"), MAX_QUOTE_LEN)?;
        let after = read_generation(&generation)?;
        if before != after {
            return Err(ProviderError::GenerationChanged { before, after });
        }

        let carried = quote.get(REPORT_DATA_OFFSET..REPORT_DATA_OFFSET + REPORT_DATA_LEN);
        if carried != Some(&report_data[..]) {
            return Err(ProviderError::ReportDataMismatch);
        }
        Ok(quote)
    }
}

impl Drop for ConfigfsTsmProvider {
    fn drop(&mut self) {
        // On configfs, rmdir releases the kernel's report object. Best effort: a failure only
        // leaves an idle entry behind, and an entry we did not create is not ours to remove.
        if self.created.load(Ordering::Relaxed) {
            let _ = fs::remove_dir(&self.entry);
        }
    }
}

impl Default for ConfigfsTsmProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl QuoteProvider for ConfigfsTsmProvider {
    fn quote(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, ProviderError> {
        // A poisoned lock only means another call panicked; the entry itself is still usable
        // because every call rewrites `inblob` and re-checks `generation`.
        let _guard = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.quote_locked(report_data)
    }
}

/// Reads at most `limit` bytes; a longer file is an error rather than a truncated quote.
fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, ProviderError> {
    let io_err = |source| ProviderError::Io { path: path.to_path_buf(), source };
    let file = fs::File::open(path).map_err(io_err)?;
    let mut out = Vec::new();
    // One byte more than allowed tells "exactly at the limit" from "over it".
    let take = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(take).read_to_end(&mut out).map_err(io_err)?;
    if out.len() > limit {
        return Err(ProviderError::QuoteTooLarge);
    }
    Ok(out)
}

fn read_attribute(path: &Path) -> Result<String, ProviderError> {
    let io_err = |source| ProviderError::Io { path: path.to_path_buf(), source };
    let file = fs::File::open(path).map_err(io_err)?;
    let mut text = String::new();
    file.take(MAX_ATTRIBUTE_LEN).read_to_string(&mut text).map_err(io_err)?;
    Ok(text)
}

fn read_generation(path: &Path) -> Result<u64, ProviderError> {
    read_attribute(path)?.trim().parse().map_err(|_| ProviderError::BadGeneration)
}
