//! The change feed's HTTP endpoints, under a configurable prefix (`/.h2push/` by default):
//! `events` streams changes as Server-Sent Events ([`sse`]), `stream` as lines of JSON
//! ([`stream`]), `ws` over WebSocket ([`ws`], which the transports hand the upgraded stream),
//! and `poll` is the long-polling fallback ([`poll`]). The three streams share [`follow`]. [`route`] is the one early dispatch the serving core makes before file
//! resolution; everything under the prefix is answered here, as a protocol-free [`Reply`].

mod follow;
mod poll;
mod sse;
mod stream;
pub mod ws;

use std::sync::Arc;

use http::header::{ALLOW, CACHE_CONTROL};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::config::FeedConfig;
use crate::reply::Reply;
use crate::watch::ChangeFeed;

/// A request for one of the feed's endpoints.
pub struct Endpoint {
    feed: Arc<ChangeFeed>,
    kind: Kind,
}

enum Kind {
    Events,
    Stream,
    WebSocket,
    Poll,
    Unknown,
}

impl Endpoint {
    /// Whether this request opens a long-lived event stream (which has its own budget).
    pub fn is_event_stream(&self) -> bool {
        matches!(self.kind, Kind::Events | Kind::Stream)
    }

    /// Whether this is the WebSocket endpoint (the transport answers a handshake itself).
    pub fn is_websocket(&self) -> bool {
        matches!(self.kind, Kind::WebSocket)
    }

    /// The feed, for a WebSocket session.
    pub fn feed(&self) -> &Arc<ChangeFeed> {
        &self.feed
    }
}

/// The endpoint `path` names, if it is under the feed prefix and there is a feed. Without a
/// watcher there is no feed: the request goes on to file resolution like any other.
pub fn route(feed: Option<&Arc<ChangeFeed>>, config: &FeedConfig, path: &str) -> Option<Endpoint> {
    let feed = feed?.clone();
    let kind = match path.strip_prefix(config.path.as_str())? {
        "events" => Kind::Events,
        "stream" => Kind::Stream,
        "ws" => Kind::WebSocket,
        "poll" => Kind::Poll,
        _ => Kind::Unknown,
    };
    Some(Endpoint { feed, kind })
}

impl Endpoint {
    /// Answers the request. A long poll waits here; the transport drops this future when the
    /// client goes away. An event stream's body produces changes until the feed closes.
    pub async fn answer(
        self,
        method: &Method,
        query: Option<&str>,
        headers: &HeaderMap,
        config: &FeedConfig,
    ) -> Reply {
        let head_only = *method == Method::HEAD;
        if *method != Method::GET && !head_only {
            let mut reply = no_store(Reply::text(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed\n",
            ));
            reply
                .head
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return reply;
        }
        let reply = match self.kind {
            Kind::Events => sse::open(self.feed, config, headers),
            Kind::Stream => stream::open(self.feed, config, query, headers),
            Kind::WebSocket => no_store(Reply::text(
                StatusCode::UPGRADE_REQUIRED,
                "this endpoint speaks WebSocket (Upgrade: websocket, or extended CONNECT)\n",
            )),
            Kind::Poll => poll::answer(&self.feed, config, query, head_only).await,
            Kind::Unknown => no_store(Reply::text(
                StatusCode::NOT_FOUND,
                "no such change-feed endpoint (try events, stream, ws or poll)\n",
            )),
        };
        if head_only {
            reply.head_only()
        } else {
            reply
        }
    }
}

/// Feed answers describe a moment: never cached.
fn no_store(mut reply: Reply) -> Reply {
    reply
        .head
        .headers_mut()
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    reply
}
