//! A loopback TCP proxy that adds latency (and optionally a bandwidth cap) between the page-load
//! client and the server, because on localhost the round trip is ~0 and nothing shows.
//!
//! Each direction is a link of its own: every chunk read is stamped on arrival and released at
//! `arrival + RTT/2` (plus its serialization time when capped), through a queue per direction,
//! so bytes keep their order and a chunk is never held back for a later one.
//!
//! With `initcwnd` set, the server→client direction also behaves like a TCP sender in slow start
//! (RFC 5681 §3.1), because that is what decides how many round trips a page's first bytes take:
//!
//! - a round trip's flight is at most `cwnd` bytes, starting at `initcwnd` segments of
//!   [`MSS`] bytes; bytes past it wait for the next round, one RTT after the flight began (when
//!   its ACKs would be back);
//! - when a round's ACKs are back, `cwnd` grows by the bytes that round carried (so a full
//!   window doubles per round trip, and an application-limited one grows by what it used);
//! - after an idle gap longer than the retransmission timeout ([`rto`]: RTT + 200 ms, Linux's
//!   floor), `cwnd` falls back to `initcwnd` (RFC 5681 §4.1, Linux's `tcp_slow_start_after_idle`);
//! - the bandwidth cap, when set, serializes the flights on top, so once `cwnd` exceeds the
//!   bandwidth-delay product the cap decides.
//!
//! Not modelled: loss and recovery, congestion avoidance (no loss means slow start never
//! ends, which the bandwidth cap makes harmless), delayed ACKs, the receive window, pacing, and
//! the client→server direction (requests are small).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::debug;

mod shape;
pub use shape::{
    parse_bandwidth, rto, slow_start_round_trips, Shape, DEFAULT_INITCWND, MSS, RTO_MIN,
};
use shape::{Direction, Timing};

/// Bytes read from a socket at once: one TLS record and then some.
pub const PROXY_READ_CHUNK: usize = 64 * 1024;

/// Chunks in flight per direction before the proxy stops reading (backpressure):
/// at most `PROXY_QUEUE_CHUNKS × PROXY_READ_CHUNK` bytes are held per direction.
pub const PROXY_QUEUE_CHUNKS: usize = 1024;

/// A running proxy: connect to `addr` to reach the upstream through the emulated path.
pub struct Proxy {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on `listen` (use port 0 for any) and forwards every connection to `upstream`.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr, shape: Shape) -> Result<Proxy> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding the RTT proxy to {listen}"))?;
        let addr = listener.local_addr().context("reading the proxy address")?;
        let task = tokio::spawn(accept_loop(listener, upstream, shape));
        Ok(Proxy { addr, task })
    }

    /// Serves until the process ends (for `compare --proxy-only`).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shape: Shape) {
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                debug!(cause = %err, "proxy accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            let server = match TcpStream::connect(upstream).await {
                Ok(server) => server,
                Err(err) => {
                    debug!(cause = %err, %upstream, %peer, "proxy could not reach the upstream");
                    return;
                }
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            // The two directions run on their own; when both have ended, the sockets close.
            let up = tokio::spawn(link(client_read, server_write, shape.direction(false)));
            let down = tokio::spawn(link(server_read, client_write, shape.direction(true)));
            let _ = tokio::join!(up, down);
        });
    }
}

/// A chunk on its way, or the end of the direction.
enum InFlight {
    Bytes(Instant, Vec<u8>),
    Eof(Instant),
}

/// One direction: read, stamp, queue; a second task releases each chunk at its time.
async fn link(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, direction: Direction) {
    let (tx, mut rx) = mpsc::channel::<InFlight>(PROXY_QUEUE_CHUNKS);
    let writer = tokio::spawn(async move {
        while let Some(item) = rx.recv().await {
            match item {
                InFlight::Bytes(at, bytes) => {
                    tokio::time::sleep_until(at).await;
                    if to.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                InFlight::Eof(at) => {
                    tokio::time::sleep_until(at).await;
                    let _ = to.shutdown().await;
                    return;
                }
            }
        }
    });
    let mut timing = Timing::new(direction);
    let mut buf = vec![0; PROXY_READ_CHUNK];
    let mut pieces = Vec::new();
    'read: loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(InFlight::Eof(timing.end(Instant::now()))).await;
                break;
            }
            Ok(n) => n,
        };
        pieces.clear();
        timing.release(Instant::now(), n, &mut pieces);
        let mut offset = 0;
        for &(at, len) in &pieces {
            let bytes = buf[offset..offset + len].to_vec();
            offset += len;
            if tx.send(InFlight::Bytes(at, bytes)).await.is_err() {
                break 'read;
            }
        }
    }
    let _ = writer.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server behind the proxy.
    async fn echo_through_proxy(shape: Shape) -> (Proxy, JoinHandle<()>) {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = echo.local_addr().unwrap();
        let server = tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), upstream, shape)
            .await
            .unwrap();
        (proxy, server)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ping_pong_takes_one_rtt_and_n_round_trips_take_n_rtts() {
        let rtt = Duration::from_millis(40);
        let (proxy, _server) = echo_through_proxy(Shape {
            rtt,
            ..Shape::default()
        })
        .await;
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = [0u8; 4];
        // One round trip.
        let started = std::time::Instant::now();
        s.write_all(b"ping").await.unwrap();
        s.read_exact(&mut buf).await.unwrap();
        let one = started.elapsed();
        assert_eq!(&buf, b"ping");
        assert!(one >= rtt, "{one:?} < {rtt:?}");
        // One round trip, not two, with room for a busy machine's scheduling (with both cores
        // loaded this took 63.6 ms for the 40 ms round trip, past the 15 ms slack it once had).
        assert!(one < rtt * 2, "{one:?}");
        // Five in a row, each waiting for the last.
        let started = std::time::Instant::now();
        for i in 0..5u8 {
            s.write_all(&[i; 4]).await.unwrap();
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [i; 4]);
        }
        let five = started.elapsed();
        assert!(five >= rtt * 5, "{five:?}");
        assert!(five < rtt * 6, "{five:?}");
    }

    /// Through the real proxy: a megabyte asked for with one byte arrives after as many round
    /// trips as slow start predicts (the request's half RTT, the rounds, the last half RTT).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_megabyte_through_slow_start_takes_the_predicted_round_trips() {
        const BYTES: usize = 1_000_000;
        let rtt = Duration::from_millis(60);
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = server.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = server.accept().await {
                tokio::spawn(async move {
                    let mut ask = [0u8; 1];
                    s.read_exact(&mut ask).await.unwrap();
                    s.write_all(&vec![7u8; BYTES]).await.unwrap();
                });
            }
        });
        let shape = Shape {
            rtt,
            initcwnd: Some(DEFAULT_INITCWND),
            ..Shape::default()
        };
        let proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), upstream, shape)
            .await
            .unwrap();
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut body = vec![0u8; BYTES];
        let started = std::time::Instant::now();
        s.write_all(b"?").await.unwrap();
        s.read_exact(&mut body).await.unwrap();
        let took = started.elapsed();
        let predicted = rtt * slow_start_round_trips(BYTES, DEFAULT_INITCWND);
        assert!(
            took + rtt / 2 >= predicted && took <= predicted + rtt,
            "took {took:?}, slow start predicts {predicted:?} (±1 RTT = {rtt:?})"
        );
        // Without slow start the same transfer is one round trip.
        let flat = Proxy::start(
            "127.0.0.1:0".parse().unwrap(),
            upstream,
            Shape {
                rtt,
                ..Shape::default()
            },
        )
        .await
        .unwrap();
        let mut s = TcpStream::connect(flat.addr).await.unwrap();
        let started = std::time::Instant::now();
        s.write_all(b"?").await.unwrap();
        s.read_exact(&mut body).await.unwrap();
        assert!(started.elapsed() < rtt * 2, "{:?}", started.elapsed());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bytes_keep_their_order_under_load() {
        let (proxy, _server) = echo_through_proxy(Shape {
            rtt: Duration::from_millis(10),
            initcwnd: Some(DEFAULT_INITCWND),
            ..Shape::default()
        })
        .await;
        let s = TcpStream::connect(proxy.addr).await.unwrap();
        let (mut r, mut w) = s.into_split();
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            for piece in sent.chunks(7_919) {
                w.write_all(piece).await.unwrap();
            }
            w.shutdown().await.unwrap();
        });
        let mut back = Vec::new();
        r.read_to_end(&mut back).await.unwrap();
        writer.await.unwrap();
        assert!(back == data, "bytes changed or reordered");
    }
}
