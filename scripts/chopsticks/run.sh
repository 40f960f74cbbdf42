#!/usr/bin/env bash
# The peerseal runtime run by a third-party executor (issue 11): builds the wasm runtime
# (scripts/build-runtime-wasm.sh --dev: the dev chain's runtime, dev PCK mode), puts it in the
# dev chain spec and prints that in raw form (`peerseal-node build-spec --wasm --raw`), starts
# Acala's chopsticks (pinned @acala-network/chopsticks, installed once with npm ci) from that
# raw spec with a block per transaction, and the peerseal dev node natively from the same spec,
# then checks:
#   1. check.mjs: chopsticks' genesis state root and hash (its own trie code over the raw
#      storage, `:code` included), the wasm runtime's version and metadata pallets equal the
#      native node's;
#      and, on chopsticks, a feeless `record_backup` by a fund-less dev TSS account;
#   2. ../polkadotjs/check.mjs against chopsticks: the same polkadot.js check CI runs against
#      the dev node (metadata, storage of the peerseal pallets, two signed transfers with their
#      events), now executed by the wasm runtime.
#   3. `peerseal-third-party-chain subxt`, against chopsticks and against the native node: the
#      same reads and transactions with subxt, the client the TSS node uses.
#   4. `peerseal-third-party-chain tss-story` against a second, fresh chopsticks from the same
#      spec: four peerseal-dev TSS nodes back up, one is SIGKILLed and recovers, a governance
#      removal makes its clients back up again. INSECURE dev mode: chopsticks makes no GRANDPA
#      justifications and no read proofs for a chain started from a spec, so these nodes trust
#      the endpoint's finalized head and storage ("finality": "endpoint-unverified" in their
#      trust root, a mode only dev builds have; see tests/src/bin/peerseal-third-party-chain.rs).
# Differences from the native node found on the way (not runtime bugs): chopsticks names its
# genesis block by a placeholder hash (0x4545…); its pool-aware account nonce misses a
# transaction in the block being built, so two quick transactions of one account can share a
# nonce and the second fails as stale (its watch then sends `{"invalid": …}` where Substrate
# sends a bare status, which subxt cannot parse); the TSS node retries such a submission.
# Builds the wasm (release, into $CARGO_TARGET_DIR) but no Rust binaries: $PEERSEAL_NODE_BIN,
# else the debug builds in $CARGO_TARGET_DIR (scripts/test.sh makes them). Every process it
# starts is stopped when it exits.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/peerseal-target}"
node_bin="${PEERSEAL_NODE_BIN:-$CARGO_TARGET_DIR/debug/peerseal-node}"
third_party_bin="$CARGO_TARGET_DIR/debug/peerseal-third-party-chain"
ready_timeout_s=90
check_timeout_s=90
story_timeout_s=600

say() { echo "chopsticks/run.sh: $*"; }

command -v node >/dev/null 2>&1 || { say "node (Node.js) is not installed"; exit 1; }
[ -x "$node_bin" ] || { say "no node binary at $node_bin (cargo build -p peerseal-node)"; exit 1; }
[ -x "$third_party_bin" ] || { say "no $third_party_bin (cargo build -p peerseal-e2e --bins)"; exit 1; }

# Installs the pinned packages of directory $1 when its lock file changed since the last install.
npm_ci() {
  local dir="$1" stamp="$1/node_modules/.peerseal-lock.sha256" sum
  sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    say "installing pinned npm packages in $dir (npm ci)"
    (cd "$dir" && timeout 900 npm ci --no-audit --no-fund --loglevel=error)
    echo "$sum" >"$stamp"
  fi
}
npm_ci "$here"
npm_ci "$repo/scripts/polkadotjs"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "building the wasm runtime (scripts/build-runtime-wasm.sh --dev)"
wasm="$(bash "$repo/scripts/build-runtime-wasm.sh" --dev --locked)"
say "wasm runtime: $wasm ($(stat -c %s "$wasm") bytes)"
# With Cumulus' extension (relay_chain, para_id), as polkadot-omni-node needs it: the very file
# the README gives omni-node is the one chopsticks and the native node run here.
"$node_bin" build-spec --wasm "$wasm" --raw --para-id 2000 >"$work/spec.raw.json" \
  2>"$work/build-spec.err"
say "raw spec: $(stat -c %s "$work/spec.raw.json") bytes"

# Waits until file $2 has a line matching sed pattern $3 (printing its first group), while
# process $1 runs.
wait_for_line() {
  local pid="$1" file="$2" pattern="$3" deadline=$((SECONDS + ready_timeout_s)) found=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    found="$(sed -n "$pattern" "$file" | head -n 1 || true)"
    [ -n "$found" ] && { echo "$found"; return 0; }
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# Starts chopsticks from the raw spec with its output in file $1 and sets $started_url to its
# ws:// URL (not a command substitution: the process must be this shell's child, to be stopped).
start_chopsticks() {
  local out="$1" port pid
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  : >"$out"
  (cd "$here" && exec node node_modules/@acala-network/chopsticks/chopsticks.cjs \
    --genesis "$work/spec.raw.json" --host 127.0.0.1 --port "$port" --build-block-mode Instant \
    >"$out" 2>&1) &
  pid=$!
  pids+=("$pid")
  if ! started_url="$(wait_for_line "$pid" "$out" 's/.*RPC listening on .* and \(ws:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p')"; then
    say "chopsticks did not start; its output:"; tail -n 40 "$out" >&2; return 1
  fi
}
start_chopsticks "$work/chopsticks.out"
chop_url="$started_url"
say "chopsticks (wasm runtime) at $chop_url"

: >"$work/node.out"
"$node_bin" --chain "$work/spec.raw.json" --rpc-port 0 --tmp >"$work/node.out" 2>"$work/node.err" &
pids+=($!)
if ! node_url="$(wait_for_line "${pids[-1]}" "$work/node.out" 's/^RPC listening on \(ws:\/\/[^ ]*\)$/\1/p')"; then
  say "the peerseal node did not start; its log:"; tail -n 40 "$work/node.err" >&2; exit 1
fi
say "peerseal-node (native runtime) at $node_url"

status=0
timeout "$check_timeout_s" node "$here/check.mjs" "$chop_url" "$node_url" || status=$?
if [ "$status" -eq 0 ]; then
  timeout "$check_timeout_s" node "$repo/scripts/polkadotjs/check.mjs" "$chop_url" || status=$?
fi
for url in "$chop_url" "$node_url"; do
  if [ "$status" -eq 0 ]; then
    say "subxt against $url"
    timeout "$check_timeout_s" "$third_party_bin" subxt "$url" || status=$?
  fi
done
if [ "$status" -ne 0 ]; then
  say "a check failed (exit $status); chopsticks' last lines:"
  tail -n 30 "$work/chopsticks.out" >&2
  exit "$status"
fi

start_chopsticks "$work/story-chopsticks.out"
story_url="$started_url"
say "TSS story on a fresh chopsticks at $story_url (INSECURE dev mode: endpoint finality)"
began=$SECONDS
timeout "$story_timeout_s" "$third_party_bin" tss-story "$story_url" || status=$?
if [ "$status" -ne 0 ]; then
  say "the TSS story failed (exit $status); chopsticks' last lines:"
  tail -n 30 "$work/story-chopsticks.out" >&2
  exit "$status"
fi
say "TSS story passed in $((SECONDS - began)) s"
