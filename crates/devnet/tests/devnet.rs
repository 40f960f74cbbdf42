//! `peerseal-devnet` as the README runs it: a dev chain and six TSS nodes as processes (five dev
//! identities, one registering itself, and an operator's generated identity), the whole story,
//! a summary table, exit code 0.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

async fn bounded<T>(secs: u64, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut).await.expect("test step timed out")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_runs_the_story_and_exits_zero() {
    // The devnet takes the dev ports lock itself; the binaries it runs are built beforehand so
    // the bound below covers the story only.
    peerseal_testkit::peerseal_dev_binary().unwrap();
    peerseal_testkit::node_binary().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_peerseal-devnet"))
        .args(["--step-timeout-secs", "60"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let output = bounded(
        420,
        tokio::task::spawn_blocking(move || {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
            text
        }),
    )
    .await;
    let output = match output {
        Ok(text) => text,
        Err(e) => {
            let _ = child.kill();
            panic!("reading devnet output: {e}");
        }
    };
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "devnet failed:\n{output}");
    assert!(output.contains("bob: recovered its key and read back its data"), "{output}");
    assert!(output.contains("every affected client rotated"), "{output}");
    assert!(output.contains("recovered from its other providers"), "{output}");
    assert!(
        output.contains("eve: not in the dev genesis; its stash //Eve registered it"),
        "{output}"
    );
    assert!(output.contains("operator: its stash //Ferdie registered it"), "{output}");
    assert!(output.contains("left voluntarily with `peerseal leave`"), "{output}");
    assert!(output.contains("recorded its key sealed to the operators"), "{output}");
    assert!(output.contains("operator 3: `peerseal operator check` opened its share"), "{output}");
    assert!(output.contains("awaiting recovery operators at /ip4/127.0.0.1/tcp/"), "{output}");
    assert!(output.contains("store opened from 2 of 3 operator shares"), "{output}");
    assert!(output.contains("the whole network came back"), "{output}");
    assert!(output.contains("story complete"), "{output}");
    let table: Vec<&str> = output
        .lines()
        .skip_while(|l| !l.starts_with("node "))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(table.len(), 6, "five dev nodes and the operator's: {output}");
    // Every node ready (the one that left may already be removed and stop being asked), with
    // its backup's shape in the table.
    assert!(table.iter().filter(|l| l.contains(" ready ")).count() >= 5, "{output}");
    assert!(table.iter().any(|l| l.contains(" 2-of-3 ")), "{output}");
}
