#!/usr/bin/env bash
# Builds the peerseal runtime as a Substrate wasm blob (the `:code` of a chain spec) and prints
# its path. The production runtime by default; `--dev` adds the dev PCK mode (mock quotes), for
# dev chain specs only.
#
# What substrate-wasm-builder does, without it: `cargo rustc --crate-type cdylib` for
# `wasm32v1-none` (MVP wasm; no sign-ext or reference types), `--cfg substrate_runtime`, memory
# imported from the host, `__heap_base` and the function table exported. The builder would also
# run binaryen's wasm-opt (StripDwarf, and sign-ext lowering that wasm32v1-none does not need):
# building binaryen from C++ sources took 6 min 17 s on this 2-core machine kind, more than the
# runtime itself (2 min 24 s from nothing, release). The blob is left uncompressed (Substrate's
# `maybe-compressed` format accepts it).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/peerseal-target}"
features=()
if [ "${1:-}" = "--dev" ]; then features=(--features dev-pck); shift; fi
# The flags of the final link only reach the runtime crate (cargo rustc passes them to it);
# RUSTFLAGS applies to every crate of the wasm build (the `substrate_runtime` cfg).
RUSTFLAGS="--cfg substrate_runtime" cargo rustc -p peerseal-runtime --target wasm32v1-none \
  --no-default-features "${features[@]}" --release --crate-type cdylib "$@" -- \
  -C link-arg=--export-table -C link-arg=--export=__heap_base -C link-arg=--import-memory >&2
echo "$CARGO_TARGET_DIR/wasm32v1-none/release/peerseal_runtime.wasm"
