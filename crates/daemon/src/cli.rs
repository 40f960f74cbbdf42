//! The command line: `run` (the TSS node), `info` (public identity as JSON), `status` (asks a
//! running node's HTTP endpoint). Errors reach the edge as `anyhow` and leave with exit code 1.

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
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the node.
    Run(RunArgs),
    /// Print the node's public identity (for a dev identity, also its registration quote).
    Info {
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
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr: stdout carries the machine-read lines (HTTP address, JSON). Colour only
    // on a terminal: a file or a pipe gets plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
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
        #[cfg(feature = "dev")]
        Command::Info { dev_identity: Some(name), .. } => print_json(&dev_info(&name)?),
        Command::Info { data_dir, .. } => print_json(&file_info(&data_dir)?),
        Command::Status { http } => {
            let (code, body) = crate::http::get(http, "/status").await?;
            println!("{body}");
            if code != 200 {
                bail!("HTTP {code}");
            }
            Ok(())
        }
    }
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value).context("printing JSON")?);
    Ok(())
}

/// The program: parses the command line, runs the command, maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    init_tracing();
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
