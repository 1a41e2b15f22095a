//! Hostile clients for issue 8: each subcommand runs one attack against a server on loopback,
//! probes whether other clients are still served during and after it, and ends with one
//! `RESULT key=value … note=free text` line that `bench/hostile.sh` turns into a table row.
//! The script starts the servers, samples their memory and reads their logs; this program only
//! speaks to the server (and, for `shutdown` and `cut-log`, signals it or changes its files).
//!
//! Every attack is bounded in count and time and stops by itself. The defaults are the sizes
//! from the issue; `bench/hostile.sh --quick` passes smaller ones.

mod buffers;
mod flood;
mod probe;
mod raw;
mod throttle;
mod transfer;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use probe::{Prober, Served};

#[derive(Debug, Parser)]
#[command(about = "Hostile HTTP/2 clients for bench/hostile.sh (issue 8)")]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    attack: Attack,
}

/// What every attack needs: where the server is, and how to probe it.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The server's TLS HTTP/2 address
    #[arg(long, global = true, default_value = "127.0.0.1:8443")]
    pub addr: SocketAddr,
    /// :authority and TLS server name (any certificate is accepted)
    #[arg(long, global = true, default_value = "localhost")]
    pub authority: String,
    /// A small file every probe GETs
    #[arg(long, global = true, default_value = "/small.txt")]
    pub probe_path: String,
    /// Seconds a probe may take (connect, TLS, HTTP/2, whole body) before it counts as not served
    #[arg(long, global = true, default_value_t = 3.0)]
    pub probe_timeout: f64,
    /// Probes spread over the attack
    #[arg(long, global = true, default_value_t = 6)]
    pub probes: usize,
    /// Probes after the attack's clients are gone
    #[arg(long, global = true, default_value_t = 3)]
    pub probes_after: usize,
}

#[derive(Debug, Subcommand)]
enum Attack {
    /// Item 7: connections that never send a ClientHello (or drip one byte at a time); each one
    /// the server closes is opened again
    IdleFlood(flood::IdleFlood),
    /// Item 8: one Server-Sent Events stream per connection, read politely, held open
    SseHold(flood::SseHold),
    /// Item 9: many streams on a big file with a 2^31-1 window, never reading the socket
    SendBuffers(buffers::SendBuffers),
    /// Item 12: event streams that never read, while files under the root churn
    LogSpam(buffers::LogSpam),
    /// Item 10: slow downloads, then a graceful-stop signal to the server
    Shutdown(transfer::Shutdown),
    /// Item 11: a download the client resets, and one whose file shrinks on disk
    CutLog(transfer::CutLog),
}

/// What an attack found; printed as the `RESULT` line.
#[derive(Debug, Default)]
pub struct Report {
    /// "served/total" of the probes during the attack (or what stands for it).
    pub during: String,
    pub after: String,
    /// Time to answer: probe medians, or the server's time to exit.
    pub answer: String,
    /// Bytes a client should have had and did not get.
    pub lost: String,
    /// Further `key=value` figures for the script (no spaces in either).
    pub extra: Vec<(&'static str, String)>,
    pub note: String,
}

impl Report {
    /// A report whose during/after/answer columns come from probes.
    pub fn from_probes(during: &Served, after: &Served, note: String) -> Self {
        Report {
            during: during.fraction(),
            after: after.fraction(),
            answer: format!("{}/{}", during.median_ms(), after.median_ms()),
            lost: "-".into(),
            extra: Vec::new(),
            note,
        }
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let prober = Prober::new(&cli.common)?;
        match cli.attack {
            Attack::IdleFlood(a) => a.run(&prober).await,
            Attack::SseHold(a) => a.run(&prober).await,
            Attack::SendBuffers(a) => a.run(&prober).await,
            Attack::LogSpam(a) => a.run(&prober).await,
            Attack::Shutdown(a) => a.run(&prober).await,
            Attack::CutLog(a) => a.run(&prober).await,
        }
    })?;
    // Connections still held by stray tasks must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_secs(1));
    let extra: String = report
        .extra
        .iter()
        .map(|(k, v)| format!(" {k}={v}"))
        .collect();
    println!(
        "RESULT during={} after={} answer={} lost={}{extra} note={}",
        report.during, report.after, report.answer, report.lost, report.note
    );
    Ok(())
}

/// Thousands of sockets need more than the usual soft limit of 1024 descriptors.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// `d` in seconds, from a flag.
pub fn secs(d: f64) -> Duration {
    Duration::from_secs_f64(d.max(0.0))
}
