//! Starting `serve`: bind the TLS (and cleartext) listeners, install the access log and the
//! signal handlers, watch the root, say where it serves, run until SIGINT/SIGTERM, then drain.
//! It takes settings already checked ([`Startup`]); turning flags into them is the CLI's job.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use tracing::{info, warn};

use crate::config::Config;
use crate::serve::{self, access_log::LogFormat, Signals, State, Transport};
use crate::tls;
use crate::usage::usage;
use crate::watch::ChangeFeed;

/// What `serve` starts with.
#[derive(Debug)]
pub struct Startup {
    pub config: Config,
    /// The TLS address (HTTP/2 and HTTP/1.1).
    pub listen: SocketAddr,
    /// The cleartext address (HTTP/1.1, prior-knowledge HTTP/2), if any.
    pub http: Option<SocketAddr>,
    /// The certificate and key to serve, and the local CA that signed them when it is ours.
    pub cert: tls::CertPaths,
    pub log_format: LogFormat,
    /// Where the access log goes instead of stderr.
    pub access_log: Option<PathBuf>,
    /// Open the served URL in a browser once listening.
    pub open: bool,
    /// `--certs-dir`, for the hint on how to trust the local CA.
    pub certs_dir: Option<PathBuf>,
}

/// Binds, prints where it serves, and runs until SIGINT/SIGTERM. A port in use, an unreadable
/// certificate or access log is a usage error.
pub async fn run(startup: Startup) -> Result<()> {
    let tls_config = tls::server_config(&startup.cert.cert, &startup.cert.key)
        .map_err(|e| usage(format!("{e:#}")))?;
    let listener = serve::bind(startup.listen)
        .await
        .map_err(|e| usage(format!("{e:#}")))?;
    let cleartext = match startup.http {
        Some(addr) => Some(
            serve::bind(addr)
                .await
                .map_err(|e| usage(format!("{e:#}")))?,
        ),
        None => None,
    };

    // The access log is written on its own thread; RUST_LOG=warn still silences it on stderr.
    let to_stderr = tracing::enabled!(target: "h2push::access", tracing::Level::INFO);
    if startup.access_log.is_some() || to_stderr {
        let file = startup.access_log.as_deref();
        serve::access_log::install(startup.log_format, file).map_err(|e| {
            let file = file.unwrap_or(Path::new("-"));
            usage(format!("--access-log {}: {e}", file.display()))
        })?;
    }
    let signal = shutdown_signal()?;
    let config = startup.config;
    let state = match watch(&config) {
        Some(changes) => State::with_changes(config, changes),
        None => State::new(config),
    };
    let signals = Signals::default();
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    info!(
        url = %format!("https://{}/", display_host(addr)),
        root = %state.config.root.display(),
        cert = %startup.cert.cert.display(),
        "serving"
    );
    if startup.open {
        crate::launch::open(&format!("https://{}/", display_host(addr)));
    }
    let push = &state.config.push;
    info!(
        push = push.push,
        early_hints = push.early_hints,
        preload_headers = push.preload_headers,
        push_max_assets = push.max_assets,
        push_max_bytes = push.max_bytes,
        push_extra_bytes = push.extra_bytes,
        push_digest = push.digest,
        "asset delivery"
    );
    crate::certs::trust_hint(&startup.cert, startup.certs_dir.as_deref(), addr);
    if state.changes.is_some() {
        info!(
            events = %format!("https://{}{}events", display_host(addr), state.config.feed.path),
            live_reload = if state.config.live_reload { "on" } else { "off" },
            "change feed"
        );
    } else {
        info!(live_reload = "off", "no change feed");
    }
    let mut tasks = tokio::task::JoinSet::new();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls_config);
    tasks.spawn(serve::run(
        listener,
        Transport::Tls(acceptor),
        state.clone(),
        signals.clone(),
    ));
    if let Some(cleartext) = cleartext {
        let addr = cleartext
            .local_addr()
            .context("reading the cleartext address")?;
        info!(url = %format!("http://{addr}/"), "serving cleartext HTTP/1.1 and HTTP/2 (prior knowledge)");
        tasks.spawn(serve::run(
            cleartext,
            Transport::Cleartext,
            state.clone(),
            signals.clone(),
        ));
    }
    let mut signal = signal;
    signal.recv().await;
    info!(
        grace = ?state.config.limits.shutdown_grace,
        "shutting down: finishing open requests (a second Ctrl-C quits at once)"
    );
    signals.shutdown.cancel();
    tokio::spawn(async move {
        signal.recv().await;
        tracing::warn!("second signal: quitting at once");
        std::process::exit(130);
    });
    if let Some(changes) = &state.changes {
        // Event streams and long polls end now instead of holding connections open.
        changes.close();
    }
    while tasks.join_next().await.is_some() {}
    serve::access_log::flush(std::time::Duration::from_secs(1));
    info!("stopped");
    Ok(())
}

/// Starts the change feed on the root. Without one (inotify limits, say) files are still
/// served; the feed's endpoints and live reload are not.
fn watch(config: &Config) -> Option<Arc<ChangeFeed>> {
    match ChangeFeed::watch(&config.root) {
        Ok(feed) => Some(feed),
        Err(err) => {
            warn!(cause = %err, "not watching for changes: no change feed, no live reload");
            None
        }
    }
}

fn display_host(addr: SocketAddr) -> String {
    if addr.ip().is_loopback() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

/// SIGINT and SIGTERM, installed before anyone is told the server is up.
struct StopSignals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Resolves on the next SIGINT or SIGTERM.
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

fn shutdown_signal() -> Result<StopSignals> {
    use tokio::signal::unix::{signal, SignalKind};
    Ok(StopSignals {
        term: signal(SignalKind::terminate()).context("installing a SIGTERM handler")?,
        int: signal(SignalKind::interrupt()).context("installing a SIGINT handler")?,
    })
}
