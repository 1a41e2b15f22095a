//! Time to first byte of an HTML page, as `bench/ttfb.sh` measures it.
//!
//! Each sample opens a fresh TLS HTTP/2 connection (not timed), then times one `GET` of the
//! page from just before the request is handed to h2 until:
//! - `hints`: the 103 Early Hints arrived (absent when the server sent none),
//! - `headers`: the page's final response HEADERS arrived (after any 103 and PUSH_PROMISEs),
//! - `first_byte`: the first DATA byte of the page arrived,
//! - `page`: the page's body is complete,
//! - `all`: the page and every pushed response are complete.
//!
//! Several servers (`--target NAME=ADDR`, or `NAME=ADDR/no-push` for a client that refuses
//! push) are measured interleaved, one sample each in turn, so drift in the machine's load
//! hits all of them alike.
//!
//! A fresh connection per sample matters: the server never pushes an asset twice on one
//! connection, so on a reused connection only the first load would push anything. Pushed
//! streams are accepted (SETTINGS_ENABLE_PUSH=1 unless `--no-push`) and read in full, with
//! browser-sized windows, as a push-capable client would. The server's caches are warm: the
//! first `--warmup` samples are thrown away.
//!
//! ```text
//! cargo run --release --example ttfb -- --ca ~/.local/share/h2push/ca.pem --path / -n 200 \
//!     --target on=127.0.0.1:8443 --target off=127.0.0.1:8444
//! ```
//! Prints one line per target and measure: `target measure count p50_ms p90_ms mean_ms`;
//! the measure `pushes` counts promises per sample, to show push really happened.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::FutureExt;
use h2push::client::{self, ConnectOptions};

/// Stream window a browser advertises (Chromium: 6 MiB), so pushes never wait on the client.
const STREAM_WINDOW: u32 = 6 * 1024 * 1024;
/// Connection window a browser advertises (Chromium: 15 MiB).
const CONNECTION_WINDOW: u32 = 15 * 1024 * 1024;
/// Longest one sample may take before the run is declared broken.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(10);

struct Target {
    name: String,
    addr: SocketAddr,
    push: bool,
}

struct Args {
    targets: Vec<Target>,
    ca: PathBuf,
    path: String,
    samples: usize,
    warmup: usize,
}

fn parse_args() -> Result<Args> {
    let mut args = std::env::args().skip(1);
    let (mut targets, mut ca, mut path) = (Vec::new(), None, "/".to_string());
    let (mut samples, mut warmup) = (200, 20);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => {
                let spec = value()?;
                let (name, rest) = spec.split_once('=').context("--target NAME=ADDR")?;
                let (addr, push) = match rest.strip_suffix("/no-push") {
                    Some(addr) => (addr, false),
                    None => (rest, true),
                };
                targets.push(Target {
                    name: name.to_owned(),
                    addr: addr.parse().with_context(|| format!("--target {spec}"))?,
                    push,
                });
            }
            "--ca" => ca = Some(PathBuf::from(value()?)),
            "--path" => path = value()?,
            "-n" => samples = value()?.parse().context("-n")?,
            "--warmup" => warmup = value()?.parse().context("--warmup")?,
            other => bail!("unknown argument {other}"),
        }
    }
    if targets.is_empty() {
        bail!("give at least one --target NAME=ADDR");
    }
    Ok(Args {
        targets,
        ca: ca.context("--ca is required")?,
        path,
        samples,
        warmup,
    })
}

/// Milliseconds since `t0` for each milestone of one load.
#[derive(Default)]
struct Sample {
    hints: Option<f64>,
    headers: f64,
    first_byte: f64,
    page: f64,
    all: f64,
    pushes: usize,
}

async fn one_load(target: &Target, path: &str, options: &ConnectOptions) -> Result<Sample> {
    let conn = client::connect(target.addr, options).await?;
    let mut send = conn.send.clone().ready().await?;
    let uri = format!("https://localhost:{}{}", target.addr.port(), path);
    let request = http::Request::get(uri).body(())?;
    let ms = |t0: Instant| t0.elapsed().as_secs_f64() * 1000.0;

    let t0 = Instant::now();
    let (mut response, _) = send.send_request(request, true)?;
    let mut promises = response.push_promises();
    let mut sample = Sample::default();
    // Read pushes as they are promised; their bodies are drained in their own tasks.
    let (page_done, mut page_done_rx) = tokio::sync::oneshot::channel::<()>();
    let collector = tokio::spawn(async move {
        let mut readers = Vec::new();
        let mut take = |promise: h2::client::PushPromise| {
            let (_, pushed) = promise.into_parts();
            readers.push(tokio::spawn(async move {
                let mut body = pushed.await?.into_body();
                while let Some(chunk) = body.data().await {
                    let chunk = chunk?;
                    let _ = body.flow_control().release_capacity(chunk.len());
                }
                Ok::<_, h2::Error>(())
            }));
        };
        // h2 does not wake this stream when the page ends without more promises; every
        // promise precedes the page's HEADERS, so once the page is done all are queued.
        loop {
            tokio::select! {
                biased;
                p = promises.push_promise() => match p {
                    Some(p) => take(p?),
                    None => break,
                },
                _ = &mut page_done_rx => {
                    while let Some(Some(p)) = promises.push_promise().now_or_never() {
                        take(p?);
                    }
                    break;
                }
            }
        }
        let count = readers.len();
        for reader in readers {
            reader.await.expect("push reader")?;
        }
        Ok::<_, h2::Error>(count)
    });

    if let Some(hints) = std::future::poll_fn(|cx| response.poll_informational(cx)).await {
        hints?;
        sample.hints = Some(ms(t0));
    }
    let response = response.await?;
    sample.headers = ms(t0);
    if response.status() != http::StatusCode::OK {
        bail!("{path} answered {}", response.status());
    }
    let mut body = response.into_body();
    let mut first = true;
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        if first && !chunk.is_empty() {
            sample.first_byte = ms(t0);
            first = false;
        }
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    sample.page = ms(t0);
    let _ = page_done.send(());
    sample.pushes = collector.await??;
    sample.all = ms(t0);
    drop(send);
    conn.driver.abort();
    Ok(sample)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank]
}

fn report(target: &str, name: &str, mut values: Vec<f64>) {
    if values.is_empty() {
        println!("{target} {name} 0 - - -");
        return;
    }
    values.sort_by(f64::total_cmp);
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    println!(
        "{target} {name} {} {:.3} {:.3} {:.3}",
        values.len(),
        percentile(&values, 50.0),
        percentile(&values, 90.0),
        mean
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let tls = h2push::tls::client_config(Some(&args.ca), false)?;
    let options = |push: bool| ConnectOptions {
        tls: Some(tls.clone()),
        server_name: "localhost".into(),
        enable_push: push,
        stream_window: Some(STREAM_WINDOW),
        connection_window: Some(CONNECTION_WINDOW),
        frame_log: None,
    };
    let mut samples: Vec<Vec<Sample>> = args.targets.iter().map(|_| Vec::new()).collect();
    for i in 0..args.warmup + args.samples {
        for (target, kept) in args.targets.iter().zip(&mut samples) {
            let sample = tokio::time::timeout(
                SAMPLE_TIMEOUT,
                one_load(target, &args.path, &options(target.push)),
            )
            .await
            .with_context(|| {
                format!(
                    "{}: a load took longer than {SAMPLE_TIMEOUT:?}",
                    target.name
                )
            })?
            .with_context(|| format!("{}: loading {}", target.name, args.path))?;
            if i >= args.warmup {
                kept.push(sample);
            }
        }
    }
    for (target, samples) in args.targets.iter().zip(&samples) {
        let name = &target.name;
        report(
            name,
            "hints",
            samples.iter().filter_map(|s| s.hints).collect(),
        );
        report(name, "headers", samples.iter().map(|s| s.headers).collect());
        report(
            name,
            "first_byte",
            samples.iter().map(|s| s.first_byte).collect(),
        );
        report(name, "page", samples.iter().map(|s| s.page).collect());
        report(name, "all", samples.iter().map(|s| s.all).collect());
        report(
            name,
            "pushes",
            samples.iter().map(|s| s.pushes as f64).collect(),
        );
    }
    Ok(())
}
