//! The change feed over WebSocket (`/.h2push/ws`) and as an NDJSON stream (`/.h2push/stream`):
//! handshakes on HTTP/1.1 (a tungstenite client) and HTTP/2 (extended CONNECT with the h2
//! client), resume, close 1001 on shutdown, a reader that stops reading is cut, and hostile
//! frames are closed with the code RFC 6455 names.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::Role;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use common::{config, site, TestServer};
use futures_util::StreamExt;
use h2push::events::ws;
use h2push::serve::upgrade::H2Io;
use h2push::serve::State;
use h2push::watch::{ChangeFeed, ChangeKind};
use rustls_pki_types::ServerName;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(5);

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

struct Fixture {
    server: TestServer,
    feed: Arc<ChangeFeed>,
    _root: tempfile::TempDir,
}

async fn fixture(tune: impl FnOnce(&mut h2push::config::Config)) -> Fixture {
    let root = site(&[("index.html", b"<p>hi</p>")]);
    let mut config = config(root.path());
    tune(&mut config);
    let feed = ChangeFeed::detached();
    let server = TestServer::start_with(State::with_changes(config, feed.clone())).await;
    Fixture {
        server,
        feed,
        _root: root,
    }
}

fn publish(feed: &ChangeFeed, paths: &[&str]) {
    feed.publish(paths.iter().map(|p| (p.to_string(), ChangeKind::Modified)));
}

async fn tls(server: &TestServer, alpn: &[u8]) -> Tls {
    let mut config = (*h2push::tls::client_config(Some(&server.ca), false).unwrap()).clone();
    config.alpn_protocols = vec![alpn.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

/// A WebSocket over HTTP/1.1 with tungstenite's client handshake.
async fn ws_h1(server: &TestServer, query: &str) -> WebSocketStream<TokioAdapter<Tls>> {
    let url = format!("wss://localhost:{}/.h2push/ws{query}", server.addr.port());
    let io = tls(server, b"http/1.1").await;
    let (ws, response) = async_tungstenite::client_async(url, TokioAdapter::new(io))
        .await
        .expect("websocket handshake over HTTP/1.1");
    assert_eq!(response.status(), 101);
    ws
}

/// A WebSocket over HTTP/2 with an extended CONNECT (RFC 8441), and the connection's client
/// for more requests beside it.
async fn ws_h2(
    server: &TestServer,
    query: &str,
) -> (
    WebSocketStream<TokioAdapter<H2Io>>,
    h2::client::SendRequest<Bytes>,
) {
    let io = tls(server, b"h2").await;
    let (client, connection) = h2::client::handshake(io).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    // The server's SETTINGS have arrived once a first response has.
    let get = http::Request::get(format!("https://localhost:{}/", server.addr.port()))
        .body(())
        .unwrap();
    let (first, _) = client.send_request(get, true).unwrap();
    tokio::time::timeout(WAIT, first).await.unwrap().unwrap();
    let mut client = client.ready().await.unwrap();
    assert!(
        client.is_extended_connect_protocol_enabled(),
        "SETTINGS_ENABLE_CONNECT_PROTOCOL advertised"
    );
    let request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!(
            "https://localhost:{}/.h2push/ws{query}",
            server.addr.port()
        ))
        .header("sec-websocket-version", "13")
        .extension(h2::ext::Protocol::from_static("websocket"))
        .body(())
        .unwrap();
    let (response, send) = client.send_request(request, false).unwrap();
    let response = tokio::time::timeout(WAIT, response).await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let io = H2Io::new(send, response.into_body());
    let ws = WebSocketStream::from_raw_socket(TokioAdapter::new(io), Role::Client, None).await;
    (ws, client)
}

/// The next text message, as JSON.
async fn next_json<S>(ws: &mut WebSocketStream<S>) -> Value
where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin,
{
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message within 5 s")
            .expect("the session is open")
            .expect("a good frame");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected message {other:?}"),
        }
    }
}

/// Waits until the server has `n` sessions in its event-stream budget.
async fn open_streams(server: &TestServer, n: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.state.event_streams.open() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} event streams open, expected {n}",
            server.state.event_streams.open()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn websocket_over_http1_carries_changes_and_resumes_from_an_id() {
    let f = fixture(|_| {}).await;
    let mut ws = ws_h1(&f.server, "").await;
    open_streams(&f.server, 1).await;
    publish(&f.feed, &["/a.css"]);
    let first = next_json(&mut ws).await;
    assert_eq!(first["id"], 1);
    assert_eq!(first["path"], "/a.css");
    assert_eq!(first["kind"], "modified");
    drop(ws);
    open_streams(&f.server, 0).await;

    publish(&f.feed, &["/b.js", "/c.html"]);
    let mut ws = ws_h1(&f.server, "?last-event-id=1").await;
    assert_eq!(next_json(&mut ws).await["path"], "/b.js");
    assert_eq!(next_json(&mut ws).await["id"], 3);

    let mut ws = ws_h1(&f.server, "?last-event-id=99").await;
    let reset = next_json(&mut ws).await;
    assert_eq!(reset["reset"], true, "{reset}");
    assert_eq!(reset["last_id"], 3);
}

#[tokio::test]
async fn websocket_over_http2_uses_extended_connect_on_the_same_connection() {
    let f = fixture(|_| {}).await;
    let (_, before) = ws::opened();
    let (mut ws, mut client) = ws_h2(&f.server, "").await;
    open_streams(&f.server, 1).await;
    publish(&f.feed, &["/x.css"]);
    let change = next_json(&mut ws).await;
    assert_eq!(
        (change["id"].as_u64(), change["path"].as_str()),
        (Some(1), Some("/x.css"))
    );
    assert!(ws::opened().1 > before, "counted as an HTTP/2 session");

    // The same connection still serves pages while the socket is open.
    let get = http::Request::get(format!("https://localhost:{}/", f.server.addr.port()))
        .body(())
        .unwrap();
    let (response, _) = client.send_request(get, true).unwrap();
    let response = tokio::time::timeout(WAIT, response).await.unwrap().unwrap();
    assert_eq!(response.status(), 200);

    // Resume on HTTP/2 too.
    publish(&f.feed, &["/y.css"]);
    let (mut again, _client) = ws_h2(&f.server, "?last-event-id=1").await;
    assert_eq!(next_json(&mut again).await["path"], "/y.css");
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn sessions_close_with_1001_when_the_server_shuts_down() {
    let f = fixture(|_| {}).await;
    let mut h1 = ws_h1(&f.server, "").await;
    let (mut h2, client) = ws_h2(&f.server, "").await;
    open_streams(&f.server, 2).await;
    f.server.signals.shutdown.cancel();
    f.feed.close();
    assert_eq!(close_code(&mut h1).await, Some(CloseCode::Away), "HTTP/1.1");
    assert_eq!(close_code(&mut h2).await, Some(CloseCode::Away), "HTTP/2");
    open_streams(&f.server, 0).await;
    // The clients go once they have the close frame, and the server then stops.
    drop((h1, h2, client));
    tokio::time::timeout(WAIT, f.server.task)
        .await
        .unwrap()
        .unwrap();
}

async fn close_code<S>(ws: &mut WebSocketStream<S>) -> Option<CloseCode>
where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin,
{
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => continue,
            _ => return None,
        }
    }
}

#[tokio::test]
async fn a_websocket_reader_that_stops_reading_is_cut_and_others_still_get_changes() {
    let f = fixture(|c| c.limits.send_stall_timeout = Duration::from_millis(500)).await;
    // Never read: the stream's 64 KiB window fills and the server cannot send.
    let (_stalled, _client) = ws_h2(&f.server, "").await;
    let mut reader = ws_h1(&f.server, "").await;
    open_streams(&f.server, 2).await;
    let long = format!("/{}", "p".repeat(1000));
    for _ in 0..200 {
        publish(&f.feed, &[long.as_str()]);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    open_streams(&f.server, 1).await;
    let mut seen = 0;
    while seen < 200 {
        let message = next_json(&mut reader).await;
        assert!(message.get("reset").is_none(), "{message}");
        seen += 1;
    }
}

#[tokio::test]
async fn a_plain_get_of_the_websocket_endpoint_is_told_to_upgrade() {
    let f = fixture(|_| {}).await;
    let client = f.server.client().await;
    let response = client.get("/.h2push/ws").await;
    assert_eq!(response.status, 426);
}

#[tokio::test]
async fn websocket_sessions_count_against_the_event_stream_budget() {
    let f = fixture(|c| c.limits.max_event_streams = 1).await;
    let _one = ws_h1(&f.server, "").await;
    let url = format!("wss://localhost:{}/.h2push/ws", f.server.addr.port());
    let io = tls(&f.server, b"http/1.1").await;
    let refused = async_tungstenite::client_async(url, TokioAdapter::new(io)).await;
    match refused {
        Err(async_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
}

/// A raw HTTP/1.1 WebSocket handshake, for sending frames no well-behaved client would.
async fn raw_h1(server: &TestServer) -> Tls {
    let mut io = tls(server, b"http/1.1").await;
    let request = format!(
        "GET /.h2push/ws HTTP/1.1\r\nHost: localhost:{}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        server.addr.port()
    );
    io.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        io.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // RFC 6455's own example key and answer.
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    io
}

/// A client frame: FIN flag, opcode, payload, masked or not.
fn frame(fin: bool, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    if masked {
        let key = [1u8, 2, 3, 4];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// Reads server frames until a close frame; its code.
async fn close_code_raw<IO: AsyncRead + Unpin>(io: &mut IO) -> u16 {
    loop {
        let mut head = [0u8; 2];
        tokio::time::timeout(WAIT, io.read_exact(&mut head))
            .await
            .expect("a frame within 5 s")
            .expect("a close frame before the connection ends");
        assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
        let len = match head[1] & 0x7f {
            126 => io.read_u16().await.unwrap() as usize,
            127 => io.read_u64().await.unwrap() as usize,
            n => n as usize,
        };
        let mut payload = vec![0; len];
        io.read_exact(&mut payload).await.unwrap();
        if head[0] & 0x0f == 0x8 {
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
}

async fn hostile(server: &TestServer, frames: Vec<Vec<u8>>) -> u16 {
    let mut io = raw_h1(server).await;
    for frame in frames {
        // The server may close before it has read everything: later writes may fail.
        if io.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = io.flush().await;
    close_code_raw(&mut io).await
}

#[tokio::test]
async fn hostile_frames_are_closed_with_the_right_code() {
    let f = fixture(|_| {}).await;
    let s = &f.server;
    let unmasked = hostile(s, vec![frame(true, 0x1, b"hello", false)]).await;
    assert_eq!(unmasked, 1002, "unmasked client frame: protocol error");
    let big = vec![b'a'; ws::WS_MAX_CLIENT_MESSAGE + 1];
    let oversized = hostile(s, vec![frame(true, 0x1, &big, true)]).await;
    assert_eq!(oversized, 1009, "oversized message");
    let piece = vec![b'a'; 1000];
    let mut flood = vec![frame(false, 0x1, &piece, true)];
    flood.extend((0..10).map(|_| frame(false, 0x0, &piece, true)));
    assert_eq!(hostile(s, flood).await, 1009, "fragmented flood");
    let bad_utf8 = hostile(s, vec![frame(true, 0x1, &[0xff, 0xfe, 0xfd], true)]).await;
    assert_eq!(bad_utf8, 1007, "bad UTF-8 in a text frame");
    // And the server still serves.
    let mut ws = ws_h1(s, "").await;
    open_streams(s, 1).await;
    publish(&f.feed, &["/ok"]);
    assert_eq!(next_json(&mut ws).await["path"], "/ok");
}

#[tokio::test]
async fn the_ndjson_stream_writes_a_line_per_change_and_resumes() {
    let f = fixture(|_| {}).await;
    publish(&f.feed, &["/one", "/two"]);
    let client = f.server.client().await;
    let request = http::Request::get(format!(
        "https://{}/.h2push/stream?last-event-id=1",
        client.authority
    ))
    .body(())
    .unwrap();
    let mut send = client.conn.send.clone().ready().await.unwrap();
    let (response, _) = send.send_request(request, true).unwrap();
    let response = tokio::time::timeout(WAIT, response).await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let mut body = response.into_body();
    let mut got = Vec::new();
    let mut published = false;
    while got.iter().filter(|&&b| b == b'\n').count() < 2 {
        let chunk = tokio::time::timeout(WAIT, body.data())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        got.extend_from_slice(&chunk);
        if !published {
            publish(&f.feed, &["/three"]);
            published = true;
        }
    }
    let lines: Vec<Value> = std::str::from_utf8(&got)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["path"], "/two");
    assert_eq!(lines[0]["id"], 2);
    assert_eq!(lines[1]["path"], "/three");
}
