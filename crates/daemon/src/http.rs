//! The node's small local HTTP endpoint: `GET /health` (200 unless recovery failed), `GET
//! /status` (JSON [`crate::phase::Status`]), `GET /metrics` (Prometheus text), `GET /identity`
//! (the public identity and whether it is registered; 503 while the store is locked), and,
//! while the node waits to be registered, `POST /registration/quote?stash=…&nonce=…`
//! ([`crate::registration`]). Anything else is 404; request bodies are never read. Also the
//! tiny client `peerseal status`, `info` and `register` use.
//!
//! Dev builds only: `POST /dev/records/<n>` writes record `n` into the open store (tree
//! `dev-records`, value `record <n>`) and answers 200 only once it is flushed to disk, and
//! `GET /dev/records/<n>` reads it back (404 when absent, 503 before its store is open) — the
//! writer of the kill -9 soak (`cargo bench -p peerseal-e2e --bench soak`).

use crate::metrics::Metrics;
use crate::phase::{Lifecycle, Phase};
use crate::registration::{parse_account, parse_hex32, PublicIdentity, Registrar};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use peerseal_backup::Provider;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Bound on a status answer read by the client.
const MAX_ANSWER: usize = 1024 * 1024;

/// What the endpoint reads.
#[derive(Clone)]
pub struct Shared {
    /// State and status.
    pub lifecycle: Lifecycle,
    /// Metrics.
    pub metrics: Metrics,
    /// The provider, once serving.
    pub provider: Arc<OnceLock<Provider>>,
    /// The node's public identity, once its store is open.
    pub identity: Arc<OnceLock<PublicIdentity>>,
    /// The registration quote maker, while the node waits to be registered.
    pub registrar: Arc<Mutex<Option<Arc<Registrar>>>>,
    /// The node's open store, once unlocked (dev builds: the soak's writer).
    #[cfg(feature = "dev")]
    pub store: Arc<OnceLock<peerseal_kvdb::Store>>,
}

/// The dev-only record endpoint (module doc).
#[cfg(feature = "dev")]
mod dev_records {
    use super::StatusCode;
    use peerseal_kvdb::Store;

    const TREE: &str = "dev-records";

    fn value(n: u64) -> String {
        format!("record {n}")
    }

    /// Answers `/dev/records/<n>` for `POST` (`write`) or `GET`, or `None` for other paths.
    pub async fn answer(
        store: Option<&Store>,
        path: &str,
        write: bool,
    ) -> Option<(StatusCode, &'static str, String)> {
        let n: u64 = path.strip_prefix("/dev/records/")?.parse().ok()?;
        let Some(store) = store.cloned() else {
            return Some((StatusCode::SERVICE_UNAVAILABLE, "text/plain", "not ready\n".into()));
        };
        let work = tokio::task::spawn_blocking(move || -> Result<Option<String>, String> {
            let tree = store.tree(TREE).map_err(|e| e.to_string())?;
            if write {
                tree.insert(n.to_be_bytes(), value(n)).map_err(|e| e.to_string())?;
                store.flush().map_err(|e| e.to_string())?;
                return Ok(Some("stored".into()));
            }
            let got = tree.get(n.to_be_bytes()).map_err(|e| e.to_string())?;
            Ok(got.map(|v| String::from_utf8_lossy(&v).into_owned()))
        });
        Some(match work.await {
            Ok(Ok(Some(text))) => (StatusCode::OK, "text/plain", text + "\n"),
            Ok(Ok(None)) => (StatusCode::NOT_FOUND, "text/plain", "no such record\n".into()),
            Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, "text/plain", e + "\n"),
            Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "task failed\n".into()),
        })
    }
}

impl Shared {
    /// `POST /registration/quote?stash=<account>&nonce=<hex32>`.
    async fn registration_quote(&self, query: Option<&str>) -> (StatusCode, &'static str, String) {
        let text = |code: u16, body: String| {
            (
                StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
                "text/plain",
                body + "\n",
            )
        };
        let param = |name: &str| {
            query?.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        };
        let (Some(stash), Some(nonce)) =
            (param("stash").and_then(parse_account), param("nonce").and_then(parse_hex32))
        else {
            return text(400, "needs ?stash=<SS58 or hex>&nonce=<32 bytes hex>".into());
        };
        // Cloned out so the lock is not held across the chain read and the quote.
        let registrar = self.registrar.lock().ok().and_then(|r| r.clone());
        let Some(registrar) = registrar else {
            return text(409, "this node is not waiting to be registered".into());
        };
        match registrar.quote(stash, nonce).await {
            Ok(json) => (StatusCode::OK, "application/json", json.to_string()),
            Err(refusal) => {
                tracing::warn!(%refusal, "registration quote refused");
                text(refusal.status(), refusal.to_string())
            }
        }
    }

    fn answer(&self, path: &str) -> (StatusCode, &'static str, String) {
        let mut status = self.lifecycle.snapshot();
        if let Some(provider) = self.provider.get() {
            status.backups_held = Some(provider.held().len() as u64);
        }
        match path {
            "/health" => match &status.state {
                Phase::RecoveryFailed { reason, .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    format!("recovery failed: {reason}\n"),
                ),
                other => (StatusCode::OK, "text/plain", format!("ok {}\n", other.label())),
            },
            "/status" => match serde_json::to_string_pretty(&status) {
                Ok(json) => (StatusCode::OK, "application/json", json),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, "text/plain", e.to_string()),
            },
            "/metrics" => (StatusCode::OK, "text/plain; version=0.0.4", self.metrics.render()),
            "/identity" => match self.identity.get() {
                Some(identity) => {
                    let mut json = identity.json();
                    let registered = !matches!(status.state, Phase::AwaitingRegistration { .. })
                        && status.registration.as_deref() != Some("removed");
                    json["registered"] = serde_json::Value::Bool(registered);
                    json["registration"] = serde_json::json!(status.registration);
                    json["state"] = serde_json::Value::String(status.state.label().to_owned());
                    (StatusCode::OK, "application/json", json.to_string())
                }
                None => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    format!("identity not known yet (state {})\n", status.state.label()),
                ),
            },
            _ => (StatusCode::NOT_FOUND, "text/plain", "not found\n".to_owned()),
        }
    }
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("HTTP endpoint {addr}: {source}")]
pub struct HttpError {
    /// The address.
    pub addr: SocketAddr,
    /// The cause.
    pub source: std::io::Error,
}

/// Binds `addr` and serves; returns the bound address and the serving task.
pub async fn serve(
    addr: SocketAddr,
    shared: Shared,
) -> Result<(SocketAddr, JoinHandle<()>), HttpError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| HttpError { addr, source })?;
    let bound = listener.local_addr().map_err(|source| HttpError { addr, source })?;
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::debug!("http accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let shared = shared.clone();
                        async move {
                            let path = req.uri().path().to_owned();
                            let get = req.method() == hyper::Method::GET;
                            if req.method() == hyper::Method::POST && path == "/registration/quote"
                            {
                                let (code, content_type, body) =
                                    shared.registration_quote(req.uri().query()).await;
                                return Response::builder()
                                    .status(code)
                                    .header("content-type", content_type)
                                    .body(Full::new(Bytes::from(body)));
                            }
                            #[cfg(feature = "dev")]
                            let dev = if get || req.method() == hyper::Method::POST {
                                dev_records::answer(shared.store.get(), &path, !get).await
                            } else {
                                None
                            };
                            #[cfg(not(feature = "dev"))]
                            let dev: Option<(
                                StatusCode,
                                &'static str,
                                String,
                            )> = None;
                            let (code, content_type, body) = match dev {
                                Some(answer) => answer,
                                None if get => shared.answer(&path),
                                None => {
                                    (StatusCode::METHOD_NOT_ALLOWED, "text/plain", String::new())
                                }
                            };
                            Response::builder()
                                .status(code)
                                .header("content-type", content_type)
                                .body(Full::new(Bytes::from(body)))
                        }
                    });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(e) = tokio::time::timeout(Duration::from_secs(30), conn).await {
                    tracing::debug!("http connection: {e}");
                }
            });
        }
    });
    Ok((bound, task))
}

/// Why a request to the node's endpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    /// Connecting or speaking HTTP failed.
    #[error("cannot reach {0}")]
    Connect(String),
    /// No answer in time.
    #[error("no answer in time")]
    Timeout,
}

/// `GET path` from the node at `addr`: (status code, body).
pub async fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), GetError> {
    request(hyper::Method::GET, addr, path).await
}

/// `POST path` (empty body) to the node at `addr`: (status code, body).
pub async fn post(addr: SocketAddr, path: &str) -> Result<(u16, String), GetError> {
    request(hyper::Method::POST, addr, path).await
}

async fn request(
    method: hyper::Method,
    addr: SocketAddr,
    path: &str,
) -> Result<(u16, String), GetError> {
    let work = async {
        let err = |e: &dyn std::fmt::Display| GetError::Connect(format!("{addr}: {e}"));
        let stream = TcpStream::connect(addr).await.map_err(|e| err(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| err(&e))?;
        let driver = tokio::spawn(conn);
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string())
            .body(Full::new(Bytes::new()))
            .map_err(|e| err(&e))?;
        let response = sender.send_request(request).await.map_err(|e| err(&e))?;
        let code = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| err(&e))?
            .to_bytes();
        driver.abort();
        Ok((code, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(Duration::from_secs(10), work).await.map_err(|_| GetError::Timeout)?
}
