//! A client that writes raw bytes on the backup protocol (`/peerseal/backup/2`), to send
//! frames no honest codec would produce: oversized length prefixes, bytes that are not SCALE
//! of any request. Used by the adversarial and flood tests.

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use std::io;
use std::time::Duration;

/// Writes the request bytes as they are; reads whatever comes back (at most 4 KiB).
#[derive(Clone, Default)]
pub struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        Err(io::Error::other("client only"))
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let mut out = Vec::new();
        io.take(4096).read_to_end(&mut out).await?;
        if out.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no response"));
        }
        Ok(out)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        bytes: Vec<u8>,
    ) -> io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        io.write_all(&bytes).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Vec<u8>,
    ) -> io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        Err(io::Error::other("client only"))
    }
}

/// A swarm (fresh identity) that sends raw request streams.
pub type RawSwarm = Swarm<request_response::Behaviour<RawCodec>>;

/// A swarm with a fresh identity that sends raw request streams on the backup protocol.
pub fn raw_swarm() -> RawSwarm {
    let behaviour = request_response::Behaviour::with_codec(
        RawCodec,
        [(peerseal_protocol::PROTOCOL, ProtocolSupport::Outbound)],
        request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
    );
    // Provably infallible here: the TCP transport and a behaviour without fallible setup are
    // the only parts, and both constructors only fail for other transports.
    #[allow(clippy::expect_used)]
    let swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .expect("the tcp transport builds")
        .with_behaviour(|_| behaviour)
        .expect("the behaviour builds")
        .build();
    swarm
}

/// Sends `bytes` as one request stream to `peer`; `Ok` only if the provider answered something.
pub async fn send(peer: PeerId, addrs: Vec<Multiaddr>, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let mut swarm = raw_swarm();
    swarm.behaviour_mut().send_request_with_addresses(&peer, bytes, addrs);
    let outcome = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let SwarmEvent::Behaviour(event) = swarm.select_next_some().await {
                match event {
                    request_response::Event::Message {
                        message: request_response::Message::Response { response, .. },
                        ..
                    } => return Ok(response),
                    request_response::Event::OutboundFailure { error, .. } => {
                        return Err(error.to_string())
                    }
                    _ => {}
                }
            }
        }
    })
    .await;
    outcome.unwrap_or_else(|_| Err("timed out".to_owned()))
}
