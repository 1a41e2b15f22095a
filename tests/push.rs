//! The push engine on the wire, through the h2 client over rustls: 103 Early Hints, then
//! PUSH_PROMISEs, then the page; pushed bodies equal the files and carry a direct GET's headers.

mod common;

use std::time::Duration;

use common::{config, site, Client, PageLoad, TestServer};
use h2push::client::{FrameKind, FrameLog, FLAG_END_STREAM};
use http::{Method, StatusCode};

const PAGE: &str = r#"<!doctype html>
<html><head>
<link rel="stylesheet" href="css/site.css?v=3">
<link rel="canonical" href="/">
<script src="js/app.js" defer></script>
</head><body>
<img src="img/logo.png">
<img src="img/lazy.png" loading="lazy">
<a href="other.html">other</a>
</body></html>"#;

const SITE_CSS: &str = "@import 'base.css';\n@font-face { font-family: F; src: url(../fonts/f.woff2); }\nbody { background: url(\"../img/bg.png\"); }\n";

fn push_site() -> tempfile::TempDir {
    site(&[
        ("index.html", PAGE.as_bytes()),
        ("css/site.css", SITE_CSS.as_bytes()),
        ("css/base.css", b"html { margin: 0 }\n"),
        ("fonts/f.woff2", &[7u8; 3000]),
        ("img/bg.png", &[1u8; 500]),
        ("img/logo.png", &[2u8; 60_000]),
        ("img/lazy.png", b"lazy"),
        ("js/app.js", b"console.log('app');\n"),
        ("other.html", b"<!doctype html><p>other"),
    ])
}

/// The order the page's assets are expected in: stylesheets (imports first), fonts, scripts,
/// images (CSS images in discovery order with the page's).
const EXPECTED: [&str; 6] = [
    "/css/base.css",
    "/css/site.css?v=3",
    "/fonts/f.woff2",
    "/js/app.js",
    "/img/bg.png",
    "/img/logo.png",
];

async fn load_with_push(server: &TestServer, path: &str) -> (PageLoad, FrameLog, Client) {
    let log = FrameLog::default();
    let mut options = server.options(true);
    options.frame_log = Some(log.clone());
    let client = server.client_with(options).await;
    let load = tokio::time::timeout(Duration::from_secs(10), client.load(path))
        .await
        .expect("page load finished");
    (load, log, client)
}

#[tokio::test]
async fn hints_then_promises_then_the_page_in_that_order_on_the_wire() {
    let dir = push_site();
    let server = TestServer::start(config(dir.path())).await;
    let (load, log, _client) = load_with_push(&server, "/").await;

    assert_eq!(load.page.status, StatusCode::OK);
    assert_eq!(load.page.body, PAGE.as_bytes());
    let hints = load.early_hints.as_ref().expect("a 103 arrived");
    let hinted = PageLoad::links(hints);
    assert_eq!(
        hinted,
        vec![
            "</css/base.css>; rel=preload; as=style",
            "</css/site.css?v=3>; rel=preload; as=style",
            "</fonts/f.woff2>; rel=preload; as=font; crossorigin",
            "</js/app.js>; rel=preload; as=script",
            "</img/bg.png>; rel=preload; as=image",
            "</img/logo.png>; rel=preload; as=image",
        ]
    );
    assert_eq!(load.pushed_paths(), EXPECTED);
    assert_eq!(
        PageLoad::links(&load.page.headers),
        hinted,
        "the page carries the same Link values"
    );

    // Frame order on stream 1: HEADERS (103), every PUSH_PROMISE, HEADERS (200), then DATA.
    let frames: Vec<_> = log
        .frames()
        .into_iter()
        .filter(|f| f.stream_id == 1)
        .collect();
    let kinds: Vec<FrameKind> = frames.iter().map(|f| f.kind).collect();
    let promises = kinds
        .iter()
        .filter(|k| **k == FrameKind::PushPromise)
        .count();
    assert_eq!(promises, EXPECTED.len());
    assert_eq!(kinds[0], FrameKind::Headers, "103 first: {kinds:?}");
    assert!(
        kinds[1..=promises]
            .iter()
            .all(|k| *k == FrameKind::PushPromise),
        "{kinds:?}"
    );
    assert_eq!(
        kinds[promises + 1],
        FrameKind::Headers,
        "page HEADERS after promises: {kinds:?}"
    );
    assert!(
        kinds[promises + 2..].iter().all(|k| *k == FrameKind::Data),
        "{kinds:?}"
    );
    assert_eq!(
        frames.last().unwrap().flags & FLAG_END_STREAM,
        FLAG_END_STREAM
    );
    // And no pushed stream sent anything before the promises were all out.
    let all = log.frames();
    let last_promise = all
        .iter()
        .rposition(|f| f.kind == FrameKind::PushPromise)
        .unwrap();
    assert!(
        all[..last_promise]
            .iter()
            .all(|f| f.stream_id == 0 || f.stream_id == 1),
        "a pushed stream started before the last promise"
    );
}

#[tokio::test]
async fn pushed_responses_equal_the_files_with_a_direct_gets_headers() {
    let dir = push_site();
    let from_disk = TestServer::start(config(dir.path())).await;
    // With the watcher, pushes are answered from memory once a first load has kept the files.
    let from_memory = TestServer::start_watching(config(dir.path())).await;
    load_with_push(&from_memory, "/").await;
    assert!(from_memory.state.files.get("/css/base.css").is_some());
    for server in [&from_disk, &from_memory] {
        let (load, _, client) = load_with_push(server, "/").await;
        assert_eq!(load.pushed_paths(), EXPECTED);
        for (path, request_headers, pushed) in &load.pushes {
            let file = path.split('?').next().unwrap();
            assert_eq!(pushed.status, StatusCode::OK, "{path}");
            assert_eq!(
                pushed.body,
                std::fs::read(dir.path().join(&file[1..])).unwrap(),
                "{path}"
            );
            assert!(request_headers.contains_key("user-agent") || request_headers.is_empty());
            let direct = client.get(path).await;
            for name in [
                "content-type",
                "content-length",
                "etag",
                "last-modified",
                "cache-control",
            ] {
                assert_eq!(pushed.header(name), direct.header(name), "{path}: {name}");
            }
        }
    }
}

#[tokio::test]
async fn promised_requests_copy_the_page_requests_headers() {
    let dir = push_site();
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_with(server.options(true)).await;
    let req = client
        .request(Method::GET, "/index.html")
        .header("user-agent", "h2push-test/1")
        .header("accept-language", "fr")
        .header("accept-encoding", "gzip")
        .header("cookie", "secret=1")
        .body(())
        .unwrap();
    let load = client.load_request(req).await;
    assert_eq!(load.pushes.len(), EXPECTED.len());
    for (path, headers, _) in &load.pushes {
        assert_eq!(headers["user-agent"], "h2push-test/1", "{path}");
        assert_eq!(headers["accept-language"], "fr");
        assert_eq!(headers["accept-encoding"], "gzip");
        assert!(
            headers.get("cookie").is_none(),
            "only the listed headers are copied"
        );
    }
}

#[tokio::test]
async fn nothing_is_pushed_twice_on_one_connection() {
    let dir = push_site();
    let server = TestServer::start(config(dir.path())).await;
    let (first, _, client) = load_with_push(&server, "/").await;
    assert_eq!(first.pushes.len(), EXPECTED.len());
    let second = client.load("/index.html").await;
    assert!(
        second.pushes.is_empty(),
        "pushed again: {:?}",
        second.pushed_paths()
    );
    assert_eq!(
        PageLoad::links(second.early_hints.as_ref().unwrap()).len(),
        EXPECTED.len(),
        "still hinted"
    );

    // Requested directly before the page: not pushed with it either.
    let fresh = server.client_with(server.options(true)).await;
    assert_eq!(fresh.get("/js/app.js").await.status, StatusCode::OK);
    let load = fresh.load("/").await;
    assert!(!load.pushed_paths().contains(&"/js/app.js"));
    assert_eq!(load.pushes.len(), EXPECTED.len() - 1);
}

#[tokio::test]
async fn push_disabled_still_gets_hints_and_links_without_promises() {
    let dir = push_site();
    let server = TestServer::start(config(dir.path())).await;
    let log = FrameLog::default();
    let mut options = server.options(false);
    options.frame_log = Some(log.clone());
    let client = server.client_with(options).await;
    let load = client.load("/").await;
    assert!(load.pushes.is_empty());
    assert!(log
        .frames()
        .iter()
        .all(|f| f.kind != FrameKind::PushPromise));
    assert_eq!(
        PageLoad::links(load.early_hints.as_ref().unwrap()).len(),
        EXPECTED.len()
    );
    let links = PageLoad::links(&load.page.headers);
    assert_eq!(links.len(), EXPECTED.len());
    assert!(
        links.iter().all(|l| !l.contains("nopush")),
        "nothing was pushed: {links:?}"
    );
}

#[tokio::test]
async fn the_budget_limits_promises_and_the_rest_is_hinted_with_nopush() {
    let dir = push_site();
    let mut cfg = config(dir.path());
    cfg.push.max_assets = 3;
    let server = TestServer::start(cfg).await;
    let (load, _, _) = load_with_push(&server, "/").await;
    assert_eq!(load.pushed_paths(), EXPECTED[..3]);
    let links = PageLoad::links(&load.page.headers);
    assert_eq!(
        links.iter().filter(|l| l.ends_with("; nopush")).count(),
        3,
        "{links:?}"
    );

    let dir = push_site();
    let mut cfg = config(dir.path());
    cfg.push.extra_bytes = 10_000; // the 500 B background fits, the 60 kB logo does not
    let server = TestServer::start(cfg).await;
    let (load, _, _) = load_with_push(&server, "/").await;
    assert_eq!(load.pushed_paths(), EXPECTED[..5]);
}

#[tokio::test]
async fn switches_turn_off_push_hints_and_link_headers() {
    let dir = push_site();
    let mut cfg = config(dir.path());
    cfg.push.push = false;
    let server = TestServer::start(cfg).await;
    let (load, _, _) = load_with_push(&server, "/").await;
    assert!(load.pushes.is_empty());
    assert!(load.early_hints.is_some());

    let mut cfg = config(dir.path());
    cfg.push.early_hints = false;
    cfg.push.preload_headers = false;
    let server = TestServer::start(cfg).await;
    let (load, _, _) = load_with_push(&server, "/").await;
    assert!(load.early_hints.is_none());
    assert!(load.page.headers.get("link").is_none());
    assert_eq!(load.pushes.len(), EXPECTED.len());
}

#[tokio::test]
async fn no_push_for_head_304_or_ranges() {
    let dir = push_site();
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_with(server.options(true)).await;
    let first = client.load("/").await;
    let etag = first.page.header("etag").to_string();

    let fresh = server.client_with(server.options(true)).await;
    let req = fresh
        .request(Method::GET, "/")
        .header("if-none-match", &etag)
        .body(())
        .unwrap();
    let revalidated = fresh.load_request(req).await;
    assert_eq!(revalidated.page.status, StatusCode::NOT_MODIFIED);
    assert!(revalidated.pushes.is_empty());
    assert!(
        revalidated.early_hints.is_some(),
        "a 304 page still gets hints"
    );

    let req = fresh
        .request(Method::GET, "/")
        .header("range", "bytes=0-9")
        .body(())
        .unwrap();
    let ranged = fresh.load_request(req).await;
    assert_eq!(ranged.page.status, StatusCode::PARTIAL_CONTENT);
    assert!(ranged.pushes.is_empty() && ranged.early_hints.is_none());

    let req = fresh.request(Method::HEAD, "/").body(()).unwrap();
    let head = fresh.load_request(req).await;
    assert!(head.pushes.is_empty() && head.early_hints.is_none());

    let missing = fresh.load("/missing.html").await;
    assert_eq!(missing.page.status, StatusCode::NOT_FOUND);
    assert!(missing.pushes.is_empty() && missing.early_hints.is_none());
}

#[tokio::test]
async fn an_edited_stylesheet_changes_the_next_manifest() {
    let dir = push_site();
    let server = TestServer::start(config(dir.path())).await;
    let before = server
        .client_with(server.options(true))
        .await
        .load("/")
        .await;
    assert!(!before.pushed_paths().contains(&"/fonts/g.woff2"));

    std::fs::write(dir.path().join("fonts/g.woff2"), [9u8; 100]).unwrap();
    // A different size as well as new content, so the change shows whatever the mtime resolution.
    let edited =
        format!("{SITE_CSS}@font-face {{ font-family: G; src: url('../fonts/g.woff2'); }}\n");
    std::fs::write(dir.path().join("css/site.css"), edited).unwrap();

    let after = server
        .client_with(server.options(true))
        .await
        .load("/")
        .await;
    assert!(
        after.pushed_paths().contains(&"/fonts/g.woff2"),
        "{:?}",
        after.pushed_paths()
    );
    let (_, _, font) = after
        .pushes
        .iter()
        .find(|(p, _, _)| p == "/fonts/g.woff2")
        .unwrap();
    assert_eq!(font.body, [9u8; 100]);
}

/// Loads `/` until `wanted` are all pushed, or fails after 3 s.
async fn until_pushed(server: &TestServer, wanted: &[&str]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let load = server
            .client_with(server.options(true))
            .await
            .load("/")
            .await;
        let paths = load.pushed_paths();
        if wanted.iter().all(|w| paths.contains(w)) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "manifest still stale: {paths:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn with_the_watcher_a_new_file_or_an_edited_stylesheet_changes_the_next_manifest() {
    let dir = push_site();
    let page = PAGE.replace("</body>", "<img src=\"img/later.png\"></body>");
    std::fs::write(dir.path().join("index.html"), &page).unwrap();
    let server = TestServer::start_watching(config(dir.path())).await;
    let before = server
        .client_with(server.options(true))
        .await
        .load("/")
        .await;
    assert!(
        !before.pushed_paths().contains(&"/img/later.png"),
        "not there yet"
    );
    assert_eq!(server.state.manifests.len(), 1);

    // Neither the page nor its CSS changes: a file it links appears.
    std::fs::write(dir.path().join("img/later.png"), [3u8; 64]).unwrap();
    until_pushed(&server, &["/img/later.png"]).await;

    // The stylesheet gains a font.
    std::fs::write(dir.path().join("fonts/g.woff2"), [9u8; 100]).unwrap();
    let edited =
        format!("{SITE_CSS}@font-face {{ font-family: G; src: url('../fonts/g.woff2'); }}\n");
    std::fs::write(dir.path().join("css/site.css"), edited).unwrap();
    until_pushed(&server, &["/img/later.png", "/fonts/g.woff2"]).await;
}
