//! Attacks on what the server buffers: greedy streams that never read (item 9), and event
//! streams that never read while the root churns, for the log volume (item 12).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use h2push::client;
use http::Request;
use tokio_util::sync::CancellationToken;

use crate::probe::Prober;
use crate::{raw, secs, Report};

#[derive(Debug, Args)]
pub struct SendBuffers {
    /// Connections
    #[arg(long, default_value_t = 50)]
    conns: usize,
    /// Streams per connection, all GETs of --path
    #[arg(long, default_value_t = 100)]
    streams: u32,
    /// A big file (the server has as much to send as it is willing to buffer)
    #[arg(long, default_value = "/big.bin")]
    path: String,
    /// Seconds the connections are held, never read from, after they are all open
    #[arg(long, default_value_t = 20.0)]
    hold: f64,
}

impl SendBuffers {
    pub async fn run(self, prober: &Prober) -> Result<Report> {
        let stop = CancellationToken::new();
        let opened = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..self.conns)
            .map(|_| {
                let (stop, prober) = (stop.clone(), prober.clone());
                let (opened, failed, path, streams) = (
                    opened.clone(),
                    failed.clone(),
                    self.path.clone(),
                    self.streams,
                );
                tokio::spawn(async move {
                    let greedy = async {
                        let mut io =
                            raw::connect(prober.addr, &prober.authority, &prober.tls).await?;
                        raw::greedy_gets(&mut io, &prober.authority, &path, streams).await?;
                        anyhow::Ok(io)
                    };
                    match tokio::time::timeout(Duration::from_secs(10), greedy).await {
                        Ok(Ok(io)) => {
                            opened.fetch_add(1, Ordering::SeqCst);
                            // Hold the connection, and never read from it.
                            stop.cancelled().await;
                            drop(io);
                        }
                        Ok(Err(err)) => {
                            eprintln!("greedy connection: {err:#}");
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        while opened.load(Ordering::SeqCst) + failed.load(Ordering::SeqCst) < self.conns {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!(
            "greedy: {} connections x {} streams open",
            opened.load(Ordering::SeqCst),
            self.streams
        );
        let during = prober.during(secs(self.hold)).await;
        stop.cancel();
        for task in tasks {
            let _ = task.await;
        }
        let after = prober.after().await;
        let note = format!(
            "{} connections x {} GETs of {} with a 2^31-1 window, never read ({} failed to open)",
            opened.load(Ordering::SeqCst),
            self.streams,
            self.path,
            failed.load(Ordering::SeqCst),
        );
        Ok(Report::from_probes(&during, &after, note))
    }
}

#[derive(Debug, Args)]
pub struct LogSpam {
    /// Event streams, none of them ever read
    #[arg(long, default_value_t = 500)]
    streams: usize,
    /// Event streams per connection
    #[arg(long, default_value_t = 10)]
    per_conn: usize,
    /// The event-stream URL path
    #[arg(long, default_value = "/.h2push/events")]
    path: String,
    /// A directory under the served root to churn files in (made if missing)
    #[arg(long)]
    churn_dir: PathBuf,
    /// Distinct files rewritten in turn
    #[arg(long, default_value_t = 2000)]
    churn_files: usize,
    /// Seconds of churn
    #[arg(long, default_value_t = 20.0)]
    churn: f64,
}

impl LogSpam {
    pub async fn run(self, prober: &Prober) -> Result<Report> {
        // The streams: response heads read, bodies never touched, so each connection's window
        // (65,535 bytes) fills and the server's event queues back up behind it.
        let mut held = Vec::new();
        let mut failed = 0;
        let conns = self.streams.div_ceil(self.per_conn);
        for c in 0..conns {
            let n = self.per_conn.min(self.streams - c * self.per_conn);
            match tokio::time::timeout(Duration::from_secs(10), self.open(prober, n)).await {
                Ok(Ok(streams)) => held.push(streams),
                Ok(Err(err)) => {
                    eprintln!("event streams: {err:#}");
                    failed += n;
                }
                Err(_) => failed += n,
            }
        }
        let open: usize = held.iter().map(|(_, s)| s.len()).sum();
        eprintln!("log spam: {open} stalled event streams; churning files");

        std::fs::create_dir_all(&self.churn_dir)?;
        let (dir, files, length) = (self.churn_dir.clone(), self.churn_files, secs(self.churn));
        let churn = tokio::task::spawn_blocking(move || churn(&dir, files, length));
        let during = prober.during(length).await;
        let writes = churn.await??;
        drop(held);
        let after = prober.after().await;
        let note = format!(
            "{open} event streams never read ({failed} failed to open); {writes} writes to {} files in {:.0} s",
            self.churn_files,
            length.as_secs_f64()
        );
        Ok(Report::from_probes(&during, &after, note))
    }

    /// One connection with `n` event streams whose bodies are never read.
    async fn open(
        &self,
        prober: &Prober,
        n: usize,
    ) -> Result<(client::Connection, Vec<h2::RecvStream>)> {
        let conn = client::connect(prober.addr, &prober.options).await?;
        let mut streams = Vec::with_capacity(n);
        for _ in 0..n {
            let mut send = conn.send.clone().ready().await?;
            let request = Request::get(prober.url(&self.path)).body(())?;
            let (response, _) = send.send_request(request, true)?;
            let response = response.await?;
            anyhow::ensure!(response.status() == 200, "status {}", response.status());
            streams.push(response.into_body());
        }
        Ok((conn, streams))
    }
}

/// Rewrites `files` files in `dir` round-robin for `length`; returns the number of writes.
fn churn(dir: &std::path::Path, files: usize, length: Duration) -> Result<u64> {
    let started = Instant::now();
    let mut writes = 0u64;
    while started.elapsed() < length {
        for i in 0..files {
            std::fs::write(dir.join(format!("f{i}.txt")), format!("{writes}\n"))?;
            writes += 1;
            if writes % 256 == 0 && started.elapsed() >= length {
                break;
            }
        }
    }
    Ok(writes)
}
