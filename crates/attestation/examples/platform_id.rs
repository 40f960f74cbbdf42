//! Prints the platform id (PPID) of a TDX quote file, as providers compute it: what governance
//! names in `Registry.approve_move` when a node moves to another host.
//!
//! `cargo run -p peerseal-attestation --example platform_id -- QUOTE_FILE [--dev]`
//!
//! Production mode (the default) verifies the quote's PCK chain to Intel's root first; `--dev`
//! also reads the platform a mock quote claims.

use peerseal_attestation::{platform_id, PckMode, MAX_QUOTE_LEN};
use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: platform_id QUOTE_FILE [--dev]");
        return ExitCode::from(2);
    };
    let mode =
        if args.next().as_deref() == Some("--dev") { PckMode::Dev } else { PckMode::Production };
    let mut quote = Vec::new();
    // One byte more than the bound, so an oversized file is refused by `platform_id` unread.
    let read = std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_QUOTE_LEN as u64 + 1).read_to_end(&mut quote));
    if let Err(error) = read {
        eprintln!("reading {path}: {error}");
        return ExitCode::FAILURE;
    }
    match platform_id(&quote, mode) {
        Ok(platform) => {
            println!("0x{}", hex::encode(platform.0));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{path}: {error}");
            ExitCode::FAILURE
        }
    }
}
