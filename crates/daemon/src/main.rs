//! `peerseal`: the TSS node daemon. See the library doc of this crate for what it does.

fn main() -> std::process::ExitCode {
    peerseal::cli::main()
}
