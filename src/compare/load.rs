//! One page load, the way a browser would do it, on a fresh HTTP/2 connection: GET the HTML,
//! discover its subresources with the server's own discovery code (`parse_html`, then
//! `parse_css` as each stylesheet arrives), request what is needed and not already pushed or
//! requested, and stop when the HTML and every subresource have completed.
//!
//! The connection's tasks report to one event loop ([`Loader::run`]): a task per stream reads
//! the response (and for the page its 103s), a collector takes PUSH_PROMISEs. The loop owns all
//! the bookkeeping, so there are no locks and the timeline is in arrival order.
//!
//! Requests carry a browser's `accept-encoding` ([`ACCEPT_ENCODING`]); compressed HTML and CSS
//! are decoded before discovery reads them.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use h2::client::{PushPromise, PushPromises, SendRequest};
use h2::RecvStream;
use http::{Request, Response};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use url::Url;

use super::cache::{ClientCache, Entry};
use super::links::parse_link_header;
use super::wire::{wire_order, Timed, Wire};
use crate::client::{self, ConnectOptions, FrameLog};
use crate::push::css::parse_css;
use crate::push::html::{parse_html, HtmlRefKind};

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

/// The `accept-encoding` every request sends: Chrome's, so a server compresses as it would for
/// a browser (and `bytes` count what a browser would receive).
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// Subresources one page may need; the rest are not requested (a hostile page cannot make the
/// comparer open thousands of streams).
pub const MAX_RESOURCES: usize = 256;

/// How the client treats push and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// SETTINGS_ENABLE_PUSH=1; a promised path is not requested.
    Push,
    /// Push off; requests 103 and `Link` preloads as soon as they arrive.
    Hints,
    /// Push off, hints ignored: what the documents say, nothing else.
    None,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Push => "push",
            Mode::Hints => "hints",
            Mode::None => "none",
        }
    }

    /// Parses `push,hints,none` (any subset, in the order given, no repeats).
    pub fn parse_list(s: &str) -> Result<Vec<Mode>, String> {
        let mut modes = Vec::new();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let mode = match name {
                "push" => Mode::Push,
                "hints" => Mode::Hints,
                "none" => Mode::None,
                _ => return Err(format!("unknown mode `{name}` (use push, hints, none)")),
            };
            if modes.contains(&mode) {
                return Err(format!("mode `{name}` given twice"));
            }
            modes.push(mode);
        }
        if modes.is_empty() {
            return Err("no modes given (use push, hints, none)".into());
        }
        Ok(modes)
    }
}

/// Which visit a load is: a first view starts with an empty cache and no cookies; a repeat
/// view (on a new connection) has what the first view's client kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    First,
    Repeat,
}

impl View {
    pub fn as_str(self) -> &'static str {
        match self {
            View::First => "first",
            View::Repeat => "repeat",
        }
    }
}

/// `--views`: first, repeat, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewList(pub Vec<View>);

impl ViewList {
    pub fn parse(s: &str) -> Result<ViewList, String> {
        let mut views = Vec::new();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let view = match name {
                "first" => View::First,
                "repeat" => View::Repeat,
                _ => return Err(format!("unknown view `{name}` (use first, repeat)")),
            };
            if !views.contains(&view) {
                views.push(view);
            }
        }
        if views.is_empty() {
            return Err("no views given (use first, repeat)".into());
        }
        Ok(ViewList(views))
    }
}

/// `--modes`: the modes to compare, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeList(pub Vec<Mode>);

impl ModeList {
    pub fn parse(s: &str) -> Result<ModeList, String> {
        Mode::parse_list(s).map(ModeList)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// How a resource reached the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// Requested because a document referenced it.
    Request,
    /// Requested because a 103 or a `Link` header preloaded it.
    Hint,
    /// Pushed by the server.
    Push,
    /// Answered by the client's cache from an earlier view, without a request.
    Cache,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Request => "request",
            Via::Hint => "hint",
            Via::Push => "push",
            Via::Cache => "cache",
        }
    }
}

/// One stream of a page load, with times in ms since the connection was ready.
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    pub path: String,
    pub via: Via,
    pub stream_id: u32,
    /// Request sent, or PUSH_PROMISE received.
    pub start_ms: f64,
    /// Response HEADERS received.
    pub headers_ms: Option<f64>,
    /// END_STREAM received (or the stream failed).
    pub end_ms: Option<f64>,
    pub status: Option<u16>,
    pub bytes: u64,
    /// The page needed it (the HTML, or something discovered from the documents).
    pub needed: bool,
    /// Reset or failed before its end.
    pub failed: bool,
    #[serde(skip)]
    content_type: Option<String>,
    #[serde(skip)]
    body: Option<Vec<u8>>,
    #[serde(skip)]
    parsed: bool,
    #[serde(skip)]
    headers: Option<http::HeaderMap>,
}

/// One line of `--trace`.
#[derive(Debug, Clone, Serialize)]
pub struct TraceEvent {
    pub at_ms: f64,
    pub what: String,
    /// The received frame this came from, to put the trace in wire order.
    #[serde(skip)]
    pub wire: Option<Wire>,
}

impl Timed for TraceEvent {
    fn wire(&self) -> Option<Wire> {
        self.wire
    }
    fn set_at_ms(&mut self, at_ms: f64) {
        self.at_ms = at_ms;
    }
    fn at_ms(&self) -> f64 {
        self.at_ms
    }
}

/// What one page load measured.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub mode: Mode,
    /// TCP connect, TLS handshake and HTTP/2 preface.
    pub connect_ms: f64,
    /// Connection ready → the page's response HEADERS.
    pub ttfb_ms: f64,
    /// Connection ready → the last needed byte: the page-load time.
    pub load_ms: f64,
    /// Response body bytes received, pushes included.
    pub body_bytes: u64,
    /// Bytes read from the socket (TLS records and frames).
    pub wire_bytes: u64,
    pub requests: usize,
    pub promises: usize,
    pub pushes_used: usize,
    /// Pushed but not needed, pushed twice, or cancelled.
    pub pushes_wasted: usize,
    /// Requests made for hints that the page turned out not to need.
    pub hints_unused: usize,
    /// Needed resources the client's cache answered without a request (repeat view).
    pub from_cache: usize,
    /// Responses that were 304 Not Modified (repeat view).
    pub not_modified: usize,
    /// Body bytes of pushed streams, used or not.
    pub pushed_bytes: u64,
    /// 103 responses to the page.
    pub informational: usize,
    /// `Link` values in the page's 103s and response.
    pub page_links: usize,
    /// The page response's `server` header.
    pub server: Option<String>,
    pub resources: Vec<Resource>,
    pub trace: Vec<TraceEvent>,
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

async fn connect(
    target: &Target,
    mode: Mode,
    wire: Arc<AtomicU64>,
    frames: FrameLog,
) -> Result<client::Connection> {
    let tcp = TcpStream::connect(target.connect_to)
        .await
        .with_context(|| format!("connecting to {}", target.connect_to))?;
    tcp.set_nodelay(true)?;
    let options = ConnectOptions {
        tls: target.tls.clone(),
        server_name: target.server_name.clone(),
        enable_push: mode == Mode::Push,
        stream_window: Some(CLIENT_WINDOW),
        connection_window: Some(CLIENT_WINDOW),
        frame_log: Some(frames),
    };
    // Counts the bytes read from the socket.
    let counted = client::ReadTap::new(tcp, move |bytes: &[u8]| {
        wire.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    });
    client::connect_over(counted, &options).await
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What the connection's tasks tell the loop.
enum Event {
    Informational {
        key: usize,
        links: Vec<String>,
    },
    Headers {
        key: usize,
        status: u16,
        links: Vec<String>,
        content_type: Option<String>,
        server: Option<String>,
        headers: http::HeaderMap,
    },
    Done {
        key: usize,
        body: Option<Vec<u8>>,
        bytes: u64,
        error: Option<String>,
    },
    Promise(PushPromise),
    PromiseError(String),
    /// The collector has forwarded every promise of the page.
    PromisesDone,
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

    fn now(&self) -> f64 {
        ms(self.ready.elapsed())
    }

    fn note(&mut self, what: String) {
        self.note_from(None, what);
    }

    /// Notes an event that a received frame caused.
    fn note_from(&mut self, wire: Option<Wire>, what: String) {
        let at_ms = self.now();
        self.trace.push(TraceEvent { at_ms, what, wire });
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

    /// The entry of the earlier view that answers `path` without a request, if fresh.
    fn fresh(&self, path: &str) -> Option<&Entry> {
        self.prior.get(path).filter(|e| e.is_fresh(Instant::now()))
    }

    /// `path` answered by the client's cache: a resource with no request and no wait.
    async fn answer_from_cache(&mut self, path: &str) {
        let Some(entry) = self.fresh(path).cloned() else {
            return;
        };
        let now = self.now();
        let mut r = Resource::new(path, Via::Cache, 0, now);
        r.headers_ms = Some(now);
        r.end_ms = Some(now);
        r.status = Some(200);
        r.needed = true;
        r.content_type = entry.content_type;
        r.body = entry.body;
        self.note(format!("from the cache  {path}"));
        let key = self.resources.len();
        self.by_path.insert(path.to_string(), key);
        self.resources.push(r);
        self.parse_css_of(key).await;
    }

    async fn handle(&mut self, event: Event) -> Result<()> {
        match event {
            Event::Informational { key, links } => {
                self.informational += 1;
                self.page_links += links.len();
                let stream = self.resources[key].stream_id;
                self.note_from(
                    Some(Wire::Headers(stream)),
                    format!(
                        "recv HEADERS stream {stream} :status 103{}",
                        links
                            .iter()
                            .map(|l| format!("\n          link: {l}"))
                            .collect::<String>()
                    ),
                );
                if self.mode == Mode::Hints {
                    self.act_on_links(&links).await;
                }
            }
            Event::Headers {
                key,
                status,
                links,
                content_type,
                server,
                headers,
            } => {
                if key == 0 {
                    self.page_links += links.len();
                    self.server = server;
                }
                let now = self.now();
                let cached = (status == 304)
                    .then(|| self.prior.get(&self.resources[key].path).cloned())
                    .flatten();
                let r = &mut self.resources[key];
                r.headers_ms = Some(now);
                r.status = Some(status);
                r.headers = Some(headers);
                // A 304 is answered from the store: its type and, later, its body.
                let content_type = match &cached {
                    Some(entry) => entry.content_type.clone(),
                    None => content_type,
                };
                r.content_type = content_type.clone();
                let what = format!(
                    "recv HEADERS stream {} :status {status}  {}",
                    r.stream_id, r.path
                );
                let wire = Wire::Headers(r.stream_id);
                self.note_from(Some(wire), what);
                if key == 0 {
                    let answered = if cached.is_some() { 200 } else { status };
                    check_page(&self.url, answered, content_type.as_deref())?;
                    if self.mode == Mode::Hints {
                        self.act_on_links(&links).await;
                    }
                }
            }
            Event::Done {
                key,
                body,
                bytes,
                error,
            } => {
                let now = self.now();
                let r = &mut self.resources[key];
                r.end_ms = Some(now);
                r.bytes = bytes;
                r.failed = error.is_some();
                r.body = body;
                if let (None, Some(status), Some(headers)) = (&error, r.status, &r.headers) {
                    let kept_body = r.body.clone();
                    self.kept
                        .store(&r.path, status, headers, kept_body, Instant::now());
                    if status == 304 {
                        r.body = self.prior.get(&r.path).and_then(|e| e.body.clone());
                    }
                }
                let (what, wire) = match &error {
                    Some(e) => (
                        format!("stream {} failed: {e}  {}", r.stream_id, r.path),
                        None,
                    ),
                    None => (
                        format!(
                            "recv END_STREAM stream {} ({} bytes)  {}",
                            r.stream_id, r.bytes, r.path
                        ),
                        Some(Wire::EndStream(r.stream_id)),
                    ),
                };
                self.note_from(wire, what);
                if key == 0 {
                    if let Some(error) = error {
                        return Err(anyhow!("loading {} failed: {error}", self.url));
                    }
                    if let Some(done) = self.page_done.take() {
                        let _ = done.send(());
                    }
                    if self.collecting {
                        self.discovery_waits = true;
                    } else {
                        self.discover_in_page().await;
                    }
                } else if self.resources[key].failed
                    && self.resources[key].via == Via::Push
                    && self.needed.contains(&self.resources[key].path)
                {
                    // A cancelled push the page needs: ask for it as a browser would.
                    let path = self.resources[key].path.clone();
                    self.by_path.remove(&path);
                    if self.fetch(&path, Via::Request).await.is_ok() {
                        if let Some(r) = self.resources.last_mut() {
                            r.needed = true;
                        }
                    }
                } else {
                    self.parse_css_of(key).await;
                }
            }
            Event::Promise(promise) => self.take_promise(promise),
            Event::PromiseError(e) => self.note(format!("push promise error: {e}")),
            Event::PromisesDone => {
                self.collecting = false;
                if std::mem::take(&mut self.discovery_waits) {
                    self.discover_in_page().await;
                }
            }
        }
        Ok(())
    }

    /// Sends a GET for `path` and registers it as resource `resources.len()`.
    async fn request(&mut self, path: &str, via: Via) -> Result<h2::client::ResponseFuture> {
        let uri = format!("{}://{}{}", self.url.scheme(), authority(&self.url), path);
        let mut request = Request::get(uri).header(http::header::ACCEPT_ENCODING, ACCEPT_ENCODING);
        if let Some(entry) = self.prior.get(path) {
            for (name, value) in entry.validators() {
                request = request.header(name, value);
            }
        }
        if let Some(cookie) = self.prior.cookie_header() {
            request = request.header(http::header::COOKIE, cookie);
        }
        let request = request
            .body(())
            .with_context(|| format!("building a request for {path}"))?;
        let mut send = self.send.clone().ready().await?;
        let (response, _) = send.send_request(request, true)?;
        let stream_id = response.stream_id().as_u32();
        self.requests += 1;
        self.note(format!(
            "send HEADERS stream {stream_id} GET {path} ({})",
            via.as_str()
        ));
        self.by_path.insert(path.to_string(), self.resources.len());
        let start_ms = self.now();
        self.resources
            .push(Resource::new(path, via, stream_id, start_ms));
        Ok(response)
    }

    /// Requests `path` and reads its response in a task of its own.
    async fn fetch(&mut self, path: &str, via: Via) -> Result<()> {
        let response = self.request(path, via).await?;
        let key = self.resources.len() - 1;
        let (tx, bytes) = (self.tx.clone(), self.body_bytes.clone());
        tokio::spawn(read_stream(key, response, MAX_CSS_PARSE_BYTES, tx, bytes));
        Ok(())
    }

    fn take_promise(&mut self, promise: PushPromise) {
        let (request, pushed) = promise.into_parts();
        let path = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let stream_id = pushed.stream_id().as_u32();
        self.promises += 1;
        let parent = self.resources[0].stream_id;
        self.note_from(
            Some(Wire::PushPromise(parent)),
            format!("recv PUSH_PROMISE stream {parent} promised stream {stream_id}  {path}"),
        );
        let key = self.resources.len();
        let start_ms = self.now();
        self.resources
            .push(Resource::new(&path, Via::Push, stream_id, start_ms));
        // Same origin only: a push for another authority is never used.
        let same_origin = request
            .uri()
            .authority()
            .map_or(true, |a| a.as_str() == authority(&self.url));
        if same_origin && !self.by_path.contains_key(&path) {
            self.by_path.insert(path, key);
        }
        let (tx, bytes) = (self.tx.clone(), self.body_bytes.clone());
        tokio::spawn(read_stream(key, pushed, MAX_CSS_PARSE_BYTES, tx, bytes));
    }

    /// Requests the preloads named by `Link` values (hints mode).
    async fn act_on_links(&mut self, values: &[String]) {
        for value in values {
            for link in parse_link_header(value) {
                if !link.is_preload() {
                    continue;
                }
                let Some(url) = self.url.join(&link.target).ok() else {
                    continue;
                };
                if url.origin() != self.url.origin() {
                    continue;
                }
                let path = path_of(&url);
                if self.fresh(&path).is_some() {
                    continue; // a browser's preload finds it in its cache
                }
                if !self.by_path.contains_key(&path) && self.resources.len() < MAX_RESOURCES {
                    let _ = self.fetch(&path, Via::Hint).await;
                }
            }
        }
    }

    /// The page needs `url`: request it unless it is pushed, requested or elsewhere.
    async fn need(&mut self, url: &Url) {
        if url.origin() != self.url.origin() || self.needed.len() >= MAX_RESOURCES {
            return;
        }
        let path = path_of(url);
        if path == path_of(&self.url) || !self.needed.insert(path.clone()) {
            return;
        }
        // The HTTP cache comes first: a fresh entry wins over a push or a hinted request.
        if self.fresh(&path).is_some() {
            return self.answer_from_cache(&path).await;
        }
        match self.by_path.get(&path) {
            Some(&key) => {
                self.resources[key].needed = true;
                // Arrived before the page said it needs it (pushed, hinted): read it now.
                self.parse_css_of(key).await;
            }
            None => {
                if self.fetch(&path, Via::Request).await.is_ok() {
                    if let Some(r) = self.resources.last_mut() {
                        r.needed = true;
                    }
                }
            }
        }
    }

    async fn discover_in_page(&mut self) {
        self.discovered = true;
        let Some(mut html) = self.resources[0].body.take() else {
            return;
        };
        html.truncate(MAX_HTML_PARSE_BYTES);
        let page_url = self.url.clone();
        // Parsing is CPU work: off the async threads.
        let refs = tokio::task::spawn_blocking(move || parse_html(&html, &page_url))
            .await
            .unwrap_or_default();
        for html_ref in refs {
            match html_ref.kind {
                HtmlRefKind::InlineStyle { css } => {
                    let css_refs = parse_css(&css, &html_ref.url);
                    for css_ref in css_refs {
                        Box::pin(self.need(&css_ref.url)).await;
                    }
                }
                // Module graphs are not followed here yet (issue 22, section 3).
                HtmlRefKind::InlineModule { .. } | HtmlRefKind::ImportMap { .. } => {}
                // A preloaded stylesheet is fetched but not applied: its url()s wait.
                _ => self.need(&html_ref.url).await,
            }
        }
    }

    /// Follows a needed stylesheet's `@import`s and `url()`s once it has arrived.
    async fn parse_css_of(&mut self, key: usize) {
        let r = &mut self.resources[key];
        let is_css = r.content_type.as_deref().is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/css"))
        });
        if !r.needed || r.parsed || r.end_ms.is_none() || r.failed || !is_css {
            return;
        }
        r.parsed = true;
        let Some(css) = r.body.take() else { return };
        let Ok(base) = self.url.join(&r.path) else {
            return;
        };
        let refs = parse_css(&String::from_utf8_lossy(&css), &base);
        // Imports are stylesheets, followed in turn when they arrive; the rest fonts and images.
        for css_ref in refs {
            Box::pin(self.need(&css_ref.url)).await;
        }
    }

    /// The HTML and every needed subresource have completed.
    fn complete(&self) -> bool {
        self.discovered
            && self.resources.first().is_some_and(|p| p.end_ms.is_some())
            && self.needed.iter().all(|path| {
                self.by_path
                    .get(path)
                    .is_some_and(|&k| self.resources[k].end_ms.is_some())
            })
    }

    fn finish(mut self) -> (RunOutcome, ClientCache) {
        let page = &self.resources[0];
        let ttfb_ms = page.headers_ms.unwrap_or_default();
        let load_ms = self
            .resources
            .iter()
            .enumerate()
            .filter(|(k, r)| *k == 0 || r.needed)
            .filter_map(|(_, r)| r.end_ms)
            .fold(0.0, f64::max);
        self.resources[0].needed = true;
        let mut pushes_used = 0;
        let mut hints_unused = 0;
        let (mut from_cache, mut not_modified, mut pushed_bytes) = (0, 0, 0);
        for (key, r) in self.resources.iter().enumerate() {
            let used = r.needed && self.by_path.get(&r.path) == Some(&key) && !r.failed;
            match r.via {
                Via::Push if used => pushes_used += 1,
                Via::Hint if !used => hints_unused += 1,
                Via::Cache => from_cache += 1,
                _ => {}
            }
            if r.via == Via::Push {
                pushed_bytes += r.bytes;
            }
            if r.status == Some(304) {
                not_modified += 1;
            }
        }
        self.note("page loaded".into());
        let outcome = RunOutcome {
            mode: self.mode,
            connect_ms: 0.0,
            ttfb_ms,
            load_ms,
            body_bytes: self.body_bytes.load(Ordering::Relaxed),
            wire_bytes: 0,
            requests: self.requests,
            promises: self.promises,
            pushes_used,
            pushes_wasted: self.promises - pushes_used,
            hints_unused,
            from_cache,
            not_modified,
            pushed_bytes,
            informational: self.informational,
            page_links: self.page_links,
            server: self.server,
            resources: self.resources,
            trace: self.trace,
        };
        (outcome, self.kept)
    }
}

impl Resource {
    fn new(path: &str, via: Via, stream_id: u32, start_ms: f64) -> Resource {
        Resource {
            path: path.to_string(),
            via,
            stream_id,
            start_ms,
            headers_ms: None,
            end_ms: None,
            status: None,
            bytes: 0,
            needed: false,
            failed: false,
            content_type: None,
            body: None,
            parsed: false,
            headers: None,
        }
    }
}

#[cfg(test)]
impl Resource {
    /// A needed, requested resource that took 1 → 90 ms.
    pub(crate) fn for_test(path: &str) -> Resource {
        let mut r = Resource::new(path, Via::Request, 3, 1.0);
        r.headers_ms = Some(40.0);
        r.end_ms = Some(90.0);
        r.status = Some(200);
        r.needed = true;
        r
    }
}

/// The page must be a 2xx HTML document: anything else has no subresources to compare.
fn check_page(url: &Url, status: u16, content_type: Option<&str>) -> Result<()> {
    if !(200..300).contains(&status) {
        anyhow::bail!("{url} answered {status}; compare needs a page that answers 200");
    }
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("text/html") | Some("application/xhtml+xml") => Ok(()),
        other => anyhow::bail!(
            "{url} is not an HTML page (content-type: {}); compare loads a page and the assets it references",
            other.unwrap_or("none")
        ),
    }
}

/// Path and query, as the page and the server write it.
fn path_of(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or("localhost");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

fn link_values(headers: &http::HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

/// An error on the first request most often means the peer does not speak HTTP/2.
fn no_http2(err: anyhow::Error) -> anyhow::Error {
    err.context("the server did not answer over HTTP/2 (an HTTP/1.1-only server?)")
}

/// Takes the page's PUSH_PROMISEs until the page has ended. h2's client does not wake a
/// PushPromises stream when its parent ends without (more) promises; every promise precedes the
/// parent's END_STREAM, so once the page is complete the rest are already queued.
async fn collect_promises(
    mut promises: PushPromises,
    mut page_done: oneshot::Receiver<()>,
    tx: mpsc::UnboundedSender<Event>,
) {
    use futures_util::FutureExt;
    loop {
        tokio::select! {
            biased;
            p = promises.push_promise() => match p {
                Some(Ok(p)) => { let _ = tx.send(Event::Promise(p)); }
                Some(Err(e)) => { let _ = tx.send(Event::PromiseError(e.to_string())); break; }
                None => break,
            },
            _ = &mut page_done => {
                while let Some(Some(Ok(p))) = promises.push_promise().now_or_never() {
                    let _ = tx.send(Event::Promise(p));
                }
                break;
            }
        }
    }
    let _ = tx.send(Event::PromisesDone);
}

/// Reads one response to its end, keeping up to `keep` bytes of an HTML or CSS body.
async fn read_stream<F>(
    key: usize,
    response: F,
    keep: usize,
    tx: mpsc::UnboundedSender<Event>,
    total: Arc<AtomicU64>,
) where
    F: Future<Output = Result<Response<RecvStream>, h2::Error>>,
{
    let response = match response.await {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Event::Done {
                key,
                body: None,
                bytes: 0,
                error: Some(e.to_string()),
            });
            return;
        }
    };
    let (parts, mut body) = response.into_parts();
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = content_type.as_deref().is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.starts_with("text/html") || t.starts_with("text/css") || t.contains("xhtml")
    });
    let server = parts
        .headers
        .get(http::header::SERVER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let coding = parts
        .headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let _ = tx.send(Event::Headers {
        key,
        status: parts.status.as_u16(),
        links: link_values(&parts.headers),
        content_type,
        server,
        headers: parts.headers.clone(),
    });
    let mut kept = Vec::new();
    let mut received = 0;
    let mut error = None;
    while let Some(chunk) = body.data().await {
        match chunk {
            Ok(chunk) => {
                let _ = body.flow_control().release_capacity(chunk.len());
                total.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                if text && kept.len() < keep {
                    let room = keep - kept.len();
                    kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                received += chunk.len() as u64;
            }
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let _ = tx.send(Event::Done {
        key,
        body: text.then(|| decoded(coding.as_deref(), kept, keep)),
        bytes: received,
        error,
    });
}

/// The first `keep` bytes of a body in `coding`, decoded as far as the bytes kept allow (a
/// truncated or corrupt body yields what decoded before the end).
fn decoded(coding: Option<&str>, body: Vec<u8>, keep: usize) -> Vec<u8> {
    use std::io::Read;
    let reader: Box<dyn Read + '_> = match coding {
        None | Some("identity") => return body,
        Some("br") => Box::new(brotli::Decompressor::new(&body[..], 64 * 1024)),
        Some("gzip" | "x-gzip") => Box::new(flate2::read::GzDecoder::new(&body[..])),
        Some("deflate") => Box::new(flate2::read::ZlibDecoder::new(&body[..])),
        Some("zstd") => match zstd::stream::read::Decoder::new(&body[..]) {
            Ok(decoder) => Box::new(decoder),
            Err(_) => return Vec::new(),
        },
        Some(_) => return Vec::new(),
    };
    let mut out = Vec::new();
    let _ = reader.take(keep as u64).read_to_end(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_documents_are_decoded_for_discovery() {
        use crate::files::compress::compress;
        use crate::files::encoding::Encoding;
        let html = b"<!doctype html><link rel=stylesheet href=/a.css>".repeat(50);
        for enc in Encoding::PREFERENCE {
            let body = compress(enc, &html).unwrap();
            assert_eq!(decoded(Some(enc.token()), body.clone(), 1 << 20), html);
            assert_eq!(decoded(Some(enc.token()), body, 100), &html[..100]);
        }
        assert_eq!(
            decoded(None, html.clone(), 10),
            html,
            "identity is kept as is"
        );
        assert!(decoded(Some("compress"), html, 10).is_empty());
    }

    #[test]
    fn modes_parse_in_order() {
        assert_eq!(
            Mode::parse_list("none,push").unwrap(),
            vec![Mode::None, Mode::Push]
        );
        assert!(Mode::parse_list("push,push").is_err());
        assert!(Mode::parse_list("pull").is_err());
        assert!(Mode::parse_list("").is_err());
    }

    #[test]
    fn pages_must_be_html_and_2xx() {
        let url = Url::parse("https://localhost:8443/").unwrap();
        assert!(check_page(&url, 200, Some("text/html; charset=utf-8")).is_ok());
        let err = check_page(&url, 200, Some("text/css")).unwrap_err();
        assert!(err.to_string().contains("not an HTML page"), "{err}");
        assert!(check_page(&url, 404, Some("text/html")).is_err());
        assert!(check_page(&url, 200, None).is_err());
    }
}
