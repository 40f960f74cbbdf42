//! `peerseal run` processes for end-to-end tests: started with a dev identity against a dev
//! chain, found through the HTTP address they print, killed with SIGKILL on drop.
// Test support: failing loudly on a broken fixture is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `peerseal run` process, killed (SIGKILL) on drop.
pub struct TssNode {
    pub name: &'static str,
    pub child: Child,
    pub http: SocketAddr,
}

impl TssNode {
    pub fn start(name: &'static str, chain_url: &str, data_dir: &Path, logs: &Path) -> TssNode {
        Self::start_with_env(name, chain_url, data_dir, logs, &[])
    }

    /// Like [`TssNode::start`], with extra environment variables.
    pub fn start_with_env(
        name: &'static str,
        chain_url: &str,
        data_dir: &Path,
        logs: &Path,
        env: &[(&str, &str)],
    ) -> TssNode {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(logs.join(format!("{name}.log")))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_peerseal"))
            .args(["run", "--dev-identity", name, "--http", "127.0.0.1:0"])
            .arg("--chain-url")
            .arg(chain_url)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--max-backoff-secs", "2"])
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let http = peerseal_testkit::wait_for_line(
            stdout,
            "HTTP listening on http://",
            Duration::from_secs(30),
        )
        .expect("node printed no HTTP address");
        TssNode { name, child, http: http.parse().unwrap() }
    }

    pub async fn status(&self) -> Option<serde_json::Value> {
        let (code, body) = peerseal::http::get(self.http, "/status").await.ok()?;
        assert_eq!(code, 200);
        serde_json::from_str(&body).ok()
    }

    /// Waits until the node's state is `state`; returns its status.
    pub async fn wait_for(&self, state: &str, secs: u64) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let status = self.status().await;
            if let Some(status) = &status {
                if status["state"]["state"] == state {
                    return status.clone();
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} did not reach {state} in {secs} s; last status {status:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for TssNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir` with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}
