//! The push policy and the push digest on the wire, through the h2 client over rustls: which
//! paths get a PUSH_PROMISE and which only a `Link`, and what a repeat visitor carrying the
//! `h2push-digest` cookie is pushed on a new connection.

mod common;

use std::time::Duration;

use common::{config, site, Client, PageLoad, TestServer};
use http::{Method, StatusCode};

async fn load(server: &TestServer, cookie: Option<&str>) -> PageLoad {
    let client: Client = server.client_with(server.options(true)).await;
    let mut req = client.request(Method::GET, "/");
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    let load = tokio::time::timeout(
        Duration::from_secs(10),
        client.load_request(req.body(()).unwrap()),
    )
    .await
    .expect("page load finished");
    assert_eq!(load.page.status, StatusCode::OK);
    load
}

/// The `Link` targets of the page's own response.
fn linked(load: &PageLoad) -> Vec<String> {
    PageLoad::links(&load.page.headers)
        .iter()
        .map(|l| l[1..l.find('>').unwrap()].to_string())
        .collect()
}

const POLICY_PAGE: &str = r#"<!doctype html>
<html><head>
<link rel="stylesheet" href="big.css">
<script src="big.js"></script>
<script async src="analytics.js"></script>
</head><body>
<img src="small.png">
<img src="large.jpg">
</body></html>"#;

/// What the page needs to render is pushed whole, even past a megabyte; images and async
/// scripts are pushed only within the 64 KiB extra budget, the rest only hinted.
#[tokio::test]
async fn critical_assets_are_pushed_whole_and_extras_only_within_their_budget() {
    let dir = site(&[
        ("index.html", POLICY_PAGE.as_bytes()),
        ("big.css", &[b' '; 200_000]),
        ("big.js", &[b' '; 1_200_000]),
        ("analytics.js", &[b' '; 70_000]),
        ("small.png", &[1u8; 30_000]),
        ("large.jpg", &[2u8; 100_000]),
    ]);
    let server = TestServer::start(config(dir.path())).await;
    let load = load(&server, None).await;
    assert_eq!(load.pushed_paths(), ["/big.css", "/big.js", "/small.png"]);
    assert_eq!(load.pushes[1].2.body.len(), 1_200_000);
    let mut links = linked(&load);
    links.sort();
    assert_eq!(
        links,
        [
            "/analytics.js",
            "/big.css",
            "/big.js",
            "/large.jpg",
            "/small.png"
        ]
    );
}

const DIGEST_PAGE: &str = r#"<!doctype html>
<html><head>
<link rel="stylesheet" href="a.css">
<link rel="stylesheet" href="b.css">
<script src="app.js" defer></script>
</head><body></body></html>"#;

fn digest_site() -> tempfile::TempDir {
    site(&[
        ("index.html", DIGEST_PAGE.as_bytes()),
        ("a.css", b"a { color: red }\n"),
        ("b.css", b"b { color: red }\n"),
        ("app.js", b"console.log('app');\n"),
    ])
}

/// The `name=value` of the digest cookie the page set, and the whole header.
fn digest_cookie(load: &PageLoad) -> (String, String) {
    let set = load
        .page
        .headers
        .get("set-cookie")
        .expect("the page sets the digest cookie")
        .to_str()
        .unwrap()
        .to_string();
    let pair = set.split(';').next().unwrap().to_string();
    assert!(pair.starts_with("h2push-digest="), "{set}");
    (pair, set)
}

/// First load pushes everything and sets the cookie; a repeat load on a new connection with
/// the cookie pushes nothing (still hints everything); after one stylesheet changes, exactly
/// that one is pushed again.
#[tokio::test]
async fn a_repeat_visitor_is_pushed_only_what_changed() {
    let dir = digest_site();
    let server = TestServer::start_watching(config(dir.path())).await;
    let all = ["/a.css", "/b.css", "/app.js"];

    let first = load(&server, None).await;
    assert_eq!(first.pushed_paths(), all);
    let (cookie, set) = digest_cookie(&first);
    assert!(
        set.ends_with("; Secure; HttpOnly; SameSite=Lax; Path=/"),
        "{set}"
    );

    let repeat = load(&server, Some(&cookie)).await;
    assert!(repeat.pushes.is_empty(), "{:?}", repeat.pushed_paths());
    assert_eq!(linked(&repeat), all, "still hinted");
    assert!(
        repeat.page.headers.get("set-cookie").is_none(),
        "nothing new to remember"
    );

    std::fs::write(dir.path().join("b.css"), "b { color: blue; }\n").unwrap();
    let mut changed = load(&server, Some(&cookie)).await;
    for _ in 0..50 {
        if !changed.pushes.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        changed = load(&server, Some(&cookie)).await;
    }
    assert_eq!(changed.pushed_paths(), ["/b.css"]);
    assert_eq!(changed.pushes[0].2.body, b"b { color: blue; }\n");
    let (updated, _) = digest_cookie(&changed);
    let after = load(&server, Some(&updated)).await;
    assert!(after.pushes.is_empty(), "{:?}", after.pushed_paths());
}

/// A cookie that does not decode is an empty digest: everything is pushed, nothing fails.
#[tokio::test]
async fn a_malformed_digest_cookie_is_ignored() {
    let dir = digest_site();
    let server = TestServer::start(config(dir.path())).await;
    let long = format!("h2push-digest={}", "A".repeat(5000));
    for cookie in ["h2push-digest=%%%not base64", "h2push-digest=AAAAA", &long] {
        let load = load(&server, Some(cookie)).await;
        assert_eq!(load.pushed_paths(), ["/a.css", "/b.css", "/app.js"]);
        digest_cookie(&load);
    }
}

/// `--push-digest off`: no cookie is set and a cookie sent is not read.
#[tokio::test]
async fn push_digest_off_neither_sets_nor_reads_the_cookie() {
    let dir = digest_site();
    let on = TestServer::start(config(dir.path())).await;
    let (cookie, _) = digest_cookie(&load(&on, None).await);

    let mut off_config = config(dir.path());
    off_config.push.digest = false;
    let off = TestServer::start(off_config).await;
    let load = load(&off, Some(&cookie)).await;
    assert_eq!(load.pushed_paths(), ["/a.css", "/b.css", "/app.js"]);
    assert!(load.page.headers.get("set-cookie").is_none());
}
