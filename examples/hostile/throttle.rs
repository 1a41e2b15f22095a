//! A socket read at a fixed rate, like `curl --limit-rate` or a slow link: the client grants a
//! huge HTTP/2 window, so only TCP holds the server back, and the server's writes sit in kernel
//! buffers for a long time before the client has them.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Bytes that may be read at once ahead of the rate (enough for a TLS handshake).
const BURST: u64 = 64 * 1024;

/// `io`, read at no more than `rate` bytes per second on average.
pub struct Throttle<IO> {
    io: IO,
    rate: f64,
    started: Instant,
    read: u64,
    wait: Option<Pin<Box<Sleep>>>,
}

impl<IO> Throttle<IO> {
    pub fn new(io: IO, rate: f64) -> Self {
        Throttle {
            io,
            rate,
            started: Instant::now(),
            read: 0,
            wait: None,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Throttle<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            if let Some(wait) = &mut this.wait {
                ready!(wait.as_mut().poll(cx));
                this.wait = None;
            }
            let earned = (this.started.elapsed().as_secs_f64() * this.rate) as u64 + BURST;
            let allowed = earned.saturating_sub(this.read);
            if allowed == 0 {
                // Sleep until a TLS record's worth (16 KiB) may be read.
                let due = (this.read + 16 * 1024 - BURST) as f64 / this.rate;
                let at = this.started + Duration::from_secs_f64(due);
                this.wait = Some(Box::pin(tokio::time::sleep_until(at)));
                continue;
            }
            let n = allowed.min(buf.remaining() as u64) as usize;
            let mut part = buf.take(n);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut part))?;
            let filled = part.filled().len();
            // SAFETY: `part` is a view of `buf`'s unfilled part; the reader initialised `filled`
            // bytes of it.
            unsafe { buf.assume_init(filled) };
            buf.advance(filled);
            this.read += filled as u64;
            return Poll::Ready(Ok(()));
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Throttle<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
