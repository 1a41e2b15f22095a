//! The change feed's HTTP endpoints, under a configurable prefix (`/.h2push/` by default):
//! `events` streams changes as Server-Sent Events ([`sse`]), `poll` is the long-polling
//! fallback ([`poll`]). [`route`] is the one early dispatch `handler::handle` makes before file
//! resolution; everything under the prefix is answered here.

mod poll;
mod sse;

use std::sync::Arc;

use bytes::Bytes;
use h2::server::SendResponse;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Response, StatusCode};
use tracing::debug;

use crate::config::Config;
use crate::server::State;
use crate::watch::ChangeFeed;

/// A request for one of the feed's endpoints.
pub struct Endpoint {
    feed: Arc<ChangeFeed>,
    config: Arc<Config>,
    kind: Kind,
}

enum Kind {
    Events,
    Poll,
    Unknown,
}

/// The endpoint `uri` names, if it is under the feed prefix and the server watches for changes.
/// Without a watcher there is no feed: the request goes on to file resolution like any other.
pub fn route(state: &State, uri: &http::Uri) -> Option<Endpoint> {
    let feed = state.changes.clone()?;
    let name = uri.path().strip_prefix(state.config.feed.path.as_str())?;
    let kind = match name {
        "events" => Kind::Events,
        "poll" => Kind::Poll,
        _ => Kind::Unknown,
    };
    Some(Endpoint {
        feed,
        config: state.config.clone(),
        kind,
    })
}

impl Endpoint {
    /// Answers the request. Returns the status and the body bytes sent, for the access log.
    pub async fn serve(
        self,
        parts: &http::request::Parts,
        respond: SendResponse<Bytes>,
    ) -> (StatusCode, u64) {
        let head_only = parts.method == Method::HEAD;
        if parts.method != Method::GET && !head_only {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            response
                .0
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return send_whole(respond, response, head_only);
        }
        let feed_config = &self.config.feed;
        match self.kind {
            Kind::Events => {
                sse::stream(&self.feed, feed_config, &parts.headers, head_only, respond).await
            }
            Kind::Poll => {
                poll::answer(
                    &self.feed,
                    feed_config,
                    parts.uri.query(),
                    head_only,
                    respond,
                )
                .await
            }
            Kind::Unknown => send_whole(
                respond,
                plain(
                    StatusCode::NOT_FOUND,
                    "no such change-feed endpoint (try events or poll)\n",
                ),
                head_only,
            ),
        }
    }
}

/// A short `text/plain` answer.
fn plain(status: StatusCode, message: &'static str) -> (Response<()>, Bytes) {
    let mut r = Response::new(());
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    (r, Bytes::from_static(message.as_bytes()))
}

/// Sends a response whose body is already in memory, with its `Content-Length`; HEAD gets the
/// same head and no body.
fn send_whole(
    mut respond: SendResponse<Bytes>,
    (mut response, body): (Response<()>, Bytes),
    head_only: bool,
) -> (StatusCode, u64) {
    let status = response.status();
    let headers = response.headers_mut();
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    let empty = head_only || body.is_empty();
    let sent = match respond.send_response(response, empty) {
        Ok(_) if empty => Ok(0),
        Ok(mut stream) => {
            let len = body.len() as u64;
            // Small: h2 holds it and sends it as the window opens.
            stream.send_data(body, true).map(|()| len)
        }
        Err(err) => Err(err),
    };
    match sent {
        Ok(bytes) => (status, bytes),
        Err(err) => {
            debug!(cause = %err, "feed response not completed");
            (status, 0)
        }
    }
}
