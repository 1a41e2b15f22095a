//! Command-line flags (clap) and what each subcommand does with them. `main.rs` only parses,
//! sets up logging and turns errors into exit codes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, Parser, Subcommand};
use tracing::{info, warn};

use crate::config::{self, Config, FeedConfig, Limits};
use crate::serve::{self, Signals, State, Transport};
use crate::tls;
use crate::watch::ChangeFeed;

pub use crate::compare::CompareArgs;
pub use crate::export::ExportArgs;
use crate::push::plan_args::PlanArgs;
use crate::usage::parse_duration;
use crate::usage::usage;
pub use crate::usage::Switch;
pub use crate::usage::UsageError;

/// The exit codes of every subcommand, shown after each `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0    done (serve: stopped by SIGINT/SIGTERM; export --check: the file is current)
  1    failed while running (a write failed; export --check: the file is stale)
  2    usage: a bad flag, H2PUSH_* variable or config file setting, or something it names
       that cannot be used (no such directory or page, a port in use, a server that cannot be
       reached or whose certificate is not trusted, unreadable certificates)
  130  serve: a second SIGINT/SIGTERM quit without draining";

#[derive(Debug, Parser)]
#[command(
    name = "h2push",
    version,
    about = "HTTP/2 static file server that gets a page's assets to the client one round trip early",
    long_about = "HTTP/2 static file server that gets a page's assets to the client one round trip early.\n\nWith no subcommand, `h2push` runs `serve`: `h2push DIR -p 9000` is `h2push serve DIR -p 9000`, and a bare `h2push` serves the `site/` directory on https://localhost:8443/.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `serve`'s flags and DIR, for `h2push DIR` without the subcommand (listed under `serve`).
    #[command(flatten)]
    pub serve: Box<ServeArgs>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a directory over TLS (HTTP/2 and HTTP/1.1), and optionally cleartext
    Serve(Box<ServeArgs>),
    /// Write a local CA and a localhost certificate signed by it, and print where they are
    Cert(CertArgs),
    /// Show what `serve` would push or hint for each page, and why
    Scan(ScanArgs),
    /// Load a page with push, with early hints only, and with neither, under an emulated RTT
    Compare(Box<CompareArgs>),
    /// Write the Link headers `serve` sends as a CDN's `_headers`, a server's configuration or JSON
    Export(Box<ExportArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout
    Completions(CompletionsArgs),
    /// Print a man page (roff) to stdout: h2push's, or a subcommand's
    Man(ManArgs),
}

/// The CLI as parsed: [`Cli`] with an `H2PUSH_*` environment variable on every `serve` flag
/// (not listed in help: the text after it says so), the exit codes after every `--help`, and
/// the bare command's `serve` flags left out of `h2push --help` (they are in `serve --help`).
pub fn command() -> clap::Command {
    let with_env = |cmd: clap::Command| {
        cmd.mut_args(|arg| {
            let id = arg.get_id().as_str();
            if arg.get_env().is_some() || matches!(id, "help" | "version") {
                return arg.hide_env(true);
            }
            let flag = arg.get_long().unwrap_or(id);
            let name = format!("H2PUSH_{}", flag.replace('-', "_").to_ascii_uppercase());
            arg.env(name).hide_env(true)
        })
    };
    let top = with_env(Cli::command()).mut_args(|arg| match arg.get_id().as_str() {
        "help" | "version" => arg,
        _ => arg.hide_short_help(true).hide_long_help(true),
    });
    let mut top = top.mut_subcommand("serve", |serve| {
        with_env(serve).after_help(format!("{ENVIRONMENT}\n\n{EXIT_CODES}"))
    });
    let names: Vec<String> = top
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .filter(|name| name != "serve")
        .collect();
    for name in names {
        top = top.mut_subcommand(name, |sub| sub.after_help(EXIT_CODES));
    }
    top.after_help(format!(
        "`h2push [DIR] [OPTIONS]` runs `serve`: its options are in `h2push serve --help`.\n\n{EXIT_CODES}"
    ))
}

/// What `serve --help` says about settings from the environment and a file.
const ENVIRONMENT: &str = "\
Every option can also be set as H2PUSH_<OPTION> (H2PUSH_IDLE_TIMEOUT=30s) or in h2push.toml
(idle-timeout = \"30s\"); flags beat the environment, which beats the file. Sizes take B, KiB,
MiB, GiB (1024-based) or KB, MB, GB (1000-based); times take ms, s or m.";

/// `h2push completions SHELL`: the completion script on stdout.
pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "h2push", &mut out);
    write_stdout(&out).context("writing the completion script")
}

/// Writes `bytes` to stdout; a closed pipe (`| head`) is not an error worth a message.
fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `h2push man [COMMAND]`: the man page on stdout, `h2push-serve(1)` for `man serve`.
pub fn man(args: ManArgs) -> Result<()> {
    let top = command();
    let cmd = match &args.command {
        None => top,
        Some(name) => {
            let sub = top
                .find_subcommand(name)
                .ok_or_else(|| usage(format!("no subcommand `{name}` (try h2push --help)")))?;
            sub.clone()
                .name(format!("h2push-{name}"))
                .bin_name(format!("h2push {name}"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .context("rendering the man page")?;
    write_stdout(&out).context("writing the man page")
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for, e.g. `h2push completions bash > ~/.local/share/bash-completion/completions/h2push`
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print, e.g. `h2push man serve > h2push-serve.1`
    pub command: Option<String>,
}

impl Cli {
    /// The command to run: the subcommand, or `serve` with the bare command's flags.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory to serve [default: ./site, or the repository's site/ when run from elsewhere]
    pub dir: Option<PathBuf>,

    /// Settings file (TOML, keys are the long flag names) [default: ./h2push.toml when present]
    #[arg(long, value_name = "FILE", help_heading = "Listening")]
    pub config: Option<PathBuf>,

    /// Address for TLS: HOST:PORT (0.0.0.0:8443 for every interface), or a port on 127.0.0.1
    #[arg(long, default_value = "127.0.0.1:8443", value_parser = crate::usage::parse_listen, value_name = "ADDR", help_heading = "Listening")]
    pub listen: Option<SocketAddr>,

    /// Port for TLS on 127.0.0.1 (`--listen` for another address)
    #[arg(
        short,
        long,
        value_name = "PORT",
        conflicts_with = "listen",
        help_heading = "Listening"
    )]
    pub port: Option<u16>,

    /// Also serve cleartext HTTP/1.1 and prior-knowledge HTTP/2 on ADDR [default: 127.0.0.1:8080]
    #[arg(long, alias = "h2c", value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080", value_parser = crate::usage::parse_listen, help_heading = "Listening")]
    pub http: Option<SocketAddr>,

    /// Open the served URL in the default browser ($BROWSER, else xdg-open)
    #[arg(short, long, help_heading = "Listening")]
    pub open: bool,

    /// Worker threads of the async runtime [default: one per core; env: H2PUSH_WORKER_THREADS]
    #[arg(
        long,
        env = "H2PUSH_WORKER_THREADS",
        value_name = "N",
        help_heading = "Listening"
    )]
    pub threads: Option<usize>,

    /// Certificate chain (PEM) to serve instead of the generated one; needs --key
    #[arg(
        short = 'C',
        long,
        requires = "key",
        value_name = "PEM",
        help_heading = "TLS"
    )]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) for --cert
    #[arg(
        short = 'K',
        long,
        requires = "cert",
        value_name = "PEM",
        help_heading = "TLS"
    )]
    pub key: Option<PathBuf>,

    /// Where the generated CA and localhost certificate are kept (made when missing)
    /// [default: ./certs, or $XDG_DATA_HOME/h2push/certs when ./certs cannot be made]
    #[arg(long, value_name = "DIR", help_heading = "TLS")]
    pub certs_dir: Option<PathBuf>,

    /// Serve symlinks whose target is outside the served directory (refused by default)
    #[arg(long, help_heading = "Files")]
    pub follow_symlinks: bool,

    /// Cache-Control for files other than HTML (HTML always gets `no-cache`)
    #[arg(long, default_value = config::DEFAULT_CACHE_CONTROL, value_name = "VALUE", help_heading = "Files")]
    pub cache_control: Option<String>,

    /// Single-page apps: a browser navigation that would be 404 gets PAGE (e.g. index.html)
    #[arg(long, value_name = "PAGE", help_heading = "Files")]
    pub fallback: Option<String>,

    /// Add a header on paths matching a glob, repeatable: '/assets/*: Cache-Control: immutable'
    #[arg(long = "header", value_name = "RULE", value_parser = crate::files::rules::HeaderRule::parse, help_heading = "Files")]
    pub headers: Vec<crate::files::rules::HeaderRule>,

    /// CORS for every origin: `Access-Control-Allow-Origin: *`, OPTIONS preflights answered 204
    #[arg(long, help_heading = "Files")]
    pub cors: bool,

    /// List a directory that has no index.html (HTML, or JSON for `Accept: application/json`)
    #[arg(long, help_heading = "Files")]
    pub list_dirs: bool,

    /// Leave out the `Server: h2push/VERSION` response header
    #[arg(long, help_heading = "Files")]
    pub no_server_header: bool,

    /// Push a page's assets with PUSH_PROMISE when the client allows it
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Push and hints"
    )]
    pub push: Switch,

    /// Send 103 Early Hints with the page's Link preload values before the page
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Push and hints"
    )]
    pub early_hints: Switch,

    /// Add the Link preload values to the page's own response headers
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Push and hints"
    )]
    pub preload_headers: Switch,

    /// Most assets pushed per page (the rest are hinted)
    #[arg(long, default_value_t = config::DEFAULT_PUSH_MAX_ASSETS, value_name = "N", help_heading = "Push and hints")]
    pub push_max_assets: usize,

    /// Cap on critical bytes (stylesheets, fonts, scripts) pushed per page; the rest are hinted
    #[arg(long, default_value = "8MiB", value_parser = crate::usage::parse_bytes, value_name = "SIZE", help_heading = "Push and hints")]
    pub push_max_bytes: u64,

    /// Non-critical bytes (images, async scripts) pushed per page; the rest are hinted
    #[arg(long, default_value = "64KiB", value_parser = crate::usage::parse_bytes, value_name = "SIZE", help_heading = "Push and hints")]
    pub push_extra_bytes: u64,

    /// Remember what each client received (cookie h2push-digest) and do not push it again
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Push and hints"
    )]
    pub push_digest: Switch,

    /// Compress text-like files of 1 KiB to 16 MiB (br, zstd, gzip) once per version, in the background
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Compression"
    )]
    pub compress: Switch,

    /// Serve FILE.br, FILE.zst or FILE.gz for FILE when accepted and not older than FILE
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Compression"
    )]
    pub precompressed: Switch,

    /// Memory kept for on-the-fly compressed bodies; oldest dropped past it
    #[arg(long, default_value = "64MiB", value_parser = crate::usage::parse_bytes_usize, value_name = "SIZE", help_heading = "Compression")]
    pub compress_cache: usize,

    /// Inject a script into HTML pages that reloads them, or swaps a stylesheet, on a change
    #[arg(long, help_heading = "Live reload and events")]
    pub live_reload: bool,

    /// URL prefix of the change feed: PREFIXevents (SSE) and PREFIXpoll (long-poll)
    #[arg(long, default_value = config::DEFAULT_FEED_PATH, value_name = "PREFIX", help_heading = "Live reload and events")]
    pub feed_path: String,

    /// Interval of the keep-alive comment on an idle event stream
    #[arg(long, default_value = "15s", value_parser = parse_duration, value_name = "TIME", help_heading = "Live reload and events")]
    pub sse_keep_alive: Duration,

    /// How long a long-poll request waits for a change before an empty answer
    #[arg(long, default_value = "25s", value_parser = parse_duration, value_name = "TIME", help_heading = "Live reload and events")]
    pub poll_timeout: Duration,

    /// Most established connections served at once (idle ones close to make room)
    #[arg(long, default_value_t = config::DEFAULT_MAX_CONNECTIONS, value_name = "N", help_heading = "Limits")]
    pub max_connections: usize,

    /// Most connections in their TLS handshake at once (past it the oldest is dropped)
    #[arg(long, default_value_t = config::DEFAULT_MAX_HANDSHAKES, value_name = "N", help_heading = "Limits")]
    pub max_handshakes: usize,

    /// Most change-feed event streams open at once (past it: 503 with Retry-After)
    #[arg(long, default_value_t = config::DEFAULT_MAX_EVENT_STREAMS, value_name = "N", help_heading = "Limits")]
    pub max_event_streams: usize,

    /// Most concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS)
    #[arg(long, default_value_t = config::DEFAULT_MAX_CONCURRENT_STREAMS, value_name = "N", help_heading = "Limits")]
    pub max_concurrent_streams: u32,

    /// Largest request header list accepted (SETTINGS_MAX_HEADER_LIST_SIZE)
    #[arg(long, default_value = "32KiB", value_parser = crate::usage::parse_bytes_u32, value_name = "SIZE", help_heading = "Limits")]
    pub max_header_list_size: u32,

    /// Close a connection (reset an HTTP/2 stream) whose client takes no bytes for this long
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "TIME", help_heading = "Limits")]
    pub send_stall_timeout: Duration,

    /// Time allowed for the TLS handshake and HTTP/2 preface
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "TIME", help_heading = "Limits")]
    pub handshake_timeout: Option<Duration>,

    /// Close a connection with no open stream after this long
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "TIME", help_heading = "Limits")]
    pub idle_timeout: Option<Duration>,

    /// On SIGINT/SIGTERM, how long in-flight streams get to finish
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "TIME", help_heading = "Limits")]
    pub shutdown_grace: Option<Duration>,

    /// Access log line format: pretty (key=value), combined (Apache/nginx), or json
    #[arg(
        long,
        value_enum,
        default_value = "pretty",
        value_name = "FORMAT",
        hide_possible_values = true,
        help_heading = "Logging"
    )]
    pub log_format: crate::serve::access_log::LogFormat,

    /// Append the access log to FILE instead of stderr (even with RUST_LOG=warn)
    #[arg(long, value_name = "FILE", help_heading = "Logging")]
    pub access_log: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CertArgs {
    /// Directory to write ca.pem, ca-key.pem, localhost.pem and localhost-key.pem into
    #[arg(long, default_value = "certs", value_name = "DIR")]
    pub dir: PathBuf,

    /// Replace certificates that are already there
    #[arg(long)]
    pub force: bool,

    /// Also name these hosts (LAN names or IP addresses) in the certificate, so a phone on the
    /// same network can use it; re-issues the certificate, keeping an existing CA
    #[arg(long = "host", value_name = "NAME", num_args = 1..)]
    pub hosts: Vec<String>,

    /// Trust the CA: add it to the user's NSS databases (Chromium's ~/.pki/nssdb, made when
    /// missing, and Firefox profiles) with certutil, and as root to the system store
    #[arg(long, conflicts_with = "untrust")]
    pub trust: bool,

    /// Take the CA out of the stores --trust put it in
    #[arg(long)]
    pub untrust: bool,

    /// With --trust/--untrust as root: leave the system store alone
    #[arg(long)]
    pub no_system: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Directory to scan, as `serve` would serve it, or one HTML file: that page, with ./site as
    /// the root when the file is in it, else the file's directory [default: ./site, or the
    /// repository's site/]
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

/// Where `site/` is when no directory is given: the current directory's, else the repository's
/// (the path compiled into the binary), which is said on stderr so nobody serves the demo site
/// thinking it is theirs.
fn default_site_dir() -> PathBuf {
    let local = PathBuf::from("site");
    if local.is_dir() {
        local
    } else {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("site");
        info!(dir = %repo.display(), "no ./site here: using the repository's demo site (give a DIR to serve another)");
        repo
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
    let config = build_config(&args)?;
    let cert_paths = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => tls::CertPaths {
            ca: None,
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => {
            let (dir, paths, created) =
                certs(args.certs_dir.as_deref()).map_err(|e| usage(format!("{e:#}")))?;
            if created {
                info!(dir = %dir.display(), "created a local CA and a localhost certificate");
            }
            paths
        }
    };
    let tls_config = tls::server_config(&cert_paths.cert, &cert_paths.key)
        .map_err(|e| usage(format!("{e:#}")))?;
    let listen = match (args.port, args.listen) {
        (Some(port), _) => SocketAddr::from(([127, 0, 0, 1], port)),
        (None, Some(listen)) => listen,
        (None, None) => "127.0.0.1:8443".parse().expect("the default address"),
    };
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
    if args.open {
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
    if let Some(ca) = &cert_paths.ca {
        info!(
            ca = %ca.display(),
            "to trust it (Chromium, Firefox; as root the system store): h2push cert --trust --dir {}",
            ca.parent().unwrap_or(Path::new(".")).display()
        );
    }
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

/// The certificate set for `serve`: in `--certs-dir`, else `./certs`, else (a read-only working
/// directory) the per-user data directory, said on stderr. Returns the directory used.
fn certs(dir: Option<&Path>) -> Result<(PathBuf, tls::CertPaths, bool)> {
    let hint = "give a writable directory with --certs-dir DIR, or --cert and --key";
    if let Some(dir) = dir {
        let (paths, created) =
            tls::ensure_certs(dir).map_err(|e| anyhow::anyhow!("{e:#} ({hint})"))?;
        return Ok((dir.to_path_buf(), paths, created));
    }
    let local = Path::new("certs");
    let local_err = match tls::ensure_certs(local) {
        Ok((paths, created)) => return Ok((local.to_path_buf(), paths, created)),
        Err(e) => e,
    };
    let Some(user) = user_certs_dir() else {
        return Err(anyhow::anyhow!("{local_err:#} ({hint})"));
    };
    match tls::ensure_certs(&user) {
        Ok((paths, created)) => {
            info!(dir = %user.display(), cause = %format!("{local_err:#}"), "./certs is not writable: using the per-user certificate directory");
            Ok((user, paths, created))
        }
        Err(e) => Err(anyhow::anyhow!("{local_err:#}; and {e:#} ({hint})")),
    }
}

/// `$XDG_DATA_HOME/h2push/certs`, or `~/.local/share/h2push/certs`.
fn user_certs_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let data = std::env::var_os("XDG_DATA_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".local/share"))
        })?;
    Some(data.join("h2push/certs"))
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

/// `h2push cert`: writes the certificate set and says where it is.
pub fn cert(args: CertArgs) -> Result<()> {
    let paths = tls::CertPaths::in_dir(&args.dir);
    if args.untrust {
        return crate::trust::untrust(args.no_system);
    }
    if !args.hosts.is_empty() {
        std::fs::create_dir_all(&args.dir)
            .with_context(|| format!("creating {}", args.dir.display()))?;
        tls::issue(&args.dir, &args.hosts, !args.force)?;
        println!(
            "wrote a certificate for localhost, 127.0.0.1, ::1, {} to {}",
            args.hosts.join(", "),
            args.dir.display()
        );
    } else if paths.cert.exists() && !args.force {
        println!(
            "certificates already in {} (use --force to replace them)",
            args.dir.display()
        );
    } else {
        std::fs::create_dir_all(&args.dir)
            .with_context(|| format!("creating {}", args.dir.display()))?;
        tls::generate(&args.dir)?;
        println!(
            "wrote a new CA and localhost certificate to {}",
            args.dir.display()
        );
    }
    let ca = paths.ca.as_deref().unwrap_or(Path::new(""));
    println!("CA (trust this):   {}", ca.display());
    println!("certificate chain: {}", paths.cert.display());
    println!("private key:       {}", paths.key.display());
    if !args.trust {
        println!(
            "trust for browsers: h2push cert --trust --dir {}",
            args.dir.display()
        );
    }
    println!(
        "trust for curl:     curl --cacert {} https://localhost:8443/",
        ca.display()
    );
    if args.trust {
        crate::trust::trust(ca, args.no_system)?;
    }
    Ok(())
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
    write_stdout(text.as_bytes()).context("writing the report")
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
        // The byte sizes' defaults are written with units; they must say what config.rs says.
        assert_eq!(
            args.max_header_list_size,
            config::DEFAULT_MAX_HEADER_LIST_SIZE
        );
        assert_eq!(args.push_max_bytes, config::DEFAULT_PUSH_MAX_BYTES);
        assert_eq!(args.push_extra_bytes, config::DEFAULT_PUSH_EXTRA_BYTES);
        assert_eq!(args.compress_cache, config::DEFAULT_COMPRESS_CACHE_BYTES);
        assert_eq!(args.port, None);
        let cli = Cli::try_parse_from(["h2push", "-p", "9000", "-o"]).unwrap();
        assert_eq!((cli.serve.port, cli.serve.open), (Some(9000), true));
        assert!(Cli::try_parse_from(["h2push", "-p", "9000", "--listen", "1"]).is_err());
        command().debug_assert();
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
