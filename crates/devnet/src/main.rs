//! `peerseal-devnet`: a dev chain and four TSS nodes (the dev identities Alice..Dave) as
//! separate processes on loopback with temporary data directories, and the story the product
//! promises, checked step by step ([`story`]). Ends with a summary table and exit code 0, or the
//! reason and a non-zero exit code. Built on the `peerseal-testkit` harness, the same one the
//! end-to-end tests and the benches use; it runs the `peerseal-dev` binary (the daemon with the
//! dev feature) and `peerseal-node`, building them first when they are missing.

mod story;

use clap::Parser;
use std::process::ExitCode;

/// Options of the devnet.
#[derive(Parser, Clone, Debug)]
#[command(name = "peerseal-devnet", version, about = "A local peerseal dev network and its story")]
pub struct DevnetArgs {
    /// Leave the network running after the story (until Ctrl-C).
    #[arg(long)]
    pub keep_running: bool,
    /// Bound on each step of the story, seconds.
    #[arg(long, default_value_t = 120)]
    pub step_timeout_secs: u64,
}

fn main() -> ExitCode {
    let args = DevnetArgs::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("peerseal-devnet: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(story::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peerseal-devnet: {e:#}");
            ExitCode::FAILURE
        }
    }
}
