//! One WebSocket connection to a chain node: the jsonrpsee client (kept so its liveness can be
//! checked) and the subxt client built on it. Opening is bounded in time; every request on it
//! is bounded by the jsonrpsee request timeout.

use std::sync::Arc;
use std::time::Duration;

use subxt::ext::jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use subxt::rpcs::{LegacyRpcMethods, RpcClient};
use subxt::{OnlineClient, PolkadotConfig};

use crate::error::ChainError;

/// The subxt client type used throughout: the chain is a standard Substrate chain with
/// `AccountId32`, `MultiSignature`, `MultiAddress<AccountId32, ()>` and u32 block numbers,
/// which is exactly subxt's `PolkadotConfig`.
pub(crate) type Api = OnlineClient<PolkadotConfig>;
/// Legacy JSON-RPC methods (for the pool-aware `system_accountNextIndex`).
pub(crate) type Legacy = LegacyRpcMethods<subxt::config::RpcConfigFor<PolkadotConfig>>;

/// Whole time to open a connection: the WebSocket handshake plus subxt's start-up calls
/// (`rpc_methods`, genesis hash).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Bound on every single JSON-RPC request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An open connection.
#[derive(Clone)]
pub(crate) struct Conn {
    rpc: Arc<WsClient>,
    pub(crate) api: Api,
    pub(crate) legacy: Legacy,
}

impl Conn {
    /// Connects to `url` (ws:// or wss://), bounded by [`CONNECT_TIMEOUT`].
    pub(crate) async fn open(url: &str) -> Result<Conn, ChainError> {
        let connect_error = |reason: String| ChainError::Connect { url: url.to_string(), reason };
        let work = async {
            let rpc = WsClientBuilder::default()
                .connection_timeout(CONNECT_TIMEOUT)
                .request_timeout(REQUEST_TIMEOUT)
                .build(url)
                .await
                .map_err(|e| connect_error(e.to_string()))?;
            let rpc = Arc::new(rpc);
            let api = Api::from_rpc_client(RpcClient::new(rpc.clone()))
                .await
                .map_err(|e| connect_error(e.to_string()))?;
            let legacy = Legacy::new(RpcClient::new(rpc.clone()));
            Ok(Conn { rpc, api, legacy })
        };
        tokio::time::timeout(CONNECT_TIMEOUT, work)
            .await
            .map_err(|_| connect_error(format!("no answer within {CONNECT_TIMEOUT:?}")))?
    }

    /// False once the WebSocket is closed (node stopped or connection dropped).
    pub(crate) fn is_alive(&self) -> bool {
        self.rpc.is_connected()
    }

    /// The chain's genesis hash.
    pub(crate) fn genesis(&self) -> [u8; 32] {
        self.api.genesis_hash().0
    }
}

/// Lower-case hex of a hash, for error messages.
pub(crate) fn hex32(bytes: &[u8; 32]) -> String {
    hex::encode(bytes)
}
