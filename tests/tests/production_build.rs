//! The production `peerseal` (built with `cargo build -p peerseal`, no `dev` feature) has none of
//! the dev conveniences: no `--dev-identity` flag or config key, no mock quotes, no fault hook,
//! and it refuses a chain whose attestation policy is the dev PCK mode. Each check also runs
//! against `peerseal-dev`, where the convenience exists, so the check can tell the two apart.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal_e2e::dev_chain;
use peerseal_testkit::{peerseal_binary, peerseal_dev_binary, production_binary_trusting, Process};
use std::process::{Command, Output};
use std::time::Duration;

fn run(binary: &std::path::Path, args: &[&str]) -> Output {
    Command::new(binary).args(args).output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_dev_identity_flag_does_not_exist_in_production() {
    let prod = peerseal_binary().unwrap();
    let out = run(&prod, &["run", "--dev-identity", "alice"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("unexpected argument '--dev-identity'"), "{}", text(&out));
    let help = text(&run(&prod, &["run", "--help"]));
    assert!(!help.contains("dev-identity"), "{help}");
    let out = run(&prod, &["info", "--dev-identity", "bob"]);
    assert!(!out.status.success(), "{}", text(&out));

    let dev = peerseal_dev_binary().unwrap();
    assert!(text(&run(&dev, &["run", "--help"])).contains("--dev-identity"));
    let out = run(&dev, &["info", "--dev-identity", "bob"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn mock_quotes_and_dev_keys_are_refused_in_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let prod = peerseal_binary().unwrap();
    for (line, why) in [("dev_identity = \"alice\"", "dev_identity"), ("quotes = \"mock\"", "mock")]
    {
        let config = dir.path().join("peerseal.toml");
        std::fs::write(&config, format!("{line}\n")).unwrap();
        let out = run(&prod, &["run", "--config", config.to_str().unwrap()]);
        assert!(!out.status.success(), "{line}: {}", text(&out));
        assert!(text(&out).contains(why), "{line}: {}", text(&out));
    }
    let out = run(&prod, &["run", "--quotes", "mock"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("invalid value 'mock'"), "{}", text(&out));
}

/// The strings only the dev code paths carry: the fault-hook variable, the flag's variable, the
/// mock quote provider's warning, the dev identities' key derivation domain and the warning of
/// the endpoint-finality mode.
const DEV_MARKERS: [&str; 5] = [
    "PEERSEAL_TEST_CRASH_AT",
    "PEERSEAL_DEV_IDENTITY",
    "MOCK TDX QUOTE PROVIDER SELECTED",
    "peerseal/devkeys/x25519/v1",
    "INSECURE dev mode: blocks are final",
];

#[test]
fn the_production_binary_contains_no_dev_code() {
    let prod = std::fs::read(peerseal_binary().unwrap()).unwrap();
    let dev = std::fs::read(peerseal_dev_binary().unwrap()).unwrap();
    let contains =
        |bytes: &[u8], needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    for marker in DEV_MARKERS {
        assert!(
            contains(&dev, marker),
            "the dev binary should carry {marker:?}: the check is blind"
        );
        assert!(!contains(&prod, marker), "the production binary carries {marker:?}");
    }
}

/// Runs `binary run` against `chain_url` with its data in `dir/node`, expects it to stop on its
/// own with a failure, and checks it created no store; returns its stderr.
fn refused_at_start(
    binary: &std::path::Path,
    chain_url: &str,
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> String {
    let mut cmd = Command::new(binary);
    cmd.args(["run", "--http", "127.0.0.1:0", "--listen", "/ip4/127.0.0.1/tcp/0"])
        .args(["--chain-url", chain_url])
        .arg("--data-dir")
        .arg(dir.join("node"))
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn");
    let (mut process, _http) =
        Process::spawn(cmd, "HTTP listening on http://", Duration::from_secs(30), true).unwrap();
    let status = process.wait_exit(Duration::from_secs(60)).expect("the node did not stop");
    assert!(!status.success());
    assert!(!dir.join("node").join("db").exists(), "no store is created by a refused start");
    process.stderr()
}

#[test]
fn a_chain_in_dev_pck_mode_is_refused_with_a_clear_error() {
    let chain = dev_chain();
    let dir = tempfile::tempdir().unwrap();
    let prod = production_binary_trusting(&chain.url, dir.path()).unwrap();
    let stderr = refused_at_start(&prod, &chain.url, dir.path(), &[]);
    assert!(stderr.contains("dev PCK mode"), "{stderr}");
}

#[test]
fn the_trust_root_cannot_come_from_the_host_in_production() {
    let prod = peerseal_binary().unwrap();
    // No flag, no environment variable: only the image (compiled in, or beside the binary).
    let out = run(&prod, &["run", "--trust-root", "/tmp/x.json"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("unexpected argument '--trust-root'"), "{}", text(&out));
    let dev = peerseal_dev_binary().unwrap();
    assert!(text(&run(&dev, &["run", "--help"])).contains("--trust-root"));

    // A copy of the production binary with no trust root beside it stops with a clear error
    // before it creates anything.
    let chain = dev_chain();
    let dir = tempfile::tempdir().unwrap();
    let lonely = dir.path().join("peerseal");
    std::fs::copy(&prod, &lonely).unwrap();
    let stderr = refused_at_start(
        &lonely,
        &chain.url,
        dir.path(),
        &[("PEERSEAL_TRUST_ROOT", "/nonexistent/ignored.json")],
    );
    assert!(stderr.contains("no chain trust root"), "{stderr}");
}

/// The dev-only endpoint-finality mode (blocks final on the endpoint's word, for chopsticks)
/// cannot be switched on in production, not even by the image's own trust root file: the
/// production binary refuses it before it creates anything. (`peerseal-dev` takes the same
/// file: `scripts/chopsticks/run.sh` runs its TSS story that way.)
#[test]
fn endpoint_finality_is_refused_in_production() {
    let chain = dev_chain();
    let dir = tempfile::tempdir().unwrap();
    let prod = production_binary_trusting(&chain.url, dir.path()).unwrap();
    let file = dir.path().join(peerseal::trust_root::TRUST_ROOT_FILE_NAME);
    let mut root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    root["finality"] = "endpoint-unverified".into();
    std::fs::write(&file, root.to_string()).unwrap();
    let stderr = refused_at_start(&prod, &chain.url, dir.path(), &[]);
    assert!(stderr.contains("dev-only mode this build does not have"), "{stderr}");
}
