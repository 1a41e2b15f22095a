//! Shared by the integration tests: start the real server on 127.0.0.1:0 with a generated
//! certificate, and talk to it with the h2 client over rustls.
#![allow(dead_code)]

pub mod cli;
pub mod h1;
pub mod h2c;
pub mod raw;
pub mod served;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use h2push::client::{self, ConnectOptions, Connection, FrameLog};
use h2push::config::Config;
use h2push::serve::{self, Signals, State, Transport};
use h2push::tls;
use h2push::watch::ChangeFeed;
use http::{HeaderMap, Method, Request, StatusCode};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub addr: SocketAddr,
    pub ca: PathBuf,
    pub state: Arc<State>,
    pub signals: Signals,
    pub task: JoinHandle<()>,
    _certs: TempDir,
}

/// A config serving `root` with every default.
pub fn config(root: &Path) -> Config {
    Config::new(root.canonicalize().expect("root exists"))
}

impl TestServer {
    pub async fn start(config: Config) -> TestServer {
        Self::start_with(State::new(config)).await
    }

    /// A server with a change feed watching its root, as `h2push serve` runs.
    pub async fn start_watching(config: Config) -> TestServer {
        let feed = ChangeFeed::watch(&config.root).expect("watching the root");
        Self::start_with(State::with_changes(config, feed)).await
    }

    pub async fn start_with(state: Arc<State>) -> TestServer {
        Self::launch(state, true).await
    }

    /// A server speaking cleartext HTTP/2 with prior knowledge (`--h2c`), for raw-frame tests.
    pub async fn start_cleartext(config: Config) -> TestServer {
        Self::launch(State::new(config), false).await
    }

    async fn launch(state: Arc<State>, tls: bool) -> TestServer {
        let certs = TempDir::new().unwrap();
        let (paths, _) = tls::ensure_certs(certs.path()).unwrap();
        let transport = if tls {
            let tls_config = tls::server_config(&paths.cert, &paths.key).unwrap();
            Transport::Tls(tokio_rustls::TlsAcceptor::from(tls_config))
        } else {
            Transport::Cleartext
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let signals = Signals::default();
        let task = tokio::spawn(serve::run(
            listener,
            transport,
            state.clone(),
            signals.clone(),
        ));
        TestServer {
            addr,
            ca: paths.ca.unwrap(),
            state,
            signals,
            task,
            _certs: certs,
        }
    }

    pub fn options(&self, enable_push: bool) -> ConnectOptions {
        ConnectOptions {
            tls: Some(tls::client_config(Some(&self.ca), false).unwrap()),
            server_name: "localhost".into(),
            enable_push,
            stream_window: None,
            connection_window: None,
            frame_log: None,
        }
    }

    pub async fn client(&self) -> Client {
        self.client_with(self.options(false)).await
    }

    pub async fn client_with(&self, options: ConnectOptions) -> Client {
        let frame_log = options.frame_log.clone();
        let conn = client::connect(self.addr, &options).await.unwrap();
        Client {
            conn,
            frame_log,
            authority: format!("localhost:{}", self.addr.port()),
        }
    }
}

pub struct Client {
    pub conn: Connection,
    pub frame_log: Option<FrameLog>,
    pub authority: String,
}

/// The protocol a test speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    H2,
    H1,
}

/// A client of either protocol, for tests of what must not depend on it.
pub enum AnyClient {
    H2(Client),
    H1(h1::H1),
}

impl TestServer {
    /// A client speaking `proto` over TLS.
    pub async fn client_over(&self, proto: Proto) -> AnyClient {
        match proto {
            Proto::H2 => AnyClient::H2(self.client().await),
            Proto::H1 => AnyClient::H1(
                h1::H1::connect(self.addr, Some(h1::tls_config(&self.ca, true))).await,
            ),
        }
    }
}

impl AnyClient {
    pub fn request(&self, method: Method, path: &str) -> http::request::Builder {
        let authority = match self {
            AnyClient::H2(c) => &c.authority,
            AnyClient::H1(c) => &c.authority,
        };
        Request::builder()
            .method(method)
            .uri(format!("https://{authority}{path}"))
    }

    pub async fn get(&self, path: &str) -> Resp {
        let req = self.request(Method::GET, path).body(()).unwrap();
        self.send(req).await
    }

    pub async fn send(&self, req: Request<()>) -> Resp {
        match self {
            AnyClient::H2(c) => c.send(req).await,
            AnyClient::H1(c) => c.send(req).await,
        }
    }
}

/// Runs each named `async fn(Proto)` test over HTTP/2 and over HTTP/1.1.
#[macro_export]
macro_rules! over_both_protocols {
    ($($name:ident),* $(,)?) => {
        mod over_h2 {
            $(#[tokio::test] async fn $name() { super::$name($crate::common::Proto::H2).await })*
        }
        mod over_h1 {
            $(#[tokio::test] async fn $name() { super::$name($crate::common::Proto::H1).await })*
        }
    };
}

/// A whole response.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }
}

impl Client {
    pub fn request(&self, method: Method, path: &str) -> http::request::Builder {
        Request::builder()
            .method(method)
            .uri(format!("https://{}{}", self.authority, path))
    }

    pub async fn get(&self, path: &str) -> Resp {
        let req = self.request(Method::GET, path).body(()).unwrap();
        self.send(req).await
    }

    pub async fn send(&self, req: Request<()>) -> Resp {
        let send = self.conn.send.clone();
        let mut send = send.ready().await.expect("connection ready");
        let (response, _) = send.send_request(req, true).expect("request sent");
        let response = response.await.expect("response");
        read_response(response).await
    }
}

/// Reads a response's body to the end, releasing flow-control capacity as it goes.
pub async fn read_response(response: http::Response<h2::RecvStream>) -> Resp {
    let (parts, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk: Bytes = chunk.expect("body chunk");
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    Resp {
        status: parts.status,
        headers: parts.headers,
        body: bytes,
    }
}

/// `future`'s output, or a panic naming `what` after `limit`.
pub async fn within<F: std::future::Future>(
    limit: std::time::Duration,
    what: &str,
    future: F,
) -> F::Output {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {limit:?} waiting for {what}"))
}

/// One small stylesheet: a site for tests about clients, not content.
pub fn small_site() -> TempDir {
    site(&[("style.css", b"p { margin: 0 }\n")])
}

/// Writes `files` (relative path → contents) under a new temporary directory.
pub fn site(files: &[(&str, &[u8])]) -> TempDir {
    let dir = TempDir::new().unwrap();
    for (path, contents) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, contents).unwrap();
    }
    dir
}

/// Everything one page request brought: the 103 (if any), the page, and each pushed response.
#[derive(Debug)]
pub struct PageLoad {
    pub early_hints: Option<HeaderMap>,
    pub page: Resp,
    /// (promised :path, promised request headers, response), in promise order.
    pub pushes: Vec<(String, HeaderMap, Resp)>,
}

impl PageLoad {
    pub fn pushed_paths(&self) -> Vec<&str> {
        self.pushes.iter().map(|(p, _, _)| p.as_str()).collect()
    }

    /// The `Link` values of the 103, or of the page.
    pub fn links(headers: &HeaderMap) -> Vec<String> {
        headers
            .get_all("link")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
}

impl Client {
    /// GETs a page, taking its 103, its pushes (bodies read concurrently, as a browser would)
    /// and its body.
    pub async fn load(&self, path: &str) -> PageLoad {
        let req = self.request(Method::GET, path).body(()).unwrap();
        self.load_request(req).await
    }

    pub async fn load_request(&self, req: Request<()>) -> PageLoad {
        let mut send = self
            .conn
            .send
            .clone()
            .ready()
            .await
            .expect("connection ready");
        let (mut response, _) = send.send_request(req, true).expect("request sent");
        let mut promises = response.push_promises();
        // h2's client does not wake a PushPromises stream when its parent ends without (more)
        // promises, so the collector stops when the page is complete: every promise precedes
        // the page's HEADERS, so by then all of them are queued.
        let (page_done, mut page_done_rx) = tokio::sync::oneshot::channel::<()>();
        let collector = tokio::spawn(async move {
            let mut readers = Vec::new();
            let mut take = |promise: h2::client::PushPromise| {
                let (request, pushed) = promise.into_parts();
                let path = request.uri().path_and_query().unwrap().as_str().to_string();
                let headers = request.headers().clone();
                readers.push(tokio::spawn(async move {
                    (
                        path,
                        headers,
                        read_response(pushed.await.expect("pushed response")).await,
                    )
                }));
            };
            loop {
                tokio::select! {
                    biased;
                    p = promises.push_promise() => match p {
                        Some(p) => take(p.expect("push promise")),
                        None => break,
                    },
                    _ = &mut page_done_rx => {
                        use futures_util::FutureExt;
                        while let Some(Some(p)) = promises.push_promise().now_or_never() {
                            take(p.expect("push promise"));
                        }
                        break;
                    }
                }
            }
            let mut pushes = Vec::new();
            for r in readers {
                pushes.push(r.await.unwrap());
            }
            pushes
        });
        let early_hints = std::future::poll_fn(|cx| response.poll_informational(cx))
            .await
            .map(|r| r.expect("informational").headers().clone());
        let page = read_response(response.await.expect("page response")).await;
        let _ = page_done.send(());
        let pushes = collector.await.unwrap();
        PageLoad {
            early_hints,
            page,
            pushes,
        }
    }
}

/// The path of an interop tool, or `None` to skip the test. Where CI requires interop tools
/// (`H2PUSH_REQUIRE_INTEROP` set), a missing tool fails the test instead.
pub fn tool(name: &str) -> Option<String> {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if found.is_none() {
        assert!(
            std::env::var("H2PUSH_REQUIRE_INTEROP").is_err(),
            "{name} is required (H2PUSH_REQUIRE_INTEROP is set): apt-get install nghttp2-client nghttp2-server h2o curl chromium libnss3-tools"
        );
        eprintln!("skipping: {name} not installed (apt-get install nghttp2-client nghttp2-server h2o curl chromium libnss3-tools)");
    }
    found
}

/// Chromium with `ca` trusted (an NSS database under a throw-away HOME, as in REAL-CLIENTS.md):
/// loads `url`, and returns the DOM at `load` or after `run_ms`, whichever comes first. (It acts
/// on 103s only for a trusted certificate, not one excused with --ignore-certificate-errors.)
pub fn chromium_dom(
    chromium: &str,
    certutil: &str,
    ca: &std::path::Path,
    url: &str,
    run_ms: u32,
) -> String {
    let home = h2push::compare::browser::TrustedHome::new(std::path::Path::new(certutil), ca)
        .expect("an NSS database trusting the CA");
    let profile = tempfile::TempDir::new().unwrap();
    let out = std::process::Command::new(chromium)
        .args(h2push::compare::browser::chromium_args())
        .args([
            "--headless",
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--timeout={run_ms}"),
            "--dump-dom",
            url,
        ])
        .env("HOME", home.path())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}
