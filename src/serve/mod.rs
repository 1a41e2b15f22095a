//! Serving: a protocol-free core that decides what a request gets, and two thin transports that
//! carry its answer onto the wire.
//!
//! ```text
//! listen::run        accept loop: socket budget, handshake slots, graceful shutdown
//!   └ conn           TLS handshake → ALPN (h2 | http/1.1) or cleartext sniff → lingering close
//!       ├ h2         HTTP/2 (h2 crate): a task per stream, 103, PUSH_PROMISE, flow control
//!       └ h1         HTTP/1.1 (hyper): keep-alive, pipelining, chunked event streams
//!           └ core   request head → Reply (head + body source) and a page's early assets
//! ```
//! Beside them: `state` (what connections share), `admission` (who gets sockets and handshake
//! slots in a burst, refusals by reason), `limits` (event-stream and send budgets),
//! `io` (write stall timeout, send-budget accounting), `coalesce` (write batching for h2),
//! `activity` (idle connections), `access` (the access log), `date` (the `Date` header).

pub mod access;
pub mod access_log;
mod activity;
pub mod admission;
pub mod coalesce;
pub mod conn;
pub mod core;
mod date;
pub mod h1;
pub mod h2;
pub mod io;
pub mod limits;
pub mod listen;
pub mod start;
mod state;
pub mod upgrade;

pub use conn::Transport;
pub use listen::{bind, run};
pub use state::State;

/// The server's two stop signals, as every connection sees them.
#[derive(Clone, Debug, Default)]
pub struct Signals {
    /// Stop taking requests: GOAWAY / `Connection: close`, and let open ones finish.
    pub shutdown: Signal,
    /// The grace period is over: close now, logging what was cut.
    pub abort: Signal,
}

/// A stop signal: a cancellation token, plus a flag that a connection's request loop reads
/// without the token's lock. Polling the token's future takes two locks; a loop that polls it
/// once (which registers its waker) and again only when [`Signal::raised`] saves that per
/// request (about 2 % of small-file throughput).
#[derive(Clone, Debug, Default)]
pub struct Signal {
    token: tokio_util::sync::CancellationToken,
    raised: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Signal {
    pub fn cancel(&self) {
        self.raised.store(true, std::sync::atomic::Ordering::SeqCst);
        self.token.cancel();
    }

    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// Whether [`Signal::cancel`] was called, without a lock.
    pub fn raised(&self) -> bool {
        self.raised.load(std::sync::atomic::Ordering::Relaxed)
    }
}
