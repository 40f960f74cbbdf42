//! A real `peerseal-node` dev chain on loopback, started by a test and killed when dropped.
//!
//! Spawning, the bounded wait and where the binary comes from (`PEERSEAL_NODE_BIN`, else next
//! to this test in `<target>/<profile>/`, else built once) live in `peerseal-testkit`. Run
//! `cargo build -p peerseal-node` first to test against the current node sources.
#![allow(dead_code)]
// Fixtures fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// A free loopback TCP port (bound and released; fine for tests on one machine).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A dev chain node: `Node::start_or_panic(args)` adds `--rpc-port 0` unless `args` choose a
/// port and waits, bounded, until it listens.
pub use peerseal_testkit::DevChain as Node;
