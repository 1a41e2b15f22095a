//! Write coalescing between h2 and TLS.
//!
//! h2 flushes whenever its connection task has nothing more to read, which under load means a
//! TLS record and a `writev` for every two or three responses: most of h2push's time went to the
//! kernel. [`Coalesce`] buffers what h2 writes, and on the first flush of a batch yields once to
//! the scheduler (waking itself) so that stream tasks that are ready can add their frames; the
//! next poll writes the whole batch to TLS at once. The delay is one scheduler pass, and the
//! buffer is bounded by [`COALESCE_MAX`]: past it, writes go through without waiting.
//!
//! The connection task can also [`Hold`] flushes while it answers a run of requests that
//! arrived together: h2 flushes each time the task asks it for the next request, so without
//! the hold a read of ten requests went out as five writes of two responses. Held flushes
//! report success and keep the bytes; the task lets go when no request is left, and the next
//! flush writes the whole run at once.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes buffered before a write goes through without waiting for a flush.
pub const COALESCE_MAX: usize = 64 * 1024;

/// An IO whose writes are gathered until a flush, with one yield per batch.
pub struct Coalesce<IO> {
    io: IO,
    buf: BytesMut,
    yielded: bool,
    hold: Hold,
}

/// While held, a [`Coalesce`] keeps what it is asked to flush (up to [`COALESCE_MAX`]).
#[derive(Debug, Clone, Default)]
pub struct Hold(Arc<AtomicBool>);

impl Hold {
    /// Flushes are held from now on.
    pub fn hold(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Lets go; returns whether flushes were held (and so may have left bytes to write).
    pub fn release(&self) -> bool {
        self.0.swap(false, Ordering::Relaxed)
    }

    fn is_held(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl<IO> Coalesce<IO> {
    pub fn new(io: IO) -> Self {
        Coalesce {
            io,
            buf: BytesMut::with_capacity(16 * 1024),
            yielded: false,
            hold: Hold::default(),
        }
    }

    /// The handle that holds this IO's flushes.
    pub fn hold(&self) -> Hold {
        self.hold.clone()
    }
}

impl<IO: AsyncWrite + Unpin> Coalesce<IO> {
    /// Writes the buffer to the inner IO.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.buf.is_empty() {
            let n = std::task::ready!(Pin::new(&mut self.io).poll_write(cx, &self.buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.buf.advance(n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Coalesce<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Coalesce<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.buf.len() >= COALESCE_MAX {
            std::task::ready!(self.poll_drain(cx))?;
        }
        self.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.buf.len() >= COALESCE_MAX {
            std::task::ready!(self.poll_drain(cx))?;
        }
        let mut n = 0;
        for b in bufs {
            self.buf.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.hold.is_held() {
            // The connection task flushes for real when it lets go.
            return Poll::Ready(Ok(()));
        }
        if !self.buf.is_empty() && !self.yielded {
            // Let ready stream tasks queue their frames before this batch goes out.
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        std::task::ready!(self.poll_drain(cx))?;
        self.yielded = false;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn writes_arrive_whole_and_in_order_after_flush() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut w = Coalesce::new(a);
        let mut expected = Vec::new();
        for i in 0..10_000u32 {
            let chunk = i.to_be_bytes();
            w.write_all(&chunk).await.unwrap();
            expected.extend_from_slice(&chunk);
        }
        w.flush().await.unwrap();
        let mut got = vec![0; expected.len()];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(got, expected);
    }

    #[tokio::test]
    async fn a_held_flush_keeps_the_bytes_until_released() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut w = Coalesce::new(a);
        let hold = w.hold();
        hold.hold();
        w.write_all(b"one").await.unwrap();
        w.flush().await.unwrap();
        w.write_all(b"two").await.unwrap();
        w.flush().await.unwrap();
        let mut one = [0u8; 1];
        let early =
            tokio::time::timeout(std::time::Duration::from_millis(50), b.read(&mut one)).await;
        assert!(early.is_err(), "bytes went out while held");
        assert!(hold.release());
        assert!(!hold.release());
        w.flush().await.unwrap();
        let mut got = [0u8; 6];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"onetwo");
    }

    #[tokio::test]
    async fn nothing_is_written_before_a_flush_under_the_limit() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut w = Coalesce::new(a);
        w.write_all(b"held").await.unwrap();
        let mut one = [0u8; 1];
        let early =
            tokio::time::timeout(std::time::Duration::from_millis(50), b.read(&mut one)).await;
        assert!(early.is_err(), "bytes went out before the flush");
        w.flush().await.unwrap();
        let mut got = [0u8; 4];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"held");
    }
}
