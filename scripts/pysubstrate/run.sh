#!/usr/bin/env bash
# Starts a dev chain node on a free loopback port and drives it with py-substrate-interface.
# Node binary: $PEERSEAL_NODE_BIN, default $CARGO_TARGET_DIR/debug/peerseal-node.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/peerseal-target}"
bin="${PEERSEAL_NODE_BIN:-$target/debug/peerseal-node}"
[ -x "$bin" ] || { echo "pysubstrate/run.sh: no node binary at $bin (cargo build -p peerseal-node)"; exit 1; }
PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
log="$(mktemp)"
"$bin" --dev --rpc-port 0 --tmp >"$log.out" 2>"$log" &
node_pid=$!
trap 'kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; rm -f "$log" "$log.out"' EXIT
url=""
for _ in $(seq 1 600); do
  url="$(sed -n 's/^RPC listening on \(ws:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$log.out" 2>/dev/null | head -1)"
  [ -n "$url" ] && break
  kill -0 "$node_pid" 2>/dev/null || { echo "node exited:"; tail -40 "$log"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "node did not start within 60 s"; tail -40 "$log"; exit 1; }
echo "pysubstrate/run.sh: node ready at $url"
if ! timeout 120 python3 "$here/check.py" "$url"; then
  tail -40 "$log"
  exit 1
fi
