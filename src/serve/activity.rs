//! Counting a connection's open requests, to tell when it has been idle long enough to close,
//! or is idle at a moment the server needs its slot back.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// A connection's open requests (streams on HTTP/2, the request in flight on HTTP/1.1), and
/// when it last did anything.
#[derive(Debug)]
pub struct Activity {
    open: AtomicUsize,
    changed: Notify,
    born: Instant,
    /// Milliseconds from `born` to the last request start or end, or [`Activity::touch`].
    last_ms: AtomicU64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            open: AtomicUsize::new(0),
            changed: Notify::new(),
            born: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }
}

impl Activity {
    pub fn start(self: &Arc<Self>) -> Guard {
        self.touch();
        self.open.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
        Guard(self.clone())
    }

    /// A request answered at once (no guard): the idle time starts over. Cheap enough to call
    /// per request: one clock read and one store, where restarting the idle future cost a
    /// timer registration and two waiter registrations.
    pub fn touch(&self) {
        let ms = self.born.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_since(&self) -> Instant {
        self.born + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// Resolves once no request has been open, started or touched for `timeout`, or at once
    /// when `reclaim` is notified while none is open (the server is out of connection slots).
    pub async fn idle_for(&self, timeout: Duration, reclaim: &Notify) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.open.load(Ordering::SeqCst) == 0 {
                let deadline = self.idle_since() + timeout;
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline.into()) => {
                        // Touched while asleep: sleep on to the new deadline.
                        if Instant::now() >= self.idle_since() + timeout {
                            return;
                        }
                    }
                    _ = reclaim.notified() => return,
                    _ = changed => {}
                }
            } else {
                changed.await;
            }
        }
    }
}

/// One open request; dropping it closes the request.
#[derive(Debug)]
pub struct Guard(Arc<Activity>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.touch();
        self.0.open.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}
