//! # h2push
//!
//! An HTTP/2 static file server whose point is to get a page's assets to the client one round
//! trip early: 103 Early Hints, `Link: rel=preload` and HTTP/2 server push.
//!
//! ## How a request flows
//! ```text
//! serve::listen        accept loop: socket budget, handshake slots, graceful shutdown
//!   └ serve::conn      TLS handshake → ALPN h2 or HTTP/1.1 (cleartext: sniff) → lingering close
//!       ├ serve::h2    HTTP/2: a task per stream; 103, PUSH_PROMISE, bodies under flow control
//!       └ serve::h1    HTTP/1.1 over hyper: keep-alive, `Link` headers, chunked event streams
//!       │   (both: a WebSocket handshake on the feed goes to serve::upgrade → events::ws)
//!           └ serve::core      protocol-free: request head → `reply::Reply` + a page's assets
//!               ├ events           the change feed's endpoints (SSE, NDJSON, WebSocket, long-poll)
//!               ├ files::path      URL path → file under the root (decode once, filter, symlinks)
//!               ├ files::headers   validators, conditional requests, ranges (pure)
//!               ├ files::response  outcome → status and headers (pure)
//!               ├ push::pages      a page's manifest: cached, or discovered (push::discover)
//!               └ files::live_reload  HTML pages with the reload script, when `--live-reload`
//! ```
//! Lower layers never import higher ones: `reply`, `config`, `files`, `push`, `events` and
//! `watch` know nothing of `serve`; `serve` knows nothing of `cli`.
//! `watch` owns the `notify` watcher on the root: a debounced, numbered, buffered `ChangeFeed`
//! in `serve::State` that the event endpoints stream and caches subscribe to.
//! `compare` is the page-load comparer: a browser-like client on `client`, reusing the
//! discovery code of `push`, through an RTT-emulating proxy, with push, hints only and neither.
//! `export` writes the Link headers `serve` would send with each page (found by `push::scan`'s
//! walk and discovery, planned by `push::policy`) as a CDN's `_headers` file or an nginx,
//! h2o, Caddy or Apache configuration.
//! `config` holds every limit as a named constant with its default; `cli` holds the flags
//! (`cli::serve` turns serve's into a `Config` and a `serve::start::Startup`; `cli::help` the
//! exit codes, completions and man pages; `config_file` adds `H2PUSH_*` and h2push.toml) and
//! hands each subcommand to its module (`serve::start::run`, `certs::run`, `compare::run`,
//! `export::args::run`, `push::scan_args::run`); `launch` opens a browser for `--open`; `tls`
//! loads or makes certificates; `certs` keeps the local CA with the user (one per user, as
//! mkcert's CAROOT) and runs `cert`; `trust` puts it in the browsers' stores.
//! `files::secrets` keeps key material from ever being served.
//! `proxy` sends what files do not answer (`--proxy`, `h2push proxy`) to an HTTP/1.1 backend:
//! `serve::core` calls it, and the transports carry its streamed reply like a file's.

pub mod certs;
pub mod cli;
pub mod client;
pub mod compare;
pub mod config;
pub mod config_file;
pub mod events;
pub mod export;
pub mod files;
pub mod launch;
pub mod proxy;
pub mod push;
pub mod reply;
pub mod serve;
pub mod throttle;
pub mod tls;
pub mod trust;
pub mod usage;
pub mod watch;
