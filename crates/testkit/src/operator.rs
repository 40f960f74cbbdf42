//! What a validator operator runs beside a node: the `peerseal register` / `leave` / `info` /
//! `status` commands of the dev binary, as child processes with the stash secret passed the
//! way the docs say (the `PEERSEAL_STASH_URI` environment variable, never a flag); and what a
//! recovery operator runs, `peerseal operator keygen` / `check` / `recover`.

use crate::HarnessError;
use std::time::Duration;

/// How a command ended.
#[derive(Debug)]
pub struct Outcome {
    /// Exit status 0.
    pub success: bool,
    /// Its stdout (the machine-read JSON or table).
    pub stdout: String,
    /// Its stderr (progress and errors).
    pub stderr: String,
}

/// Runs `peerseal-dev <args>` with `stash_uri` as the stash secret (may be empty), bounded by
/// `limit`.
pub async fn run(args: &[&str], stash_uri: &str, limit: Duration) -> Result<Outcome, HarnessError> {
    let mut cmd = tokio::process::Command::new(crate::peerseal_dev_binary()?);
    cmd.args(args).env("RUST_LOG", "warn").kill_on_drop(true);
    if !stash_uri.is_empty() {
        cmd.env("PEERSEAL_STASH_URI", stash_uri);
    }
    let output = tokio::time::timeout(limit, cmd.output()).await.map_err(|_| {
        HarnessError::Process(format!("peerseal-dev {args:?} did not end in time"))
    })??;
    Ok(Outcome {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// `peerseal register` for the waiting node at `node_http` as stash `stash_uri`; the JSON line
/// it prints.
pub async fn register(
    node_http: std::net::SocketAddr,
    chain_url: &str,
    stash_uri: &str,
) -> Result<serde_json::Value, HarnessError> {
    let http = node_http.to_string();
    let args = ["register", "--node", &http, "--chain-url", chain_url];
    json_of(run(&args, stash_uri, Duration::from_secs(150)).await?)
}

/// `peerseal leave` as stash `stash_uri`; the JSON line it prints.
pub async fn leave(chain_url: &str, stash_uri: &str) -> Result<serde_json::Value, HarnessError> {
    let args = ["leave", "--chain-url", chain_url];
    json_of(run(&args, stash_uri, Duration::from_secs(150)).await?)
}

/// `peerseal operator keygen --out file`: the X25519 public key it printed.
pub async fn keygen(file: &std::path::Path) -> Result<[u8; 32], HarnessError> {
    let path = file
        .to_str()
        .ok_or_else(|| HarnessError::Process(format!("non-UTF-8 path {}", file.display())))?;
    let printed =
        json_of(run(&["operator", "keygen", "--out", path], "", Duration::from_secs(30)).await?)?;
    let mut public = [0u8; 32];
    hex::decode_to_slice(printed["x25519_public_key"].as_str().unwrap_or_default(), &mut public)
        .map_err(|e| HarnessError::Process(format!("keygen printed no public key ({e})")))?;
    Ok(public)
}

/// `peerseal operator check` with the operator key `secret` against the chain at `chain_url`
/// (trust root in `trust_root`); how it ended, since a check that finds problems fails.
pub async fn check(
    secret: &std::path::Path,
    chain_url: &str,
    trust_root: &std::path::Path,
) -> Result<Outcome, HarnessError> {
    keyed(&["operator", "check"], secret, chain_url, trust_root).await
}

/// `peerseal operator recover --node <node>` with the operator key `secret` against the chain
/// at `chain_url`; how it ended, since a refusal fails.
pub async fn recover(
    node: &str,
    secret: &std::path::Path,
    chain_url: &str,
    trust_root: &std::path::Path,
) -> Result<Outcome, HarnessError> {
    keyed(&["operator", "recover", "--node", node], secret, chain_url, trust_root).await
}

/// `peerseal-dev <command> --secret .. --chain-url .. --trust-root ..`, bounded.
async fn keyed(
    command: &[&str],
    secret: &std::path::Path,
    chain_url: &str,
    trust_root: &std::path::Path,
) -> Result<Outcome, HarnessError> {
    let utf8 = |p: &std::path::Path| {
        p.to_str()
            .map(str::to_owned)
            .ok_or_else(|| HarnessError::Process(format!("non-UTF-8 path {}", p.display())))
    };
    let (secret, trust_root) = (utf8(secret)?, utf8(trust_root)?);
    let mut args = command.to_vec();
    args.extend(["--secret", &secret, "--chain-url", chain_url, "--trust-root", &trust_root]);
    run(&args, "", Duration::from_secs(60)).await
}

fn json_of(outcome: Outcome) -> Result<serde_json::Value, HarnessError> {
    if !outcome.success {
        return Err(HarnessError::Process(format!(
            "operator command failed: {}{}",
            outcome.stdout, outcome.stderr
        )));
    }
    serde_json::from_str(outcome.stdout.trim())
        .map_err(|e| HarnessError::Process(format!("operator command printed no JSON ({e})")))
}
