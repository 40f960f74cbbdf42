#!/usr/bin/env bash
# The project's test command (README): every test of the workspace, unit, integration and doc.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/peerseal-target}"
bash scripts/setup.sh
# The production daemon, by its own command so no other package's features leak into it (the
# tests of tests/production_build.rs run the same command; built here so its compile time is not
# spent inside a test). The workspace test build below makes peerseal-node and peerseal-dev.
cargo build -p peerseal --bin peerseal "$@"
cargo nextest run --workspace --no-fail-fast "$@"
# nextest does not run doc tests; the examples in the docs are tests too.
cargo test --workspace --doc "$@"
