//! The accept loop: a socket budget (silent connections closed when it runs out), a task per
//! connection, the listen backlog and open-file limit a burst needs, and graceful shutdown.
//!
//! `run` takes its listener and its stop signals as arguments, so tests bind `127.0.0.1:0` and
//! drive the real server. Shutdown = `signals.shutdown` cancelled → stop accepting → every
//! connection says goodbye (GOAWAY, `Connection: close`) and finishes its open requests → after
//! the grace period, `signals.abort` closes the rest, and their cut responses are logged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use super::admission::Admission;
use super::conn::{self, Transport};
use super::{Signals, State};
use crate::config::{ABORT_LOG_GRACE, LISTEN_BACKLOG};

/// How often a connection waiting for a slot asks idle connections again to make room: one
/// that was busy when it first asked may be idle now.
const RECLAIM_EVERY: Duration = Duration::from_millis(100);

/// Serves connections from `listener` until `signals.shutdown` is cancelled, then drains them
/// for the grace period and aborts what is left.
pub async fn run(listener: TcpListener, transport: Transport, state: Arc<State>, signals: Signals) {
    let tracker = TaskTracker::new();
    let local = listener.local_addr().ok();
    let limits = &state.config.limits;
    // Every socket the server holds: established, shaking hands, silent or waiting for a slot.
    let sockets = Arc::new(Semaphore::new(socket_budget(
        limits.max_connections + limits.max_handshakes + limits.admission_queue,
    )));
    let admission = Arc::new(Admission::new(limits.max_handshakes));
    loop {
        // Accepted first, then given a socket: making room (closing silent connections) is
        // only done for a client that is actually there.
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
        let permit = tokio::select! {
            permit = socket_slot(&sockets, &state, &admission) => permit,
            _ = signals.shutdown.cancelled() => break,
        };
        let _ = tcp.set_nodelay(true);
        let (state, transport, signals) = (state.clone(), transport.clone(), signals.clone());
        let admission = admission.clone();
        tracker.spawn(async move {
            conn::serve(tcp, peer, transport, state, signals, admission).await;
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

/// A socket permit; while none is free, idle connections are asked to make room, and
/// connections silent past the idle-handshake deadline are closed.
async fn socket_slot(
    sockets: &Arc<Semaphore>,
    state: &State,
    admission: &Admission,
) -> OwnedSemaphorePermit {
    loop {
        if let Ok(permit) = sockets.clone().try_acquire_owned() {
            return permit;
        }
        state.reclaim.notify_waiters();
        admission.evict_silent();
        tokio::select! {
            permit = sockets.clone().acquire_owned() => {
                return permit.expect("the socket semaphore is never closed");
            }
            _ = tokio::time::sleep(RECLAIM_EVERY) => {}
        }
    }
}

/// Sockets the accept loop may hold: `wanted`, or fewer when the open-file limit cannot hold
/// them (each connection takes two descriptors: its socket and the lingering-close handle).
fn socket_budget(wanted: usize) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return wanted;
    }
    // Room for the listeners, the watcher, files being served and logs.
    const RESERVED_FDS: u64 = 256;
    let fit = (limit.rlim_cur.saturating_sub(RESERVED_FDS) / 2).max(64);
    wanted.min(usize::try_from(fit).unwrap_or(usize::MAX))
}

/// Raises the soft open-file limit to the hard one (a burst of thousands of connections needs
/// more than the usual 1024). Returns the soft limit now in force.
pub fn raise_fd_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return Some(raised.rlim_cur);
            }
        }
    }
    Some(limit.rlim_cur)
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

/// Binds a listener with a backlog of [`LISTEN_BACKLOG`] (the kernel caps it at
/// `net.core.somaxconn`), with an error that names the address.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let bound = (|| {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(LISTEN_BACKLOG)
    })();
    bound.map_err(|err| {
        let why = match err.kind() {
            std::io::ErrorKind::AddrInUse => "address already in use".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => err.to_string(),
        };
        anyhow::anyhow!("cannot listen on {addr}: {why}")
    })
}
