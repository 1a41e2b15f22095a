//! The change feed: a `notify` watcher on the served root turned into numbered change events.
//!
//! This module is the only owner of `notify`. A watcher thread collects raw file-system events,
//! debounces them ([`DEBOUNCE`]), drops what a client can never request (dotfiles, editor
//! temporaries), and publishes one [`Change`] per path with an id that increases from 1.
//! Changes are kept in a ring buffer of [`FEED_CAPACITY`] for replay ([`ChangeFeed::since`]) and
//! broadcast to live subscribers ([`ChangeFeed::subscribe`]). Consumers: the SSE and long-poll
//! endpoints (`events`), and caches that must forget what a changed file made them believe.

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use serde::Serialize;
use tokio::sync::broadcast;
use tracing::debug;

mod burst;
use burst::debounce_loop;

/// Raw events for the same burst are merged until the tree has been quiet this long, so an
/// editor's save (write temp, rename, chmod) is one change, not five.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// A burst that never goes quiet (a build writing continuously) is still published this often.
pub const DEBOUNCE_MAX: Duration = Duration::from_secs(1);

/// Changes kept for replay to reconnecting clients (`Last-Event-ID`, `poll?after=`), and the
/// most a live subscriber may fall behind before it is told it lagged. Each is one `Arc`.
pub const FEED_CAPACITY: usize = 1024;

/// Entries scanned in a directory that appears under the root (a copied or unpacked tree) to
/// report the files it already holds; beyond this they are not reported.
pub const NEW_TREE_MAX: usize = 10_000;

/// What happened to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Created,
    Modified,
    Removed,
}

/// One change to one file under the served root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Increases by one per change, starting at 1, for the life of the process.
    pub id: u64,
    /// The URL path that serves the file, percent-encoded: `/css/site.css`.
    pub path: String,
    pub kind: ChangeKind,
}

/// The changes a caller asked to replay are no longer all in the buffer (or the id is from
/// before a restart): assume everything changed, and continue from `last_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("change history no longer covers the requested id (latest is {last_id})")]
pub struct Reset {
    pub last_id: u64,
}

/// Starting the watcher failed (no such directory, inotify limits).
#[derive(Debug, thiserror::Error)]
#[error("watching {}: {source}", root.display())]
pub struct WatchError {
    root: PathBuf,
    source: notify::Error,
}

/// Replayed changes plus a receiver for the ones after them, with no gap and no duplicate.
pub struct Subscription {
    pub backlog: Result<Vec<Arc<Change>>, Reset>,
    pub receiver: broadcast::Receiver<Arc<Change>>,
}

/// The change feed of one served root. `Send + Sync`; share it as `Arc<ChangeFeed>`.
///
/// Subscribers get every change through a `tokio::sync::broadcast` receiver. A receiver that
/// falls more than [`FEED_CAPACITY`] changes behind gets `RecvError::Lagged`: it has missed
/// changes it cannot learn about, and **must assume everything changed** (drop every cache entry,
/// tell its client to reset).
pub struct ChangeFeed {
    shared: Arc<Shared>,
    /// Dropping the watcher closes the raw-event channel, which ends the debounce thread.
    _watcher: Option<RecommendedWatcher>,
}

struct Shared {
    inner: Mutex<Inner>,
}

struct Inner {
    events: VecDeque<Arc<Change>>,
    last_id: u64,
    /// `None` once the feed is closed: receivers see `RecvError::Closed`.
    sender: Option<broadcast::Sender<Arc<Change>>>,
}

impl ChangeFeed {
    /// Watches `root` (recursively) and publishes its changes until the feed is dropped.
    pub fn watch(root: &Path) -> Result<Arc<ChangeFeed>, WatchError> {
        let error = |source| WatchError {
            root: root.to_path_buf(),
            source,
        };
        let shared = Arc::new(Shared::new());
        let (raw_tx, raw_rx) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(raw_tx).map_err(error)?;
        watcher
            .watch(root, RecursiveMode::Recursive)
            .map_err(error)?;
        let thread_shared = shared.clone();
        let thread_root = root.to_path_buf();
        std::thread::Builder::new()
            .name("h2push-watch".into())
            .spawn(move || debounce_loop(raw_rx, &thread_root, &thread_shared))
            .map_err(|e| error(notify::Error::io(e)))?;
        Ok(Arc::new(ChangeFeed {
            shared,
            _watcher: Some(watcher),
        }))
    }

    /// A feed with no watcher: changes come only from [`ChangeFeed::publish`]. For tests.
    pub fn detached() -> Arc<ChangeFeed> {
        Arc::new(ChangeFeed {
            shared: Arc::new(Shared::new()),
            _watcher: None,
        })
    }

    /// Records changes (numbering them) and broadcasts them. The watcher's thread calls this;
    /// tests may too, on a [`detached`](ChangeFeed::detached) feed.
    pub fn publish(&self, changes: impl IntoIterator<Item = (String, ChangeKind)>) {
        self.shared.publish(changes);
    }

    /// A receiver of every change published from now on. See the type's note on `Lagged`.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.shared.lock().receiver()
    }

    /// The buffered changes with an id greater than `after`, oldest first, or [`Reset`] when
    /// some of them have been dropped from the buffer or `after` is from the future (a client
    /// of an earlier run of the server).
    pub fn since(&self, after: u64) -> Result<Vec<Arc<Change>>, Reset> {
        self.shared.lock().since(after)
    }

    /// [`since`](ChangeFeed::since) and [`subscribe`](ChangeFeed::subscribe) at one instant, so
    /// that every change after `after` is delivered exactly once.
    pub fn subscribe_since(&self, after: u64) -> Subscription {
        let inner = self.shared.lock();
        Subscription {
            backlog: inner.since(after),
            receiver: inner.receiver(),
        }
    }

    /// The id of the latest change (0 before the first).
    pub fn last_id(&self) -> u64 {
        self.shared.lock().last_id
    }

    /// Ends every subscription (`RecvError::Closed`), for shutdown: open event streams finish
    /// instead of holding their connections open. Later changes are still buffered.
    pub fn close(&self) {
        self.shared.lock().sender = None;
    }
}

impl fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeFeed")
            .field("last_id", &self.last_id())
            .field("watching", &self._watcher.is_some())
            .finish()
    }
}

impl Shared {
    fn new() -> Self {
        let (sender, _) = broadcast::channel(FEED_CAPACITY);
        Shared {
            inner: Mutex::new(Inner {
                events: VecDeque::with_capacity(FEED_CAPACITY),
                last_id: 0,
                sender: Some(sender),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing under this lock can leave the buffer half-updated; a panic elsewhere while it
        // was held does not make the data wrong.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, changes: impl IntoIterator<Item = (String, ChangeKind)>) {
        let mut inner = self.lock();
        for (path, kind) in changes {
            inner.last_id += 1;
            let change = Arc::new(Change {
                id: inner.last_id,
                path,
                kind,
            });
            debug!(id = change.id, path = %change.path, kind = ?change.kind, "change");
            if inner.events.len() == FEED_CAPACITY {
                inner.events.pop_front();
            }
            inner.events.push_back(change.clone());
            if let Some(sender) = &inner.sender {
                // An error only means nobody is subscribed right now.
                let _ = sender.send(change);
            }
        }
    }
}

impl Inner {
    fn since(&self, after: u64) -> Result<Vec<Arc<Change>>, Reset> {
        let reset = Reset {
            last_id: self.last_id,
        };
        if after > self.last_id {
            return Err(reset);
        }
        let oldest = self.events.front().map_or(self.last_id + 1, |c| c.id);
        if after + 1 < oldest {
            return Err(reset);
        }
        let skip = (after + 1 - oldest) as usize;
        Ok(self.events.iter().skip(skip).cloned().collect())
    }

    fn receiver(&self) -> broadcast::Receiver<Arc<Change>> {
        match &self.sender {
            Some(sender) => sender.subscribe(),
            // Closed: a receiver whose sender is already gone reports `Closed` at once.
            None => broadcast::channel(1).1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(changes: &[Arc<Change>]) -> Vec<u64> {
        changes.iter().map(|c| c.id).collect()
    }

    #[test]
    fn ids_start_at_one_and_replay_is_exact() {
        let feed = ChangeFeed::detached();
        assert_eq!(feed.since(0).unwrap(), vec![]);
        feed.publish([
            ("/a.css".to_string(), ChangeKind::Modified),
            ("/b.html".to_string(), ChangeKind::Created),
        ]);
        feed.publish([("/c.js".to_string(), ChangeKind::Removed)]);
        assert_eq!(feed.last_id(), 3);
        assert_eq!(ids(&feed.since(0).unwrap()), [1, 2, 3]);
        assert_eq!(ids(&feed.since(1).unwrap()), [2, 3]);
        assert_eq!(feed.since(3).unwrap(), vec![]);
        assert_eq!(feed.since(4), Err(Reset { last_id: 3 }), "from the future");
        assert_eq!(feed.since(2).unwrap()[0].path, "/c.js");
    }

    #[test]
    fn the_ring_forgets_the_oldest_and_resets_who_needed_them() {
        let feed = ChangeFeed::detached();
        let n = FEED_CAPACITY as u64 + 10;
        feed.publish((0..n).map(|i| (format!("/{i}"), ChangeKind::Modified)));
        assert_eq!(feed.since(0), Err(Reset { last_id: n }));
        assert_eq!(feed.since(9), Err(Reset { last_id: n }));
        let kept = feed.since(10).unwrap();
        assert_eq!(kept.len(), FEED_CAPACITY);
        assert_eq!(kept[0].id, 11);
    }

    #[tokio::test]
    async fn subscribers_get_what_follows_and_lag_is_reported() {
        let feed = ChangeFeed::detached();
        feed.publish([("/old".to_string(), ChangeKind::Modified)]);
        let mut sub = feed.subscribe_since(0);
        assert_eq!(ids(&sub.backlog.unwrap()), [1]);
        feed.publish([("/new".to_string(), ChangeKind::Created)]);
        assert_eq!(sub.receiver.recv().await.unwrap().id, 2);

        let mut slow = feed.subscribe();
        feed.publish((0..FEED_CAPACITY + 1).map(|i| (format!("/{i}"), ChangeKind::Modified)));
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(1))
        ));
        feed.close();
        let mut closed = feed.subscribe();
        assert!(matches!(
            closed.recv().await,
            Err(broadcast::error::RecvError::Closed)
        ));
    }
}
