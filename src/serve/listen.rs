//! The accept loop: a socket budget, a task per connection, the handshake slots, and graceful
//! shutdown.
//!
//! `run` takes its listener and its stop signals as arguments, so tests bind `127.0.0.1:0` and
//! drive the real server. Shutdown = `signals.shutdown` cancelled → stop accepting → every
//! connection says goodbye (GOAWAY, `Connection: close`) and finishes its open requests → after
//! the grace period, `signals.abort` closes the rest, and their cut responses are logged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use super::conn::{self, Transport};
use super::limits::Handshakes;
use super::{Signals, State};
use crate::config::ABORT_LOG_GRACE;

/// How often a connection waiting for a slot asks idle connections again to make room: one
/// that was busy when it first asked may be idle now.
const RECLAIM_EVERY: Duration = Duration::from_millis(100);

/// Serves connections from `listener` until `signals.shutdown` is cancelled, then drains them
/// for the grace period and aborts what is left.
pub async fn run(listener: TcpListener, transport: Transport, state: Arc<State>, signals: Signals) {
    let tracker = TaskTracker::new();
    let local = listener.local_addr().ok();
    let limits = &state.config.limits;
    // Every socket the server holds: established, shaking hands, or waiting for a slot.
    let sockets = Arc::new(Semaphore::new(
        limits.max_connections + limits.max_handshakes,
    ));
    let handshakes = Arc::new(Handshakes::new(limits.max_handshakes));
    loop {
        let permit = tokio::select! {
            permit = socket_slot(&sockets, &state) => permit,
            _ = signals.shutdown.cancelled() => break,
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
            _ = signals.shutdown.cancelled() => break,
        };
        let _ = tcp.set_nodelay(true);
        let (state, transport, signals) = (state.clone(), transport.clone(), signals.clone());
        let handshakes = handshakes.clone();
        tracker.spawn(async move {
            conn::serve(tcp, peer, transport, state, signals, handshakes).await;
            drop(permit);
        });
    }
    drop(listener);
    tracker.close();
    let grace = state.config.limits.shutdown_grace;
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        warn!(
            connections = tracker.len(),
            "connections still open after the shutdown grace period; closing them (their cut responses are logged)"
        );
        signals.abort.cancel();
        let _ = tokio::time::timeout(ABORT_LOG_GRACE, tracker.wait()).await;
    } else if let Some(addr) = local {
        info!(%addr, "listener drained");
    }
}

/// A socket permit; when none is free, idle connections are asked to make room first.
async fn socket_slot(sockets: &Arc<Semaphore>, state: &State) -> OwnedSemaphorePermit {
    if let Ok(permit) = sockets.clone().try_acquire_owned() {
        return permit;
    }
    state.reclaim.notify_waiters();
    sockets
        .clone()
        .acquire_owned()
        .await
        .expect("the socket semaphore is never closed")
}

impl State {
    /// A slot for an established connection; while none is free, connections that are idle
    /// (or become idle) are asked to make room. `None` when the server shuts down meanwhile.
    pub(super) async fn connection_slot(&self, signals: &Signals) -> Option<OwnedSemaphorePermit> {
        loop {
            if let Ok(permit) = self.connections.clone().try_acquire_owned() {
                return Some(permit);
            }
            self.reclaim.notify_waiters();
            tokio::select! {
                permit = self.connections.clone().acquire_owned() => return permit.ok(),
                _ = tokio::time::sleep(RECLAIM_EVERY) => {}
                _ = signals.shutdown.cancelled() => return None,
            }
        }
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
