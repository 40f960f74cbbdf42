//! The command line: `run` (the TSS node), `info` (public identity as JSON), `status` (asks a
//! running node's HTTP endpoint), and the stash holder's `register` and `leave`
//! ([`crate::register`]). Errors reach the edge as `anyhow` and leave with exit code 1.

use crate::config::RunArgs;
use crate::recovery_file::RecoveryFile;
use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "peerseal", version, about = "The peerseal TSS node")]
struct Cli {
    /// Log line format on stderr: `text` (coloured only on a terminal) or `json` (one object
    /// per line, for log shippers).
    #[arg(long, global = true, env = "PEERSEAL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

// Parsed once per process; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the node.
    Run(RunArgs),
    /// Print the node's public identity: from a running node (`--http`, any identity), for a
    /// dev identity (with its registration quote), or from `recovery.json`.
    Info {
        /// A running node's HTTP endpoint: asks it (`GET /identity`).
        #[arg(long)]
        http: Option<SocketAddr>,
        /// A dev identity (alice, bob, charlie, dave). Dev builds only.
        #[cfg(feature = "dev")]
        #[arg(long, env = "PEERSEAL_DEV_IDENTITY")]
        dev_identity: Option<String>,
        /// The data directory of a node that has started once (reads recovery.json).
        #[arg(long, env = "PEERSEAL_DATA_DIR", default_value = "peerseal-data")]
        data_dir: PathBuf,
    },
    /// Print the status of a running node.
    Status {
        /// The node's HTTP endpoint.
        #[arg(long, env = "PEERSEAL_HTTP", default_value = "127.0.0.1:9616")]
        http: SocketAddr,
        /// A short table for people instead of the JSON.
        #[arg(long)]
        table: bool,
    },
    /// Register a waiting node on chain, as its validator stash (request the nonce, get the
    /// node's quote, submit `Registry.register`), or print the call data to sign elsewhere.
    Register(crate::register::RegisterArgs),
    /// Make the stash's node leave voluntarily (`Registry.leave`): its clients back up
    /// elsewhere, and it is removed after the chain's leave delay.
    Leave(crate::register::LeaveArgs),
    /// Recovery operator tools: make an operator key, check the shares sealed to it.
    #[command(subcommand)]
    Operator(crate::recovery_operator::OperatorCommand),
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr: stdout carries the machine-read lines (HTTP address, JSON). Colour only
    // on a terminal: a file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Text => {
            builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init()
        }
    };
}

#[cfg(feature = "dev")]
fn dev_info(name: &str) -> anyhow::Result<serde_json::Value> {
    use crate::recovery_file::hex;
    let id = peerseal_devkeys::dev_identity(name)
        .ok_or_else(|| anyhow!("unknown dev identity {name:?}"))?;
    Ok(serde_json::json!({
        "name": id.name,
        "tss_account": hex(id.tss_account),
        "stash_account": hex(id.stash_account),
        "x25519_public": hex(id.x25519_public),
        "peer_id": id.peer_id_base58(),
        "p2p_port": id.p2p_port,
        "registration_quote": hex(peerseal_devkeys::dev_registration_quote(&id)),
    }))
}

fn file_info(data_dir: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let file = RecoveryFile::read(data_dir)?.ok_or_else(|| {
        anyhow!("no recovery.json in {}: has the node started?", data_dir.display())
    })?;
    Ok(serde_json::json!({
        "tss_account": file.account,
        "peer_id": file.peer_id,
        "epoch": file.epoch,
        "threshold": file.threshold,
        "providers": file.providers,
    }))
}

async fn dispatch(command: Command, started: Instant) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => {
            let config = args.resolve()?;
            crate::daemon::run(config, started).await?;
            Ok(())
        }
        Command::Info { http: Some(http), .. } => {
            let (code, body) = crate::http::get(http, "/identity").await?;
            if code != 200 {
                bail!("the node at {http} answered HTTP {code}: {}", body.trim());
            }
            let value: serde_json::Value =
                serde_json::from_str(&body).context("the node's /identity is not JSON")?;
            print_json(&value)
        }
        #[cfg(feature = "dev")]
        Command::Info { dev_identity: Some(name), .. } => print_json(&dev_info(&name)?),
        Command::Info { data_dir, .. } => print_json(&file_info(&data_dir)?),
        Command::Register(args) => crate::register::register(args).await,
        Command::Leave(args) => crate::register::leave(args).await,
        Command::Operator(command) => crate::recovery_operator::run(command).await,
        Command::Status { http, table } => {
            let (code, body) = crate::http::get(http, "/status").await?;
            if table {
                let status: crate::phase::Status =
                    serde_json::from_str(&body).context("the node's /status is not a status")?;
                print!("{}", status_table(&status));
            } else {
                println!("{body}");
            }
            if code != 200 {
                bail!("HTTP {code}");
            }
            Ok(())
        }
    }
}

/// `/status` as a short table for people.
fn status_table(status: &crate::phase::Status) -> String {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    let backup = match (status.threshold, status.providers.len()) {
        (Some(t), n) if n > 0 => format!("{t}-of-{n}"),
        _ => "-".to_owned(),
    };
    let mut rows = vec![
        ("name", status.name.clone()),
        ("state", status.state.label().to_owned()),
        ("account", or_dash(status.account.clone())),
        ("peer id", or_dash(status.peer_id.clone())),
        ("registration", or_dash(status.registration.clone())),
        ("epoch", or_dash(status.epoch.map(|e| e.to_string()))),
        ("backup", backup),
        ("last backup", or_dash(status.last_backup_unix.map(|t| format!("unix {t}")))),
        ("held for others", or_dash(status.backups_held.map(|n| n.to_string()))),
        ("re-backups", status.rebackups.to_string()),
    ];
    for provider in &status.providers {
        let health = provider.health.as_deref().unwrap_or("not checked yet");
        rows.push((
            "provider",
            format!("{} (share {}) {health}", provider.account, provider.share_index),
        ));
    }
    if let crate::phase::Phase::RecoveryFailed { reason, .. } = &status.state {
        rows.push(("failure", reason.clone()));
    }
    rows.iter().map(|(k, v)| format!("{k:<16} {v}\n")).collect()
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value).context("printing JSON")?);
    Ok(())
}

/// The program: parses the command line, runs the command, maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("peerseal: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command, started)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peerseal: {e:#}");
            ExitCode::FAILURE
        }
    }
}
