#!/usr/bin/env bash
# The project's test command (README): every test of the workspace, unit, integration and doc.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/peerseal-target}"
bash scripts/setup.sh
# The binaries the process-level tests run, each built by its own command so no other package's
# features leak into it (the same commands peerseal-testkit would run on first use):
#   peerseal-node (dev chain), peerseal-dev (daemon with the dev feature), peerseal (production).
cargo build -p peerseal-node "$@"
cargo build -p peerseal --features dev --bin peerseal-dev "$@"
cargo build -p peerseal --bin peerseal "$@"
cargo nextest run --workspace --no-fail-fast "$@"
# nextest does not run doc tests; the examples in the docs are tests too.
cargo test --workspace --doc "$@"
