//! Budgets that keep one kind of client from taking what every other client needs: event
//! streams (long-lived, so capped apart from connections) and bytes buffered for sending
//! (so clients that never read cannot make the server hold their responses in memory).

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http::header::RETRY_AFTER;
use http::{HeaderValue, StatusCode};
use tokio::sync::Semaphore;

use crate::reply::{Body, ChunkStream, Reply};

/// Open event streams, across all connections.
#[derive(Debug)]
pub struct EventStreams {
    open: Arc<AtomicUsize>,
    max: usize,
}

impl EventStreams {
    pub fn new(max: usize) -> Self {
        EventStreams {
            open: Arc::default(),
            max,
        }
    }

    /// A slot for one more event stream, or `None` when all are taken.
    pub fn try_open(&self) -> Option<EventSlot> {
        self.open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()?;
        Some(EventSlot(self.open.clone()))
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

/// One event stream's place in the budget, given back when its body is dropped.
#[derive(Debug)]
pub struct EventSlot(Arc<AtomicUsize>);

impl Drop for EventSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl EventSlot {
    /// The reply with this slot tied to its body: the slot is free again once the stream ends.
    pub fn hold(self, reply: Reply) -> Reply {
        let body = match reply.body {
            Body::Stream(inner) => Body::Stream(Box::pin(Held { inner, _slot: self })),
            other => other,
        };
        Reply::new(reply.head, body)
    }
}

struct Held {
    inner: ChunkStream,
    _slot: EventSlot,
}

impl Stream for Held {
    type Item = Bytes;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// The answer when every event-stream slot is taken: `EventSource` retries after `Retry-After`.
pub fn too_many_event_streams() -> Reply {
    let mut reply = Reply::text(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many open event streams; retry later\n",
    );
    reply
        .head
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    reply
}

/// Bytes of response bodies handed to a connection's protocol layer but not yet written to the
/// socket, bounded per connection and across all of them. A body chunk takes its bytes before
/// it is handed over ([`SendBudget::take`]); the connection's writer gives them back as bytes
/// reach the socket ([`SendBudget::written`]); a connection that ends gives back what it held.
#[derive(Debug)]
pub struct SendBudget {
    connection: Semaphore,
    global: Arc<Semaphore>,
    outstanding: AtomicUsize,
}

impl SendBudget {
    pub fn new(per_connection: usize, global: Arc<Semaphore>) -> Self {
        SendBudget {
            connection: Semaphore::new(per_connection),
            global,
            outstanding: AtomicUsize::new(0),
        }
    }

    /// Waits until `n` more bytes may be buffered.
    pub async fn take(&self, n: usize) {
        let n = n as u32;
        if let Ok(p) = self.connection.acquire_many(n).await {
            p.forget();
        }
        if let Ok(p) = self.global.acquire_many(n).await {
            p.forget();
        }
        self.outstanding.fetch_add(n as usize, Ordering::SeqCst);
    }

    /// `n` bytes reached the socket. Frame headers and other responses' bytes count too, so
    /// what is given back is capped at what was taken.
    pub fn written(&self, n: usize) {
        let mut given = 0;
        let _ = self
            .outstanding
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                given = held.min(n);
                Some(held - given)
            });
        if given > 0 {
            self.connection.add_permits(given);
            self.global.add_permits(given);
        }
    }

    /// Bytes taken and not yet given back.
    pub fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::SeqCst)
    }
}

impl Drop for SendBudget {
    fn drop(&mut self) {
        let held = *self.outstanding.get_mut();
        if held > 0 {
            self.global.add_permits(held);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_slots_are_capped_and_given_back() {
        let streams = EventStreams::new(2);
        let a = streams.try_open().unwrap();
        let _b = streams.try_open().unwrap();
        assert!(streams.try_open().is_none());
        drop(a);
        assert!(streams.try_open().is_some());
    }

    #[tokio::test]
    async fn send_budget_waits_until_bytes_are_written_and_returns_them_on_drop() {
        let global = Arc::new(Semaphore::new(100));
        let budget = Arc::new(SendBudget::new(64, global.clone()));
        budget.take(60).await;
        assert_eq!(global.available_permits(), 40);
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.take(10).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "over the connection's share");
        budget.written(1000);
        waiting.await.unwrap();
        assert_eq!(
            budget.outstanding(),
            10,
            "what was given back is capped at what was taken"
        );
        drop(budget);
        assert_eq!(global.available_permits(), 100);
    }
}
