//! The `peerseal` binary: `run` (the TSS node), `info` (public identity as JSON), `status`
//! (asks a running node's HTTP endpoint), `devnet` (a local dev network and its story).

use clap::{Parser, Subcommand};
use peerseal::config::RunArgs;
use peerseal::recovery_file::{hex, RecoveryFile};
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

#[derive(Subcommand)]
enum Command {
    /// Run the node.
    Run(RunArgs),
    /// Print the node's public identity (and, for a dev identity, its registration quote).
    Info {
        /// A dev identity (alice, bob, charlie, dave).
        #[arg(long, env = "PEERSEAL_DEV_IDENTITY")]
        dev_identity: Option<String>,
        /// The data directory of a node that has started once (reads recovery.json).
        #[arg(long, env = "PEERSEAL_DATA_DIR", default_value = "peerseal-data")]
        data_dir: PathBuf,
    },
    /// Run a dev chain and four TSS nodes locally and the end-to-end story (dev only).
    Devnet(peerseal::devnet::DevnetArgs),
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
    // Logs go to stderr: stdout carries the machine-read lines (HTTP address, JSON).
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn info(dev_identity: Option<String>, data_dir: PathBuf) -> Result<serde_json::Value, String> {
    if let Some(name) = dev_identity {
        let id = peerseal_devkeys::dev_identity(&name)
            .ok_or_else(|| format!("unknown dev identity {name:?}"))?;
        return Ok(serde_json::json!({
            "name": id.name,
            "tss_account": hex(&id.tss_account),
            "stash_account": hex(&id.stash_account),
            "x25519_public": hex(&id.x25519_public),
            "peer_id": id.peer_id_base58(),
            "p2p_port": id.p2p_port,
            "registration_quote": hex(&peerseal_devkeys::dev_registration_quote(&id)),
        }));
    }
    let file = RecoveryFile::read(&data_dir).map_err(|e| e.to_string())?.ok_or_else(|| {
        format!("no recovery.json in {}: has the node started?", data_dir.display())
    })?;
    Ok(serde_json::json!({
        "tss_account": file.account,
        "peer_id": file.peer_id,
        "epoch": file.epoch,
        "threshold": file.threshold,
        "providers": file.providers,
    }))
}

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: Result<(), String> = runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => {
                let config = args.resolve().map_err(|e| e.to_string())?;
                peerseal::node::run(config, started).await.map_err(|e| e.to_string())
            }
            Command::Info { dev_identity, data_dir } => {
                let value = info(dev_identity, data_dir)?;
                println!("{}", serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?);
                Ok(())
            }
            Command::Devnet(args) => peerseal::devnet::run(args).await.map_err(|e| e.to_string()),
            Command::Status { http } => {
                let (code, body) =
                    peerseal::http::get(http, "/status").await.map_err(|e| e.to_string())?;
                println!("{body}");
                if code == 200 {
                    Ok(())
                } else {
                    Err(format!("HTTP {code}"))
                }
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peerseal: {e}");
            ExitCode::FAILURE
        }
    }
}
