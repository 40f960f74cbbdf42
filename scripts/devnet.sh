#!/usr/bin/env bash
# The devnet with its binaries, for people who want each process in its own terminal (or to
# poke at it): builds peerseal-node, peerseal-dev (the daemon with the dev feature) and
# peerseal-devnet, then either
#   scripts/devnet.sh            runs `peerseal-devnet --keep-running` (story, then stays up), or
#   scripts/devnet.sh manual     starts the dev chain and four nodes by hand and prints the
#                                commands; logs and data in $DEVNET_DIR (default: a temp dir).
# Ctrl-C stops every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/peerseal-target}"
# The same commands peerseal-testkit runs, so each binary keeps its own feature set.
cargo build --release -p peerseal-node
cargo build --release -p peerseal --features dev --bin peerseal-dev
cargo build --release -p peerseal-devnet
BIN="$CARGO_TARGET_DIR/release"

if [[ "${1:-}" != "manual" ]]; then
  exec "$BIN/peerseal-devnet" --keep-running
fi

DIR="${DEVNET_DIR:-$(mktemp -d -t peerseal-devnet-XXXX)}"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

"$BIN/peerseal-node" --dev --rpc-port 9944 >"$DIR/chain.out" 2>"$DIR/chain.log" &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "RPC listening" "$DIR/chain.out" 2>/dev/null && break; sleep 0.2; done
echo "dev chain: ws://127.0.0.1:9944 (log $DIR/chain.log)"
# The nodes trust only this chain: its trust root (genesis hash and genesis GRANDPA set) is
# computed from the chain's own spec; dev builds take it as a file, a production image carries
# it compiled in or beside the binary (docs/deployment.md).
"$BIN/peerseal-node" trust-root >"$DIR/trust-root.json"

port=9616
for name in alice bob charlie dave; do
  "$BIN/peerseal-dev" run --dev-identity "$name" --chain-url ws://127.0.0.1:9944 \
    --trust-root "$DIR/trust-root.json" --data-dir "$DIR/$name" --http "127.0.0.1:$port" >"$DIR/$name.out" 2>"$DIR/$name.log" &
  PIDS+=($!)
  echo "$name: pid $! status: $BIN/peerseal-dev status --http 127.0.0.1:$port (log $DIR/$name.log)"
  port=$((port + 1))
done
echo "kill -9 a node's pid and re-run its line above to watch it recover; Ctrl-C stops all."
wait
