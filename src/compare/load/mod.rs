//! One page load, the way a browser would do it, on a fresh HTTP/2 connection: GET the HTML,
//! discover its subresources with the server's own discovery code (`parse_html`, then
//! `parse_css` as each stylesheet arrives, `module_imports` as each module script arrives),
//! request what is needed and not already pushed or requested, and stop when the HTML and every subresource have completed.
//!
//! The connection's tasks report to one event loop ([`Loader::run`]): a task per stream reads
//! the response (and for the page its 103s), a collector takes PUSH_PROMISEs. The loop owns all
//! the bookkeeping, so there are no locks and the timeline is in arrival order.
//!
//! Requests carry a browser's `accept-encoding` ([`ACCEPT_ENCODING`]); compressed HTML and CSS
//! are decoded before discovery reads them.
//!
//! ```text
//! load_view   connect, run the Loader under LOAD_TIMEOUT, put the trace in wire order (here)
//!   ├ stream    the connection and its frames: a task per stream, the promise collector
//!   ├ events    what each Event changes in the Loader
//!   ├ page      the page model and what to request next (cache, pushes, hints, discovery)
//!   ├ modules   the module graph: module scripts read as they arrive, their imports requested
//!   └ outcome   what the run measured and when: Resource, TraceEvent, RunOutcome
//! mode        the modes and views compared (--modes, --views)
//! ```

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use bytes::Bytes;
use h2::client::SendRequest;
use tokio::sync::{mpsc, oneshot};
use url::Url;

use super::cache::ClientCache;
use super::wire::wire_order;
use crate::client::FrameLog;
use crate::push::import_map::ImportMap;

mod events;
mod mode;
mod modules;
mod outcome;
mod page;
mod stream;
pub use mode::{Mode, ModeList, View, ViewList};
use outcome::ms;
pub use outcome::{Resource, RunOutcome, TraceEvent, Via};
use page::path_of;
use stream::{collect_promises, connect, link_values, no_http2, read_stream, Event};

/// Flow-control windows of the client, stream and connection: 2^24-1 like a browser, and like
/// `nghttp -w 24 -W 24`, so a large image is not held back by 64 KiB windows at a long RTT.
pub const CLIENT_WINDOW: u32 = (1 << 24) - 1;

/// Time allowed for TCP connect, TLS and the HTTP/2 preface.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Time allowed for one page load, from the first request to the last byte.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// HTML parsed for subresources: a browser's preload scanner would not get further before
/// first paint either.
pub const MAX_HTML_PARSE_BYTES: usize = 512 * 1024;

/// Bytes kept of each stylesheet to find its `@import`s and `url()`s.
pub const MAX_CSS_PARSE_BYTES: usize = 512 * 1024;

/// Bytes kept of each module script to find its imports (a longer one is cut, fails to parse
/// and is not followed).
pub const MAX_MODULE_PARSE_BYTES: usize = 1024 * 1024;

/// The `accept-encoding` every request sends: Chrome's, so a server compresses as it would for
/// a browser (and `bytes` count what a browser would receive).
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// Subresources one page may need; the rest are not requested (a hostile page cannot make the
/// comparer open thousands of streams).
pub const MAX_RESOURCES: usize = 256;

/// Where to load the page from.
#[derive(Clone)]
pub struct Target {
    /// The page, `https://localhost:8443/` (its authority is what requests carry).
    pub url: Url,
    /// Where to open the TCP connection: the server, or the RTT proxy in front of it.
    pub connect_to: SocketAddr,
    /// TLS (None for `http://`, cleartext prior knowledge) and server name.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub server_name: String,
}

/// Loads the page once in `mode` on a new connection, as a first view.
pub async fn load_page(target: &Target, mode: Mode) -> Result<RunOutcome> {
    load_view(target, mode, None)
        .await
        .map(|(outcome, _)| outcome)
}

/// Loads the page once in `mode` on a new connection, with what the client kept from an
/// earlier view (`prior`: a repeat view) or nothing (a first view). Returns what the client
/// keeps from this one.
pub async fn load_view(
    target: &Target,
    mode: Mode,
    prior: Option<&ClientCache>,
) -> Result<(RunOutcome, ClientCache)> {
    let started = Instant::now();
    let wire = Arc::new(AtomicU64::new(0));
    let frames = FrameLog::default();
    let connecting = connect(target, mode, wire.clone(), frames.clone());
    let conn = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| {
            anyhow!(
                "connecting to {} took longer than {CONNECT_TIMEOUT:?}",
                target.url
            )
        })??;
    let ready = Instant::now();
    let loader = Loader::new(target, mode, conn.send, ready, prior.cloned());
    let result = tokio::time::timeout(LOAD_TIMEOUT, loader.run()).await;
    conn.driver.abort();
    let (mut outcome, kept) = match result {
        Ok(outcome) => outcome?,
        Err(_) => anyhow::bail!(
            "{} did not finish loading within {LOAD_TIMEOUT:?}",
            target.url
        ),
    };
    outcome.connect_ms = ms(ready - started);
    outcome.wire_bytes = wire.load(Ordering::Relaxed);
    wire_order(
        &mut outcome.trace,
        &frames.frames(),
        frames.started(),
        ready,
    );
    Ok((outcome, kept))
}

struct Loader {
    mode: Mode,
    url: Url,
    send: SendRequest<Bytes>,
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    ready: Instant,
    resources: Vec<Resource>,
    /// Path (with query) → the resource that answers it.
    by_path: HashMap<String, usize>,
    /// Paths the page needs, the page itself excluded.
    needed: HashSet<String>,
    /// Paths needed as module scripts: their imports are requested when they arrive.
    modules: HashSet<String>,
    /// The page's import map, once the page or a module has needed one.
    import_map: Option<ImportMap>,
    body_bytes: Arc<AtomicU64>,
    trace: Vec<TraceEvent>,
    requests: usize,
    promises: usize,
    page_done: Option<oneshot::Sender<()>>,
    /// The promise collector is still running.
    collecting: bool,
    /// The page has ended; discovery waits for the collector so that every promise is known
    /// before anything is requested.
    discovery_waits: bool,
    /// The page's HTML has been read for subresources.
    discovered: bool,
    informational: usize,
    page_links: usize,
    server: Option<String>,
    /// What the client kept from an earlier view.
    prior: ClientCache,
    /// What it keeps from this one.
    kept: ClientCache,
}

impl Loader {
    fn new(
        target: &Target,
        mode: Mode,
        send: SendRequest<Bytes>,
        ready: Instant,
        prior: Option<ClientCache>,
    ) -> Loader {
        let (tx, rx) = mpsc::unbounded_channel();
        Loader {
            mode,
            url: target.url.clone(),
            send,
            tx,
            rx,
            ready,
            resources: Vec::new(),
            by_path: HashMap::new(),
            needed: HashSet::new(),
            modules: HashSet::new(),
            import_map: None,
            body_bytes: Arc::new(AtomicU64::new(0)),
            trace: Vec::new(),
            requests: 0,
            promises: 0,
            page_done: None,
            collecting: false,
            discovery_waits: false,
            discovered: false,
            informational: 0,
            page_links: 0,
            server: None,
            kept: prior.clone().unwrap_or_default(),
            prior: prior.unwrap_or_default(),
        }
    }

    async fn run(mut self) -> Result<(RunOutcome, ClientCache)> {
        let page_path = path_of(&self.url);
        self.note("connected".into());
        let mut response = self
            .request(&page_path, Via::Request)
            .await
            .map_err(no_http2)?;
        let promises = (self.mode == Mode::Push).then(|| response.push_promises());
        let (done_tx, done_rx) = oneshot::channel();
        self.page_done = Some(done_tx);
        if let Some(promises) = promises {
            self.collecting = true;
            tokio::spawn(collect_promises(promises, done_rx, self.tx.clone()));
        }
        let tx = self.tx.clone();
        let bytes = self.body_bytes.clone();
        tokio::spawn(async move {
            let mut response = response;
            while let Some(Ok(info)) =
                std::future::poll_fn(|cx| response.poll_informational(cx)).await
            {
                let links = link_values(info.headers());
                let _ = tx.send(Event::Informational { key: 0, links });
            }
            read_stream(0, response, MAX_HTML_PARSE_BYTES, tx, bytes).await
        });

        while let Some(event) = self.rx.recv().await {
            self.handle(event).await?;
            if self.complete() {
                break;
            }
        }
        Ok(self.finish())
    }
}
