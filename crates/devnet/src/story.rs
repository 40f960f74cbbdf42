//! The devnet and its story: every node backs up; a node killed with SIGKILL recovers its key
//! and reads back what it wrote; governance removes a provider and every affected client rotates
//! and re-backs up; a node whose provider is down fails over to another one. Every child process
//! is killed when the devnet is dropped.

use crate::DevnetArgs;
use anyhow::{anyhow, bail, Context as _};
use peerseal::Status;
use peerseal_chain::{ChainApi, ChainClient};
use peerseal_testkit::{governance, DevChain, DevPortsGuard, TssDaemon};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// The dev identities the devnet runs.
pub const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];

fn say(line: impl std::fmt::Display) {
    println!("[devnet] {line}");
}

struct Member {
    name: &'static str,
    node: Option<TssDaemon>,
    http: SocketAddr,
    recovery_ms: Option<u64>,
}

/// The running devnet.
pub struct Devnet {
    chain: DevChain,
    dir: tempfile::TempDir,
    nodes: Vec<Member>,
    step: Duration,
    _ports: DevPortsGuard,
}

fn is_ready(s: &Status) -> bool {
    s.state.label() == "ready"
}

fn providers_of(status: &Status) -> Vec<String> {
    status.providers.iter().map(|p| p.account.clone()).collect()
}

fn name_of(account_hex: &str) -> String {
    let account = peerseal::recovery_file::parse_account(account_hex);
    NAMES
        .iter()
        .find(|n| {
            account.is_some()
                && peerseal_devkeys::dev_identity(n)
                    .map(|id| peerseal_chain::AccountId(id.tss_account))
                    == account
        })
        .map(|n| (*n).to_owned())
        .unwrap_or_else(|| account_hex.chars().take(8).collect())
}

fn index(name: &str) -> usize {
    NAMES.iter().position(|n| *n == name).unwrap_or(0)
}

impl Devnet {
    /// Starts the chain and the four nodes.
    pub async fn start(args: &DevnetArgs) -> anyhow::Result<Devnet> {
        let ports = peerseal_testkit::dev_ports().await.context("locking the dev p2p ports")?;
        let dir = tempfile::Builder::new().prefix("peerseal-devnet-").tempdir()?;
        let step = Duration::from_secs(args.step_timeout_secs.max(5));
        let chain = DevChain::dev()?;
        say(format!("dev chain at {}; data and logs in {}", chain.url, dir.path().display()));
        let mut devnet = Devnet { chain, dir, nodes: Vec::new(), step, _ports: ports };
        for name in NAMES {
            let node = devnet.spawn_node(name)?;
            say(format!("{name}: started, status at http://{}/status", node.http));
            let http = node.http;
            devnet.nodes.push(Member { name, node: Some(node), http, recovery_ms: None });
        }
        Ok(devnet)
    }

    fn spawn_node(&self, name: &'static str) -> anyhow::Result<TssDaemon> {
        let mut options = peerseal_testkit::DaemonOptions::logs_in(self.dir.path());
        options.rust_log = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
        Ok(TssDaemon::start_with(name, &self.chain.url, &self.dir.path().join(name), &options)?)
    }

    async fn status(&self, i: usize) -> Option<Status> {
        peerseal_testkit::daemon::status_at(self.nodes[i].http).await
    }

    /// Polls node `i` until `check` accepts its status.
    async fn wait_until(
        &self,
        i: usize,
        what: &str,
        check: impl Fn(&Status) -> bool,
    ) -> anyhow::Result<Status> {
        let member = &self.nodes[i];
        Ok(peerseal_testkit::daemon::wait_until(member.name, member.http, what, self.step, check)
            .await?)
    }

    async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        let node = self.spawn_node(NAMES[i])?;
        self.nodes[i].http = node.http;
        self.nodes[i].node = Some(node);
        Ok(())
    }

    fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        let node =
            self.nodes[i].node.take().ok_or_else(|| anyhow!("{} is not running", NAMES[i]))?;
        node.kill();
        Ok(())
    }

    /// Runs the story; returns the summary table.
    pub async fn story(&mut self) -> anyhow::Result<String> {
        // 1. Every node backs up.
        let mut first = Vec::new();
        for (i, name) in NAMES.iter().enumerate() {
            let s = self.wait_until(i, "ready", is_ready).await?;
            say(format!(
                "{name}: ready, epoch {}, backed up with {:?}",
                s.epoch.unwrap_or_default(),
                providers_of(&s).iter().map(|p| name_of(p)).collect::<Vec<_>>()
            ));
            first.push(s);
        }

        // 2. SIGKILL and restart: recovery from providers, data read back.
        let bob = index("bob");
        self.kill(bob)?;
        say("bob: killed with SIGKILL; restarting");
        self.restart(bob).await?;
        let s = self.wait_until(bob, "ready again", is_ready).await?;
        if s.first_start_marker != first[bob].first_start_marker {
            bail!("bob's store after recovery does not hold what it wrote before");
        }
        self.nodes[bob].recovery_ms = s.recovery_ms;
        say(format!(
            "bob: recovered its key and read back its data (start to unlocked store: {} ms)",
            s.recovery_ms.unwrap_or_default()
        ));

        // 3. Governance removes a provider: every affected client rotates and re-backs up.
        let chain = peerseal_testkit::connect_chain(&self.chain.url).await?;
        let alice = index("alice");
        let current = self.status(alice).await.ok_or_else(|| anyhow!("alice does not answer"))?;
        let victim_account =
            providers_of(&current).first().cloned().ok_or_else(|| anyhow!("no provider"))?;
        let victim = index(&name_of(&victim_account));
        let mut affected = Vec::new();
        let mut epochs = Vec::new();
        for i in (0..NAMES.len()).filter(|i| *i != victim) {
            let s = self.status(i).await.ok_or_else(|| anyhow!("node does not answer"))?;
            if providers_of(&s).contains(&victim_account) {
                affected.push(i);
                epochs.push(s.epoch.unwrap_or(0));
            }
        }
        let stash = peerseal_devkeys::dev_identity(NAMES[victim])
            .ok_or_else(|| anyhow!("unknown dev identity"))?
            .stash_account;
        governance::remove_server(&self.chain.url, stash).await?;
        let removed_at = chain.finalized_number().await?;
        let removed_time = Instant::now();
        say(format!(
            "governance removed {} in block #{removed_at}; affected clients: {:?}",
            NAMES[victim],
            affected.iter().map(|i| NAMES[*i]).collect::<Vec<_>>()
        ));
        for (i, epoch) in affected.iter().zip(&epochs) {
            let s = self
                .wait_until(*i, "re-backed up", |s| is_ready(s) && s.epoch == Some(epoch + 1))
                .await?;
            if providers_of(&s).contains(&victim_account) {
                bail!("{} still names the removed provider", NAMES[*i]);
            }
        }
        let done_at = chain.finalized_number().await?;
        say(format!(
            "every affected client rotated to a new key epoch and re-backed up: {} blocks, {:.1} s \
             after the removal",
            done_at.saturating_sub(removed_at),
            removed_time.elapsed().as_secs_f64()
        ));
        check_assignments(&chain, &affected, &victim_account).await?;

        // 4. A node whose provider is down fails over to another provider.
        let client = (0..NAMES.len()).find(|i| *i != victim && *i != bob).unwrap_or(alice);
        let s = self.status(client).await.ok_or_else(|| anyhow!("client does not answer"))?;
        let providers = providers_of(&s);
        if providers.len() < 2 {
            bail!("{} has fewer than 2 providers", NAMES[client]);
        }
        let down = index(&name_of(&providers[0]));
        self.kill(down)?;
        self.kill(client)?;
        say(format!(
            "{}: its provider {} is down; killing and restarting {}",
            NAMES[client], NAMES[down], NAMES[client]
        ));
        self.restart(client).await?;
        // Recovered (the key is back, the store open) while one provider is down; before it is
        // ready it rotates to a fresh epoch, which needs enough providers up again.
        let r = self
            .wait_until(client, "recovered after fail-over", |r| r.recovery_ms.is_some())
            .await?;
        self.nodes[client].recovery_ms = r.recovery_ms;
        say(format!(
            "{}: recovered from its other provider {}",
            NAMES[client],
            name_of(&providers[1])
        ));
        self.restart(down).await?;
        self.wait_until(down, "ready", is_ready).await?;
        say(format!("{}: back", NAMES[down]));
        let epoch = s.epoch;
        let r = self
            .wait_until(client, "ready at a fresh epoch", |r| is_ready(r) && r.epoch > epoch)
            .await?;
        say(format!(
            "{}: ready at fresh epoch {} (the disk it booted from is superseded)",
            NAMES[client],
            r.epoch.unwrap_or_default()
        ));

        Ok(self.summary().await)
    }

    async fn summary(&self) -> String {
        let mut out = format!(
            "{:<8} {:<16} {:>5}  {:<18} {:>12}\n",
            "node", "state", "epoch", "providers", "recovery ms"
        );
        for (i, node) in self.nodes.iter().enumerate() {
            let s = self.status(i).await;
            let providers: Vec<String> = s
                .as_ref()
                .map(providers_of)
                .unwrap_or_default()
                .iter()
                .map(|p| name_of(p))
                .collect();
            out.push_str(&format!(
                "{:<8} {:<16} {:>5}  {:<18} {:>12}\n",
                node.name,
                s.as_ref().map(|s| s.state.label()).unwrap_or("down"),
                s.as_ref().and_then(|s| s.epoch).map(|e| e.to_string()).unwrap_or_default(),
                providers.join(","),
                node.recovery_ms.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
            ));
        }
        out
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
) -> anyhow::Result<()> {
    let victim =
        peerseal::recovery_file::parse_account(victim).ok_or_else(|| anyhow!("bad account"))?;
    for i in affected {
        let account = peerseal_chain::AccountId(
            peerseal_devkeys::dev_identity(NAMES[*i])
                .ok_or_else(|| anyhow!("unknown dev identity"))?
                .tss_account,
        );
        let a = chain.assignment(&account).await?.ok_or_else(|| anyhow!("no assignment"))?;
        if a.stale || a.providers.iter().any(|(p, _)| *p == victim) {
            bail!("{}'s on-chain backup still names {}", NAMES[*i], hex::encode(victim));
        }
    }
    Ok(())
}

/// Runs the story; with `--keep-running` leaves the network up.
pub async fn run(args: DevnetArgs) -> anyhow::Result<()> {
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
            say(format!("FAILED: {e:#} (data and logs kept in {})", devnet.dir().display()));
        }
    }
    if args.keep_running {
        for member in &devnet.nodes {
            say(format!("{}: http://{}/status", member.name, member.http));
        }
        say("running; Ctrl-C stops everything");
        let _ = tokio::signal::ctrl_c().await;
    }
    outcome.map(|_| ())
}
