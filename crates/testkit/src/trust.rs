//! The chain trust root the harness gives the daemons it starts: the genesis hash of a dev chain
//! the harness itself started (the harness is the trusted party here, as the image builder is in
//! production). Asked of the chain directly, never through a test's proxy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use peerseal_chain::TrustRoot;
use subxt::ext::jsonrpsee::core::client::ClientT;
use subxt::ext::jsonrpsee::rpc_params;
use subxt::ext::jsonrpsee::ws_client::WsClientBuilder;

use crate::HarnessError;

/// The genesis trust root of the chain at `url` (a `ws://` URL of a chain the caller trusts).
/// Works from sync and async code alike (it runs on a thread of its own).
pub fn genesis_trust_root(url: &str) -> Result<TrustRoot, HarnessError> {
    let url = url.to_owned();
    let ask = std::thread::spawn(move || -> Result<TrustRoot, HarnessError> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let chain = |e: String| HarnessError::Chain(format!("genesis of {url}: {e}"));
            let client = WsClientBuilder::default()
                .connection_timeout(Duration::from_secs(10))
                .request_timeout(Duration::from_secs(10))
                .build(&url)
                .await
                .map_err(|e| chain(e.to_string()))?;
            let hash: String = client
                .request("chain_getBlockHash", rpc_params![0])
                .await
                .map_err(|e| chain(e.to_string()))?;
            let bytes =
                hex::decode(hash.trim_start_matches("0x")).map_err(|e| chain(e.to_string()))?;
            let genesis =
                <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| chain("not 32 bytes".into()))?;
            Ok(TrustRoot::genesis(genesis))
        })
    });
    ask.join().map_err(|_| HarnessError::Chain("genesis query thread panicked".into()))?
}

/// Writes [`genesis_trust_root`] of `url` into `dir/trust-root.json` and returns the path.
/// Atomic (a unique temporary file renamed into place): daemons started one after another read
/// the file while the next start rewrites it, and must never see it half written.
pub fn write_trust_root(url: &str, dir: &Path) -> Result<PathBuf, HarnessError> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let path = dir.join("trust-root.json");
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = dir.join(format!(".trust-root.json.{}.{n}", std::process::id()));
    std::fs::write(&temporary, genesis_trust_root(url)?.to_json())?;
    std::fs::rename(&temporary, &path)?;
    Ok(path)
}

/// A verifying [`peerseal_chain::ChainClient`] on the chain at `url`, trusting its genesis
/// (for tests and the devnet, which started that chain themselves).
pub async fn connect_chain(url: &str) -> Result<peerseal_chain::ChainClient, HarnessError> {
    let trust = {
        let url = url.to_owned();
        tokio::task::spawn_blocking(move || genesis_trust_root(&url))
            .await
            .map_err(|e| HarnessError::Chain(e.to_string()))??
    };
    peerseal_chain::ChainClient::connect(url, trust)
        .await
        .map_err(|e| HarnessError::Chain(e.to_string()))
}

/// A copy of the production `peerseal` binary in `dir` with the genesis trust root of the chain
/// at `url` beside it, as a measured image would carry it (a production build takes its trust
/// root from nowhere else). Returns the copy's path.
pub fn production_binary_trusting(url: &str, dir: &Path) -> Result<PathBuf, HarnessError> {
    let binary = dir.join("peerseal");
    std::fs::copy(crate::binaries::peerseal_binary()?, &binary)?;
    std::fs::write(
        dir.join(peerseal::trust_root::TRUST_ROOT_FILE_NAME),
        genesis_trust_root(url)?.to_json(),
    )?;
    Ok(binary)
}
