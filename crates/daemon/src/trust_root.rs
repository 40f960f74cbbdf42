//! Where the node's chain trust root comes from. The host chooses the chain endpoint, so the
//! node must know the chain before it talks to any endpoint: the trust root (genesis hash,
//! optionally a checkpoint with its GRANDPA authority set) comes only from the measured image.
//!
//! In order: the root compiled into the binary (set `PEERSEAL_TRUST_ROOT_FILE` to a trust-root
//! JSON file when building; see `build.rs`), then `peerseal-trust-root.json` in the directory of
//! the executable (inside a TDX image that directory is on the measured root filesystem). A dev
//! build also takes `--trust-root FILE` (flag, `PEERSEAL_TRUST_ROOT`, or config key), first; a
//! production build has no such option, so nothing the host passes can change the root.

use std::path::{Path, PathBuf};

use peerseal_chain::TrustRoot;

/// File name of the trust root beside the executable.
pub const TRUST_ROOT_FILE_NAME: &str = "peerseal-trust-root.json";

/// The trust root compiled in by `build.rs` (empty when none was given at build time).
const COMPILED_IN: &str = include_str!(concat!(env!("OUT_DIR"), "/trust_root.json"));

/// Why no trust root could be had.
#[derive(Debug, thiserror::Error)]
pub enum TrustRootSourceError {
    /// No source had one.
    #[error(
        "no chain trust root: build with PEERSEAL_TRUST_ROOT_FILE set, or put {TRUST_ROOT_FILE_NAME} \
         beside the executable ({0}) in the measured image (see docs/deployment.md)"
    )]
    Missing(String),
    /// A source had one that does not parse.
    #[error("trust root from {source_name}: {error}")]
    Invalid {
        /// Where it came from.
        source_name: String,
        /// What is wrong.
        error: String,
    },
}

/// Which source gave the trust root, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustRootSource {
    /// `--trust-root` (dev builds only).
    Configured(PathBuf),
    /// Compiled into the binary.
    CompiledIn,
    /// The file beside the executable.
    BesideExecutable(PathBuf),
}

fn parse(bytes: &[u8], source_name: String) -> Result<TrustRoot, TrustRootSourceError> {
    TrustRoot::from_json(bytes)
        .map_err(|e| TrustRootSourceError::Invalid { source_name, error: e.to_string() })
}

fn read(path: &Path) -> Result<Vec<u8>, TrustRootSourceError> {
    let invalid = |error: String| TrustRootSourceError::Invalid {
        source_name: path.display().to_string(),
        error,
    };
    let len = std::fs::metadata(path).map_err(|e| invalid(e.to_string()))?.len();
    if len > peerseal_chain::verify::trust::MAX_TRUST_ROOT_LEN as u64 {
        return Err(invalid(format!("{len} bytes is too large")));
    }
    std::fs::read(path).map_err(|e| invalid(e.to_string()))
}

/// Loads the trust root. `configured` is the dev builds' `--trust-root` (always `None` in a
/// production build, where the option does not exist).
pub fn load(
    configured: Option<&Path>,
) -> Result<(TrustRoot, TrustRootSource), TrustRootSourceError> {
    if let Some(path) = configured {
        let root = parse(&read(path)?, path.display().to_string())?;
        return Ok((root, TrustRootSource::Configured(path.to_owned())));
    }
    if !COMPILED_IN.trim().is_empty() {
        return Ok((
            parse(COMPILED_IN.as_bytes(), "the binary".into())?,
            TrustRootSource::CompiledIn,
        ));
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(TRUST_ROOT_FILE_NAME)));
    match beside {
        Some(path) if path.exists() => {
            let root = parse(&read(&path)?, path.display().to_string())?;
            Ok((root, TrustRootSource::BesideExecutable(path)))
        }
        Some(path) => Err(TrustRootSourceError::Missing(path.display().to_string())),
        None => Err(TrustRootSourceError::Missing("executable path unknown".into())),
    }
}
