//! The node's configuration: a TOML file (`peerseal run --config peerseal.toml`) whose every
//! option is also a command-line flag and an environment variable. Precedence: flag or
//! environment variable, then the file, then the default written next to each field.

use clap::Args;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Bound on the configuration file size.
const MAX_CONFIG_LEN: u64 = 1024 * 1024;

/// How the node obtains TDX quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum QuoteSource {
    /// Linux configfs-tsm inside a TDX guest (production).
    ConfigfsTsm,
    /// Mock quotes signed by the dev mock PCK (dev chains only; dev builds only).
    #[cfg(feature = "dev")]
    Mock,
}

/// Options of `peerseal run`, as flags / environment variables (all optional: unset ones come
/// from the file or the defaults).
#[derive(Args, Clone, Debug, Default)]
pub struct RunArgs {
    /// TOML configuration file.
    #[arg(long, env = "PEERSEAL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Node name in logs and status [default: the dev identity, or "peerseal"].
    #[arg(long, env = "PEERSEAL_NAME")]
    pub name: Option<String>,
    /// Data directory: the encrypted store `db/` and the public `recovery.json`
    /// [default: ./peerseal-data].
    #[arg(long, env = "PEERSEAL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Chain node WebSocket RPC URL [default: ws://127.0.0.1:9944].
    #[arg(long, env = "PEERSEAL_CHAIN_URL")]
    pub chain_url: Option<String>,
    /// Chain trust root file (JSON: genesis hash, optional checkpoint). Dev builds only: a
    /// production build takes its trust root only from its measured image.
    #[cfg(feature = "dev")]
    #[arg(long, env = "PEERSEAL_TRUST_ROOT")]
    pub trust_root: Option<PathBuf>,
    /// Use a pre-registered dev identity (alice, bob, charlie, dave) instead of generating
    /// keys. Dev chains only; exists only in dev builds.
    #[cfg(feature = "dev")]
    #[arg(long, env = "PEERSEAL_DEV_IDENTITY")]
    pub dev_identity: Option<String>,
    /// With mock quotes: quote as the mock image called LABEL (its MRTD is SHA-384 of a domain
    /// and the label, see `peerseal_attestation::mock_image_measurement`), standing in for
    /// another image build in upgrade tests. Dev builds only.
    #[cfg(feature = "dev")]
    #[arg(long, env = "PEERSEAL_MOCK_IMAGE", value_name = "LABEL")]
    pub mock_image: Option<String>,
    /// With mock quotes: claim this platform (16 bytes hex) instead of the dev platform, a
    /// stand-in for "moved to another host". Dev builds only.
    #[cfg(feature = "dev")]
    #[arg(long, env = "PEERSEAL_MOCK_PLATFORM", value_name = "HEX16")]
    pub mock_platform: Option<String>,
    /// With mock quotes: derive the mock PCK from this seed (32 bytes hex) instead of the dev
    /// seed, a stand-in for a TCB update (new PCK key, same platform). Dev builds only.
    #[cfg(feature = "dev")]
    #[arg(long, env = "PEERSEAL_MOCK_PCK_SEED", value_name = "HEX32")]
    pub mock_pck_seed: Option<String>,
    /// libp2p listen multiaddr [default: the dev identity's on-chain port on 127.0.0.1, else
    /// /ip4/0.0.0.0/tcp/30400].
    #[arg(long, env = "PEERSEAL_LISTEN")]
    pub listen: Option<String>,
    /// The multiaddr registered on chain, where peers dial this node [default: the listen
    /// address, unless it is 0.0.0.0 / :: or port 0].
    #[arg(long, env = "PEERSEAL_ADVERTISE")]
    pub advertise: Option<String>,
    /// The validator stash (SS58 or hex) this node may be registered by: registration quotes
    /// are made for it only [default: any stash holding a nonce for this node's account].
    #[arg(long, env = "PEERSEAL_STASH")]
    pub stash: Option<String>,
    /// Local HTTP endpoint (/health, /status, /metrics) [default: 127.0.0.1:9616; port 0
    /// picks a free port, printed as `HTTP listening on http://...`].
    #[arg(long, env = "PEERSEAL_HTTP")]
    pub http: Option<SocketAddr>,
    /// Shares needed to recover the key [default: 2-of-3, fewer only when fewer providers exist
    /// or answer (logged, and shown in `/metrics`)].
    #[arg(long, env = "PEERSEAL_THRESHOLD")]
    pub threshold: Option<u8>,
    /// Number of providers [default: the client's default, min(2, available) for t = 1].
    #[arg(long, env = "PEERSEAL_PROVIDERS")]
    pub providers: Option<u8>,
    /// Quote source [default: mock with a dev identity, else configfs-tsm].
    #[arg(long, env = "PEERSEAL_QUOTES", value_enum)]
    pub quotes: Option<QuoteSource>,
    /// Longest wait between recovery attempts, seconds [default: 30].
    #[arg(long, env = "PEERSEAL_MAX_BACKOFF_SECS")]
    pub max_backoff_secs: Option<u64>,
    /// Seconds between health checks of this node's providers [default: 60].
    #[arg(long, env = "PEERSEAL_HEALTH_INTERVAL_SECS")]
    pub health_interval_secs: Option<u64>,
    /// Consecutive bad health proofs (wrong MAC, "no share held") after which a provider is
    /// replaced [default: 3].
    #[arg(long, env = "PEERSEAL_HEALTH_BAD_PROOFS")]
    pub health_bad_proofs: Option<u32>,
    /// Seconds a provider may go unanswered (timeouts, refusals anyone can cause) before it is
    /// replaced [default: 900].
    #[arg(long, env = "PEERSEAL_HEALTH_UNANSWERED_SECS")]
    pub health_unanswered_secs: Option<u64>,
}

/// The file's shape: the same options, by the same names (with `_`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    name: Option<String>,
    data_dir: Option<PathBuf>,
    chain_url: Option<String>,
    #[cfg(feature = "dev")]
    trust_root: Option<PathBuf>,
    #[cfg(feature = "dev")]
    dev_identity: Option<String>,
    listen: Option<String>,
    advertise: Option<String>,
    stash: Option<String>,
    http: Option<SocketAddr>,
    threshold: Option<u8>,
    providers: Option<u8>,
    quotes: Option<QuoteSource>,
    max_backoff_secs: Option<u64>,
    health_interval_secs: Option<u64>,
    health_bad_proofs: Option<u32>,
    health_unanswered_secs: Option<u64>,
}

/// The resolved configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Node name.
    pub name: String,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Chain RPC URL.
    pub chain_url: String,
    /// Trust root file given on the command line or in the file (dev builds only).
    #[cfg(feature = "dev")]
    pub trust_root: Option<PathBuf>,
    /// Dev identity name, if any (dev builds only).
    #[cfg(feature = "dev")]
    pub dev_identity: Option<String>,
    /// The mock image label, if any (dev builds only).
    #[cfg(feature = "dev")]
    pub mock_image: Option<String>,
    /// The platform mock quotes claim, if not the dev one (dev builds only).
    #[cfg(feature = "dev")]
    pub mock_platform: Option<[u8; 16]>,
    /// The seed of the mock PCK, if not the dev one (dev builds only).
    #[cfg(feature = "dev")]
    pub mock_pck_seed: Option<[u8; 32]>,
    /// libp2p listen address.
    pub listen: libp2p::Multiaddr,
    /// The multiaddr to register on chain, if known.
    pub advertise: Option<libp2p::Multiaddr>,
    /// The only stash registration quotes are made for, if configured.
    pub stash: Option<peerseal_chain::AccountId>,
    /// HTTP endpoint.
    pub http: SocketAddr,
    /// Threshold, if configured; `None` is the default 2-of-3 (fewer only when fewer providers
    /// exist or answer, with a warning).
    pub threshold: Option<u8>,
    /// Provider count.
    pub providers: Option<u8>,
    /// Quote source.
    pub quotes: QuoteSource,
    /// Longest recovery backoff.
    pub max_backoff: Duration,
    /// Health check interval.
    pub health_interval: Duration,
    /// When a provider that fails its health checks is replaced.
    pub health: peerseal_backup::HealthPolicy,
}

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Larger than the bound.
    #[error("config file {0} is too large")]
    TooLarge(PathBuf),
    /// Not valid TOML of the expected shape.
    #[error("config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: toml::de::Error,
    },
    /// A dev hex option that is not hex of the right length.
    #[cfg(feature = "dev")]
    #[error("{option} must be {len} bytes of hex")]
    BadHex {
        /// The option.
        option: &'static str,
        /// Bytes expected.
        len: usize,
    },
    /// An unknown dev identity.
    #[cfg(feature = "dev")]
    #[error("unknown dev identity {0:?} (alice, bob, charlie, dave)")]
    UnknownDevIdentity(String),
    /// A bad multiaddr.
    #[error("listen address {0:?} is not a multiaddr")]
    BadListen(String),
    /// A bad advertised multiaddr.
    #[error("advertise address {0:?} is not a multiaddr")]
    BadAdvertise(String),
    /// A stash that is neither SS58 nor 32 bytes of hex.
    #[error("stash {0:?} is neither an SS58 address nor 32 bytes of hex")]
    BadStash(String),
    /// Threshold 0.
    #[error("threshold must be at least 1")]
    ZeroThreshold,
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let read = |source| ConfigError::Read { path: path.to_owned(), source };
    if std::fs::metadata(path).map_err(read)?.len() > MAX_CONFIG_LEN {
        return Err(ConfigError::TooLarge(path.to_owned()));
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_owned(), source })
}

/// The default threshold: no single provider ever holds the whole key (2-of-3 with the
/// client's default `n = t + 1`).
pub const DEFAULT_THRESHOLD: u8 = 2;

impl Config {
    /// The trust root file the configuration names (dev builds; production builds have none).
    pub fn configured_trust_root(&self) -> Option<&Path> {
        #[cfg(feature = "dev")]
        {
            self.trust_root.as_deref()
        }
        #[cfg(not(feature = "dev"))]
        {
            None
        }
    }

    /// The backup client's settings this configuration asks for (threshold, provider count),
    /// the client's defaults otherwise: the same for backups and for recovery.
    pub fn client_config(&self) -> peerseal_backup::ClientConfig {
        match self.threshold {
            Some(threshold) => peerseal_backup::ClientConfig {
                threshold,
                providers: self.providers,
                ..peerseal_backup::ClientConfig::default()
            },
            None => peerseal_backup::ClientConfig {
                threshold: DEFAULT_THRESHOLD,
                providers: self.providers,
                accept_fewer: true,
                ..peerseal_backup::ClientConfig::default()
            },
        }
    }
}

impl RunArgs {
    /// Resolves flags, environment, file and defaults into a [`Config`].
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let dev = DevChoice::resolve(self, &file)?;
        let listen_text = self
            .listen
            .clone()
            .or(file.listen)
            .or_else(|| dev.listen())
            .unwrap_or_else(|| "/ip4/0.0.0.0/tcp/30400".to_owned());
        let listen = listen_text.parse().map_err(|_| ConfigError::BadListen(listen_text))?;
        let advertise = match self.advertise.clone().or(file.advertise) {
            Some(text) => Some(text.parse().map_err(|_| ConfigError::BadAdvertise(text))?),
            None => crate::registration::default_advertise(&listen),
        };
        let stash = match self.stash.clone().or(file.stash) {
            Some(text) => {
                Some(crate::registration::parse_account(&text).ok_or(ConfigError::BadStash(text))?)
            }
            None => None,
        };
        let threshold = self.threshold.or(file.threshold);
        if threshold == Some(0) {
            return Err(ConfigError::ZeroThreshold);
        }
        Ok(Config {
            name: self
                .name
                .clone()
                .or(file.name)
                .or_else(|| dev.name())
                .unwrap_or_else(|| "peerseal".to_owned()),
            data_dir: self
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("peerseal-data")),
            chain_url: self
                .chain_url
                .clone()
                .or(file.chain_url)
                .unwrap_or_else(|| "ws://127.0.0.1:9944".to_owned()),
            listen,
            advertise,
            stash,
            http: self
                .http
                .or(file.http)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9616))),
            threshold,
            providers: self.providers.or(file.providers),
            quotes: self.quotes.or(file.quotes).unwrap_or_else(|| dev.default_quotes()),
            max_backoff: Duration::from_secs(
                self.max_backoff_secs.or(file.max_backoff_secs).unwrap_or(30).max(1),
            ),
            health_interval: Duration::from_secs(
                self.health_interval_secs.or(file.health_interval_secs).unwrap_or(60).max(1),
            ),
            health: {
                let default = peerseal_backup::HealthPolicy::default();
                peerseal_backup::HealthPolicy {
                    proof_failures: self
                        .health_bad_proofs
                        .or(file.health_bad_proofs)
                        .unwrap_or(default.proof_failures)
                        .max(1),
                    unanswered_for: self
                        .health_unanswered_secs
                        .or(file.health_unanswered_secs)
                        .map_or(default.unanswered_for, Duration::from_secs),
                }
            },
            #[cfg(feature = "dev")]
            trust_root: self.trust_root.clone().or(file.trust_root),
            #[cfg(feature = "dev")]
            dev_identity: dev.name(),
            #[cfg(feature = "dev")]
            mock_image: self.mock_image.clone(),
            #[cfg(feature = "dev")]
            mock_platform: parse_hex_arg("--mock-platform", self.mock_platform.as_deref())?,
            #[cfg(feature = "dev")]
            mock_pck_seed: parse_hex_arg("--mock-pck-seed", self.mock_pck_seed.as_deref())?,
        })
    }
}

/// Parses a fixed-length hex dev option (with or without `0x`).
#[cfg(feature = "dev")]
fn parse_hex_arg<const N: usize>(
    option: &'static str,
    text: Option<&str>,
) -> Result<Option<[u8; N]>, ConfigError> {
    let Some(text) = text else { return Ok(None) };
    let mut out = [0u8; N];
    hex::decode_to_slice(text.strip_prefix("0x").unwrap_or(text), &mut out)
        .map_err(|_| ConfigError::BadHex { option, len: N })?;
    Ok(Some(out))
}

/// The dev identity chosen by flag or file (dev builds), or nothing (production builds, where
/// the option does not exist).
struct DevChoice {
    #[cfg(feature = "dev")]
    identity: Option<peerseal_devkeys::DevIdentity>,
}

impl DevChoice {
    #[cfg(feature = "dev")]
    fn resolve(args: &RunArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let identity = match args.dev_identity.clone().or_else(|| file.dev_identity.clone()) {
            Some(name) => Some(
                peerseal_devkeys::dev_identity(&name)
                    .ok_or(ConfigError::UnknownDevIdentity(name))?,
            ),
            None => None,
        };
        Ok(Self { identity })
    }

    #[cfg(not(feature = "dev"))]
    fn resolve(_: &RunArgs, _: &FileConfig) -> Result<Self, ConfigError> {
        Ok(Self {})
    }

    fn name(&self) -> Option<String> {
        #[cfg(feature = "dev")]
        if let Some(id) = &self.identity {
            return Some(id.name.to_owned());
        }
        None
    }

    fn listen(&self) -> Option<String> {
        #[cfg(feature = "dev")]
        if let Some(id) = &self.identity {
            return Some(format!("/ip4/127.0.0.1/tcp/{}", id.p2p_port));
        }
        None
    }

    fn default_quotes(&self) -> QuoteSource {
        #[cfg(feature = "dev")]
        if self.identity.is_some() {
            return QuoteSource::Mock;
        }
        QuoteSource::ConfigfsTsm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "dev")]
    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("peerseal.toml");
        std::fs::write(&path, "dev_identity = \"bob\"\nthreshold = 2\nchain_url = \"ws://x:1\"\n")
            .unwrap();
        let args = RunArgs { config: Some(path), threshold: Some(1), ..RunArgs::default() };
        let config = args.resolve().unwrap();
        assert_eq!(config.threshold, Some(1), "flag wins");
        assert_eq!(config.chain_url, "ws://x:1", "file wins over default");
        assert_eq!(config.name, "bob");
        assert_eq!(config.quotes, QuoteSource::Mock);
        assert_eq!(config.listen.to_string(), "/ip4/127.0.0.1/tcp/30402");
        assert_eq!(config.http.port(), 9616);
    }

    #[cfg(not(feature = "dev"))]
    #[test]
    fn production_builds_know_no_dev_identity_key_or_mock_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "dev_identity = \"bob\"\n").unwrap();
        let args = RunArgs { config: Some(path.clone()), ..RunArgs::default() };
        assert!(matches!(args.resolve(), Err(ConfigError::Parse { .. })), "unknown key");
        std::fs::write(&path, "quotes = \"mock\"\n").unwrap();
        let args = RunArgs { config: Some(path), ..RunArgs::default() };
        assert!(matches!(args.resolve(), Err(ConfigError::Parse { .. })), "no mock quotes");
        let config = RunArgs::default().resolve().unwrap();
        assert_eq!(config.quotes, QuoteSource::ConfigfsTsm);
        assert_eq!(config.name, "peerseal");
    }

    #[test]
    fn unknown_keys_and_identities_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "thresold = 2\n").unwrap();
        let args = RunArgs { config: Some(path), ..RunArgs::default() };
        assert!(matches!(args.resolve(), Err(ConfigError::Parse { .. })));
        #[cfg(feature = "dev")]
        {
            let args = RunArgs { dev_identity: Some("mallory".into()), ..RunArgs::default() };
            assert!(matches!(args.resolve(), Err(ConfigError::UnknownDevIdentity(_))));
        }
    }
}
