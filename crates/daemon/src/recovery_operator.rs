//! `peerseal operator`: what a recovery operator runs (issue 13). `keygen` makes the operator's
//! X25519 key (the secret in a file only the operator can read; the public key is what
//! governance puts in `Backup.set_recovery_operators`); `check` is the drill: it reads every
//! node's sealed recovery shares from the chain through the verified view and opens this
//! operator's share of each, checking that it belongs to that node, its recorded epoch and the
//! key commitment the chain records; `recover` releases this operator's share to a node that
//! is cold-starting (`AwaitingOperators`), after checking its fresh quote against the chain's
//! policy (`peerseal_backup::cold_start`). Each prints only public facts, never a share.

use crate::context::ACCEPTS_DEV_PCK;
use anyhow::{anyhow, bail, Context};
use libp2p::multiaddr::Protocol;
use peerseal_backup::cold_start::{check_node, open_own_share, release_share};
use peerseal_backup::network::{self, NetworkConfig};
use peerseal_chain::{
    AccountId, Assignment, ChainApi, ChainClient, RecordedRecovery, RecoveryOperatorSet, TrustRoot,
};
use peerseal_protocol::operator::OperatorChallenge;
use peerseal_protocol::{Nonce32, Request, Response, X25519Secret};
use rand::RngCore;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;
/// Longest secret file accepted (a hex key and a newline, with room for whitespace).
const MAX_SECRET_FILE_LEN: u64 = 256;

/// `peerseal operator ...`.
#[derive(clap::Subcommand, Debug)]
pub enum OperatorCommand {
    /// Make a recovery operator key: writes the secret to `--out` (mode 0600, never
    /// overwritten) and prints the public key for governance.
    Keygen {
        /// Where to write the secret key (keep it offline, one per person).
        #[arg(long)]
        out: PathBuf,
    },
    /// Check that this operator can open its share of every node's recorded backup.
    Check {
        #[command(flatten)]
        access: OperatorAccess,
    },
    /// Release this operator's share to a cold-starting node, after checking its fresh quote
    /// against the chain's policy.
    Recover {
        /// The node's operator address, as its `/status` (`cold_start.operator_address`) and
        /// its log show it: a multiaddr ending in `/p2p/<peer id>`.
        #[arg(long)]
        node: String,
        #[command(flatten)]
        access: OperatorAccess,
    },
}

/// What `check` and `recover` work with: the operator's key and a verified chain.
#[derive(clap::Args, Debug)]
pub struct OperatorAccess {
    /// The operator's secret key file (from `keygen`).
    #[arg(long)]
    secret: PathBuf,
    /// A chain endpoint.
    #[arg(long, env = "PEERSEAL_CHAIN_URL")]
    chain_url: String,
    /// The chain's trust root (the same JSON the nodes' image pins).
    #[arg(long)]
    trust_root: PathBuf,
}

/// Runs an operator command.
pub async fn run(command: OperatorCommand) -> anyhow::Result<()> {
    match command {
        OperatorCommand::Keygen { out } => keygen(&out),
        OperatorCommand::Check { access } => {
            check(&access.secret, &access.chain_url, &access.trust_root).await
        }
        OperatorCommand::Recover { node, access } => {
            recover(&node, &access.secret, &access.chain_url, &access.trust_root).await
        }
    }
}

fn keygen(out: &Path) -> anyhow::Result<()> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut_slice());
    let public = X25519Secret::from_bytes(*bytes).public();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).with_context(|| {
        format!("creating {} (an existing key is never overwritten)", out.display())
    })?;
    let line = Zeroizing::new(format!("{}\n", hex::encode(bytes.as_slice())));
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}",
        serde_json::json!({
            "x25519_public_key": hex::encode(public.0),
            "secret_file": out.display().to_string(),
        })
    );
    Ok(())
}

/// Reads a secret written by [`keygen`]. Errors never echo the file's content.
pub fn read_secret(path: &Path) -> anyhow::Result<X25519Secret> {
    let len = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if len > MAX_SECRET_FILE_LEN {
        bail!("{} is {len} bytes: not an operator key file", path.display());
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    );
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), bytes.as_mut_slice())
        .map_err(|_| anyhow!("{} does not hold a 32-byte hex key", path.display()))?;
    Ok(X25519Secret::from_bytes(*bytes))
}

/// This operator: its key and its place in the chain's current set.
struct Mine<'a> {
    secret: &'a X25519Secret,
    set: &'a RecoveryOperatorSet,
    /// Share index (position in the set + 1).
    index: u8,
}

impl Mine<'_> {
    /// Opens this operator's share of `account`'s `recorded` shares and checks that it is the
    /// share the chain's record stands for, at this operator's place in the current set; why
    /// not, otherwise.
    fn verify(
        &self,
        account: &AccountId,
        recorded: &RecordedRecovery,
        assignment: Option<&Assignment>,
    ) -> Result<(), String> {
        let (share, _) = open_own_share(self.secret, account, recorded, assignment)
            .map_err(|e| e.to_string())?;
        if share.operator_set != self.set.revision {
            Err("the share names another operator set".to_owned())
        } else if share.index != self.index || share.threshold != self.set.threshold {
            Err("the share has another index or threshold".to_owned())
        } else {
            Ok(())
        }
    }
}

/// A verified chain client for `chain_url`, from the trust root in `trust_root`.
async fn connect(chain_url: &str, trust_root: &Path) -> anyhow::Result<ChainClient> {
    let root = std::fs::read(trust_root)
        .with_context(|| format!("reading the trust root {}", trust_root.display()))?;
    let root = TrustRoot::from_json(&root).map_err(|e| anyhow!("trust root: {e}"))?;
    ChainClient::connect(chain_url, root)
        .await
        .with_context(|| format!("connecting to a verified chain at {chain_url}"))
}

async fn check(secret: &Path, chain_url: &str, trust_root: &Path) -> anyhow::Result<()> {
    let secret = read_secret(secret)?;
    let public = secret.public().0;
    let chain = connect(chain_url, trust_root).await?;
    let set = chain
        .recovery_operators()
        .await?
        .ok_or_else(|| anyhow!("the chain has no recovery operators set"))?;
    let position =
        set.operators.iter().position(|o| o.x25519_public_key == public).ok_or_else(|| {
            anyhow!(
                "this key ({}) is not in the chain's recovery operator set (revision {})",
                hex::encode(public),
                set.revision
            )
        })?;
    let index = u8::try_from(position + 1).context("operator position beyond 255")?;
    let me = Mine { secret: &secret, set: &set, index };
    let mut opened = 0usize;
    let mut problems = 0usize;
    for server in chain.servers().await? {
        let account = server.tss_account;
        let (_, recorded) = chain.recovery_seal(Some(&account)).await?;
        let verdict = match recorded {
            // Removed between the server list and this read: the chain dropped its shares.
            None if chain.view()?.server(&account).is_none() => continue,
            None => Err("no recovery shares recorded".to_owned()),
            Some(r) if r.sealed.operator_set != set.revision => Err(format!(
                "sealed to operator set {}, not the current {} (the node re-seals at its next block)",
                r.sealed.operator_set, set.revision
            )),
            Some(r) => {
                let assignment = chain.assignment(&account).await?;
                me.verify(&account, &r, assignment.as_ref()).map(|()| r.epoch)
            }
        };
        let line = match verdict {
            Ok(epoch) => {
                opened += 1;
                serde_json::json!({ "node": hex::encode(account.0), "epoch": epoch, "ok": true })
            }
            Err(why) => {
                problems += 1;
                serde_json::json!({ "node": hex::encode(account.0), "ok": false, "why": why })
            }
        };
        println!("{line}");
    }
    println!(
        "{}",
        serde_json::json!({
            "operator_set": set.revision,
            "index": index,
            "threshold": set.threshold,
            "opened": opened,
            "problems": problems,
        })
    );
    if problems > 0 {
        bail!("{problems} node(s) have no share this operator can open (see the lines above)");
    }
    Ok(())
}

/// Sends `request` to the node at `peer` (dialled at `addr`) and returns its answer; a refusal
/// is an error naming the node's reason.
async fn ask(
    network: &network::NetworkHandle,
    peer: libp2p::PeerId,
    addr: &libp2p::Multiaddr,
    request: Request,
) -> anyhow::Result<Response> {
    match network.request(peer, vec![addr.clone()], request).await {
        Ok(Response::Error(reason)) => bail!("the node refused: {reason:?}"),
        Ok(response) => Ok(response),
        Err(e) => bail!("the node at {addr} did not answer: {e}"),
    }
}

/// `peerseal operator recover`: challenge the node with a fresh nonce, check its quote and
/// account against the verified chain, release this operator's share of the epoch the chain
/// records to the quote's response key. Prints one JSON line per step; refuses (non-zero exit,
/// nothing released) at the first check that fails.
async fn recover(
    node: &str,
    secret: &Path,
    chain_url: &str,
    trust_root: &Path,
) -> anyhow::Result<()> {
    let secret = read_secret(secret)?;
    let mut addr: libp2p::Multiaddr =
        node.parse().with_context(|| format!("--node {node:?} is not a multiaddr"))?;
    let Some(Protocol::P2p(peer)) = addr.pop() else {
        bail!(
            "--node must end in /p2p/<peer id>: copy the node's operator_address from its status"
        );
    };
    let chain = connect(chain_url, trust_root).await?;
    let net_config = NetworkConfig { listen: vec![], serve: false, ..NetworkConfig::default() };
    let (network, _, net_task) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), net_config)
            .await
            .context("starting the operator's network")?;
    let outcome = async {
        let mut nonce = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let nonce = Nonce32(nonce);
        let challenge = Request::OperatorChallenge(OperatorChallenge { nonce });
        let Response::RecoveryQuote(answer) = ask(&network, peer, &addr, challenge).await? else {
            bail!("the node answered the challenge with something else than a quote");
        };
        let account = hex::encode(answer.account.0);
        println!(
            "{}",
            serde_json::json!({
                "step": "quote",
                "node": account,
                "epoch": answer.epoch,
                "response_key": hex::encode(answer.response_pk.0),
            })
        );
        check_node(&chain, &nonce, &answer, ACCEPTS_DEV_PCK)
            .await
            .map_err(|e| anyhow!("refused, nothing released: {e}"))?;
        println!(
            "{}",
            serde_json::json!({
                "step": "checked",
                "node": account,
                "registered": true,
                "quote": "accepted measurement, trusted PCK, registered platform or approved move",
                "binding": "account, response key and this operator's fresh nonce",
            })
        );
        let (release, released) = release_share(&chain, &secret, &answer)
            .await
            .map_err(|e| anyhow!("refused, nothing released: {e}"))?;
        let Response::ShareIntake(intake) =
            ask(&network, peer, &addr, Request::OperatorRelease(release)).await?
        else {
            bail!("the node answered the release with something else than an intake");
        };
        println!(
            "{}",
            serde_json::json!({
                "step": "released",
                "node": account,
                "epoch": released.epoch,
                "operator_set": released.operator_set,
                "index": released.index,
                "held": intake.held,
                "needed": intake.needed,
            })
        );
        Ok(())
    }
    .await;
    drop(network);
    net_task.abort();
    outcome
}
