//! `peerseal devnet`: a dev chain and four TSS nodes (the dev identities Alice..Dave) as
//! separate processes on loopback with temporary data directories, and the story the product
//! promises, checked step by step: every node backs up; a node killed with SIGKILL recovers
//! its key and reads back what it wrote; governance removes a provider and every affected
//! client rotates and re-backs up; a node whose provider is down fails over to another one.
//! Ends with a summary table. Every child process is killed when the devnet is dropped.

use crate::http;
use crate::recovery_file::{hex, parse_account};
use peerseal_chain::{ChainApi, ChainClient};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The dev identities the devnet runs.
pub const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];

/// Options of `peerseal devnet`.
#[derive(clap::Args, Clone, Debug)]
pub struct DevnetArgs {
    /// The `peerseal-node` binary [default: next to this binary, or $PEERSEAL_NODE_BIN].
    #[arg(long, env = "PEERSEAL_NODE_BIN")]
    pub node_bin: Option<PathBuf>,
    /// Leave the network running after the story (until Ctrl-C).
    #[arg(long)]
    pub keep_running: bool,
    /// Bound on each step of the story, seconds.
    #[arg(long, default_value_t = 120)]
    pub step_timeout_secs: u64,
}

/// Why the story failed.
#[derive(Debug, thiserror::Error)]
#[error("devnet: {0}")]
pub struct DevnetError(pub String);

fn err(e: impl std::fmt::Display) -> DevnetError {
    DevnetError(e.to_string())
}

/// A child process killed on drop.
struct Proc {
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` with stdout piped; returns the process and the first stdout line that starts
/// with `prefix` (rest of the line).
fn spawn_and_read(
    mut cmd: Command,
    prefix: &'static str,
    wait: Duration,
) -> Result<(Proc, String), DevnetError> {
    let mut child = cmd.stdout(Stdio::piped()).spawn().map_err(err)?;
    let stdout = child.stdout.take().ok_or_else(|| err("no stdout"))?;
    let proc = Proc { child };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(prefix) {
                let _ = tx.send(rest.trim().to_owned());
            }
        }
    });
    let found = rx.recv_timeout(wait).map_err(|_| err(format!("no `{prefix}` line in time")))?;
    Ok((proc, found))
}

struct TssProc {
    name: &'static str,
    proc: Option<Proc>,
    http: SocketAddr,
    recovery_ms: Option<u64>,
}

/// The running devnet.
pub struct Devnet {
    _chain: Proc,
    chain_url: String,
    dir: tempfile::TempDir,
    nodes: Vec<TssProc>,
    step: Duration,
}

fn node_binary(args: &DevnetArgs) -> Result<PathBuf, DevnetError> {
    if let Some(path) = &args.node_bin {
        return Ok(path.clone());
    }
    let exe = std::env::current_exe().map_err(err)?;
    let exe_dir = exe.parent().ok_or_else(|| err("no exe dir"))?;
    let path = exe_dir.join("peerseal-node");
    if path.exists() {
        return Ok(path);
    }
    // Under `cargo run` (which sets $CARGO), build the chain node into the same target dir and
    // profile, so the README's single command works on a fresh checkout.
    if let Ok(cargo) = std::env::var("CARGO") {
        let profile = match exe_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev",
            Some(other) => other,
            None => "release",
        };
        say(format!("building peerseal-node ({profile} profile) first"));
        let target_dir = exe_dir.parent().ok_or_else(|| err("no target dir"))?;
        let status = Command::new(cargo)
            .args(["build", "-p", "peerseal-node", "--profile", profile])
            .env("CARGO_TARGET_DIR", target_dir)
            .status()
            .map_err(err)?;
        if status.success() && path.exists() {
            return Ok(path);
        }
    }
    Err(err(format!(
        "{} not found: build it with `cargo build --release -p peerseal-node` or pass --node-bin",
        path.display()
    )))
}

fn say(line: impl std::fmt::Display) {
    println!("[devnet] {line}");
}

impl Devnet {
    fn spawn_node(&self, name: &'static str) -> Result<(Proc, SocketAddr), DevnetError> {
        let exe = std::env::current_exe().map_err(err)?;
        let log =
            std::fs::File::create(self.dir.path().join(format!("{name}.log"))).map_err(err)?;
        let mut cmd = Command::new(exe);
        cmd.args(["run", "--dev-identity", name, "--http", "127.0.0.1:0"])
            .arg("--chain-url")
            .arg(&self.chain_url)
            .arg("--data-dir")
            .arg(self.dir.path().join(name))
            .args(["--max-backoff-secs", "2"])
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            .stderr(log);
        let (proc, url) = spawn_and_read(cmd, "HTTP listening on http://", self.step)?;
        Ok((proc, url.parse().map_err(err)?))
    }

    async fn status(&self, i: usize) -> Option<serde_json::Value> {
        let (code, body) = http::get(self.nodes[i].http, "/status").await.ok()?;
        if code != 200 {
            return None;
        }
        serde_json::from_str(&body).ok()
    }

    /// Polls node `i` until `check` accepts its status.
    async fn wait_until(
        &self,
        i: usize,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<serde_json::Value, DevnetError> {
        let deadline = Instant::now() + self.step;
        loop {
            if let Some(status) = self.status(i).await {
                if check(&status) {
                    return Ok(status);
                }
                if Instant::now() > deadline {
                    return Err(err(format!(
                        "{} did not become {what}; status: {status}",
                        self.nodes[i].name
                    )));
                }
            } else if Instant::now() > deadline {
                return Err(err(format!("{} does not answer", self.nodes[i].name)));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn name_of(account_hex: &str) -> String {
        let account = parse_account(account_hex);
        NAMES
            .iter()
            .find(|n| {
                account.is_some()
                    && peerseal_devkeys::dev_identity(n).map(|id| id.tss_account) == account
            })
            .map(|n| (*n).to_owned())
            .unwrap_or_else(|| account_hex.chars().take(8).collect())
    }

    fn providers_of(status: &serde_json::Value) -> Vec<String> {
        status["providers"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["account"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    fn index(name: &str) -> usize {
        NAMES.iter().position(|n| *n == name).unwrap_or(0)
    }

    async fn restart(&mut self, i: usize) -> Result<(), DevnetError> {
        let (proc, http) = self.spawn_node(NAMES[i])?;
        self.nodes[i].proc = Some(proc);
        self.nodes[i].http = http;
        Ok(())
    }

    fn kill(&mut self, i: usize) -> Result<(), DevnetError> {
        let mut proc = self.nodes[i].proc.take().ok_or_else(|| err("not running"))?;
        // `Child::kill` sends SIGKILL on Unix.
        proc.child.kill().map_err(err)?;
        proc.child.wait().map_err(err)?;
        Ok(())
    }

    /// Starts the chain and the four nodes.
    pub async fn start(args: &DevnetArgs) -> Result<Devnet, DevnetError> {
        let dir = tempfile::Builder::new().prefix("peerseal-devnet-").tempdir().map_err(err)?;
        let step = Duration::from_secs(args.step_timeout_secs.max(5));
        let mut cmd = Command::new(node_binary(args)?);
        cmd.args(["--dev", "--rpc-port", "0"])
            .env("RUST_LOG", "warn")
            .stderr(std::fs::File::create(dir.path().join("chain.log")).map_err(err)?);
        let (chain, chain_url) = spawn_and_read(cmd, "RPC listening on ", step)?;
        say(format!("dev chain at {chain_url}; data and logs in {}", dir.path().display()));
        let mut devnet = Devnet { _chain: chain, chain_url, dir, nodes: Vec::new(), step };
        for name in NAMES {
            let (proc, http) = devnet.spawn_node(name)?;
            say(format!("{name}: started, status at http://{http}/status"));
            devnet.nodes.push(TssProc { name, proc: Some(proc), http, recovery_ms: None });
        }
        Ok(devnet)
    }

    /// Runs the story; returns the summary table.
    pub async fn story(&mut self) -> Result<String, DevnetError> {
        // 1. Every node backs up.
        let mut first = Vec::new();
        for (i, name) in NAMES.iter().enumerate() {
            let s = self.wait_until(i, "ready", |s| s["state"]["state"] == "ready").await?;
            say(format!(
                "{name}: ready, epoch {}, backed up with {:?}",
                s["epoch"],
                Self::providers_of(&s).iter().map(|p| Self::name_of(p)).collect::<Vec<_>>()
            ));
            first.push(s);
        }

        // 2. SIGKILL and restart: recovery from providers, data read back.
        let bob = Self::index("bob");
        self.kill(bob)?;
        say("bob: killed with SIGKILL; restarting");
        self.restart(bob).await?;
        let s = self.wait_until(bob, "ready again", |s| s["state"]["state"] == "ready").await?;
        if s["first_start_marker"] != first[bob]["first_start_marker"] {
            return Err(err("bob's store after recovery does not hold what it wrote before"));
        }
        self.nodes[bob].recovery_ms = s["recovery_ms"].as_u64();
        say(format!(
            "bob: recovered its key and read back its data (start to unlocked store: {} ms)",
            s["recovery_ms"]
        ));

        // 3. Governance removes a provider: every affected client rotates and re-backs up.
        let chain = ChainClient::connect(&self.chain_url).await.map_err(err)?;
        let alice = Self::index("alice");
        let current = self.status(alice).await.ok_or_else(|| err("alice does not answer"))?;
        let victim_account =
            Self::providers_of(&current).first().cloned().ok_or_else(|| err("no provider"))?;
        let victim = Self::index(&Self::name_of(&victim_account));
        let mut affected = Vec::new();
        let mut epochs = Vec::new();
        for i in (0..NAMES.len()).filter(|i| *i != victim) {
            let s = self.status(i).await.ok_or_else(|| err("node does not answer"))?;
            if Self::providers_of(&s).contains(&victim_account) {
                affected.push(i);
                epochs.push(s["epoch"].as_u64().unwrap_or(0));
            }
        }
        let stash = peerseal_devkeys::dev_identity(NAMES[victim])
            .ok_or_else(|| err("unknown dev identity"))?
            .stash_account;
        governance_remove(&self.chain_url, stash).await?;
        let removed_at = chain.finalized_number().await.map_err(err)?;
        let removed_time = Instant::now();
        say(format!(
            "governance removed {} in block #{removed_at}; affected clients: {:?}",
            NAMES[victim],
            affected.iter().map(|i| NAMES[*i]).collect::<Vec<_>>()
        ));
        for (i, epoch) in affected.iter().zip(&epochs) {
            let s = self
                .wait_until(*i, "re-backed up", |s| {
                    s["state"]["state"] == "ready" && s["epoch"].as_u64() == Some(epoch + 1)
                })
                .await?;
            if Self::providers_of(&s).contains(&victim_account) {
                return Err(err(format!("{} still names the removed provider", NAMES[*i])));
            }
        }
        let done_at = chain.finalized_number().await.map_err(err)?;
        say(format!(
            "every affected client rotated to a new key epoch and re-backed up: {} blocks, {:.1} s \
             after the removal",
            done_at.saturating_sub(removed_at),
            removed_time.elapsed().as_secs_f64()
        ));
        check_assignments(&chain, &affected, &victim_account).await?;

        // 4. A node whose provider is down fails over to another provider.
        let client = (0..NAMES.len()).find(|i| *i != victim && *i != bob).unwrap_or(alice);
        let s = self.status(client).await.ok_or_else(|| err("client does not answer"))?;
        let providers = Self::providers_of(&s);
        if providers.len() < 2 {
            return Err(err(format!("{} has fewer than 2 providers", NAMES[client])));
        }
        let down = Self::index(&Self::name_of(&providers[0]));
        self.kill(down)?;
        self.kill(client)?;
        say(format!(
            "{}: its provider {} is down; killing and restarting {}",
            NAMES[client], NAMES[down], NAMES[client]
        ));
        self.restart(client).await?;
        let epoch = s["epoch"].clone();
        let r = self
            .wait_until(client, "ready after fail-over", |r| {
                r["state"]["state"] == "ready" && r["epoch"] == epoch
            })
            .await?;
        self.nodes[client].recovery_ms = r["recovery_ms"].as_u64();
        say(format!(
            "{}: recovered from its other provider {}",
            NAMES[client],
            Self::name_of(&providers[1])
        ));
        self.restart(down).await?;
        self.wait_until(down, "ready", |s| s["state"]["state"] == "ready").await?;
        say(format!("{}: back", NAMES[down]));

        Ok(self.summary().await)
    }

    async fn summary(&self) -> String {
        let mut out = format!(
            "{:<8} {:<16} {:>5}  {:<18} {:>12}\n",
            "node", "state", "epoch", "providers", "recovery ms"
        );
        for (i, node) in self.nodes.iter().enumerate() {
            let s = self.status(i).await.unwrap_or_default();
            let providers: Vec<String> =
                Self::providers_of(&s).iter().map(|p| Self::name_of(p)).collect();
            out.push_str(&format!(
                "{:<8} {:<16} {:>5}  {:<18} {:>12}\n",
                node.name,
                s["state"]["state"].as_str().unwrap_or("down"),
                s["epoch"].as_u64().map(|e| e.to_string()).unwrap_or_default(),
                providers.join(","),
                node.recovery_ms.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
            ));
        }
        out
    }

    /// The node HTTP endpoints (for --keep-running).
    pub fn endpoints(&self) -> Vec<(&'static str, SocketAddr)> {
        self.nodes.iter().map(|n| (n.name, n.http)).collect()
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

async fn check_assignments(
    chain: &ChainClient,
    affected: &[usize],
    victim: &str,
) -> Result<(), DevnetError> {
    let victim = parse_account(victim).ok_or_else(|| err("bad account"))?;
    for i in affected {
        let account = peerseal_devkeys::dev_identity(NAMES[*i])
            .ok_or_else(|| err("unknown dev identity"))?
            .tss_account;
        let a =
            chain.assignment(&account).await.map_err(err)?.ok_or_else(|| err("no assignment"))?;
        if a.stale || a.providers.iter().any(|(p, _)| *p == victim) {
            return Err(err(format!(
                "{}'s on-chain backup still names {}",
                NAMES[*i],
                hex(&victim)
            )));
        }
    }
    Ok(())
}

/// `Sudo.sudo(Registry.remove { stash })` signed by the dev sudo key //Alice, waited for until
/// finalized and successful.
pub async fn governance_remove(url: &str, stash: [u8; 32]) -> Result<(), DevnetError> {
    use subxt::dynamic::Value;
    let api: subxt::OnlineClient<subxt::PolkadotConfig> =
        subxt::OnlineClient::from_insecure_url(url).await.map_err(err)?;
    let remove = Value::unnamed_variant(
        "Registry",
        [Value::named_variant("remove", [("stash", Value::from_bytes(stash))])],
    );
    let sudo = subxt::dynamic::transaction("Sudo", "sudo", (remove,));
    let events = api
        .tx()
        .await
        .map_err(err)?
        .sign_and_submit_then_watch_default(&sudo, &subxt_signer::sr25519::dev::alice())
        .await
        .map_err(err)?
        .wait_for_finalized_success()
        .await
        .map_err(err)?;
    let removed = events.iter().any(|e| {
        e.is_ok_and(|e| e.pallet_name() == "Registry" && e.event_name() == "ServerRemoved")
    });
    if removed {
        Ok(())
    } else {
        Err(err("the sudo call did not remove the server"))
    }
}

/// `peerseal devnet`: runs the story; with `--keep-running` leaves the network up.
pub async fn run(args: DevnetArgs) -> Result<(), DevnetError> {
    let mut devnet = Devnet::start(&args).await?;
    let outcome = devnet.story().await;
    match &outcome {
        Ok(table) => {
            println!("\n{table}");
            say("story complete");
        }
        Err(e) => {
            println!("\n{}", devnet.summary().await);
            // Keep data and logs for a post-mortem.
            devnet.dir.disable_cleanup(true);
            say(format!("FAILED: {e} (data and logs kept in {})", devnet.dir().display()));
        }
    }
    if args.keep_running {
        for (name, http) in devnet.endpoints() {
            say(format!("{name}: http://{http}/status"));
        }
        say("running; Ctrl-C stops everything");
        let _ = tokio::signal::ctrl_c().await;
    }
    outcome.map(|_| ())
}
