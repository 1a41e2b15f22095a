//! Chromium opens `new WebSocket(...)` on the change feed: over the page's own HTTP/2
//! connection (RFC 8441 extended CONNECT, seen in the server's per-protocol session count) and,
//! with HTTP/2 off, over HTTP/1.1; each time a file written gets to the page within 200 ms
//! (the watcher's 100 ms debounce included). Skips without chromium and certutil unless
//! `H2PUSH_REQUIRE_INTEROP=1`. Its own test binary: the session counters are per process.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{config, site, tool, TestServer};
use h2push::events::ws;

/// One browser at a time: the session counters must see only the run that is checked.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PAGE: &str = r#"<!doctype html><title>ws</title><body><ol id="log"></ol>
<script>
const log = (cls, text) => {
  const li = document.createElement('li');
  li.className = cls;
  li.textContent = text;
  document.getElementById('log').append(li);
};
const socket = new WebSocket(`wss://${location.host}/.h2push/ws`);
socket.onopen = () => log('open', 'open');
socket.onmessage = (e) => {
  const c = JSON.parse(e.data);
  log('change', `at=${Date.now()} ${c.kind} ${c.path}`);
};
socket.onclose = (e) => log('close', `close ${e.code}`);
</script>
<iframe hidden src="/.h2push/events"></iframe></body>"#;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Loads the page in Chromium (with `extra` flags) and writes a file once the page's socket is
/// open. The page's DOM and when the file was written.
async fn run(chromium: &str, certutil: &str, extra: &'static [&'static str]) -> (String, u64) {
    let dir = site(&[("ws.html", PAGE.as_bytes()), ("watched.css", b"a{}")]);
    let server = TestServer::start_watching(config(dir.path())).await;
    let url = format!("https://localhost:{}/ws.html", server.addr.port());
    let before = ws::opened();
    let browser = load(chromium, certutil, &server, url, extra);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ws::opened() == before && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Let the page's `onopen` run and the watcher settle before the write that is timed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let written = now_ms();
    std::fs::write(dir.path().join("watched.css"), "b{}").unwrap();
    (browser.await.unwrap(), written)
}

/// Chromium with a trusted CA and `extra` flags, loading `url` for 5 s; its DOM.
fn load(
    chromium: &str,
    certutil: &str,
    server: &TestServer,
    url: String,
    extra: &'static [&'static str],
) -> tokio::task::JoinHandle<String> {
    let (chromium, certutil, ca) = (chromium.to_owned(), certutil.to_owned(), server.ca.clone());
    tokio::task::spawn_blocking(move || {
        let home = h2push::compare::browser::TrustedHome::new(std::path::Path::new(&certutil), &ca)
            .expect("an NSS database trusting the CA");
        let profile = tempfile::TempDir::new().unwrap();
        let out = std::process::Command::new(chromium)
            .args(h2push::compare::browser::chromium_args())
            .args(extra)
            .args([
                "--headless",
                &format!("--user-data-dir={}", profile.path().display()),
                "--timeout=5000",
                "--dump-dom",
                &url,
            ])
            .env("HOME", home.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
}

/// The page's receive time of the change to `/watched.css`.
fn received_at(dom: &str) -> Option<u64> {
    let line = dom
        .split("<li class=\"change\">")
        .skip(1)
        .find(|l| l.contains("/watched.css"))?;
    line.strip_prefix("at=")?.split(' ').next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_gets_changes_over_a_websocket_on_http2_and_on_http1() {
    let (Some(chromium), Some(certutil)) = (tool("chromium"), tool("certutil")) else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    for (name, extra, over_h2) in [
        ("HTTP/2", &[][..], true),
        ("HTTP/1.1", &["--disable-http2"][..], false),
    ] {
        let (h1_before, h2_before) = ws::opened();
        let (dom, written) = run(&chromium, &certutil, extra).await;
        let (h1, h2) = ws::opened();
        assert!(
            dom.contains(r#"<li class="open">"#),
            "{name}: socket open: {dom}"
        );
        if over_h2 {
            assert!(
                h2 > h2_before && h1 == h1_before,
                "{name}: extended CONNECT used"
            );
        } else {
            assert!(h1 > h1_before && h2 == h2_before, "{name}: Upgrade used");
        }
        let at = received_at(&dom).unwrap_or_else(|| panic!("{name}: change shown: {dom}"));
        let latency = at.saturating_sub(written);
        eprintln!("{name}: file written → page had it in {latency} ms");
        assert!(latency <= 200, "{name}: {latency} ms from write to page");
    }
}

/// Shows `console.info` in the DOM, and hides the transports named in `hide` from the page.
fn reload_page(hide: &[&str]) -> String {
    let hidden: String = hide
        .iter()
        .map(|h| format!("window.{h} = undefined;"))
        .collect();
    format!(
        r#"<!doctype html><title>lr</title><body>
<script>console.info = (m) => document.body.insertAdjacentHTML("beforeend", `<p class="lr">${{m}}</p>`);
{hidden}</script>
<iframe hidden src="/.h2push/events"></iframe></body>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_reload_says_which_transport_it_fell_back_to() {
    let (Some(chromium), Some(certutil)) = (tool("chromium"), tool("certutil")) else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let cases = [
        (&[][..], "WebSocket"),
        (&["WebSocket"][..], "Server-Sent Events"),
        (&["WebSocket", "EventSource"][..], "long-poll"),
    ];
    let pages: Vec<(String, String)> = cases
        .iter()
        .enumerate()
        .map(|(i, (hide, _))| (format!("p{i}.html"), reload_page(hide)))
        .collect();
    let files: Vec<(&str, &[u8])> = pages
        .iter()
        .map(|(name, html)| (name.as_str(), html.as_bytes()))
        .collect();
    let dir = site(&files);
    let mut config = config(dir.path());
    config.live_reload = true;
    let server = TestServer::start_watching(config).await;
    for (i, (_, expected)) in cases.iter().enumerate() {
        let url = format!("https://localhost:{}/p{i}.html", server.addr.port());
        let dom = load(&chromium, &certutil, &server, url, &[]).await.unwrap();
        let said = format!(r#"<p class="lr">h2push live reload: {expected}</p>"#);
        assert!(dom.contains(&said), "{expected}: {dom}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_page_shows_one_change_in_all_four_columns() {
    let (Some(chromium), Some(certutil)) = (tool("chromium"), tool("certutil")) else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::TempDir::new().unwrap();
    let site_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("site");
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", site_dir.display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(copied.success());
    let page = dir.path().join("events.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // An endless frame keeps the load open, so the DOM is dumped after the timeout.
    let hold = r#"<iframe hidden src="/.h2push/events"></iframe></body>"#;
    std::fs::write(&page, html.replace("</body>", hold)).unwrap();
    let server = TestServer::start_watching(config(dir.path())).await;
    let url = format!("https://localhost:{}/events.html", server.addr.port());
    let browser = load(&chromium, &certutil, &server, url, &[]);
    let watched = dir.path().join("css/base.css");
    while !browser.is_finished() {
        tokio::time::sleep(Duration::from_millis(250)).await;
        std::fs::write(&watched, "body { margin: 0; }\n").unwrap();
    }
    let dom = browser.await.unwrap();
    for column in ["log", "ws-log", "stream-log", "poll-log"] {
        let (_, after) = dom
            .split_once(&format!(r#"<ol id="{column}">"#))
            .unwrap_or_else(|| panic!("{column} in {dom}"));
        let list = after.split("</ol>").next().unwrap();
        assert!(
            list.contains(r#"<li class="change">"#) && list.contains("modified /css/base.css"),
            "{column} shows the change: {list}"
        );
    }
}
