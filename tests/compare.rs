//! `compare` against real servers: h2push in-process (push must beat no push under an emulated
//! RTT), the errors people hit, and interop with nghttpd (`-p` push lists) and h2o.
//!
//! The nghttpd and h2o tests skip when the tool is missing, unless `H2PUSH_REQUIRE_INTEROP=1`
//! (set by `.ci/run`), where a missing tool is a failure.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{config, site, tool, TestServer};
use h2push::compare::load::{Mode, View};
use h2push::compare::proxy::Shape;
use h2push::compare::report::Report;
use h2push::compare::{measure, Options};
use indicatif::ProgressBar;
use url::Url;

const BIN: &str = env!("CARGO_BIN_EXE_h2push");

/// Small, and long enough that a round trip stands out from the work of a debug build.
const RTT: Duration = Duration::from_millis(40);

/// A page with three levels of dependency: HTML → a.css → (b.css, font) → bg.png.
fn demo_site() -> tempfile::TempDir {
    site(&[
        (
            "index.html",
            b"<!doctype html><title>t</title><link rel=stylesheet href=\"/css/a.css\">\
              <script src=\"/app.js\" defer></script><img src=\"/img.png\">\
              <img src=\"/lazy.png\" loading=lazy><img src=\"https://elsewhere.example/x.png\">",
        ),
        (
            "css/a.css",
            b"@import \"b.css\";\n@font-face { font-family: x; src: url(/f.woff2) }\nbody { font-family: x }",
        ),
        ("css/b.css", b"body { background: url(/bg.png) }"),
        ("app.js", b"console.log(1)"),
        ("img.png", &[0u8; 3000]),
        ("lazy.png", &[0u8; 3000]),
        ("f.woff2", &[1u8; 20_000]),
        ("bg.png", &[2u8; 100]),
    ])
}

fn options(url: &str, ca: Option<&Path>, rtt: Duration, runs: usize) -> Options {
    Options {
        url: Url::parse(url).unwrap(),
        shape: Shape {
            rtt,
            ..Shape::default()
        },
        runs,
        modes: vec![Mode::Push, Mode::Hints, Mode::None],
        views: vec![View::First],
        ca: ca.map(Path::to_path_buf),
        insecure: ca.is_none(),
        browser: None,
    }
}

async fn run(options: &Options) -> anyhow::Result<Report> {
    measure(options, &ProgressBar::hidden())
        .await
        .map(|(report, _)| report)
}

/// The site served by h2push, loaded twice in each mode: the report and the push, hints and
/// none medians.
async fn every_mode_twice(dir: tempfile::TempDir) -> (Report, [f64; 3]) {
    let server = TestServer::start(config(dir.path())).await;
    let url = format!("https://localhost:{}/", server.addr.port());
    let report = run(&options(&url, Some(&server.ca), RTT, 2)).await.unwrap();
    let medians = [Mode::Push, Mode::Hints, Mode::None].map(|m| load_ms(&report, m));
    (report, medians)
}

fn load_ms(report: &Report, mode: Mode) -> f64 {
    report.mode(mode).unwrap().load_ms.median
}

/// A repeat view reuses the first view's cache on a new connection: the page (no-cache) is
/// revalidated and answered 304, the assets (max-age) come from the cache without a request,
/// so the page loads in one round trip whatever the mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_view_revalidates_the_page_and_takes_the_rest_from_the_cache() {
    let dir = demo_site();
    let server = TestServer::start(config(dir.path())).await;
    let url = format!("https://localhost:{}/", server.addr.port());
    let mut options = options(&url, Some(&server.ca), RTT, 1);
    options.views = vec![View::First, View::Repeat];
    options.modes = vec![Mode::None, Mode::Push];
    let report = run(&options).await.unwrap();
    let rtt = RTT.as_secs_f64() * 1000.0;
    let row = |mode, view| {
        report
            .modes
            .iter()
            .find(|m| m.mode == mode && m.view == view)
            .unwrap()
    };
    let first = row(Mode::None, View::First);
    assert_eq!((first.requests, first.from_cache), (7.0, 0.0), "{first:?}");
    for mode in [Mode::None, Mode::Push] {
        let repeat = row(mode, View::Repeat);
        assert_eq!(repeat.requests, 1.0, "{mode}: only the page is asked for");
        assert_eq!(repeat.not_modified, 1.0, "{mode}: the page is a 304");
        assert_eq!(repeat.from_cache, 6.0, "{mode}: every asset from the cache");
        assert!(
            repeat.load_ms.median < 2.0 * rtt,
            "{mode} repeat view took {} ms",
            repeat.load_ms.median
        );
    }
    let table = h2push::compare::report::table(&report);
    assert!(table.contains("none/repeat"), "{table}");
}

/// `--trace` lists events in the order their frames arrived: the page's 103, then its
/// PUSH_PROMISEs, then its response HEADERS, with times that never go back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_is_in_wire_order() {
    let dir = demo_site();
    let server = TestServer::start(config(dir.path())).await;
    let url = format!("https://localhost:{}/", server.addr.port());
    let mut options = options(&url, Some(&server.ca), RTT, 3);
    options.modes = vec![Mode::Push];
    let (_, traces) = measure(&options, &ProgressBar::hidden()).await.unwrap();
    let trace = &traces[0].trace;
    let text: Vec<String> = trace
        .iter()
        .map(|e| format!("[{:.3}] {}", e.at_ms, e.what))
        .collect();
    let position = |needle: &str| {
        trace
            .iter()
            .position(|e| e.what.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {text:#?}"))
    };
    let hints = position(":status 103");
    let promise = position("PUSH_PROMISE");
    let page = position(":status 200");
    assert!(hints < promise && promise < page, "{text:#?}");
    assert!(
        trace.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
        "{text:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_beats_no_push_by_the_round_trips_of_each_dependency_level() {
    let (report, [push, hints, none]) = every_mode_twice(demo_site()).await;
    let rtt = RTT.as_secs_f64() * 1000.0;
    let p = report.mode(Mode::Push).unwrap();
    assert!(p.pushes_used >= 6.0, "{p:?}");
    assert_eq!(p.pushes_wasted, 0.0);
    assert_eq!(p.requests, 1.0, "pushed assets are not requested again");
    // push: one round trip and transfer; none: HTML → a.css → b.css/font → bg.png.
    assert!(push >= rtt && push < 2.0 * rtt, "push took {push} ms");
    assert!(none >= push + 2.5 * rtt, "none {none} ms vs push {push} ms");
    assert!(hints <= none && hints >= push, "hints {hints} ms");
    let n = report.mode(Mode::None).unwrap();
    assert_eq!(n.promises, 0.0);
    assert_eq!(n.requests, 7.0, "HTML + 6 same-origin, non-lazy resources");
    let paths: Vec<&str> = n
        .median_run
        .resources
        .iter()
        .map(|r| r.path.as_str())
        .collect();
    assert!(
        paths.contains(&"/bg.png") && !paths.contains(&"/lazy.png"),
        "{paths:?}"
    );
    let none_ratio = report.ratios.iter().find(|r| r.mode == Mode::None).unwrap();
    assert!(none_ratio.ratio > 2.0, "{:?}", report.ratios);
}

/// A module page four imports deep: an import map, `<script type=module src>` → a bare
/// specifier the map resolves → a relative one → another, and an inline module's import. The
/// comment, the string and the `import()` name modules that a browser does not fetch.
fn module_site() -> tempfile::TempDir {
    site(&[
        (
            "index.html",
            b"<!doctype html><title>m</title>\
              <script type=importmap>{\"imports\": {\"lib/\": \"/lib/\"}}</script>\
              <script type=module src=\"/app/a.js\"></script>\
              <script type=module>import '/app/inline.js';</script>",
        ),
        (
            "app/a.js",
            b"// import './fake.js';\nimport { b } from 'lib/b.js';\nconsole.log('import \"./str.js\"', b);",
        ),
        ("lib/b.js", b"export { c as b } from './c.js';"),
        ("lib/c.js", b"import './d.js';\nexport const c = () => import('./later.js');"),
        ("lib/d.js", b"export const d = 1;"),
        ("app/inline.js", b"export const i = 1;"),
        ("app/fake.js", b""),
        ("app/str.js", b""),
        ("lib/later.js", b""),
    ])
}

/// Like a browser's module loader, the built-in client reads each module script as it arrives
/// and requests its static imports: with nothing hinted or pushed every level of the graph is
/// a round trip; with hints or push the whole graph comes with the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_module_graph_costs_a_round_trip_per_level_without_hints_or_push() {
    let (report, [push, hints, none]) = every_mode_twice(module_site()).await;
    let rtt = RTT.as_secs_f64() * 1000.0;
    let n = report.mode(Mode::None).unwrap();
    let mut paths: Vec<&str> = n
        .median_run
        .resources
        .iter()
        .map(|r| r.path.as_str())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/",
            "/app/a.js",
            "/app/inline.js",
            "/lib/b.js",
            "/lib/c.js",
            "/lib/d.js"
        ],
        "static imports only, each once"
    );
    // none: HTML, then a.js → b.js → c.js → d.js, one round trip each.
    assert!(none >= 5.0 * rtt, "none took {none} ms");
    for (mode, ms) in [("push", push), ("hints", hints)] {
        assert!(ms < 2.5 * rtt, "{mode} took {ms} ms");
        assert!(none >= ms + 2.5 * rtt, "none {none} ms vs {mode} {ms} ms");
    }
    let p = report.mode(Mode::Push).unwrap();
    assert_eq!(
        p.requests, 1.0,
        "the pushed graph is not requested again: {p:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_what_is_wrong() {
    let dir = demo_site();
    let server = TestServer::start(config(dir.path())).await;
    let port = server.addr.port();
    let zero = Duration::ZERO;

    let err = run(&options(
        &format!("https://localhost:{port}/css/a.css"),
        Some(&server.ca),
        zero,
        1,
    ))
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("not an HTML page"), "{err:#}");

    let other = tempfile::TempDir::new().unwrap();
    let (paths, _) = h2push::tls::ensure_certs(other.path()).unwrap();
    let err = run(&options(
        &format!("https://localhost:{port}/"),
        paths.ca.as_deref(),
        zero,
        1,
    ))
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("--ca"), "{err:#}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = run(&options(
        &format!("https://127.0.0.1:{closed_port}/"),
        None,
        zero,
        1,
    ))
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("cannot reach"), "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_only_server_is_named_as_such() {
    let certs = tempfile::TempDir::new().unwrap();
    let (paths, _) = h2push::tls::ensure_certs(certs.path()).unwrap();
    let mut tls = (*h2push::tls::server_config(&paths.cert, &paths.key).unwrap()).clone();
    // Like a server that knows nothing of HTTP/2: no ALPN at all.
    tls.alpn_protocols = Vec::new();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _tls = acceptor.accept(tcp).await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            });
        }
    });
    let err = run(&options(
        &format!("https://localhost:{port}/"),
        paths.ca.as_deref(),
        Duration::ZERO,
        1,
    ))
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("HTTP/1.1"), "{err:#}");
}

#[test]
fn usage_errors_exit_2() {
    let out = |args: &[&str]| Command::new(BIN).args(args).output().unwrap();
    assert_eq!(out(&["compare"]).status.code(), Some(2));
    assert_eq!(
        out(&["compare", "https://localhost:1/", "--modes", "push,pull"])
            .status
            .code(),
        Some(2)
    );
    let missing_ca = out(&["compare", "https://localhost:1/", "--ca", "/no/such/ca.pem"]);
    assert_eq!(missing_ca.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing_ca.stderr);
    assert!(stderr.contains("--insecure"), "{stderr}");
    assert_eq!(out(&["compare", "ftp://localhost/"]).status.code(), Some(2));
}

/// A build without the `chromium` feature says how to get the browser rows, in one line, before
/// it measures anything (the server at port 1 is never reached).
#[cfg(not(feature = "chromium"))]
#[test]
fn browser_without_the_chromium_feature_is_one_clear_error() {
    let out = Command::new(BIN)
        .args([
            "compare",
            "https://localhost:1/",
            "--insecure",
            "--browser",
            "chromium",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("h2push: --browser:") && stderr.contains("--features chromium"),
        "{stderr}"
    );
}

/// A server process, killed when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn wait_listening(port: u16, peer: &mut Peer) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        if let Some(status) = peer.0.try_wait().unwrap() {
            panic!("the server exited at startup: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {port}");
}

/// Makes `path` and what is under it readable by servers that drop root for `nobody`.
fn open_up(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walk(path) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn walk(path: &Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![path.to_path_buf()];
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            all.extend(walk(&e.unwrap().path()));
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nghttpd_push_lists_are_used_and_beat_no_push() {
    let Some(nghttpd) = tool("nghttpd") else {
        return;
    };
    let dir = demo_site();
    let certs = tempfile::TempDir::new().unwrap();
    let (paths, _) = h2push::tls::ensure_certs(certs.path()).unwrap();
    let port = free_port();
    let mut peer = Peer(
        Command::new(nghttpd)
            .arg("--address=127.0.0.1")
            .arg("-d")
            .arg(dir.path())
            .args([
                "-p",
                "/=/css/a.css,/css/b.css,/f.woff2,/bg.png,/app.js,/img.png",
            ])
            .arg(port.to_string())
            .arg(&paths.key)
            .arg(&paths.cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(port, &mut peer).await;
    let mut opts = options(
        &format!("https://localhost:{port}/"),
        paths.ca.as_deref(),
        RTT,
        1,
    );
    opts.modes = vec![Mode::Push, Mode::None];
    let report = run(&opts).await.unwrap();
    let push = report.mode(Mode::Push).unwrap();
    assert_eq!(push.promises, 6.0, "{push:?}");
    assert_eq!(push.pushes_used, 6.0);
    assert_eq!(push.requests, 1.0);
    assert!(load_ms(&report, Mode::None) >= push.load_ms.median + 2.5 * 40.0);
}

/// h2o 2.2 pushes the `Link: rel=preload` values of a mruby handler's 399 answer (not those
/// added with `header.add`), and passes them on in the response.
const H2O_CONF: &str = r#"listen:
  host: 127.0.0.1
  port: PORT
  ssl:
    certificate-file: CERT
    key-file: KEY
    ocsp-update-interval: 0
error-log: ERR
hosts:
  default:
    paths:
      /:
        mruby.handler: |
          Proc.new do |env|
            if env["PATH_INFO"] == "/"
              [399, { "link" => "</css/a.css>; rel=preload; as=style\n</f.woff2>; rel=preload; as=font; crossorigin" }, []]
            else
              [399, {}, []]
            end
          end
        file.dir: WWW
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2o_pushes_its_link_preloads_and_hints_mode_follows_them() {
    let Some(h2o) = tool("h2o") else {
        return;
    };
    let dir = demo_site();
    let work = tempfile::TempDir::new().unwrap();
    let (paths, _) = h2push::tls::ensure_certs(work.path()).unwrap();
    let port = free_port();
    let conf = work.path().join("h2o.conf");
    std::fs::write(
        &conf,
        H2O_CONF
            .replace("PORT", &port.to_string())
            .replace("CERT", &paths.cert.display().to_string())
            .replace("KEY", &paths.key.display().to_string())
            .replace("ERR", &work.path().join("h2o.err").display().to_string())
            .replace("WWW", &dir.path().display().to_string()),
    )
    .unwrap();
    open_up(dir.path());
    open_up(work.path());
    let mut peer = Peer(
        Command::new(h2o)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(port, &mut peer).await;
    let report = run(&options(
        &format!("https://localhost:{port}/"),
        paths.ca.as_deref(),
        RTT,
        1,
    ))
    .await
    .unwrap();
    let push = report.mode(Mode::Push).unwrap();
    assert!(push.pushes_used >= 2.0, "{push:?}");
    let hints = report.mode(Mode::Hints).unwrap();
    let hinted: Vec<&str> = hints
        .median_run
        .resources
        .iter()
        .filter(|r| r.via == h2push::compare::load::Via::Hint)
        .map(|r| r.path.as_str())
        .collect();
    assert!(hinted.contains(&"/f.woff2"), "{hinted:?}");
    assert!(load_ms(&report, Mode::Push) < load_ms(&report, Mode::None));
}
