//! The accept loop: a connection limit, a task per connection, and graceful shutdown.
//!
//! `run` takes its listener and its shutdown token as arguments, so tests bind `127.0.0.1:0`
//! and drive the real server. Shutdown = token cancelled → stop accepting → every connection
//! sends GOAWAY and finishes its in-flight streams → after the grace period, give up on the rest.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::conn;
use crate::push::cache::ManifestCache;
use crate::watch::ChangeFeed;

/// What every connection shares.
#[derive(Debug)]
pub struct State {
    pub config: Arc<Config>,
    /// Page manifests shared by all connections.
    pub manifests: ManifestCache,
    /// Changes under the root, when a watcher runs: the event endpoints and live reload use it.
    pub changes: Option<Arc<ChangeFeed>>,
    /// One permit per open connection, across all listeners.
    connections: Arc<Semaphore>,
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
        let state = Arc::new(State {
            connections: Arc::new(Semaphore::new(config.limits.max_connections)),
            manifests: ManifestCache::default(),
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

/// Drops the cached manifests a change touches, for as long as the state lives. A receiver that
/// lagged lost changes, so it drops them all.
async fn invalidate_on_change(
    mut changes: tokio::sync::broadcast::Receiver<Arc<crate::watch::Change>>,
    state: std::sync::Weak<State>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let received = changes.recv().await;
        let Some(state) = state.upgrade() else { return };
        match received {
            Ok(change) => {
                let dropped = state.manifests.invalidate(&change.path);
                tracing::debug!(path = %change.path, dropped, "manifests invalidated");
            }
            Err(RecvError::Lagged(missed)) => {
                warn!(missed, "change feed lagged; dropping every cached manifest");
                state.manifests.clear();
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// How a listener's connections start: TLS with ALPN, or cleartext HTTP/2 with prior knowledge.
#[derive(Clone)]
pub enum Transport {
    Tls(TlsAcceptor),
    Cleartext,
}

impl Transport {
    pub fn scheme(&self) -> http::uri::Scheme {
        match self {
            Transport::Tls(_) => http::uri::Scheme::HTTPS,
            Transport::Cleartext => http::uri::Scheme::HTTP,
        }
    }
}

/// Serves connections from `listener` until `shutdown` is cancelled, then drains them.
pub async fn run(
    listener: TcpListener,
    transport: Transport,
    state: Arc<State>,
    shutdown: CancellationToken,
) {
    let tracker = TaskTracker::new();
    let local = listener.local_addr().ok();
    loop {
        let permit = tokio::select! {
            permit = state.connections.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.cancelled() => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(err) => {
                    // EMFILE and friends: back off instead of spinning.
                    error!(cause = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let _ = tcp.set_nodelay(true);
        let state = state.clone();
        let transport = transport.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            conn::serve(tcp, peer, transport, state, shutdown).await;
            drop(permit);
        });
    }
    drop(listener);
    tracker.close();
    let grace = state.config.limits.shutdown_grace;
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        warn!(
            connections = tracker.len(),
            "connections still open after the shutdown grace period; closing them"
        );
    } else if let Some(addr) = local {
        info!(%addr, "listener drained");
    }
}

/// Binds a listener, with an error that names the address.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|err| {
        let why = match err.kind() {
            std::io::ErrorKind::AddrInUse => "address already in use".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => err.to_string(),
        };
        anyhow::anyhow!("cannot listen on {addr}: {why}")
    })
}
