//! `GET {feed}events`: changes as Server-Sent Events, one long `text/event-stream` response.
//!
//! The body is a stream of chunks that the transport pulls only when the client can take more
//! (HTTP/2 flow control, or HTTP/1.1 socket writes). Publishing never waits for a stream: the
//! changes of a stream that is not pulled wait in the feed's shared ring, and a stream that
//! falls a whole ring behind gets `event: reset` (and `EventSource` reconnects with
//! `Last-Event-ID` when it needs to). A client that takes nothing for the stall timeout has its
//! stream closed by the transport.

use std::fmt::Write as _;
use std::sync::Arc;

use bytes::BytesMut;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Response};

use super::follow::{parse_resume, Follower, Format};
use crate::config::{FeedConfig, SSE_RETRY};
use crate::reply::{Body, Reply};
use crate::watch::{Change, ChangeFeed, Reset};

/// The event-stream response: its head, and a body that follows the feed from the client's
/// `Last-Event-ID` (or from now) until the feed closes.
pub(super) fn open(feed: Arc<ChangeFeed>, config: &FeedConfig, headers: &HeaderMap) -> Reply {
    let mut head = Response::new(());
    head.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    head.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let retry = format!("retry: {}\n\n", SSE_RETRY.as_millis());
    let resume = parse_resume(
        headers
            .get("last-event-id")
            .map(|v| v.to_str().unwrap_or("")),
    );
    let follower = Follower::start(feed, resume, &SSE, config.keep_alive, retry.as_bytes());
    Reply::new(head, Body::Stream(follower.into_chunks()))
}

/// Server-Sent Events: `event: change` / `event: reset`, with ids; a comment as keep-alive.
static SSE: Format = Format {
    change: write_change,
    reset: write_reset,
    keep_alive: b": keep-alive\n\n",
};

/// `event: change`, its id, and the change as one line of JSON.
fn write_change(queue: &mut BytesMut, change: &Change) {
    let json = serde_json::to_string(change).expect("a change serializes");
    let _ = write!(queue, "event: change\nid: {}\ndata: {json}\n\n", change.id);
}

/// `event: reset`: the client missed changes it cannot be told about and should assume
/// everything changed. It carries the id to resume from, so the next reconnect replays exactly.
fn write_reset(queue: &mut BytesMut, reset: Reset, reason: &str) {
    let data = serde_json::json!({ "reason": reason, "last_id": reset.last_id });
    let _ = write!(
        queue,
        "event: reset\nid: {}\ndata: {data}\n\n",
        reset.last_id
    );
}
