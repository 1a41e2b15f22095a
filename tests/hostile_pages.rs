//! Hostile pages against the real server: finding a page's assets costs time linear in its
//! bytes whatever the markup, one discovery serves every request for the same page version,
//! and a page past a bound is still answered, hinted from what came before the bound.

mod common;

use std::time::Duration;

use common::{config, site, Client, TestServer};

/// Longer than any of these pages takes here even in a debug build (milliseconds), far shorter
/// than the minutes html5ever's tree builder took: a hang detector, not a speed figure.
const ANSWER_BOUND: Duration = Duration::from_secs(30);

const CSS: &[u8] = b"body { color: black }";

/// The paths the page's 103 hints, after checking the page came back whole.
async fn hinted(client: &Client, path: &str, page: &[u8]) -> Vec<String> {
    let load = tokio::time::timeout(ANSWER_BOUND, client.load(path))
        .await
        .unwrap_or_else(|_| panic!("{path} not answered within {ANSWER_BOUND:?}"));
    assert_eq!(load.page.status, 200);
    assert_eq!(load.page.body.len(), page.len(), "{path}: the whole page");
    let Some(early) = &load.early_hints else {
        return Vec::new();
    };
    common::PageLoad::links(early)
        .iter()
        .map(|l| l[1..l.find('>').unwrap()].to_string())
        .collect()
}

/// Serves `page` as /page.html beside /s.css, loads it while another client asks for the
/// stylesheet, and returns the page's hints.
async fn load_hostile(page: Vec<u8>) -> Vec<String> {
    let dir = site(&[("page.html", &page), ("s.css", CSS)]);
    let server = TestServer::start(config(dir.path())).await;
    let (hostile, other) = (server.client().await, server.client().await);
    let (hints, css) = tokio::join!(hinted(&hostile, "/page.html", &page), async {
        tokio::time::timeout(ANSWER_BOUND, other.get("/s.css")).await
    });
    let css = css.expect("another request answered meanwhile");
    assert_eq!(
        (css.status, css.body.as_slice()),
        (http::StatusCode::OK, CSS)
    );
    hints
}

#[tokio::test]
async fn a_flood_of_self_closing_divs_is_hinted_whole() {
    // 600 KB that html5ever nested 100 000 deep (`/>` means nothing on a div): 32 s.
    let mut page = b"<div/>".repeat(100_000);
    page.extend_from_slice(b"<link rel=stylesheet href=s.css>");
    assert_eq!(load_hostile(page).await, ["/s.css"]);
}

#[tokio::test]
async fn a_flood_of_stray_end_tags_is_hinted_whole() {
    // Each `</x>` made html5ever's tree builder walk every open element: 30 s.
    let mut page = b"<div></x>".repeat(100_000);
    page.extend_from_slice(b"<link rel=stylesheet href=s.css>");
    assert_eq!(load_hostile(page).await, ["/s.css"]);
}

#[tokio::test]
async fn a_tag_with_280000_attributes_is_hinted_whole() {
    // html5ever's tokenizer compared each attribute with every earlier one: 19 s.
    // Distinct names, none that discovery reads: 1.7 MB, inside the 2 MiB read for discovery.
    let mut page = b"<link".to_vec();
    for i in 0..280_000u32 {
        let name = [0, 1, 2, 3].map(|d| b'a' + (i / 26u32.pow(d) % 26) as u8);
        page.extend_from_slice(b" z");
        page.extend_from_slice(&name);
    }
    page.extend_from_slice(b" rel=stylesheet href=s.css>");
    assert_eq!(load_hostile(page).await, ["/s.css"]);
}

#[tokio::test]
async fn a_page_past_the_element_bound_is_hinted_from_what_came_before() {
    let mut page = b"<link rel=stylesheet href=s.css>".to_vec();
    page.extend(b"<img src=a.png>".repeat(h2push::push::html_scan::MAX_ELEMENTS));
    page.extend_from_slice(b"<script src=late.js></script>");
    let dir = site(&[
        ("page.html", &page),
        ("s.css", CSS),
        ("a.png", b"png"),
        ("late.js", b"js"),
    ]);
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client().await;
    assert_eq!(
        hinted(&client, "/page.html", &page).await,
        ["/s.css", "/a.png"]
    );
    // Found once, cached: the bound (and its warning) is met once, not per request.
    assert_eq!(
        hinted(&client, "/page.html", &page).await,
        ["/s.css", "/a.png"]
    );
    assert_eq!(server.state.manifests.discoveries(), 1);
}

#[tokio::test]
async fn concurrent_requests_for_an_uncached_page_share_one_discovery() {
    // 64 concurrent requests of a 2 MB page each parsed it (6.5 GB RSS with html5ever's DOM).
    let mut page = b"<link rel=stylesheet href=s.css>".to_vec();
    page.extend(b"<i>x</i>".repeat(256 * 1024 / 8));
    let dir = site(&[("page.html", &page), ("s.css", CSS)]);
    let server = TestServer::start(config(dir.path())).await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(server.client().await);
    }
    let requests = clients.iter().flat_map(|client| {
        (0..16).map(|_| async {
            let response = tokio::time::timeout(ANSWER_BOUND, client.get("/page.html"))
                .await
                .expect("answered");
            (response.status, response.body.len())
        })
    });
    let answers = futures_util::future::join_all(requests).await;
    assert_eq!(answers, vec![(http::StatusCode::OK, page.len()); 64]);
    assert_eq!(
        server.state.manifests.discoveries(),
        1,
        "one discovery for 64 concurrent requests of one page version"
    );
    // The one discovery is cached for the next request.
    assert_eq!(hinted(&clients[0], "/page.html", &page).await, ["/s.css"]);
    assert_eq!(server.state.manifests.discoveries(), 1);
}
