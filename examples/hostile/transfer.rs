//! Attacks on what happens to a transfer and what the log says about it: slow downloads
//! through a graceful stop (item 10), a download the client resets and one whose file shrinks
//! on disk (item 11). The log side is read by `bench/hostile.sh`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use h2push::client;
use http::Request;
use tokio_util::sync::CancellationToken;

use crate::probe::Prober;
use crate::throttle::Throttle;
use crate::{raw, secs, Report};

/// How a download ended.
#[derive(Debug)]
enum End {
    /// END_STREAM after every byte the content-length announced.
    Complete,
    /// Stopped short; why.
    Cut(String),
    /// Still running when the attack's time was up.
    Unfinished,
}

/// One download as the client saw it.
#[derive(Debug)]
struct Download {
    expected: u64,
    received: u64,
    end: End,
}

impl Download {
    fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.received)
    }
}

/// An open GET: the stream to reset and the body to read, with its announced length.
struct Get {
    send: h2::SendStream<bytes::Bytes>,
    body: h2::RecvStream,
    expected: u64,
    /// Bytes received whose window was not given back yet.
    pending: usize,
    _conn: client::Connection,
}

async fn get(prober: &Prober, path: &str) -> Result<Get> {
    let conn = client::connect(prober.addr, &prober.options).await?;
    request(conn, prober, path).await
}

/// A GET on a connection whose socket is read at `rate` bytes per second, with `window`-byte
/// HTTP/2 windows given back as the body arrives: what `curl --limit-rate` does. Its
/// WINDOW_UPDATEs keep coming until the last byte, as a real client's do.
async fn get_throttled(prober: &Prober, path: &str, rate: f64, window: u32) -> Result<Get> {
    let tcp = tokio::net::TcpStream::connect(prober.addr).await?;
    tcp.set_nodelay(true)?;
    let options = client::ConnectOptions {
        stream_window: Some(window),
        connection_window: Some(window),
        ..prober.options.clone()
    };
    let conn = client::connect_over(Throttle::new(tcp, rate), &options).await?;
    request(conn, prober, path).await
}

async fn request(conn: client::Connection, prober: &Prober, path: &str) -> Result<Get> {
    let mut send_request = conn.send.clone().ready().await?;
    let (response, send) =
        send_request.send_request(Request::get(prober.url(path)).body(())?, true)?;
    let response = response.await.context("response head")?;
    if response.status() != 200 {
        bail!("status {}", response.status());
    }
    let expected = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .context("no content-length")?;
    Ok(Get {
        send,
        body: response.into_body(),
        expected,
        pending: 0,
        _conn: conn,
    })
}

impl Get {
    fn release_pending(&mut self) {
        let _ = self.body.flow_control().release_capacity(self.pending);
        self.pending = 0;
    }

    /// Reads the body until it ends, fails, `until` bytes have arrived (the last chunk's
    /// window is then not yet given back), or `stop`.
    async fn read(
        &mut self,
        received: &mut u64,
        until: Option<u64>,
        stop: &CancellationToken,
    ) -> End {
        loop {
            let chunk = tokio::select! {
                chunk = self.body.data() => chunk,
                _ = stop.cancelled() => return End::Unfinished,
            };
            let chunk = match chunk {
                None if *received == self.expected => return End::Complete,
                None => return End::Cut("END_STREAM before content-length".into()),
                Some(Err(err)) => return End::Cut(err.to_string()),
                Some(Ok(chunk)) => chunk,
            };
            *received += chunk.len() as u64;
            if until.is_some_and(|u| *received >= u) {
                self.pending = chunk.len();
                return End::Unfinished;
            }
            let _ = self.body.flow_control().release_capacity(chunk.len());
        }
    }
}

#[derive(Debug, Args)]
pub struct Shutdown {
    /// Concurrent downloads, one connection each
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// The file they download
    #[arg(long, default_value = "/big.bin")]
    path: String,
    /// Each client reads its socket at this many MiB per second
    #[arg(long, default_value_t = 1.0)]
    rate_mib: f64,
    /// Each client's HTTP/2 stream and connection window, in KiB: it sends a WINDOW_UPDATE
    /// whenever half of it has been read
    #[arg(long, default_value_t = 1024)]
    window_kib: u32,
    /// The server's process id, for the signal and for telling when it exited
    #[arg(long)]
    pid: i32,
    /// The server's graceful-stop signal: TERM (h2push, h2o) or QUIT (nginx)
    #[arg(long, default_value = "TERM")]
    signal: String,
    /// Seconds after the downloads start that the signal is sent
    #[arg(long, default_value_t = 5.0)]
    signal_after: f64,
    /// Seconds after the signal that the attack gives up waiting
    #[arg(long, default_value_t = 180.0)]
    max_wait: f64,
}

impl Shutdown {
    pub async fn run(self, prober: &Prober) -> Result<Report> {
        let signal = match self.signal.as_str() {
            "TERM" => libc::SIGTERM,
            "QUIT" => libc::SIGQUIT,
            "INT" => libc::SIGINT,
            other => bail!("--signal {other}: TERM, QUIT or INT"),
        };
        let stop = CancellationToken::new();
        let started = Arc::new(AtomicUsize::new(0));
        let rate = self.rate_mib * 1024.0 * 1024.0;
        let window = (self.window_kib.saturating_mul(1024)).min(raw::MAX_WINDOW);
        let t0 = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..self.clients)
            .map(|_| {
                let (prober, path, stop, started) = (
                    prober.clone(),
                    self.path.clone(),
                    stop.clone(),
                    started.clone(),
                );
                tokio::spawn(async move {
                    let mut get = match get_throttled(&prober, &path, rate, window).await {
                        Ok(get) => get,
                        Err(err) => {
                            let end = End::Cut(format!("not started: {err:#}"));
                            return Download {
                                expected: 0,
                                received: 0,
                                end,
                            };
                        }
                    };
                    started.fetch_add(1, Ordering::SeqCst);
                    let mut received = 0;
                    let end = get.read(&mut received, None, &stop).await;
                    Download {
                        expected: get.expected,
                        received,
                        end,
                    }
                })
            })
            .collect();
        tokio::time::sleep_until(t0 + secs(self.signal_after)).await;
        eprintln!(
            "shutdown: {} of {} downloads running; sending SIG{}",
            started.load(Ordering::SeqCst),
            self.clients,
            self.signal
        );
        // SAFETY: kill(2) with a pid and a signal number has no memory effects.
        if unsafe { libc::kill(self.pid, signal) } != 0 {
            bail!("kill {}: {}", self.pid, std::io::Error::last_os_error());
        }
        let signalled = Instant::now();
        let exited = tokio::spawn(exit_of(self.pid, secs(self.max_wait)));
        let deadline = tokio::spawn({
            let (stop, wait) = (stop.clone(), secs(self.max_wait));
            async move {
                tokio::time::sleep(wait).await;
                stop.cancel();
            }
        });
        let mut downloads = Vec::new();
        for task in tasks {
            downloads.push(task.await?);
        }
        deadline.abort();
        let exited = exited.await?.map(|at| at.duration_since(signalled));
        Ok(self.report(&downloads, exited))
    }

    fn report(&self, downloads: &[Download], exited: Option<Duration>) -> Report {
        let complete = downloads
            .iter()
            .filter(|d| matches!(d.end, End::Complete))
            .count();
        let unfinished = downloads
            .iter()
            .filter(|d| matches!(d.end, End::Unfinished))
            .count();
        let cut: Vec<&Download> = downloads
            .iter()
            .filter(|d| matches!(d.end, End::Cut(_)))
            .collect();
        let lost: u64 = downloads.iter().map(Download::lost).sum();
        let delivered: u64 = downloads.iter().map(|d| d.received).sum();
        let mut reasons: Vec<String> = cut
            .iter()
            .filter_map(|d| match &d.end {
                End::Cut(why) => Some(why.clone()),
                _ => None,
            })
            .collect();
        reasons.sort();
        reasons.dedup();
        let exit = match exited {
            Some(t) => format!("{:.1}s", t.as_secs_f64()),
            None => format!("alive>{:.0}s", self.max_wait),
        };
        Report {
            during: format!("{complete}/{}", downloads.len()),
            after: "-".into(),
            answer: exit,
            lost: mib(lost),
            extra: vec![("delivered", delivered.to_string()), ("complete", complete.to_string())],
            note: format!(
                "{} downloads of {} at {} MiB/s, SIG{} after {} s: {complete} complete, {} cut, {unfinished} unfinished at {} s; cut by: {}",
                downloads.len(),
                self.path,
                self.rate_mib,
                self.signal,
                self.signal_after,
                cut.len(),
                self.max_wait,
                if reasons.is_empty() { "-".into() } else { reasons.join(" | ") }
            ),
        }
    }
}

/// When process `pid` ended (gone, or a zombie waiting for its parent), if within `wait`.
async fn exit_of(pid: i32, wait: Duration) -> Option<Instant> {
    let started = Instant::now();
    while started.elapsed() < wait {
        let gone = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // The state is the field after the parenthesised command name.
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
        };
        if gone {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Bytes for the table: exact below 1 MiB, so a small loss does not read as none.
fn mib(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{bytes}B")
    } else {
        format!("{:.1}MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

#[derive(Debug, Args)]
pub struct CutLog {
    /// The file the client resets mid-download
    #[arg(long, default_value = "/abort.bin")]
    abort_path: String,
    /// Bytes received before the RST_STREAM(CANCEL)
    #[arg(long, default_value_t = 1 << 20)]
    abort_after: u64,
    /// The file that shrinks on disk mid-download (URL path)
    #[arg(long, default_value = "/shrink.bin")]
    shrink_path: String,
    /// The same file on disk
    #[arg(long)]
    shrink_file: PathBuf,
    /// Bytes received before the file is truncated
    #[arg(long, default_value_t = 1 << 20)]
    shrink_after: u64,
    /// The size it is truncated to
    #[arg(long, default_value_t = 4 << 20)]
    shrink_to: u64,
}

impl CutLog {
    pub async fn run(self, prober: &Prober) -> Result<Report> {
        let never = CancellationToken::new();
        let timeout = Duration::from_secs(20);

        let mut abort = get(prober, &self.abort_path).await?;
        let mut abort_got = 0;
        let _ = tokio::time::timeout(
            timeout,
            abort.read(&mut abort_got, Some(self.abort_after), &never),
        )
        .await;
        abort.send.send_reset(h2::Reason::CANCEL);
        // Give the server time to see the reset and log before the connection goes.
        tokio::time::sleep(Duration::from_secs(1)).await;
        drop(abort);
        eprintln!("cut-log: reset {} after {abort_got} bytes", self.abort_path);

        let mut shrink = get(prober, &self.shrink_path).await?;
        let mut shrink_got = 0;
        let _ = tokio::time::timeout(
            timeout,
            shrink.read(&mut shrink_got, Some(self.shrink_after), &never),
        )
        .await;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.shrink_file)
            .and_then(|f| f.set_len(self.shrink_to))
            .with_context(|| format!("truncating {}", self.shrink_file.display()))?;
        shrink.release_pending();
        let end =
            match tokio::time::timeout(timeout, shrink.read(&mut shrink_got, None, &never)).await {
                Ok(End::Complete) => "complete".to_string(),
                Ok(End::Cut(why)) => why,
                Ok(End::Unfinished) | Err(_) => format!("nothing more for {timeout:?}"),
            };
        // What was still on disk after the truncation and never reached the client.
        let lost = self
            .shrink_to
            .min(shrink.expected)
            .saturating_sub(shrink_got);
        eprintln!(
            "cut-log: {} shrank; got {shrink_got} bytes",
            self.shrink_path
        );
        Ok(Report {
            during: "-".into(),
            after: "-".into(),
            answer: "-".into(),
            lost: mib(lost),
            extra: vec![("abort_got", abort_got.to_string()), ("shrink_got", shrink_got.to_string())],
            note: format!(
                "client reset {} after {abort_got} bytes; {} (content-length {}) truncated to {} after {} bytes: client got {shrink_got} bytes, then: {end}",
                self.abort_path, self.shrink_path, shrink.expected, self.shrink_to, self.shrink_after
            ),
        })
    }
}
