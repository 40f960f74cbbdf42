//! Starts a real `peerseal-node` process on a loopback port and stops it when dropped.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal_testkit::DevChain;
use std::path::Path;
use std::process::Command;

/// A dev chain node of this package's own binary; dereferences to [`DevChain`].
pub struct Node(DevChain);

impl Node {
    /// Starts the dev chain with extra arguments; waits (bounded) until the RPC server listens.
    pub fn start(extra: &[&str]) -> Node {
        Self::try_start(extra).expect("node did not start")
    }

    pub fn try_start(extra: &[&str]) -> Result<Node, String> {
        let binary = Path::new(env!("CARGO_BIN_EXE_peerseal-node"));
        DevChain::start_with_binary(binary, extra, Some("info"))
            .map(Node)
            .map_err(|e| e.to_string())
    }

    /// Stops the process the way an operator's Ctrl-C would not: SIGKILL, no clean-up.
    pub fn kill(self) {
        self.0.kill();
    }
}

impl std::ops::Deref for Node {
    type Target = DevChain;
    fn deref(&self) -> &DevChain {
        &self.0
    }
}

/// Runs the node to completion with `args` (for commands that exit), bounded in time.
pub fn run_to_exit(args: &[&str], base: Option<&Path>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_peerseal-node"));
    cmd.args(args);
    if let Some(base) = base {
        cmd.arg("--base-path").arg(base);
    }
    let out = cmd.output().expect("run node");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
