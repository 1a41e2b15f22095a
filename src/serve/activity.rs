//! Counting a connection's open requests, to tell when it has been idle long enough to close,
//! or is idle at a moment the server needs its slot back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// A connection's open requests (streams on HTTP/2, the request in flight on HTTP/1.1).
#[derive(Debug, Default)]
pub struct Activity {
    open: AtomicUsize,
    changed: Notify,
}

impl Activity {
    pub fn start(self: &Arc<Self>) -> Guard {
        self.open.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
        Guard(self.clone())
    }

    /// Resolves once no request has been open for `timeout`, or at once when `reclaim` is
    /// notified while none is open (the server is out of connection slots).
    pub async fn idle_for(&self, timeout: Duration, reclaim: &Notify) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.open.load(Ordering::SeqCst) == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(timeout) => return,
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
        self.0.open.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}
