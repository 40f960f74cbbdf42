#!/usr/bin/env python3
"""Layering check: no peerseal crate that the backup library links depends directly on a CLI,
HTTP, metrics-exposition or temp-file crate. What the library's own code pulls in is what counts:
Substrate's `sp-trie` (std, needed by the read-proof checker) links its cache-metrics endpoint
(prometheus, hyper) transitively, which the library never starts, so transitive dependencies of
third-party crates are not held against it; its own crates' direct dependencies are.

Usage: python3 scripts/ci/layering.py ROOT_PACKAGE FORBIDDEN... (reads `cargo metadata`)."""
import json
import subprocess
import sys

root_name, forbidden = sys.argv[1], set(sys.argv[2:])
meta = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
packages = {p["id"]: p for p in meta["packages"]}
members = set(meta["workspace_members"])
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
root = next(i for i in members if packages[i]["name"] == root_name)


def normal_deps(node_id):
    for dep in nodes[node_id]["deps"]:
        if any(k["kind"] is None for k in dep["dep_kinds"]):
            yield dep["pkg"]


# The workspace crates reachable from the root through normal dependencies.
seen, todo = set(), [root]
while todo:
    current = todo.pop()
    if current in seen:
        continue
    seen.add(current)
    todo.extend(d for d in normal_deps(current) if d in members)

bad = []
for member in sorted(seen, key=lambda i: packages[i]["name"]):
    for dep in normal_deps(member):
        if packages[dep]["name"] in forbidden:
            bad.append(f"{packages[member]['name']} -> {packages[dep]['name']}")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print(f"ok: {', '.join(sorted(packages[i]['name'] for i in seen))} depend on none of {sorted(forbidden)}")
