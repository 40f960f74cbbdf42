//! The baseline the issue names: the same recovery handshake over HTTP/1.1 with JSON bodies,
//! as Entropy's TSS server exposes its backup provider (a nonce endpoint, then a recover
//! endpoint taking the quote and a response key; the share comes back HPKE-sealed). The server
//! is axum calling the very same [`Provider::handle`] the libp2p network loop calls, the client
//! is hyper's HTTP/1.1 connection API with keep-alive. Byte strings are JSON arrays of numbers,
//! serde's default and what Entropy's `serde_json` messages carry.
//!
//! Both transports are also run through [`CountingProxy`], a TCP relay that counts the bytes
//! it forwards, to report bytes on the wire per handshake (connection set-up included, over the
//! handshakes of one connection). Latency and throughput are measured without the proxy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::http1::Http1Client;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use libp2p::PeerId;
use peerseal_backup::Provider;
use peerseal_protocol::{
    AccountId, BoundedBytes, Nonce32, QuoteBytes, Recover, RecoveredShare, Request, RequestNonce,
    Response, Sealed, X25519Public,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const NONCE_PATH: &str = "/backup_provider/quote_nonce";
pub const RECOVER_PATH: &str = "/backup_provider/recover";

/// Body of [`NONCE_PATH`].
#[derive(Serialize, Deserialize)]
pub struct NonceRequest {
    pub tss_account: [u8; 32],
}

/// Answer of [`NONCE_PATH`].
#[derive(Serialize, Deserialize)]
pub struct NonceResponse {
    pub nonce: [u8; 32],
    pub ttl_secs: u32,
}

/// Body of [`RECOVER_PATH`].
#[derive(Serialize, Deserialize)]
pub struct RecoverRequest {
    pub tss_account: [u8; 32],
    pub epoch: u64,
    pub response_key: [u8; 32],
    pub quote: Vec<u8>,
}

/// Answer of [`RECOVER_PATH`]: the HPKE envelope of the share.
#[derive(Serialize, Deserialize)]
pub struct RecoverResponse {
    pub enc: [u8; 32],
    pub ciphertext: Vec<u8>,
}

type Refused = (StatusCode, String);

/// What every HTTP request is attributed to. HTTP has no peer identity; Entropy binds nonces
/// to the account only, so one fixed peer id stands for every HTTP client (the bench's
/// per-peer limits are raised out of the way for both transports).
#[derive(Clone)]
struct ServerState {
    provider: Provider,
    peer: PeerId,
}

async fn nonce(
    State(state): State<ServerState>,
    Json(body): Json<NonceRequest>,
) -> Result<Json<NonceResponse>, Refused> {
    let ask = Request::RequestNonce(RequestNonce { account: AccountId(body.tss_account) });
    match state.provider.handle(state.peer, ask).await {
        Response::Nonce(n) => Ok(Json(NonceResponse { nonce: n.nonce.0, ttl_secs: n.ttl_secs })),
        other => Err((StatusCode::FORBIDDEN, format!("{other:?}"))),
    }
}

async fn recover(
    State(state): State<ServerState>,
    Json(body): Json<RecoverRequest>,
) -> Result<Json<RecoverResponse>, Refused> {
    let quote =
        QuoteBytes::new(body.quote).map_err(|_| (StatusCode::BAD_REQUEST, "quote".into()))?;
    let recover = Request::Recover(Recover {
        account: AccountId(body.tss_account),
        epoch: body.epoch,
        response_pk: X25519Public(body.response_key),
        quote,
    });
    match state.provider.handle(state.peer, recover).await {
        Response::RecoveredShare(sealed) => Ok(Json(RecoverResponse {
            enc: sealed.envelope.enc,
            ciphertext: sealed.envelope.ciphertext.into_inner(),
        })),
        other => Err((StatusCode::FORBIDDEN, format!("{other:?}"))),
    }
}

/// Serves `provider` over HTTP on a loopback port (on the calling tokio runtime).
pub async fn serve(provider: Provider) -> SocketAddr {
    let state = ServerState { provider, peer: PeerId::random() };
    let app = Router::new()
        .route(NONCE_PATH, post(nonce))
        .route(RECOVER_PATH, post(recover))
        .with_state(state);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// One HTTP/1.1 keep-alive connection to a provider, speaking its JSON.
pub struct HttpClient(Http1Client);

impl HttpClient {
    pub async fn connect(addr: SocketAddr) -> Result<Self, String> {
        Http1Client::connect(addr).await.map(Self)
    }

    async fn post<T: Serialize, R: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &T,
    ) -> Result<R, String> {
        let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let bytes = self.0.post(path, "application/json", body).await?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }

    /// The nonce step.
    pub async fn request_nonce(&mut self, account: AccountId) -> Result<Nonce32, String> {
        let answer: NonceResponse =
            self.post(NONCE_PATH, &NonceRequest { tss_account: account.0 }).await?;
        Ok(Nonce32(answer.nonce))
    }

    /// The recover step: the sealed share, still to be opened.
    pub async fn recover(&mut self, recover: Recover) -> Result<RecoveredShare, String> {
        let body = RecoverRequest {
            tss_account: recover.account.0,
            epoch: recover.epoch,
            response_key: recover.response_pk.0,
            quote: recover.quote.into_inner(),
        };
        let answer: RecoverResponse = self.post(RECOVER_PATH, &body).await?;
        let ciphertext = BoundedBytes::new(answer.ciphertext).map_err(|_| "ciphertext")?;
        Ok(RecoveredShare { envelope: Sealed { enc: answer.enc, ciphertext } })
    }
}

/// A TCP relay on loopback that counts every byte it forwards, both directions.
pub struct CountingProxy {
    pub addr: SocketAddr,
    bytes: Arc<AtomicU64>,
}

impl CountingProxy {
    /// Relays every connection accepted to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let bytes = Arc::new(AtomicU64::new(0));
        let counter = bytes.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(upstream).await else { continue };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                tokio::spawn(relay(in_read, out_write, counter.clone()));
                tokio::spawn(relay(out_read, in_write, counter.clone()));
            }
        });
        Self { addr, bytes }
    }

    /// Bytes forwarded so far, both directions together.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    counter: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                counter.fetch_add(n as u64, Ordering::Relaxed);
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}
