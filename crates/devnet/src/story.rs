//! The devnet and its story: five dev nodes back up 2-of-3 (the default), the fifth (eve, not
//! in the dev genesis) registered by its stash through `peerseal register`; a node killed with
//! SIGKILL recovers its key and reads back what it wrote; an operator's node with a generated
//! identity registers itself and joins; a provider leaves voluntarily (`peerseal leave`) and its
//! clients back up elsewhere; governance removes a provider and every affected client rotates
//! and re-backs up; a node whose provider is down fails over to the others; governance names
//! three recovery operators (keys made with `peerseal operator keygen`), every registered node
//! seals its key to them, and each operator's `peerseal operator check` opens its share of
//! every node; then every registered node is killed at once and restarted (a whole-network
//! outage): all await their operators, two operators' `peerseal operator recover` brings back
//! enough nodes for the rest to recover from them, and every node reads back what it wrote.
//! Every child process is killed when the devnet is dropped.

use crate::DevnetArgs;
use anyhow::{anyhow, bail, Context as _};
use peerseal::Status;
use peerseal_chain::{ChainApi, ChainClient};
use peerseal_testkit::{governance, operator, DaemonOptions, DevChain, DevPortsGuard, TssDaemon};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// The dev identities the devnet runs; the last is registered at start through the tool.
pub const NAMES: [&str; 5] = ["alice", "bob", "charlie", "dave", "eve"];
/// The dev identity that is not in the dev genesis.
const SELF_REGISTERED: &str = "eve";
/// The operator's node (a generated identity) and its stash.
const OPERATOR: &str = "operator";
const OPERATOR_STASH: &str = "//Ferdie";
/// The record number (plus the node's index) each node writes before the outage.
const OUTAGE_RECORD: usize = 100;

fn say(line: impl std::fmt::Display) {
    println!("[devnet] {line}");
}

struct Member {
    name: &'static str,
    node: Option<TssDaemon>,
    http: SocketAddr,
    options: DaemonOptions,
    account: Option<String>,
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

fn dev_account(name: &str) -> Option<String> {
    peerseal_devkeys::dev_identity(name).map(|id| hex::encode(id.tss_account))
}

impl Devnet {
    /// Starts the chain and the five dev nodes.
    pub async fn start(args: &DevnetArgs) -> anyhow::Result<Devnet> {
        let ports = peerseal_testkit::dev_ports().await.context("locking the dev p2p ports")?;
        let dir = tempfile::Builder::new().prefix("peerseal-devnet-").tempdir()?;
        let step = Duration::from_secs(args.step_timeout_secs.max(5));
        let chain = DevChain::dev()?;
        say(format!("dev chain at {}; data and logs in {}", chain.url, dir.path().display()));
        let mut devnet = Devnet { chain, dir, nodes: Vec::new(), step, _ports: ports };
        for name in NAMES {
            let mut options = DaemonOptions::logs_in(devnet.dir.path());
            options.rust_log = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
            devnet.add(name, options, dev_account(name))?;
        }
        Ok(devnet)
    }

    fn add(
        &mut self,
        name: &'static str,
        options: DaemonOptions,
        account: Option<String>,
    ) -> anyhow::Result<usize> {
        let node =
            TssDaemon::start_with(name, &self.chain.url, &self.dir.path().join(name), &options)?;
        say(format!("{name}: started, status at http://{}/status", node.http));
        let http = node.http;
        self.nodes.push(Member {
            name,
            node: Some(node),
            http,
            options,
            account,
            recovery_ms: None,
        });
        Ok(self.nodes.len() - 1)
    }

    /// The member name of an account (hex), or its first hex digits.
    fn name_of(&self, account_hex: &str) -> String {
        self.nodes
            .iter()
            .find(|m| m.account.as_deref() == Some(account_hex))
            .map(|m| m.name.to_owned())
            .unwrap_or_else(|| account_hex.chars().take(8).collect())
    }

    fn names_of(&self, accounts: &[String]) -> Vec<String> {
        accounts.iter().map(|a| self.name_of(a)).collect()
    }

    fn index(&self, name: &str) -> usize {
        self.nodes.iter().position(|m| m.name == name).unwrap_or(0)
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
        let member = &self.nodes[i];
        let data = self.dir.path().join(member.name);
        let node = TssDaemon::start_with(member.name, &self.chain.url, &data, &member.options)?;
        self.nodes[i].http = node.http;
        self.nodes[i].node = Some(node);
        Ok(())
    }

    fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        let member = &mut self.nodes[i];
        let node = member.node.take().ok_or_else(|| anyhow!("{} is not running", member.name))?;
        node.kill();
        Ok(())
    }

    /// The nodes (other than `except`) whose current backup names `provider`, with their epochs.
    async fn clients_of(
        &self,
        provider: &str,
        except: &[usize],
    ) -> anyhow::Result<Vec<(usize, u64)>> {
        let mut clients = Vec::new();
        for i in (0..self.nodes.len()).filter(|i| !except.contains(i)) {
            let s = self
                .status(i)
                .await
                .ok_or_else(|| anyhow!("{} does not answer", self.nodes[i].name))?;
            if providers_of(&s).contains(&provider.to_owned()) {
                clients.push((i, s.epoch.unwrap_or(0)));
            }
        }
        Ok(clients)
    }

    /// Waits until each of `clients` is ready at a later epoch with a backup not naming
    /// `provider`.
    async fn wait_moved_away(
        &self,
        clients: &[(usize, u64)],
        provider: &str,
    ) -> anyhow::Result<()> {
        for (i, epoch) in clients {
            let s = self
                .wait_until(*i, "re-backed up", |s| is_ready(s) && s.epoch > Some(*epoch))
                .await?;
            if providers_of(&s).contains(&provider.to_owned()) {
                bail!("{} still names {}", self.nodes[*i].name, self.name_of(provider));
            }
        }
        Ok(())
    }

    /// Runs the story; returns the summary table.
    pub async fn story(&mut self) -> anyhow::Result<String> {
        // 1. Eve registers through the tool; every node backs up (2-of-3 by default).
        let eve = self.index(SELF_REGISTERED);
        self.wait_until(eve, "awaiting registration", |s| {
            s.state.label() == "awaiting_registration"
        })
        .await?;
        let eve_stash = peerseal_devkeys::dev_identity(SELF_REGISTERED)
            .ok_or_else(|| anyhow!("unknown dev identity"))?
            .stash_uri;
        operator::register(self.nodes[eve].http, &self.chain.url, &eve_stash).await?;
        say(format!(
            "{SELF_REGISTERED}: not in the dev genesis; its stash {eve_stash} registered it with \
             `peerseal register` (nonce, the node's own quote, Registry.register)"
        ));
        let mut first = Vec::new();
        for (i, name) in NAMES.iter().enumerate() {
            let s = self.wait_until(i, "ready", is_ready).await?;
            say(format!(
                "{name}: ready, epoch {}, backed up {}-of-{} with {:?}",
                s.epoch.unwrap_or_default(),
                s.threshold.unwrap_or_default(),
                s.providers.len(),
                self.names_of(&providers_of(&s))
            ));
            first.push(s);
        }

        // 2. SIGKILL and restart: recovery from providers, data read back.
        let bob = self.index("bob");
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

        // 3. The operator's chapter: a generated identity registers itself and joins.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let listen = format!("/ip4/127.0.0.1/tcp/{port}");
        let stash = peerseal_devkeys::dev_identity("ferdie")
            .ok_or_else(|| anyhow!("unknown dev identity"))?
            .stash_account;
        let mut options = DaemonOptions::logs_in(self.dir.path());
        options.rust_log = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
        options.generated_identity = true;
        options.args = vec!["--listen".into(), listen, "--stash".into(), hex::encode(stash)];
        let op = self.add(OPERATOR, options, None)?;
        let waiting = self
            .wait_until(op, "awaiting registration", |s| s.state.label() == "awaiting_registration")
            .await?;
        self.nodes[op].account = waiting.account.clone();
        say(format!(
            "{OPERATOR}: a generated identity ({}…), waiting to be registered",
            waiting.account.as_deref().unwrap_or_default().chars().take(8).collect::<String>()
        ));
        operator::register(self.nodes[op].http, &self.chain.url, OPERATOR_STASH).await?;
        let s = self.wait_until(op, "ready", is_ready).await?;
        say(format!(
            "{OPERATOR}: its stash {OPERATOR_STASH} registered it with `peerseal register`; \
             ready, backed up {}-of-{} with {:?}",
            s.threshold.unwrap_or_default(),
            s.providers.len(),
            self.names_of(&providers_of(&s))
        ));

        // 4. A provider leaves voluntarily: its clients back up elsewhere while it serves.
        let alice = self.index("alice");
        let current = self.status(alice).await.ok_or_else(|| anyhow!("alice does not answer"))?;
        let leaving_account = providers_of(&current)
            .into_iter()
            .find(|p| self.name_of(p) != OPERATOR && self.name_of(p) != "bob")
            .ok_or_else(|| anyhow!("alice has no dev provider besides bob"))?;
        let leaving = self.index(&self.name_of(&leaving_account));
        let clients = self.clients_of(&leaving_account, &[leaving]).await?;
        let leaving_stash = peerseal_devkeys::dev_identity(self.nodes[leaving].name)
            .ok_or_else(|| anyhow!("unknown dev identity"))?
            .stash_uri;
        let left = operator::leave(&self.chain.url, &leaving_stash).await?;
        say(format!(
            "{}: left voluntarily with `peerseal leave` (removable at block {}); its clients: {:?}",
            self.nodes[leaving].name,
            left["removable_at"],
            clients.iter().map(|(i, _)| self.nodes[*i].name).collect::<Vec<_>>()
        ));
        self.wait_moved_away(&clients, &leaving_account).await?;
        say(format!(
            "every client of {} backed up elsewhere; it keeps serving until its removal",
            self.nodes[leaving].name
        ));

        // 5. Governance removes a provider: every affected client rotates and re-backs up.
        let chain = peerseal_testkit::connect_chain(&self.chain.url).await?;
        let current = self.status(alice).await.ok_or_else(|| anyhow!("alice does not answer"))?;
        let victim_account =
            providers_of(&current).first().cloned().ok_or_else(|| anyhow!("no provider"))?;
        let victim = self.index(&self.name_of(&victim_account));
        let affected = self.clients_of(&victim_account, &[victim]).await?;
        let victim_stash = if self.nodes[victim].name == OPERATOR {
            stash
        } else {
            peerseal_devkeys::dev_identity(self.nodes[victim].name)
                .ok_or_else(|| anyhow!("unknown dev identity"))?
                .stash_account
        };
        governance::remove_server(&self.chain.url, victim_stash).await?;
        let removed_at = chain.finalized_number().await?;
        let removed_time = Instant::now();
        say(format!(
            "governance removed {} in block #{removed_at}; affected clients: {:?}",
            self.nodes[victim].name,
            affected.iter().map(|(i, _)| self.nodes[*i].name).collect::<Vec<_>>()
        ));
        self.wait_moved_away(&affected, &victim_account).await?;
        let done_at = chain.finalized_number().await?;
        say(format!(
            "every affected client rotated to a new key epoch and re-backed up: {} blocks, {:.1} s \
             after the removal",
            done_at.saturating_sub(removed_at),
            removed_time.elapsed().as_secs_f64()
        ));
        let affected_accounts: Vec<String> =
            affected.iter().filter_map(|(i, _)| self.nodes[*i].account.clone()).collect();
        check_assignments(&chain, &affected_accounts, &victim_account, self.step).await?;

        // 6. A node whose provider is down fails over to its other providers.
        let client = (0..NAMES.len())
            .find(|i| ![victim, bob, leaving].contains(i))
            .ok_or_else(|| anyhow!("no client left for the fail-over"))?;
        let s = self.status(client).await.ok_or_else(|| anyhow!("client does not answer"))?;
        let providers = providers_of(&s);
        if providers.len() < 3 {
            bail!("{} has fewer than 3 providers", self.nodes[client].name);
        }
        let down = self.index(&self.name_of(&providers[0]));
        self.kill(down)?;
        self.kill(client)?;
        say(format!(
            "{}: its provider {} is down; killing and restarting {}",
            self.nodes[client].name, self.nodes[down].name, self.nodes[client].name
        ));
        self.restart(client).await?;
        // Recovered (the key is back, the store open) while one provider is down; it then
        // rotates to a fresh epoch on the providers that answer.
        let r = self
            .wait_until(client, "recovered after fail-over", |r| r.recovery_ms.is_some())
            .await?;
        self.nodes[client].recovery_ms = r.recovery_ms;
        say(format!(
            "{}: recovered from its other providers {:?} (2 of 3 shares)",
            self.nodes[client].name,
            self.names_of(&providers[1..])
        ));
        self.restart(down).await?;
        self.wait_until(down, "ready", is_ready).await?;
        say(format!("{}: back", self.nodes[down].name));
        let epoch = s.epoch;
        let r = self
            .wait_until(client, "ready at a fresh epoch", |r| is_ready(r) && r.epoch > epoch)
            .await?;
        say(format!(
            "{}: ready at fresh epoch {} (the disk it booted from is superseded)",
            self.nodes[client].name,
            r.epoch.unwrap_or_default()
        ));

        // 7. Recovery operators: governance names three (2-of-3); every node seals its key to
        //    them with a rotation; each operator checks it can open its share of every node.
        let (keys, root) = self.recovery_operators(&chain).await?;

        // 8. A whole-network outage: every registered node killed at once and restarted; none
        //    can recover from peers, so operators bring back enough nodes for the rest to.
        self.outage(&keys, &root).await?;

        Ok(self.summary().await)
    }

    /// The outage chapter (module doc): returns once every restarted node is ready again at a
    /// fresh epoch and read back what it wrote before.
    async fn outage(&mut self, keys: &Path, root: &Path) -> anyhow::Result<()> {
        let mut members = Vec::new();
        for i in 0..self.nodes.len() {
            if self.nodes[i].node.is_none() {
                continue;
            }
            let Some(s) = self.status(i).await else { continue };
            if is_ready(&s) && s.registration.as_deref() == Some("active") {
                let (code, body) = peerseal::http::post(
                    self.nodes[i].http,
                    &format!("/dev/records/{}", OUTAGE_RECORD + i),
                )
                .await?;
                if code != 200 {
                    bail!("{} did not take a record: {code} {body}", self.nodes[i].name);
                }
                members.push((i, s.epoch));
            }
        }
        let names: Vec<&str> = members.iter().map(|(i, _)| self.nodes[*i].name).collect();
        for (i, _) in &members {
            self.kill(*i)?;
        }
        say(format!(
            "outage: every registered node {names:?} killed with SIGKILL at once (each wrote a \
             record first); restarting all on the same disks"
        ));
        for (i, _) in &members {
            self.restart(*i).await?;
        }
        for (i, _) in &members {
            let s = self
                .wait_until(*i, "awaiting operators", |s| s.state.label() == "awaiting_operators")
                .await?;
            let address = s.cold_start.map(|c| c.operator_address).unwrap_or_default();
            say(format!(
                "{}: no provider answers; awaiting recovery operators at {address}",
                self.nodes[*i].name
            ));
        }
        let mut by_operators = 0usize;
        for (i, _) in &members {
            let name = self.nodes[*i].name;
            if by_operators >= 2 {
                // Enough providers may be back: give the node a moment to recover from them.
                let on_its_own = peerseal_testkit::daemon::wait_until(
                    name,
                    self.nodes[*i].http,
                    "recovered from peers",
                    Duration::from_secs(10),
                    |s| s.state.label() != "awaiting_operators",
                )
                .await;
                if on_its_own.is_ok() {
                    continue;
                }
            }
            let Some(s) = self.status(*i).await else { bail!("{name} does not answer") };
            let Some(view) = s.cold_start.filter(|_| s.state.label() == "awaiting_operators")
            else {
                continue;
            };
            let mut refused = None;
            for op in 0..2 {
                let secret = keys.join(format!("operator-{op}.key"));
                let out = operator::recover(&view.operator_address, &secret, &self.chain.url, root)
                    .await?;
                if !out.success {
                    refused = Some(format!("{}{}", out.stdout, out.stderr));
                    break;
                }
            }
            // The node keeps asking its providers while it awaits operators, and the first
            // route to answer opens the store: on a slow machine the peers may win after the
            // grace above, and the operators' session then ends under them. That is a
            // recovery, not a failure; anything else is.
            let opened_by_peers =
                |s: &Status| s.cold_start.as_ref().is_some_and(|c| !c.recovered_by_operators);
            if let Some(why) = refused {
                match self.status(*i).await {
                    Some(s) if s.state.label() != "awaiting_operators" && opened_by_peers(&s) => {
                        continue
                    }
                    _ => bail!("peerseal operator recover failed: {why}"),
                }
            }
            let s = self
                .wait_until(*i, "store opened", |s| s.state.label() != "awaiting_operators")
                .await?;
            if opened_by_peers(&s) {
                continue;
            }
            by_operators += 1;
            say(format!(
                "{name}: operators 1 and 2 ran `peerseal operator recover` (quote checked against \
                 the chain); store opened from 2 of 3 operator shares"
            ));
        }
        for (i, epoch) in &members {
            let s = self
                .wait_until(*i, "ready at a fresh epoch", |s| is_ready(s) && s.epoch > *epoch)
                .await?;
            let record = OUTAGE_RECORD + *i;
            let (code, body) =
                peerseal::http::get(self.nodes[*i].http, &format!("/dev/records/{record}")).await?;
            if code != 200 || body.trim() != format!("record {record}") {
                bail!("{} lost the record it wrote before the outage", self.nodes[*i].name);
            }
            self.nodes[*i].recovery_ms = s.recovery_ms;
            let how = match s.cold_start {
                Some(c) if c.recovered_by_operators => "its recovery operators",
                _ => "its providers",
            };
            say(format!(
                "{}: back through {how}, ready at epoch {}, read back its record",
                self.nodes[*i].name,
                s.epoch.unwrap_or_default()
            ));
        }
        say(format!(
            "the whole network came back: {by_operators} nodes through the operators, {} from \
             their providers",
            members.len() - by_operators
        ));
        Ok(())
    }

    /// Chapter 7; the operators' key directory and the chain's trust root file.
    async fn recovery_operators(
        &self,
        chain: &ChainClient,
    ) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
        let keys = self.dir.path().join("operator-keys");
        std::fs::create_dir_all(&keys)?;
        let mut listed = Vec::new();
        for i in 0..3u8 {
            let public = operator::keygen(&keys.join(format!("operator-{i}.key"))).await?;
            listed.push(([0xE0 + i; 32], public));
        }
        governance::set_recovery_operators(&self.chain.url, &listed, 2).await?;
        // The call is final on the endpoint; the verified view follows a moment later.
        let deadline = Instant::now() + self.step;
        let set = loop {
            if let Some(set) = chain.recovery_operators().await? {
                break set;
            }
            if Instant::now() > deadline {
                bail!("the operator set never reached the verified view");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        say(format!(
            "governance named 3 recovery operators (2-of-3, set {}); keys made with `peerseal operator keygen`",
            set.revision
        ));
        let started = Instant::now();
        for server in chain.servers().await? {
            let deadline = Instant::now() + self.step;
            loop {
                let (_, recorded) = chain.recovery_seal(Some(&server.tss_account)).await?;
                let gone = chain.view()?.server(&server.tss_account).is_none();
                if gone || recorded.is_some_and(|r| r.sealed.operator_set == set.revision) {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "{} did not seal its key to the recovery operators",
                        self.name_of(&hex::encode(server.tss_account.0))
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        say(format!(
            "every registered node rotated and recorded its key sealed to the operators ({:.1} s)",
            started.elapsed().as_secs_f64()
        ));
        let root = peerseal_testkit::write_trust_root(&self.chain.url, &keys)?;
        for i in 0..3 {
            let file = keys.join(format!("operator-{i}.key"));
            let checked = operator::check(&file, &self.chain.url, &root).await?;
            if !checked.success {
                bail!("peerseal operator check failed: {}{}", checked.stdout, checked.stderr);
            }
            let summary: serde_json::Value =
                serde_json::from_str(checked.stdout.lines().last().unwrap_or_default())?;
            say(format!(
                "operator {}: `peerseal operator check` opened its share of {} nodes, 0 problems",
                i + 1,
                summary["opened"]
            ));
        }
        Ok((keys, root))
    }

    async fn summary(&self) -> String {
        let row = |node: &str,
                   state: &str,
                   epoch: &str,
                   backup: &str,
                   providers: &str,
                   ms: &str,
                   how: &str| {
            format!(
                "{node:<9} {state:<16} {epoch:>5}  {backup:<7} {providers:<26} {ms:>11}  {how}\n"
            )
        };
        let mut out = row("node", "state", "epoch", "backup", "providers", "recovery ms", "outage");
        for (i, node) in self.nodes.iter().enumerate() {
            let s = self.status(i).await;
            let providers = s.as_ref().map(providers_of).unwrap_or_default();
            let backup = match s.as_ref().and_then(|s| s.threshold) {
                Some(t) if !providers.is_empty() => format!("{t}-of-{}", providers.len()),
                _ => "-".to_owned(),
            };
            out.push_str(&row(
                node.name,
                s.as_ref().map(|s| s.state.label()).unwrap_or("down"),
                &s.as_ref().and_then(|s| s.epoch).map(|e| e.to_string()).unwrap_or_default(),
                &backup,
                &self.names_of(&providers).join(","),
                &node.recovery_ms.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
                match s.as_ref().and_then(|s| s.cold_start.as_ref()) {
                    Some(c) if c.recovered_by_operators => "operators",
                    Some(_) => "providers",
                    None => "-",
                },
            ));
        }
        out
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Every `affected` client's on-chain backup is current and no longer names `victim`. The
/// nodes report ready once their record is final on their own verified view; this client's view
/// may follow a block later, so each is polled until `within` has passed.
async fn check_assignments(
    chain: &ChainClient,
    affected: &[String],
    victim: &str,
    within: Duration,
) -> anyhow::Result<()> {
    let parse = |hex_account: &str| {
        peerseal::recovery_file::parse_account(hex_account).ok_or_else(|| anyhow!("bad account"))
    };
    let victim = parse(victim)?;
    let deadline = Instant::now() + within;
    for client in affected {
        let account = parse(client)?;
        loop {
            let a = chain.assignment(&account).await?.ok_or_else(|| anyhow!("no assignment"))?;
            if !a.stale && a.providers.iter().all(|(p, _)| *p != victim) {
                break;
            }
            if Instant::now() > deadline {
                bail!("{client}'s on-chain backup still names {}", hex::encode(victim));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
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
