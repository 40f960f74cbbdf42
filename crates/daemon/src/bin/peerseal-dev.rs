//! `peerseal-dev`: the `peerseal` daemon built with the `dev` feature (dev identities, mock
//! quotes, the dev PCK mode, fault hooks) for the devnet, the end-to-end tests and the benches.
//! The same code as `peerseal`; it exists only when the feature is on.

fn main() -> std::process::ExitCode {
    peerseal::cli::main()
}
