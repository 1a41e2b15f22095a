//! Validated server settings, built once at start-up and shared as `Arc<Config>`.
//!
//! Every limit that protects the server is a named constant here with its default, and the
//! `serve` flags override them (see `cli.rs`). Nothing in the request path reads flags directly.

use std::path::PathBuf;
use std::time::Duration;

/// Streams a client may have open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS).
/// nginx uses 128 and h2o 100; browsers rarely open more than a few dozen.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 128;

/// Largest request header list accepted (SETTINGS_MAX_HEADER_LIST_SIZE), in bytes. h2's own
/// default is 16 MiB, far more than any real request needs; nginx allows about 32 KiB.
pub const DEFAULT_MAX_HEADER_LIST_SIZE: u32 = 32 * 1024;

/// Time a client has to finish the TLS handshake and the HTTP/2 preface.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection with no open stream for this long is closed with GOAWAY.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Established connections served at once (past their TLS handshake). When all are taken, a
/// new client makes the idle ones (no open request) close, as nginx reuses idle keep-alive
/// connections; further clients wait in the kernel's accept queue.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// TLS handshakes in progress at once (from the client's first bytes to the end of the
/// handshake), counted apart from established connections. A client past it waits for a slot;
/// only a handshake past [`SLOW_HANDSHAKE_DEADLINE`] loses its slot to a waiting client. A
/// connection that has sent nothing holds no slot, and the cleartext port's preface sniff none.
pub const DEFAULT_MAX_HANDSHAKES: usize = 512;

/// A connection that has sent nothing for this long may be closed when the server runs out of
/// sockets for new clients (a browser's TLS ClientHello follows its TCP handshake at once).
pub const IDLE_HANDSHAKE_DEADLINE: Duration = Duration::from_secs(1);

/// A TLS handshake still running this long after the client's first bytes (a slow drip) loses
/// its slot when other clients wait for one. One round trip and a signature take far less.
pub const SLOW_HANDSHAKE_DEADLINE: Duration = Duration::from_secs(3);

/// Sockets the server holds beyond its connection and handshake slots: connections that have
/// sent nothing yet, or wait for a slot. Past them, clients wait in the kernel's accept queue.
pub const ADMISSION_QUEUE: usize = 4096;

/// The listen backlog asked of the kernel (capped by `net.core.somaxconn`): a burst of
/// connections larger than it overflows into SYN retries, seconds late. tokio binds with 1024.
pub const LISTEN_BACKLOG: u32 = 8192;

/// Event streams open at once, across all connections. Past it, `events` answers 503 with
/// `Retry-After`: long-lived streams must leave room for pages.
pub const DEFAULT_MAX_EVENT_STREAMS: usize = 512;

/// A connection whose client takes no bytes for this long while the server has some to send
/// is closed (nginx's `send_timeout`); an HTTP/2 stream that gets no window for this long is
/// reset. `EventSource` reconnects with `Last-Event-ID`.
pub const DEFAULT_SEND_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Response bytes one connection may have buffered for sending (handed to HTTP/2, not yet on
/// the socket). A stream that would go past it waits for the client to take some.
pub const DEFAULT_SEND_BUFFER_PER_CONNECTION: usize = 1024 * 1024;

/// Response bytes buffered for sending across all connections.
pub const DEFAULT_SEND_BUFFER_TOTAL: usize = 256 * 1024 * 1024;

/// After a connection ends, how long the server keeps reading (and discarding) what the client
/// still sends before closing the socket: closing with unread bytes makes the kernel send a
/// reset, which can destroy the last response before the client has read it.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(5);

/// After the shutdown grace period, how long cut streams get to write their access-log lines.
pub const ABORT_LOG_GRACE: Duration = Duration::from_millis(500);

/// After SIGINT/SIGTERM, how long in-flight streams get to finish before the process exits.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Per-stream receive window we advertise. Requests carry no body, so this matters little for
/// the server; it is large so that nothing a client uploads stalls before being discarded.
pub const STREAM_WINDOW: u32 = 1024 * 1024;

/// Connection-level receive window we advertise.
pub const CONNECTION_WINDOW: u32 = 4 * 1024 * 1024;

/// Largest chunk of a file read and handed to h2 at once. Memory per stream is bounded by this
/// (plus what h2 buffers, which is at most the capacity we reserved).
pub const BODY_CHUNK: usize = 64 * 1024;

/// Most bytes h2 may buffer for sending per stream before `poll_capacity` makes us wait.
pub const MAX_SEND_BUFFER: usize = 256 * 1024;

/// Threads for file-system work (opening files, parsing pages). Tokio's default of 512 let a
/// burst of first requests start hundreds of threads that then sat idle.
pub const MAX_BLOCKING_THREADS: usize = 64;

/// `Cache-Control` for files other than HTML, unless `--cache-control` says otherwise.
pub const DEFAULT_CACHE_CONTROL: &str = "public, max-age=3600";

/// `Cache-Control` for HTML: pushes and hints are decided per response, so pages are always
/// revalidated.
pub const HTML_CACHE_CONTROL: &str = "no-cache";

/// Most PUSH_PROMISEs sent for one page; assets beyond it are still hinted.
pub const DEFAULT_PUSH_MAX_ASSETS: usize = 16;

/// Safety cap on the bytes of critical assets (what the page needs to render) pushed for one
/// page; critical assets past it are hinted. It is not what decides: a page needs its
/// stylesheets and scripts whatever their size, and a cap below them (it was 1 MiB) left the
/// reveal.js demo's 900 KB script to be discovered a round trip later, so push bought nothing.
/// 8 MiB only stops absurd or hostile pages from pushing without end.
pub const DEFAULT_PUSH_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// Bytes of non-critical assets (images, async scripts, preloaded fetches) pushed for one page,
/// on top of the critical ones; the rest are hinted. 64 KiB is the initial flow-control window
/// of an HTTP/2 connection, and about what a fresh TCP connection (10 segments, doubling) carries
/// in its first two or three round trips: what fits in the round trips the page takes anyway,
/// without pushing megabytes of images the browser may never show.
pub const DEFAULT_PUSH_EXTRA_BYTES: u64 = 64 * 1024;

/// Default for [`DiscoveryLimits::max_html_bytes`]: pages are rarely bigger, and the preload
/// scanner of a browser would not get further before the user sees something either.
pub const DEFAULT_MAX_HTML_BYTES: usize = 2 * 1024 * 1024;
/// Default for [`DiscoveryLimits::max_css_bytes`], per stylesheet.
pub const DEFAULT_MAX_CSS_BYTES: usize = 1024 * 1024;
/// Default for [`DiscoveryLimits::max_assets`]: pushing more than this costs the page more than it
/// saves.
pub const DEFAULT_MAX_ASSETS: usize = 64;
/// Default for [`DiscoveryLimits::max_import_depth`]: real sites nest `@import` two or three deep.
pub const DEFAULT_MAX_IMPORT_DEPTH: usize = 8;
/// Default for [`DiscoveryLimits::max_modules`]: JavaScript modules read per page. An unbundled
/// app on a component library has 50 to 300; past this the rest of the graph is not followed.
pub const DEFAULT_MAX_MODULES: usize = 512;
/// Default for [`DiscoveryLimits::max_module_bytes`]: a module bigger than this is hinted but
/// its imports are not followed (unbundled modules are a few KiB; a 1 MiB one is a bundle).
pub const DEFAULT_MAX_MODULE_BYTES: usize = 1024 * 1024;
/// Default for [`DiscoveryLimits::max_module_graph_bytes`]: JavaScript parsed per page, all
/// modules together (about a tenth of a second of parsing).
pub const DEFAULT_MAX_MODULE_GRAPH_BYTES: usize = 16 * 1024 * 1024;
/// Default for [`DiscoveryLimits::max_module_depth`]: import levels followed from an entry
/// module (a lit app is 7 deep).
pub const DEFAULT_MAX_MODULE_DEPTH: usize = 32;

/// Bounds on the work one page's discovery may do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiscoveryLimits {
    /// HTML beyond this many bytes is not looked at.
    pub max_html_bytes: usize,
    /// Bytes read from each stylesheet.
    pub max_css_bytes: usize,
    /// Assets in a manifest; the least urgent go first.
    pub max_assets: usize,
    /// `@import` nesting followed: a linked sheet is depth 0, what it imports depth 1.
    pub max_import_depth: usize,
    /// JavaScript modules whose imports are read, per page.
    pub max_modules: usize,
    /// Bytes of one module read; a bigger one is hinted, not followed.
    pub max_module_bytes: usize,
    /// Bytes of all the modules of a page read together.
    pub max_module_graph_bytes: usize,
    /// Import levels followed: an entry module (`<script type=module>`, a modulepreload, an
    /// inline module's imports) is depth 0, what it imports depth 1.
    pub max_module_depth: usize,
}

impl Default for DiscoveryLimits {
    fn default() -> Self {
        DiscoveryLimits {
            max_html_bytes: DEFAULT_MAX_HTML_BYTES,
            max_css_bytes: DEFAULT_MAX_CSS_BYTES,
            max_assets: DEFAULT_MAX_ASSETS,
            max_import_depth: DEFAULT_MAX_IMPORT_DEPTH,
            max_modules: DEFAULT_MAX_MODULES,
            max_module_bytes: DEFAULT_MAX_MODULE_BYTES,
            max_module_graph_bytes: DEFAULT_MAX_MODULE_GRAPH_BYTES,
            max_module_depth: DEFAULT_MAX_MODULE_DEPTH,
        }
    }
}

/// What the server does with a page's assets.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// Send PUSH_PROMISE (when the client allows push).
    pub push: bool,
    /// Send a 103 Early Hints response with `Link: rel=preload` before the page.
    pub early_hints: bool,
    /// Put the `Link: rel=preload` values on the page's own response too.
    pub preload_headers: bool,
    pub max_assets: usize,
    /// Safety cap on critical bytes pushed per page ([`DEFAULT_PUSH_MAX_BYTES`]).
    pub max_bytes: u64,
    /// Non-critical bytes pushed per page ([`DEFAULT_PUSH_EXTRA_BYTES`]).
    pub extra_bytes: u64,
    /// Keep a digest of what each client received in a cookie, and do not push what it has.
    pub digest: bool,
    /// Bounds on what discovery parses.
    pub discovery: DiscoveryLimits,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            push: true,
            early_hints: true,
            preload_headers: true,
            max_assets: DEFAULT_PUSH_MAX_ASSETS,
            max_bytes: DEFAULT_PUSH_MAX_BYTES,
            extra_bytes: DEFAULT_PUSH_EXTRA_BYTES,
            digest: true,
            discovery: Default::default(),
        }
    }
}
/// URL prefix of the change feed (`events`, `poll`), unless `--feed-path` says otherwise. A
/// dot-directory, so it can never shadow a file of the site (dotfiles are not served).
pub const DEFAULT_FEED_PATH: &str = "/.h2push/";

/// An open event stream with nothing to say sends a `: keep-alive` comment this often, so
/// proxies and load balancers do not close it as idle.
pub const DEFAULT_SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The `retry:` an event stream announces: how long `EventSource` waits before reconnecting.
pub const SSE_RETRY: Duration = Duration::from_millis(2000);

/// Most event bytes sent as one chunk of an event stream (a burst of changes, or a replay for
/// a reconnecting client; a longer replay becomes a reset). A stream holds at most one chunk
/// while the client's window is shut: the rest wait in the feed's shared buffer, and a client
/// that falls [`FEED_CAPACITY`](crate::watch::FEED_CAPACITY) changes behind gets a reset.
pub const SSE_MAX_QUEUED: usize = 64 * 1024;

/// How long a long-poll request is held when there is no news, before an empty answer. Under
/// the 30 s that many proxies allow an idle response.
pub const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(25);

/// HTML pages larger than this are served without the live-reload script, rather than read
/// whole into memory.
pub const LIVE_RELOAD_MAX_HTML: u64 = 4 * 1024 * 1024;

/// Limits applied to every connection.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_concurrent_streams: u32,
    pub max_header_list_size: u32,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_handshakes: usize,
    pub max_event_streams: usize,
    /// Sockets held beyond the connection and handshake slots ([`ADMISSION_QUEUE`]).
    pub admission_queue: usize,
    pub send_stall_timeout: Duration,
    pub send_buffer_per_connection: usize,
    pub send_buffer_total: usize,
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_handshakes: DEFAULT_MAX_HANDSHAKES,
            max_event_streams: DEFAULT_MAX_EVENT_STREAMS,
            admission_queue: ADMISSION_QUEUE,
            send_stall_timeout: DEFAULT_SEND_STALL_TIMEOUT,
            send_buffer_per_connection: DEFAULT_SEND_BUFFER_PER_CONNECTION,
            send_buffer_total: DEFAULT_SEND_BUFFER_TOTAL,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// The change feed's endpoints and timings.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// URL prefix, starting and ending with `/`: `{path}events` and `{path}poll`.
    pub path: String,
    pub keep_alive: Duration,
    pub poll_timeout: Duration,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig {
            path: DEFAULT_FEED_PATH.to_string(),
            keep_alive: DEFAULT_SSE_KEEP_ALIVE,
            poll_timeout: DEFAULT_POLL_TIMEOUT,
        }
    }
}

/// Everything the request path needs to know, fixed for the life of the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// The served directory, canonicalized (symlinks resolved) so containment checks are exact.
    pub root: PathBuf,
    /// Serve symlinks whose target lies outside `root`.
    pub follow_symlinks: bool,
    /// `Cache-Control` for files that are not HTML.
    pub cache_control: String,
    pub limits: Limits,
    pub push: PushConfig,
    pub feed: FeedConfig,
    /// Inject the live-reload script into HTML responses.
    pub live_reload: bool,
    /// The `Server` header on every response; `None` with `--no-server-header`.
    pub server_header: Option<http::HeaderValue>,
    /// `--fallback`, `--header`, `--cors`.
    pub rules: crate::files::rules::SiteRules,
    pub compress: CompressConfig,
    /// Key material never served: the certificate directory and files (see `files::secrets`).
    pub secrets: std::sync::Arc<crate::files::secrets::KeyGuard>,
    /// Backends for requests files do not answer (`--proxy`, `h2push proxy`).
    pub proxy: Option<crate::proxy::ProxyConfig>,
}

/// Bytes of compressed bodies kept in memory by default: 64 MiB, room for the compressed
/// scripts and styles of a large site in all three codings. `--compress-cache`.
pub const DEFAULT_COMPRESS_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Content codings (see `files::compress`).
#[derive(Debug, Clone)]
pub struct CompressConfig {
    /// Compress compressible files on the fly (once per version, kept in memory).
    pub on_the_fly: bool,
    /// Serve `FILE.br`, `FILE.zst`, `FILE.gz` sidecars when accepted and fresh.
    pub precompressed: bool,
    /// Budget of the compressed-body cache, in bytes.
    pub cache_bytes: usize,
}

impl Default for CompressConfig {
    fn default() -> Self {
        CompressConfig {
            on_the_fly: true,
            precompressed: true,
            cache_bytes: DEFAULT_COMPRESS_CACHE_BYTES,
        }
    }
}

impl Config {
    /// Settings with every default, serving `root` (which must already be canonical).
    pub fn new(root: PathBuf) -> Self {
        Config {
            root,
            follow_symlinks: false,
            cache_control: DEFAULT_CACHE_CONTROL.to_string(),
            limits: Limits::default(),
            push: PushConfig::default(),
            feed: FeedConfig::default(),
            live_reload: false,
            server_header: Some(http::HeaderValue::from_static(concat!(
                "h2push/",
                env!("CARGO_PKG_VERSION")
            ))),
            rules: Default::default(),
            compress: CompressConfig::default(),
            secrets: Default::default(),
            proxy: None,
        }
    }
}
