//! The reverse proxy (`--proxy`) against a real backend started by the test: a small HTTP/1.1
//! server on loopback that echoes what it received, thinks, or cuts its answer short. Clients
//! are the h2 and HTTP/1.1 test clients and curl.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{Proto, TestServer};
use h2push::proxy::{ProxyConfig, Route};
use http::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A backend: `/echo` answers with the request head it got and the body's length, `/slow`
/// after two seconds, `/cut` sends 10 of 1000 promised bytes and closes. Counts connections.
struct Backend {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Backend {
    async fn start() -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(backend_connection(socket));
            }
        });
        Backend { addr, connections }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn backend_connection(mut socket: TcpStream) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 8192];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        buf.drain(..head_end);
        let mut received = 0u64;
        if let Some(len) = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            received = read_exactly(&mut socket, &mut buf, len).await;
        } else if head.contains("transfer-encoding: chunked") {
            received = read_chunked(&mut socket, &mut buf).await;
        }
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let response = if path.ends_with("/slow") {
            tokio::time::sleep(Duration::from_secs(2)).await;
            ok("slow")
        } else if path.ends_with("/cut") {
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
                .await;
            return;
        } else {
            ok(&format!("{head}body-bytes={received}\n"))
        };
        if socket.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive, x-secret\r\nX-Secret: 1\r\nX-Backend: yes\r\n\r\n{body}",
        body.len()
    )
}

async fn read_exactly(socket: &mut TcpStream, buf: &mut Vec<u8>, len: u64) -> u64 {
    let mut got = buf.len().min(len as usize) as u64;
    buf.drain(..got as usize);
    let mut chunk = vec![0u8; 64 * 1024];
    while got < len {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n as u64,
        }
    }
    got
}

/// Reads a chunked body (sizes and data), giving its data length.
async fn read_chunked(socket: &mut TcpStream, buf: &mut Vec<u8>) -> u64 {
    let mut total = 0;
    loop {
        let line_end = loop {
            if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                break i;
            }
            let mut chunk = [0u8; 8192];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let size = u64::from_str_radix(
            String::from_utf8_lossy(&buf[..line_end])
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap_or(0);
        buf.drain(..line_end + 2);
        if size == 0 {
            read_exactly(socket, buf, 2).await;
            return total;
        }
        total += read_exactly(socket, buf, size + 2).await - 2;
    }
}

async fn server(routes: &[String], first_byte: Duration) -> (TestServer, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("index.html"), "<p>file</p>").unwrap();
    let mut config = common::config(root.path());
    let routes = routes.iter().map(|r| Route::parse(r).unwrap()).collect();
    let mut proxy = ProxyConfig::new(routes);
    proxy.first_byte_timeout = first_byte;
    config.proxy = Some(proxy);
    (TestServer::start(config).await, root)
}

#[tokio::test]
async fn files_first_then_the_backend_with_forwarding_headers_and_no_hop_by_hop() {
    let backend = Backend::start().await;
    let (server, _root) = server(&[backend.url()], Duration::from_secs(5)).await;
    for proto in [Proto::H2, Proto::H1] {
        let client = server.client_over(proto).await;
        let file = client.get("/index.html").await;
        assert_eq!(file.body, b"<p>file</p>", "{proto:?}");

        let mut req = client.request(Method::GET, "/app/echo?x=1");
        if proto == Proto::H1 {
            req = req.header("connection", "x-hop").header("x-hop", "secret");
        }
        let resp = client
            .send(req.header("x-kept", "1").body(()).unwrap())
            .await;
        assert_eq!(resp.status, StatusCode::OK, "{proto:?}");
        let seen = String::from_utf8(resp.body.clone()).unwrap();
        assert!(seen.starts_with("get /app/echo?x=1 http/1.1\r\n"), "{seen}");
        assert!(seen.contains("x-kept: 1"), "{seen}");
        assert!(
            !seen.contains("x-hop"),
            "hop-by-hop header forwarded: {seen}"
        );
        assert!(seen.contains("host: localhost:"), "Host not kept: {seen}");
        assert!(seen.contains("x-forwarded-for: 127.0.0.1"), "{seen}");
        assert!(seen.contains("x-forwarded-proto: https"), "{seen}");
        assert!(
            seen.contains("forwarded: for=127.0.0.1;proto=https;host=localhost:"),
            "{seen}"
        );
        assert_eq!(resp.header("x-backend"), "yes");
        for hop in ["keep-alive", "x-secret", "connection"] {
            assert!(
                !resp.headers.contains_key(hop),
                "{hop} passed back: {:?}",
                resp.headers
            );
        }
    }
    // Sequential requests reuse the kept connection.
    let before = backend.connections.load(Ordering::SeqCst);
    let client = server.client().await;
    for _ in 0..3 {
        assert_eq!(client.get("/again/echo").await.status, StatusCode::OK);
    }
    assert_eq!(
        backend.connections.load(Ordering::SeqCst),
        before,
        "no keep-alive reuse: {} connections",
        backend.connections.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn a_prefix_route_takes_its_paths_even_over_files() {
    let backend = Backend::start().await;
    let (server, _root) = server(
        &[format!("/index.html={}", backend.url())],
        Duration::from_secs(5),
    )
    .await;
    let client = server.client().await;
    let resp = client.get("/index.html").await;
    assert!(String::from_utf8_lossy(&resp.body).starts_with("get /index.html"));
    assert_eq!(client.get("/missing").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn backend_down_is_502_and_slow_is_504() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let backend = Backend::start().await;
    let routes = [format!("/down=http://{closed}"), backend.url()];
    let (server, _root) = server(&routes, Duration::from_millis(300)).await;
    let client = server.client().await;
    let down = client.get("/down/x").await;
    assert_eq!(down.status, StatusCode::BAD_GATEWAY);
    let started = std::time::Instant::now();
    let slow = client.get("/slow").await;
    assert_eq!(slow.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() < Duration::from_millis(1500));
    // Others are still served.
    assert_eq!(client.get("/echo").await.status, StatusCode::OK);
}

fn curl(server: &TestServer, args: &[&str], path: &str) -> std::process::Output {
    Command::new("curl")
        .args(["-sk", "--max-time", "10"])
        .args(args)
        .arg(format!("https://localhost:{}{path}", server.addr.port()))
        .output()
        .expect("curl runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_by_the_backend_is_cut_for_the_client_too() {
    let backend = Backend::start().await;
    let (server, _root) = server(&[backend.url()], Duration::from_secs(5)).await;
    for proto in ["--http2", "--http1.1"] {
        let out = tokio::task::block_in_place(|| curl(&server, &[proto], "/cut"));
        assert_ne!(
            out.status.code(),
            Some(0),
            "{proto}: a cut body looked whole"
        );
        assert!(out.stdout.len() < 1000, "{proto}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_mb_upload_is_streamed_to_the_backend() {
    let backend = Backend::start().await;
    let (server, root) = server(&[backend.url()], Duration::from_secs(5)).await;
    let upload = root.path().join("upload.bin");
    std::fs::write(&upload, vec![7u8; 10 * 1024 * 1024]).unwrap();
    let data = format!("@{}", upload.display());
    for proto in ["--http2", "--http1.1"] {
        let out = tokio::task::block_in_place(|| {
            curl(&server, &[proto, "--data-binary", &data], "/up/echo")
        });
        let body = String::from_utf8_lossy(&out.stdout);
        assert!(body.contains("body-bytes=10485760"), "{proto}: {body}");
        assert!(body.starts_with("post /up/echo"), "{proto}: {body}");
    }
}
