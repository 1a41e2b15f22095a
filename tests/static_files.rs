//! The static-server core against the real server, over HTTP/2 (the h2 client) and HTTP/1.1
//! (hyper's client), both over rustls: status,
//! headers and exact bytes for each rule a user of nginx/h2o/static-web-server expects.

mod common;

use std::time::Duration;

use common::{config, site, Proto, TestServer};
use http::{Method, StatusCode};

const STYLE: &[u8] = b"body { color: #123; }\n";

fn demo_site() -> tempfile::TempDir {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let dir = site(&[
        ("index.html", b"<!doctype html><title>home</title>"),
        ("style.css", STYLE),
        ("docs/index.html", b"<!doctype html><title>docs</title>"),
        ("docs/page.html", b"<!doctype html><title>page</title>"),
        (".secret", b"password"),
        ("sub/.env", b"KEY=1"),
        ("big.bin", &big),
        ("empty.txt", b""),
        ("a b.txt", b"spaced"),
    ]);
    std::fs::write(dir.path().join("404.html"), b"<h1>custom 404</h1>").unwrap();
    dir
}

over_both_protocols!(
    get_returns_exact_bytes_and_headers,
    html_is_revalidated_and_directories_serve_their_index,
    head_has_the_headers_of_get_and_no_body,
    other_methods_get_405_with_allow,
    hidden_and_traversal_paths_are_not_served,
    builtin_404_when_the_site_has_none,
    symlinks_that_leave_the_root_are_refused_unless_followed,
    conditional_requests,
    ranges,
);

async fn get_returns_exact_bytes_and_headers(proto: Proto) {
    let dir = demo_site();
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(proto).await;

    let r = client.get("/style.css").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, STYLE);
    assert_eq!(r.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(r.header("content-length"), STYLE.len().to_string());
    assert_eq!(r.header("accept-ranges"), "bytes");
    assert_eq!(r.header("cache-control"), "public, max-age=3600");
    let etag = r.header("etag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "{etag}"
    );
    let modified = std::fs::metadata(dir.path().join("style.css"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        httpdate::parse_http_date(r.header("last-modified")).unwrap(),
        httpdate::parse_http_date(&httpdate::fmt_http_date(modified)).unwrap()
    );

    let big = client.get("/big.bin").await;
    assert_eq!(big.body, std::fs::read(dir.path().join("big.bin")).unwrap());
    assert_eq!(big.header("content-type"), "application/octet-stream");

    let spaced = client.get("/a%20b.txt?x=1").await;
    assert_eq!(
        spaced.body, b"spaced",
        "one decode, query ignored for lookup"
    );

    let empty = client.get("/empty.txt").await;
    assert_eq!((empty.status, empty.body.len()), (StatusCode::OK, 0));
    assert_eq!(empty.header("content-length"), "0");

    // Every response says when it was made and by what.
    for r in [&r, &big, &empty, &client.get("/missing").await] {
        let date = httpdate::parse_http_date(r.header("date")).unwrap();
        let skew = std::time::SystemTime::now()
            .duration_since(date)
            .unwrap_or_default();
        assert!(skew < Duration::from_secs(5), "{:?}", r.header("date"));
        assert!(r.header("server").starts_with("h2push/"), "{:?}", r.headers);
    }
}

async fn html_is_revalidated_and_directories_serve_their_index(proto: Proto) {
    let dir = demo_site();
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(proto).await;

    let home = client.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert_eq!(home.body, b"<!doctype html><title>home</title>");
    assert_eq!(home.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(home.header("cache-control"), "no-cache");

    let docs = client.get("/docs/").await;
    assert_eq!(docs.body, b"<!doctype html><title>docs</title>");

    let redirect = client.get("/docs?lang=en").await;
    assert_eq!(redirect.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.header("location"), "/docs/?lang=en");
    assert!(redirect.body.is_empty());

    // A directory without index.html is not listed.
    std::fs::create_dir(dir.path().join("bare")).unwrap();
    assert_eq!(client.get("/bare/").await.status, StatusCode::NOT_FOUND);
}

async fn head_has_the_headers_of_get_and_no_body(proto: Proto) {
    let dir = demo_site();
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(proto).await;
    let get = client.get("/big.bin").await;
    let req = client.request(Method::HEAD, "/big.bin").body(()).unwrap();
    let head = client.send(req).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    for name in [
        "content-length",
        "content-type",
        "etag",
        "last-modified",
        "cache-control",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    assert_eq!(head.header("content-length"), "200000");
}

async fn other_methods_get_405_with_allow(proto: Proto) {
    let dir = demo_site();
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(proto).await;
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        let req = client
            .request(method.clone(), "/style.css")
            .body(())
            .unwrap();
        let r = client.send(req).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(r.header("allow"), "GET, HEAD");
    }
}

async fn hidden_and_traversal_paths_are_not_served(proto: Proto) {
    let dir = demo_site();
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(proto).await;
    for path in [
        "/.secret",
        "/sub/.env",
        "/%2esecret",
        "/../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/docs/..%2f..%2fetc%2fpasswd",
        "/docs/%2e%2e/.secret",
        "/..%5c..%5cetc%5cpasswd",
        "/style.css%00.png",
        "/missing.css",
    ] {
        let r = client.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            r.body, b"<h1>custom 404</h1>",
            "{path} gets the site's 404 page"
        );
        assert_eq!(r.header("content-type"), "text/html; charset=utf-8");
        assert!(r.headers.get("etag").is_none());
    }
}

async fn builtin_404_when_the_site_has_none(proto: Proto) {
    let dir = site(&[("a.txt", b"a")]);
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(proto).await;
    let r = client.get("/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&r.body).contains("404 Not Found"));
    assert_eq!(r.header("content-length"), r.body.len().to_string());
}

async fn symlinks_that_leave_the_root_are_refused_unless_followed(proto: Proto) {
    let outside = site(&[("secret.txt", b"outside")]);
    let dir = site(&[("inside.txt", b"inside")]);
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        dir.path().join("escape.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path().join("inside.txt"), dir.path().join("alias.txt"))
        .unwrap();

    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(proto).await;
    assert_eq!(
        client.get("/escape.txt").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        client.get("/alias.txt").await.body,
        b"inside",
        "links inside the root are fine"
    );

    let mut followed = config(dir.path());
    followed.follow_symlinks = true;
    let server = TestServer::start(followed).await;
    let client = server.client_over(proto).await;
    let r = client.get("/escape.txt").await;
    assert_eq!(
        (r.status, r.body.as_slice()),
        (StatusCode::OK, b"outside".as_slice())
    );
}

async fn conditional_requests(proto: Proto) {
    let dir = demo_site();
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(proto).await;
    let first = client.get("/style.css").await;
    let etag = first.header("etag").to_string();
    let modified = first.header("last-modified").to_string();

    let cond = |name: &str, value: &str| {
        client
            .request(Method::GET, "/style.css")
            .header(name, value)
            .body(())
            .unwrap()
    };
    let not_modified = cond("if-none-match", &etag);
    let by_date = cond("if-modified-since", &modified);
    let changed = cond("if-none-match", "\"something-else\"");
    let if_match_fail = cond("if-match", "\"something-else\"");
    let if_match_ok = cond("if-match", &etag);
    let unmodified_fail = cond("if-unmodified-since", "Mon, 01 Jan 2001 00:00:00 GMT");

    let r = client.send(not_modified).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), etag);
    assert_eq!(r.header("last-modified"), modified);
    assert_eq!(r.header("cache-control"), "public, max-age=3600");

    assert_eq!(client.send(by_date).await.status, StatusCode::NOT_MODIFIED);
    let r = client.send(changed).await;
    assert_eq!((r.status, r.body.as_slice()), (StatusCode::OK, STYLE));
    assert_eq!(
        client.send(if_match_fail).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(client.send(if_match_ok).await.status, StatusCode::OK);
    assert_eq!(
        client.send(unmodified_fail).await.status,
        StatusCode::PRECONDITION_FAILED
    );
}

async fn ranges(proto: Proto) {
    let dir = demo_site();
    let big = std::fs::read(dir.path().join("big.bin")).unwrap();
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(proto).await;
    let etag = client.get("/big.bin").await.header("etag").to_string();

    let ranged = |range: &str, if_range: Option<&str>| {
        let mut b = client
            .request(Method::GET, "/big.bin")
            .header("range", range);
        if let Some(v) = if_range {
            b = b.header("if-range", v);
        }
        b.body(()).unwrap()
    };
    let cases = [
        (ranged("bytes=0-99", None), 0usize, 99usize),
        (ranged("bytes=199000-", None), 199_000, 199_999),
        (ranged("bytes=-500", None), 199_500, 199_999),
        (ranged("bytes=100000-150000", Some(&etag)), 100_000, 150_000),
    ];
    for (req, start, end) in cases {
        let r = client.send(req).await;
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            r.header("content-range"),
            format!("bytes {start}-{end}/200000")
        );
        assert_eq!(r.header("content-length"), (end - start + 1).to_string());
        assert_eq!(r.body, &big[start..=end]);
    }

    let unsatisfiable = client.send(ranged("bytes=200000-", None)).await;
    assert_eq!(unsatisfiable.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(unsatisfiable.header("content-range"), "bytes */200000");

    let several = client.send(ranged("bytes=0-1,5-6", None)).await;
    assert_eq!(
        (several.status, several.body.len()),
        (StatusCode::OK, big.len())
    );

    let stale = client.send(ranged("bytes=0-99", Some("\"old\""))).await;
    assert_eq!(
        (stale.status, stale.body.len()),
        (StatusCode::OK, big.len())
    );
}

#[tokio::test]
async fn oversized_headers_are_refused() {
    let dir = demo_site();
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client().await;
    let huge = "x".repeat(40 * 1024);
    let req = client
        .request(Method::GET, "/style.css")
        .header("x-huge", huge)
        .body(())
        .unwrap();
    let send = client.conn.send.clone();
    let mut send = send.ready().await.unwrap();
    let (response, _) = send.send_request(req, true).unwrap();
    match response.await {
        Ok(r) => assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
        Err(e) => assert!(e.is_reset() || e.is_go_away(), "unexpected error {e}"),
    }
    // The connection survives for ordinary requests.
    let fresh = server.client().await;
    assert_eq!(fresh.get("/style.css").await.status, StatusCode::OK);
}

#[tokio::test]
async fn idle_connections_get_goaway() {
    let dir = demo_site();
    let mut cfg = config(dir.path());
    cfg.limits.idle_timeout = Duration::from_millis(300);
    let server = TestServer::start(cfg).await;
    let mut client = server.client().await;
    assert_eq!(client.get("/style.css").await.status, StatusCode::OK);
    let ended = tokio::time::timeout(Duration::from_secs(5), &mut client.conn.driver).await;
    assert!(
        ended.is_ok(),
        "connection still open after the idle timeout"
    );
}

/// Requests answered from memory (no stream task) still count as activity: a connection busy
/// with them for longer than the idle timeout stays open, and closes once they stop.
#[tokio::test]
async fn requests_answered_from_memory_keep_a_connection_from_idling_out() {
    let dir = demo_site();
    let mut cfg = config(dir.path());
    cfg.limits.idle_timeout = Duration::from_millis(300);
    let server = TestServer::start_watching(cfg).await;
    let mut client = server.client().await;
    assert_eq!(client.get("/style.css").await.status, StatusCode::OK);
    assert!(
        server.state.files.get("/style.css").is_some(),
        "kept in memory"
    );
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(client.get("/style.css").await.status, StatusCode::OK);
    }
    assert!(
        !client.conn.driver.is_finished(),
        "closed while busy for 1 s with a 300 ms idle timeout"
    );
    let ended = tokio::time::timeout(Duration::from_secs(5), &mut client.conn.driver).await;
    assert!(ended.is_ok(), "still open after the idle timeout");
}

#[tokio::test]
async fn shutdown_finishes_in_flight_streams_then_stops() {
    let dir = site(&[]);
    let body: Vec<u8> = (0..4_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.path().join("large.bin"), &body).unwrap();
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client().await;

    let req = client.request(Method::GET, "/large.bin").body(()).unwrap();
    let mut send = client.conn.send.clone().ready().await.unwrap();
    let (response, _) = send.send_request(req, true).unwrap();
    let response = response.await.unwrap();
    // The stream is under way; now the server is told to stop.
    server.signals.shutdown.cancel();
    let r = common::read_response(response).await;
    assert_eq!(r.body.len(), body.len());
    assert!(r.body == body, "in-flight body completed intact");
    tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .expect("server stopped after draining")
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(server.addr).await.is_err(),
        "no longer accepting"
    );
}

/// With a watcher running, small files are served from memory: the answers must be exactly the
/// ones the disk path gives, and an edit must show once the watcher has reported it.
#[tokio::test]
async fn files_served_from_memory_match_the_disk_and_follow_edits() {
    let dir = demo_site();
    let disk = TestServer::start(config(dir.path())).await;
    let memory = TestServer::start_watching(config(dir.path())).await;
    assert!(memory.state.files.is_enabled() && !disk.state.files.is_enabled());
    let (d, m) = (disk.client().await, memory.client().await);

    let warm = m.get("/style.css").await;
    assert!(
        memory.state.files.get("/style.css").is_some(),
        "kept after the first GET"
    );
    let etag = warm.header("etag").to_string();
    let requests = [
        ("/style.css", vec![]),
        ("/style.css?x=1", vec![]),
        ("/style.css", vec![("if-none-match", etag.as_str())]),
        ("/style.css", vec![("if-match", "\"nope\"")]),
        ("/style.css", vec![("range", "bytes=5-9")]),
        ("/style.css", vec![("range", "bytes=500-")]),
        ("/%73tyle.css", vec![]),
    ];
    for (path, headers) in &requests {
        let build = |c: &common::Client, method: Method| {
            let mut b = c.request(method, path);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            b.body(()).unwrap()
        };
        for method in [Method::GET, Method::HEAD] {
            let (a, b) = (
                d.send(build(&d, method.clone())).await,
                m.send(build(&m, method.clone())).await,
            );
            assert_eq!(
                (a.status, &a.body),
                (b.status, &b.body),
                "{method} {path} {headers:?}"
            );
            // The two requests can straddle a second: Date is the one header allowed to differ.
            let (mut ah, mut bh) = (a.headers.clone(), b.headers.clone());
            ah.remove("date");
            bh.remove("date");
            assert_eq!(ah, bh, "{method} {path} {headers:?}");
        }
    }

    std::fs::write(
        dir.path().join("style.css"),
        b"body { color: #456; } /* edited */\n",
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let r = m.get("/style.css").await;
        if r.body == b"body { color: #456; } /* edited */\n" {
            assert_eq!(r.header("content-length"), r.body.len().to_string());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still serving the old file"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `--h2c`: the same server over cleartext HTTP/2 with prior knowledge.
#[tokio::test]
async fn cleartext_h2_with_prior_knowledge() {
    let dir = demo_site();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = h2push::serve::State::new(config(dir.path()));
    let signals = h2push::serve::Signals::default();
    let task = tokio::spawn(h2push::serve::run(
        listener,
        h2push::serve::Transport::Cleartext,
        state,
        signals.clone(),
    ));
    let options = h2push::client::ConnectOptions {
        tls: None,
        server_name: "localhost".into(),
        enable_push: true,
        stream_window: None,
        connection_window: None,
        frame_log: None,
    };
    let conn = h2push::client::connect(addr, &options).await.unwrap();
    let client = common::Client {
        conn,
        frame_log: None,
        authority: format!("127.0.0.1:{}", addr.port()),
    };
    let r = client.get("/style.css").await;
    assert_eq!((r.status, r.body.as_slice()), (StatusCode::OK, STYLE));
    signals.shutdown.cancel();
    task.await.unwrap();
}

/// A client that connects and says nothing is dropped once the handshake timeout passes.
#[tokio::test]
async fn a_silent_client_is_dropped_after_the_handshake_timeout() {
    use tokio::io::AsyncReadExt;
    let dir = demo_site();
    let mut cfg = config(dir.path());
    cfg.limits.handshake_timeout = Duration::from_millis(300);
    let server = TestServer::start(cfg).await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut byte))
        .await
        .expect("the server closed a silent connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

/// Past `max_connections`, a new client waits while every connection is busy, and an idle
/// connection gives up its slot to it (as nginx reuses idle keep-alive connections).
#[tokio::test]
async fn past_the_limit_a_new_client_waits_for_a_connection_to_go_idle() {
    let dir = common::site(&[("big.bin", &[7u8; 512 * 1024])]);
    let mut cfg = config(dir.path());
    cfg.limits.max_connections = 1;
    let server = TestServer::start(cfg).await;
    let mut options = server.options(false);
    options.stream_window = Some(4096);
    let first = server.client_with(options).await;
    // A download the client does not read keeps the first connection busy.
    let request = first.request(Method::GET, "/big.bin").body(()).unwrap();
    let (response, _) = first.conn.send.clone().send_request(request, true).unwrap();
    let busy = response.await.unwrap();
    assert_eq!(busy.status(), StatusCode::OK);

    let waiting = tokio::spawn({
        let options = server.options(false);
        let addr = server.addr;
        async move {
            let conn = h2push::client::connect(addr, &options).await.unwrap();
            let client = common::Client {
                conn,
                frame_log: None,
                authority: format!("localhost:{}", addr.port()),
            };
            client.get("/big.bin").await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a second connection was served past the limit while the first was busy"
    );

    drop(busy); // RST_STREAM: the first connection is now idle
    let second = tokio::time::timeout(Duration::from_secs(3), waiting)
        .await
        .expect("served once the first connection went idle")
        .unwrap();
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body.len(), 512 * 1024);
}
