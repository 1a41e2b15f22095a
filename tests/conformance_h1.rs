//! HTTP/1.1 message rules that clients and proxies rely on, checked with raw bytes on the
//! cleartext port: `Host` (RFC 9112 §3.2), `Expect: 100-continue` (RFC 9110 §10.1.1) and
//! case-insensitive range units (RFC 9110 §14.1).

mod common;

use std::time::Duration;

use common::{config, small_site, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` as is and returns what the server sent until it closed the connection or
/// went quiet for half a second.
async fn exchange(server: &TestServer, request: &str) -> String {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut buf)).await
    {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

async fn server() -> (TestServer, tempfile::TempDir) {
    let dir = small_site();
    (TestServer::start_cleartext(config(dir.path())).await, dir)
}

#[tokio::test]
async fn an_http11_request_needs_exactly_one_valid_host() {
    let (server, _dir) = server().await;
    let cases = [
        ("GET /style.css HTTP/1.1\r\n\r\n", "400", "no Host"),
        (
            "GET /style.css HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "400",
            "two Host headers",
        ),
        (
            "GET /style.css HTTP/1.1\r\nHost: a b\r\n\r\n",
            "400",
            "a Host that is no authority",
        ),
        (
            "GET /style.css HTTP/1.1\r\nHost: localhost:1\r\n\r\n",
            "200",
            "one Host",
        ),
        (
            "GET /style.css HTTP/1.0\r\n\r\n",
            "200",
            "HTTP/1.0 without Host",
        ),
    ];
    for (request, status, what) in cases {
        let response = exchange(&server, request).await;
        let first = response.lines().next().unwrap_or_default();
        assert!(first.contains(status), "{what}: {first:?}");
    }
}

#[tokio::test]
async fn expect_100_continue_gets_the_final_status_at_once_and_is_told_the_connection_closes() {
    let (server, _dir) = server().await;
    for request in [
        "POST /style.css HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        "GET /style.css HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    ] {
        let response = exchange(&server, request).await;
        let first = response.lines().next().unwrap_or_default();
        let status: u16 = first
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no response to {request:?}: {response:?}"));
        assert!(status == 100 || status >= 200, "{first}");
        if status >= 200 {
            // The body was never asked for: the server must say it will not read it.
            assert!(
                response
                    .to_ascii_lowercase()
                    .contains("\r\nconnection: close\r\n"),
                "{response}"
            );
        }
    }
}

#[tokio::test]
async fn range_units_are_case_insensitive() {
    let (server, _dir) = server().await;
    let response = exchange(
        &server,
        "GET /style.css HTTP/1.1\r\nHost: a\r\nRange: BYTES=0-1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 206"), "{response}");
    assert!(response.ends_with("\r\n\r\np "), "{response}");
}
