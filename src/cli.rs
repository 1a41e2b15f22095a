//! Command-line flags (clap) and what each subcommand does with them. `main.rs` only parses,
//! sets up logging and turns errors into exit codes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use tracing::{info, warn};

use crate::config::{self, Config, FeedConfig, Limits};
use crate::serve::{self, Signals, State, Transport};
use crate::tls;
use crate::watch::ChangeFeed;

pub use crate::certs::CertArgs;
pub use crate::compare::CompareArgs;
pub use crate::export::ExportArgs;
use crate::push::plan_args::PlanArgs;
use crate::usage::parse_duration;
use crate::usage::usage;
pub use crate::usage::Switch;
pub use crate::usage::UsageError;

#[derive(Debug, Parser)]
#[command(
    name = "h2push",
    version,
    about = "HTTP/2 static file server that gets a page's assets to the client one round trip early",
    long_about = "HTTP/2 static file server that gets a page's assets to the client one round trip early.\n\nWith no subcommand, `h2push` runs `serve`: `h2push DIR --listen 8443` is `h2push serve DIR --listen 8443`, and a bare `h2push` serves ./site when there is one, else the current directory, on https://localhost:8443.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `serve`'s flags and DIR, for `h2push DIR` without the subcommand.
    #[command(flatten)]
    pub serve: Box<ServeArgs>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a directory over TLS (HTTP/2 and HTTP/1.1), and optionally cleartext.
    Serve(Box<ServeArgs>),
    /// Write a local CA and a localhost certificate signed by it, and print where they are.
    Cert(CertArgs),
    /// Show what `serve` would push or hint for each page: every asset, its size, where it was
    /// found, and push / hint / skipped with the reason.
    Scan(ScanArgs),
    /// Load a page with push, with early hints only, and with neither, under an emulated RTT.
    Compare(Box<CompareArgs>),
    /// Write the Link preload headers `serve` sends with each page as a CDN's `_headers` or a
    /// server's configuration (nginx, h2o, Caddy, Apache), or as JSON.
    Export(Box<ExportArgs>),
    /// Serve HTTPS, HTTP/2 and HTTP/1.1 in front of a backend (http://HOST:PORT); `serve`'s flags.
    Proxy(Box<crate::proxy::args::ProxyArgs<ServeArgs>>),
}

impl Cli {
    /// The command to run: the subcommand, or `serve` with the bare command's flags.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory to serve [default: ./site when present, else the current directory]
    pub dir: Option<PathBuf>,

    /// Settings file (TOML, keys are these flags' long names, `dir` for DIR) [default:
    /// ./h2push.toml when present]. Flags beat H2PUSH_* environment variables, which beat it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address for TLS HTTP/2: HOST:PORT, a host name (resolved), or a port alone (`8443`,
    /// `:8443`) on 127.0.0.1; `0.0.0.0:8443` listens on every interface
    #[arg(long, default_value = "127.0.0.1:8443", value_parser = crate::usage::parse_listen, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Certificate chain (PEM) to serve instead of the generated one; needs --key
    #[arg(long, requires = "key", value_name = "PEM")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) for --cert
    #[arg(long, requires = "cert", value_name = "PEM")]
    pub key: Option<PathBuf>,

    /// Where the generated CA and localhost certificate are kept (made when missing)
    /// [default: $H2PUSH_CAROOT, else $XDG_DATA_HOME/h2push, else ~/.local/share/h2push]
    #[arg(long, value_name = "DIR")]
    pub certs_dir: Option<PathBuf>,

    /// Also serve cleartext on ADDR: HTTP/1.1, and HTTP/2 for clients with prior knowledge
    /// (`nghttp http://…`, h2load). `--h2c` is the old name
    #[arg(long, alias = "h2c", value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080", value_parser = crate::usage::parse_listen)]
    pub http: Option<SocketAddr>,

    /// Serve symlinks whose target is outside the served directory (refused by default)
    #[arg(long)]
    pub follow_symlinks: bool,

    /// Cache-Control for files other than HTML (HTML always gets `no-cache`)
    #[arg(long, default_value = config::DEFAULT_CACHE_CONTROL, value_name = "VALUE")]
    pub cache_control: Option<String>,

    /// Most established connections served at once (idle ones close to make room)
    #[arg(long, default_value_t = config::DEFAULT_MAX_CONNECTIONS, value_name = "N")]
    pub max_connections: usize,

    /// Most connections in their TLS handshake at once (past it the oldest is dropped)
    #[arg(long, default_value_t = config::DEFAULT_MAX_HANDSHAKES, value_name = "N")]
    pub max_handshakes: usize,

    /// Most change-feed event streams open at once (past it: 503 with Retry-After)
    #[arg(long, default_value_t = config::DEFAULT_MAX_EVENT_STREAMS, value_name = "N")]
    pub max_event_streams: usize,

    /// Close a connection (reset an HTTP/2 stream) whose client takes no bytes for this long
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "TIME")]
    pub send_stall_timeout: Duration,

    /// Leave out the `Server: h2push/VERSION` response header
    #[arg(long)]
    pub no_server_header: bool,

    /// Most concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS)
    #[arg(long, default_value_t = config::DEFAULT_MAX_CONCURRENT_STREAMS, value_name = "N")]
    pub max_concurrent_streams: u32,

    /// Largest request header list accepted, in bytes (SETTINGS_MAX_HEADER_LIST_SIZE)
    #[arg(long, default_value_t = config::DEFAULT_MAX_HEADER_LIST_SIZE, value_name = "BYTES")]
    pub max_header_list_size: u32,

    /// Time allowed for the TLS handshake and HTTP/2 preface (e.g. 10s, 500ms)
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "TIME")]
    pub handshake_timeout: Option<Duration>,

    /// Close a connection with no open stream after this long
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "TIME")]
    pub idle_timeout: Option<Duration>,

    /// On SIGINT/SIGTERM, how long in-flight streams get to finish
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "TIME")]
    pub shutdown_grace: Option<Duration>,

    /// Push a page's assets with PUSH_PROMISE when the client allows it
    #[arg(long, value_enum, default_value = "on", value_name = "on|off")]
    pub push: Switch,

    /// Send 103 Early Hints with the page's Link preload values before the page
    #[arg(long, value_enum, default_value = "on", value_name = "on|off")]
    pub early_hints: Switch,

    /// Add the Link preload values to the page's own response headers
    #[arg(long, value_enum, default_value = "on", value_name = "on|off")]
    pub preload_headers: Switch,

    /// Most assets pushed per page (the rest are hinted)
    #[arg(long, default_value_t = config::DEFAULT_PUSH_MAX_ASSETS, value_name = "N")]
    pub push_max_assets: usize,

    /// Safety cap on the bytes of critical assets (stylesheets, fonts, scripts) pushed per page;
    /// critical assets past it are hinted
    #[arg(long, default_value_t = config::DEFAULT_PUSH_MAX_BYTES, value_name = "BYTES")]
    pub push_max_bytes: u64,

    /// Bytes of non-critical assets (images, async scripts) pushed per page on top of the
    /// critical ones; the rest are hinted
    #[arg(long, default_value_t = config::DEFAULT_PUSH_EXTRA_BYTES, value_name = "BYTES")]
    pub push_extra_bytes: u64,

    /// Remember what each client received in a cookie (h2push-digest) and do not push what it has
    #[arg(long, value_enum, default_value = "on", value_name = "on|off")]
    pub push_digest: Switch,
    /// URL prefix of the change feed: PREFIXevents (Server-Sent Events) and PREFIXpoll (long-poll)
    #[arg(long, default_value = config::DEFAULT_FEED_PATH, value_name = "PREFIX")]
    pub feed_path: String,

    /// Interval of the keep-alive comment on an idle event stream
    #[arg(long, default_value = "15s", value_parser = parse_duration, value_name = "TIME")]
    pub sse_keep_alive: Duration,

    /// How long a long-poll request waits for a change before an empty answer
    #[arg(long, default_value = "25s", value_parser = parse_duration, value_name = "TIME")]
    pub poll_timeout: Duration,

    /// Inject a script into HTML pages that reloads them, or swaps a stylesheet, when files change
    #[arg(long)]
    pub live_reload: bool,

    /// Single-page apps: a GET or HEAD that accepts text/html (a browser navigation) and would
    /// be 404 gets this page, with 200 (a path under DIR, e.g. index.html)
    #[arg(long, value_name = "PAGE")]
    pub fallback: Option<String>,

    /// Add a response header on URL paths matching a glob: 'GLOB: Name: value', e.g.
    /// '/assets/*: Cache-Control: max-age=31536000, immutable' (`*` crosses `/`; repeatable;
    /// a later rule for the same header wins)
    #[arg(long = "header", value_name = "RULE", value_parser = crate::files::rules::HeaderRule::parse)]
    pub headers: Vec<crate::files::rules::HeaderRule>,

    /// CORS for every origin: `Access-Control-Allow-Origin: *` on every response, and OPTIONS
    /// preflights answered 204 (GET, HEAD, OPTIONS; request headers allowed as asked)
    #[arg(long)]
    pub cors: bool,
    /// Compress text-like files (HTML, CSS, JS, SVG, JSON, wasm…) of 1 KiB to 16 MiB with br,
    /// zstd or gzip, once per file version in the background (until then: uncompressed)
    #[arg(long, value_enum, default_value = "on", value_name = "on|off")]
    pub compress: Switch,

    /// Serve FILE.br, FILE.zst or FILE.gz in place of FILE when the client accepts it and the
    /// sidecar is not older than FILE
    #[arg(long, value_enum, default_value = "on", value_name = "on|off")]
    pub precompressed: Switch,

    /// Memory kept for on-the-fly compressed bodies; oldest dropped past it
    #[arg(long, default_value_t = config::DEFAULT_COMPRESS_CACHE_BYTES, value_name = "BYTES")]
    pub compress_cache: usize,

    /// List a directory that has no index.html (HTML; JSON for `Accept: application/json`),
    /// without dot-entries; off by default, so a directory's contents stay private
    #[arg(long)]
    pub list_dirs: bool,

    /// Access log line format: pretty (key=value), combined (Apache/nginx), or json
    #[arg(long, value_enum, default_value = "pretty", value_name = "FORMAT")]
    pub log_format: crate::serve::access_log::LogFormat,

    /// Write the access log to FILE (appended) instead of stderr, even with RUST_LOG=warn
    #[arg(long, value_name = "FILE")]
    pub access_log: Option<PathBuf>,

    /// Worker threads of the async runtime [default: one per core]
    #[arg(long, env = "H2PUSH_WORKER_THREADS", value_name = "N")]
    pub threads: Option<usize>,

    #[command(flatten)]
    pub upstream: crate::proxy::args::UpstreamArgs,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Directory to scan, as `serve` would serve it, or one HTML file: that page, with ./site as
    /// the root when the file is in it, else the file's directory [default: ./site when present,
    /// else the current directory]
    pub dir: Option<PathBuf>,

    /// Pages to scan (URL paths like /docs/, or paths under DIR) [default: every *.html under DIR]
    #[arg(requires = "dir")]
    pub pages: Vec<String>,

    /// Print JSON for scripts instead of the table
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub plan: PlanArgs,
}

/// `h2push compare`: on its own runtime, like `serve`.
pub fn compare(args: CompareArgs) -> Result<()> {
    runtime(None)?.block_on(crate::compare::run(args))
}

/// `h2push export`: the site's root as for `serve`, then the export.
pub fn export(args: ExportArgs) -> Result<()> {
    let root = site_root(args.dir.as_ref(), "export")?;
    crate::export::args::run(&args, root)
}

/// The directory when none is given: `./site` when there is one, else the working directory.
/// Which one is said on stderr, so nobody serves a directory without knowing it. (An installed
/// binary does not know where it was built: no path is compiled in.)
fn default_site_dir() -> PathBuf {
    let local = PathBuf::from("site");
    if local.is_dir() {
        info!(dir = "./site", "no DIR given: using ./site");
        local
    } else {
        info!(
            dir = ".",
            "no DIR given and no ./site here: using the current directory"
        );
        PathBuf::from(".")
    }
}

/// The canonical root for a DIR argument (or the default site); `verb` words the error.
fn site_root(dir: Option<&PathBuf>, verb: &str) -> Result<PathBuf> {
    let dir = dir.cloned().unwrap_or_else(default_site_dir);
    let root = dir
        .canonicalize()
        .map_err(|e| usage(format!("cannot {verb} {}: {e}", dir.display())))?;
    if !root.is_dir() {
        return Err(usage(format!(
            "cannot {verb} {}: not a directory",
            dir.display()
        )));
    }
    Ok(root)
}

/// Turns flags into a validated [`Config`]. A missing directory is a usage error.
pub fn build_config(args: &ServeArgs) -> Result<Config> {
    let mut config = Config::new(site_root(args.dir.as_ref(), "serve")?);
    config.follow_symlinks = args.follow_symlinks;
    config.proxy = args.upstream.config();
    if let Some(cc) = &args.cache_control {
        http::HeaderValue::from_str(cc).map_err(|_| {
            usage(format!(
                "--cache-control {cc:?} is not a valid header value"
            ))
        })?;
        config.cache_control = cc.clone();
    }
    if args.max_connections == 0
        || args.max_concurrent_streams == 0
        || args.max_handshakes == 0
        || args.max_event_streams == 0
    {
        return Err(usage(
            "--max-connections, --max-handshakes, --max-event-streams and --max-concurrent-streams must be at least 1",
        ));
    }
    if args.no_server_header {
        config.server_header = None;
    }
    config.feed = feed_config(args)?;
    config.rules.fallback = args
        .fallback
        .as_deref()
        .map(|page| fallback_path(&config.root, page))
        .transpose()?;
    config.rules.headers = args.headers.clone();
    config.rules.cors = args.cors;
    config.rules.list_dirs = args.list_dirs;
    config.live_reload = args.live_reload;
    config.compress = config::CompressConfig {
        on_the_fly: args.compress.on(),
        precompressed: args.precompressed.on(),
        cache_bytes: args.compress_cache,
    };
    let defaults = Limits::default();
    config.limits = Limits {
        max_concurrent_streams: args.max_concurrent_streams,
        max_header_list_size: args.max_header_list_size,
        handshake_timeout: args.handshake_timeout.unwrap_or(defaults.handshake_timeout),
        idle_timeout: args.idle_timeout.unwrap_or(defaults.idle_timeout),
        max_connections: args.max_connections,
        max_handshakes: args.max_handshakes,
        max_event_streams: args.max_event_streams,
        send_stall_timeout: args.send_stall_timeout,
        shutdown_grace: args.shutdown_grace.unwrap_or(defaults.shutdown_grace),
        ..defaults
    };
    config.push.push = args.push.on();
    config.push.early_hints = args.early_hints.on();
    config.push.preload_headers = args.preload_headers.on();
    config.push.max_assets = args.push_max_assets;
    config.push.max_bytes = args.push_max_bytes;
    config.push.extra_bytes = args.push_extra_bytes;
    config.push.digest = args.push_digest.on();
    Ok(config)
}

/// The URL path of the `--fallback` page, which must be a file under the root.
fn fallback_path(root: &Path, page: &str) -> Result<String> {
    let rel = page.trim_start_matches('/');
    if !root.join(rel).is_file() || rel.split('/').any(|s| s == "..") {
        return Err(usage(format!(
            "--fallback {page:?}: no such file in {}",
            root.display()
        )));
    }
    Ok(crate::files::path::url_path(rel.split('/'), false))
}

/// The change feed's settings; the prefix must be a plain absolute directory path.
fn feed_config(args: &ServeArgs) -> Result<FeedConfig> {
    let path = &args.feed_path;
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b));
    if !plain
        || path.len() < 3
        || !path.starts_with('/')
        || !path.ends_with('/')
        || path.contains("//")
    {
        return Err(usage(format!(
            "--feed-path {path:?} must look like /.h2push/: start and end with /, letters, digits and -._~ only"
        )));
    }
    if args.sse_keep_alive.is_zero() {
        return Err(usage("--sse-keep-alive must be more than 0"));
    }
    Ok(FeedConfig {
        path: path.clone(),
        keep_alive: args.sse_keep_alive,
        poll_timeout: args.poll_timeout,
    })
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

/// `h2push serve`: binds, prints where it serves, and runs until SIGINT/SIGTERM.
pub async fn serve(args: ServeArgs) -> Result<()> {
    let mut config = build_config(&args)?;
    let cert_paths = crate::certs::for_serve(
        args.cert.as_deref(),
        args.key.as_deref(),
        args.certs_dir.as_deref(),
        &mut config,
    )?;
    let tls_config = tls::server_config(&cert_paths.cert, &cert_paths.key)
        .map_err(|e| usage(format!("{e:#}")))?;
    let listen = args
        .listen
        .unwrap_or_else(|| "127.0.0.1:8443".parse().unwrap());
    let listener = serve::bind(listen)
        .await
        .map_err(|e| usage(format!("{e:#}")))?;
    let cleartext = match args.http {
        Some(addr) => Some(
            serve::bind(addr)
                .await
                .map_err(|e| usage(format!("{e:#}")))?,
        ),
        None => None,
    };

    // The access log is written on its own thread; RUST_LOG=warn still silences it on stderr.
    let to_stderr = tracing::enabled!(target: "h2push::access", tracing::Level::INFO);
    if args.access_log.is_some() || to_stderr {
        serve::access_log::install(args.log_format, args.access_log.as_deref()).map_err(|e| {
            let file = args.access_log.as_deref().unwrap_or(Path::new("-"));
            usage(format!("--access-log {}: {e}", file.display()))
        })?;
    }
    let signal = shutdown_signal()?;
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
        cert = %cert_paths.cert.display(),
        "serving"
    );
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
    crate::certs::trust_hint(&cert_paths, args.certs_dir.as_deref(), addr);
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

/// `h2push cert`: writes the certificate set and says where it is (see [`crate::certs`]).
pub fn cert(args: CertArgs) -> Result<()> {
    crate::certs::run(args)
}

/// `h2push scan`: builds the same [`Config`] `serve` would, scans, prints the table or JSON.
pub fn scan(args: ScanArgs) -> Result<()> {
    use crate::push::scan::{self, Pages};
    let (root, file) = scan_root(args.dir.as_ref())?;
    let mut config = Config::new(root);
    let origin = args.plan.apply(&mut config)?;
    let pages = if let Some(file) = file {
        let page = scan::page_url_path(&config, &file.to_string_lossy()).map_err(usage)?;
        Pages::These(vec![page])
    } else if args.pages.is_empty() {
        Pages::All
    } else {
        let pages = args
            .pages
            .iter()
            .map(|page| scan::page_url_path(&config, page).map_err(usage))
            .collect::<Result<Vec<_>>>()?;
        Pages::These(pages)
    };
    let report = scan::scan(&config, &origin, pages);
    let text = if args.json {
        scan::render_json(&report) + "\n"
    } else {
        scan::render_table(&report)
    };
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing the report"),
    }
}

/// The root `scan DIR` scans, and the page when DIR is an HTML file: the root is ./site when
/// the file is inside it (so absolute links resolve as served), else the file's directory.
fn scan_root(dir: Option<&PathBuf>) -> Result<(PathBuf, Option<PathBuf>)> {
    let Some(file) = dir.filter(|d| d.is_file()) else {
        return Ok((site_root(dir, "scan")?, None));
    };
    let file = file
        .canonicalize()
        .map_err(|e| usage(format!("cannot scan {}: {e}", file.display())))?;
    let site = Path::new("site").canonicalize().ok();
    let root = match site.filter(|s| file.starts_with(s)) {
        Some(site) => site,
        None => file.parent().unwrap_or(Path::new("/")).to_path_buf(),
    };
    let page = file.strip_prefix(&root).unwrap_or(&file).to_path_buf();
    Ok((root, Some(page)))
}

/// The runtime for `serve`, with `--threads` workers.
pub fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime> {
    let mut builder = match threads {
        Some(0) => return Err(usage("--threads must be at least 1")),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    builder
        .enable_all()
        .max_blocking_threads(config::MAX_BLOCKING_THREADS)
        .build()
        .context("starting the async runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("3").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn flags_parse_with_defaults() {
        let cli = Cli::try_parse_from(["h2push", "serve", "some/dir", "--h2c"]).unwrap();
        let Some(Command::Serve(args)) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.dir, Some(PathBuf::from("some/dir")));
        assert_eq!(args.http, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(args.listen, Some("127.0.0.1:8443".parse().unwrap()));
        assert_eq!(
            args.max_header_list_size,
            config::DEFAULT_MAX_HEADER_LIST_SIZE
        );
        assert!(Cli::try_parse_from(["h2push", "serve", "--cert", "a.pem"]).is_err());
        assert!(Cli::try_parse_from(["h2push", "serve", "--idle-timeout", "soon"]).is_err());
        assert_eq!(args.feed_path, config::DEFAULT_FEED_PATH);
        assert_eq!(args.sse_keep_alive, config::DEFAULT_SSE_KEEP_ALIVE);
        assert_eq!(args.poll_timeout, config::DEFAULT_POLL_TIMEOUT);
        assert!(!args.live_reload);
    }

    #[test]
    fn feed_paths_must_be_plain_directories() {
        let feed = |path: &str| {
            let cli = Cli::try_parse_from(["h2push", "serve", "--feed-path", path]).unwrap();
            let Some(Command::Serve(args)) = cli.command else {
                panic!("not serve")
            };
            feed_config(&args).map(|f| f.path)
        };
        assert_eq!(feed("/_feed/").unwrap(), "/_feed/");
        assert_eq!(feed("/a/b/").unwrap(), "/a/b/");
        for bad in [
            "/",
            "feed/",
            "/feed",
            "/fe ed/",
            "/<script>/",
            "//x/",
            "/a\\b/",
        ] {
            assert!(feed(bad).is_err(), "{bad}");
        }
    }
}
