//! What the server answers, independent of the protocol that carries it: a response head and
//! where its body comes from. `files` and `events` produce a [`Reply`]; the HTTP/2 and HTTP/1.1
//! transports in `serve` put it on the wire. Nothing here knows h2 or hyper.

use std::fs::File;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};

/// A body produced as it goes (an event stream): chunks until the source ends. The transport
/// pulls a chunk only when the client can take it, so an unread stream holds no more than one.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

/// Where a response body's bytes come from.
pub enum Body {
    Empty,
    Bytes(Bytes),
    /// `len` bytes of `file` from `offset`.
    File {
        file: File,
        offset: u64,
        len: u64,
    },
    /// Chunks of unknown total length, sent as they come.
    Stream(ChunkStream),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Bytes(b) => write!(f, "Bytes({})", b.len()),
            Body::File { offset, len, .. } => write!(f, "File({offset}+{len})"),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl Body {
    /// The body's length when known before sending (`None` for a stream).
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Bytes(b) => Some(b.len() as u64),
            Body::File { len, .. } => Some(*len),
            Body::Stream(_) => None,
        }
    }

    /// Nothing to send after the head.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

/// A response head and its body.
#[derive(Debug)]
pub struct Reply {
    pub head: Response<()>,
    pub body: Body,
}

impl Reply {
    pub fn new(head: Response<()>, body: Body) -> Self {
        Reply { head, body }
    }

    /// A short `text/plain` answer with its `Content-Length`.
    pub fn text(status: StatusCode, message: &'static str) -> Self {
        let mut head = Response::new(());
        *head.status_mut() = status;
        let headers = head.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(CONTENT_LENGTH, HeaderValue::from(message.len()));
        Reply::new(head, Body::Bytes(Bytes::from_static(message.as_bytes())))
    }

    pub fn status(&self) -> StatusCode {
        self.head.status()
    }

    /// The same head with no body, for a HEAD request.
    pub fn head_only(self) -> Self {
        Reply::new(self.head, Body::Empty)
    }
}
