#!/usr/bin/env bash
# Runs check.mjs (polkadot.js) against a fresh in-memory peerseal dev node on a loopback port.
# Builds nothing: the node binary comes from $PEERSEAL_NODE_BIN, else the debug build in
# $CARGO_TARGET_DIR (default $HOME/.cache/peerseal-target). Installs the pinned npm packages
# once (npm ci into scripts/polkadotjs/node_modules). Exits with check.mjs's status; the node
# is always stopped. Needs the machine's Node.js (>= 18) and npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cargo_target="${CARGO_TARGET_DIR:-$HOME/.cache/peerseal-target}"
node_bin="${PEERSEAL_NODE_BIN:-$cargo_target/debug/peerseal-node}"
ready_timeout_s=60
check_timeout_s=90 # check.mjs bounds itself at 60 s; this is the backstop.

say() { echo "polkadotjs/run.sh: $*"; }

command -v node >/dev/null 2>&1 || { say "node (Node.js) is not installed"; exit 1; }
command -v npm >/dev/null 2>&1 || { say "npm is not installed"; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then
  say "Node.js $(node --version) is too old; @polkadot/api needs >= 18"
  exit 1
fi
if [ ! -x "$node_bin" ]; then
  say "no node binary at $node_bin (build it: cargo build -p peerseal-node, or set PEERSEAL_NODE_BIN)"
  exit 1
fi

# Reinstall only when the lock file changed since the last install (npm ci wipes node_modules).
stamp="$here/node_modules/.peerseal-lock.sha256"
lock_sum="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  say "installing pinned npm packages (npm ci)"
  if ! (cd "$here" && timeout 600 npm ci --no-audit --no-fund --loglevel=error); then
    say "npm ci failed (is the npm registry reachable?)"
    exit 1
  fi
  echo "$lock_sum" >"$stamp"
fi
say "$(node --version), @polkadot/api $(node -p "require('$here/node_modules/@polkadot/api/package.json').version")"

work="$(mktemp -d)"
node_pid=""
check_pid=""
cleanup() {
  if [ -n "$check_pid" ]; then kill "$check_pid" 2>/dev/null || true; fi
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill "$node_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting $node_bin --dev --rpc-port 0 --tmp"
# Created here, not by the child's redirection, so the wait loop never reads a missing file.
: >"$work/node.out"
: >"$work/node.err"
"$node_bin" --dev --rpc-port 0 --tmp >"$work/node.out" 2>"$work/node.err" &
node_pid=$!

url=""
deadline=$((SECONDS + ready_timeout_s))
while [ "$SECONDS" -lt "$deadline" ]; do
  url="$(sed -n 's/^RPC listening on \(ws:\/\/[^ ]*\)$/\1/p' "$work/node.out" | head -n 1 || true)"
  [ -n "$url" ] && break
  if ! kill -0 "$node_pid" 2>/dev/null; then
    say "the node exited before serving RPC; its log:"
    tail -n 40 "$work/node.err" >&2
    exit 1
  fi
  sleep 0.2
done
if [ -z "$url" ]; then
  say "the node printed no 'RPC listening on' line within ${ready_timeout_s} s; its log:"
  tail -n 40 "$work/node.err" >&2
  exit 1
fi
case "$url" in
  ws://127.0.0.1:*) ;;
  *) say "the node listens on $url, not on loopback"; exit 1 ;;
esac
say "node ready at $url"

# In the background so that a TERM or INT to this script runs the trap at once.
timeout "$check_timeout_s" node "$here/check.mjs" "$url" &
check_pid=$!
status=0
wait "$check_pid" || status=$?
check_pid=""
if [ "$status" -ne 0 ]; then
  say "check.mjs failed (exit $status); the node's last log lines:"
  tail -n 40 "$work/node.err" >&2
fi
exit "$status"
