#!/usr/bin/env bash
# Installs what building and testing peerseal needs on a fresh Debian machine with rustup's
# toolchain. Idempotent: safe to run again; skips what is already there.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# Node.js runs the polkadot.js client check (scripts/polkadotjs).
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
# clang compiles secp256k1-sys for the wasm runtime (the no_std production runtime build).
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
# chopsticks' sqlite3 dependency builds from source (scripts/chopsticks): a C++ compiler, make
# and Python for node-gyp.
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    echo "setup: adding rustup component ${component}"
    rustup component add "${component}"
  fi
done

# The production runtime is checked as a no_std wasm build (wasm32v1-none needs rust-src).
if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32v1-none$'; then
  echo "setup: adding rustup target wasm32v1-none"
  rustup target add wasm32v1-none
fi
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  echo "setup: adding rustup component rust-src"
  rustup component add rust-src
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest from crates.io"
  cargo install cargo-nextest --locked
fi
