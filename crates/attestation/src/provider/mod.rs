//! Where a TSS node gets its quotes from (`std` only): the TDX hardware through Linux
//! configfs-tsm, or — as an explicit, loudly logged dev setting — a mock built with public keys.

mod configfs;
mod mock;

pub use configfs::{ConfigfsTsmProvider, DEFAULT_TSM_REPORT_ROOT, TDX_TSM_PROVIDER};
pub use mock::MockQuoteProvider;

use crate::REPORT_DATA_LEN;
use std::{path::PathBuf, vec::Vec};

/// Produces a quote whose report data is exactly `report_data`.
pub trait QuoteProvider: Send + Sync {
    /// Asks for one quote. Blocking: on hardware this can take a second or more.
    fn quote(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, ProviderError>;
}

/// Why a quote could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The configfs-tsm report directory does not exist (no TDX guest, or configfs not mounted).
    #[error("configfs-tsm report interface not found at {path}")]
    Unavailable {
        /// The directory that was looked for.
        path: PathBuf,
    },
    /// The configfs-tsm backend is not the expected one (for example an SEV-SNP guest).
    #[error("configfs-tsm provider is {found:?}, expected {expected:?}")]
    WrongProvider {
        /// The provider this node was configured for.
        expected: String,
        /// The provider the kernel reported.
        found: String,
    },
    /// Reading or writing a configfs-tsm attribute failed.
    #[error("configfs-tsm I/O on {path}: {source}")]
    Io {
        /// The attribute file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The `generation` attribute is not a decimal number.
    #[error("configfs-tsm generation attribute is not a number")]
    BadGeneration,
    /// `generation` changed while the quote was read: another writer used the same entry, so the
    /// quote may not be ours.
    #[error("configfs-tsm generation changed from {before} to {after} while reading the quote")]
    GenerationChanged {
        /// Generation after our write.
        before: u64,
        /// Generation after reading the quote.
        after: u64,
    },
    /// The quote is longer than [`crate::MAX_QUOTE_LEN`].
    #[error("quote is longer than the maximum quote length")]
    QuoteTooLarge,
    /// The quote does not carry the report data that was asked for.
    #[error("quote does not carry the requested report data")]
    ReportDataMismatch,
}
