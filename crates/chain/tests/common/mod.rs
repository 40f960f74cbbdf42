//! A real `peerseal-node` dev chain on loopback, started by a test and killed when dropped.
//!
//! Where the binary comes from, in order: `PEERSEAL_NODE_BIN` if set; else the
//! `peerseal-node` next to this test's own target directory (`<target>/<profile>/`, i.e. the
//! same `CARGO_TARGET_DIR` the test was built with, so it follows whatever target dir is in
//! use); else it is built once with `cargo build -p peerseal-node` into that same target dir,
//! bounded in time. Integration tests cannot depend on another package's binary, and deriving
//! the path from the running test needs no environment to be set. Run
//! `cargo build -p peerseal-node` first to test against the current node sources.
#![allow(dead_code)]
// Fixtures fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// Longest a one-off build of the node may take.
const BUILD_LIMIT: Duration = Duration::from_secs(20 * 60);
/// Longest a node may take to start listening.
const START_LIMIT: Duration = Duration::from_secs(60);

fn node_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("PEERSEAL_NODE_BIN") {
            let path = PathBuf::from(path);
            assert!(path.is_file(), "PEERSEAL_NODE_BIN={} does not exist", path.display());
            return path;
        }
        // This test runs from <target>/<profile>/deps/<test>-<hash>.
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
        let candidate = profile_dir.join("peerseal-node");
        if !candidate.is_file() {
            build_node(&profile_dir);
        }
        assert!(candidate.is_file(), "{} missing after building", candidate.display());
        candidate
    })
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

/// A free loopback TCP port (bound and released; fine for tests on one machine).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub struct Node {
    child: Child,
    pub url: String,
}

impl Node {
    /// Starts `peerseal-node` with `args` (`--rpc-port 0` unless `args` choose a port) and
    /// waits, bounded, until it listens.
    pub fn start(args: &[&str]) -> Node {
        let mut cmd = Command::new(node_binary());
        if !args.contains(&"--rpc-port") {
            cmd.args(["--rpc-port", "0"]);
        }
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn peerseal-node");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("RPC listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
            });
        }
        match rx.recv_timeout(START_LIMIT) {
            Ok(url) => Node { child, url },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(200));
                panic!("peerseal-node did not start: {}", log.lock().unwrap().join("\n"));
            }
        }
    }

    /// SIGKILL, no clean shutdown.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
