//! # h2push
//!
//! An HTTP/2 static file server whose point is to get a page's assets to the client one round
//! trip early: 103 Early Hints, `Link: rel=preload` and HTTP/2 server push.
//!
//! ## How a request flows
//! ```text
//! server::run          accept loop, connection limit (semaphore), graceful shutdown
//!   └ conn::serve      TLS handshake (timeout) → h2 handshake with our limits → a task per stream
//!       └ handler      one stream: files::resolve on the blocking pool → response head → body
//!           ├ events           the change feed's endpoints (SSE, long-poll), routed first
//!           ├ files::path      URL path → file under the root (decode once, filter, symlinks)
//!           ├ files::headers   validators, conditional requests, ranges (pure)
//!           ├ files::response  outcome → status and headers (pure)
//!           ├ files::body      body streamed under h2 flow control
//!           └ live_reload      HTML pages with the reload script, when `--live-reload`
//! ```
//! `watch` owns the `notify` watcher on the root: a debounced, numbered, buffered `ChangeFeed`
//! in `server::State` that the event endpoints stream and caches subscribe to.
//! `compare` is the page-load comparer: a browser-like client on `client`, reusing the
//! discovery code of `push`, through an RTT-emulating proxy, with push, hints only and neither.
//! `config` holds every limit as a named constant with its default; `cli` turns flags into a
//! `Config` and runs the subcommands; `tls` loads or makes certificates.

pub mod cli;
pub mod client;
pub mod coalesce;
pub mod compare;
pub mod config;
pub mod conn;
pub mod events;
pub mod files;
pub mod handler;
pub mod hints;
pub mod live_reload;
pub mod push;
pub mod server;
pub mod tls;
pub mod watch;
