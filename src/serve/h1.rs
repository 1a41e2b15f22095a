//! The HTTP/1.1 transport: carries the core's answers over hyper's `http1` server (keep-alive,
//! pipelining, chunked bodies for event streams, `Connection: close`). A page gets its `Link:
//! rel=preload` header, which CDNs and proxies turn into 103 for browsers; no 103 of our own
//! (hyper cannot send a 1xx on HTTP/1.1) and no push (HTTP/1.1 has none).

use std::convert::Infallible;
use std::io::{Seek, SeekFrom};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_util::Stream;
use http::header::{CONNECTION, HOST, LINK};
use http::{Request, Response, StatusCode};
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio_util::io::ReaderStream;
use tokio_util::task::TaskTracker;
use tracing::debug;

use super::access::{self, Proto, Sent};
use super::activity::{Activity, Guard};
use super::core::{self, Ask};
use super::io::Watched;
use super::upgrade;
use super::Signals;
use super::State;
use crate::config::BODY_CHUNK;
use crate::events;
use crate::proxy::inbound::{self, Inbound};
use crate::reply::{Body, ChunkStream, Reply};

/// hyper's read and write buffer per connection: request heads larger than this are refused
/// (431), and a body chunk is written through it.
pub const H1_MAX_BUF: usize = 128 * 1024;

/// Serves HTTP/1.1 on `io` until the client closes, the connection idles out, or the server
/// shuts down (the request in flight finishes, then the connection closes).
pub async fn serve<IO>(
    io: IO,
    peer: SocketAddr,
    scheme: http::uri::Scheme,
    state: Arc<State>,
    signals: Signals,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = state.config.limits.clone();
    let activity = Arc::new(Activity::default());
    let ctx = Arc::new(Ctx {
        state: state.clone(),
        peer,
        scheme,
        activity: activity.clone(),
        abort: signals.abort.clone(),
        upgrades: TaskTracker::new(),
    });
    let upgrades = ctx.upgrades.clone();
    let service = hyper::service::service_fn(move |request| handle(request, ctx.clone()));
    let io = TokioIo::new(Watched::new(io, limits.send_stall_timeout, None));
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.handshake_timeout)
        .max_buf_size(H1_MAX_BUF)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    debug!(cause = %err, "http/1.1 connection ended with an error");
                }
                break;
            }
            _ = signals.shutdown.cancelled(), if !draining => {
                connection.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = activity.idle_for(limits.idle_timeout, &state.reclaim), if !draining => {
                connection.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = signals.abort.cancelled() => break,
        }
    }
    upgrades.close();
    tokio::select! {
        _ = upgrades.wait() => {}
        _ = signals.abort.cancelled() => {}
    }
}

/// What the requests of one connection share.
struct Ctx {
    state: Arc<State>,
    peer: SocketAddr,
    scheme: http::uri::Scheme,
    activity: Arc<Activity>,
    /// Raised when the shutdown grace period is over: a body dropped then was cut by us.
    abort: super::Signal,
    /// WebSocket sessions this connection was upgraded to: the connection task waits for them,
    /// so they count as the open connection they are.
    upgrades: TaskTracker,
}

async fn handle(request: Request<Incoming>, ctx: Arc<Ctx>) -> Result<Response<H1Body>, Infallible> {
    let started = Instant::now();
    let guard = ctx.activity.start();
    let mut request = request;
    let upgrade = websocket(&mut request, &ctx);
    let (parts, body) = request.into_parts();
    // A request body goes to a backend (`--proxy`). Otherwise a static file server reads no
    // request content: hyper sends no `100 Continue` for a body nobody reads and closes the
    // connection after the answer; say so (RFC 9110 §10.1.1), so a client that sent
    // `Expect: 100-continue` gets the final status at once and knows to stop.
    let (body, unread_body) = if ctx.state.proxy.is_some() {
        (Some(body), false)
    } else {
        (None, !http_body::Body::is_end_stream(&body))
    };
    let authority = parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| parts.headers.get(HOST).and_then(|h| h.to_str().ok()))
        .unwrap_or("localhost")
        .to_owned();
    let ask = Ask {
        target: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        authority,
        method: parts.method,
        headers: parts.headers,
    };
    let state = &ctx.state;
    let (reply, page) = if !host_is_valid(parts.version, &ask.headers) {
        let refused = Reply::text(
            StatusCode::BAD_REQUEST,
            "exactly one valid Host header is required\n",
        );
        (core::stamp(refused, &state.config), None)
    } else if let Some(reply) = upgrade {
        (reply, None)
    } else {
        match core::from_memory(state, &ask.method, &ask.target, &ask.headers) {
            Some(reply) => (reply, None),
            None => {
                let client = body.map(|body| Inbound {
                    peer: ctx.peer,
                    tls: ctx.scheme == http::uri::Scheme::HTTPS,
                    body: inbound::from_hyper(body),
                });
                let answer = core::answer_from(state, ask.clone(), client).await;
                (answer.reply, answer.page)
            }
        }
    };
    let Reply { mut head, body } = reply;
    let mut hinted = None;
    if let Some(page) = page {
        if state.config.push.preload_headers {
            for i in 0..page.assets.manifest.assets.len() {
                if let Some(value) = page.assets.link(i, false) {
                    head.headers_mut().append(LINK, value.clone());
                }
            }
        }
        hinted = Some((0, page.assets.manifest.assets.len()));
    }
    let log = LogLine {
        peer: ctx.peer,
        method: ask.method,
        target: ask.target,
        status: head.status(),
        started,
        early: hinted,
        agent: access::Agent::of(&ask.headers),
        abort: ctx.abort.clone(),
    };
    let (mut head, ()) = head.into_parts();
    if unread_body {
        head.headers
            .insert(CONNECTION, http::HeaderValue::from_static("close"));
    }
    Ok(Response::from_parts(head, H1Body::new(body, log, guard)))
}

/// RFC 9112 §3.2: an HTTP/1.1 request with no `Host`, more than one, or one whose value is not
/// an authority gets 400 (as nginx answers). An empty value is allowed; HTTP/1.0 needs none.
fn host_is_valid(version: http::Version, headers: &http::HeaderMap) -> bool {
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(host), None) => {
            host.is_empty() || http::uri::Authority::try_from(host.as_bytes()).is_ok()
        }
        (None, None) => version < http::Version::HTTP_11,
        _ => false,
    }
}

/// A WebSocket handshake on the change feed: the 101 (its session starts once hyper hands
/// over the connection) or the refusal. `None` for every other request.
fn websocket(request: &mut Request<Incoming>, ctx: &Ctx) -> Option<Reply> {
    let path = request.uri().path();
    let query = request.uri().query();
    let over = events::ws::Over::H1;
    let opened = upgrade::websocket(
        &ctx.state,
        over,
        request.method(),
        path,
        query,
        request.headers(),
    )?;
    Some(match opened {
        Ok((head, session)) => {
            let upgraded = hyper::upgrade::on(request);
            ctx.upgrades.spawn(async move {
                match upgraded.await {
                    Ok(io) => session.run(TokioIo::new(io), over).await,
                    Err(err) => debug!(cause = %err, "websocket upgrade failed"),
                }
            });
            Reply::new(head, Body::Empty)
        }
        Err(reply) => *reply,
    })
}

/// What the access-log line of a response needs, written when its body is done or dropped.
struct LogLine {
    peer: SocketAddr,
    method: http::Method,
    target: String,
    status: StatusCode,
    started: Instant,
    early: Option<(usize, usize)>,
    agent: access::Agent,
    abort: super::Signal,
}

/// A reply's body as hyper pulls it: read from the file or the stream only as hyper has room
/// to write, and logged when it ends or is dropped (a client that left mid-body).
pub struct H1Body {
    source: Source,
    /// The body's length when known: a file that ends before it was cut.
    expected: Option<u64>,
    sent: u64,
    cut: Option<String>,
    done: bool,
    log: Option<LogLine>,
    _guard: Guard,
}

enum Source {
    Empty,
    Bytes(Option<Bytes>),
    File(ReaderStream<tokio::io::Take<tokio::fs::File>>),
    Stream(ChunkStream),
}

impl H1Body {
    fn new(body: Body, log: LogLine, guard: Guard) -> Self {
        let expected = body.len();
        let (source, cut) = match body {
            Body::Empty => (Source::Empty, None),
            Body::Bytes(bytes) => (Source::Bytes(Some(bytes)), None),
            Body::File {
                mut file,
                offset,
                len,
            } => match file.seek(SeekFrom::Start(offset)) {
                Ok(_) => {
                    let file = tokio::fs::File::from_std(file).take(len);
                    (
                        Source::File(ReaderStream::with_capacity(file, BODY_CHUNK)),
                        None,
                    )
                }
                Err(err) => (Source::Empty, Some(format!("reading the file: {err}"))),
            },
            Body::Stream(stream) => (Source::Stream(stream), None),
        };
        H1Body {
            source,
            expected,
            sent: 0,
            cut,
            done: false,
            log: Some(log),
            _guard: guard,
        }
    }

    fn next_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<std::io::Result<Bytes>>> {
        match &mut self.source {
            Source::Empty => Poll::Ready(None),
            Source::Bytes(bytes) => Poll::Ready(bytes.take().map(Ok)),
            Source::File(stream) => Pin::new(stream).poll_next(cx),
            Source::Stream(stream) => stream.as_mut().poll_next(cx).map(|c| c.map(Ok)),
        }
    }
}

impl http_body::Body for H1Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(why) = &self.cut {
            // A body that failed before its first byte: the connection must close.
            return Poll::Ready(Some(Err(std::io::Error::other(why.clone()))));
        }
        match std::task::ready!(self.next_chunk(cx)) {
            Some(Ok(chunk)) => {
                self.sent += chunk.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Some(Err(err)) => {
                self.cut = Some(format!("reading the file: {err}"));
                self.done = true;
                Poll::Ready(Some(Err(err)))
            }
            None => {
                self.done = true;
                match self.expected {
                    Some(len) if self.sent < len => {
                        let why = super::h2::send::shrank_or(
                            std::io::ErrorKind::UnexpectedEof.into(),
                            self.sent,
                            len,
                        );
                        self.cut = Some(why.clone());
                        Poll::Ready(Some(Err(std::io::Error::other(why))))
                    }
                    _ => Poll::Ready(None),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
            || matches!(self.source, Source::Empty)
            || matches!(self.source, Source::Bytes(None))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self.expected {
            Some(len) => http_body::SizeHint::with_exact(len - self.sent.min(len)),
            None => http_body::SizeHint::default(),
        }
    }
}

impl Drop for H1Body {
    fn drop(&mut self) {
        let Some(log) = self.log.take() else { return };
        let complete = self.cut.is_none()
            && match self.expected {
                Some(len) => self.sent >= len,
                None => self.done,
            };
        let sent = if complete {
            Sent::whole(self.sent)
        } else {
            let why = self.cut.take().unwrap_or_else(|| {
                if log.abort.raised() {
                    super::h2::SHUTDOWN_CUT.into()
                } else {
                    "the client went away".into()
                }
            });
            Sent::cut(self.sent, why)
        };
        access::log(access::Entry {
            proto: Proto::H1,
            peer: log.peer,
            method: &log.method,
            target: &log.target,
            status: log.status,
            sent,
            started: log.started,
            early: log.early,
            agent: log.agent,
        });
    }
}
