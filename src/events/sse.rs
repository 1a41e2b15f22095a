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

use bytes::{Bytes, BytesMut};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Response};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};
use tracing::{debug, warn};

use crate::config::{FeedConfig, SSE_MAX_QUEUED, SSE_RETRY};
use crate::reply::{Body, Reply};
use crate::throttle::Throttle;
use crate::watch::{Change, ChangeFeed, Reset};

/// Streams that fell behind the feed: logged at most once per interval, with a count.
static FELL_BEHIND: Throttle = Throttle::new();

/// The event-stream response: its head, and a body that follows the feed from the client's
/// `Last-Event-ID` (or from now) until the feed closes.
pub(super) fn open(feed: Arc<ChangeFeed>, config: &FeedConfig, headers: &HeaderMap) -> Reply {
    let mut head = Response::new(());
    head.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    head.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let mut first = BytesMut::new();
    let _ = write!(first, "retry: {}\n\n", SSE_RETRY.as_millis());
    let receiver = start(&feed, headers, &mut first);
    let mut keep_alive = interval_at(Instant::now() + config.keep_alive, config.keep_alive);
    keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let events = Events {
        feed,
        receiver,
        first: Some(first.freeze()),
        keep_alive,
    };
    let chunks = futures_util::stream::unfold(events, |mut events| async move {
        let chunk = events.next().await?;
        Some((chunk, events))
    });
    Reply::new(head, Body::Stream(Box::pin(chunks)))
}

/// One client's position in the feed.
struct Events {
    feed: Arc<ChangeFeed>,
    receiver: broadcast::Receiver<Arc<Change>>,
    /// `retry:` and what a reconnecting client missed, sent first.
    first: Option<Bytes>,
    keep_alive: Interval,
}

impl Events {
    /// The next chunk of the stream: the changes ready now (at most about
    /// [`SSE_MAX_QUEUED`] bytes of them), a reset, or a keep-alive comment when the feed has
    /// been quiet. `None` when the feed closes.
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        let mut out = BytesMut::new();
        tokio::select! {
            change = self.receiver.recv() => match change {
                Ok(change) => write_change(&mut out, &change),
                Err(RecvError::Lagged(missed)) => self.fell_behind(&mut out, missed),
                Err(RecvError::Closed) => {
                    debug!("change feed closed: ending the event stream");
                    return None;
                }
            },
            _ = self.keep_alive.tick() => return Some(Bytes::from_static(b": keep-alive\n\n")),
        }
        // One burst of changes is published together: send what is ready as one chunk.
        while out.len() < SSE_MAX_QUEUED {
            match self.receiver.try_recv() {
                Ok(change) => write_change(&mut out, &change),
                Err(TryRecvError::Lagged(missed)) => self.fell_behind(&mut out, missed),
                Err(_) => break,
            }
        }
        self.keep_alive.reset();
        Some(out.freeze())
    }

    /// The receiver lost changes: what it still holds overlaps what a reset covers, so start
    /// afresh and tell the client.
    fn fell_behind(&mut self, out: &mut BytesMut, missed: u64) {
        if let Some(held) = FELL_BEHIND.admit() {
            warn!(
                missed,
                similar_warnings_held_back = held,
                "an event stream fell behind the feed: sending a reset"
            );
        }
        let reset;
        (self.receiver, reset) = resubscribe(&self.feed);
        write_reset(out, reset, "fell behind the feed");
    }
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
