//! One task per connection: admission (its first bytes, then for TLS a handshake slot and the
//! handshake, each under `--handshake-timeout`; see `admission`), then a connection slot, then
//! the protocol the client chose (ALPN `h2` → HTTP/2; `http/1.1` or no ALPN → HTTP/1.1; on the
//! cleartext port, the HTTP/2 preface → h2c, anything else → HTTP/1.1), and at the end a
//! lingering close so the last bytes reach the client.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, Instrument};

use super::admission::{Admission, Refusal};
use super::{h1, h2, Signals, State};
use crate::config::LINGER_TIMEOUT;

/// What a listener's connections start with: TLS with ALPN, or cleartext (h2c with prior
/// knowledge, or HTTP/1.1).
#[derive(Clone)]
pub enum Transport {
    Tls(TlsAcceptor),
    Cleartext,
}

impl Transport {
    pub fn scheme(&self) -> http::uri::Scheme {
        match self {
            Transport::Tls(_) => http::uri::Scheme::HTTPS,
            Transport::Cleartext => http::uri::Scheme::HTTP,
        }
    }
}

/// The HTTP/2 connection preface a cleartext client with prior knowledge starts with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves one TCP connection to the end.
pub(super) async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    transport: Transport,
    state: Arc<State>,
    signals: Signals,
    admission: Arc<Admission>,
) {
    let span = tracing::debug_span!("conn", %peer);
    async move {
        // A second handle on the socket outlives the protocol's, for the lingering close.
        let Some(linger) = duplicate(&tcp) else {
            return;
        };
        let scheme = transport.scheme();
        let refusals = &state.refusals;
        let timeout = state.config.limits.handshake_timeout;
        let started = tokio::select! {
            started = admit(tcp, transport, &admission, timeout) => started,
            _ = signals.shutdown.cancelled() => return,
        };
        let protocol = match started {
            Ok(protocol) => protocol,
            Err(Refused(why, cause)) => {
                debug!(cause = %cause, "closed before its first request");
                return refusals.refuse(why);
            }
        };
        let Some(_permit) = state.connection_slot(&signals).await else {
            return;
        };
        match protocol {
            Started::H2Tls(io) => h2::serve(io, peer, scheme, state, signals).await,
            Started::H1Tls(io) => h1::serve(io, peer, scheme, state, signals).await,
            Started::H2(io) => h2::serve(io, peer, scheme, state, signals).await,
            Started::H1(io) => h1::serve(io, peer, scheme, state, signals).await,
        }
        linger_close(linger).await;
    }
    .instrument(span)
    .await
}

/// Why a connection was closed before it started, and the detail for the debug log.
struct Refused(Refusal, String);

/// The connection's way to its protocol, through the admission gates (see
/// [`super::admission`]): its first bytes within `timeout` (evictable while silent), then for
/// TLS a handshake slot and the handshake within `timeout` of getting it; for cleartext the
/// preface sniff within `timeout` of the accept.
async fn admit(
    tcp: TcpStream,
    transport: Transport,
    admission: &Admission,
    timeout: Duration,
) -> Result<Started, Refused> {
    let deadline = Instant::now() + timeout;
    let timed_out = || Refused(Refusal::HandshakeTimeout, "handshake timed out".into());
    let silent = admission.silent(Some(tcp.as_raw_fd()));
    let mut first = [0u8; 1];
    tokio::select! {
        // `readable` can be spurious; `peek` waits for a byte (or end of stream) for real.
        spoke = tokio::time::timeout_at(deadline, tcp.peek(&mut first)) => match spoke {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Err(Refused(Refusal::HandshakeFailed, err.to_string())),
            Err(_) => return Err(timed_out()),
        },
        _ = silent.evicted() => {
            return Err(Refused(Refusal::Silent, "evicted: silent while sockets ran out".into()));
        }
    }
    drop(silent);
    let acceptor = match transport {
        Transport::Cleartext => {
            return match tokio::time::timeout_at(deadline, sniff_h2_preface(&tcp)).await {
                Ok(Ok(true)) => Ok(Started::H2(tcp)),
                Ok(Ok(false)) => Ok(Started::H1(tcp)),
                Ok(Err(err)) => Err(Refused(Refusal::HandshakeFailed, err.to_string())),
                Err(_) => Err(timed_out()),
            };
        }
        Transport::Tls(acceptor) => acceptor,
    };
    // Waiting for a slot is not the client's delay: a flash crowd on a busy server waits its
    // turn (bounded by the socket budget), and the handshake gets its full time once it starts.
    let slot = admission.handshake(Some(tcp.as_raw_fd())).await;
    let deadline = Instant::now() + timeout;
    let tls = tokio::select! {
        tls = tokio::time::timeout_at(deadline, acceptor.accept(tcp)) => match tls {
            Ok(Ok(tls)) => tls,
            Ok(Err(err)) => return Err(Refused(Refusal::HandshakeFailed, err.to_string())),
            Err(_) => return Err(timed_out()),
        },
        _ = slot.evicted() => {
            return Err(Refused(Refusal::SlowHandshake, "evicted: handshake too slow".into()));
        }
    };
    Ok(match tls.get_ref().1.alpn_protocol() {
        Some(b"h2") => Started::H2Tls(tls),
        _ => Started::H1Tls(tls),
    })
}

type Tls = tokio_rustls::server::TlsStream<TcpStream>;

/// A connection past its handshake, with the protocol it speaks.
enum Started {
    H2Tls(Tls),
    H1Tls(Tls),
    H2(TcpStream),
    H1(TcpStream),
}

/// Whether a cleartext client starts with the HTTP/2 preface, looked at without consuming it.
async fn sniff_h2_preface(tcp: &TcpStream) -> std::io::Result<bool> {
    let mut buf = [0u8; H2_PREFACE.len()];
    loop {
        tcp.readable().await?;
        let n = tcp.peek(&mut buf).await?;
        if n == 0 || buf[..n] != H2_PREFACE[..n] {
            return Ok(false);
        }
        if n == H2_PREFACE.len() {
            return Ok(true);
        }
        // A prefix of the preface so far: wait for the rest of it.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn duplicate(tcp: &TcpStream) -> Option<TcpStream> {
    use std::os::fd::{AsFd, BorrowedFd};
    let fd: BorrowedFd<'_> = tcp.as_fd();
    let owned = fd.try_clone_to_owned().ok()?;
    let std = std::net::TcpStream::from(owned);
    std.set_nonblocking(true).ok()?;
    TcpStream::from_std(std).ok()
}

/// Closes our side, then reads what the client still sends until it closes too (or
/// [`LINGER_TIMEOUT`]): a socket closed with unread bytes sends a reset, and a reset can
/// destroy the end of a response the client has not read yet.
async fn linger_close(mut tcp: TcpStream) {
    let _ = tcp.shutdown().await;
    let drain = async {
        let mut buf = [0u8; 4096];
        while let Ok(n) = tcp.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIMEOUT, drain).await;
}
