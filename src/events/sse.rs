//! `GET {feed}events`: changes as Server-Sent Events, one long `text/event-stream` response.
//!
//! Each stream is one task that owns a broadcast receiver and a small byte queue, and writes the
//! queue out only as the client's HTTP/2 window allows. Publishing never waits for a stream: a
//! slow client's changes wait in the feed's shared ring once its queue holds
//! [`SSE_MAX_QUEUED`] bytes; if it falls a whole ring behind it gets `event: reset`. A client
//! that takes nothing for the stall timeout while its queue is full has its stream reset
//! (`EventSource` reconnects with `Last-Event-ID` and catches up from the feed's buffer).

use std::fmt::Write as _;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use h2::server::SendResponse;
use h2::SendStream;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{interval_at, sleep_until, Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use crate::config::{FeedConfig, SSE_MAX_QUEUED, SSE_RETRY};
use crate::watch::{Change, ChangeFeed, Reset};

/// Why a stream woke up.
enum Wake {
    Change(Result<Arc<Change>, RecvError>),
    KeepAlive,
    /// The window may have room for more of the queue.
    Capacity(Option<Result<usize, h2::Error>>),
    /// The client reset the stream (or the connection failed).
    Reset(Result<h2::Reason, h2::Error>),
}

/// Answers an event-stream request and streams until the client leaves or the feed closes.
pub(super) async fn stream(
    feed: &ChangeFeed,
    config: &FeedConfig,
    headers: &HeaderMap,
    head_only: bool,
    mut respond: SendResponse<Bytes>,
) -> (StatusCode, u64) {
    let mut response = Response::new(());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let mut stream = match respond.send_response(response, head_only) {
        Ok(stream) => stream,
        Err(err) => {
            debug!(cause = %err, "event stream not started");
            return (StatusCode::OK, 0);
        }
    };
    if head_only {
        return (StatusCode::OK, 0);
    }
    let mut queue = BytesMut::new();
    let _ = write!(queue, "retry: {}\n\n", SSE_RETRY.as_millis());
    let receiver = start(feed, headers, &mut queue);
    let sent = pump(&mut stream, feed, receiver, queue, config).await;
    (StatusCode::OK, sent)
}

/// Subscribes, queueing what a reconnecting client missed (or a reset).
fn start(
    feed: &ChangeFeed,
    headers: &HeaderMap,
    queue: &mut BytesMut,
) -> broadcast::Receiver<Arc<Change>> {
    let last_seen = headers
        .get("last-event-id")
        .map(|v| v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()));
    match last_seen {
        None => feed.subscribe(),
        Some(None) => {
            let (receiver, reset) = resubscribe(feed);
            write_reset(queue, reset, "unreadable Last-Event-ID");
            receiver
        }
        Some(Some(after)) => {
            let subscription = feed.subscribe_since(after);
            match subscription.backlog {
                Ok(missed) => {
                    for change in &missed {
                        write_change(queue, change);
                    }
                    if queue.len() > SSE_MAX_QUEUED {
                        // Too much to replay within the per-stream bound: start over instead.
                        queue.clear();
                        let (receiver, reset) = resubscribe(feed);
                        write_reset(queue, reset, "too many missed changes");
                        return receiver;
                    }
                }
                Err(reset) => write_reset(queue, reset, "missed changes are no longer buffered"),
            }
            subscription.receiver
        }
    }
}

/// A fresh receiver and the id it starts after, taken at one instant.
fn resubscribe(feed: &ChangeFeed) -> (broadcast::Receiver<Arc<Change>>, Reset) {
    // No client can have seen an id beyond the last, so this always replays as a reset, and it
    // names the last id under the same lock the receiver is made under.
    let subscription = feed.subscribe_since(u64::MAX);
    let reset = subscription.backlog.err().unwrap_or(Reset {
        last_id: feed.last_id(),
    });
    (subscription.receiver, reset)
}

/// Moves changes from the receiver into the queue and the queue into the stream as the window
/// allows, until the client goes or the feed closes. Returns the bytes sent.
async fn pump(
    stream: &mut SendStream<Bytes>,
    feed: &ChangeFeed,
    mut receiver: broadcast::Receiver<Arc<Change>>,
    mut queue: BytesMut,
    config: &FeedConfig,
) -> u64 {
    let mut sent = 0u64;
    let mut full_since: Option<Instant> = None;
    let mut keep_alive = interval_at(Instant::now() + config.keep_alive, config.keep_alive);
    keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        if !queue.is_empty() {
            stream.reserve_capacity(queue.len());
            let room = stream.capacity().min(queue.len());
            if room > 0 {
                let chunk = queue.split_to(room).freeze();
                if let Err(err) = stream.send_data(chunk, false) {
                    debug!(cause = %err, "event stream ended");
                    return sent;
                }
                sent += room as u64;
                continue;
            }
        }
        let waiting = !queue.is_empty();
        // A full queue takes no more changes: they wait in the feed's shared buffer instead.
        let full = queue.len() >= SSE_MAX_QUEUED;
        if !full {
            full_since = None;
        } else if full_since.is_none() {
            full_since = Some(Instant::now());
        }
        let stalled_at = full_since.map(|since| since + config.stall_timeout);
        let wake = tokio::select! {
            change = receiver.recv(), if !full => Wake::Change(change),
            _ = keep_alive.tick() => Wake::KeepAlive,
            _ = sleep_until(stalled_at.unwrap_or_else(Instant::now)), if stalled_at.is_some() => {
                info!(
                    queued = queue.len(),
                    "closing an event stream: the client stopped reading (it can reconnect with Last-Event-ID)"
                );
                stream.send_reset(h2::Reason::CANCEL);
                return sent;
            }
            wake = poll_fn(|cx| poll_stream(stream, cx, waiting)) => wake,
        };
        match wake {
            Wake::Change(Ok(change)) => write_change(&mut queue, &change),
            Wake::Change(Err(RecvError::Lagged(missed))) => {
                warn!(
                    missed,
                    "an event stream fell behind the feed: sending a reset"
                );
                // What the receiver still holds overlaps what the reset covers: start afresh.
                let reset;
                (receiver, reset) = resubscribe(feed);
                write_reset(&mut queue, reset, "fell behind the feed");
            }
            Wake::Change(Err(RecvError::Closed)) => {
                debug!("change feed closed: ending the event stream");
                sent += queue.len() as u64;
                let _ = stream.send_data(queue.freeze(), true);
                return sent;
            }
            Wake::KeepAlive => {
                if queue.is_empty() {
                    queue.extend_from_slice(b": keep-alive\n\n");
                }
            }
            Wake::Capacity(Some(Ok(_))) => {}
            Wake::Reset(Ok(reason)) => {
                debug!(%reason, "client reset the event stream");
                return sent;
            }
            Wake::Capacity(None) | Wake::Capacity(Some(Err(_))) | Wake::Reset(Err(_)) => {
                debug!("event stream closed");
                return sent;
            }
        }
    }
}

fn poll_stream(stream: &mut SendStream<Bytes>, cx: &mut Context<'_>, waiting: bool) -> Poll<Wake> {
    if let Poll::Ready(reason) = stream.poll_reset(cx) {
        return Poll::Ready(Wake::Reset(reason));
    }
    if waiting {
        if let Poll::Ready(capacity) = stream.poll_capacity(cx) {
            return Poll::Ready(Wake::Capacity(capacity));
        }
    }
    Poll::Pending
}

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
