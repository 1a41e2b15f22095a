//! One client's position in the change feed, shared by every streaming transport (SSE, NDJSON
//! streaming, WebSocket): subscribe from a resume id (replaying what the client missed, or a
//! reset), then produce chunks of formatted changes, a reset when the client fell a whole ring
//! behind, or a keep-alive when the feed has been quiet. Only the [`Format`] differs.
//!
//! Publishing never waits for a follower: the changes of a follower that is not pulled wait in
//! the feed's shared ring, and one that falls a whole ring behind gets a reset.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};
use tracing::{debug, warn};

use crate::config::SSE_MAX_QUEUED;
use crate::reply::ChunkStream;
use crate::throttle::Throttle;
use crate::watch::{Change, ChangeFeed, Reset};

/// Streams that fell behind the feed: logged at most once per interval, with a count.
static FELL_BEHIND: Throttle = Throttle::new();

/// How one transport writes what a follower produces.
pub(super) struct Format {
    pub change: fn(&mut BytesMut, &Change),
    /// The client missed changes it cannot be told about: it should assume everything
    /// changed, and resume from the reset's id.
    pub reset: fn(&mut BytesMut, Reset, &str),
    /// Sent when the feed has been quiet for the keep-alive interval.
    pub keep_alive: &'static [u8],
}

/// Where the client asked to resume: nothing (from now), an unreadable id, or the last id seen.
pub(super) type Resume = Option<Option<u64>>;

/// Reads a resume id (`Last-Event-ID` header value or `last-event-id` query parameter).
pub(super) fn parse_resume(value: Option<&str>) -> Resume {
    value.map(|v| v.trim().parse::<u64>().ok())
}

/// The `last-event-id` query parameter, if given.
pub(super) fn resume_query(query: Option<&str>) -> Option<&str> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("last-event-id="))
}

/// One client's position in the feed.
pub(super) struct Follower {
    feed: Arc<ChangeFeed>,
    receiver: broadcast::Receiver<Arc<Change>>,
    format: &'static Format,
    /// What a reconnecting client missed (or a reset), sent first.
    first: Option<Bytes>,
    keep_alive: Interval,
}

impl Follower {
    /// Subscribes from `resume`; `prefix` goes out before the replay (SSE's `retry:`).
    pub fn start(
        feed: Arc<ChangeFeed>,
        resume: Resume,
        format: &'static Format,
        keep_alive: Duration,
        prefix: &[u8],
    ) -> Self {
        let mut first = BytesMut::from(prefix);
        let receiver = subscribe(&feed, resume, format, &mut first);
        let mut keep_alive = interval_at(Instant::now() + keep_alive, keep_alive);
        keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Follower {
            feed,
            receiver,
            format,
            first: (!first.is_empty()).then(|| first.freeze()),
            keep_alive,
        }
    }

    /// The next chunk: the changes ready now (at most about [`SSE_MAX_QUEUED`] bytes of them),
    /// a reset, or the keep-alive when the feed has been quiet. `None` when the feed closes.
    pub async fn next(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        let mut out = BytesMut::new();
        tokio::select! {
            change = self.receiver.recv() => match change {
                Ok(change) => (self.format.change)(&mut out, &change),
                Err(RecvError::Lagged(missed)) => self.fell_behind(&mut out, missed),
                Err(RecvError::Closed) => {
                    debug!("change feed closed: ending the event stream");
                    return None;
                }
            },
            _ = self.keep_alive.tick() => return Some(Bytes::from_static(self.format.keep_alive)),
        }
        // One burst of changes is published together: send what is ready as one chunk.
        while out.len() < SSE_MAX_QUEUED {
            match self.receiver.try_recv() {
                Ok(change) => (self.format.change)(&mut out, &change),
                Err(TryRecvError::Lagged(missed)) => self.fell_behind(&mut out, missed),
                Err(_) => break,
            }
        }
        self.keep_alive.reset();
        Some(out.freeze())
    }

    /// The follower as a response body.
    pub fn into_chunks(self) -> ChunkStream {
        Box::pin(futures_util::stream::unfold(
            self,
            |mut follower| async move {
                let chunk = follower.next().await?;
                Some((chunk, follower))
            },
        ))
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
        (self.format.reset)(out, reset, "fell behind the feed");
    }
}

/// Subscribes, queueing what a reconnecting client missed (or a reset).
fn subscribe(
    feed: &ChangeFeed,
    resume: Resume,
    format: &Format,
    queue: &mut BytesMut,
) -> broadcast::Receiver<Arc<Change>> {
    match resume {
        None => feed.subscribe(),
        Some(None) => {
            let (receiver, reset) = resubscribe(feed);
            (format.reset)(queue, reset, "unreadable Last-Event-ID");
            receiver
        }
        Some(Some(after)) => {
            let start = queue.len();
            let subscription = feed.subscribe_since(after);
            match subscription.backlog {
                Ok(missed) => {
                    for change in &missed {
                        (format.change)(queue, change);
                    }
                    if queue.len() - start > SSE_MAX_QUEUED {
                        // Too much to replay within the per-stream bound: start over instead.
                        queue.truncate(start);
                        let (receiver, reset) = resubscribe(feed);
                        (format.reset)(queue, reset, "too many missed changes");
                        return receiver;
                    }
                }
                Err(reset) => (format.reset)(queue, reset, "missed changes are no longer buffered"),
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

/// NDJSON: one JSON object per line. A change is the same JSON as SSE's `data:`; a reset is
/// `{"reset":true,"reason":…,"last_id":…}`. The keep-alive is an empty line.
pub(super) static NDJSON: Format = Format {
    change: |out, change| {
        let json = serde_json::to_string(change).expect("a change serializes");
        out.extend_from_slice(json.as_bytes());
        out.extend_from_slice(b"\n");
    },
    reset: |out, reset, reason| {
        let data = serde_json::json!({ "reset": true, "reason": reason, "last_id": reset.last_id });
        out.extend_from_slice(data.to_string().as_bytes());
        out.extend_from_slice(b"\n");
    },
    keep_alive: b"\n",
};
