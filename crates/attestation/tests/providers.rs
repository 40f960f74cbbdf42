//! Quote providers: the mock (deterministic, logged loudly, verifiable under a dev policy) and
//! configfs-tsm against a temporary directory that imitates the kernel's attribute files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use peerseal_attestation::{
    dev_mock_pck, mock_pck_key, report_data, verify_quote, ConfigfsTsmProvider, MockQuoteProvider,
    ProviderError, QuoteProvider, DEV_MOCK_PCK_SEED, MAX_QUOTE_LEN, TDX_TSM_PROVIDER,
};
use std::{
    fs,
    path::Path,
    sync::{Mutex, OnceLock},
};

// ---- capturing logger (one per test binary) ----

struct Capture(Mutex<Vec<(log::Level, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push((record.level(), record.args().to_string()));
    }
    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(capture).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        capture
    })
}

// ---- mock provider ----

#[test]
fn selecting_the_mock_provider_logs_a_warning() {
    let capture = capture();
    let provider = MockQuoteProvider::from_seed([0x31; 32]);
    let logs = capture.0.lock().unwrap();
    let warning = logs
        .iter()
        .find(|(level, text)| {
            *level == log::Level::Warn && text.contains("MOCK TDX QUOTE PROVIDER")
        })
        .expect("a warning is logged at construction");
    assert!(warning.1.contains(&hex::encode(provider.pck_key().0)), "names the mock PCK");
}

#[test]
fn mock_quotes_are_deterministic_per_seed_and_report_data() {
    let rd = report_data(&register_binding());
    let a = MockQuoteProvider::from_seed([1; 32]);
    let b = MockQuoteProvider::from_seed([1; 32]);
    let c = MockQuoteProvider::from_seed([2; 32]);
    assert_eq!(a.quote(&rd).unwrap(), b.quote(&rd).unwrap());
    assert_ne!(a.quote(&rd).unwrap(), c.quote(&rd).unwrap());
    assert_ne!(a.quote(&rd).unwrap(), a.quote(&[0u8; 64]).unwrap());
    assert_eq!(a.pck_key(), mock_pck_key(&[1; 32]));
    assert_ne!(a.pck_key(), c.pck_key());
    assert_eq!(MockQuoteProvider::dev().pck_key(), dev_mock_pck());
    assert_eq!(mock_pck_key(&DEV_MOCK_PCK_SEED), dev_mock_pck());
}

#[test]
fn mock_quote_from_another_seed_needs_its_own_pck_allowed() {
    let binding = register_binding();
    let provider = MockQuoteProvider::from_seed([9; 32]);
    let quote = provider.quote(&report_data(&binding)).unwrap();
    assert_eq!(
        verify_quote(&quote, &binding, &dev_policy()),
        Err(peerseal_attestation::VerifyError::PckNotAllowed)
    );
    let allowed = [provider.pck_key()];
    let policy = peerseal_attestation::Policy { allowed_mock_pcks: &allowed, ..dev_policy() };
    assert_eq!(verify_quote(&quote, &binding, &policy).unwrap().pck, provider.pck_key());
}

#[test]
fn mock_provider_debug_shows_no_secret() {
    let provider = MockQuoteProvider::dev();
    let text = format!("{provider:?}");
    assert!(text.contains("pck_key"));
    assert!(!text.contains("attestation_key") && !text.contains("SigningKey"), "{text}");
}

// ---- configfs-tsm against a fake directory ----

/// Lays out `root/entry` the way the kernel does after `mkdir`, with a pre-computed `outblob`
/// (a plain directory cannot compute a quote when `inblob` is written).
fn fake_entry(root: &Path, entry: &str, provider: &str, generation: &str, outblob: &[u8]) {
    let dir = root.join(entry);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("provider"), provider).unwrap();
    fs::write(dir.join("generation"), generation).unwrap();
    fs::write(dir.join("inblob"), b"").unwrap();
    fs::write(dir.join("outblob"), outblob).unwrap();
}

#[test]
fn configfs_provider_writes_inblob_and_returns_the_verifiable_quote() {
    let root = tempfile::tempdir().unwrap();
    let binding = register_binding();
    let rd = report_data(&binding);
    let quote = quote_for(&binding);
    fake_entry(root.path(), "e", "tdx_guest\n", "7\n", &quote);
    let provider = ConfigfsTsmProvider::with_root_and_entry(root.path(), "e", TDX_TSM_PROVIDER);
    let got = provider.quote(&rd).unwrap();
    assert_eq!(got, quote);
    assert_eq!(fs::read(root.path().join("e/inblob")).unwrap(), rd.to_vec());
    assert!(verify_quote(&got, &binding, &dev_policy()).is_ok());
}

#[test]
fn configfs_provider_missing_root_is_unavailable() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("no-tsm-here");
    let provider = ConfigfsTsmProvider::with_root(&missing);
    match provider.quote(&[0u8; 64]) {
        Err(ProviderError::Unavailable { path }) => assert_eq!(path, missing),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn configfs_provider_creates_its_entry_and_fails_typed_when_no_kernel_fills_it() {
    let root = tempfile::tempdir().unwrap();
    let provider = ConfigfsTsmProvider::with_root(root.path());
    let err = provider.quote(&[0u8; 64]).unwrap_err();
    assert!(provider.entry_path().is_dir(), "mkdir of the entry happened");
    assert!(
        provider.entry_path().file_name().unwrap().to_string_lossy().starts_with("peerseal-"),
        "entry named after the process"
    );
    match err {
        ProviderError::Io { path, .. } => assert!(path.ends_with("provider")),
        other => panic!("expected Io on the provider attribute, got {other:?}"),
    }
}

#[test]
fn configfs_provider_rejects_another_tee() {
    let root = tempfile::tempdir().unwrap();
    fake_entry(root.path(), "e", "sev_guest\n", "0\n", &[]);
    let provider = ConfigfsTsmProvider::with_root_and_entry(root.path(), "e", TDX_TSM_PROVIDER);
    match provider.quote(&[0u8; 64]) {
        Err(ProviderError::WrongProvider { expected, found }) => {
            assert_eq!(expected, "tdx_guest");
            assert_eq!(found, "sev_guest");
        }
        other => panic!("expected WrongProvider, got {other:?}"),
    }
}

#[test]
fn configfs_provider_rejects_a_quote_for_other_report_data() {
    let root = tempfile::tempdir().unwrap();
    fake_entry(root.path(), "e", "tdx_guest", "1", &quote_for(&register_binding()));
    let provider = ConfigfsTsmProvider::with_root_and_entry(root.path(), "e", TDX_TSM_PROVIDER);
    assert!(matches!(provider.quote(&[0u8; 64]), Err(ProviderError::ReportDataMismatch)));
    // A short outblob cannot carry report data at all.
    fake_entry(root.path(), "short", "tdx_guest", "1", b"short");
    let provider = ConfigfsTsmProvider::with_root_and_entry(root.path(), "short", TDX_TSM_PROVIDER);
    assert!(matches!(provider.quote(&[0u8; 64]), Err(ProviderError::ReportDataMismatch)));
}

#[test]
fn configfs_provider_bounds_the_quote_it_reads() {
    let root = tempfile::tempdir().unwrap();
    let mut huge = quote_for(&register_binding());
    huge.resize(MAX_QUOTE_LEN + 1, 0);
    fake_entry(root.path(), "e", "tdx_guest", "1", &huge);
    let provider = ConfigfsTsmProvider::with_root_and_entry(root.path(), "e", TDX_TSM_PROVIDER);
    assert!(matches!(
        provider.quote(&report_data(&register_binding())),
        Err(ProviderError::QuoteTooLarge)
    ));
}

#[test]
fn configfs_provider_rejects_a_bad_generation() {
    let root = tempfile::tempdir().unwrap();
    fake_entry(root.path(), "e", "tdx_guest", "seven", &quote_for(&register_binding()));
    let provider = ConfigfsTsmProvider::with_root_and_entry(root.path(), "e", TDX_TSM_PROVIDER);
    assert!(matches!(
        provider.quote(&report_data(&register_binding())),
        Err(ProviderError::BadGeneration)
    ));
}

#[test]
fn configfs_provider_detects_a_concurrent_writer() {
    // `outblob` as a FIFO: a second writer bumps `generation` while the provider is reading
    // the quote. Opening a FIFO for write blocks until the provider opens it for read, which
    // it does only after reading `generation` the first time, so the bump falls between the
    // two reads on any machine (no sleeps, no race).
    let root = tempfile::tempdir().unwrap();
    let binding = register_binding();
    fake_entry(root.path(), "e", "tdx_guest", "1\n", b"");
    let generation = root.path().join("e/generation");
    let outblob = root.path().join("e/outblob");
    fs::remove_file(&outblob).unwrap();
    let status = std::process::Command::new("mkfifo").arg(&outblob).status().unwrap();
    assert!(status.success());
    let quote = quote_for(&binding);
    let writer = std::thread::spawn(move || {
        let mut out = fs::OpenOptions::new().write(true).open(&outblob).unwrap();
        fs::write(&generation, "2\n").unwrap();
        std::io::Write::write_all(&mut out, &quote).unwrap();
    });
    let provider = ConfigfsTsmProvider::with_root_and_entry(root.path(), "e", TDX_TSM_PROVIDER);
    let answer = provider.quote(&report_data(&binding));
    writer.join().unwrap();
    match answer {
        Err(ProviderError::GenerationChanged { before: 1, after: 2 }) => {}
        other => panic!("expected GenerationChanged from 1 to 2, got {other:?}"),
    }
}

#[test]
fn configfs_provider_removes_only_the_entry_it_created() {
    let root = tempfile::tempdir().unwrap();
    let provider = ConfigfsTsmProvider::with_root_and_entry(root.path(), "mine", TDX_TSM_PROVIDER);
    assert!(provider.quote(&[0u8; 64]).is_err(), "an empty directory is no kernel");
    assert!(root.path().join("mine").is_dir());
    drop(provider);
    assert!(!root.path().join("mine").exists(), "created entry removed on drop");

    fake_entry(root.path(), "theirs", "tdx_guest", "1", b"");
    let provider =
        ConfigfsTsmProvider::with_root_and_entry(root.path(), "theirs", TDX_TSM_PROVIDER);
    let _ = provider.quote(&[0u8; 64]);
    drop(provider);
    assert!(root.path().join("theirs/provider").exists(), "pre-existing entry left alone");
}

/// A labelled mock image quotes its own measurement, verifies only where that one is accepted,
/// and still binds the report data; the plain mock image is unchanged.
#[test]
fn a_labelled_mock_image_carries_its_own_measurement() {
    use peerseal_attestation::{
        dev_mock_pck, mock_image_measurement, mock_measurement, report_data, verify_quote, Binding,
        Measurement, MockQuoteProvider, PckMode, Policy, VerifyError,
    };
    let pcks = [dev_mock_pck()];
    let accepting = |accepted: &[Measurement]| -> Vec<Measurement> { accepted.to_vec() };
    let check = |quote: &[u8], binding: &Binding<'_>, accepted: Vec<Measurement>| {
        let policy = Policy {
            accepted_measurements: &accepted,
            pck_mode: PckMode::Dev,
            allowed_mock_pcks: &pcks,
        };
        verify_quote(quote, binding, &policy).map(|v| v.measurement)
    };
    let binding = Binding::recover(&[1; 32], &[2; 32], &[3; 32]);
    let quote = MockQuoteProvider::dev().with_image("v2").mock_quote(&report_data(&binding));
    let v2 = mock_image_measurement("v2");
    assert_eq!(check(&quote, &binding, accepting(&[v2])), Ok(v2));
    assert_eq!(
        check(&quote, &binding, accepting(&[mock_measurement()])),
        Err(VerifyError::MeasurementNotAccepted)
    );
    let other = Binding::recover(&[9; 32], &[2; 32], &[3; 32]);
    assert!(matches!(
        check(&quote, &other, accepting(&[v2])),
        Err(VerifyError::ReportDataMismatch { .. })
    ));
    assert_ne!(v2, mock_image_measurement("v3"));
    let plain = MockQuoteProvider::dev().mock_quote(&report_data(&binding));
    assert_eq!(check(&plain, &binding, accepting(&[mock_measurement()])), Ok(mock_measurement()));
}
