//! Clients that attack or misbehave must not stall, bloat or silently cut the server: each test
//! sends more than a bound allows and checks that other clients are still served, memory stays
//! bounded, and the access log tells the truth.

mod common;

use std::process::Command;
use std::time::Duration;

use common::served::Served;
use common::{config, raw, site, tool, TestServer};
use http::{Method, StatusCode};

async fn within<F: std::future::Future>(limit: Duration, what: &str, future: F) -> F::Output {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {limit:?} waiting for {what}"))
}

fn small_site() -> tempfile::TempDir {
    site(&[("style.css", b"p { margin: 0 }\n")])
}

/// A sparse file of `len` bytes: big downloads without big disks.
fn sparse(dir: &std::path::Path, name: &str, len: u64) {
    std::fs::File::create(dir.join(name))
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Connections that never send a ClientHello take handshake slots, not connection slots, and
/// the oldest of them make way for a client that talks.
#[tokio::test]
async fn silent_connections_do_not_starve_real_clients() {
    let dir = small_site();
    let mut cfg = config(dir.path());
    cfg.limits.max_connections = 16;
    cfg.limits.max_handshakes = 16;
    let server = TestServer::start(cfg).await;
    let mut silent = Vec::new();
    for _ in 0..64 {
        silent.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for probe in 0..3 {
        let client = within(
            Duration::from_secs(3),
            "a probe connection",
            server.client(),
        )
        .await;
        let r = within(
            Duration::from_secs(3),
            "a probe request",
            client.get("/style.css"),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "probe {probe}");
    }
    drop(silent);
}

/// Event streams past their cap get 503 with Retry-After, and the connections they leave idle
/// make room for pages.
#[tokio::test]
async fn event_streams_are_capped_and_leave_room_for_pages() {
    let dir = small_site();
    let mut cfg = config(dir.path());
    cfg.limits.max_connections = 8;
    cfg.limits.max_event_streams = 4;
    let server = TestServer::start_watching(cfg).await;
    let mut opened = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let client = within(Duration::from_secs(5), "a feed connection", server.client()).await;
        let req = client
            .request(Method::GET, "/.h2push/events")
            .body(())
            .unwrap();
        let mut send = client.conn.send.clone().ready().await.unwrap();
        let (response, _) = send.send_request(req, true).unwrap();
        let response = within(Duration::from_secs(5), "a feed answer", response)
            .await
            .unwrap();
        statuses.push(response.status());
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(response.headers()["retry-after"], "5");
        }
        opened.push((client, response));
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 4, "{statuses:?}");
    assert_eq!(server.state.event_streams.open(), 4);
    let probe = within(Duration::from_secs(3), "a page connection", server.client()).await;
    let r = within(Duration::from_secs(3), "a page", probe.get("/style.css")).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Streams of a client that opens a huge window and never reads take at most the connection's
/// send budget: the server's memory stays bounded.
#[tokio::test]
async fn clients_that_never_read_cannot_make_the_server_buffer_without_bound() {
    let dir = small_site();
    sparse(dir.path(), "big.bin", 64 * 1024 * 1024);
    let served = Served::start(dir.path(), &[]);
    let before = served.status_kib("VmRSS:");
    let mut unread = Vec::new();
    for _ in 0..8 {
        unread.push(raw::greedy_unread(served.port, &served.ca, "/big.bin", 100).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let peak = served.status_kib("VmHWM:");
    // 800 streams: unbounded, h2 buffered about 355 KiB each (~280 MiB).
    assert!(
        peak < before + 64 * 1024,
        "peak RSS {peak} KiB from {before} KiB"
    );
    // Others are still served.
    let Some(curl) = tool("curl") else { return };
    let out = Command::new(curl)
        .args([
            "-s",
            "--cacert",
            served.ca.to_str().unwrap(),
            "--max-time",
            "5",
        ])
        .arg(served.url("/style.css"))
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"p { margin: 0 }\n");
    drop(unread);
}

/// SIGTERM while slow clients download: they all get every byte, the process exits after, and
/// the log says each response was sent whole.
#[test]
fn shutdown_hands_every_byte_to_slow_clients_before_exiting() {
    let Some(curl) = tool("curl") else { return };
    let dir = small_site();
    let len: u64 = 12 * 1024 * 1024;
    sparse(dir.path(), "big.bin", len);
    let served = Served::start(dir.path(), &["--shutdown-grace", "60s"]);
    let downloads: Vec<_> = (0..4)
        .map(|i| {
            let proto = if i % 2 == 0 { "--http2" } else { "--http1.1" };
            Command::new(&curl)
                .args(["-s", proto, "--limit-rate", "3M", "-o", "/dev/null"])
                .args(["-w", "%{size_download}", "--cacert"])
                .arg(&served.ca)
                .arg(served.url("/big.bin"))
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    let log = served.log.clone();
    let status = served.terminate_within(Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    for download in downloads {
        let out = download.wait_with_output().unwrap();
        assert!(out.status.success(), "curl: {:?}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stdout), len.to_string());
    }
    let log = log.lock().unwrap();
    let whole: Vec<_> = log
        .iter()
        .filter(|l| l.contains("path=/big.bin") && l.contains(&format!("bytes={len}")))
        .collect();
    assert_eq!(whole.len(), 4, "{log:#?}");
    assert!(whole.iter().all(|l| !l.contains("cut=")), "{whole:#?}");
}

/// A client that leaves mid-download is logged with the bytes really sent and why it stopped;
/// a file that shrinks under a transfer is a warning.
#[tokio::test]
async fn the_access_log_says_when_a_transfer_was_cut() {
    let dir = small_site();
    let len: u64 = 32 * 1024 * 1024;
    sparse(dir.path(), "big.bin", len);
    sparse(dir.path(), "shrinks.bin", len);
    let served = Served::start(dir.path(), &[]);
    let client = common::Client {
        conn: h2push::client::connect(
            ([127, 0, 0, 1], served.port).into(),
            &h2push::client::ConnectOptions {
                tls: Some(h2push::tls::client_config(Some(&served.ca), false).unwrap()),
                server_name: "localhost".into(),
                enable_push: false,
                stream_window: None,
                connection_window: None,
                frame_log: None,
            },
        )
        .await
        .unwrap(),
        frame_log: None,
        authority: format!("localhost:{}", served.port),
    };
    let req = client.request(Method::GET, "/big.bin").body(()).unwrap();
    let (response, _) = client.conn.send.clone().send_request(req, true).unwrap();
    let mut body = response.await.unwrap().into_body();
    let mut got = 0;
    while got < 1024 * 1024 {
        let chunk = body.data().await.unwrap().unwrap();
        got += chunk.len();
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    drop(body); // RST_STREAM(CANCEL)

    let req = client
        .request(Method::GET, "/shrinks.bin")
        .body(())
        .unwrap();
    let (response, _) = client.conn.send.clone().send_request(req, true).unwrap();
    let mut body = response.await.unwrap().into_body();
    let first = body.data().await.unwrap().unwrap();
    let _ = body.flow_control().release_capacity(first.len());
    let shrunk_to = 1024 * 1024 + 1000;
    std::fs::File::options()
        .write(true)
        .open(dir.path().join("shrinks.bin"))
        .unwrap()
        .set_len(shrunk_to)
        .unwrap();
    let mut received = first.len() as u64;
    let ended = loop {
        match body.data().await {
            Some(Ok(chunk)) => {
                received += chunk.len() as u64;
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            Some(Err(err)) => break err.to_string(),
            None => break "ended cleanly".into(),
        }
    };
    // The stream was reset so the client knows the body is short. h2 drops DATA still queued
    // when a stream is reset, so the short read's last partial chunk (under BODY_CHUNK) is not
    // sent; the log counts what was.
    assert!(received < shrunk_to, "{received} bytes, then: {ended}");
    assert!(
        received + 64 * 1024 > shrunk_to,
        "{received} bytes, then: {ended}"
    );
    assert!(ended.contains("internal error"), "{ended}");

    tokio::time::sleep(Duration::from_millis(500)).await;
    let cut = served.log_lines("path=/big.bin");
    assert_eq!(cut.len(), 1, "{cut:?}");
    assert!(cut[0].contains("cut="), "{}", cut[0]);
    assert!(!cut[0].contains(&format!("bytes={len}")), "{}", cut[0]);
    assert!(!cut[0].contains("bytes=0 "), "{}", cut[0]);
    let shrank = served.log_lines("path=/shrinks.bin");
    assert_eq!(shrank.len(), 1, "{shrank:?}");
    assert!(shrank[0].contains("shrank"), "{}", shrank[0]);
    assert!(
        shrank[0].contains(&format!("bytes={received} ")),
        "{}",
        shrank[0]
    );
    assert_eq!(
        served
            .log_lines("WARN")
            .iter()
            .filter(|l| l.contains("shrank"))
            .count(),
        1
    );
}

/// Slow event-stream readers under heavy churn keep falling behind the feed: a handful of
/// warnings, not one per stream per burst.
#[tokio::test]
async fn slow_event_streams_under_churn_do_not_flood_the_log() {
    let dir = small_site();
    std::fs::create_dir(dir.path().join("churn")).unwrap();
    let served = Served::start(dir.path(), &[]);
    let options = h2push::client::ConnectOptions {
        tls: Some(h2push::tls::client_config(Some(&served.ca), false).unwrap()),
        server_name: "localhost".into(),
        enable_push: false,
        stream_window: Some(1024),
        connection_window: None,
        frame_log: None,
    };
    let addr = ([127, 0, 0, 1], served.port).into();
    let mut readers = Vec::new();
    let mut connections = Vec::new();
    for _ in 0..4 {
        let conn = h2push::client::connect(addr, &options).await.unwrap();
        for _ in 0..25 {
            let url = format!("https://localhost:{}/.h2push/events", served.port);
            let req = http::Request::get(url).body(()).unwrap();
            let mut send = conn.send.clone().ready().await.unwrap();
            let (response, _) = send.send_request(req, true).unwrap();
            readers.push(tokio::spawn(async move {
                let mut body = response.await.unwrap().into_body();
                // A reader that takes a little, now and then.
                while let Some(Ok(chunk)) = body.data().await {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = body.flow_control().release_capacity(chunk.len());
                }
            }));
        }
        connections.push(conn);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for round in 0..6 {
        for i in 0..800 {
            let name = format!("churn/{round}-{i}-with-a-name-long-enough-to-fill-windows.txt");
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let warnings = served.log_lines("WARN");
    assert!(
        warnings.len() <= 3,
        "{} warnings: {:#?}",
        warnings.len(),
        &warnings[..warnings.len().min(5)]
    );
    for reader in readers {
        reader.abort();
    }
}

/// A client closing an event stream (a reload: RST_STREAM CANCEL) is how the stream ends: its
/// access log line has no `cut=`. A client resetting with an error code still gets one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_event_stream_is_not_logged_as_cut_but_an_error_reset_is() {
    let dir = small_site();
    let served = Served::start(dir.path(), &[]);
    let conn = served.connect(None).await;
    let open = |path: &'static str| {
        let conn = &conn;
        let url = served.url(path);
        async move {
            let req = http::Request::get(url).body(()).unwrap();
            let mut send = conn.send.clone().ready().await.unwrap();
            let (response, stream) = send.send_request(req, true).unwrap();
            let response = within(Duration::from_secs(5), "the stream's head", response)
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            (response, stream)
        }
    };
    let (response, stream) = open("/.h2push/events?closed").await;
    drop((response, stream)); // h2 sends RST_STREAM(CANCEL)
    let (_response, mut stream) = open("/.h2push/events?broken").await;
    stream.send_reset(h2::Reason::PROTOCOL_ERROR);
    let line = |query: &str| {
        let lines = served.log_lines(&format!("path=/.h2push/events?{query}"));
        lines.first().cloned()
    };
    for _ in 0..50 {
        if line("closed").is_some() && line("broken").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let closed = line("closed").expect("the closed stream is logged");
    assert!(!closed.contains("cut="), "{closed}");
    let broken = line("broken").expect("the reset stream is logged");
    assert!(broken.contains("cut=\"client reset the stream"), "{broken}");
}
