//! The one hand-off from the transports to `events::ws`: a WebSocket handshake on the feed's
//! `ws` endpoint is checked, counted against the event-stream budget, answered (101 on
//! HTTP/1.1, 200 on an HTTP/2 extended CONNECT) and its stream handed to the session.
//! On HTTP/2 the stream's DATA frames carry the WebSocket bytes ([`H2Io`], under flow control).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use h2::server::SendResponse;
use h2::{RecvStream, SendStream};
use http::header::{CONNECTION, UPGRADE};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::limits::EventSlot;
use super::State;
use crate::events::{self, ws};
use crate::reply::{Body, Reply};

/// A WebSocket handshake that was accepted: the answer's head, and what the session needs.
pub struct Session {
    state: Arc<State>,
    accepted: ws::Accepted,
    feed: Arc<crate::watch::ChangeFeed>,
    slot: EventSlot,
}

/// The answer's head and the session to run once it is sent, or the refusal.
pub type Opened = Result<(Response<()>, Session), Box<Reply>>;

/// Whether a request asks for the feed's WebSocket endpoint, and if so the answer: `Ok` with
/// the session to run once the answer is sent, or the error reply.
pub fn websocket(
    state: &Arc<State>,
    over: ws::Over,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Option<Opened> {
    let endpoint = events::route(state.changes.as_ref(), &state.config.feed, path)?;
    if !endpoint.is_websocket() {
        return None;
    }
    let asks = match over {
        // The caller has checked `:protocol websocket` on a CONNECT.
        ws::Over::H2 => *method == Method::CONNECT,
        ws::Over::H1 => *method == Method::GET && wants_upgrade(headers),
    };
    if !asks {
        return None;
    }
    Some(open(state, over, endpoint.feed().clone(), query, headers))
}

fn open(
    state: &Arc<State>,
    over: ws::Over,
    feed: Arc<crate::watch::ChangeFeed>,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Opened {
    let accepted = ws::check(over, headers, query)?;
    let slot = state
        .event_streams
        .try_open()
        .ok_or_else(|| Box::new(super::limits::too_many_event_streams()))?;
    let mut head = Response::new(());
    if let Some(accept) = &accepted.accept {
        *head.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = head.headers_mut();
        h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        h.insert(UPGRADE, HeaderValue::from_static("websocket"));
        h.insert("sec-websocket-accept", accept.clone());
    }
    let session = Session {
        state: state.clone(),
        accepted,
        feed,
        slot,
    };
    Ok((head, session))
}

impl Session {
    /// Runs the session on the upgraded stream; the budget slot is held until it ends.
    pub async fn run<IO>(self, io: IO, over: ws::Over)
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let config = &self.state.config;
        let stall = config.limits.send_stall_timeout;
        ws::run(io, over, self.accepted, self.feed, &config.feed, stall).await;
        drop(self.slot);
    }
}

/// `Connection: upgrade` and `Upgrade: websocket`, each among comma-separated tokens.
fn wants_upgrade(headers: &HeaderMap) -> bool {
    let has = |name, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has(CONNECTION, "upgrade") && has(UPGRADE, "websocket")
}

/// Whether an HTTP/2 request is an extended CONNECT for WebSocket (RFC 8441).
pub fn is_h2_websocket<B>(request: &http::Request<B>) -> bool {
    request.method() == Method::CONNECT
        && request
            .extensions()
            .get::<h2::ext::Protocol>()
            .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"))
}

/// Answers an extended CONNECT and runs its session on the stream; the status, for the log.
pub async fn h2(
    request: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    state: &Arc<State>,
) -> StatusCode {
    let (parts, recv) = request.into_parts();
    let (path, query) = (parts.uri.path(), parts.uri.query());
    let opened = websocket(
        state,
        ws::Over::H2,
        &parts.method,
        path,
        query,
        &parts.headers,
    )
    .unwrap_or_else(|| {
        Err(Box::new(Reply::text(
            StatusCode::NOT_FOUND,
            "no WebSocket endpoint here\n",
        )))
    });
    match opened {
        Ok((head, session)) => {
            let status = head.status();
            if let Ok(send) = respond.send_response(head, false) {
                session.run(H2Io::new(send, recv), ws::Over::H2).await;
            }
            status
        }
        Err(reply) => {
            let Reply { head, body } = *reply;
            let status = head.status();
            let bytes = match body {
                Body::Bytes(bytes) => bytes,
                _ => Bytes::new(),
            };
            if let Ok(mut send) = respond.send_response(head, bytes.is_empty()) {
                let _ = send.send_data(bytes, true);
            }
            status
        }
    }
}

/// One HTTP/2 stream as a byte stream: reads are its DATA frames (their window released as
/// they are read), writes wait for flow-control capacity, so a client that does not read
/// holds no more than the window it granted.
pub struct H2Io {
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// What is left of the last DATA frame read.
    pending: Bytes,
}

impl H2Io {
    pub fn new(send: SendStream<Bytes>, recv: RecvStream) -> Self {
        H2Io {
            send,
            recv,
            pending: Bytes::new(),
        }
    }
}

fn h2_error(err: h2::Error) -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, err)
}

impl AsyncRead for H2Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pending.is_empty() {
            match ready!(self.recv.poll_data(cx)) {
                Some(Ok(data)) => {
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    self.pending = data;
                }
                Some(Err(err)) => return Poll::Ready(Err(h2_error(err))),
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending[..n]);
        self.pending.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for H2Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.send.reserve_capacity(buf.len());
        loop {
            let capacity = self.send.capacity();
            if capacity > 0 {
                let n = capacity.min(buf.len());
                self.send
                    .send_data(Bytes::copy_from_slice(&buf[..n]), false)
                    .map_err(h2_error)?;
                return Poll::Ready(Ok(n));
            }
            match ready!(self.send.poll_capacity(cx)) {
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Poll::Ready(Err(h2_error(err))),
                None => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Ending the stream twice is an error h2 reports; either way the stream is done.
        let _ = self.send.send_data(Bytes::new(), true);
        Poll::Ready(Ok(()))
    }
}
