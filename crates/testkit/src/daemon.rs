//! A `peerseal-dev run` TSS node process with a dev identity against a dev chain, found through
//! the HTTP address it prints, killed with SIGKILL on drop; and the typed status client the
//! devnet, the tests and the benches poll it with.

use crate::binaries::peerseal_dev_binary;
use crate::process::Process;
use crate::HarnessError;
use peerseal::Status;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long a node may take to print its HTTP address.
const START_LIMIT: Duration = Duration::from_secs(30);

/// How to start a node (beyond its name, chain and data directory).
#[derive(Clone, Debug)]
pub struct DaemonOptions {
    /// Directory for `<name>.log` (stderr, appended across restarts).
    pub logs: PathBuf,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Extra arguments after `run`.
    pub args: Vec<String>,
    /// `RUST_LOG` (default `info`).
    pub rust_log: String,
    /// The chain trust root file to pass (`--trust-root`); by default the harness writes the
    /// genesis of the chain at `chain_url` into the logs directory. A test that points the
    /// node at a proxy sets it from the honest chain.
    pub trust_root: Option<PathBuf>,
    /// Start with a freshly generated identity (not registered on chain; mock quotes, an
    /// ephemeral p2p port unless `args` has `--listen`) instead of the dev identity `name`.
    pub generated_identity: bool,
}

impl DaemonOptions {
    /// Logs into `logs`, defaults otherwise.
    pub fn logs_in(logs: &Path) -> Self {
        Self {
            logs: logs.to_path_buf(),
            env: Vec::new(),
            args: Vec::new(),
            rust_log: "info".into(),
            trust_root: None,
            generated_identity: false,
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }
}

/// A `peerseal-dev run --dev-identity <name>` process.
pub struct TssDaemon {
    /// The dev identity.
    pub name: &'static str,
    /// The HTTP endpoint.
    pub http: SocketAddr,
    process: Process,
}

impl TssDaemon {
    /// Starts `name` against `chain_url` with `data_dir`, logging into `logs`.
    pub fn start(
        name: &'static str,
        chain_url: &str,
        data_dir: &Path,
        logs: &Path,
    ) -> Result<TssDaemon, HarnessError> {
        Self::start_with(name, chain_url, data_dir, &DaemonOptions::logs_in(logs))
    }

    /// Starts `name` with `options`.
    pub fn start_with(
        name: &'static str,
        chain_url: &str,
        data_dir: &Path,
        options: &DaemonOptions,
    ) -> Result<TssDaemon, HarnessError> {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(options.logs.join(format!("{name}.log")))?;
        let trust_root = match &options.trust_root {
            Some(path) => path.clone(),
            None => crate::trust::write_trust_root(chain_url, &options.logs)?,
        };
        let mut cmd = Command::new(peerseal_dev_binary()?);
        cmd.arg("run");
        if options.generated_identity {
            cmd.args(["--name", name, "--quotes", "mock"]);
            // A node that is to be registered (and restarted) gets its fixed `--listen` in args.
            if !options.args.iter().any(|a| a == "--listen") {
                cmd.args(["--listen", "/ip4/127.0.0.1/tcp/0"]);
            }
        } else {
            cmd.args(["--dev-identity", name]);
        }
        cmd.args(["--http", "127.0.0.1:0"])
            .arg("--chain-url")
            .arg(chain_url)
            .arg("--trust-root")
            .arg(&trust_root)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--max-backoff-secs", "2"])
            .args(&options.args)
            .env("RUST_LOG", &options.rust_log)
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stderr(log);
        let (process, http) = Process::spawn(cmd, "HTTP listening on http://", START_LIMIT, false)?;
        let http = http
            .parse()
            .map_err(|e| HarnessError::Process(format!("{name} printed a bad address: {e}")))?;
        Ok(TssDaemon { name, http, process })
    }

    /// The node's `/status`, or `None` while it does not answer.
    pub async fn status(&self) -> Option<Status> {
        status_at(self.http).await
    }

    /// Polls until `check` accepts the status (every 50 ms, at most `limit`).
    pub async fn wait_until(
        &self,
        what: &str,
        limit: Duration,
        check: impl Fn(&Status) -> bool,
    ) -> Result<Status, HarnessError> {
        wait_until(self.name, self.http, what, limit, check).await
    }

    /// Waits until the node's phase label is `label` (`"ready"`, `"recovery_failed"`, ...).
    pub async fn wait_for(&self, label: &str, secs: u64) -> Result<Status, HarnessError> {
        self.wait_until(label, Duration::from_secs(secs), |s| s.state.label() == label).await
    }

    /// `GET path` on the node's endpoint: (status code, body).
    pub async fn get(&self, path: &str) -> Result<(u16, String), HarnessError> {
        peerseal::http::get(self.http, path)
            .await
            .map_err(|e| HarnessError::Process(format!("{}: GET {path}: {e}", self.name)))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// SIGKILL and reap.
    pub fn kill(self) {
        self.process.kill();
    }

    /// The process (to ask for a clean shutdown or wait for its exit).
    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }
}

/// `/status` of the node at `http`, or `None` while it does not answer with one.
pub async fn status_at(http: SocketAddr) -> Option<Status> {
    let (code, body) = peerseal::http::get(http, "/status").await.ok()?;
    if code != 200 {
        return None;
    }
    serde_json::from_str(&body).ok()
}

/// Polls the node at `http` until `check` accepts its status, at most `limit`.
pub async fn wait_until(
    name: &str,
    http: SocketAddr,
    what: &str,
    limit: Duration,
    check: impl Fn(&Status) -> bool,
) -> Result<Status, HarnessError> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let status = status_at(http).await;
        if let Some(status) = &status {
            if check(status) {
                return Ok(status.clone());
            }
        }
        if tokio::time::Instant::now() >= deadline {
            let last = status
                .and_then(|s| serde_json::to_string(&s).ok())
                .unwrap_or_else(|| "no answer".into());
            return Err(HarnessError::Timeout(format!(
                "{name} did not become {what} within {limit:?}; last status: {last}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every file under `dir` with its bytes (to show a directory was left untouched).
pub fn snapshot(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>, HarnessError> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path)?);
            }
        }
    }
    Ok(out)
}
