//! Compiles a chain trust root into the binary when `PEERSEAL_TRUST_ROOT_FILE` names one at
//! build time (see `src/trust_root.rs`); otherwise an empty placeholder.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=PEERSEAL_TRUST_ROOT_FILE");
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("trust_root.json");
    let content = match std::env::var_os("PEERSEAL_TRUST_ROOT_FILE") {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", PathBuf::from(&path).display());
            match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    println!("cargo:warning=PEERSEAL_TRUST_ROOT_FILE {path:?}: {e}");
                    std::process::exit(1);
                }
            }
        }
        None => String::new(),
    };
    if let Err(e) = std::fs::write(&out, content) {
        println!("cargo:warning=writing {}: {e}", out.display());
        std::process::exit(1);
    }
}
