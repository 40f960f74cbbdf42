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

/// A server [`spec_with_servers`] registers at genesis beside the dev servers.
#[derive(Clone, Debug)]
pub struct GenesisServer {
    /// The operator's stash account.
    pub stash: [u8; 32],
    /// The server's TSS account.
    pub tss_account: [u8; 32],
    /// The server's x25519 public key.
    pub x25519_public_key: [u8; 32],
    /// The server's libp2p peer id, in its binary form.
    pub peer_id: Vec<u8>,
}

impl GenesisServer {
    /// The `n`th of a deterministic series of distinct servers (accounts and keys are `n` in
    /// the first 8 bytes and a per-field tag in the rest; the peer id is bytes of the same
    /// kind, which the registry stores as given).
    pub fn numbered(n: u64) -> Self {
        let tagged = |tag: u8| {
            let mut bytes = [tag; 32];
            bytes[..8].copy_from_slice(&n.to_le_bytes());
            bytes
        };
        GenesisServer {
            stash: tagged(0x51),
            tss_account: tagged(0x7C),
            x25519_public_key: tagged(0x25),
            peer_id: tagged(0x12).to_vec(),
        }
    }
}

/// Writes `dir/spec.json`: the dev chain spec `binary build-spec` prints, with `extra` servers
/// registered at genesis after the dev servers. Each copies the first dev server's multiaddr
/// and registration quote: the registry does not re-check quotes at genesis, and the copy is a
/// mock quote of the dev platform, which is what a provider compares a recovery quote's
/// platform with. For benches and tests that need many distinct registered accounts.
pub fn spec_with_servers(
    binary: &Path,
    dir: &Path,
    extra: &[GenesisServer],
) -> Result<std::path::PathBuf, HarnessError> {
    use serde_json::{json, Value};
    let bad = |what: &str| HarnessError::Process(format!("build-spec output: {what}"));
    let out = Command::new(binary).arg("build-spec").output()?;
    if !out.status.success() {
        return Err(HarnessError::Process(format!(
            "{} build-spec failed: {}",
            binary.display(),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let mut spec: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| bad(&format!("not JSON: {e}")))?;
    let servers = spec
        .pointer_mut("/genesis/runtimeGenesis/patch/registry/servers")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| bad("no registry servers"))?;
    let template = servers.first().cloned().ok_or_else(|| bad("no dev server to copy"))?;
    let ss58 = |account: [u8; 32]| Value::String(subxt::utils::AccountId32(account).to_string());
    for server in extra {
        let mut entry = template.clone();
        entry[0] = ss58(server.stash);
        let info = entry.get_mut(1).and_then(Value::as_object_mut).ok_or_else(|| bad("entry"))?;
        info.insert("tssAccount".into(), ss58(server.tss_account));
        info.insert("x25519PublicKey".into(), json!(server.x25519_public_key.to_vec()));
        info.insert("peerId".into(), json!(server.peer_id));
        servers.push(entry);
    }
    let path = dir.join("spec.json");
    std::fs::write(&path, serde_json::to_vec(&spec).map_err(|e| bad(&e.to_string()))?)?;
    Ok(path)
}
