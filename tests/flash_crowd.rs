//! A flash crowd is not an attack: when more clients arrive at once than the server has
//! handshake slots, every client that completes its handshake and sends a request is served;
//! only connections that make no progress (silent, or a handshake dripping past its deadline)
//! are closed, and each closing is counted by reason.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::h1::{tls_config, H1};
use common::{config, small_site, within, TestServer};
use h2push::serve::admission::Refusal;
use http::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Clients in the burst, and handshake slots: many more clients than slots.
const BURST: usize = 150;
const SLOTS: usize = 4;

/// Starts `BURST` clients at once, each connecting and sending one request; returns the
/// statuses (or the error) each got.
async fn burst(server: &TestServer, tls: bool) -> Vec<Result<StatusCode, String>> {
    let addr = server.addr;
    let tls = tls.then(|| tls_config(&server.ca, true));
    let start = Arc::new(tokio::sync::Barrier::new(BURST));
    let clients: Vec<_> = (0..BURST)
        .map(|_| {
            let (tls, start) = (tls.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let client = tokio::spawn(H1::connect(addr, tls))
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                let req = http::Request::get(format!("http://localhost:{}/style.css", addr.port()))
                    .body(())
                    .unwrap();
                let sent = tokio::spawn(async move { client.send(req).await.status });
                sent.await.map_err(|e| format!("request: {e}"))
            })
        })
        .collect();
    let mut results = Vec::new();
    for client in clients {
        results.push(
            within(Duration::from_secs(60), "a burst client", client)
                .await
                .unwrap(),
        );
    }
    results
}

async fn a_burst_larger_than_the_handshake_slots_is_all_served(tls: bool) {
    let dir = small_site();
    let mut cfg = config(dir.path());
    cfg.limits.max_handshakes = SLOTS;
    let server = if tls {
        TestServer::start(cfg).await
    } else {
        TestServer::start_cleartext(cfg).await
    };
    let results = burst(&server, tls).await;
    let served = results.iter().filter(|r| **r == Ok(StatusCode::OK)).count();
    let failed: Vec<_> = results
        .iter()
        .filter(|r| **r != Ok(StatusCode::OK))
        .collect();
    assert_eq!(served, BURST, "failed: {failed:?}");
    for why in [
        Refusal::Silent,
        Refusal::SlowHandshake,
        Refusal::HandshakeTimeout,
    ] {
        assert_eq!(server.state.refusals.count(why), 0, "{why:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_burst_larger_than_the_handshake_slots_is_all_served() {
    a_burst_larger_than_the_handshake_slots_is_all_served(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleartext_burst_larger_than_the_handshake_slots_is_all_served() {
    a_burst_larger_than_the_handshake_slots_is_all_served(false).await;
}

/// Whether the server closed `tcp` (EOF or reset) within `limit`.
async fn closed_within(tcp: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 64];
    loop {
        match tokio::time::timeout(limit, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Connections that drip the start of a ClientHello and stop hold every handshake slot; after
/// the slow-handshake deadline they lose their slots to clients that talk, which are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dripping_handshakes_lose_their_slots_to_clients_that_talk() {
    let dir = small_site();
    let mut cfg = config(dir.path());
    cfg.limits.max_handshakes = SLOTS;
    cfg.limits.handshake_timeout = Duration::from_secs(60);
    let server = TestServer::start(cfg).await;
    let mut drips = Vec::new();
    for _ in 0..SLOTS * 2 {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        // A TLS handshake record header promising 255 bytes, and nothing more.
        tcp.write_all(&[0x16, 0x03, 0x01, 0x00, 0xff])
            .await
            .unwrap();
        drips.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for probe in 0..3 {
        let client = within(
            Duration::from_secs(10),
            "a talking client past the dripping ones",
            H1::connect(server.addr, Some(tls_config(&server.ca, true))),
        )
        .await;
        let req = http::Request::get("/style.css").body(()).unwrap();
        assert_eq!(
            client.send(req).await.status,
            StatusCode::OK,
            "probe {probe}"
        );
    }
    let mut closed = 0;
    for tcp in &mut drips {
        closed += usize::from(closed_within(tcp, Duration::from_millis(500)).await);
    }
    assert!(
        closed >= SLOTS,
        "only {closed} dripping handshakes were evicted"
    );
    assert!(server.state.refusals.count(Refusal::SlowHandshake) >= SLOTS as u64);
    assert_eq!(server.state.refusals.count(Refusal::HandshakeTimeout), 0);
}

/// Connections that never send a byte hold every socket the server keeps; past the
/// idle-handshake deadline they are closed (as many as it takes) for a client that talks, and
/// counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_past_the_deadline_make_room_when_sockets_run_out() {
    let dir = small_site();
    let mut cfg = config(dir.path());
    cfg.limits.max_connections = 4;
    cfg.limits.max_handshakes = SLOTS;
    cfg.limits.admission_queue = 8;
    cfg.limits.handshake_timeout = Duration::from_secs(60);
    let server = TestServer::start(cfg).await;
    let sockets = 4 + SLOTS + 8;
    let mut silent = Vec::new();
    for _ in 0..sockets {
        silent.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let started = std::time::Instant::now();
    let client = within(
        Duration::from_secs(10),
        "a client while silent ones hold every socket",
        H1::connect(server.addr, Some(tls_config(&server.ca, true))),
    )
    .await;
    let req = http::Request::get("/style.css").body(()).unwrap();
    assert_eq!(client.send(req).await.status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "served only once the silent ones were past the deadline ({:?})",
        started.elapsed()
    );
    let mut closed = 0;
    for tcp in &mut silent {
        closed += usize::from(closed_within(tcp, Duration::from_millis(500)).await);
    }
    assert!(closed >= 1, "no silent connection made room");
    let counts: Vec<_> = [
        Refusal::Silent,
        Refusal::HandshakeFailed,
        Refusal::HandshakeTimeout,
    ]
    .map(|why| server.state.refusals.count(why))
    .into();
    assert_eq!(
        counts[0], closed as u64,
        "silent, failed, timed out: {counts:?}"
    );
}

/// Event streams opened at once by more clients than there are handshake slots: each client
/// gets an answer, the cap's worth 200 and the rest 503 with `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_opened_at_once_past_the_cap_get_503_with_retry_after() {
    const CAP: usize = 48;
    const CLIENTS: usize = 60;
    let dir = small_site();
    let mut cfg = config(dir.path());
    cfg.limits.max_handshakes = SLOTS;
    cfg.limits.max_event_streams = CAP;
    let server = Arc::new(TestServer::start_watching(cfg).await);
    let start = Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (server, start) = (server.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let client = server.client().await;
                let req = client
                    .request(Method::GET, "/.h2push/events")
                    .body(())
                    .unwrap();
                let mut send = client.conn.send.clone().ready().await.unwrap();
                let (response, _) = send.send_request(req, true).unwrap();
                let response = response.await.unwrap();
                (client, response)
            })
        })
        .collect();
    let mut open = Vec::new();
    let (mut ok, mut unavailable) = (0, 0);
    for client in clients {
        let (client, response) = within(Duration::from_secs(30), "a feed answer", client)
            .await
            .unwrap();
        match response.status() {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(response.headers()["retry-after"], "5");
                unavailable += 1;
            }
            other => panic!("unexpected {other}"),
        }
        open.push((client, response));
    }
    assert_eq!((ok, unavailable), (CAP, CLIENTS - CAP));
    assert_eq!(
        server.state.refusals.count(Refusal::EventStreamsFull),
        (CLIENTS - CAP) as u64
    );
}
