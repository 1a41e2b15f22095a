//! Attacks that hold connection slots: TCP connections that never finish a TLS handshake
//! (item 7), and well-behaved but endless event streams (item 8).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use h2push::client;
use http::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::probe::Prober;
use crate::{secs, Report};

/// The first bytes of a TLS ClientHello, dripped one at a time: a record header announcing a
/// 512-byte handshake message, so the server keeps waiting for the rest.
const HELLO_PREFIX: [u8; 11] = [
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
];

#[derive(Debug, Args)]
pub struct IdleFlood {
    /// Connections held open at once
    #[arg(long, default_value_t = 1500)]
    conns: usize,
    /// Send one byte of a ClientHello every this many seconds (0: send nothing)
    #[arg(long, default_value_t = 0.0)]
    drip: f64,
    /// Seconds the flood is held
    #[arg(long, default_value_t = 30.0)]
    hold: f64,
    /// Seconds before a connection the server closed is opened again (0 hammers the server
    /// and mostly measures this client)
    #[arg(long, default_value_t = 1.0)]
    reopen_after: f64,
}

/// Gauges shared by the attacking tasks.
#[derive(Default)]
struct Gauge {
    open: AtomicUsize,
    peak: AtomicUsize,
    closed_by_server: AtomicUsize,
    failed: AtomicUsize,
}

impl Gauge {
    fn opened(&self) {
        let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }
    fn closed(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl IdleFlood {
    pub async fn run(self, prober: &Prober) -> Result<Report> {
        let stop = CancellationToken::new();
        let gauge = Arc::new(Gauge::default());
        let drip = (self.drip > 0.0).then(|| secs(self.drip));
        let reopen_after = secs(self.reopen_after);
        let tasks: Vec<_> = (0..self.conns)
            .map(|_| {
                let (stop, gauge, addr) = (stop.clone(), gauge.clone(), prober.addr);
                tokio::spawn(async move {
                    while !stop.is_cancelled() {
                        tokio::select! {
                            held = hold_idle(addr, drip, &gauge) => {
                                if held.is_err() {
                                    gauge.failed.fetch_add(1, Ordering::SeqCst);
                                }
                                tokio::time::sleep(reopen_after).await;
                            }
                            _ = stop.cancelled() => {}
                        }
                    }
                })
            })
            .collect();
        ramp_up(&gauge.open, self.conns).await;
        eprintln!(
            "idle flood: {} of {} connections open",
            gauge.open.load(Ordering::SeqCst),
            self.conns
        );
        let during = prober.during(secs(self.hold)).await;
        stop.cancel();
        for task in tasks {
            let _ = task.await;
        }
        let after = prober.after().await;
        let note = format!(
            "{} idle connections{}: peak {} open, {} closed by the server and reopened, {} failed to connect",
            self.conns,
            drip.map_or(String::new(), |d| format!(" dripping a byte every {d:?}")),
            gauge.peak.load(Ordering::SeqCst),
            gauge.closed_by_server.load(Ordering::SeqCst),
            gauge.failed.load(Ordering::SeqCst),
        );
        Ok(Report::from_probes(&during, &after, note))
    }
}

/// One idle connection until the server closes it (Ok) or connecting fails (Err).
async fn hold_idle(
    addr: std::net::SocketAddr,
    drip: Option<Duration>,
    gauge: &Gauge,
) -> Result<()> {
    let tcp = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .context("connect timed out")??;
    gauge.opened();
    let (mut read, mut write) = tcp.into_split();
    let mut sent = 0;
    let mut buf = [0u8; 256];
    let mut tick = tokio::time::interval(drip.unwrap_or(Duration::from_secs(3600)));
    tick.tick().await;
    loop {
        tokio::select! {
            n = read.read(&mut buf) => if matches!(n, Ok(0) | Err(_)) { break },
            _ = tick.tick(), if drip.is_some() => {
                let byte = HELLO_PREFIX.get(sent).copied().unwrap_or(0);
                if write.write_all(&[byte]).await.is_err() {
                    break;
                }
                sent += 1;
            }
        }
    }
    gauge.closed();
    gauge.closed_by_server.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// Waits until `open` reaches `target`, or stops growing for two seconds.
async fn ramp_up(open: &AtomicUsize, target: usize) {
    let mut last = 0;
    let mut still = 0;
    while open.load(Ordering::SeqCst) < target && still < 20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = open.load(Ordering::SeqCst);
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
}

#[derive(Debug, Args)]
pub struct SseHold {
    /// Connections, one event stream each
    #[arg(long, default_value_t = 2000)]
    conns: usize,
    /// The event-stream URL path
    #[arg(long, default_value = "/.h2push/events")]
    path: String,
    /// Seconds a connection may take to get its stream's response head
    #[arg(long, default_value_t = 15.0)]
    open_timeout: f64,
    /// Seconds the streams are held once open
    #[arg(long, default_value_t = 20.0)]
    hold: f64,
}

impl SseHold {
    pub async fn run(self, prober: &Prober) -> Result<Report> {
        let stop = CancellationToken::new();
        let gauge = Arc::new(Gauge::default());
        let tasks: Vec<_> = (0..self.conns)
            .map(|_| {
                let (stop, gauge, prober) = (stop.clone(), gauge.clone(), prober.clone());
                let (path, open_timeout) = (self.path.clone(), secs(self.open_timeout));
                tokio::spawn(async move {
                    let stream = tokio::select! {
                        s = tokio::time::timeout(open_timeout, open_events(&prober, &path)) => s,
                        _ = stop.cancelled() => return,
                    };
                    let Ok(Ok(mut body)) = stream else {
                        gauge.failed.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    gauge.opened();
                    loop {
                        tokio::select! {
                            chunk = body.data() => match chunk {
                                Some(Ok(c)) => { let _ = body.flow_control().release_capacity(c.len()); }
                                _ => { gauge.closed_by_server.fetch_add(1, Ordering::SeqCst); break; }
                            },
                            _ = stop.cancelled() => break,
                        }
                    }
                    gauge.closed();
                })
            })
            .collect();
        let settled = async {
            while gauge.open.load(Ordering::SeqCst) + gauge.failed.load(Ordering::SeqCst)
                < self.conns
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let _ = tokio::time::timeout(secs(self.open_timeout), settled).await;
        eprintln!(
            "event streams: {} of {} open",
            gauge.open.load(Ordering::SeqCst),
            self.conns
        );
        let during = prober.during(secs(self.hold)).await;
        stop.cancel();
        for task in tasks {
            let _ = task.await;
        }
        let after = prober.after().await;
        let note = format!(
            "{} of {} event streams opened (peak {} at once), {} ended by the server while held",
            self.conns - gauge.failed.load(Ordering::SeqCst),
            self.conns,
            gauge.peak.load(Ordering::SeqCst),
            gauge.closed_by_server.load(Ordering::SeqCst),
        );
        Ok(Report::from_probes(&during, &after, note))
    }
}

/// A new connection with one event stream on it; the body to read.
async fn open_events(prober: &Prober, path: &str) -> Result<h2::RecvStream> {
    let conn = client::connect(prober.addr, &prober.options).await?;
    let mut send = conn.send.ready().await?;
    let (response, _) = send.send_request(Request::get(prober.url(path)).body(())?, true)?;
    let response = response.await?;
    anyhow::ensure!(response.status() == 200, "status {}", response.status());
    Ok(response.into_body())
}
