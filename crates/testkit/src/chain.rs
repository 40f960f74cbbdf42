//! A `peerseal-node` dev chain process: `--rpc-port 0` unless the caller picks a port, up once
//! it prints `RPC listening on ws://127.0.0.1:<port>`, killed on drop.

use crate::binaries::node_binary;
use crate::process::Process;
use crate::HarnessError;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Longest a node may take to start listening.
pub const START_LIMIT: Duration = Duration::from_secs(60);

/// A `peerseal-node` process with its RPC server listening; killed (SIGKILL) and reaped on drop.
pub struct DevChain {
    process: Process,
    /// The RPC address the node printed, e.g. `ws://127.0.0.1:40123`.
    pub url: String,
}

impl DevChain {
    /// Starts [`node_binary`] with `args`, logging at `warn`.
    pub fn start(args: &[&str]) -> Result<DevChain, HarnessError> {
        Self::start_with_binary(&node_binary()?, args, Some("warn"))
    }

    /// `--dev`, in memory, on a free port.
    pub fn dev() -> Result<DevChain, HarnessError> {
        Self::start(&["--dev"])
    }

    /// Like [`DevChain::start`], panicking with the node's stderr if it does not come up.
    pub fn start_or_panic(args: &[&str]) -> DevChain {
        Self::start(args).unwrap_or_else(|e| panic!("peerseal-node did not start: {e}"))
    }

    /// Starts `binary` with `args` and, if given, `RUST_LOG=rust_log`; adds `--rpc-port 0`
    /// unless `args` choose a port. Waits at most [`START_LIMIT`] for the RPC server.
    pub fn start_with_binary(
        binary: &Path,
        args: &[&str],
        rust_log: Option<&str>,
    ) -> Result<DevChain, HarnessError> {
        let mut cmd = Command::new(binary);
        if !args.contains(&"--rpc-port") {
            cmd.args(["--rpc-port", "0"]);
        }
        cmd.args(args);
        if let Some(level) = rust_log {
            cmd.env("RUST_LOG", level);
        }
        let (process, url) = Process::spawn(cmd, "RPC listening on ", START_LIMIT, true)?;
        Ok(DevChain { process, url })
    }

    /// The RPC address with an `http://` scheme.
    pub fn http_url(&self) -> String {
        self.url.replacen("ws://", "http://", 1)
    }

    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// What the node wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// SIGKILL, no clean shutdown, and reap.
    pub fn kill(self) {
        self.process.kill();
    }
}
