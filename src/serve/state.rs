//! What every connection shares: settings, caches, the change feed and the budgets.

use std::sync::Arc;

use tokio::sync::{Notify, Semaphore};
use tracing::warn;

use super::admission::Refusals;
use super::limits::EventStreams;
use crate::config::Config;
use crate::files::cache::FileCache;
use crate::files::compress::Encoder;
use crate::push::cache::ManifestCache;
use crate::watch::ChangeFeed;

/// What every connection shares.
#[derive(Debug)]
pub struct State {
    pub config: Arc<Config>,
    /// Page manifests shared by all connections.
    pub manifests: ManifestCache,
    /// Small files served from memory (only while a watcher runs).
    pub files: FileCache,
    /// Chooses each file's content coding; keeps on-the-fly compressions.
    pub encoder: Encoder,
    /// Changes under the root, when a watcher runs: the event endpoints and live reload use it.
    pub changes: Option<Arc<ChangeFeed>>,
    /// One permit per established connection, across all listeners.
    pub(super) connections: Arc<Semaphore>,
    /// Clients closed before their first request (or answered 503 past the event-stream cap),
    /// counted by reason.
    pub refusals: Refusals,
    /// Open event streams, capped apart from connections.
    pub event_streams: EventStreams,
    /// Response bytes buffered for sending, across all connections.
    pub(super) send_buffer: Arc<Semaphore>,
    /// Notified when a new connection finds no free slot: idle connections close to make room.
    pub(super) reclaim: Notify,
    /// The backends and their connection pools, with `--proxy`.
    pub proxy: Option<crate::proxy::Proxy>,
}

impl State {
    pub fn new(config: Config) -> Arc<Self> {
        Self::build(config, None)
    }

    /// State whose change endpoints serve `changes`.
    pub fn with_changes(config: Config, changes: Arc<ChangeFeed>) -> Arc<Self> {
        Self::build(config, Some(changes))
    }

    fn build(config: Config, changes: Option<Arc<ChangeFeed>>) -> Arc<Self> {
        let limits = &config.limits;
        let state = Arc::new(State {
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            event_streams: EventStreams::new(limits.max_event_streams),
            refusals: Refusals::default(),
            send_buffer: Arc::new(Semaphore::new(limits.send_buffer_total)),
            reclaim: Notify::new(),
            proxy: config.proxy.clone().map(crate::proxy::Proxy::new),
            manifests: ManifestCache::default(),
            files: FileCache::new(changes.is_some() && !config.follow_symlinks),
            encoder: Encoder::new(config.compress.clone()),
            config: Arc::new(config),
            changes,
        });
        if let Some(feed) = &state.changes {
            state.manifests.set_watched(true);
            tokio::spawn(invalidate_on_change(
                feed.subscribe(),
                Arc::downgrade(&state),
            ));
        }
        state
    }
}

/// Drops the cached manifests and files a change touches, for as long as the state lives. A
/// receiver that lagged lost changes, so it drops them all.
async fn invalidate_on_change(
    mut changes: tokio::sync::broadcast::Receiver<Arc<crate::watch::Change>>,
    state: std::sync::Weak<State>,
) {
    use tokio::sync::broadcast::error::RecvError;
    static LAGGED: crate::throttle::Throttle = crate::throttle::Throttle::new();
    loop {
        let received = changes.recv().await;
        let Some(state) = state.upgrade() else { return };
        match received {
            Ok(change) => {
                let dropped = state.manifests.invalidate(&change.path);
                state.files.invalidate(&change.path);
                if let Ok(rel) = crate::files::path::sanitize(&change.path) {
                    state.encoder.invalidate(&state.config.root.join(rel));
                }
                tracing::debug!(path = %change.path, dropped, "caches invalidated");
            }
            Err(RecvError::Lagged(missed)) => {
                if let Some(held) = LAGGED.admit() {
                    warn!(
                        missed,
                        similar_warnings_held_back = held,
                        "change feed lagged; dropping every cached manifest and file"
                    );
                }
                state.manifests.clear();
                state.files.clear();
                state.encoder.clear();
            }
            Err(RecvError::Closed) => return,
        }
    }
}
