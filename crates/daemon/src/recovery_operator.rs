//! `peerseal operator`: what a recovery operator runs (issue 13). `keygen` makes the operator's
//! X25519 key (the secret in a file only the operator can read; the public key is what
//! governance puts in `Backup.set_recovery_operators`); `check` is the drill: it reads every
//! node's sealed recovery shares from the chain through the verified view and opens this
//! operator's share of each, checking that it belongs to that node, its recorded epoch and the
//! key commitment the chain records. It prints only public facts, never a share.
//!
//! Releasing a share to a cold-starting node (`recover`) needs the node's `AwaitingOperators`
//! handshake, which is not built yet.

use anyhow::{anyhow, bail, Context};
use codec::DecodeLimit;
use peerseal_chain::{
    AccountId, Assignment, ChainApi, ChainClient, RecordedRecovery, RecoveryOperatorSet, TrustRoot,
};
use peerseal_protocol::operator::OperatorShare;
use peerseal_protocol::{Sealed, X25519Secret};
use rand::RngCore;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Most nesting a sealed share may decode with (it has none to speak of).
const MAX_SEALED_DEPTH: u32 = 8;
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
        /// The operator's secret key file (from `keygen`).
        #[arg(long)]
        secret: PathBuf,
        /// A chain endpoint.
        #[arg(long, env = "PEERSEAL_CHAIN_URL")]
        chain_url: String,
        /// The chain's trust root (the same JSON the nodes' image pins).
        #[arg(long)]
        trust_root: PathBuf,
    },
}

/// Runs an operator command.
pub async fn run(command: OperatorCommand) -> anyhow::Result<()> {
    match command {
        OperatorCommand::Keygen { out } => keygen(&out),
        OperatorCommand::Check { secret, chain_url, trust_root } => {
            check(&secret, &chain_url, &trust_root).await
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
    /// Position in the set (share index `position + 1`).
    position: usize,
    /// Share index.
    index: u8,
}

impl Mine<'_> {
    /// Opens this operator's share of `account`'s `recorded` shares and checks that it is the
    /// share the chain's record stands for; why not, otherwise.
    fn verify(
        &self,
        account: &AccountId,
        recorded: &RecordedRecovery,
        assignment: Option<&Assignment>,
    ) -> Result<(), String> {
        let bytes =
            recorded.sealed.shares.get(self.position).ok_or("no share for this operator")?;
        let envelope = Sealed::decode_all_with_depth_limit(MAX_SEALED_DEPTH, &mut &bytes[..])
            .map_err(|_| "the sealed share does not decode")?;
        let share = OperatorShare::open(self.secret, &envelope)
            .map_err(|e| format!("the share does not open with this key: {e}"))?;
        let commitment = assignment.map(|a| (a.epoch, a.commitment));
        if share.account != *account {
            Err("the share names another account".to_owned())
        } else if share.epoch != recorded.epoch || share.operator_set != self.set.revision {
            Err("the share names another epoch or operator set".to_owned())
        } else if share.index != self.index || share.threshold != self.set.threshold {
            Err("the share has another index or threshold".to_owned())
        } else if commitment != Some((recorded.epoch, share.commitment)) {
            Err("the share's key commitment is not the chain's".to_owned())
        } else {
            Ok(())
        }
    }
}

async fn check(secret: &Path, chain_url: &str, trust_root: &Path) -> anyhow::Result<()> {
    let secret = read_secret(secret)?;
    let public = secret.public().0;
    let root = std::fs::read(trust_root)
        .with_context(|| format!("reading the trust root {}", trust_root.display()))?;
    let root = TrustRoot::from_json(&root).map_err(|e| anyhow!("trust root: {e}"))?;
    let chain = ChainClient::connect(chain_url, root)
        .await
        .with_context(|| format!("connecting to a verified chain at {chain_url}"))?;
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
    let me = Mine { secret: &secret, set: &set, position, index };
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
