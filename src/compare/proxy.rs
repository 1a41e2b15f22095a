//! A loopback TCP proxy that adds latency (and optionally a bandwidth cap) between the page-load
//! client and the server, because on localhost the round trip is ~0 and nothing shows.
//!
//! Each direction is a link of its own: every chunk read is stamped on arrival and released at
//! `arrival + RTT/2` (plus its serialization time when capped), through a queue per direction,
//! so bytes keep their order and a chunk is never held back for a later one. The proxy does not
//! emulate TCP itself (slow start, loss): the emulated path is a fixed-delay pipe.

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

/// Bytes read from a socket at once: one TLS record and then some.
pub const PROXY_READ_CHUNK: usize = 64 * 1024;

/// Chunks in flight per direction before the proxy stops reading (backpressure):
/// at most `PROXY_QUEUE_CHUNKS × PROXY_READ_CHUNK` bytes are held per direction.
pub const PROXY_QUEUE_CHUNKS: usize = 1024;

/// What the emulated path looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    /// Round-trip time added: each direction is delayed by half of it.
    pub rtt: Duration,
    /// Bits per second each direction carries; `None` is unlimited.
    pub bandwidth: Option<u64>,
}

impl Shape {
    fn one_way(&self) -> Duration {
        self.rtt / 2
    }
}

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
            let up = tokio::spawn(link(client_read, server_write, shape));
            let down = tokio::spawn(link(server_read, client_write, shape));
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
async fn link(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, shape: Shape) {
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
    let mut timing = Timing::new(shape);
    let mut buf = vec![0; PROXY_READ_CHUNK];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx
                    .send(InFlight::Eof(timing.release(Instant::now(), 0)))
                    .await;
                break;
            }
            Ok(n) => n,
        };
        let at = timing.release(Instant::now(), n);
        if tx
            .send(InFlight::Bytes(at, buf[..n].to_vec()))
            .await
            .is_err()
        {
            break;
        }
    }
    let _ = writer.await;
}

/// When each chunk leaves the emulated link: serialized one after the other at the bandwidth,
/// then delayed by the one-way latency. Release times never go backwards, so order is kept.
#[derive(Debug)]
struct Timing {
    shape: Shape,
    /// When the link finishes sending what it has been given so far.
    link_free: Option<Instant>,
}

impl Timing {
    fn new(shape: Shape) -> Self {
        Timing {
            shape,
            link_free: None,
        }
    }

    fn release(&mut self, arrival: Instant, len: usize) -> Instant {
        let sent = match self.shape.bandwidth {
            Some(bits_per_second) if bits_per_second > 0 => {
                let start = self.link_free.map_or(arrival, |free| free.max(arrival));
                let secs = (len as f64 * 8.0) / bits_per_second as f64;
                let done = start + Duration::from_secs_f64(secs);
                self.link_free = Some(done);
                done
            }
            _ => arrival,
        };
        sent + self.shape.one_way()
    }
}

/// Parses a bandwidth: `10mbit`, `512kbit`, `1gbit`, `100000bit` (bits per second), or with a
/// `bps` suffix; bytes as `5mbyte`/`5MB`.
pub fn parse_bandwidth(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a bandwidth (try 10mbit)"))?;
    let unit = unit.trim();
    let bits = match unit {
        "bit" | "bps" | "" => 1.0,
        "kbit" | "kbps" => 1e3,
        "mbit" | "mbps" | "Mbit" | "Mbps" => 1e6,
        "gbit" | "gbps" | "Gbit" | "Gbps" => 1e9,
        "kB" | "KB" | "kbyte" => 8e3,
        "MB" | "mbyte" => 8e6,
        "GB" | "gbyte" => 8e9,
        _ => {
            return Err(format!(
                "`{s}`: unknown unit `{unit}` (use kbit, mbit, gbit, kB or MB)"
            ))
        }
    };
    let value = n * bits;
    if !(value.is_finite() && value >= 1.0) {
        return Err(format!("`{s}`: bandwidth must be at least 1 bit/s"));
    }
    Ok(value as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_times_are_arrival_plus_half_rtt_and_never_go_back() {
        let rtt = Duration::from_millis(100);
        let mut t = Timing::new(Shape {
            rtt,
            bandwidth: None,
        });
        let t0 = Instant::now();
        assert_eq!(t.release(t0, 10), t0 + Duration::from_millis(50));
        let later = t0 + Duration::from_millis(7);
        assert_eq!(t.release(later, 10), later + Duration::from_millis(50));
    }

    #[test]
    fn a_bandwidth_cap_serializes_chunks() {
        // 8 kbit/s: 1,000 bytes take one second on the wire.
        let mut t = Timing::new(Shape {
            rtt: Duration::ZERO,
            bandwidth: Some(8_000),
        });
        let t0 = Instant::now();
        assert_eq!(t.release(t0, 1000), t0 + Duration::from_secs(1));
        // Arrives while the first is still being sent: waits for it.
        assert_eq!(
            t.release(t0 + Duration::from_millis(10), 500),
            t0 + Duration::from_millis(1500)
        );
        // Arrives after the link went idle: starts at once.
        let idle = t0 + Duration::from_secs(3);
        assert_eq!(t.release(idle, 1000), idle + Duration::from_secs(1));
    }

    #[test]
    fn bandwidths_parse() {
        assert_eq!(parse_bandwidth("10mbit"), Ok(10_000_000));
        assert_eq!(parse_bandwidth("512kbit"), Ok(512_000));
        assert_eq!(parse_bandwidth("1.5Mbps"), Ok(1_500_000));
        assert_eq!(parse_bandwidth("2MB"), Ok(16_000_000));
        assert!(parse_bandwidth("fast").is_err());
        assert!(parse_bandwidth("10 furlongs").is_err());
        assert!(parse_bandwidth("0mbit").is_err());
    }

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
            bandwidth: None,
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
        assert!(one < rtt + Duration::from_millis(15), "{one:?}");
        // Five in a row, each waiting for the last.
        let started = std::time::Instant::now();
        for i in 0..5u8 {
            s.write_all(&[i; 4]).await.unwrap();
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [i; 4]);
        }
        let five = started.elapsed();
        assert!(five >= rtt * 5, "{five:?}");
        assert!(five < rtt * 5 + Duration::from_millis(40), "{five:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bytes_keep_their_order_under_load() {
        let (proxy, _server) = echo_through_proxy(Shape {
            rtt: Duration::from_millis(10),
            bandwidth: None,
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
