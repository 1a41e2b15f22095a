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

/// Bytes read from a socket at once: one TLS record and then some.
pub const PROXY_READ_CHUNK: usize = 64 * 1024;

/// Chunks in flight per direction before the proxy stops reading (backpressure):
/// at most `PROXY_QUEUE_CHUNKS × PROXY_READ_CHUNK` bytes are held per direction.
pub const PROXY_QUEUE_CHUNKS: usize = 1024;

/// Bytes per TCP segment in the slow-start model: a 1,500-byte MTU less the IP and TCP headers
/// and the timestamp option, as on a typical Ethernet path.
pub const MSS: usize = 1448;

/// `--initcwnd` default: Linux's and RFC 6928's initial window, 10 segments.
pub const DEFAULT_INITCWND: u32 = 10;

/// Linux's floor for the retransmission timeout (`TCP_RTO_MIN`).
pub const RTO_MIN: Duration = Duration::from_millis(200);

/// The retransmission timeout of a path with a steady `rtt`: Linux computes SRTT plus
/// `max(4 × RTTVAR, TCP_RTO_MIN)`, and with a steady RTT the variance term is the floor.
pub fn rto(rtt: Duration) -> Duration {
    rtt + RTO_MIN
}

/// What the emulated path looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    /// Round-trip time added: each direction is delayed by half of it.
    pub rtt: Duration,
    /// Bits per second the server→client direction carries; `None` is unlimited.
    pub down: Option<u64>,
    /// Bits per second the client→server direction carries; `None` is unlimited.
    pub up: Option<u64>,
    /// TCP slow start on the server→client direction, from this many segments; `None` is off.
    pub initcwnd: Option<u32>,
}

impl Shape {
    fn one_way(&self) -> Duration {
        self.rtt / 2
    }

    /// The same path, one direction of it.
    fn direction(&self, downstream: bool) -> Direction {
        Direction {
            one_way: self.one_way(),
            bandwidth: if downstream { self.down } else { self.up },
            window: match (downstream, self.initcwnd) {
                (true, Some(segments)) if segments > 0 => {
                    Some(Window::new(segments as usize * MSS, self.rtt))
                }
                _ => None,
            },
        }
    }

    /// One line for logs and reports: `RTT 100ms, 10.0/5.0 Mbit/s, slow start from 10 segments`.
    pub fn describe(&self) -> String {
        let mut out = format!("RTT {:?}", self.rtt);
        let mbit = |b: u64| format!("{:.1}", b as f64 / 1e6);
        match (self.down, self.up) {
            (Some(d), Some(u)) if d == u => out += &format!(", {} Mbit/s each way", mbit(d)),
            (Some(d), Some(u)) => out += &format!(", {}/{} Mbit/s down/up", mbit(d), mbit(u)),
            (Some(d), None) => out += &format!(", {} Mbit/s down", mbit(d)),
            (None, Some(u)) => out += &format!(", {} Mbit/s up", mbit(u)),
            (None, None) => {}
        }
        if let Some(segments) = self.initcwnd {
            out += &format!(", slow start from {segments} segments");
        }
        out
    }
}

/// Round trips slow start needs to deliver `bytes` from `initcwnd` segments when the window
/// doubles every round and nothing else limits it: the smallest `k` with
/// `initcwnd × MSS × (2^k − 1) ≥ bytes`.
pub fn slow_start_round_trips(bytes: usize, initcwnd: u32) -> u32 {
    let first = (initcwnd as usize * MSS).max(1);
    let mut carried = 0usize;
    let mut rounds = 0;
    while carried < bytes {
        carried += first << rounds.min(40);
        rounds += 1;
    }
    rounds
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

/// One direction of the emulated path.
#[derive(Debug, Clone, Copy)]
struct Direction {
    one_way: Duration,
    bandwidth: Option<u64>,
    window: Option<Window>,
}

/// The slow-start sender of the module docs: how many bytes may leave in the current round.
#[derive(Debug, Clone, Copy)]
struct Window {
    initial: usize,
    cwnd: usize,
    rtt: Duration,
    /// When the current round's flight began; `None` before the first byte.
    round_start: Option<Instant>,
    /// Bytes sent in the current round.
    in_round: usize,
    /// When the last byte left, for the idle restart.
    last_sent: Option<Instant>,
}

impl Window {
    fn new(initial: usize, rtt: Duration) -> Self {
        Window {
            initial,
            cwnd: initial,
            rtt,
            round_start: None,
            in_round: 0,
            last_sent: None,
        }
    }

    /// Splits `len` bytes handed over at `at` into `(earliest departure, bytes)` pieces, each
    /// inside one round's window.
    fn split(&mut self, at: Instant, mut len: usize, out: &mut Vec<(Instant, usize)>) {
        if let Some(last) = self.last_sent {
            if at > last + rto(self.rtt) {
                self.cwnd = self.cwnd.min(self.initial);
                self.round_start = None;
            }
        }
        while len > 0 {
            let start = match self.round_start {
                None => self.begin_round(at),
                // The last flight's ACKs are back: a new round starts now.
                Some(began) if at >= began + self.rtt => self.next_round(at),
                Some(began) if self.in_round < self.cwnd => at.max(began),
                // The window is full: the rest waits for the ACKs of this flight.
                Some(began) => self.next_round(began + self.rtt),
            };
            let n = (self.cwnd - self.in_round).min(len);
            self.in_round += n;
            len -= n;
            out.push((start, n));
            self.last_sent = Some(start);
        }
    }

    fn begin_round(&mut self, at: Instant) -> Instant {
        self.round_start = Some(at);
        self.in_round = 0;
        at
    }

    fn next_round(&mut self, at: Instant) -> Instant {
        self.cwnd += self.in_round;
        self.begin_round(at)
    }
}

/// When each chunk leaves the emulated link: cut into rounds by the slow-start window (when
/// on), serialized one after the other at the bandwidth, then delayed by the one-way latency.
/// Release times never go backwards, so order is kept.
#[derive(Debug)]
struct Timing {
    direction: Direction,
    /// When the link finishes sending what it has been given so far.
    link_free: Option<Instant>,
    /// The latest release time handed out.
    last: Option<Instant>,
}

impl Timing {
    fn new(direction: Direction) -> Self {
        Timing {
            direction,
            link_free: None,
            last: None,
        }
    }

    /// Appends to `out` when each piece of `len` bytes that arrived at `arrival` is released.
    fn release(&mut self, arrival: Instant, len: usize, out: &mut Vec<(Instant, usize)>) {
        let first = out.len();
        match &mut self.direction.window {
            Some(window) => window.split(arrival, len, out),
            None => out.push((arrival, len)),
        }
        for piece in &mut out[first..] {
            let sent = self.serialize(piece.0, piece.1);
            let at = (sent + self.direction.one_way).max(self.last.unwrap_or(sent));
            self.last = Some(at);
            piece.0 = at;
        }
    }

    /// When the end of the stream reaches the other side: after everything before it.
    fn end(&mut self, arrival: Instant) -> Instant {
        let at = arrival + self.direction.one_way;
        at.max(self.last.unwrap_or(at))
    }

    /// When `len` bytes that may leave at `ready` have been put on the wire.
    fn serialize(&mut self, ready: Instant, len: usize) -> Instant {
        match self.direction.bandwidth {
            Some(bits_per_second) if bits_per_second > 0 => {
                let start = self.link_free.map_or(ready, |free| free.max(ready));
                let secs = (len as f64 * 8.0) / bits_per_second as f64;
                let done = start + Duration::from_secs_f64(secs);
                self.link_free = Some(done);
                done
            }
            _ => ready,
        }
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

    fn timing(rtt_ms: u64, bandwidth: Option<u64>, initcwnd: Option<u32>) -> Timing {
        let shape = Shape {
            rtt: Duration::from_millis(rtt_ms),
            down: bandwidth,
            up: bandwidth,
            initcwnd,
        };
        Timing::new(shape.direction(true))
    }

    fn release(t: &mut Timing, at: Instant, len: usize) -> Vec<(Instant, usize)> {
        let mut out = Vec::new();
        t.release(at, len, &mut out);
        out
    }

    #[test]
    fn release_times_are_arrival_plus_half_rtt_and_never_go_back() {
        let mut t = timing(100, None, None);
        let t0 = Instant::now();
        assert_eq!(
            release(&mut t, t0, 10),
            [(t0 + Duration::from_millis(50), 10)]
        );
        let later = t0 + Duration::from_millis(7);
        assert_eq!(
            release(&mut t, later, 10),
            [(later + Duration::from_millis(50), 10)]
        );
    }

    #[test]
    fn a_bandwidth_cap_serializes_chunks() {
        // 8 kbit/s: 1,000 bytes take one second on the wire.
        let mut t = timing(0, Some(8_000), None);
        let t0 = Instant::now();
        assert_eq!(release(&mut t, t0, 1000)[0].0, t0 + Duration::from_secs(1));
        // Arrives while the first is still being sent: waits for it.
        assert_eq!(
            release(&mut t, t0 + Duration::from_millis(10), 500)[0].0,
            t0 + Duration::from_millis(1500)
        );
        // Arrives after the link went idle: starts at once.
        let idle = t0 + Duration::from_secs(3);
        assert_eq!(
            release(&mut t, idle, 1000)[0].0,
            idle + Duration::from_secs(1)
        );
    }

    #[test]
    fn the_formula_counts_doubling_windows() {
        // 10 segments: 14,480 bytes, then 28,960, 57,920, … 7 rounds carry 1,839,... bytes.
        assert_eq!(slow_start_round_trips(1, 10), 1);
        assert_eq!(slow_start_round_trips(10 * MSS, 10), 1);
        assert_eq!(slow_start_round_trips(10 * MSS + 1, 10), 2);
        assert_eq!(slow_start_round_trips(1_000_000, 10), 7);
        assert_eq!(slow_start_round_trips(1_000_000, 4), 8);
        assert_eq!(slow_start_round_trips(0, 10), 0);
    }

    /// A megabyte handed over at once leaves in rounds one RTT apart, as the formula says.
    #[test]
    fn slow_start_releases_a_window_per_round_trip() {
        let mut t = timing(100, None, Some(10));
        let t0 = Instant::now();
        let pieces = release(&mut t, t0, 1_000_000);
        let rounds = slow_start_round_trips(1_000_000, 10);
        assert_eq!(pieces.len(), rounds as usize);
        for (k, &(at, len)) in pieces.iter().enumerate() {
            assert_eq!(
                at,
                t0 + Duration::from_millis(50 + 100 * k as u64),
                "round {k}"
            );
            let window = (10 * MSS) << k;
            assert!(len == window || k + 1 == pieces.len(), "round {k}: {len}");
        }
        assert_eq!(pieces.iter().map(|p| p.1).sum::<usize>(), 1_000_000);
    }

    #[test]
    fn an_idle_connection_restarts_from_the_initial_window() {
        let mut t = timing(100, None, Some(10));
        let t0 = Instant::now();
        // Grow the window: three full rounds.
        release(&mut t, t0, 7 * 10 * MSS);
        // A short pause (less than the RTO, 300 ms): the grown window (80 segments) is kept.
        let soon = t0 + Duration::from_millis(400);
        assert_eq!(release(&mut t, soon, 80 * MSS).len(), 1);
        // A long one: back to 10 segments.
        let later = soon + Duration::from_secs(2);
        assert_eq!(release(&mut t, later, 80 * MSS).len(), 4);
    }

    #[test]
    fn chunks_arriving_within_a_round_share_its_window() {
        let mut t = timing(100, None, Some(10));
        let t0 = Instant::now();
        let a = release(&mut t, t0, 6 * MSS);
        let b = release(&mut t, t0 + Duration::from_millis(5), 6 * MSS);
        assert_eq!(a, [(t0 + Duration::from_millis(50), 6 * MSS)]);
        // 4 segments still fit this round (sent as they arrive); 2 wait for the next.
        assert_eq!(
            b,
            [
                (t0 + Duration::from_millis(55), 4 * MSS),
                (t0 + Duration::from_millis(150), 2 * MSS)
            ]
        );
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
