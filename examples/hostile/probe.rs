//! The innocent bystander: a fresh TLS HTTP/2 connection that GETs a small file and must have
//! the whole body within the probe timeout to count as served.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use h2push::client::{self, ConnectOptions};
use http::Request;

use crate::{secs, Common};

/// Probes one server, and knows how to open ordinary client connections to it.
#[derive(Clone)]
pub struct Prober {
    pub addr: SocketAddr,
    pub authority: String,
    path: String,
    timeout: Duration,
    pub during: usize,
    pub after: usize,
    pub options: ConnectOptions,
    pub tls: Arc<rustls::ClientConfig>,
}

/// The outcome of a series of probes: the time each took, `None` when it was not served.
#[derive(Debug, Default)]
pub struct Served(pub Vec<Option<Duration>>);

impl Served {
    /// "served/total".
    pub fn fraction(&self) -> String {
        let ok = self.0.iter().filter(|p| p.is_some()).count();
        format!("{ok}/{}", self.0.len())
    }

    /// Median time of the served probes in ms, or "-" when none was.
    pub fn median_ms(&self) -> String {
        let mut ok: Vec<Duration> = self.0.iter().flatten().copied().collect();
        if ok.is_empty() {
            return "-".into();
        }
        ok.sort();
        format!("{:.0}", ok[ok.len() / 2].as_secs_f64() * 1000.0)
    }
}

impl Prober {
    pub fn new(common: &Common) -> Result<Self> {
        let tls = h2push::tls::client_config(None, true)?;
        Ok(Prober {
            addr: common.addr,
            authority: common.authority.clone(),
            path: common.probe_path.clone(),
            timeout: secs(common.probe_timeout),
            during: common.probes,
            after: common.probes_after,
            options: ConnectOptions {
                tls: Some(tls.clone()),
                server_name: common.authority.clone(),
                enable_push: false,
                stream_window: None,
                connection_window: None,
                frame_log: None,
            },
            tls,
        })
    }

    /// `https://authority/path` for a request.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.authority)
    }

    /// One probe: the time to the last byte, or `None` (with the reason on stderr).
    pub async fn once(&self) -> Option<Duration> {
        let started = Instant::now();
        match tokio::time::timeout(self.timeout, self.get()).await {
            Ok(Ok(())) => Some(started.elapsed()),
            Ok(Err(err)) => {
                eprintln!("probe failed after {:?}: {err:#}", started.elapsed());
                None
            }
            Err(_) => {
                eprintln!("probe not served within {:?}", self.timeout);
                None
            }
        }
    }

    async fn get(&self) -> Result<()> {
        let conn = client::connect(self.addr, &self.options).await?;
        let mut send = conn.send.ready().await.context("connection ready")?;
        let request = Request::get(self.url(&self.path)).body(())?;
        let (response, _) = send.send_request(request, true)?;
        let response = response.await.context("response head")?;
        if response.status() != 200 {
            bail!("status {}", response.status());
        }
        let length: Option<u64> = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let mut body = response.into_body();
        let mut got = 0u64;
        while let Some(chunk) = body.data().await {
            let chunk = chunk.context("body")?;
            got += chunk.len() as u64;
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        if got == 0 || length.is_some_and(|l| l != got) {
            bail!("body of {got} bytes (content-length {length:?})");
        }
        Ok(())
    }

    /// `count` probes, one every `spacing` (they overlap when one takes longer).
    pub async fn series(&self, count: usize, spacing: Duration) -> Served {
        let start = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..count)
            .map(|i| {
                let me = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep_until(start + spacing * i as u32).await;
                    me.once().await
                })
            })
            .collect();
        let mut out = Vec::with_capacity(count);
        for task in tasks {
            out.push(task.await.unwrap_or(None));
        }
        Served(out)
    }

    /// The probes during an attack that lasts `hold`, spread evenly; returns when `hold` is over.
    pub async fn during(&self, hold: Duration) -> Served {
        let ends = tokio::time::Instant::now() + hold;
        let spacing = hold.saturating_sub(self.timeout) / self.during.max(1) as u32;
        let served = self.series(self.during, spacing).await;
        tokio::time::sleep_until(ends).await;
        eprintln!("probes during: {}", served.fraction());
        served
    }

    /// The probes after the attack's clients left, half a second apart, after a one-second pause.
    pub async fn after(&self) -> Served {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let served = self.series(self.after, Duration::from_millis(500)).await;
        eprintln!("probes after: {}", served.fraction());
        served
    }
}
