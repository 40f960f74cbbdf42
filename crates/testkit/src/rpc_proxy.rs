//! A man-in-the-middle JSON-RPC WebSocket proxy for security tests: put it between a client (a
//! TSS node, subxt, a raw WebSocket) and a `peerseal-node` dev chain to play a malicious chain
//! endpoint, the one the host of a TSS node controls.
//!
//! [`RpcProxy::start`] listens on `127.0.0.1:0`; for every accepted client WebSocket it opens
//! its own upstream WebSocket and relays frames both ways. Untampered it is transparent: a text
//! frame nothing changed is relayed byte for byte, binary frames, pings and pongs as they are,
//! and a close from one side closes the other. A test tampers through a [`Tamper`] installed
//! with [`RpcProxy::set_tamper`] (and removed with [`RpcProxy::clear_tamper`], to show that the
//! client recovers once the honest endpoint is back); it sees every request, every response
//! together with the method and params of the request it answers, and every subscription
//! notification together with the subscribe call that created the subscription. Batches are
//! handled element by element. [`tamper`] builds the common one-method tampers from closures.
//!
//! The proxy keeps its bookkeeping (which id is which method, which subscription id came from
//! which subscribe call) whether or not a tamper is installed, so a tamper installed later
//! applies to subscriptions made before it. It runs on its own small runtime so it works from
//! sync tests (next to [`crate::DevChain`] and [`crate::TssDaemon`]) and from any async runtime
//! alike, and so a test blocking its own runtime cannot stall the relay; dropping the proxy
//! shuts that runtime down, which ends the listener and every relay.
//!
//! Being an attack tool it never repairs traffic: a frame that is not JSON, or JSON that is not
//! JSON-RPC, is relayed untouched (a text frame that is not UTF-8 is a WebSocket protocol error
//! and ends that connection, as it would at the real endpoint).

use crate::HarnessError;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest the client handshake plus the upstream connection may take; a client that opens a
/// TCP connection and never completes the handshake does not keep a task forever.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// Longest one frame may take to be written; a peer that stops reading is treated as gone, so
/// its relay ends instead of blocking on it (and [`RpcProxy::disconnect_all`] still works).
const SEND_LIMIT: Duration = Duration::from_secs(10);
/// Bigger than the node's 15 MiB request/response limits, so the proxy is never the one to
/// refuse a frame: a test that sends an oversized one tests the endpoint, not the proxy.
const MAX_MESSAGE: usize = 64 << 20;

/// What to do with a request, from [`Tamper::request`].
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Send it upstream (as the tamper left it).
    Forward,
    /// Swallow it: neither upstream nor the client hears of it again, so it is never answered.
    Drop,
    /// Answer the client with this response without asking upstream. When it is an object the
    /// proxy sets its `id` to the request's and adds `"jsonrpc": "2.0"` if missing; anything
    /// else is sent exactly as given (to test a client against garbage answers).
    Reply(Value),
}

impl Verdict {
    /// `Reply` with a successful `result`.
    pub fn result(result: Value) -> Verdict {
        Verdict::Reply(serde_json::json!({ "jsonrpc": "2.0", "result": result }))
    }

    /// `Reply` with a JSON-RPC error.
    pub fn error(code: i64, message: &str) -> Verdict {
        Verdict::Reply(serde_json::json!({
            "jsonrpc": "2.0",
            "error": { "code": code, "message": message },
        }))
    }
}

/// What a test does to the traffic. Every method has a no-op default, so an implementation
/// overrides only what it attacks. Called on the proxy's runtime for every frame, so it should
/// be quick and must not block.
pub trait Tamper: Send + Sync {
    /// A request from the client, `method` being its `method`. May rewrite `request` (the whole
    /// object, `id` included) before it is forwarded.
    fn request(&self, method: &str, request: &mut Value) -> Verdict {
        let _ = (method, request);
        Verdict::Forward
    }

    /// A response (`result` or `error`) from upstream to a request the proxy forwarded:
    /// `method` and `params` are that request's as sent upstream. May rewrite `response`;
    /// returning false drops it (the client never gets an answer).
    fn response(&self, method: &str, params: &Value, response: &mut Value) -> bool {
        let _ = (method, params, response);
        true
    }

    /// A subscription notification from upstream (`{"jsonrpc":"2.0","method":
    /// "chain_finalizedHead","params":{"subscription":..,"result":..}}`). `subscribe_method` is
    /// the call that created the subscription (e.g. `chain_subscribeFinalizedHeads`), or `""`
    /// when the subscription id is not one the proxy saw created on this connection; the
    /// notification's own method is `notification["method"]`. May rewrite it; returning false
    /// drops it.
    fn notification(&self, subscribe_method: &str, notification: &mut Value) -> bool {
        let _ = (subscribe_method, notification);
        true
    }
}

/// Ready-made [`Tamper`]s from closures, for the common case of attacking one method.
pub mod tamper {
    use super::{Tamper, Verdict};
    use serde_json::Value;
    use std::sync::Arc;

    /// Requests of `method` go through `f` (which may rewrite them and decides the verdict);
    /// everything else passes.
    pub fn on_request<F>(method: &str, f: F) -> Arc<dyn Tamper>
    where
        F: Fn(&mut Value) -> Verdict + Send + Sync + 'static,
    {
        Arc::new(OnRequest { method: method.to_owned(), f })
    }

    /// Responses to requests of `method` go through `f(params, response)`, which may rewrite
    /// the response and returns false to drop it; everything else passes.
    pub fn on_response<F>(method: &str, f: F) -> Arc<dyn Tamper>
    where
        F: Fn(&Value, &mut Value) -> bool + Send + Sync + 'static,
    {
        Arc::new(OnResponse { method: method.to_owned(), f })
    }

    /// Notifications of subscriptions created by `subscribe_method` (e.g.
    /// `chain_subscribeFinalizedHeads`) go through `f`, which may rewrite them and returns
    /// false to drop them; everything else passes.
    pub fn on_notification<F>(subscribe_method: &str, f: F) -> Arc<dyn Tamper>
    where
        F: Fn(&mut Value) -> bool + Send + Sync + 'static,
    {
        Arc::new(OnNotification { subscribe_method: subscribe_method.to_owned(), f })
    }

    /// Several tampers as one, applied in order: the first request verdict other than
    /// `Forward` wins (later tampers do not see that request); a response or notification
    /// passes through each in turn until one drops it.
    pub fn stack(tampers: Vec<Arc<dyn Tamper>>) -> Arc<dyn Tamper> {
        Arc::new(Stack(tampers))
    }

    struct OnRequest<F> {
        method: String,
        f: F,
    }

    impl<F: Fn(&mut Value) -> Verdict + Send + Sync> Tamper for OnRequest<F> {
        fn request(&self, method: &str, request: &mut Value) -> Verdict {
            if method == self.method {
                (self.f)(request)
            } else {
                Verdict::Forward
            }
        }
    }

    struct OnResponse<F> {
        method: String,
        f: F,
    }

    impl<F: Fn(&Value, &mut Value) -> bool + Send + Sync> Tamper for OnResponse<F> {
        fn response(&self, method: &str, params: &Value, response: &mut Value) -> bool {
            method != self.method || (self.f)(params, response)
        }
    }

    struct OnNotification<F> {
        subscribe_method: String,
        f: F,
    }

    impl<F: Fn(&mut Value) -> bool + Send + Sync> Tamper for OnNotification<F> {
        fn notification(&self, subscribe_method: &str, notification: &mut Value) -> bool {
            subscribe_method != self.subscribe_method || (self.f)(notification)
        }
    }

    struct Stack(Vec<Arc<dyn Tamper>>);

    impl Tamper for Stack {
        fn request(&self, method: &str, request: &mut Value) -> Verdict {
            for tamper in &self.0 {
                match tamper.request(method, request) {
                    Verdict::Forward => {}
                    other => return other,
                }
            }
            Verdict::Forward
        }

        fn response(&self, method: &str, params: &Value, response: &mut Value) -> bool {
            self.0.iter().all(|t| t.response(method, params, response))
        }

        fn notification(&self, subscribe_method: &str, notification: &mut Value) -> bool {
            self.0.iter().all(|t| t.notification(subscribe_method, notification))
        }
    }
}

/// State shared by the proxy handle, the accept loop and every relay.
struct Shared {
    upstream: String,
    tamper: RwLock<Option<Arc<dyn Tamper>>>,
    /// Requests seen from clients, by method (before tampering).
    calls: Mutex<HashMap<String, u64>>,
    /// Requests sent upstream, by method (after tampering).
    forwarded: Mutex<HashMap<String, u64>>,
    connections: AtomicU64,
    open: AtomicU64,
    /// Bumped by [`RpcProxy::disconnect_all`]; every relay watches it.
    epoch: watch::Sender<u64>,
}

impl Shared {
    fn tamper(&self) -> Option<Arc<dyn Tamper>> {
        self.tamper.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn count(map: &Mutex<HashMap<String, u64>>, method: &str) {
        *map.lock().unwrap_or_else(|p| p.into_inner()).entry(method.to_owned()).or_default() += 1;
    }

    fn read(map: &Mutex<HashMap<String, u64>>, method: &str) -> u64 {
        map.lock().unwrap_or_else(|p| p.into_inner()).get(method).copied().unwrap_or(0)
    }
}

/// The running proxy. Dropping it stops the listener and every relay (their TCP connections
/// are closed, so both clients and upstream see the connection end).
pub struct RpcProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Always `Some` until drop.
    runtime: Option<tokio::runtime::Runtime>,
}

impl RpcProxy {
    /// Listens on `127.0.0.1:0` and relays every client connection to `upstream`
    /// (`ws://127.0.0.1:<port>`). Upstream is connected per client connection, so it need not
    /// be up yet; a client that connects while it is down gets a close frame (1011).
    pub fn start(upstream: &str) -> Result<RpcProxy, HarnessError> {
        if !upstream.starts_with("ws://") {
            return Err(HarnessError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("rpc proxy upstream must be a ws:// URL (no TLS on loopback): {upstream}"),
            )));
        }
        // One worker is plenty for test traffic and leaves the two shared cores to the nodes.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rpc-proxy")
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listener = {
            let _enter = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            tamper: RwLock::new(None),
            calls: Mutex::new(HashMap::new()),
            forwarded: Mutex::new(HashMap::new()),
            connections: AtomicU64::new(0),
            open: AtomicU64::new(0),
            epoch: watch::Sender::new(0),
        });
        runtime.spawn(accept_loop(listener, shared.clone()));
        Ok(RpcProxy { addr, shared, runtime: Some(runtime) })
    }

    /// `ws://127.0.0.1:<port>`, the address to give the client instead of the chain's.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint relayed to.
    pub fn upstream(&self) -> &str {
        &self.shared.upstream
    }

    /// Installs `tamper`, replacing any other; it applies from the next frame on, on current
    /// connections too.
    pub fn set_tamper(&self, tamper: Arc<dyn Tamper>) {
        *self.shared.tamper.write().unwrap_or_else(|p| p.into_inner()) = Some(tamper);
    }

    /// Back to a transparent proxy from the next frame on.
    pub fn clear_tamper(&self) {
        *self.shared.tamper.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Requests of `method` received from clients so far (counted before any tamper, so
    /// dropped and locally answered ones count too; each batch element counts).
    pub fn calls(&self, method: &str) -> u64 {
        Shared::read(&self.shared.calls, method)
    }

    /// Requests of `method` sent upstream so far (after tampering: neither dropped nor locally
    /// answered ones count; a rewritten method counts under its new name).
    pub fn forwarded(&self, method: &str) -> u64 {
        Shared::read(&self.shared.forwarded, method)
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Client connections being relayed right now.
    pub fn open_connections(&self) -> u64 {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Closes every current client connection (close frame 1012 "service restart") and its
    /// upstream connection; clients that reconnect get fresh ones. Returns at once: the relays
    /// close within milliseconds (see [`RpcProxy::open_connections`]). Used to make a client
    /// pick up a new tamper from a clean start, or to test its reconnecting.
    pub fn disconnect_all(&self) {
        // `send_modify` and not `send`: it updates the value even when no relay is watching.
        self.shared.epoch.send_modify(|epoch| *epoch = epoch.wrapping_add(1));
    }
}

impl Drop for RpcProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Not a blocking shutdown: the proxy is often dropped inside an async test, where
            // blocking on another runtime's shutdown is not allowed. Dropping the tasks closes
            // the listener and every relay's sockets.
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                // Subscribed here, before the handshake, so that a disconnect_all during the
                // handshake still closes this connection.
                let epoch = shared.epoch.subscribe();
                tokio::spawn(serve(tcp, shared.clone(), epoch));
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE)).max_frame_size(Some(MAX_MESSAGE))
}

type ClientWs = WebSocketStream<TcpStream>;
type UpstreamWs = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Counts a relay as open for as long as it lives.
struct OpenGuard(Arc<Shared>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve(tcp: TcpStream, shared: Arc<Shared>, mut epoch: watch::Receiver<u64>) {
    shared.open.fetch_add(1, Ordering::SeqCst);
    let _open = OpenGuard(shared.clone());
    let _ = tcp.set_nodelay(true);
    let Ok(Ok(mut client)) = tokio::time::timeout(
        HANDSHAKE_LIMIT,
        tokio_tungstenite::accept_async_with_config(tcp, Some(ws_config())),
    )
    .await
    else {
        return;
    };
    let connect = tokio_tungstenite::connect_async_with_config(
        shared.upstream.as_str(),
        Some(ws_config()),
        true,
    );
    let mut upstream = match tokio::time::timeout(HANDSHAKE_LIMIT, connect).await {
        Ok(Ok((upstream, _response))) => upstream,
        Ok(Err(e)) => {
            close(&mut client, CloseCode::Error, &format!("proxy: upstream: {e}")).await;
            return;
        }
        Err(_) => {
            close(&mut client, CloseCode::Error, "proxy: upstream did not answer").await;
            return;
        }
    };
    let mut relay = Relay::new(shared);
    loop {
        tokio::select! {
            // Err: the proxy is gone (its runtime is shutting down); either way, close.
            _ = epoch.changed() => {
                close(&mut client, CloseCode::Restart, "proxy: disconnect_all").await;
                close(&mut upstream, CloseCode::Restart, "proxy: disconnect_all").await;
                return;
            }
            frame = client.next() => {
                if !relay.client_frame(frame, &mut client, &mut upstream).await {
                    return;
                }
            }
            frame = upstream.next() => {
                if !relay.upstream_frame(frame, &mut client, &mut upstream).await {
                    return;
                }
            }
        }
    }
}

/// Sends a close frame, bounded in time; the caller drops the connection afterwards.
async fn close<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = tokio::time::timeout(SEND_LIMIT, ws.close(Some(frame))).await;
}

/// Writes one message, bounded in time; false when the peer is gone.
async fn send<S>(ws: &mut WebSocketStream<S>, message: Message) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    matches!(tokio::time::timeout(SEND_LIMIT, ws.send(message)).await, Ok(Ok(())))
}

/// Flushes what tungstenite queued by itself (the pong to a ping, the reply to a close).
async fn flush<S>(ws: &mut WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(SEND_LIMIT, ws.flush()).await;
}

/// A request forwarded upstream and not answered yet.
struct Pending {
    method: String,
    params: Value,
}

/// The bookkeeping of one client connection.
struct Relay {
    shared: Arc<Shared>,
    /// Forwarded requests by [`id_key`].
    pending: HashMap<String, Pending>,
    /// Subscription ids (by [`id_key`]) to the subscribe method that created them.
    subscriptions: HashMap<String, String>,
    /// Locally answered elements of batches whose other elements went upstream: the answers
    /// join upstream's batch response (found by the forwarded elements' ids), because a client
    /// expects a batch answered in one array.
    batch_replies: Vec<(HashSet<String>, Vec<Value>)>,
}

/// What became of one request.
enum Outcome {
    Forward,
    Drop,
    Reply(Value),
}

impl Relay {
    fn new(shared: Arc<Shared>) -> Relay {
        Relay {
            shared,
            pending: HashMap::new(),
            subscriptions: HashMap::new(),
            batch_replies: Vec::new(),
        }
    }

    /// Handles one frame from the client; false when the connection is over.
    async fn client_frame(
        &mut self,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        client: &mut ClientWs,
        upstream: &mut UpstreamWs,
    ) -> bool {
        match frame {
            Some(Ok(Message::Text(text))) => {
                let (up, back) = self.client_text(text.as_str());
                if let Some(up) = up {
                    let message = match up {
                        Some(rewritten) => Message::text(rewritten),
                        None => Message::Text(text),
                    };
                    if !send(upstream, message).await {
                        close(client, CloseCode::Error, "proxy: upstream write failed").await;
                        return false;
                    }
                }
                match back {
                    Some(back) => send(client, Message::text(back)).await,
                    None => true,
                }
            }
            Some(Ok(Message::Close(frame))) => {
                close_with(upstream, frame).await;
                flush(client).await;
                false
            }
            Some(Ok(message @ (Message::Ping(_) | Message::Pong(_)))) => {
                flush(client).await;
                send(upstream, message).await
            }
            Some(Ok(Message::Binary(bytes))) => send(upstream, Message::Binary(bytes)).await,
            // Only produced when writing raw frames, never by reading.
            Some(Ok(Message::Frame(_))) => true,
            Some(Err(_)) | None => {
                close(upstream, CloseCode::Away, "proxy: client went away").await;
                false
            }
        }
    }

    /// Handles one frame from upstream; false when the connection is over.
    async fn upstream_frame(
        &mut self,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        client: &mut ClientWs,
        upstream: &mut UpstreamWs,
    ) -> bool {
        match frame {
            Some(Ok(Message::Text(text))) => match self.upstream_text(text.as_str()) {
                Forward::Untouched => send(client, Message::Text(text)).await,
                Forward::Rewritten(rewritten) => send(client, Message::text(rewritten)).await,
                Forward::Nothing => true,
            },
            Some(Ok(Message::Close(frame))) => {
                close_with(client, frame).await;
                flush(upstream).await;
                false
            }
            Some(Ok(message @ (Message::Ping(_) | Message::Pong(_)))) => {
                flush(upstream).await;
                send(client, message).await
            }
            Some(Ok(Message::Binary(bytes))) => send(client, Message::Binary(bytes)).await,
            Some(Ok(Message::Frame(_))) => true,
            // The endpoint went away: so does the client's, as if it had been the endpoint.
            Some(Err(_)) | None => {
                close(client, CloseCode::Away, "proxy: upstream went away").await;
                false
            }
        }
    }

    /// A text frame from the client: what to send upstream (`Some(None)`: the frame as it
    /// came; `Some(Some(text))`: rewritten) and what to answer the client directly.
    fn client_text(&mut self, text: &str) -> (Option<Option<String>>, Option<String>) {
        let Ok(original) = serde_json::from_str::<Value>(text) else {
            return (Some(None), None);
        };
        let tamper = self.shared.tamper();
        let mut value = original.clone();
        match &mut value {
            // An empty batch is the endpoint's to reject, not the proxy's to swallow.
            Value::Array(elements) if elements.is_empty() => (Some(None), None),
            Value::Array(elements) => {
                let mut forwarded = Vec::new();
                let mut replies = Vec::new();
                for mut element in std::mem::take(elements) {
                    match self.request(&mut element, tamper.as_deref()) {
                        Outcome::Forward => forwarded.push(element),
                        Outcome::Drop => {}
                        Outcome::Reply(reply) => replies.push(reply),
                    }
                }
                let waiting: HashSet<String> = forwarded
                    .iter()
                    .filter_map(|e| e.get("id"))
                    .map(id_key)
                    .filter(|key| self.pending.contains_key(key))
                    .collect();
                let back = if replies.is_empty() {
                    None
                } else if waiting.is_empty() {
                    Some(Value::Array(replies).to_string())
                } else {
                    self.batch_replies.push((waiting, replies));
                    None
                };
                let up = if forwarded.is_empty() {
                    None
                } else {
                    let forwarded = Value::Array(forwarded);
                    Some((forwarded != original).then(|| forwarded.to_string()))
                };
                (up, back)
            }
            Value::Object(_) => match self.request(&mut value, tamper.as_deref()) {
                Outcome::Forward => (Some((value != original).then(|| value.to_string())), None),
                Outcome::Drop => (None, None),
                Outcome::Reply(reply) => (None, Some(reply.to_string())),
            },
            _ => (Some(None), None),
        }
    }

    /// One request object (alone or in a batch): counted, tampered, recorded if forwarded.
    fn request(&mut self, request: &mut Value, tamper: Option<&dyn Tamper>) -> Outcome {
        let Some(method) = request.get("method").and_then(Value::as_str).map(str::to_owned) else {
            // Not a request (nor anything the proxy understands): relayed as it is.
            return Outcome::Forward;
        };
        Shared::count(&self.shared.calls, &method);
        let verdict = tamper.map_or(Verdict::Forward, |t| t.request(&method, request));
        match verdict {
            Verdict::Forward => {
                let method =
                    request.get("method").and_then(Value::as_str).unwrap_or(&method).to_owned();
                let params = request.get("params").cloned().unwrap_or(Value::Null);
                if is_unsubscribe_method(&method) {
                    if let Some(id) = first_param(&params) {
                        self.subscriptions.remove(&id_key(id));
                    }
                }
                Shared::count(&self.shared.forwarded, &method);
                if let Some(id) = request.get("id") {
                    self.pending.insert(id_key(id), Pending { method, params });
                }
                Outcome::Forward
            }
            Verdict::Drop => Outcome::Drop,
            Verdict::Reply(mut reply) => {
                if let Value::Object(fields) = &mut reply {
                    fields.insert("id".into(), request.get("id").cloned().unwrap_or(Value::Null));
                    fields.entry("jsonrpc").or_insert_with(|| Value::from("2.0"));
                }
                Outcome::Reply(reply)
            }
        }
    }

    /// A text frame from upstream: relayed as it came, rewritten, or not at all.
    fn upstream_text(&mut self, text: &str) -> Forward {
        let Ok(original) = serde_json::from_str::<Value>(text) else {
            return Forward::Untouched;
        };
        let tamper = self.shared.tamper();
        let mut value = original.clone();
        match &mut value {
            Value::Array(elements) => {
                let mut kept = Vec::new();
                let mut joined = Vec::new();
                for mut element in std::mem::take(elements) {
                    if let Some(id) = element.get("id") {
                        let key = id_key(id);
                        if let Some(i) =
                            self.batch_replies.iter().position(|(k, _)| k.contains(&key))
                        {
                            joined.extend(self.batch_replies.swap_remove(i).1);
                        }
                    }
                    if self.incoming(&mut element, tamper.as_deref()) {
                        kept.push(element);
                    }
                }
                kept.extend(joined);
                if kept.is_empty() {
                    return Forward::Nothing;
                }
                let kept = Value::Array(kept);
                if kept == original {
                    Forward::Untouched
                } else {
                    Forward::Rewritten(kept.to_string())
                }
            }
            Value::Object(_) => {
                if !self.incoming(&mut value, tamper.as_deref()) {
                    Forward::Nothing
                } else if value == original {
                    Forward::Untouched
                } else {
                    Forward::Rewritten(value.to_string())
                }
            }
            _ => Forward::Untouched,
        }
    }

    /// One response or notification object from upstream; false to drop it.
    fn incoming(&mut self, message: &mut Value, tamper: Option<&dyn Tamper>) -> bool {
        let is_response = message.get("method").is_none()
            && (message.get("result").is_some() || message.get("error").is_some());
        if is_response {
            let Some(pending) = message.get("id").and_then(|id| self.pending.remove(&id_key(id)))
            else {
                return true;
            };
            // Recorded from the honest answer: upstream's notifications carry upstream's id,
            // whatever a tamper makes the client believe.
            if is_subscribe_method(&pending.method) {
                if let Some(id) = message.get("result").filter(|r| r.is_string() || r.is_number()) {
                    self.subscriptions.insert(id_key(id), pending.method.clone());
                }
            }
            return tamper.is_none_or(|t| t.response(&pending.method, &pending.params, message));
        }
        let subscription = message.get("params").and_then(|p| p.get("subscription"));
        match (subscription, tamper) {
            (Some(id), Some(tamper)) => {
                let subscribe_method =
                    self.subscriptions.get(&id_key(id)).map_or("", String::as_str).to_owned();
                tamper.notification(&subscribe_method, message)
            }
            _ => true,
        }
    }
}

/// What to send the client for one upstream text frame.
enum Forward {
    Untouched,
    Rewritten(String),
    Nothing,
}

/// Forwards a close frame received from the other side (or a bare close).
async fn close_with<S>(ws: &mut WebSocketStream<S>, frame: Option<CloseFrame>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(SEND_LIMIT, ws.close(frame)).await;
}

/// A JSON-RPC id (or subscription id) as a map key: its compact JSON, so `1` and `"1"` differ.
fn id_key(id: &Value) -> String {
    id.to_string()
}

fn first_param(params: &Value) -> Option<&Value> {
    match params {
        Value::Array(items) => items.first(),
        _ => None,
    }
}

/// The last `_`-separated part of a method name, lower-cased: `subscribeFinalizedHeads` for
/// `chain_subscribeFinalizedHeads`, `follow` for `chainHead_v1_follow`.
fn verb(method: &str) -> String {
    method.rsplit('_').next().unwrap_or(method).to_ascii_lowercase()
}

/// Calls that create a subscription, in both the legacy and the new JSON-RPC API:
/// `*_subscribe*`, `author_submitAndWatchExtrinsic`, `chainHead_v1_follow`,
/// `transactionWatch_v1_submitAndWatch`.
fn is_subscribe_method(method: &str) -> bool {
    let verb = verb(method);
    !verb.starts_with("un")
        && (verb.contains("subscribe") || verb.contains("watch") || verb == "follow")
}

/// Calls that end one: `*_unsubscribe*`, `author_unwatchExtrinsic`, `chainHead_v1_unfollow`,
/// `transactionWatch_v1_unwatch`.
fn is_unsubscribe_method(method: &str) -> bool {
    let verb = verb(method);
    verb.starts_with("un")
        && (verb.contains("subscribe") || verb.contains("watch") || verb == "unfollow")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subscribe_and_unsubscribe_calls_are_told_apart() {
        for m in [
            "chain_subscribeFinalizedHeads",
            "grandpa_subscribeJustifications",
            "state_subscribeStorage",
            "author_submitAndWatchExtrinsic",
            "chainHead_v1_follow",
            "transactionWatch_v1_submitAndWatch",
        ] {
            assert!(is_subscribe_method(m), "{m}");
            assert!(!is_unsubscribe_method(m), "{m}");
        }
        for m in [
            "chain_unsubscribeFinalizedHeads",
            "author_unwatchExtrinsic",
            "chainHead_v1_unfollow",
            "transactionWatch_v1_unwatch",
        ] {
            assert!(is_unsubscribe_method(m), "{m}");
            assert!(!is_subscribe_method(m), "{m}");
        }
        for m in ["chain_getBlockHash", "state_getReadProof", "rpc_methods"] {
            assert!(!is_subscribe_method(m) && !is_unsubscribe_method(m), "{m}");
        }
    }

    fn relay() -> Relay {
        Relay::new(Arc::new(Shared {
            upstream: "ws://127.0.0.1:1".into(),
            tamper: RwLock::new(None),
            calls: Mutex::new(HashMap::new()),
            forwarded: Mutex::new(HashMap::new()),
            connections: AtomicU64::new(0),
            open: AtomicU64::new(0),
            epoch: watch::Sender::new(0),
        }))
    }

    #[test]
    fn untampered_frames_are_relayed_byte_for_byte() {
        let mut relay = relay();
        // Key order and spacing that re-serialising would change.
        let request =
            r#"{ "method": "chain_getBlockHash", "jsonrpc": "2.0", "id": 1, "params": [0] }"#;
        assert_eq!(relay.client_text(request), (Some(None), None));
        assert!(matches!(
            relay.upstream_text(r#"{"result": "0x00", "id": 1}"#),
            Forward::Untouched
        ));
        assert!(matches!(relay.upstream_text("not json {"), Forward::Untouched));
        assert_eq!(relay.client_text("[1, 2"), (Some(None), None));
        assert_eq!(Shared::read(&relay.shared.calls, "chain_getBlockHash"), 1);
    }

    #[test]
    fn a_notification_names_the_subscribe_call_even_when_the_tamper_came_later() {
        let mut relay = relay();
        let subscribe =
            r#"{"jsonrpc":"2.0","id":"a","method":"chain_subscribeFinalizedHeads","params":[]}"#;
        relay.client_text(subscribe);
        assert!(matches!(
            relay.upstream_text(r#"{"jsonrpc":"2.0","id":"a","result":"sub-7"}"#),
            Forward::Untouched
        ));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        *relay.shared.tamper.write().unwrap() =
            Some(tamper::on_notification("chain_subscribeFinalizedHeads", move |n| {
                log.lock().unwrap().push(n["method"].clone());
                false
            }));
        let note = json!({"jsonrpc":"2.0","method":"chain_finalizedHead","params":{"subscription":"sub-7","result":{}}});
        assert!(matches!(relay.upstream_text(&note.to_string()), Forward::Nothing));
        let other = json!({"jsonrpc":"2.0","method":"chain_finalizedHead","params":{"subscription":"sub-8","result":{}}});
        assert!(matches!(relay.upstream_text(&other.to_string()), Forward::Untouched));
        assert_eq!(*seen.lock().unwrap(), vec![json!("chain_finalizedHead")]);
    }

    #[test]
    fn local_replies_in_a_batch_join_upstreams_answer() {
        let mut relay = relay();
        *relay.shared.tamper.write().unwrap() =
            Some(tamper::on_request("system_name", |_| Verdict::result(json!("evil"))));
        let batch = json!([
            {"jsonrpc":"2.0","id":1,"method":"chain_getBlockHash","params":[0]},
            {"jsonrpc":"2.0","id":2,"method":"system_name","params":[]},
        ]);
        let (up, back) = relay.client_text(&batch.to_string());
        assert_eq!(back, None);
        let up: Value = serde_json::from_str(&up.unwrap().unwrap()).unwrap();
        assert_eq!(up, json!([batch[0]]));
        let Forward::Rewritten(answer) =
            relay.upstream_text(r#"[{"jsonrpc":"2.0","id":1,"result":"0x01"}]"#)
        else {
            panic!("the local reply was not joined");
        };
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(
            answer,
            json!([{"jsonrpc":"2.0","id":1,"result":"0x01"}, {"jsonrpc":"2.0","id":2,"result":"evil"}])
        );
        assert_eq!(Shared::read(&relay.shared.forwarded, "system_name"), 0);
        assert_eq!(Shared::read(&relay.shared.calls, "system_name"), 1);
    }
}
