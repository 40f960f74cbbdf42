//! Flood attackers for the flood test and the recovery bench: libp2p peers (each its own
//! identity) that keep the backup protocol busy with spoofed `RequestNonce` and
//! `HealthChallenge` naming a victim, nonces for made-up accounts and `Recover` with junk
//! quotes, and a sender of oversized and garbage frames and plain TCP garbage. They run until
//! told to stop and report how much they sent.

use futures::stream::{FuturesUnordered, StreamExt};
use libp2p::{Multiaddr, PeerId};
use peerseal_backup::network::{self, NetworkConfig, NetworkHandle};
use peerseal_protocol::{
    AccountId, AccountKeypair, HealthChallenge, Nonce32, QuoteBytes, Recover, Request,
    RequestNonce, X25519Secret,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::raw_frames;

/// Requests each protocol attacker keeps in flight (a connection's stream limit is 64).
pub const IN_FLIGHT: usize = 24;

/// A provider under attack: its account, peer id and addresses.
#[derive(Clone, Debug)]
pub struct FloodTarget {
    pub account: AccountId,
    pub peer: PeerId,
    pub addrs: Vec<Multiaddr>,
}

/// `N` bytes from [`rand_word`].
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(8) {
        let word = rand_word().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    out
}

/// A cheap, non-cryptographic source for made-up accounts and junk (the attacker's choice).
pub fn rand_word() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

/// One hostile request, chosen by `n`.
pub fn hostile(
    n: u64,
    victim: AccountId,
    provider: &FloodTarget,
    spoofer: &AccountKeypair,
) -> Request {
    match n % 4 {
        0 => Request::RequestNonce(RequestNonce { account: victim }),
        1 => {
            let mut spoofed =
                HealthChallenge::sign(spoofer, provider.account, 1, Nonce32(random_bytes()));
            spoofed.account = victim;
            Request::HealthChallenge(spoofed)
        }
        2 => Request::RequestNonce(RequestNonce { account: AccountId(random_bytes()) }),
        _ => Request::Recover(Recover {
            account: victim,
            epoch: 1,
            response_pk: X25519Secret::generate().public(),
            // 600 bytes always fit the quote bound.
            quote: QuoteBytes::new(vec![0x42; 600]).unwrap_or_else(|_| unreachable!()),
        }),
    }
}

/// Floods `targets` over the backup protocol from a fresh libp2p identity until `stop`;
/// returns how many requests it sent.
pub async fn protocol_attacker(
    targets: Vec<FloodTarget>,
    victim: AccountId,
    stop: Arc<AtomicBool>,
) -> Result<u64, String> {
    let config = NetworkConfig { listen: vec![], serve: false, ..NetworkConfig::default() };
    let (net, _, _task): (NetworkHandle, _, _) =
        network::start(libp2p::identity::Keypair::generate_ed25519(), config)
            .await
            .map_err(|e| e.to_string())?;
    let spoofer = AccountKeypair::from_seed(&random_bytes()).map_err(|e| format!("{e:?}"))?;
    let mut sent = 0u64;
    let mut in_flight = FuturesUnordered::new();
    while !stop.load(Ordering::Relaxed) {
        while in_flight.len() < IN_FLIGHT {
            let to = &targets[(sent as usize) % targets.len()];
            let request = hostile(sent / targets.len() as u64, victim, to, &spoofer);
            let (net, peer, addrs) = (net.clone(), to.peer, to.addrs.clone());
            in_flight.push(async move { net.request(peer, addrs, request).await });
            sent += 1;
        }
        in_flight.next().await;
    }
    Ok(sent)
}

/// The TCP port of a multiaddr, if it has one.
pub fn tcp_port(addr: &Multiaddr) -> Option<u16> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
        _ => None,
    })
}

/// Sends oversized and garbage frames on the backup protocol, and raw TCP garbage to the
/// listeners, until `stop`; returns how many it sent.
pub async fn frame_attacker(targets: Vec<FloodTarget>, stop: Arc<AtomicBool>) -> u64 {
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let to = &targets[(sent as usize) % targets.len()];
        let mut frame = if sent.is_multiple_of(2) {
            (1u32 << 24).to_be_bytes().to_vec() // announces 16 MiB: over the bound
        } else {
            64u32.to_be_bytes().to_vec() // well-sized, not SCALE of any request
        };
        frame.extend_from_slice(&[0xFF; 64]);
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            raw_frames::send(to.peer, to.addrs.clone(), frame),
        )
        .await;
        if let Some(port) = to.addrs.first().and_then(tcp_port) {
            if let Ok(mut tcp) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                use tokio::io::AsyncWriteExt;
                let _ = tcp.write_all(&random_bytes::<512>()).await;
            }
        }
        sent += 2;
    }
    sent
}
