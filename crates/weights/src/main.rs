//! `peerseal-weights`: measures the FRAME benchmarks of peerseal's four pallets and writes
//! their `weights.rs`, without `frame-benchmarking-cli`.
//!
//! The CLI needs a wasm runtime and the whole Substrate client (`sc-client-db`,
//! `sc-executor`, …), which this project does not build. The benchmarks themselves are plain
//! Rust: this runner calls each pallet's `Benchmarking::run_benchmark` natively against
//! `peerseal-runtime`, inside externalities over the runtime's dev genesis state, on a state
//! backend of its own that counts storage reads and writes ([`backend`]). It steps through the
//! component values, fits the results with FRAME's own analysis ([`measure`]) and writes each
//! pallet's `weights.rs` ([`write`]).
//!
//! ```text
//! cargo run --release -p peerseal-weights --features runtime-benchmarks -- [--steps N] [--repeat N] [--pallet NAME]...
//! cargo run --release -p peerseal-weights --features runtime-benchmarks -- --check
//! ```
//! `--check` runs every benchmark once at its lowest and once at its highest component values,
//! with verification, and writes nothing: the quick test that no runtime change broke a
//! benchmark (well under a second in a release build). The crate's tests run the same check:
//! `cargo test -p peerseal-weights --features runtime-benchmarks` is the CI form.
//! `PEERSEAL_WEIGHTS_DUMP=<benchmark>` prints that benchmark's timing samples.
//!
//! ## Why a separate crate, with `required-features`
//! The runtime's `runtime-benchmarks` feature must never reach the dev node: it adds benchmark
//! code paths to the runtime (for example `EnsureOrigin::try_successful_origin`). Cargo unifies
//! the features of everything built in one invocation, so a workspace member that depended on
//! `peerseal-runtime/runtime-benchmarks` unconditionally would switch it on for the node in
//! every `cargo test --workspace`. Here every dependency is optional and comes only with this
//! crate's own `runtime-benchmarks` feature, and the binary requires that feature: a workspace
//! build without it resolves nothing of this crate and builds no target of it.
//!
//! ## What is measured
//! The runtime is built with its `dev` feature, because quote verification can only be
//! benchmarked with quotes the chain accepts, and without Intel hardware those are mock quotes
//! (dev PCK mode). Production verification, which also checks the PCK certificate chain, is
//! measured on Intel's sample quote (`verify_production_quote`, refused only at its report-data
//! binding), and the pallet charges the larger of the two; see the attestation pallet's docs
//! ("Weights"). Times are of native code on the machine the header of each `weights.rs` names.

mod backend;
mod measure;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use frame_benchmarking::{BenchmarkMetadata, Benchmarking};
use frame_support::traits::{StorageInfoTrait, WhitelistedStorageKeys};
use peerseal_runtime::{AllPalletsWithSystem, Attestation, Backup, FinalityAuthorities, Registry};
use sp_state_machine::InMemoryBackend;

use backend::BenchBackend;
use measure::{Fitted, ListFn, RunFn, Settings, Target};

/// One benchmarked pallet.
struct Pallet {
    /// Its crate name, and what `--pallet` selects it by (without `pallet-`).
    name: &'static str,
    /// Its directory under `pallets/`.
    dir: &'static str,
    list: ListFn,
    run: RunFn,
}

const PALLETS: [Pallet; 4] = [
    Pallet {
        name: "attestation",
        dir: "attestation",
        list: <Attestation as Benchmarking>::benchmarks,
        run: <Attestation as Benchmarking>::run_benchmark,
    },
    Pallet {
        name: "registry",
        dir: "registry",
        list: <Registry as Benchmarking>::benchmarks,
        run: <Registry as Benchmarking>::run_benchmark,
    },
    Pallet {
        name: "backup",
        dir: "backup",
        list: <Backup as Benchmarking>::benchmarks,
        run: <Backup as Benchmarking>::run_benchmark,
    },
    Pallet {
        name: "finality-authorities",
        dir: "finality-authorities",
        list: <FinalityAuthorities as Benchmarking>::benchmarks,
        run: <FinalityAuthorities as Benchmarking>::run_benchmark,
    },
];

/// Command-line options.
struct Options {
    settings: Settings,
    pallets: Vec<String>,
    check: bool,
    args: Vec<String>,
}

fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut options = Options {
        settings: Settings { steps: 10, repeat: 5 },
        pallets: Vec::new(),
        check: false,
        args: args.clone(),
    };
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--steps" => {
                options.settings.steps = value("--steps")?.parse().map_err(|e| format!("--steps: {e}"))?
            }
            "--repeat" => {
                options.settings.repeat =
                    value("--repeat")?.parse().map_err(|e| format!("--repeat: {e}"))?
            }
            "--pallet" => options.pallets.push(value("--pallet")?),
            "--check" => options.check = true,
            "--help" | "-h" => {
                return Err("usage: peerseal-weights [--steps N (10)] [--repeat N (5)] \
                            [--pallet attestation|registry|backup|finality-authorities]... [--check]"
                    .into())
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    for p in &options.pallets {
        if !PALLETS.iter().any(|known| known.name == p) {
            return Err(format!("unknown pallet `{p}`"));
        }
    }
    Ok(options)
}

/// The workspace root (this crate lives in `crates/weights`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// `N-core VM, CPU <model>` from this machine.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    // Other work on the machine inflates the times; say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "unknown".into());
    format!("a {cores}-core VM (`nproc` {cores}, CPU `{cpu}`), load average {load} at the start")
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rest / 3600, rest % 3600 / 60)
}

fn run(options: Options) -> Result<(), String> {
    let storage = peerseal_runtime::genesis::dev_genesis_storage()
        .map_err(|e| format!("building the dev genesis: {e:?}"))?;
    let genesis: InMemoryBackend<sp_runtime::traits::BlakeTwo256> =
        (storage, sp_core::storage::StateVersion::V1).into();
    let backend = BenchBackend::new(genesis);
    let whitelist = AllPalletsWithSystem::whitelisted_storage_keys();
    let storage_info = AllPalletsWithSystem::storage_info();
    let selected: Vec<&Pallet> = PALLETS
        .iter()
        .filter(|p| options.pallets.is_empty() || options.pallets.iter().any(|s| s == p.name))
        .collect();

    let mut measured: BTreeMap<&str, BTreeMap<String, Fitted>> = BTreeMap::new();
    let started = std::time::Instant::now();
    for pallet in &selected {
        let target = Target {
            backend: &backend,
            run: pallet.run,
            whitelist: &whitelist,
            storage_info: &storage_info,
        };
        let benches: Vec<BenchmarkMetadata> = measure::with_ext(&backend, || (pallet.list)(false));
        let mut fitted = BTreeMap::new();
        for bench in &benches {
            let name = String::from_utf8_lossy(&bench.name).into_owned();
            let t = std::time::Instant::now();
            if options.check {
                target.check(bench)?;
                println!("ok   pallet-{}::{name} ({:.1?})", pallet.name, t.elapsed());
            } else {
                let f = target.measure(bench, options.settings)?;
                println!(
                    "pallet-{}::{name}: time {} ps + {:?}, reads {} + {:?}, writes {} + {:?}, proof {} + {:?} ({:.1?})",
                    pallet.name,
                    f.time.base,
                    f.time.slopes,
                    f.reads.base,
                    f.reads.slopes,
                    f.writes.base,
                    f.writes.slopes,
                    f.proof.base,
                    f.proof.slopes,
                    t.elapsed()
                );
                fitted.insert(name, f);
            }
        }
        measured.insert(pallet.name, fitted);
    }
    if options.check {
        println!("all benchmarks pass ({:.1?})", started.elapsed());
        return Ok(());
    }

    // The registry's calls are measured with one quote verification each, which the registry
    // charges separately through `VerifyAttestation::verify_weight`.
    let verify = match measured.get("attestation").and_then(|m| m.get("verify_and_consume")) {
        Some(v) => Some(v.clone()),
        None if selected.iter().any(|p| p.name == "registry") => {
            let pallet = &PALLETS[0];
            let target = Target {
                backend: &backend,
                run: pallet.run,
                whitelist: &whitelist,
                storage_info: &storage_info,
            };
            let benches = measure::with_ext(&backend, || (pallet.list)(false));
            let bench = benches
                .iter()
                .find(|b| b.name == b"verify_and_consume")
                .ok_or("attestation has no verify_and_consume benchmark")?;
            Some(target.measure(bench, options.settings)?)
        }
        None => None,
    };

    let header = write::Header {
        command: format!(
            "cargo run --release -p peerseal-weights --features runtime-benchmarks --{}",
            options.args.iter().map(|a| format!(" {a}")).collect::<String>()
        ),
        machine: machine(),
        date: now_utc(),
        steps: options.settings.steps,
        repeat: options.settings.repeat,
    };
    for pallet in &selected {
        let path = workspace_root().join("pallets").join(pallet.dir).join("src").join("weights.rs");
        let current = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let fitted = measured.get(pallet.name).ok_or("pallet not measured")?;
        let mut adjust = Vec::new();
        if matches!(pallet.name, "attestation" | "registry") {
            adjust.push(write::Adjust::ProcessedAndRemoved { method: "on_initialize" });
        }
        let mut extra = String::new();
        match (pallet.name, &verify) {
            ("registry", Some(verify)) => {
                for method in ["register", "change_server_info"] {
                    adjust.push(write::Adjust::Subtract {
                        method,
                        other: verify,
                        why: "charged through `VerifyAttestation::verify_weight`",
                    });
                }
            }
            ("attestation", Some(verify)) => {
                // Production verification (a real quote's PCK chain) costs more than the dev
                // mode's; the default charge is the larger one, as the pallet's own is.
                let (charged, which) = match fitted.get("verify_production_quote") {
                    Some(production) => (production, "verify_production_quote"),
                    None => (verify, "verify_and_consume"),
                };
                extra = write::constant(
                    &format!(
                        "/// One quote verification as `VerifyAttestation::verify_weight` charges it by\n\
                         /// default: the measured `{which}`, priced with `RocksDbWeight`."
                    ),
                    "VERIFY_QUOTE_ESTIMATE",
                    charged,
                );
            }
            _ => {}
        }
        let crate_name = format!("pallet-{}", pallet.name);
        let text = write::render(&crate_name, &current, fitted, &adjust, &extra, &header)
            .map_err(|e| format!("{crate_name}: {e}"))?;
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        // The generated code is formatted like the rest of the workspace (CI checks it).
        let status = std::process::Command::new("rustfmt")
            .arg("--edition")
            .arg("2021")
            .arg(&path)
            .status()
            .map_err(|e| format!("running rustfmt: {e}"))?;
        if !status.success() {
            return Err(format!("rustfmt failed on {}", path.display()));
        }
        println!("wrote {}", path.display());
    }
    println!("done in {:.1?}", started.elapsed());
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1).collect()) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CI check: every benchmark of every pallet still runs, verified, against the
    /// runtime's dev genesis (a runtime change that breaks a benchmark fails here).
    #[test]
    fn every_benchmark_runs_against_the_runtime() {
        let options = Options {
            settings: Settings { steps: 2, repeat: 1 },
            pallets: Vec::new(),
            check: true,
            args: Vec::new(),
        };
        if let Err(message) = run(options) {
            panic!("{message}");
        }
    }

    #[test]
    fn parses_the_options() {
        let args = ["--steps", "4", "--repeat", "3", "--pallet", "registry", "--check"];
        let options = parse(args.iter().map(|a| a.to_string()).collect()).unwrap();
        assert_eq!((options.settings.steps, options.settings.repeat), (4, 3));
        assert_eq!(options.pallets, vec!["registry".to_string()]);
        assert!(options.check);
        assert!(parse(vec!["--pallet".into(), "nope".into()]).is_err());
        assert!(parse(vec!["--steps".into()]).is_err());
    }
}
