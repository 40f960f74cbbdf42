//! `peerseal-node`: the dev chain binary. See the crate docs of `peerseal_node`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use peerseal_node::rpc::{self, NodeInfo, RpcConfig};
use peerseal_node::spec::ChainSpec;
use peerseal_node::{Chain, ChainConfig, Executor};

#[derive(Parser, Debug)]
#[command(
    name = "peerseal-node",
    version,
    about = "peerseal dev chain: the FRAME runtime executed natively behind Substrate JSON-RPC"
)]
struct Cli {
    /// Log line format on stderr: `text` (coloured only on a terminal) or `json` (one object
    /// per line, for log shippers).
    #[arg(long, global = true, env = "PEERSEAL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the chain spec (JSON) of `--chain` or of the dev chain.
    BuildSpec {
        /// Use this chain spec file instead of the dev chain.
        #[arg(long, conflicts_with = "preset")]
        chain: Option<PathBuf>,
        /// Start from this genesis preset of the runtime instead of the dev chain's
        /// (`development`): `local_testnet` has three GRANDPA authorities, the production PCK
        /// mode and no pre-registered servers, as a production network starts.
        #[arg(long)]
        preset: Option<String>,
        /// Put this wasm runtime (from `scripts/build-runtime-wasm.sh`) in the spec's genesis
        /// (`code`, stored at `:code`): what any other Substrate executor runs.
        #[arg(long, value_name = "FILE")]
        wasm: Option<PathBuf>,
        /// Print the raw form: every genesis storage entry (what `--chain` of any Substrate
        /// node, or chopsticks' `--genesis`, takes without running the genesis builder).
        #[arg(long)]
        raw: bool,
        /// Add Cumulus' chain spec extension (`relay_chain`, `para_id`) with this parachain id:
        /// `polkadot-omni-node --dev-block-time` refuses a spec without it (README). Genesis
        /// does not change.
        #[arg(long, value_name = "ID")]
        para_id: Option<u32>,
        /// The relay chain named in that extension (omni-node's manual seal only mocks it).
        #[arg(long, requires = "para_id", default_value = "dev")]
        relay_chain: String,
    },
    /// Print the TSS node's trust root (JSON) for `--chain` or the dev chain: the genesis hash
    /// computed from the spec's genesis, and the genesis GRANDPA authority set as a checkpoint
    /// at block 0 (what an image pins; see docs/deployment.md).
    TrustRoot {
        /// Use this chain spec file instead of the dev chain.
        #[arg(long)]
        chain: Option<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Run the dev chain (dev genesis preset, in memory unless --base-path is given).
    #[arg(long)]
    dev: bool,
    /// Chain spec JSON file (as printed by `build-spec`).
    #[arg(long, conflicts_with = "dev")]
    chain: Option<PathBuf>,
    /// Persist blocks here; a restarted node continues the same chain.
    #[arg(long, env = "PEERSEAL_NODE_BASE_PATH", conflicts_with = "tmp")]
    base_path: Option<PathBuf>,
    /// Keep everything in memory (the default without --base-path; accepted for familiarity).
    #[arg(long)]
    tmp: bool,
    /// JSON-RPC port (WebSocket and HTTP) on 127.0.0.1; 0 picks a free port.
    #[arg(long, default_value_t = 9944, env = "PEERSEAL_NODE_RPC_PORT")]
    rpc_port: u16,
    /// Listen on all interfaces instead of loopback only.
    #[arg(long)]
    rpc_external: bool,
    /// Block time in milliseconds (a block is also sealed on every transaction).
    #[arg(long, default_value_t = 1000)]
    block_time: u64,
    /// Only seal on the interval, not on every transaction.
    #[arg(long)]
    no_instant_seal: bool,
    /// Number of recent blocks whose state stays queryable.
    #[arg(long, default_value_t = 4096)]
    state_pruning: u32,
    /// Most transactions waiting in the pool.
    #[arg(long, default_value_t = 8192)]
    pool_limit: usize,
    /// Most simultaneous RPC connections.
    #[arg(long, default_value_t = 100)]
    rpc_max_connections: u32,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().with_current_span(false).init(),
        LogFormat::Text => {
            builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init()
        }
    }
    let executor = Executor::new(peerseal_runtime::api::dispatch);
    let load_spec = |chain: &Option<PathBuf>| -> anyhow::Result<ChainSpec> {
        match chain {
            Some(path) => ChainSpec::from_file(path)
                .with_context(|| format!("reading chain spec {}", path.display())),
            None => Ok(ChainSpec::dev(&executor)?),
        }
    };
    match &cli.command {
        Some(Command::BuildSpec { chain, preset, wasm, raw, para_id, relay_chain }) => {
            let mut spec = match preset {
                Some(name) => ChainSpec::from_preset(&executor, name)?,
                None => load_spec(chain)?,
            };
            if let Some(path) = wasm {
                let code = std::fs::read(path)
                    .with_context(|| format!("reading the wasm runtime {}", path.display()))?;
                spec = spec.with_code(&code);
            }
            if let Some(id) = para_id {
                spec = spec.with_parachain_extension(relay_chain, *id);
            }
            if *raw {
                spec = spec.into_raw(&executor)?;
            }
            println!("{}", serde_json::to_string_pretty(&spec)?);
            return Ok(());
        }
        Some(Command::TrustRoot { chain }) => {
            let spec = load_spec(chain)?;
            let root = peerseal_node::trust_root(&executor, &spec.genesis()?)?;
            println!("{}", serde_json::to_string_pretty(&root)?);
            return Ok(());
        }
        None => {}
    }
    let args = cli.run;
    if !args.dev && args.chain.is_none() {
        anyhow::bail!("say which chain to run: --dev, or --chain <spec.json>");
    }
    let spec = load_spec(&args.chain)?;
    let config = ChainConfig {
        genesis: spec.genesis()?,
        block_time: Duration::from_millis(args.block_time.max(1)),
        instant_seal: !args.no_instant_seal,
        state_pruning: args.state_pruning.max(1),
        base_path: args.base_path.clone(),
        pool_limit: args.pool_limit.max(1),
        minimum_period_ms: peerseal_runtime::MINIMUM_PERIOD_MS,
    };
    let chain = Chain::new(executor, config).context("starting the chain")?;
    tracing::info!(
        chain = %spec.name,
        genesis = ?chain.genesis_hash(),
        best = chain.best_number(),
        persistent = args.base_path.is_some(),
        "chain ready"
    );
    let _producer = chain.spawn_producer().context("starting the block producer")?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let mut rpc_config = RpcConfig::loopback(args.rpc_port);
        if args.rpc_external {
            rpc_config.addr.set_ip(std::net::Ipv4Addr::UNSPECIFIED.into());
        }
        rpc_config.max_connections = args.rpc_max_connections;
        let info = NodeInfo {
            chain_name: spec.name.clone(),
            chain_type: spec.chain_type.clone(),
            properties: spec.properties.clone(),
        };
        let (addr, handle) = rpc::serve(chain, info, rpc_config).await?;
        // Tests and scripts read this line to find the port when --rpc-port 0 is used.
        println!("RPC listening on ws://{addr}");
        tracing::info!(%addr, "JSON-RPC server (WebSocket and HTTP) listening");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("interrupted, shutting down"),
            _ = handle.clone().stopped() => {}
        }
        let _ = handle.stop();
        anyhow::Ok(())
    })
}
