//! Load for the change feed: opens many Server-Sent Events streams on one h2push server, writes
//! one file, and reports how long until every stream has the change, and the server's memory.
//! Run by `bench/sse-load.sh`, which starts the server; see there for the command.
//!
//! Usage: sse_load ADDR CA_PEM FILE_TO_TOUCH SERVER_PID [STREAMS] [STREAMS_PER_CONNECTION]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use h2push::client::{self, ConnectOptions};
use http::Request;
use tokio::sync::Barrier;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        bail!("usage: sse_load ADDR CA_PEM FILE_TO_TOUCH SERVER_PID [STREAMS] [PER_CONNECTION]");
    }
    let addr: SocketAddr = args[1].parse().context("ADDR")?;
    let ca = PathBuf::from(&args[2]);
    let touch = PathBuf::from(&args[3]);
    let pid: u32 = args[4].parse().context("SERVER_PID")?;
    let streams: usize = args.get(5).map_or(Ok(1000), |s| s.parse())?;
    let per_conn: usize = args.get(6).map_or(Ok(100), |s| s.parse())?;

    let options = ConnectOptions {
        tls: Some(h2push::tls::client_config(Some(&ca), false)?),
        server_name: "localhost".into(),
        enable_push: false,
        stream_window: None,
        connection_window: None,
        frame_log: None,
    };
    let idle = memory(pid)?;
    let connections = streams.div_ceil(per_conn);
    let url = format!("https://localhost:{}/.h2push/events", addr.port());
    let opened = Arc::new(Barrier::new(streams + 1));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let mut conns = Vec::new();
    let started = Instant::now();
    for c in 0..connections {
        let conn = client::connect(addr, &options).await?;
        for _ in 0..per_conn.min(streams - c * per_conn) {
            let mut send = conn.send.clone();
            let (opened, done, url) = (opened.clone(), done_tx.clone(), url.clone());
            tokio::spawn(async move {
                send = send.ready().await.expect("connection ready");
                let req = Request::get(&url).body(()).unwrap();
                let (response, _) = send.send_request(req, true).expect("request sent");
                let mut body = response.await.expect("response headers").into_body();
                let mut seen = String::new();
                let mut first = true;
                while let Some(chunk) = body.data().await {
                    let chunk = chunk.expect("event stream chunk");
                    let _ = body.flow_control().release_capacity(chunk.len());
                    seen.push_str(&String::from_utf8_lossy(&chunk));
                    if first && seen.contains("retry:") {
                        first = false;
                        opened.wait().await;
                    }
                    if seen.contains("event: change") {
                        let _ = done.send(Instant::now());
                        return;
                    }
                }
            });
        }
        conns.push(conn);
    }
    opened.wait().await;
    let open_took = started.elapsed();
    let streaming = memory(pid)?;
    println!(
        "{streams} streams open on {connections} connections in {:.0} ms",
        open_took.as_secs_f64() * 1000.0
    );

    let touched = Instant::now();
    std::fs::write(&touch, format!("/* {touched:?} */\n")).context("touching the file")?;
    let mut latencies = Vec::with_capacity(streams);
    while latencies.len() < streams {
        match tokio::time::timeout(Duration::from_secs(30), done_rx.recv()).await {
            Ok(Some(at)) => latencies.push(at - touched),
            _ => bail!(
                "only {} of {streams} streams got the change",
                latencies.len()
            ),
        }
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let after = memory(pid)?;
    println!(
        "change received by all {streams} streams {:.1} ms after the write (first {:.1} ms, median {:.1} ms, p99 {:.1} ms; includes the {} ms debounce)",
        ms(latencies[streams - 1]),
        ms(latencies[0]),
        ms(latencies[streams / 2]),
        ms(latencies[streams * 99 / 100]),
        h2push::watch::DEBOUNCE.as_millis()
    );
    println!(
        "server memory: idle VmRSS {} KiB; with {streams} streams VmRSS {} KiB ({:.1} KiB per stream); after the change VmRSS {} KiB, VmHWM {} KiB",
        idle.0,
        streaming.0,
        (streaming.0 as f64 - idle.0 as f64) / streams as f64,
        after.0,
        after.1
    );
    Ok(())
}

/// (VmRSS, VmHWM) of `pid` in KiB.
fn memory(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}
