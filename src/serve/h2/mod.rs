//! The HTTP/2 transport: carries the core's answers onto h2 streams. One task per stream; an
//! HTML page gets 103 → PUSH_PROMISEs → its HEADERS (with `Link`) → pushed bodies and its own
//! body, interleaved under flow control.

mod push;
pub mod send;

use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::server::SendResponse;
use h2::RecvStream;
use http::{Request, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, Instrument};

use super::access::{self, Proto, Sent};
use super::activity::Activity;
use super::coalesce::{Coalesce, Hold};
use super::core::{self, Ask};
use super::io::Watched;
use super::limits::SendBudget;
use super::Signals;
use super::State;
use crate::config::{CONNECTION_WINDOW, MAX_SEND_BUFFER, STREAM_WINDOW};
use crate::proxy::inbound::{self, Inbound};
use crate::reply::Reply;

pub use push::MAX_DIARY_ENTRIES;

/// What the streams of one connection share.
#[derive(Debug)]
pub struct Conn {
    pub state: Arc<State>,
    pub scheme: http::uri::Scheme,
    pub peer: SocketAddr,
    push: push::PushState,
    pub budget: Arc<SendBudget>,
    pub stall_timeout: Duration,
    /// Raised when the shutdown grace period is over: streams cut then were cut by us.
    abort: super::Signal,
}

/// The cut reason of a stream that ended after the shutdown deadline: the server's doing,
/// whatever error the closed connection made it see.
pub const SHUTDOWN_CUT: &str = "the server's shutdown deadline";

impl Conn {
    /// `sent`, its cut blamed on the shutdown deadline when the server was aborting.
    pub(super) fn who_cut(&self, mut sent: Sent) -> Sent {
        if sent.cut.is_some() && self.abort.raised() {
            sent.cut = Some(SHUTDOWN_CUT.into());
        }
        sent
    }
}

/// Serves HTTP/2 on `io` until the client leaves, the connection idles out, or the server
/// shuts down (GOAWAY, then the open streams finish) or aborts.
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
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_header_list_size(limits.max_header_list_size)
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_send_buffer_size(MAX_SEND_BUFFER);
    if state.changes.is_some() {
        // RFC 8441: WebSocket on this connection, for the change feed.
        builder.enable_connect_protocol();
    }
    let budget = Arc::new(SendBudget::new(
        limits.send_buffer_per_connection,
        state.send_buffer.clone(),
    ));
    let io = Coalesce::new(Watched::new(
        io,
        limits.send_stall_timeout,
        Some(budget.clone()),
    ));
    let hold = io.hold();
    let mut connection =
        match tokio::time::timeout(limits.handshake_timeout, builder.handshake(io)).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(err)) => return debug!(cause = %err, "http/2 handshake failed"),
            Err(_) => return debug!("http/2 preface timed out"),
        };
    let conn = Arc::new(Conn {
        state: state.clone(),
        scheme,
        peer,
        push: push::PushState::default(),
        budget,
        stall_timeout: limits.send_stall_timeout,
        abort: signals.abort.clone(),
    });
    let activity = Arc::new(Activity::default());
    // Made once: a request touches `activity` rather than restarting this future.
    let idle = activity.idle_for(limits.idle_timeout, &state.reclaim);
    // The signal futures too, polled on the first pass (which registers this task's waker)
    // and after that only once a signal was raised: see `Signal`.
    let shutdown = signals.shutdown.cancelled();
    let abort = signals.abort.cancelled();
    tokio::pin!(idle, shutdown, abort);
    let mut draining = false;
    let mut registered = false;
    loop {
        // The flags are read on every poll (a `select!` precondition is read once per call).
        let next = poll_fn(|cx| loop {
            let watch = !std::mem::replace(&mut registered, true);
            // The signals first, so that a client sending requests without a pause cannot
            // starve them.
            if (watch || signals.abort.raised()) && abort.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Abort);
            }
            if !draining
                && (watch || signals.shutdown.raised())
                && shutdown.as_mut().poll(cx).is_ready()
            {
                return Poll::Ready(Event::Drain("shutting down"));
            }
            match poll_accept_run(&mut connection, &hold, cx) {
                Poll::Ready(Some(Ok((request, mut respond)))) => {
                    activity.touch();
                    // A small file kept in memory is answered without leaving this poll.
                    if answer_from_memory(&request, &mut respond, &conn) {
                        continue;
                    }
                    return Poll::Ready(Event::Request(Some(Ok((request, respond)))));
                }
                Poll::Ready(other) => return Poll::Ready(Event::Request(other)),
                Poll::Pending => {}
            }
            if !draining && idle.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Drain("idle"));
            }
            return Poll::Pending;
        })
        .await;
        match next {
            Event::Request(Some(Ok((request, respond)))) => {
                let guard = activity.start();
                let conn = conn.clone();
                tokio::spawn(
                    async move {
                        handle(request, respond, conn).await;
                        drop(guard);
                    }
                    .in_current_span(),
                );
            }
            Event::Request(Some(Err(err))) => {
                debug!(cause = %err, "connection ended with an error");
                break;
            }
            Event::Request(None) => break,
            Event::Drain(why) => {
                debug!("{why}: GOAWAY");
                connection.graceful_shutdown();
                draining = true;
            }
            Event::Abort => {
                debug!("shutdown grace period over: closing the connection");
                break;
            }
        }
    }
}

type Accepted = Option<Result<(Request<RecvStream>, SendResponse<Bytes>), h2::Error>>;

/// What the connection loop acts on next.
// Made and matched at once, never stored: boxing the request would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Event {
    Request(Accepted),
    /// Stop taking requests (the server is shutting down, or the connection idled out).
    Drain(&'static str),
    Abort,
}

/// The next request, holding the connection's flushes while requests keep coming: the answers
/// to a run of requests that arrived together go out in one write when the run ends.
fn poll_accept_run<IO>(
    connection: &mut h2::server::Connection<IO, Bytes>,
    hold: &Hold,
    cx: &mut Context<'_>,
) -> Poll<Accepted>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut next = connection.poll_accept(cx);
    if next.is_pending() && hold.release() {
        // No request left: poll once more so that h2 flushes what the run queued.
        next = connection.poll_accept(cx);
    }
    if next.is_ready() {
        hold.hold();
    }
    next
}

/// Answers a GET or HEAD of a small file kept in memory right away, on the connection's own
/// task: no task, no blocking-pool trip, and the response joins the connection's current write
/// batch. Says `false` when the request needs [`handle`]. Borrows the request, which then
/// stays where h2 handed it out.
fn answer_from_memory(
    request: &Request<RecvStream>,
    respond: &mut SendResponse<Bytes>,
    conn: &Conn,
) -> bool {
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let Some(reply) = core::from_memory(&conn.state, request.method(), target, request.headers())
    else {
        return false;
    };
    // With the access log off, no clock read and no header copies for it.
    let started = access::enabled().then(Instant::now);
    conn.push.note_sent(target);
    let status = reply.status();
    let ended = reply.body.is_empty();
    let sent = send::in_memory(respond.send_response(reply.head, ended), reply.body);
    if let Some(started) = started {
        log(
            conn,
            request.method(),
            target,
            status,
            sent,
            started,
            None,
            access::Agent::of(request.headers()),
        );
    }
    true
}

/// Answers one request stream.
async fn handle(request: Request<RecvStream>, mut respond: SendResponse<Bytes>, conn: Arc<Conn>) {
    let started = Instant::now();
    if super::upgrade::is_h2_websocket(&request) {
        let target = request.uri().path().to_owned();
        let agent = access::Agent::of(request.headers());
        let status = super::upgrade::h2(request, respond, &conn.state).await;
        let method = http::Method::CONNECT;
        return log(
            &conn,
            &method,
            &target,
            status,
            Sent::whole(0),
            started,
            None,
            agent,
        );
    }
    // A request body goes to a backend (`--proxy`); else it means nothing to a static server,
    // and dropping it tells h2 so.
    let (parts, body) = request.into_parts();
    let ask = Ask {
        target: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        authority: parts
            .uri
            .authority()
            .map_or_else(|| "localhost".to_owned(), |a| a.as_str().to_owned()),
        method: parts.method,
        headers: parts.headers,
    };
    let client = if conn.state.proxy.is_some() {
        Some(Inbound {
            peer: conn.peer,
            tls: conn.scheme == http::uri::Scheme::HTTPS,
            body: inbound::from_h2(body),
        })
    } else {
        drop(body);
        None
    };
    conn.push.note_sent(&ask.target);
    let method = ask.method.clone();
    let target = ask.target.clone();

    // A long poll waits inside the core: a client that resets the stream ends the wait.
    let answer = tokio::select! {
        answer = core::answer_from(&conn.state, ask.clone(), client) => answer,
        _ = poll_fn(|cx| respond.poll_reset(cx)) => {
            let sent = Sent::cut(0, "client reset the stream before the answer");
            let agent = access::Agent::of(&ask.headers);
            return log(&conn, &method, &target, StatusCode::OK, sent, started, None, agent);
        }
    };
    let Reply { mut head, body } = answer.reply;
    let mut early = answer
        .page
        .as_ref()
        .map(|page| push::deliver_early(&mut respond, &mut head, page, &ask, &conn));
    let promised = early
        .as_mut()
        .map(|e| std::mem::take(&mut e.promised))
        .unwrap_or_default();
    let status = head.status();
    let sent = match respond.send_response(head, body.is_empty()) {
        Ok(mut stream) => {
            // The page's bytes are queued before any pushed response's, so the page's first
            // write carries its HEADERS and (for a page in memory) its body.
            let queued = send::now(&mut stream, body);
            if !promised.is_empty() {
                tokio::spawn(push::send_pushed_after_page(
                    promised,
                    push::promise_headers(&ask.headers),
                    conn.clone(),
                ));
            }
            match queued {
                Ok(sent) => sent,
                Err(body) => send::send(&mut stream, body, &conn.budget, conn.stall_timeout).await,
            }
        }
        Err(err) => Sent::cut(0, send::describe(&err)),
    };
    let counts = early.map(|e| (e.pushed, e.hinted));
    log(
        &conn,
        &method,
        &target,
        status,
        sent,
        started,
        counts,
        access::Agent::of(&ask.headers),
    );
}

#[allow(clippy::too_many_arguments)]
fn log(
    conn: &Conn,
    method: &http::Method,
    target: &str,
    status: StatusCode,
    sent: Sent,
    started: Instant,
    early: Option<(usize, usize)>,
    agent: access::Agent,
) {
    access::log(access::Entry {
        proto: Proto::H2,
        peer: conn.peer,
        method,
        target,
        status,
        sent: conn.who_cut(sent),
        started,
        early,
        agent,
    });
}
