//! One socket write for everything a yamux connection sends in one pass.
//!
//! yamux flushes its socket after every frame, and with noise below it every flush is a noise
//! message of its own (an AEAD seal, a length prefix) and a `write` to the TCP socket, which
//! on loopback also runs the receiving side's TCP input and wakes the peer. A request-response
//! exchange sends frames back to back: a response's data and then its stream's close, a
//! request's data and then its close. So every answer cost the provider two socket writes and
//! its peer two reads and two decryptions where one would do.
//!
//! [`CoalescedYamux`] is yamux's connection upgrade with one change: the connection's socket is
//! a [`FlushOnRead`], which holds a flush back until the connection next reads from the socket
//! or closes it. yamux reads at the end of every pass over its queues, after it has written
//! every frame queued so far, so the frames of one pass leave as one noise message and one
//! write. A held-back flush also wakes the connection's task once, so the bytes leave on the
//! next pass at the latest even if a yamux version ended a pass without reading.
//!
//! Nothing on the wire changes but the number of noise messages: the same bytes, in the same
//! order, in the same yamux frames. [`crate::network::NetworkConfig::coalesce_writes`] turns
//! it off (every flush passes through), for comparison.

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade, UpgradeInfo};
use libp2p::yamux;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A socket whose flushes are held back until the next read or close (see the module docs).
pub struct FlushOnRead<S> {
    io: S,
    /// Hold flushes back at all; `false` passes every flush through.
    hold: bool,
    /// Bytes were written since the last flush that reached `io`.
    unflushed: bool,
    /// The task was woken for the held-back bytes already (once per batch is enough).
    woken: bool,
}

impl<S> FlushOnRead<S> {
    /// Wraps `io`; with `hold` false it behaves exactly like `io`.
    pub fn new(io: S, hold: bool) -> Self {
        Self { io, hold, unflushed: false, woken: false }
    }
}

impl<S: AsyncWrite + Unpin> FlushOnRead<S> {
    /// Flushes `io` if anything is held back; `Pending` leaves it held (the socket wakes the
    /// task when it can take more).
    fn poll_release(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.unflushed {
            return Poll::Ready(Ok(()));
        }
        let flushed = Pin::new(&mut self.io).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            self.unflushed = false;
            self.woken = false;
        }
        flushed
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for FlushOnRead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // A flush still pending does not keep the read from making progress: both register
        // the task's waker, and the flush is retried on the next read.
        if let Poll::Ready(Err(e)) = this.poll_release(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FlushOnRead<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            // Only held bytes are tracked: without holding, every flush already reached `io`.
            this.unflushed |= this.hold && n > 0;
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.hold {
            return Pin::new(&mut this.io).poll_flush(cx);
        }
        if this.unflushed && !this.woken {
            this.woken = true;
            cx.waker().wake_by_ref();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        futures::ready!(this.poll_release(cx))?;
        Pin::new(&mut this.io).poll_close(cx)
    }
}

/// yamux's connection upgrade over a [`FlushOnRead`] socket. The protocol it negotiates is
/// yamux's own, so peers with plain yamux interoperate.
#[derive(Clone)]
pub struct CoalescedYamux {
    config: yamux::Config,
    hold: bool,
}

impl CoalescedYamux {
    /// `config` with flushes held back when `hold` is true, else plain yamux.
    pub fn new(config: yamux::Config, hold: bool) -> Self {
        Self { config, hold }
    }
}

impl UpgradeInfo for CoalescedYamux {
    type Info = <yamux::Config as UpgradeInfo>::Info;
    type InfoIter = <yamux::Config as UpgradeInfo>::InfoIter;

    fn protocol_info(&self) -> Self::InfoIter {
        self.config.protocol_info()
    }
}

impl<C> InboundConnectionUpgrade<C> for CoalescedYamux
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Output = <yamux::Config as InboundConnectionUpgrade<FlushOnRead<C>>>::Output;
    type Error = <yamux::Config as InboundConnectionUpgrade<FlushOnRead<C>>>::Error;
    type Future = <yamux::Config as InboundConnectionUpgrade<FlushOnRead<C>>>::Future;

    fn upgrade_inbound(self, io: C, info: Self::Info) -> Self::Future {
        self.config.upgrade_inbound(FlushOnRead::new(io, self.hold), info)
    }
}

impl<C> OutboundConnectionUpgrade<C> for CoalescedYamux
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Output = <yamux::Config as OutboundConnectionUpgrade<FlushOnRead<C>>>::Output;
    type Error = <yamux::Config as OutboundConnectionUpgrade<FlushOnRead<C>>>::Error;
    type Future = <yamux::Config as OutboundConnectionUpgrade<FlushOnRead<C>>>::Future;

    fn upgrade_outbound(self, io: C, info: Self::Info) -> Self::Future {
        self.config.upgrade_outbound(FlushOnRead::new(io, self.hold), info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::task::{waker, ArcWake};
    use futures::{AsyncReadExt, AsyncWriteExt};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// An in-memory socket that counts the flushes reaching it.
    #[derive(Default)]
    struct Counting {
        written: Vec<u8>,
        flushed: usize,
        closed: bool,
    }

    impl AsyncRead for Counting {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(0))
        }
    }

    impl AsyncWrite for Counting {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().written.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.get_mut().flushed += 1;
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.get_mut().closed = true;
            Poll::Ready(Ok(()))
        }
    }

    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl ArcWake for Wakes {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(io: &mut FlushOnRead<Counting>, wakes: &Arc<Wakes>) {
        let waker = waker(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(matches!(Pin::new(io).poll_flush(&mut cx), Poll::Ready(Ok(()))));
    }

    #[test]
    fn flushes_are_held_until_the_next_read_and_wake_the_task_once() {
        let wakes = Arc::new(Wakes::default());
        let mut io = FlushOnRead::new(Counting::default(), true);
        // Nothing written: a flush is nothing to hold and no reason to wake.
        flush(&mut io, &wakes);
        assert_eq!((io.io.flushed, wakes.0.load(Ordering::Relaxed)), (0, 0));
        for frame in [&b"first"[..], b"second"] {
            futures::executor::block_on(io.write_all(frame)).unwrap();
            flush(&mut io, &wakes);
        }
        assert_eq!(io.io.flushed, 0, "both frames held");
        assert_eq!(wakes.0.load(Ordering::Relaxed), 1, "one wake per batch");
        let mut buf = [0u8; 8];
        futures::executor::block_on(io.read(&mut buf)).unwrap();
        assert_eq!((io.io.flushed, &io.io.written[..]), (1, &b"firstsecond"[..]));
        // A read with nothing held flushes nothing; the next batch wakes again.
        futures::executor::block_on(io.read(&mut buf)).unwrap();
        assert_eq!(io.io.flushed, 1);
        futures::executor::block_on(io.write_all(b"third")).unwrap();
        flush(&mut io, &wakes);
        assert_eq!(wakes.0.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn closing_releases_what_is_held() {
        let wakes = Arc::new(Wakes::default());
        let mut io = FlushOnRead::new(Counting::default(), true);
        futures::executor::block_on(io.write_all(b"last words")).unwrap();
        flush(&mut io, &wakes);
        futures::executor::block_on(io.close()).unwrap();
        assert!(io.io.flushed == 1 && io.io.closed);
    }

    #[test]
    fn without_holding_every_flush_passes_through() {
        let wakes = Arc::new(Wakes::default());
        let mut io = FlushOnRead::new(Counting::default(), false);
        for _ in 0..3 {
            futures::executor::block_on(io.write_all(b"frame")).unwrap();
            flush(&mut io, &wakes);
        }
        assert_eq!((io.io.flushed, wakes.0.load(Ordering::Relaxed)), (3, 0));
    }
}
