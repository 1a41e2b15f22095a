//! A minimal HTTP/2 client over rustls (or cleartext prior knowledge), shared by `compare` and
//! the integration tests: connect, then send requests on the returned handle.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use anyhow::{Context, Result};
use bytes::Bytes;
use h2::client::SendRequest;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// How to open a connection.
#[derive(Clone)]
pub struct ConnectOptions {
    /// TLS client configuration (ALPN h2); `None` speaks cleartext HTTP/2 with prior knowledge.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Name checked against the certificate (and sent as SNI).
    pub server_name: String,
    /// SETTINGS_ENABLE_PUSH.
    pub enable_push: bool,
    /// SETTINGS_INITIAL_WINDOW_SIZE for streams (h2's default 65,535 when `None`).
    pub stream_window: Option<u32>,
    /// Connection-level window (65,535 when `None`).
    pub connection_window: Option<u32>,
    /// Records the header of every frame the server sends, in arrival order.
    pub frame_log: Option<FrameLog>,
}

/// An open HTTP/2 connection: send requests through `send`; `driver` runs the connection and
/// ends when it closes.
pub struct Connection {
    pub send: SendRequest<Bytes>,
    pub driver: JoinHandle<Result<(), h2::Error>>,
}

/// Connects to `addr`.
pub async fn connect(addr: SocketAddr, options: &ConnectOptions) -> Result<Connection> {
    let tcp = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true)?;
    connect_over(tcp, options).await
}

/// Speaks HTTP/2 (TLS when configured) over an already connected stream.
pub async fn connect_over<IO>(io: IO, options: &ConnectOptions) -> Result<Connection>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match &options.tls {
        Some(config) => {
            let name = ServerName::try_from(options.server_name.clone())
                .with_context(|| format!("{:?} is not a valid server name", options.server_name))?;
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name, io)
                .await
                .context("TLS handshake")?;
            if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
                anyhow::bail!("the server did not agree to HTTP/2 (ALPN h2)");
            }
            match &options.frame_log {
                Some(log) => handshake(tap(tls, log.clone()), options).await,
                None => handshake(tls, options).await,
            }
        }
        None => match &options.frame_log {
            Some(log) => handshake(tap(io, log.clone()), options).await,
            None => handshake(io, options).await,
        },
    }
}

/// `io` with every byte read fed to `log`.
fn tap<IO>(io: IO, log: FrameLog) -> ReadTap<IO, impl FnMut(&[u8]) + Unpin> {
    ReadTap::new(io, move |bytes: &[u8]| log.feed(bytes))
}

async fn handshake<IO>(io: IO, options: &ConnectOptions) -> Result<Connection>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = h2::client::Builder::new();
    builder.enable_push(options.enable_push);
    if let Some(w) = options.stream_window {
        builder.initial_window_size(w);
    }
    if let Some(w) = options.connection_window {
        builder.initial_connection_window_size(w);
    }
    let (send, conn) = builder.handshake(io).await.context("HTTP/2 handshake")?;
    let driver = tokio::spawn(conn);
    Ok(Connection { send, driver })
}

/// The header of one HTTP/2 frame as it arrived, with the time since the log was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub kind: FrameKind,
    pub flags: u8,
    pub stream_id: u32,
    pub len: u32,
    pub at: std::time::Duration,
}

/// HTTP/2 frame types (RFC 9113 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Data,
    Headers,
    Priority,
    RstStream,
    Settings,
    PushPromise,
    Ping,
    GoAway,
    WindowUpdate,
    Continuation,
    Unknown(u8),
}

impl From<u8> for FrameKind {
    fn from(t: u8) -> Self {
        match t {
            0 => FrameKind::Data,
            1 => FrameKind::Headers,
            2 => FrameKind::Priority,
            3 => FrameKind::RstStream,
            4 => FrameKind::Settings,
            5 => FrameKind::PushPromise,
            6 => FrameKind::Ping,
            7 => FrameKind::GoAway,
            8 => FrameKind::WindowUpdate,
            9 => FrameKind::Continuation,
            t => FrameKind::Unknown(t),
        }
    }
}

/// END_STREAM on DATA and HEADERS.
pub const FLAG_END_STREAM: u8 = 0x1;

/// A shared, growing record of the frames a connection received.
#[derive(Debug, Clone)]
pub struct FrameLog {
    inner: Arc<Mutex<LogState>>,
}

#[derive(Debug)]
struct LogState {
    started: Instant,
    frames: Vec<FrameHeader>,
    /// Bytes of the frame header being assembled, then payload bytes still to skip.
    header: Vec<u8>,
    skip: usize,
}

impl Default for FrameLog {
    fn default() -> Self {
        FrameLog {
            inner: Arc::new(Mutex::new(LogState {
                started: Instant::now(),
                frames: Vec::new(),
                header: Vec::with_capacity(9),
                skip: 0,
            })),
        }
    }
}

impl FrameLog {
    /// When the log was made: the zero of every frame's `at`.
    pub fn started(&self) -> Instant {
        self.inner.lock().expect("frame log poisoned").started
    }

    /// The frames received so far.
    pub fn frames(&self) -> Vec<FrameHeader> {
        self.inner
            .lock()
            .expect("frame log poisoned")
            .frames
            .clone()
    }

    fn feed(&self, mut bytes: &[u8]) {
        let mut state = self.inner.lock().expect("frame log poisoned");
        while !bytes.is_empty() {
            if state.skip > 0 {
                let n = state.skip.min(bytes.len());
                state.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            let need = 9 - state.header.len();
            let n = need.min(bytes.len());
            state.header.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if state.header.len() == 9 {
                let h = &state.header;
                let len = u32::from_be_bytes([0, h[0], h[1], h[2]]);
                let frame = FrameHeader {
                    kind: FrameKind::from(h[3]),
                    flags: h[4],
                    stream_id: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
                    len,
                    at: state.started.elapsed(),
                };
                state.frames.push(frame);
                state.header.clear();
                state.skip = len as usize;
            }
        }
    }
}

/// Passes bytes through and shows every read to `on_read`: the frame log here, a byte counter
/// in `compare`.
pub struct ReadTap<IO, F> {
    io: IO,
    on_read: F,
}

impl<IO, F: FnMut(&[u8])> ReadTap<IO, F> {
    pub fn new(io: IO, on_read: F) -> Self {
        ReadTap { io, on_read }
    }
}

impl<IO: AsyncRead + Unpin, F: FnMut(&[u8]) + Unpin> AsyncRead for ReadTap<IO, F> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            (this.on_read)(&buf.filled()[before..]);
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin, F: Unpin> AsyncWrite for ReadTap<IO, F> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_log_splits_frames_across_reads() {
        let log = FrameLog::default();
        // SETTINGS (empty), then HEADERS on stream 1 with a 3-byte payload, fed in odd pieces.
        let mut bytes = vec![0, 0, 0, 4, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(&[0, 0, 3, 1, 0x5, 0, 0, 0, 1, b'a', b'b', b'c']);
        bytes.extend_from_slice(&[0, 0, 0, 0, 0x1, 0x80, 0, 0, 2]);
        for piece in bytes.chunks(4) {
            log.feed(piece);
        }
        let frames = log.frames();
        let kinds: Vec<_> = frames
            .iter()
            .map(|f| (f.kind, f.stream_id, f.len))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (FrameKind::Settings, 0, 0),
                (FrameKind::Headers, 1, 3),
                (FrameKind::Data, 2, 0)
            ]
        );
        assert_eq!(frames[2].flags & FLAG_END_STREAM, FLAG_END_STREAM);
    }
}
