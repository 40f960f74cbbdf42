//! The libp2p side: protocol id, length-prefixed frames with a hard bound, the
//! request-response codec, and a constructor for the behaviour.
//!
//! Frame = 4-byte big-endian length ‖ SCALE message. The length is checked against the
//! direction's bound before a single byte of the body is allocated or read; an oversized,
//! empty or undecodable frame is an `io::Error` of kind `InvalidData`, a short one
//! `UnexpectedEof`. Nothing here panics on peer input.

use crate::limits::{MAX_REQUEST_LEN, MAX_RESPONSE_LEN};
use crate::messages::{Request, Response};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::StreamProtocol;
use std::io;
use std::time::Duration;

/// The protocol id, versioned: a breaking wire change gets `/peerseal/backup/2`.
pub const PROTOCOL_NAME: &str = "/peerseal/backup/2";

/// The protocol id as libp2p's type.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new(PROTOCOL_NAME);

/// How long a requester waits for a response. A `Recover` costs the provider one quote
/// verification (milliseconds) plus a chain lookup; 30 s leaves room for a loaded provider
/// without letting a dead one stall a recovery for long (the client then fails over).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Concurrent streams per connection. Every stream holds at most one bounded frame, so this
/// also caps the memory one peer can pin: 64 × 20 KiB.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: usize = 64;

/// The request-response behaviour of the backup protocol.
pub type Behaviour = request_response::Behaviour<BackupCodec>;

/// The events of [`Behaviour`].
pub type Event = request_response::Event<Request, Response>;

/// Builds the behaviour with the default timeout and stream limit. Providers use
/// [`ProtocolSupport::Full`] (or `Inbound`), pure clients [`ProtocolSupport::Outbound`].
pub fn behaviour(support: ProtocolSupport) -> Behaviour {
    behaviour_with(support, DEFAULT_REQUEST_TIMEOUT, DEFAULT_MAX_CONCURRENT_STREAMS)
}

/// Builds the behaviour with an explicit request timeout and per-connection stream limit.
pub fn behaviour_with(
    support: ProtocolSupport,
    request_timeout: Duration,
    max_concurrent_streams: usize,
) -> Behaviour {
    let config = request_response::Config::default()
        .with_request_timeout(request_timeout)
        .with_max_concurrent_streams(max_concurrent_streams);
    Behaviour::with_codec(BackupCodec, [(PROTOCOL, support)], config)
}

fn invalid_data<E: std::error::Error + Send + Sync + 'static>(err: E) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err)
}

/// Reads one frame of at most `max` bytes.
pub async fn read_frame<T: AsyncRead + Unpin>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let len = u32::from_be_bytes(prefix);
    let len = usize::try_from(len).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidData, "frame length does not fit in memory")
    })?;
    if len == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "empty frame"));
    }
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the bound of {max} bytes"),
        ));
    }
    let mut frame = vec![0u8; len];
    io.read_exact(&mut frame).await?;
    Ok(frame)
}

/// Writes one frame; refuses (`InvalidData`) to write more than `max` bytes.
pub async fn write_frame<T: AsyncWrite + Unpin>(
    io: &mut T,
    body: &[u8],
    max: usize,
) -> io::Result<()> {
    if body.is_empty() || body.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {} bytes outside 1..={max}", body.len()),
        ));
    }
    let len = u32::try_from(body.len()).map_err(invalid_data)?;
    // One write for prefix and body: on a yamux stream every write is a frame of its own, and
    // each frame its own noise message and socket write (a syscall, and a wake-up of the peer).
    let mut frame = Vec::with_capacity(body.len().saturating_add(4));
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    io.write_all(&frame).await?;
    io.flush().await
}

/// The request-response codec of `/peerseal/backup/2` (stateless).
#[derive(Clone, Copy, Debug, Default)]
pub struct BackupCodec;

impl request_response::Codec for BackupCodec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let frame = read_frame(io, MAX_REQUEST_LEN).await?;
        Request::from_bytes(&frame).map_err(invalid_data)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        let frame = read_frame(io, MAX_RESPONSE_LEN).await?;
        Response::from_bytes(&frame).map_err(invalid_data)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = request.to_bytes().map_err(invalid_data)?;
        write_frame(io, &bytes, MAX_REQUEST_LEN).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = response.to_bytes().map_err(invalid_data)?;
        write_frame(io, &bytes, MAX_RESPONSE_LEN).await
    }
}
