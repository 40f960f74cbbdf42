//! The peerseal runtime and TSS nodes against a chain endpoint nobody here wrote: run by
//! `scripts/chopsticks/run.sh`, where chopsticks (Acala's executor, which runs the runtime's wasm
//! with its own executor and trie code) serves a chain started from the raw dev spec.
//!
//! - `subxt <ws-url>`: what the polkadot.js check does, with subxt (the client the TSS node
//!   uses): read the registry, the attestation policy and the timestamp; a signed
//!   `Balances.transfer_keep_alive` from //Alice whose `Balances.Transfer` event and balance
//!   change are seen; a feeless `Backup.record_backup` by a fund-less dev TSS account, seen as
//!   `Backup.BackupRecorded` with no fee paid and the assignment stored. Run against the native
//!   dev node from the same spec too, so both executors pass the same check.
//! - `tss-story <ws-url>`: four `peerseal-dev` TSS nodes (the dev identities the spec
//!   registers) back up to each other through that chain; one is SIGKILLed, restarts and
//!   recovers its key from its providers; governance (`Sudo.sudo(Registry.remove)`) removes one
//!   of its providers and every node that named it backs up again to others.
//!
//! **Insecure by necessity:** chopsticks makes no GRANDPA justifications and cannot build read
//! proofs for a chain started from a spec, so the story's nodes run in the dev-only
//! endpoint-finality mode (`"finality": "endpoint-unverified"` in their trust root; compiled
//! only into dev builds): they believe the endpoint's finalized head and storage. Everything
//! else — the runtime's checks of quotes and backups, the libp2p handshakes, the nodes' own
//! state machines — is the same as on the verified dev chain. Chopsticks builds a block per
//! transaction; this program asks for an empty block every [`TICK`] besides, as a chain's block
//! time would, so the nodes' views stay fresh.
//!
//! Prints one `PASS` line and exits 0, or an error and exits non-zero; every step is bounded.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Context as _};
use peerseal_chain::{AccountId, ChainApi as _, ChainClient, TrustRoot};
use peerseal_testkit::{dev_ports, governance, DaemonOptions, TssDaemon};
use subxt::dynamic::{self, Value};
use subxt::ext::jsonrpsee::core::client::ClientT;
use subxt::ext::jsonrpsee::rpc_params;
use subxt::ext::jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use subxt::ext::scale_decode::DecodeAsType;
use subxt::{OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::{dev, Keypair};
use subxt_signer::SecretUri;

/// How often the story asks chopsticks for a block (a chain's block time).
const TICK: Duration = Duration::from_secs(2);
/// Bound on each transaction and each read.
const STEP: Duration = Duration::from_secs(60);
const NAMES: [&str; 4] = ["alice", "bob", "charlie", "dave"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["subxt", url] => {
            tokio::time::timeout(Duration::from_secs(180), subxt_check(url))
                .await
                .map_err(|_| anyhow!("the subxt check took longer than 180 s"))??;
            println!("PASS: subxt read the registry, sent a transfer and a feeless record_backup, and saw their events on {url}");
        }
        ["tss-story", url] => {
            tokio::time::timeout(Duration::from_secs(600), tss_story(url))
                .await
                .map_err(|_| anyhow!("the TSS story took longer than 600 s"))??;
            println!("PASS: on {url}, four TSS nodes backed up, one recovered after SIGKILL, and a governance removal made its clients back up again");
        }
        _ => bail!("usage: peerseal-third-party-chain (subxt | tss-story) <ws-url>"),
    }
    Ok(())
}

async fn bounded<T>(what: &str, work: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
    tokio::time::timeout(STEP, work).await.map_err(|_| anyhow!("{what}: no answer within {STEP:?}"))
}

fn tss_key(name: &str) -> anyhow::Result<Keypair> {
    let uri: SecretUri = format!("//{}//tss", capitalized(name)).parse()?;
    Ok(Keypair::from_uri(&uri)?)
}

fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// `System.Account(who).data.free` at the current block.
async fn free(api: &OnlineClient<PolkadotConfig>, who: [u8; 32]) -> anyhow::Result<u128> {
    #[derive(DecodeAsType)]
    #[decode_as_type(crate_path = "subxt::ext::scale_decode")]
    struct Info {
        data: Data,
    }
    #[derive(DecodeAsType)]
    #[decode_as_type(crate_path = "subxt::ext::scale_decode")]
    struct Data {
        free: u128,
    }
    let at = api.at_current_block().await?;
    let address = dynamic::storage::<([u8; 32],), Info>("System", "Account");
    match at.storage().try_fetch(address, (who,)).await? {
        Some(value) => Ok(value.decode()?.data.free),
        None => Ok(0),
    }
}

/// Signs and submits `call` with `signer`, waits until it is final, and returns the names
/// (`Pallet.Event`) of the events it emitted; fails if it failed.
async fn submit(
    api: &OnlineClient<PolkadotConfig>,
    call: impl subxt::transactions::Payload,
    signer: &Keypair,
) -> anyhow::Result<Vec<String>> {
    bounded("a signed transaction", async {
        let in_block = api
            .tx()
            .await?
            .sign_and_submit_then_watch_default(&call, signer)
            .await?
            .wait_for_finalized()
            .await?;
        let events = in_block.wait_for_success().await?;
        let mut names = Vec::new();
        for event in events.iter() {
            let event = event?;
            names.push(format!("{}.{}", event.pallet_name(), event.event_name()));
        }
        anyhow::Ok(names)
    })
    .await?
}

async fn subxt_check(url: &str) -> anyhow::Result<()> {
    let api: OnlineClient<PolkadotConfig> =
        bounded("connecting", OnlineClient::from_insecure_url(url)).await??;
    let at = api.at_current_block().await?;

    // The registry, the attestation policy and the timestamp, decoded from the metadata.
    let servers = dynamic::storage::<([u8; 32],), Value>("Registry", "Servers");
    let mut entries = at.storage().iter(servers, ()).await?;
    let mut registered = 0;
    while let Some(entry) = futures::StreamExt::next(&mut entries).await {
        entry?;
        registered += 1;
    }
    ensure!(
        registered >= NAMES.len(),
        "Registry.Servers has {registered} entries, expected the {} dev servers",
        NAMES.len()
    );
    let measurements = dynamic::storage::<(), Vec<[u8; 32]>>("Attestation", "AcceptedMeasurements");
    let accepted = at.storage().fetch(measurements, ()).await?.decode()?;
    ensure!(!accepted.is_empty(), "Attestation.AcceptedMeasurements is empty in the dev genesis");
    let now = at.storage().fetch(dynamic::storage::<(), u64>("Timestamp", "Now"), ()).await?;
    let _ = now.decode()?;

    // A signed transfer, its event and its effect.
    let (alice, bob) = (dev::alice(), dev::bob());
    let amount: u128 = 1_234_567;
    let before = free(&api, bob.public_key().0).await?;
    let transfer = dynamic::transaction(
        "Balances",
        "transfer_keep_alive",
        (Value::unnamed_variant("Id", [Value::from_bytes(bob.public_key().0)]), amount),
    );
    let events = submit(&api, transfer, &alice).await?;
    ensure!(
        events.iter().any(|e| e == "Balances.Transfer"),
        "no Balances.Transfer among {events:?}"
    );
    let after = free(&api, bob.public_key().0).await?;
    ensure!(
        after == before + amount,
        "Bob's free balance went {before} -> {after}, expected +{amount}"
    );

    // A feeless backup record by a TSS account without funds: Charlie's server names Alice's.
    let charlie = tss_key("charlie")?;
    let alice_tss = tss_key("alice")?.public_key().0;
    let assignments = dynamic::storage::<([u8; 32],), Value>("Backup", "Assignments");
    let at = api.at_current_block().await?;
    let recorded = at.storage().try_fetch(assignments, (charlie.public_key().0,)).await?;
    // The next epoch: 1 on a fresh chain, one more than any earlier run recorded.
    let epoch: u64 = match recorded {
        None => 1,
        Some(value) => {
            #[derive(DecodeAsType)]
            #[decode_as_type(crate_path = "subxt::ext::scale_decode")]
            struct Recorded {
                epoch: u64,
            }
            value.decode_as::<Recorded>()?.epoch + 1
        }
    };
    let funds = free(&api, charlie.public_key().0).await?;
    let record = dynamic::transaction(
        "Backup",
        "record_backup",
        (epoch, 1u8, vec![(alice_tss, 1u8)], [7u8; 32], None::<()>),
    );
    let events = submit(&api, record, &charlie).await?;
    ensure!(
        events.iter().any(|e| e == "Backup.BackupRecorded"),
        "no Backup.BackupRecorded among {events:?}"
    );
    ensure!(
        !events.iter().any(|e| e == "TransactionPayment.TransactionFeePaid"),
        "record_backup paid a fee: {events:?}"
    );
    let after = free(&api, charlie.public_key().0).await?;
    ensure!(after == funds, "the TSS account's balance moved: {funds} -> {after}");
    Ok(())
}

/// Asks chopsticks for a block every [`TICK`] until dropped.
struct Ticker(tokio::task::JoinHandle<()>);

impl Ticker {
    async fn start(url: &str) -> anyhow::Result<Self> {
        let rpc = rpc(url).await?;
        Ok(Ticker(tokio::spawn(async move {
            loop {
                tokio::time::sleep(TICK).await;
                let _: Result<serde_json::Value, _> =
                    rpc.request("dev_newBlock", rpc_params![]).await;
            }
        })))
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn rpc(url: &str) -> anyhow::Result<WsClient> {
    Ok(WsClientBuilder::default()
        .connection_timeout(Duration::from_secs(15))
        .request_timeout(Duration::from_secs(30))
        .build(url)
        .await?)
}

/// The trust root of the story's nodes: the endpoint's genesis, finality on its word.
fn endpoint_trust_root(url: &str) -> anyhow::Result<TrustRoot> {
    let genesis = peerseal_testkit::trust::genesis_trust_root(url)?.genesis_hash;
    Ok(TrustRoot::endpoint_unverified(genesis))
}

fn account_of(status: &peerseal::Status) -> anyhow::Result<AccountId> {
    let text =
        status.account.as_deref().ok_or_else(|| anyhow!("{} has no account", status.name))?;
    peerseal::recovery_file::parse_account(text).ok_or_else(|| anyhow!("account {text}"))
}

fn providers(status: &peerseal::Status) -> Vec<String> {
    status.providers.iter().map(|p| p.account.clone()).collect()
}

/// Waits until the chain (as the story's own client reads it) records `status`'s epoch for
/// its node, with the same providers.
async fn recorded(chain: &ChainClient, status: &peerseal::Status) -> anyhow::Result<()> {
    let account = account_of(status)?;
    let epoch = status.epoch.ok_or_else(|| anyhow!("{} has no epoch", status.name))?;
    bounded("the recorded assignment", async {
        loop {
            if let Some(a) = chain.assignment(&account).await? {
                if a.epoch >= epoch {
                    ensure!(
                        a.epoch == epoch,
                        "{}: the chain records epoch {}, the node {epoch}",
                        status.name,
                        a.epoch
                    );
                    let mut named: Vec<String> =
                        a.providers.iter().map(|(p, _)| hex::encode(p.0)).collect();
                    let mut own = providers(status);
                    named.sort();
                    own.sort();
                    ensure!(
                        named == own,
                        "{}: the chain names {named:?}, the node {own:?}",
                        status.name
                    );
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await?
}

async fn ready_at(node: &TssDaemon, epoch: u64) -> anyhow::Result<peerseal::Status> {
    node.wait_until(&format!("ready at epoch {epoch} or later"), Duration::from_secs(150), |s| {
        s.state.label() == "ready" && s.epoch >= Some(epoch)
    })
    .await
    .map_err(|e| anyhow!("{}: {e}", node.name))
}

async fn tss_story(url: &str) -> anyhow::Result<()> {
    let _ports = dev_ports().await.context("the dev identities' port lock")?;
    let _ticker = Ticker::start(url).await?;
    let trust = endpoint_trust_root(url)?;
    let dirs = tempfile::tempdir()?;
    let trust_file = dirs.path().join("trust-root.json");
    std::fs::write(&trust_file, trust.to_json())?;
    let options =
        DaemonOptions { trust_root: Some(trust_file), ..DaemonOptions::logs_in(dirs.path()) };
    let chain =
        bounded("connecting the story's client", ChainClient::connect(url, trust)).await??;
    let start =
        |name: &'static str| TssDaemon::start_with(name, url, &dirs.path().join(name), &options);
    let result = story(url, &chain, &start).await;
    if result.is_err() {
        print_logs(dirs.path());
    }
    result
}

async fn story(
    url: &str,
    chain: &ChainClient,
    start: &dyn Fn(&'static str) -> Result<TssDaemon, peerseal_testkit::HarnessError>,
) -> anyhow::Result<()> {
    // Four nodes back up to each other; the chain records each backup.
    let mut nodes = Vec::new();
    for name in NAMES {
        nodes.push(Some(start(name)?));
    }
    let mut before = Vec::new();
    for node in nodes.iter().flatten() {
        let status = ready_at(node, 0).await?;
        recorded(chain, &status).await?;
        println!(
            "{}: ready at epoch {:?}, backed up to {} providers",
            status.name,
            status.epoch,
            status.providers.len()
        );
        before.push(status);
    }

    // SIGKILL alice; restarted, she recovers her key and rotates to a fresh epoch.
    let alice = nodes[0].take().ok_or_else(|| anyhow!("alice is not running"))?;
    let old = before[0].epoch.unwrap_or_default();
    alice.kill();
    let alice = start("alice")?;
    let recovered = ready_at(&alice, old + 1).await?;
    ensure!(
        recovered.recovery_attempts >= 1,
        "alice did not restart through recovery: {recovered:?}"
    );
    ensure!(
        recovered.first_start_marker == before[0].first_start_marker,
        "alice's store is not the one she wrote at her first start"
    );
    recorded(chain, &recovered).await?;
    println!("alice: SIGKILLed, recovered her key and rotated to epoch {:?}", recovered.epoch);
    nodes[0] = Some(alice);
    before[0] = recovered;

    // Governance removes alice's first provider; every node that named it backs up again.
    let victim =
        providers(&before[0]).first().cloned().ok_or_else(|| anyhow!("alice has no provider"))?;
    let index = before
        .iter()
        .position(|s| s.account.as_deref() == Some(victim.as_str()))
        .ok_or_else(|| anyhow!("alice's provider {victim} is not one of the story's nodes"))?;
    let stash = peerseal_devkeys::dev_identity(NAMES[index])
        .ok_or_else(|| anyhow!("no dev identity {}", NAMES[index]))?
        .stash_account;
    bounded("the governance removal", governance::remove_server(url, stash)).await??;
    println!("governance removed {} (alice's provider)", NAMES[index]);
    for (i, status) in before.iter().enumerate() {
        if i == index || !providers(status).contains(&victim) {
            continue;
        }
        let node = nodes[i].as_ref().ok_or_else(|| anyhow!("{} is not running", NAMES[i]))?;
        let after = ready_at(node, status.epoch.unwrap_or_default() + 1).await?;
        ensure!(
            !providers(&after).contains(&victim),
            "{} still names the removed provider: {after:?}",
            NAMES[i]
        );
        recorded(chain, &after).await?;
        println!(
            "{}: backed up again at epoch {:?} without the removed provider",
            NAMES[i], after.epoch
        );
    }
    Ok(())
}

/// The nodes' logs, for a failed story.
fn print_logs(dir: &Path) {
    for name in NAMES {
        if let Ok(log) = std::fs::read_to_string(dir.join(format!("{name}.log"))) {
            let lines: Vec<&str> = log.lines().collect();
            eprintln!("--- {name}.log (last 40 lines)");
            for line in &lines[lines.len().saturating_sub(40)..] {
                eprintln!("{line}");
            }
        }
    }
}
