//! `GET {feed}stream`: the streaming variant of a long connection. One response stays open
//! and each change is written as a line of JSON (`application/x-ndjson`; chunked on HTTP/1.1,
//! DATA frames on HTTP/2), flushed per event. Resumes from `?last-event-id=N` or a
//! `Last-Event-ID` header; a reset line (`{"reset":true,…}`) says what could not be replayed;
//! an empty line is the keep-alive. Same bounds as the SSE stream.

use std::sync::Arc;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, HeaderValue, Response};

use super::follow::{parse_resume, resume_query, Follower, NDJSON};
use crate::config::FeedConfig;
use crate::reply::{Body, Reply};
use crate::watch::ChangeFeed;

/// The streaming response: its head, and a body of change lines until the feed closes.
pub(super) fn open(
    feed: Arc<ChangeFeed>,
    config: &FeedConfig,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Reply {
    let mut head = Response::new(());
    let h = head.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Some browsers sniff a streamed text body before handing it to script.
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let from = resume_query(query).or_else(|| {
        headers
            .get("last-event-id")
            .map(|v| v.to_str().unwrap_or(""))
    });
    let follower = Follower::start(feed, parse_resume(from), &NDJSON, config.keep_alive, b"");
    Reply::new(head, Body::Stream(follower.into_chunks()))
}
