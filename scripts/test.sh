#!/usr/bin/env bash
# The project's test command (README): every test of the workspace, unit, integration and doc.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/peerseal-target}"
bash scripts/setup.sh
cargo nextest run --workspace --no-fail-fast "$@"
# nextest does not run doc tests; the examples in the docs are tests too.
cargo test --workspace --doc
