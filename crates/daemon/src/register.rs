//! The stash holder's commands: `peerseal register` (get a waiting node onto the chain) and
//! `peerseal leave` (take a registered node off it, voluntarily).
//!
//! `register` does the whole round of docs/deployment.md §5: it reads the node's public identity
//! from its local HTTP endpoint (`GET /identity`), signs `Attestation.request_attestation`
//! with the stash key, takes the nonce from that call's `AttestationRequested` event, asks the
//! node for the registration quote bound to stash and nonce (`POST /registration/quote`), and
//! signs `Registry.register` with it. With `--print-call` it signs nothing: given the stash and
//! the nonce (requested elsewhere, e.g. from a hardware wallet in polkadot.js), it prints the
//! `Registry.register` call data to sign there.
//!
//! These commands run on the operator's side, not in the TEE: they speak to a chain endpoint
//! the operator chooses and trusts (plain subxt, no verified view). What they submit is
//! checked by the chain (the quote, the nonce) and, for the node, by its own verified view.

use crate::registration::{parse_account, parse_hex32};
use anyhow::{anyhow, bail, Context};
use std::net::SocketAddr;
use std::path::PathBuf;
use subxt::dynamic::Value;
use subxt::{OnlineClient, PolkadotConfig};
use zeroize::Zeroizing;

/// Who signs for the stash.
#[derive(clap::Args, Debug)]
#[group(required = false, multiple = false)]
pub struct StashKey {
    /// The stash's secret URI (`//Alice`, a mnemonic, `0x<seed>`), from the environment only:
    /// a secret on the command line lands in shell history and `ps`.
    #[arg(long = "stash-uri-env", env = "PEERSEAL_STASH_URI", hide_env_values = true)]
    stash_uri: Option<String>,
    /// A file holding the stash's secret URI (first line).
    #[arg(long)]
    stash_key_file: Option<PathBuf>,
}

impl StashKey {
    fn signer(&self) -> anyhow::Result<subxt_signer::sr25519::Keypair> {
        self.keypair()?.ok_or_else(|| {
            anyhow!("give the stash key (PEERSEAL_STASH_URI or --stash-key-file), or --print-call")
        })
    }

    fn keypair(&self) -> anyhow::Result<Option<subxt_signer::sr25519::Keypair>> {
        let text: Zeroizing<String> = match (&self.stash_uri, &self.stash_key_file) {
            (Some(uri), _) => Zeroizing::new(uri.clone()),
            (None, Some(path)) => {
                let all = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?,
                );
                Zeroizing::new(all.lines().next().unwrap_or_default().trim().to_owned())
            }
            (None, None) => return Ok(None),
        };
        let uri: subxt_signer::SecretUri =
            text.parse().map_err(|_| anyhow!("the stash secret is not a valid secret URI"))?;
        let pair = subxt_signer::sr25519::Keypair::from_uri(&uri)
            .map_err(|_| anyhow!("the stash secret does not derive an sr25519 key"))?;
        Ok(Some(pair))
    }
}

/// Where the stash's call goes, and who signs it.
#[derive(clap::Args, Debug)]
pub struct SigningArgs {
    /// Chain node WebSocket RPC URL (an endpoint you trust).
    #[arg(long, env = "PEERSEAL_CHAIN_URL", default_value = "ws://127.0.0.1:9944")]
    pub chain_url: String,
    #[command(flatten)]
    pub key: StashKey,
    /// Sign nothing: print the call data, to sign with another tool (a hardware wallet in
    /// polkadot.js). `register` then needs --stash and --nonce.
    #[arg(long)]
    pub print_call: bool,
}

/// `peerseal register`.
#[derive(clap::Args, Debug)]
pub struct RegisterArgs {
    /// The waiting node's local HTTP endpoint.
    #[arg(long, env = "PEERSEAL_HTTP", default_value = "127.0.0.1:9616")]
    pub node: SocketAddr,
    #[command(flatten)]
    pub signing: SigningArgs,
    /// With --print-call: the stash (SS58 or hex) that requested the nonce.
    #[arg(long)]
    pub stash: Option<String>,
    /// With --print-call: the nonce of the stash's `AttestationRequested` event (hex).
    #[arg(long)]
    pub nonce: Option<String>,
}

/// `peerseal leave`.
#[derive(clap::Args, Debug)]
pub struct LeaveArgs {
    #[command(flatten)]
    pub signing: SigningArgs,
}

type Api = OnlineClient<PolkadotConfig>;

type Call = subxt::transactions::DynamicPayload<Vec<Value>>;
type Events = subxt::extrinsics::ExtrinsicEvents<PolkadotConfig>;

async fn connect(url: &str) -> anyhow::Result<Api> {
    // A `ws://` endpoint is the operator's own node on a trusted network (or loopback).
    let api = if url.starts_with("wss://") {
        Api::from_url(url).await
    } else {
        Api::from_insecure_url(url).await
    };
    api.with_context(|| format!("connecting to the chain at {url}"))
}

/// Prints `call`'s SCALE call data (to sign with another tool).
async fn print_call_data(api: &Api, name: &str, call: &Call) -> anyhow::Result<()> {
    let data = api.tx().await?.call_data(call).context("encoding the call")?;
    let hex_data = format!("0x{}", hex::encode(data));
    println!("{}", serde_json::json!({ "call": name, "call_data": hex_data }));
    Ok(())
}

/// A finalized, successful signed call: its events, and the block number.
async fn submit(
    api: &Api,
    call: Call,
    signer: &subxt_signer::sr25519::Keypair,
    what: &str,
) -> anyhow::Result<(Events, u64)> {
    let in_block = api
        .tx()
        .await
        .context("building the transaction")?
        .sign_and_submit_then_watch_default(&call, signer)
        .await
        .with_context(|| format!("submitting {what}"))?
        .wait_for_finalized()
        .await
        .with_context(|| format!("waiting for {what} to be finalized"))?;
    let events = in_block.wait_for_success().await.with_context(|| format!("{what} failed"))?;
    let number = in_block.at().await.context("reading the block")?.block_number();
    Ok((events, number))
}

/// The `field_bytes` of the first `pallet.name` event.
fn event_fields(events: &Events, pallet: &str, name: &str) -> Option<Vec<u8>> {
    events
        .iter()
        .filter_map(Result::ok)
        .find(|e| e.pallet_name() == pallet && e.event_name() == name)
        .map(|e| e.field_bytes().to_vec())
}

fn field<'a>(json: &'a serde_json::Value, name: &str) -> anyhow::Result<&'a str> {
    json[name].as_str().ok_or_else(|| anyhow!("the node's answer has no {name}"))
}

fn bytes(json: &serde_json::Value, name: &str) -> anyhow::Result<Vec<u8>> {
    let text = field(json, name)?;
    hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .map_err(|_| anyhow!("the node's {name} is not hex"))
}

/// The `Registry.register(server_info)` call of the node's quote answer.
fn register_call(answer: &serde_json::Value) -> anyhow::Result<Call> {
    let multiaddr = field(answer, "multiaddr")?;
    let info = Value::named_composite([
        ("tss_account", Value::from_bytes(bytes(answer, "tss_account")?)),
        ("x25519_public_key", Value::from_bytes(bytes(answer, "x25519_public_key")?)),
        ("peer_id", Value::from_bytes(bytes(answer, "peer_id_bytes")?)),
        ("multiaddrs", Value::unnamed_composite([Value::from_bytes(multiaddr_bytes(multiaddr)?)])),
        ("quote", Value::from_bytes(bytes(answer, "quote")?)),
    ]);
    Ok(subxt::dynamic::transaction("Registry", "register", vec![info]))
}

fn multiaddr_bytes(text: &str) -> anyhow::Result<Vec<u8>> {
    let addr: libp2p::Multiaddr =
        text.parse().map_err(|_| anyhow!("the node's multiaddr {text:?} does not parse"))?;
    Ok(addr.to_vec())
}

async fn node_get(node: SocketAddr, path: &str) -> anyhow::Result<serde_json::Value> {
    let (code, body) = crate::http::get(node, path).await?;
    if code != 200 {
        bail!("the node at {node} answered {path} with HTTP {code}: {}", body.trim());
    }
    serde_json::from_str(&body).with_context(|| format!("the node's {path} is not JSON"))
}

async fn node_quote(
    node: SocketAddr,
    stash: &[u8; 32],
    nonce: &[u8; 32],
) -> anyhow::Result<serde_json::Value> {
    let path = format!(
        "/registration/quote?stash=0x{}&nonce=0x{}",
        hex::encode(stash),
        hex::encode(nonce)
    );
    let (code, body) = crate::http::post(node, &path).await?;
    if code != 200 {
        bail!("the node refused to quote (HTTP {code}): {}", body.trim());
    }
    serde_json::from_str(&body).context("the node's quote answer is not JSON")
}

/// Runs `peerseal register`.
pub async fn register(args: RegisterArgs) -> anyhow::Result<()> {
    let identity = node_get(args.node, "/identity").await?;
    let account = parse_hex32(field(&identity, "tss_account")?)
        .ok_or_else(|| anyhow!("the node's tss_account is not 32 bytes of hex"))?;
    if identity["registered"].as_bool() == Some(true) {
        println!("{}", serde_json::json!({"already_registered": identity}));
        return Ok(());
    }
    let api = connect(&args.signing.chain_url).await?;
    if args.signing.print_call {
        let stash = args
            .stash
            .as_deref()
            .and_then(parse_account)
            .ok_or_else(|| anyhow!("--print-call needs --stash (SS58 or hex)"))?;
        let nonce = args
            .nonce
            .as_deref()
            .and_then(parse_hex32)
            .ok_or_else(|| anyhow!("--print-call needs --nonce (32 bytes hex)"))?;
        let answer = node_quote(args.node, &stash.0, &nonce).await?;
        return print_call_data(&api, "Registry.register", &register_call(&answer)?).await;
    }
    let signer = args.signing.key.signer()?;
    let stash = signer.public_key().0;
    eprintln!(
        "requesting an attestation nonce for {} as stash {}",
        hex::encode(account),
        hex::encode(stash)
    );
    let request = subxt::dynamic::transaction(
        "Attestation",
        "request_attestation",
        vec![Value::from_bytes(account)],
    );
    let (events, number) =
        submit(&api, request, &signer, "Attestation.request_attestation").await?;
    let fields = event_fields(&events, "Attestation", "AttestationRequested")
        .ok_or_else(|| anyhow!("the request emitted no AttestationRequested event"))?;
    let (event_stash, event_account, nonce, expires_at): ([u8; 32], [u8; 32], [u8; 32], u32) =
        codec::Decode::decode(&mut &fields[..]).context("decoding AttestationRequested")?;
    if event_stash != stash || event_account != account {
        bail!("the AttestationRequested event names another stash or account");
    }
    eprintln!(
        "nonce 0x{} issued at block {number}, usable until block {expires_at}",
        hex::encode(nonce)
    );
    // The node quotes once its verified view holds the nonce: retry briefly while it catches up.
    let answer = {
        let mut tries = 0;
        loop {
            match node_quote(args.node, &stash, &nonce).await {
                Ok(answer) => break answer,
                Err(e) if tries < 30 => {
                    tries += 1;
                    tracing::debug!("quote not yet available: {e:#}");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        }
    };
    let (events, number) =
        submit(&api, register_call(&answer)?, &signer, "Registry.register").await?;
    if event_fields(&events, "Registry", "ServerRegistered").is_none() {
        bail!("Registry.register emitted no ServerRegistered event");
    }
    println!(
        "{}",
        serde_json::json!({
            "registered": field(&answer, "tss_account")?,
            "stash": hex::encode(stash),
            "peer_id": field(&answer, "peer_id")?,
            "multiaddr": field(&answer, "multiaddr")?,
            "block": number,
        })
    );
    Ok(())
}

/// Runs `peerseal leave`.
pub async fn leave(args: LeaveArgs) -> anyhow::Result<()> {
    let api = connect(&args.signing.chain_url).await?;
    let call = subxt::dynamic::transaction("Registry", "leave", Vec::<Value>::new());
    if args.signing.print_call {
        return print_call_data(&api, "Registry.leave", &call).await;
    }
    let signer = args.signing.key.signer()?;
    let (events, number) = submit(&api, call, &signer, "Registry.leave").await?;
    let fields = event_fields(&events, "Registry", "ServerLeaving")
        .ok_or_else(|| anyhow!("Registry.leave emitted no ServerLeaving event"))?;
    let (_, tss_account, removable_at): ([u8; 32], [u8; 32], u32) =
        codec::Decode::decode(&mut &fields[..]).context("decoding ServerLeaving")?;
    println!(
        "{}",
        serde_json::json!({
            "leaving": hex::encode(tss_account),
            "block": number,
            "removable_at": removable_at,
        })
    );
    Ok(())
}
