//! The RPC proxy against a real `peerseal-node` dev chain on loopback: transparent for subxt,
//! and every kind of tampering (responses, notifications, local replies, dropped requests,
//! batches) visible to a client and gone again once cleared. Each test starts its own chain and
//! proxy, bounds every wait, and stops both when it ends.
// Test helpers: a broken fixture should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::{SinkExt, StreamExt};
use peerseal_testkit::{tamper, DevChain, RpcProxy, Verdict};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use subxt::{OnlineClient, PolkadotConfig};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Whole-test bound: a hang is a failure, not a stuck CI job.
const TEST_LIMIT: Duration = Duration::from_secs(60);
/// How long to wait for something that should arrive (blocks come every second).
const ARRIVES: Duration = Duration::from_secs(5);
/// How long to wait to show something does not arrive.
const SILENCE: Duration = Duration::from_millis(2500);

fn chain() -> DevChain {
    DevChain::dev().unwrap_or_else(|e| panic!("chain node did not start: {e}"))
}

async fn bounded<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(TEST_LIMIT, fut).await.expect("test took too long")
}

/// A bare WebSocket JSON-RPC client: sends exactly what a test writes, shows exactly what
/// comes back.
struct Raw {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Raw {
    async fn connect(url: &str) -> Raw {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connect");
        Raw { ws }
    }

    async fn send(&mut self, message: &Value) {
        self.send_text(&message.to_string()).await;
    }

    async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("websocket send");
    }

    /// The next text frame, unparsed, or `None` if none comes within `within` (or the
    /// connection ends).
    async fn recv_text(&mut self, within: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => return Some(text.as_str().to_owned()),
                Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => {
                    return None
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    async fn recv(&mut self, within: Duration) -> Option<Value> {
        let text = self.recv_text(within).await?;
        Some(serde_json::from_str(&text).expect("json from the proxy"))
    }

    /// Sends a request and returns its response (notifications in between are skipped).
    async fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(&request(id, method, params)).await;
        let deadline = tokio::time::Instant::now() + ARRIVES;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.recv(left).await.unwrap_or_else(|| panic!("no answer to {method}"));
            if message["id"] == json!(id) {
                return message;
            }
        }
    }
}

fn request(id: u64, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

const FAKE_HASH: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

#[tokio::test]
async fn subxt_reads_and_follows_the_chain_through_an_untampered_proxy() {
    let chain = chain();
    let proxy = RpcProxy::start(&chain.url).unwrap();
    bounded(async {
        // `from_url` refuses ws:// (subxt wants TLS off loopback); the proxy is loopback only.
        let api = OnlineClient::<PolkadotConfig>::from_insecure_url(proxy.url()).await.unwrap();
        let at = api.at_current_block().await.unwrap();
        let number = at
            .storage()
            .fetch(subxt::dynamic::storage::<(), u32>("System", "Number"), ())
            .await
            .unwrap()
            .decode()
            .unwrap();
        assert_eq!(u64::from(number), at.block_number());

        let mut blocks = api.stream_blocks().await.unwrap();
        let first = blocks.next().await.expect("a finalized block").unwrap().number();
        let second = blocks.next().await.expect("another finalized block").unwrap().number();
        assert!(second > first, "{first} then {second}");
    })
    .await;
    assert!(proxy.calls("rpc_methods") >= 1);
    assert_eq!(proxy.connections(), 1);
}

#[tokio::test]
async fn a_rewritten_response_reaches_the_client_until_the_tamper_is_cleared() {
    let chain = chain();
    let proxy = RpcProxy::start(&chain.url).unwrap();
    bounded(async {
        let mut raw = Raw::connect(&proxy.url()).await;
        let honest = raw.call(1, "chain_getBlockHash", json!([0])).await["result"].clone();
        assert!(honest.is_string() && honest != json!(FAKE_HASH), "{honest}");

        let seen_params = Arc::new(Mutex::new(Vec::new()));
        let log = seen_params.clone();
        proxy.set_tamper(tamper::on_response("chain_getBlockHash", move |params, response| {
            log.lock().unwrap().push(params.clone());
            response["result"] = json!(FAKE_HASH);
            true
        }));
        assert_eq!(raw.call(2, "chain_getBlockHash", json!([0])).await["result"], json!(FAKE_HASH));
        // Other methods pass untouched.
        assert!(raw.call(3, "system_name", json!([])).await["result"].is_string());
        assert_eq!(*seen_params.lock().unwrap(), vec![json!([0])]);

        proxy.clear_tamper();
        assert_eq!(raw.call(4, "chain_getBlockHash", json!([0])).await["result"], honest);
    })
    .await;
    assert_eq!(proxy.calls("chain_getBlockHash"), 3);
    assert_eq!(proxy.forwarded("chain_getBlockHash"), 3);
}

#[tokio::test]
async fn untampered_answers_are_the_chains_byte_for_byte() {
    let chain = chain();
    let proxy = RpcProxy::start(&chain.url).unwrap();
    // A tamper that matches nothing still makes the proxy parse and compare every frame.
    proxy.set_tamper(tamper::on_response("no_such_method", |_, _| false));
    bounded(async {
        let mut direct = Raw::connect(&chain.url).await;
        let mut proxied = Raw::connect(&proxy.url()).await;
        for (id, method, params) in
            [(1, "chain_getBlockHash", json!([0])), (2, "state_getRuntimeVersion", json!([]))]
        {
            let text = request(id, method, params).to_string();
            direct.send_text(&text).await;
            proxied.send_text(&text).await;
            assert_eq!(proxied.recv_text(ARRIVES).await, direct.recv_text(ARRIVES).await);
        }
        // Not JSON: relayed as it is, and the chain's parse error comes back.
        proxied.send_text("{ this is not json").await;
        let error = proxied.recv(ARRIVES).await.expect("the chain's answer to garbage");
        assert_eq!(error["error"]["code"], json!(-32700), "{error}");
    })
    .await;
}

#[tokio::test]
async fn dropped_notifications_are_not_seen_until_the_tamper_is_cleared() {
    let chain = chain();
    let proxy = RpcProxy::start(&chain.url).unwrap();
    let dropped = Arc::new(AtomicU64::new(0));
    let count = dropped.clone();
    let own_method = Arc::new(Mutex::new(None));
    let method_seen = own_method.clone();
    proxy.set_tamper(tamper::on_notification("chain_subscribeFinalizedHeads", move |n| {
        count.fetch_add(1, Ordering::SeqCst);
        *method_seen.lock().unwrap() = Some(n["method"].clone());
        false
    }));
    bounded(async {
        let mut raw = Raw::connect(&proxy.url()).await;
        let subscribed = raw.call(1, "chain_subscribeFinalizedHeads", json!([])).await;
        let subscription = subscribed["result"].clone();
        assert!(subscription.is_string() || subscription.is_number(), "{subscribed}");

        assert_eq!(raw.recv(SILENCE).await, None, "a notification got through");
        assert!(dropped.load(Ordering::SeqCst) >= 1, "the chain sent no notification at all");
        assert_eq!(*own_method.lock().unwrap(), Some(json!("chain_finalizedHead")));

        proxy.clear_tamper();
        // The next finalized head: a debug node under load may take longer than `ARRIVES`.
        let next_head = Duration::from_secs(30);
        let note = raw.recv(next_head).await.expect("a notification once the tamper is gone");
        assert_eq!(note["method"], json!("chain_finalizedHead"));
        assert_eq!(note["params"]["subscription"], subscription);
    })
    .await;
}

#[tokio::test]
async fn a_local_reply_never_reaches_upstream_and_a_dropped_request_is_never_answered() {
    let chain = chain();
    // Two proxies in a row: the inner one counts what really reaches the chain.
    let inner = RpcProxy::start(&chain.url).unwrap();
    let outer = RpcProxy::start(&inner.url()).unwrap();
    outer.set_tamper(tamper::stack(vec![
        tamper::on_request("chain_getBlockHash", |_| Verdict::result(json!(FAKE_HASH))),
        tamper::on_request("system_name", |_| Verdict::Drop),
    ]));
    bounded(async {
        let mut raw = Raw::connect(&outer.url()).await;
        let reply = raw.call(7, "chain_getBlockHash", json!([0])).await;
        assert_eq!(reply, json!({ "jsonrpc": "2.0", "id": 7, "result": FAKE_HASH }));

        raw.send(&request(8, "system_name", json!([]))).await;
        assert_eq!(raw.recv(SILENCE).await, None, "a dropped request was answered");
        // The connection is still fine for everything else.
        assert!(raw.call(9, "system_chain", json!([])).await["result"].is_string());
    })
    .await;
    assert_eq!(outer.calls("chain_getBlockHash"), 1);
    assert_eq!(outer.calls("system_name"), 1);
    assert_eq!(outer.forwarded("chain_getBlockHash"), 0);
    assert_eq!(inner.calls("chain_getBlockHash"), 0);
    assert_eq!(inner.calls("system_name"), 0);
    assert_eq!(inner.calls("system_chain"), 1);
}

#[tokio::test]
async fn disconnect_all_closes_clients_and_a_new_connection_works() {
    let chain = chain();
    let proxy = RpcProxy::start(&chain.url).unwrap();
    bounded(async {
        let rpc = subxt::ext::jsonrpsee::ws_client::WsClientBuilder::default()
            .build(proxy.url())
            .await
            .unwrap();
        let mut raw = Raw::connect(&proxy.url()).await;
        assert!(raw.call(1, "system_name", json!([])).await["result"].is_string());
        assert!(rpc.is_connected());

        proxy.disconnect_all();
        // The raw client gets the close frame (or the end of the stream), and jsonrpsee notices.
        assert_eq!(raw.recv(ARRIVES).await, None);
        tokio::time::timeout(ARRIVES, rpc.on_disconnect()).await.expect("jsonrpsee disconnected");
        assert!(!rpc.is_connected());

        let api = OnlineClient::<PolkadotConfig>::from_insecure_url(proxy.url()).await.unwrap();
        assert!(api.at_current_block().await.is_ok());
    })
    .await;
    assert_eq!(proxy.connections(), 3);
}

#[tokio::test]
async fn batches_are_tampered_element_by_element() {
    let chain = chain();
    let inner = RpcProxy::start(&chain.url).unwrap();
    let outer = RpcProxy::start(&inner.url()).unwrap();
    outer.set_tamper(tamper::stack(vec![
        tamper::on_response("chain_getBlockHash", |_, response| {
            response["result"] = json!(FAKE_HASH);
            true
        }),
        tamper::on_request("system_name", |_| Verdict::result(json!("evil"))),
        tamper::on_request("system_chain", |_| Verdict::Drop),
    ]));
    bounded(async {
        let mut raw = Raw::connect(&outer.url()).await;
        // One element rewritten upstream's answer, one answered locally: one array back.
        raw.send(&json!([
            request(1, "chain_getBlockHash", json!([0])),
            request(2, "system_name", json!([])),
        ]))
        .await;
        let answer = raw.recv(ARRIVES).await.expect("the batch's answer");
        let mut answers = answer.as_array().expect("a batch answer").clone();
        answers.sort_by_key(|a| a["id"].as_u64());
        assert_eq!(answers.len(), 2, "{answer}");
        assert_eq!(answers[0]["result"], json!(FAKE_HASH));
        assert_eq!(answers[1], json!({ "jsonrpc": "2.0", "id": 2, "result": "evil" }));

        // One element dropped: only the other is answered.
        raw.send(&json!([
            request(3, "system_chain", json!([])),
            request(4, "system_version", json!([])),
        ]))
        .await;
        let answer = raw.recv(ARRIVES).await.expect("the batch's answer");
        let answers = answer.as_array().expect("a batch answer");
        assert_eq!(answers.len(), 1, "{answer}");
        assert_eq!(answers[0]["id"], json!(4));
        assert!(answers[0]["result"].is_string(), "{answer}");
        assert_eq!(raw.recv(SILENCE).await, None, "the dropped element was answered");
    })
    .await;
    assert_eq!(inner.calls("chain_getBlockHash"), 1);
    assert_eq!(inner.calls("system_name"), 0);
    assert_eq!(inner.calls("system_chain"), 0);
    assert_eq!(inner.calls("system_version"), 1);
    assert_eq!(outer.calls("system_chain"), 1);
}

#[tokio::test]
async fn dropping_the_proxy_closes_its_connections_and_its_port() {
    let chain = chain();
    let proxy = RpcProxy::start(&chain.url).unwrap();
    let url = proxy.url();
    bounded(async {
        let mut raw = Raw::connect(&url).await;
        assert!(raw.call(1, "system_name", json!([])).await["result"].is_string());
        drop(proxy);
        assert_eq!(raw.recv(ARRIVES).await, None);
        // The listener is gone too (shutdown is asynchronous: allow it a moment).
        let mut refused = false;
        for _ in 0..50 {
            if tokio_tungstenite::connect_async(url.as_str()).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(refused, "the proxy still accepts connections after drop");
    })
    .await;
}

#[tokio::test]
async fn a_client_of_a_proxy_whose_upstream_is_down_is_closed_not_left_hanging() {
    // A port nothing listens on: bind one and let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let proxy = RpcProxy::start(&format!("ws://127.0.0.1:{port}")).unwrap();
    bounded(async {
        let mut raw = Raw::connect(&proxy.url()).await;
        assert_eq!(raw.recv(ARRIVES).await, None);
    })
    .await;
    assert!(RpcProxy::start("http://127.0.0.1:1").is_err());
}

#[tokio::test]
async fn pings_are_answered_and_the_connection_stays_usable() {
    let chain = chain();
    let proxy = RpcProxy::start(&chain.url).unwrap();
    bounded(async {
        let mut raw = Raw::connect(&proxy.url()).await;
        raw.ws.send(Message::Ping(b"are you there".to_vec().into())).await.unwrap();
        // The proxy's own pong and, relayed, the chain's: both carry the payload.
        let pong = loop {
            match tokio::time::timeout(ARRIVES, raw.ws.next()).await {
                Ok(Some(Ok(Message::Pong(payload)))) => break payload,
                Ok(Some(Ok(_))) => {}
                other => panic!("no pong: {other:?}"),
            }
        };
        assert_eq!(&pong[..], b"are you there");
        assert!(raw.call(1, "system_name", json!([])).await["result"].is_string());
    })
    .await;
}
