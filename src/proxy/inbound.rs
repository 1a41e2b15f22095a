//! A client's request as the proxy forwards it: its body (from hyper on HTTP/1.1, from an h2
//! stream on HTTP/2) as one streamed body type, and who sent it.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;

/// Errors of a body in flight.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body streamed to the backend as the client sends it (never read whole).
pub type RequestBody = UnsyncBoxBody<Bytes, BoxError>;

/// What the proxy needs of a request beyond its head: the body and the client's address.
pub struct Inbound {
    pub peer: SocketAddr,
    /// The client came over TLS (`X-Forwarded-Proto: https`).
    pub tls: bool,
    pub body: RequestBody,
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Inbound({}, tls: {})", self.peer, self.tls)
    }
}

/// No body (a request the transport has none for).
pub fn empty() -> RequestBody {
    http_body_util::Empty::new()
        .map_err(|e| match e {})
        .boxed_unsync()
}

/// The body of an HTTP/1.1 request, as hyper reads it.
pub fn from_hyper(body: hyper::body::Incoming) -> RequestBody {
    body.map_err(BoxError::from).boxed_unsync()
}

/// The body of an HTTP/2 request stream: each chunk's flow-control window is given back once
/// the chunk is handed on, so the client sends no faster than the backend takes it.
pub fn from_h2(stream: h2::RecvStream) -> RequestBody {
    H2Body(stream).boxed_unsync()
}

struct H2Body(h2::RecvStream);

impl Body for H2Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let stream = &mut self.0;
        if !stream.is_end_stream() {
            return match std::task::ready!(stream.poll_data(cx)) {
                Some(Ok(chunk)) => {
                    let _ = stream.flow_control().release_capacity(chunk.len());
                    Poll::Ready(Some(Ok(Frame::data(chunk))))
                }
                Some(Err(err)) => Poll::Ready(Some(Err(err.into()))),
                None => self.poll_trailers(cx),
            };
        }
        self.poll_trailers(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.0.is_end_stream() {
            SizeHint::with_exact(0)
        } else {
            SizeHint::default()
        }
    }
}

impl H2Body {
    fn poll_trailers(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match std::task::ready!(self.0.poll_trailers(cx)) {
            Ok(Some(trailers)) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Ok(None) => Poll::Ready(None),
            Err(err) => Poll::Ready(Some(Err(err.into()))),
        }
    }
}
