//! Test support shared by the node, chain client and TSS test suites: one way to start a real
//! `peerseal-node` dev chain process on a loopback RPC port and to stop it again.
//!
//! [`DevChain`] spawns the node (`--rpc-port 0` unless the caller picks a port), waits a bounded
//! time for the `RPC listening on ws://127.0.0.1:<port>` line on stdout, keeps stderr for error
//! messages, and kills and reaps the process when dropped. [`node_binary`] finds the binary:
//! `PEERSEAL_NODE_BIN` if set; else `peerseal-node` in the running test's own
//! `<target>/<profile>/` directory (so it follows whatever `CARGO_TARGET_DIR` is in use); else it
//! is built once with `cargo build -p peerseal-node` into that target directory, bounded in
//! time. Integration tests cannot depend on another package's binary, and deriving the path from
//! the running executable needs no environment to be set.
//!
//! No dependencies: only the standard library is needed to run and watch a child process.
// Test support: a broken fixture should fail the test loudly, so panics here are the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Longest a one-off build of the node may take.
const BUILD_LIMIT: Duration = Duration::from_secs(20 * 60);
/// Longest a node may take to start listening.
pub const START_LIMIT: Duration = Duration::from_secs(60);

/// A `peerseal-node` process with its RPC server listening; killed (SIGKILL) and reaped on drop.
pub struct DevChain {
    child: Child,
    /// The RPC address the node printed, e.g. `ws://127.0.0.1:40123`.
    pub url: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl DevChain {
    /// Starts [`node_binary`] with `args` (no `RUST_LOG` override).
    pub fn start(args: &[&str]) -> Result<DevChain, String> {
        Self::start_with_binary(node_binary(), args, None)
    }

    /// Like [`DevChain::start`], panicking with the node's stderr if it does not come up.
    pub fn start_or_panic(args: &[&str]) -> DevChain {
        Self::start(args).unwrap_or_else(|e| panic!("peerseal-node did not start: {e}"))
    }

    /// Starts `binary` with `args` and, if given, `RUST_LOG=rust_log`; adds `--rpc-port 0`
    /// unless `args` choose a port. Waits at most [`START_LIMIT`] for the RPC server.
    pub fn start_with_binary(
        binary: &Path,
        args: &[&str],
        rust_log: Option<&str>,
    ) -> Result<DevChain, String> {
        let mut cmd = Command::new(binary);
        if !args.contains(&"--rpc-port") {
            cmd.args(["--rpc-port", "0"]);
        }
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(level) = rust_log {
            cmd.env("RUST_LOG", level);
        }
        let mut child = cmd.spawn().map_err(|e| format!("spawn {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        match wait_for_line(stdout, "RPC listening on ", START_LIMIT) {
            Some(url) => Ok(DevChain { child, url, stderr: lines }),
            None => {
                let _ = child.kill();
                let status = child.wait().map_err(|e| e.to_string())?;
                // Let the stderr reader drain what the node wrote before it died.
                std::thread::sleep(Duration::from_millis(200));
                Err(format!("exited {status}: {}", lines.lock().unwrap().join("\n")))
            }
        }
    }

    /// The RPC address with an `http://` scheme.
    pub fn http_url(&self) -> String {
        self.url.replacen("ws://", "http://", 1)
    }

    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the node wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// SIGKILL, no clean shutdown, and reap.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DevChain {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads `output` on a thread and returns the rest of the first line starting with `prefix`
/// (trimmed), or `None` if none arrives within `limit` or the stream ends first.
pub fn wait_for_line(
    output: impl Read + Send + 'static,
    prefix: &str,
    limit: Duration,
) -> Option<String> {
    let prefix = prefix.to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(&prefix) {
                let _ = tx.send(rest.trim().to_string());
            }
        }
    });
    rx.recv_timeout(limit).ok()
}

/// The `peerseal-node` binary (see the crate doc for the order), resolved once per process.
pub fn node_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("PEERSEAL_NODE_BIN") {
            let path = PathBuf::from(path);
            assert!(path.is_file(), "PEERSEAL_NODE_BIN={} does not exist", path.display());
            return path;
        }
        let profile_dir = profile_dir();
        let candidate = profile_dir.join("peerseal-node");
        if !candidate.is_file() {
            build_node(&profile_dir);
        }
        assert!(candidate.is_file(), "{} missing after building", candidate.display());
        candidate
    })
}

/// `<target>/<profile>`: tests and benches run from `<target>/<profile>/deps/<name>-<hash>`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn build_node(profile_dir: &Path) {
    let target_dir = profile_dir.parent().unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "peerseal-node"])
        .current_dir(workspace)
        .env("CARGO_TARGET_DIR", target_dir);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let mut child = cmd.spawn().expect("run cargo build -p peerseal-node");
    let deadline = Instant::now() + BUILD_LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "cargo build -p peerseal-node failed: {status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("building peerseal-node took longer than {BUILD_LIMIT:?}; build it first");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_for_line_returns_the_rest_of_the_first_matching_line() {
        let out = std::io::Cursor::new(
            b"noise\nRPC listening on ws://127.0.0.1:9 \nRPC listening on x\n".to_vec(),
        );
        let got = wait_for_line(out, "RPC listening on ", Duration::from_secs(5));
        assert_eq!(got.as_deref(), Some("ws://127.0.0.1:9"));
    }

    #[test]
    fn wait_for_line_gives_none_when_the_stream_ends_without_it() {
        let out = std::io::Cursor::new(b"starting\nfailed\n".to_vec());
        assert_eq!(wait_for_line(out, "RPC listening on ", Duration::from_secs(5)), None);
    }

    #[test]
    fn a_binary_that_never_listens_is_an_error_not_a_hang() {
        let err = DevChain::start_with_binary(Path::new("/bin/false"), &[], None).err().unwrap();
        assert!(err.starts_with("exited "), "{err}");
    }
}
