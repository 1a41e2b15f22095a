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
//! Beside them: `state` (what connections share), `limits` (event-stream and send budgets),
//! `io` (write stall timeout, send-budget accounting), `coalesce` (write batching for h2),
//! `activity` (idle connections), `access` (the access log), `date` (the `Date` header).

pub mod access;
pub mod access_log;
mod activity;
pub mod coalesce;
pub mod conn;
pub mod core;
mod date;
pub mod h1;
pub mod h2;
pub mod io;
pub mod limits;
pub mod listen;
mod state;

pub use conn::Transport;
pub use listen::{bind, run};
pub use state::State;

/// The server's two stop signals, as every connection sees them.
#[derive(Clone, Debug, Default)]
pub struct Signals {
    /// Stop taking requests: GOAWAY / `Connection: close`, and let open ones finish.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The grace period is over: close now, logging what was cut.
    pub abort: tokio_util::sync::CancellationToken,
}
