//! Starts a real `peerseal-node` process on a loopback port and stops it when dropped.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Node {
    child: Child,
    pub url: String,
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Node {
    /// Starts the dev chain with extra arguments; waits (bounded) until the RPC server listens.
    pub fn start(extra: &[&str]) -> Node {
        Self::try_start(extra).expect("node did not start")
    }

    pub fn try_start(extra: &[&str]) -> Result<Node, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_peerseal-node"));
        cmd.args(["--rpc-port", "0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("RPC listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => Ok(Node { child, url, stderr: lines }),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_millis(200));
                Err(format!("exited {status}: {}", lines.lock().unwrap().join("\n")))
            }
        }
    }

    pub fn http_url(&self) -> String {
        self.url.replacen("ws://", "http://", 1)
    }

    /// Stops the process the way an operator's Ctrl-C would not: SIGKILL, no clean-up.
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

/// Runs the node to completion with `args` (for commands that exit), bounded in time.
pub fn run_to_exit(args: &[&str], base: Option<&Path>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_peerseal-node"));
    cmd.args(args);
    if let Some(base) = base {
        cmd.arg("--base-path").arg(base);
    }
    let out = cmd.output().expect("run node");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
