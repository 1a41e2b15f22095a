//! The change-feed bench's client: opens N clients of one transport (WebSocket over HTTP/1.1 or
//! HTTP/2, SSE over either, the NDJSON stream over either, long-poll), writes files under the
//! served root at a fixed rate, and prints one line of JSON with what it measured: delivery
//! latency from the write, bytes read per event per client, server CPU per 1,000 deliveries,
//! server RSS and fds per client, probe requests served meanwhile, and a reconnect with resume.
//! Run by `bench/feed.sh`, which starts the server; see there for the command.
//!
//! Usage: feed_client ADDR CA_PEM ROOT SERVER_PID TRANSPORT CLIENTS EVENTS INTERVAL_MS

mod client;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::sync::Semaphore;

use client::{client, connect};

/// Bytes read from the wire (TLS records included) by every client, for bytes per event.
static READ: AtomicU64 = AtomicU64::new(0);
/// Handshakes in flight at once while clients open, so the accept queue does not overflow.
const OPENING: usize = 256;

struct Bench {
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    transport: String,
    /// Per event index: when its file was written.
    written: Mutex<Vec<Option<Instant>>>,
    /// (event index, latency) for every delivery.
    got: Mutex<Vec<Duration>>,
    delivered: AtomicUsize,
    ready: AtomicUsize,
    /// The highest event id any client has seen.
    last_id: AtomicU64,
    prefix: String,
}

impl Bench {
    /// Records the events in `text` (JSON objects with `"path"`) as delivered now; returns the
    /// highest id seen.
    fn saw(&self, text: &str, last: &mut u64) {
        let now = Instant::now();
        for part in text.split("{\"id\":").skip(1) {
            let id: u64 = part
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            *last = (*last).max(id);
            self.last_id.fetch_max(id, Relaxed);
            let Some(rest) = part.split(&self.prefix).nth(1) else {
                continue;
            };
            if !part.contains("\"modified\"") {
                continue;
            }
            let k: usize = rest
                .split('.')
                .next()
                .and_then(|d| d.parse().ok())
                .unwrap_or(usize::MAX);
            let at = self.written.lock().unwrap().get(k).copied().flatten();
            if let Some(at) = at {
                self.got.lock().unwrap().push(now - at);
                self.delivered.fetch_add(1, Relaxed);
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 9 {
        bail!(
            "usage: feed_client ADDR CA_PEM ROOT SERVER_PID TRANSPORT CLIENTS EVENTS INTERVAL_MS"
        );
    }
    let addr: SocketAddr = args[1].parse().context("ADDR")?;
    let ca = PathBuf::from(&args[2]);
    let root = PathBuf::from(&args[3]);
    let pid: u32 = args[4].parse().context("SERVER_PID")?;
    let transport = args[5].clone();
    let n: usize = args[6].parse().context("CLIENTS")?;
    let events: usize = args[7].parse().context("EVENTS")?;
    let interval = Duration::from_millis(args[8].parse().context("INTERVAL_MS")?);

    // The files the writer changes, created first so each write is one `modified` event.
    let dir = root.join("feed");
    std::fs::create_dir_all(&dir)?;
    let prefix = format!("{transport}-{n}-");
    let file = |k: usize| dir.join(format!("{prefix}{k}.txt"));
    for k in 0..events + 4 {
        std::fs::write(file(k), "0")?;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;

    let b = Arc::new(Bench {
        addr,
        tls: h2push::tls::client_config(Some(&ca), false)?,
        transport,
        written: Mutex::new(vec![None; events + 4]),
        got: Mutex::new(Vec::new()),
        delivered: AtomicUsize::new(0),
        ready: AtomicUsize::new(0),
        last_id: AtomicU64::new(0),
        prefix: format!("/feed/{prefix}"),
    });
    let idle = proc(pid)?;
    let run_for = interval * events as u32 + Duration::from_secs(20);
    let opening = Arc::new(Semaphore::new(OPENING));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let permit = opening.clone().acquire_owned().await?;
        let (b, failed) = (b.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = client(b, None, Some(permit), run_for).await {
                if failed.fetch_add(1, Relaxed) == 0 {
                    eprintln!("client failed: {e:#}");
                }
            }
        }));
    }
    while b.ready.load(Relaxed) + failed.load(Relaxed) < n {
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "only {} of {n} clients following after 60 s",
                b.ready.load(Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open_ms = started.elapsed().as_secs_f64() * 1e3;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let following = proc(pid)?;

    // The writer, and a probe that fetches a page on its own connection meanwhile.
    let probe = tokio::spawn(probe(
        b.clone(),
        interval * events as u32 + Duration::from_millis(500),
    ));
    let read0 = READ.load(Relaxed);
    let cpu0 = following.cpu_ticks;
    for k in 0..events {
        b.written.lock().unwrap()[k] = Some(Instant::now());
        std::fs::write(file(k), format!("{k}"))?;
        tokio::time::sleep(interval).await;
    }
    let expected = n.saturating_sub(failed.load(Relaxed)) * events;
    let waited = Instant::now();
    while b.delivered.load(Relaxed) < expected && waited.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = proc(pid)?;
    let read = READ.load(Relaxed) - read0;
    let delivered = b.delivered.load(Relaxed);
    let (probes, probe_fail, probe_p99) = probe.await?;

    // A reconnect: a fresh client resumes after the event before the last two writes.
    let mut lat = b.got.lock().unwrap().clone();
    lat.sort();
    let pct = |p: usize| {
        lat.get((lat.len() * p / 100).min(lat.len().saturating_sub(1)))
            .map_or(-1.0, |d| d.as_secs_f64() * 1e3)
    };
    for t in &tasks {
        t.abort();
    }
    let reconnect = reconnect(b.clone(), file(events), file(events + 1)).await;
    let kib = |a: u64, z: u64| (z as f64 - a as f64) / n as f64;
    let tick_ms = 1000.0 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    println!(
        "{{\"transport\":\"{}\",\"clients\":{n},\"failed\":{},\"open_ms\":{open_ms:.0},\"events\":{events},\"delivered\":{delivered},\"expected\":{expected},\"p50_ms\":{:.1},\"p99_ms\":{:.1},\"max_ms\":{:.1},\"bytes_per_event_client\":{:.0},\"cpu_ms_per_1000\":{:.1},\"rss_idle_kib\":{},\"rss_kib\":{},\"rss_per_client_kib\":{:.2},\"fds_idle\":{},\"fds\":{},\"probes\":{probes},\"probe_failed\":{probe_fail},\"probe_p99_ms\":{probe_p99:.1},\"reconnect\":{reconnect}}}",
        b.transport,
        failed.load(Relaxed),
        pct(50),
        pct(99),
        pct(100),
        read as f64 / delivered.max(1) as f64,
        (after.cpu_ticks - cpu0) as f64 * tick_ms * 1000.0 / delivered.max(1) as f64,
        idle.rss_kib,
        following.rss_kib,
        kib(idle.rss_kib, following.rss_kib),
        idle.fds,
        following.fds,
    );
    Ok(())
}

/// GET / every 20 ms on its own HTTP/2 connection: (count, failures, p99 ms).
async fn probe(b: Arc<Bench>, for_: Duration) -> (usize, usize, f64) {
    let mut times = Vec::new();
    let mut failed = 0;
    let end = Instant::now() + for_;
    while Instant::now() < end {
        let t = Instant::now();
        let ok = async {
            let io = connect(&b, b"h2", false).await?;
            let (client, conn) = h2::client::handshake(io).await?;
            tokio::spawn(conn);
            let mut client = client.ready().await?;
            let (r, _) = client.send_request(
                http::Request::get(format!("https://localhost:{}/", b.addr.port())).body(())?,
                true,
            )?;
            let r = tokio::time::timeout(Duration::from_secs(5), r).await??;
            let mut body = r.into_body();
            while let Some(c) = body.data().await {
                let _ = c?;
            }
            anyhow::Ok(())
        }
        .await;
        match ok {
            Ok(()) => times.push(t.elapsed()),
            Err(_) => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    times.sort();
    let p99 = times
        .get(times.len() * 99 / 100)
        .map_or(-1.0, |d| d.as_secs_f64() * 1e3);
    (times.len() + failed, failed, p99)
}

/// With every client gone, write two files, then connect one client resuming from the last id
/// the clients saw: `{"replayed":…, "missed":…, "ms":…}` (ms from connecting to having both).
async fn reconnect(b: Arc<Bench>, f1: PathBuf, f2: PathBuf) -> String {
    let last = b.last_id.load(Relaxed);
    let k1: usize = f1
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .rsplit('-')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    for (k, f) in [(k1, &f1), (k1 + 1, &f2)] {
        b.written.lock().unwrap()[k] = Some(Instant::now());
        let _ = std::fs::write(f, "again");
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let t = Instant::now();
    let mark = b.delivered.load(Relaxed);
    let resumed = tokio::spawn(client(
        b.clone(),
        Some(last),
        None,
        Duration::from_millis(1500),
    ));
    let mut took = -1.0;
    while t.elapsed() < Duration::from_millis(1500) {
        if b.delivered.load(Relaxed) - mark >= 2 {
            took = t.elapsed().as_secs_f64() * 1e3;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let resume = resumed.await.map_err(anyhow::Error::from).and_then(|r| r);
    let replayed = b.delivered.load(Relaxed) - mark;
    format!(
        "{{\"resumed_after\":{last},\"replayed\":{replayed},\"missed\":{},\"ok\":{},\"ms\":{:.0}}}",
        2usize.saturating_sub(replayed),
        resume.is_ok(),
        took
    )
}

struct ProcStat {
    rss_kib: u64,
    fds: usize,
    cpu_ticks: u64,
}

fn proc(pid: u32) -> Result<ProcStat> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kib = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    // After the command name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    let cpu_ticks = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))?.count();
    Ok(ProcStat {
        rss_kib,
        fds,
        cpu_ticks,
    })
}
