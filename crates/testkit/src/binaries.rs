//! Finding the binaries the harness runs. Integration tests cannot depend on another package's
//! binary, so each is looked up in the running executable's own `<target>/<profile>/` directory
//! (which follows whatever `CARGO_TARGET_DIR` is in use), or taken from an environment variable,
//! or — when missing — built once with the cargo command below into that same directory,
//! bounded in time. A workspace test build already makes `peerseal-node` (the node's own tests
//! need it) and `peerseal-dev` (the end-to-end package enables the daemon's `dev` feature).
//!
//! | binary | variable | built with |
//! |---|---|---|
//! | `peerseal-node` (dev chain) | `PEERSEAL_NODE_BIN` | `cargo build -p peerseal-node` |
//! | `peerseal-dev` (daemon with the `dev` feature) | `PEERSEAL_DEV_BIN` | `cargo build -p peerseal --features dev --bin peerseal-dev` |
//! | `peerseal` (production daemon) | `PEERSEAL_BIN` | `cargo build -p peerseal --bin peerseal` |
//!
//! The production daemon is always built by its own command, never taken from a workspace
//! build (where the `dev` feature is on): that way no other package's features can leak into
//! it. `scripts/test.sh` runs that command before the tests, so here it only relinks.

use crate::HarnessError;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Longest a one-off build may take.
const BUILD_LIMIT: Duration = Duration::from_secs(20 * 60);

/// The dev chain node.
pub fn node_binary() -> Result<PathBuf, HarnessError> {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    cached(&BIN, "PEERSEAL_NODE_BIN", "peerseal-node", &["-p", "peerseal-node"], false)
}

/// The daemon built with the `dev` feature (dev identities, mock quotes, fault hooks).
pub fn peerseal_dev_binary() -> Result<PathBuf, HarnessError> {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    cached(
        &BIN,
        "PEERSEAL_DEV_BIN",
        "peerseal-dev",
        &["-p", "peerseal", "--features", "dev", "--bin", "peerseal-dev"],
        false,
    )
}

/// The production daemon, built by its own command (see the module doc).
pub fn peerseal_binary() -> Result<PathBuf, HarnessError> {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    cached(&BIN, "PEERSEAL_BIN", "peerseal", &["-p", "peerseal", "--bin", "peerseal"], true)
}

fn cached(
    cell: &OnceLock<PathBuf>,
    var: &str,
    name: &str,
    build_args: &[&str],
    always_build: bool,
) -> Result<PathBuf, HarnessError> {
    if let Some(path) = cell.get() {
        return Ok(path.clone());
    }
    // One build at a time in this process; the first caller's result is kept.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _guard = BUILDING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = cell.get() {
        return Ok(path.clone());
    }
    let path = locate(var, name, build_args, always_build)?;
    Ok(cell.get_or_init(|| path).clone())
}

fn locate(
    var: &str,
    name: &str,
    build_args: &[&str],
    always_build: bool,
) -> Result<PathBuf, HarnessError> {
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(HarnessError::Process(format!("{var}={} does not exist", path.display())))
        };
    }
    let profile_dir = profile_dir()?;
    let candidate = profile_dir.join(name);
    if always_build || !candidate.is_file() {
        build(&profile_dir, build_args)?;
    }
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(HarnessError::Process(format!("{} missing after building", candidate.display())))
    }
}

/// `<target>/<profile>`: the directory of the running executable, or its parent for tests and
/// benches (which run from `<target>/<profile>/deps/`).
pub fn profile_dir() -> Result<PathBuf, HarnessError> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or(HarnessError::Process("executable has no directory".into()))?;
    let dir = if dir.file_name().is_some_and(|n| n == "deps" || n == "examples") {
        dir.parent().ok_or(HarnessError::Process("no profile directory".into()))?
    } else {
        dir
    };
    Ok(dir.to_path_buf())
}

fn build(profile_dir: &Path, args: &[&str]) -> Result<(), HarnessError> {
    let target_dir =
        profile_dir.parent().ok_or(HarnessError::Process("no target directory".into()))?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .args(args)
        .args(["--profile", &profile])
        .current_dir(workspace)
        .env("CARGO_TARGET_DIR", target_dir);
    let shown = format!("cargo build {} --profile {profile}", args.join(" "));
    eprintln!("[testkit] building: {shown}");
    let mut child = cmd.spawn().map_err(|e| HarnessError::Process(format!("{shown}: {e}")))?;
    let deadline = Instant::now() + BUILD_LIMIT;
    loop {
        if let Some(status) = child.try_wait()? {
            return if status.success() {
                Ok(())
            } else {
                Err(HarnessError::Process(format!("{shown} failed: {status}")))
            };
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HarnessError::Process(format!(
                "{shown} took longer than {BUILD_LIMIT:?}; build it first"
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
